"""MMS005MI, the warehouse interface (MITWHL).

A warehouse belongs to a facility; ionsim has no facility table (CRS008), so a facility is
known when a warehouse of the company or the user's defaults name it. The division and the
company name follow from the facility, as in M3. Warehouses with stock are never deleted.
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.m3.behaviours import apply_changes, bump_change, must_be_new, must_get, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import ZERO, clean_numbers, fmt, num
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

NUMERIC = frozenset(
    [
        "AUAD",
        "ALAC",
        "GEOC",
        "AASQ",
        "INUL",
        "EPUL",
        "EXDL",
        "PIDL",
        "ITDL",
        "PATF",
        "PAHF",
        "PMTF",
        "PMHF",
        "CDPD",
        "CDPM",
        "STOF",
        "ASOT",
        "DAAS",
        "SCED",
        "PRIO",
        "PWGR",
        "TCUW",
        "WOPC",
        "BLPM",
        "DMF0",
        "DMF1",
        "DMF2",
        "DMF3",
        "DMF4",
        "DMF5",
        "DMF6",
        "DMF7",
        "DMF8",
        "DMF9",
    ]
)
# Copied from the CPWH warehouse on add; identity and address stay the new warehouse's own.
_NOT_COPIED = {"CONO", "WHLO", "WHNM", "ADR1", "ADR2", "ADR3", "ADR4", "RGDT", "LMDT", "CHNO"}


def _facilities(st: TenantState, co: str) -> dict[str, str]:
    """Known facilities of a company and their division."""
    known = {w.get("FACI", ""): w.get("DIVI", "") for w in table(st, "warehouses").scan((co,))}
    user = st.settings.get("user", {})
    if user.get("CONO") == co and user.get("FACI"):
        known.setdefault(user["FACI"], user.get("DIVI", ""))
    known.pop("", None)
    return known


def _check_facility(st: TenantState, co: str, faci: str) -> str:
    """The facility's division, or the NOK M3 gives for an unknown facility."""
    known = _facilities(st, co)
    if faci not in known:
        raise nok("WFAC303", faci, "FACI")
    return known[faci]


@handler("MMS005MI", "AddWarehouse")
def add_warehouse(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    f = clean_numbers(f, NUMERIC)
    co = ctx.cono
    warehouses = table(st, "warehouses")
    if not f.get("WHLO"):
        raise nok("WWH0102", field="WHLO", message="Warehouse must be entered")
    must_be_new(warehouses, (co, f["WHLO"]), "WHLO")
    row: Record = {}
    if f.get("CPWH"):
        source = must_get(warehouses, (co, f["CPWH"]), "WWH0103", f["CPWH"], "CPWH")
        row = {k: v for k, v in source.items() if k not in _NOT_COPIED}
    if not f.get("WHNM"):
        raise nok("WNA0102", field="WHNM", message="Name must be entered")
    faci = f.get("FACI") or row.get("FACI", "")
    if not faci:
        raise nok("WFA0102", field="FACI", message="Facility must be entered")
    divi = _check_facility(st, co, faci)
    companies = table(st, "companies")
    company = companies.get(companies.key(co, divi)) or {}
    row.update({k: v for k, v in f.items() if k != "CPWH"})
    row.update(CONO=co, DIVI=divi, FACI=faci, CONM=company.get("CONM", ""))
    for k in ("STOF", "DCIN", "AUAD", "MWHL"):
        row.setdefault(k, "0")
    row.setdefault("CSCD", company.get("CSCD", ""))
    row.update(RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    warehouses.insert(row)
    ctx.emit("warehouse", "add", (co, f["WHLO"]), row)


@handler("MMS005MI", "GetWarehouse")
def get_warehouse(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return must_get(table(st, "warehouses"), (ctx.cono, f["WHLO"]), "WWH0103", f["WHLO"], "WHLO")


@handler("MMS005MI", "LstWarehouses")
def lst_warehouses(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    """FWHL/TWHL bound the range; STOF and DCIN select shop and DC warehouses when given."""
    co = f.get("CONO") or ctx.cono
    warehouses = table(st, "warehouses")
    start = (co, f["FWHL"]) if f.get("FWHL") else ()
    last = f.get("TWHL")
    for row in warehouses.scan(warehouses.key(co), warehouses.key(*start) if start else ()):
        if last and row["WHLO"] > last:
            return
        if all(not f.get(k) or row.get(k, "0") == f[k] for k in ("STOF", "DCIN")):
            yield row


@handler("MMS005MI", "UpdWarehouse")
def upd_warehouse(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    f = clean_numbers(f, NUMERIC)
    co = ctx.cono
    row = must_get(table(st, "warehouses"), (co, f["WHLO"]), "WWH0103", f["WHLO"], "WHLO")
    changes: Record = {}
    if f.get("FACI") and f["FACI"] != row.get("FACI"):
        if num(_stock_held(st, co, f["WHLO"])):
            raise nok(
                "WFA0110",
                field="FACI",
                message=f"Facility cannot be changed, warehouse {f['WHLO']} has stock",
            )
        changes["DIVI"] = _check_facility(st, co, f["FACI"])
    if apply_changes(row, {**f, **changes}, skip=("WHLO", "CONO")):
        bump_change(row, ctx)
        ctx.emit("warehouse", "change", (co, f["WHLO"]), row)


def _stock_held(st: TenantState, co: str, whlo: str) -> str:
    """The on-hand plus allocated quantity of a warehouse, as an M3 number."""
    iw = table(st, "item_warehouses")
    total = sum(
        (num(r.get("STQT")) + num(r.get("ALQT")) for r in iw.scan(iw.key(co, whlo))),
        ZERO,
    )
    return fmt(total)


@handler("MMS005MI", "DltWarehouse")
def dlt_warehouse(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    """Refused while stock is held; empty item/warehouse rows go with the warehouse."""
    co, whlo = ctx.cono, f["WHLO"]
    warehouses = table(st, "warehouses")
    row = must_get(warehouses, (co, whlo), "WWH0103", whlo, "WHLO")
    if num(_stock_held(st, co, whlo)):
        raise nok("WWH0110", field="WHLO", message=f"Warehouse {whlo} has stock balances")
    for name in ("balances", "item_warehouses"):
        t = table(st, name)
        for r in list(t.scan(t.key(co, whlo))):
            t.delete(t.key_of(r))
    warehouses.delete(warehouses.key(co, whlo))
    ctx.emit("warehouse", "delete", (co, whlo), row)
