"""`realistic` mode: what M3 would really send, so a consumer's happy path meets M3's values.

Customer numbers like C10001, ISO 4217 currencies and ISO 3166 countries from fixed lists,
two-digit M3 order statuses, amounts with two decimals, `available == onHand - allocated`, dates
in a plausible window. Optional fields are present most of the time but shrink to absent, so a
failing consumer gets a minimal payload. The vocabularies are public because the storm's fast
path (`simulator.events.corpus`) varies its events with the same values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from simulator.events.model import LOGICAL_ID

CURRENCIES = ("EUR", "USD", "SEK", "GBP", "NOK", "DKK", "CHF", "PLN", "JPY", "CAD", "AUD", "CNY")
COUNTRIES = ("SE", "DE", "US", "GB", "NO", "DK", "FI", "FR", "NL", "PL", "ES", "IT", "CH", "CA")
ORDER_STATUSES = ("05", "10", "15", "20", "22", "23", "27", "33", "44", "46", "66", "77", "90")
CUSTOMER_STATUSES = ("20", "10", "90")  # definite, preliminary, blocked
INVOICE_STATUSES = ("Open", "Paid", "Overdue", "Cancelled")
UNITS = ("EA", "PCS", "KG", "L", "M", "BOX", "PAL")
WAREHOUSES = ("100", "110", "200", "A01", "CEN", "DC1")
ORDER_TYPES = ("A01", "D01", "EXP", "SAM")
_NAMES = ("Nordic", "Atlas", "Baltic", "Vega", "Orion", "Polar", "Fjord", "Summit", "Alpine")
_KINDS = ("Trading", "Logistics", "Foods", "Steel", "Retail", "Supply", "Textiles")
_FORMS = ("AB", "GmbH", "Inc", "Ltd", "AS", "BV", "Oy")
_CITIES = ("Stockholm", "Hamburg", "Chicago", "Leeds", "Oslo", "Aarhus", "Turku", "Lyon")
_STREETS = ("Storgatan", "Hauptstrasse", "Main Street", "High Street", "Kongens gate")
_DAY0 = date(2018, 1, 1)
_T0 = datetime(2020, 1, 1, tzinfo=UTC)
_ABSENT = object()


def customer_numbers() -> st.SearchStrategy[str]:
    """M3 CUNO: up to 10 upper-case characters, like C10001 or KU200417."""
    return st.builds(
        lambda p, n: f"{p}{n}",
        st.sampled_from(("C", "KU", "CU", "")),
        st.integers(10_000, 99_999_999),
    )


def amounts(hi: int = 5_000_000) -> st.SearchStrategy[float]:
    """Amounts with two decimals, shrinking to 0.0."""
    return st.integers(0, hi * 100).map(lambda cents: cents / 100)


def m3_dates() -> st.SearchStrategy[str]:
    return st.integers(0, 12 * 366).map(lambda d: (_DAY0 + timedelta(days=d)).isoformat())


def stamps() -> st.SearchStrategy[str]:
    """RFC 3339 UTC with milliseconds and Z, as ION stamps events (2020..2029)."""
    return st.integers(0, 10 * 365 * 86_400_000).map(
        lambda ms: (_T0 + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )


def _names() -> st.SearchStrategy[str]:
    return st.builds(
        lambda *w: " ".join(w),
        st.sampled_from(_NAMES),
        st.sampled_from(_KINDS),
        st.sampled_from(_FORMS),
    )


def _customer(doc: str) -> dict[str, st.SearchStrategy[Any]]:
    if doc == "DeleteCustomerPartyMaster":
        return {
            "customerNumber": customer_numbers(),
            "deletionDate": stamps(),
            "customerName": _names(),
        }
    return {
        "customerNumber": customer_numbers(),
        "customerName": _names(),
        "status": st.sampled_from(CUSTOMER_STATUSES),
        "currency": st.sampled_from(CURRENCIES),
        "country": st.sampled_from(COUNTRIES),
        "addressLine1": st.builds("{} {}".format, st.sampled_from(_STREETS), st.integers(1, 200)),
        "city": st.sampled_from(_CITIES),
        "postalCode": st.integers(10_000, 99_999).map(str),
        "email": st.builds(
            "{}@{}.example".format,
            st.sampled_from(("orders", "ap", "info")),
            st.sampled_from(_NAMES).map(str.lower),
        ),
        "phone": st.integers(100_000_000, 999_999_999).map(lambda n: f"+46{n}"),
        "lastModified": stamps(),
    }


def _order(doc: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "orderNumber": st.integers(1_000_000_000, 1_099_999_999).map(str),
        "customerNumber": customer_numbers(),
        "orderDate": m3_dates(),
        "orderStatus": st.sampled_from(ORDER_STATUSES),
        "totalAmount": amounts(),
        "currency": st.sampled_from(CURRENCIES),
        "lineCount": st.integers(1, 99),
        "orderType": st.sampled_from(ORDER_TYPES),
        "warehouse": st.sampled_from(WAREHOUSES),
    }


def _invoice(doc: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "invoiceNumber": st.integers(100_000, 9_999_999).map(str),
        "customerNumber": customer_numbers(),
        "amount": amounts(),
        "currency": st.sampled_from(CURRENCIES),
        "status": st.sampled_from(INVOICE_STATUSES),
    }


def _inventory(doc: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "partNumber": st.integers(1, 99_999).map(lambda n: f"ITM{n:05d}"),
        "warehouse": st.sampled_from(WAREHOUSES),
        "unitOfMeasure": st.sampled_from(UNITS),
        "lastTransactionDate": stamps(),
    }


# The documents ionsim has an M3 model for; `strategy` falls back to `edge` for any other.
DOCUMENT_FIELDS: dict[str, Callable[[str], dict[str, st.SearchStrategy[Any]]]] = {
    "SyncCustomerPartyMaster": _customer,
    "DeleteCustomerPartyMaster": _customer,
    "SyncSalesOrder": _order,
    "SyncInvoice": _invoice,
    "SyncInventory": _inventory,
}


_PRESENT = st.integers(0, 9)
_ONE = st.just(1)
_TERMS = st.sampled_from((30, 0, 10, 14, 60))
_DAYS = st.integers(0, 12 * 366)
_STOCK = st.integers(0, 1_000_000)


def _maybe(draw: Callable[..., Any], strat: st.SearchStrategy[Any]) -> Any:
    """Present nine times in ten; shrinks to absent, so failing examples come out minimal."""
    return _ABSENT if draw(_PRESENT) == 0 else draw(strat)


@functools.lru_cache(maxsize=256)
def _fields(doc: str, tenant: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The envelope's and the data's strategies, built once (building them per draw is slow)."""
    envelope = {
        "eventId": st.uuids(version=4).map(str),
        "documentType": st.just(doc),
        "tenantId": st.just(tenant) if tenant else st.sampled_from(("DEMO_TST", "ACME_PRD")),
        "timestamp": stamps(),
        "logicalId": st.just(LOGICAL_ID),
    }
    return envelope, DOCUMENT_FIELDS[doc](doc)


@st.composite
def realistic(
    draw: Callable[..., Any], schema: dict[str, Any], doc: str, tenant: str | None = None
) -> dict[str, Any]:
    """An M3-shaped payload; fields the schema requires are always there."""
    required = set(schema.get("required", ()))
    envelope, fields = _fields(doc, tenant)
    payload: dict[str, Any] = {}
    for name, strat in envelope.items():
        value = draw(strat) if name in required or name == "documentType" else _maybe(draw, strat)
        if value is not _ABSENT:
            payload[name] = value
    data: dict[str, Any] = {}
    for name, strat in fields.items():
        value = _maybe(draw, strat)
        if value is not _ABSENT:
            data[name] = value
    if doc == "SyncInvoice" and _maybe(draw, _ONE) is not _ABSENT:
        issued = draw(_DAYS)
        data["invoiceDate"] = (_DAY0 + timedelta(days=issued)).isoformat()
        data["dueDate"] = (_DAY0 + timedelta(days=issued + draw(_TERMS))).isoformat()
    if doc == "SyncInventory" and _maybe(draw, _ONE) is not _ABSENT:
        on_hand = draw(_STOCK)
        allocated = draw(st.integers(0, on_hand))
        data.update(onHand=on_hand, allocated=allocated, available=on_hand - allocated)
    if "data" in required or data:
        payload["data"] = data
    return payload
