"""BOD XML for an event: the `Sync<Noun>` document ION carries (reference ion-m3.md §6.1).

A subscription with `format: bod-xml` receives this instead of the contract's JSON. The noun
maps the payload's data onto OAGIS-style elements (PartyIDs/ID, Name, Location/Address...), and
every data field is also listed under `UserArea` as a NameValue, so nothing the JSON carries is
lost in XML. Text goes through ElementTree (escaped), after dropping the characters XML 1.0
cannot hold at all, so any customer name yields a document that parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from simulator.events.model import Event

NAMESPACE = "http://schema.infor.com/InforOAGIS/2"
RELEASE_ID = "9.2"
VERSION_ID = "2.14.0"
COMPONENT_ID = "M3BE"
NOUNS = {
    "customer/synced": "CustomerPartyMaster",
    "customer/deleted": "CustomerPartyMaster",
    "order/synced": "SalesOrder",
    "invoice/synced": "Invoice",
    "inventory/synced": "InventoryCount",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") or "0"
    return _NOT_XML.sub("", "" if value is None else str(value))


def _add(parent: ET.Element, path: str, value: Any = None, **attrs: Any) -> ET.Element:
    """Appends `A/B/C` under parent (reusing nothing: OAGIS repeats elements freely)."""
    node = parent
    for name in path.split("/"):
        node = ET.SubElement(node, name)
    for k, v in attrs.items():
        node.set(k, _text(v))
    if value is not None:
        node.text = _text(value)
    return node


def document_id(event: Event) -> str:
    data = event.payload.get("data", {})
    if event.channel.startswith("customer/"):
        return str(data.get("customerNumber", ""))
    if event.channel == "order/synced":
        return str(data.get("orderNumber", ""))
    if event.channel == "invoice/synced":
        return str(data.get("invoiceNumber", ""))
    return f"{data.get('warehouse', '')}_{data.get('partNumber', '')}"


def bod_id(event: Event, noun: str, verb: str = "Sync") -> str:
    return f"infor-nid:{event.tenant}:{event.entity}::{document_id(event)}:?{noun}&verb={verb}"


def render(event: Event) -> bytes:
    """The `Sync<Noun>` BOD of an event, UTF-8 with an XML declaration."""
    noun = NOUNS.get(event.channel, "Document")
    data: dict[str, Any] = event.payload.get("data", {})
    root = ET.Element(
        f"Sync{noun}", {"xmlns": NAMESPACE, "releaseID": RELEASE_ID, "versionID": VERSION_ID}
    )
    area = _add(root, "ApplicationArea")
    sender = _add(area, "Sender")
    _add(sender, "LogicalID", event.payload.get("logicalId", "lid://infor.m3.m3"))
    _add(sender, "ComponentID", COMPONENT_ID)
    _add(sender, "ConfirmationCode", "OnError")
    created = event.payload.get("timestamp") or datetime.fromtimestamp(
        event.published_at, UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    _add(area, "CreationDateTime", created)
    _add(area, "BODID", bod_id(event, noun))
    data_area = _add(root, "DataArea")
    sync = _add(data_area, "Sync")
    _add(sync, "TenantID", event.tenant)
    _add(sync, "AccountingEntityID", event.entity)
    _add(sync, "LocationID")
    action = "Delete" if event.channel == "customer/deleted" else event.action
    _add(sync, "ActionCriteria/ActionExpression", actionCode=action)
    body = _add(data_area, noun)
    _NOUN_BUILDERS.get(noun, lambda b, d: None)(body, data)
    user_area = _add(body, "UserArea")
    for name, value in data.items():
        _add(user_area, "Property/NameValue", value, name=name, type=_type(value))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "Indicator"
    return "NumericType" if isinstance(value, int | float) else "StringType"


def _customer(body: ET.Element, d: dict[str, Any]) -> None:
    _add(body, "PartyIDs/ID", d.get("customerNumber", ""))
    if "customerName" in d:
        _add(body, "Name", d["customerName"])
    if "status" in d:
        _add(body, "Status/Code", d["status"])
    if "currency" in d:
        _add(body, "CurrencyCode", d["currency"])
    address = _add(body, "Location/Address")
    for key, element in (
        ("addressLine1", "AddressLine"),
        ("city", "CityName"),
        ("postalCode", "PostalCode"),
        ("country", "CountryCode"),
    ):
        if key in d:
            _add(address, element, d[key])
    if d.get("email"):
        _add(body, "Communication/URI", d["email"], schemeName="EMAIL")
    if d.get("phone"):
        _add(body, "Communication/DialNumber", d["phone"])
    if "lastModified" in d:
        _add(body, "LastModificationDateTime", d["lastModified"])
    if "deletionDate" in d:
        _add(body, "LastModificationDateTime", d["deletionDate"])


def _sales_order(body: ET.Element, d: dict[str, Any]) -> None:
    head = _add(body, "SalesOrderHeader")
    _add(head, "DocumentID/ID", d.get("orderNumber", ""))
    if "orderDate" in d:
        _add(head, "DocumentDateTime", d["orderDate"])
    _add(head, "Status/Code", d.get("orderStatus", ""))
    _add(head, "CustomerParty/PartyIDs/ID", d.get("customerNumber", ""))
    _add(head, "TotalAmount", d.get("totalAmount", 0), currencyID=d.get("currency", ""))
    _add(head, "LineCount", d.get("lineCount", 0))


def _invoice(body: ET.Element, d: dict[str, Any]) -> None:
    head = _add(body, "InvoiceHeader")
    _add(head, "DocumentID/ID", d.get("invoiceNumber", ""))
    if "invoiceDate" in d:
        _add(head, "DocumentDateTime", d["invoiceDate"])
    _add(head, "Status/Code", d.get("status", ""))
    _add(head, "CustomerParty/PartyIDs/ID", d.get("customerNumber", ""))
    _add(head, "TotalAmount", d.get("amount", 0), currencyID=d.get("currency", ""))
    if "dueDate" in d:
        _add(head, "PaymentTerm/DueDateTime", d["dueDate"])


def _inventory(body: ET.Element, d: dict[str, Any]) -> None:
    head = _add(body, "InventoryCountHeader")
    _add(head, "DocumentID/ID", f"{d.get('warehouse', '')}_{d.get('partNumber', '')}")
    if "lastTransactionDate" in d:
        _add(head, "LastModificationDateTime", d["lastTransactionDate"])
    line = _add(body, "InventoryCountLine")
    _add(line, "Item/ItemID/ID", d.get("partNumber", ""))
    _add(line, "Site/ID", d.get("warehouse", ""))
    unit = d.get("unitOfMeasure", "")
    _add(line, "CountQuantity", d.get("onHand", 0), unitCode=unit)
    _add(line, "AllocatedQuantity", d.get("allocated", 0), unitCode=unit)
    _add(line, "AvailableQuantity", d.get("available", 0), unitCode=unit)


_NOUN_BUILDERS = {
    "CustomerPartyMaster": _customer,
    "SalesOrder": _sales_order,
    "Invoice": _invoice,
    "InventoryCount": _inventory,
}
