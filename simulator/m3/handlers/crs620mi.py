"""CRS620MI, the supplier interface (CIDMAS/CIDVEN).

Suppliers are company-wide. A supplier with purchase orders or supplier invoices is never
deleted: M3 would lose the party of open payables.
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.m3.behaviours import (
    apply_changes,
    bump_change,
    cono,
    listing,
    must_be_new,
    must_get,
    nok,
)
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import clean_numbers
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

# Supplier status (CRS620): 10 preliminary, 20 definite, 90 blocked.
SUPPLIER_STATUSES = frozenset({"10", "20", "90"})
NUMERIC = frozenset(
    [
        "SUTY",
        "DT4T",
        "DTCD",
        "CRTP",
        "VTCD",
        "TXAP",
        "PODA",
        "ABSM",
        "DCSM",
        "SHST",
        "SERS",
        "SBPE",
        "PTDY",
        "DTDY",
        "SUSY",
        "TAME",
        "TDCD",
        "IAPT",
        "IAPC",
        "IAPE",
        "IAPF",
        "PPIN",
        "PPLV",
        "CINP",
        "SCIS",
        "TXIN",
        "GEOC",
    ]
)


def _check_status(f: dict[str, str]) -> None:
    if "STAT" in f and f["STAT"] not in SUPPLIER_STATUSES:
        raise nok("WST0103", field="STAT", message=f"Status {f['STAT']} is invalid")


@handler("CRS620MI", "AddSupplier")
def add_supplier(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    """A complete supplier is definite (20) unless STAT says otherwise."""
    f = clean_numbers(f, NUMERIC)
    co = ctx.cono
    suppliers = table(st, "suppliers")
    must_be_new(suppliers, (co, f["SUNO"]), "SUNO")
    _check_status(f)
    row = dict.fromkeys(("TXAP", "VTCD", "PODA", "ABSM", "DCSM"), "0")
    row.update(f)
    row.update(CONO=co, STAT=f.get("STAT", "20"))
    row.setdefault("ALSU", f["SUNM"].upper()[:10])
    row.setdefault("LNCD", st.settings.get("user", {}).get("LANC", "GB"))
    row.update(RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    suppliers.insert(row)
    ctx.emit("supplier", "add", (co, f["SUNO"]), row)
    return {"SUNO": f["SUNO"], "STAT": row["STAT"]}


@handler("CRS620MI", "GetBasicData")
def get_basic_data(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    return must_get(table(st, "suppliers"), (co, f["SUNO"]), "WSU0103", f["SUNO"], "SUNO")


@handler("CRS620MI", "LstByNumber")
def lst_by_number(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co = cono(f, ctx)
    return listing(table(st, "suppliers"), (co,), (co, f["SUNO"]))


@handler("CRS620MI", "UpdSupplier")
def upd_supplier(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    f = clean_numbers(f, NUMERIC)
    co = ctx.cono
    row = must_get(table(st, "suppliers"), (co, f["SUNO"]), "WSU0103", f["SUNO"], "SUNO")
    _check_status(f)
    if apply_changes(row, f, skip=("CONO", "SUNO")):
        bump_change(row, ctx)
        ctx.emit("supplier", "change", (co, f["SUNO"]), row)


@handler("CRS620MI", "DelSupplier")
def del_supplier(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co, suno = ctx.cono, f["SUNO"]
    suppliers = table(st, "suppliers")
    row = must_get(suppliers, (co, suno), "WSU0103", suno, "SUNO")
    if any(p.get("SUNO") == suno for p in listing(table(st, "purchase_orders"), (co,))):
        raise nok("WSU0110", field="SUNO", message=f"Supplier {suno} has purchase orders")
    if any(i.get("SUNO") == suno for i in listing(table(st, "supplier_invoices"), (co,))):
        raise nok("WSU0111", field="SUNO", message=f"Supplier {suno} has supplier invoices")
    suppliers.delete(suppliers.key(co, suno))
    ctx.emit("supplier", "delete", (co, suno), row)
