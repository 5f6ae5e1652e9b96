"""Event data is read from what M3 committed, never from the request that changed it.

Each builder looks at the committed state (the order head and its lines as they are after the
call, the stock balance row, the customer record the handler committed), so an event says what
M3 now holds, and two changes of one call that touch the same record build the same data. Sync
events use actionCode Replace (the payload is the whole current record), deletions Delete.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from simulator.clock import Clock
from simulator.m3.engine import Change
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

Built = tuple[str, str, dict[str, Any], str, str]  # channel, key, data, action, entity


def rfc3339(t: float) -> str:
    """UTC with milliseconds and Z, the way ION stamps events."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def build(st: TenantState, change: Change, clock: Clock) -> Built | None:
    """The channel, key, data, action and entity of the event for `change`, if it has one."""
    builder = _BUILDERS.get(change.entity)
    return builder(st, change, clock) if builder else None


# ---- one function per entity, reading the committed state ----


def _customer(st: TenantState, change: Change, clock: Clock) -> Built:
    r, now = change.record, clock.now()
    key = f"{r.get('CONO', '')}/{r.get('CUNO', '')}"
    if change.action == "delete":
        data = {"customerNumber": r.get("CUNO", ""), "deletionDate": rfc3339(now)}
        data["customerName"] = r.get("CUNM", "")
        return "customer/deleted", key, data, "Delete", _entity(r)
    data = {
        "customerNumber": r.get("CUNO", ""),
        "customerName": r.get("CUNM", ""),
        "status": r.get("STAT", ""),
        "currency": r.get("CUCD", ""),
        "country": r.get("CSCD", ""),
        "addressLine1": r.get("CUA1", ""),
        "city": r.get("TOWN") or r.get("CUA3", ""),
        "postalCode": r.get("PONO", ""),
        "email": r.get("MAIL", ""),
        "phone": r.get("PHNO", ""),
    }
    modified = _moment(r.get("LMDT", ""), now)
    if modified:
        data["lastModified"] = modified
    return "customer/synced", key, data, "Replace", _entity(r)


def _order(st: TenantState, change: Change, clock: Clock) -> Built | None:
    cono, orno = change.key[0], change.key[1]
    orders = table(st, "orders")
    head = orders.get(orders.key(cono, orno))
    if head is None:  # deleted order (no channel for it) or a line of a deleted order
        return None
    lines = table(st, "order_lines")
    data: dict[str, Any] = {
        "orderNumber": head.get("ORNO", ""),
        "customerNumber": head.get("CUNO", ""),
        "orderStatus": head.get("ORST", ""),
        "lowestStatus": head.get("ORSL", ""),
        "totalAmount": _number(head.get("NTAM")),
        "currency": head.get("CUCD", ""),
        "lineCount": sum(1 for _ in lines.scan(lines.key(cono, orno))),
        "orderType": head.get("ORTP", ""),
        "warehouse": head.get("WHLO", ""),
        "customerOrderNumber": head.get("CUOR", ""),
    }
    order_date = _date(head.get("ORDT", ""))
    if order_date:
        data["orderDate"] = order_date
    return "order/synced", f"{cono}/{orno}", data, "Replace", _entity(head)


def _invoice(st: TenantState, change: Change, clock: Clock) -> Built:
    r = change.record
    data: dict[str, Any] = {
        "invoiceNumber": r.get("IVNO", ""),
        "customerNumber": r.get("CUNO", ""),
        "amount": _number(r.get("AMT1") or r.get("IVAM")),
        "currency": r.get("CUCD", ""),
        "status": "Open",
        "orderNumber": r.get("ORNO", ""),
        "year": r.get("YEA4", ""),
    }
    for name, field in (("invoiceDate", "IVDT"), ("dueDate", "DUDT")):
        value = _date(r.get(field, ""))
        if value:
            data[name] = value
    key = f"{r.get('CONO', '')}/{r.get('DIVI', '')}/{r.get('YEA4', '')}/{r.get('IVNO', '')}"
    return "invoice/synced", key, data, "Replace", _entity(r)


def _inventory(st: TenantState, change: Change, clock: Clock) -> Built:
    cono, whlo, itno = change.key[0], change.key[1], change.key[2]
    balances = table(st, "item_warehouses")
    row = balances.get(balances.key(cono, whlo, itno)) or change.record
    items = table(st, "items")
    item = items.get(items.key(cono, itno)) or {}
    data: dict[str, Any] = {
        "partNumber": itno,
        "warehouse": whlo,
        "onHand": _number(row.get("STQT")),
        "allocated": _number(row.get("ALQT")),
        "available": _number(row.get("AVAL")),
        "unitOfMeasure": item.get("UNMS", ""),
    }
    moment = _moment(row.get("LMDT", ""), clock.now())
    if moment:
        data["lastTransactionDate"] = moment
    warehouses = table(st, "warehouses")
    divi = (warehouses.get(warehouses.key(cono, whlo)) or {}).get("DIVI", "")
    entity = f"{cono}_{divi}"
    return "inventory/synced", f"{cono}/{whlo}/{itno}", data, "Replace", entity


_BUILDERS: dict[str, Callable[[TenantState, Change, Clock], Built | None]] = {
    "customer": _customer,
    "order": _order,
    "order_line": _order,
    "invoice": _invoice,
    "inventory": _inventory,
}


# ---- M3 fields as contract values ----


def _date(yyyymmdd: str) -> str | None:
    d = yyyymmdd.strip()
    if len(d) != 8 or not d.isdigit():
        return None
    return f"{d[:4]}-{d[4:6]}-{d[6:]}"


def _number(text: Any) -> float:
    try:
        return float(str(text).strip() or "0")
    except ValueError:
        return 0.0


def _moment(yyyymmdd: str, now: float) -> str | None:
    """M3 keeps a date only: today's change is stamped now, an older one at midnight UTC."""
    day = _date(yyyymmdd)
    if day is None:
        return None
    stamp = rfc3339(now)
    return stamp if stamp.startswith(day) else f"{day}T00:00:00Z"


def _entity(record: Record) -> str:
    """The accounting entity CONO_DIVI of a record, as ION's AccountingEntityID."""
    return f"{record.get('CONO', '')}_{record.get('DIVI', '')}"
