"""Hypothesis strategies for contract events: `strategy(channel, mode)`, the one public entry.

Two modes, because QA asks two questions:

- `realistic`: what M3 would really send. Customer numbers like C10001, ISO 4217 currencies and
  ISO 3166 countries from fixed lists, two-digit M3 order statuses, amounts with two decimals,
  `available == onHand - allocated`, dates in a plausible window. Optional fields are present
  most of the time but shrink to absent, so a failing consumer gets a minimal payload.
- `edge`: the whole space the schema allows: empty strings, any Unicode that is valid UTF-8,
  boundary numbers, optional fields absent, extra properties where the schema permits them,
  every RFC 3339 date-time variant the contract's checker accepts.

Why not `hypothesis_jsonschema.from_schema` alone: on these open object schemas it draws 24 to
90 events per second and can produce strings with lone surrogates that no JSON encoder can put
on the wire. The schemas use a small subset of JSON Schema, so `edge` walks it directly (fast,
UTF-8 only) and hands any subschema using another keyword to `from_schema`, repairing its
strings and filtering through the contract. Every drawn event is checked against the contract.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from simulator.events.contract import Contract, load_contract

Strategy = st.SearchStrategy[dict[str, Any]]
MODES = ("realistic", "edge")
_TEXT = st.text(st.characters(codec="utf-8"), max_size=24)
_INT64 = st.integers(-(2**63), 2**63 - 1)  # orjson refuses wider integers
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | _INT64 | _FLOATS | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_KNOWN = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "format",
    "description",
    "title",
    "examples",
    "default",
    "$comment",
    "items",
}


def strategy(
    channel: str,
    mode: str = "realistic",
    *,
    contract: Contract | None = None,
    tenant: str | None = None,
) -> Strategy:
    """A strategy of payloads for `channel` that all validate against the contract.

    Channels ionsim has no M3 model for (a custom contract) fall back to `edge` in both modes.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    contract = contract or load_contract()
    spec = contract.channels.get(channel)
    if spec is None:
        raise ValueError(f"no channel {channel!r} in the contract: {sorted(contract.channels)}")
    check = contract._check(channel)
    if mode == "realistic" and spec.document in _DATA:
        strat = realistic(spec.schema, spec.document, tenant)
    else:
        strat = edge_schema(spec.schema)
    return strat.filter(lambda payload: check(payload) is None)


def draw_examples(
    channel: str,
    mode: str = "realistic",
    n: int = 100,
    seed_value: int = 0,
    *,
    contract: Contract | None = None,
    tenant: str | None = None,
) -> list[dict[str, Any]]:
    """`n` payloads drawn by Hypothesis with a fixed seed: same seed, same list.

    Runs a `@given` function once (no database, generate phase only) and keeps what it saw:
    the supported way to drive Hypothesis' diverse generation outside a test.
    """
    strat = strategy(channel, mode, contract=contract, tenant=tenant)
    out: list[dict[str, Any]] = []

    @seed(seed_value)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(strat)
    def collect(payload: dict[str, Any]) -> None:
        out.append(payload)

    collect()
    return out


# ---- edge: the whole space of the schema subset the contract uses ----


def edge_schema(schema: Any) -> st.SearchStrategy[Any]:
    """A strategy for any value `schema` accepts, valid UTF-8 and finite numbers only."""
    if schema is True or schema == {}:
        return _JSON
    if schema is False:
        return st.nothing()
    if set(schema) - _KNOWN:
        return _from_schema(schema)
    if "enum" in schema or "const" in schema:
        return st.sampled_from(list(schema["enum"]) if "enum" in schema else [schema["const"]])
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if not kinds:
        return _JSON if not schema.get("properties") else _object(schema)
    return st.one_of([_typed(k, schema) for k in kinds])


def _typed(kind: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "object":
        return _object(schema)
    if kind == "string":
        fmt = str(schema.get("format", ""))
        return {"date-time": date_times(), "date": dates()}.get(fmt, _TEXT)
    if kind == "integer":
        return _INT64
    if kind == "number":
        return _INT64 | _FLOATS | st.sampled_from([0, 0.0, -0.0, 5e-324, 1.7976931348623157e308])
    if kind == "array":
        return st.lists(edge_schema(schema.get("items", {})), max_size=3)
    return {"boolean": st.booleans(), "null": st.none()}[kind]


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = [k for k in schema.get("required", []) if k in props]
    base = st.fixed_dictionaries(
        {k: edge_schema(props[k]) for k in required},
        optional={k: edge_schema(s) for k, s in props.items() if k not in required},
    )
    extra_schema = schema.get("additionalProperties", True)
    if extra_schema is False:
        return base
    keys = _TEXT.filter(lambda k: k not in props)
    extras = st.dictionaries(keys, edge_schema(extra_schema), max_size=2)
    return st.builds(lambda b, e: {**e, **b}, base, extras)


def _from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    from hypothesis_jsonschema import from_schema

    return from_schema(schema).map(_utf8)


def _utf8(value: Any) -> Any:
    """Replaces lone surrogates (which no JSON encoder can send) with U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    if isinstance(value, dict):
        return {_utf8(k): _utf8(v) for k, v in value.items()}
    return value


@st.composite
def dates(draw: Callable[..., Any], lo: int = 0, hi: int = 9999) -> str:
    """RFC 3339 full-date, any real calendar day of years lo..hi."""
    y, m = draw(st.integers(lo, hi)), draw(st.integers(1, 12))
    d = draw(st.integers(1, calendar.monthrange(y, m)[1]))
    return f"{y:04d}-{m:02d}-{d:02d}"


@st.composite
def date_times(draw: Callable[..., Any]) -> str:
    """Every RFC 3339 date-time shape: fractions, Z or z, offsets, t separator, leap second."""
    day = draw(dates())
    sep = draw(st.sampled_from("Tt"))
    h, mi, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 60))
    frac = draw(st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True)))
    zone = draw(
        st.one_of(
            st.sampled_from("Zz"),
            st.builds(
                lambda sign, oh, om: f"{sign}{oh:02d}:{om:02d}",
                st.sampled_from("+-"),
                st.integers(0, 23),
                st.integers(0, 59),
            ),
        )
    )
    return f"{day}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"


# ---- realistic: M3-shaped values ----

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
LOGICAL_ID = "lid://infor.m3.m3"
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


_DATA: dict[str, Callable[[str], dict[str, st.SearchStrategy[Any]]]] = {
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
    return envelope, _DATA[doc](doc)


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
