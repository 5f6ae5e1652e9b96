"""Small building blocks every MI handler uses: context defaults, lookups, M3's messages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from simulator.errors import MIError
from simulator.m3.engine import CallContext
from simulator.m3.store import Record, Table

# M3 message ids and texts (&1 is the value), from public M3 message catalogues.
MESSAGES: dict[str, str] = {
    "WCU0203": "Customer number &1 does not exist",
    "WCU0202": "Customer must be entered",
    "XRE0103": "Record does not exist",
    "XRE0104": "Record already exists",
    "WWH0103": "Warehouse &1 does not exist",
    "WFAC303": "Facility &1 does not exist",
    "WSU0103": "Supplier &1 does not exist",
    "WIT0403": "Item type &1 does not exist",
    "WIT0103": "Item number &1 does not exist",
    "WOR0103": "Order number &1 does not exist",
    "XAU0008": "Not authorized for company &1",
}


def nok(code: str, value: str = "", field: str = "", message: str | None = None) -> MIError:
    """An M3 NOK with the catalogue text for `code`; M3 pads messages with blanks."""
    text = message if message is not None else MESSAGES.get(code, code).replace("&1", value)
    return MIError(text, code, field)


def cono(f: Mapping[str, str], ctx: CallContext) -> str:
    """The record field CONO when given, else the call's company context (`cono`)."""
    return f.get("CONO") or ctx.cono


def divi(f: Mapping[str, str], ctx: CallContext) -> str:
    return f.get("DIVI") or ctx.divi


def must_get(table: Table, key: tuple[str, ...], code: str, value: str, field: str) -> Record:
    row = table.get(table.key(*key))
    if row is None:
        raise nok(code, value, field)
    return row


def must_be_new(table: Table, key: tuple[str, ...], field: str) -> None:
    if table.key(*key) in table:
        raise nok("XRE0104", field=field)


def apply_changes(row: Record, f: Mapping[str, str], skip: Iterable[str] = ()) -> dict[str, str]:
    """Copies the given (non-blank) input fields onto a record; returns what changed."""
    skipped = set(skip)
    changed = {k: v for k, v in f.items() if k not in skipped and row.get(k) != v}
    row.update(changed)
    return changed


def bump_change(row: Record, ctx: CallContext) -> None:
    """M3 stamps every change with the change date and a change number."""
    row["LMDT"] = ctx.today()
    row["CHNO"] = str(int(row.get("CHNO") or "0") + 1)


def listing(table: Table, prefix: tuple[str, ...], start: tuple[str, ...] = ()) -> Iterator[Record]:
    """Rows in key order from `start`: MI lists begin at the key given, not at an exact match.

    A list with no rows answers an empty `records` (MI-SDK apps suppress XRE0103 anyway).
    """
    return table.scan(table.key(*prefix), table.key(*start) if start else ())
