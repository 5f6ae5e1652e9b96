"""MMS060MI, detailed item balances: balance identities per location and lot (MITLOC).

The rows are kept by `stock.py`; these transactions only read. Item and warehouse fields
are joined in at answer time, as M3 does, so a renamed item shows its new name here.
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.m3.behaviours import cono, must_get, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import num
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

_FROM_ITEM = [
    "ITDS",
    "ITTY",
    "RESP",
    "UNMS",
    "ITGR",
    "PPUN",
    "POCY",
    "INDI",
    "BACD",
    "EXPD",
    "ACTI",
    "ATMN",
    "CWUN",
    "STAT",
]
# Numeric balance-identity fields that are zero unless a physical inventory is running.
_ZEROES = {"STAQ": "0", "PHA2": "0", "CAW2": "0", "REOP": "0", "AUDD": "0", "LPCY": "0"}


def _view(st: TenantState, loc: Record) -> Record:
    items, wh = table(st, "items"), table(st, "warehouses")
    item = items.get(items.key(loc["CONO"], loc["ITNO"])) or {}
    whrow = wh.get(wh.key(loc["CONO"], loc["WHLO"])) or {}
    row: Record = dict(_ZEROES)
    row.update({k: item.get(k, "") for k in _FROM_ITEM})
    row.update(ALOC="1", STAS="2", INON="0", AUDE="0", CAWE="0", COMG="0")
    row.update(loc)
    stqt, alqt = loc.get("STQT", "0"), loc.get("ALQT", "0")
    row.update(WHNM=whrow.get("WHNM", ""), PHSQ=stqt, PHAQ=alqt)
    row.update(MVB1=loc.get("AVAL", "0"), MVB2=loc.get("AVAL", "0"))
    return row


def _rows(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    """Balance identities of one warehouse; ITNO, WHSL, BANO narrow the key, CAMU/REPN too."""
    co, whlo = cono(f, ctx), f["WHLO"]
    must_get(table(st, "warehouses"), (co, whlo), "WWH0103", whlo, "WHLO")
    bal = table(st, "balances")
    prefix = [co, whlo]
    for k in ("ITNO", "WHSL", "BANO"):
        if not f.get(k):
            break
        prefix.append(f[k])
    filters = {k: f[k] for k in ("ITNO", "WHSL", "BANO", "CAMU", "REPN") if f.get(k)}
    return (
        r for r in bal.scan(bal.key(*prefix)) if all(r.get(k, "") == v for k, v in filters.items())
    )


@handler("MMS060MI", "List")
def list_balances(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    return (_view(st, r) for r in _rows(st, f, ctx))


@handler("MMS060MI", "LstBalID")
def lst_bal_id(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    """As List, plus the selections on allocatable/status/zone and the movable-net filters."""
    return (row for row in (_view(st, r) for r in _rows(st, f, ctx)) if _selected(row, f))


def _selected(row: Record, f: dict[str, str]) -> bool:
    if any(f.get(k) and row.get(k, "") != f[k] for k in ("SLTP", "WHLT", "ALOC", "STAS")):
        return False
    if f.get("FSLT") and row.get("SLTP", "") < f["FSLT"]:
        return False
    if f.get("TSLT") and row.get("SLTP", "") > f["TSLT"]:
        return False
    return not (f.get("XM10") == "1" and not num(row.get("MVB1")))


@handler("MMS060MI", "Get")
def get_balance(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, whlo = cono(f, ctx), f["WHLO"]
    must_get(table(st, "warehouses"), (co, whlo), "WWH0103", whlo, "WHLO")
    bal = table(st, "balances")
    loc = bal.get(bal.key(co, whlo, f["ITNO"], f.get("WHSL", ""), f.get("BANO", "")))
    if loc is None:
        raise nok("XRE0103", field="ITNO")
    return _view(st, loc)
