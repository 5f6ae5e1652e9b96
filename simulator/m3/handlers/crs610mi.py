"""CRS610MI, the customer interface (OCUSMA).

`Add` copies defaults from the template customer (CUTM) as M3 does, then applies the input;
a blank CUNO takes the next number of the tenant's customer number series.
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
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

# Identity and address of the template are never copied to the new customer.
_NOT_FROM_TEMPLATE = {
    "CUNO",
    "CUNM",
    "CUA1",
    "CUA2",
    "CUA3",
    "CUA4",
    "ALCU",
    "MAIL",
    "PHNO",
    "PHN2",
    "TFNO",
    "TXID",
    "RGDT",
    "LMDT",
    "CHNO",
    "LMTS",
}


@handler("CRS610MI", "Add")
def add(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    customers = table(st, "customers")
    co = cono(f, ctx)
    template = customers.get(customers.key(co, f["CUTM"]))
    if template is None:
        raise nok("WCU0203", f["CUTM"], "CUTM")
    cuno = f.get("CUNO") or _next_customer_number(st, co)
    must_be_new(customers, (co, cuno), "CUNO")
    row = {k: v for k, v in template.items() if k not in _NOT_FROM_TEMPLATE}
    row.update({k: v for k, v in f.items() if k != "CUTM"})
    row.update(CONO=co, CUNO=cuno, RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    row.setdefault("STAT", "20")
    row.setdefault("DIVI", f.get("DIVI") or template.get("DIVI") or ctx.divi)
    customers.insert(row)
    ctx.emit("customer", "add", (co, cuno), row)
    return {"CUNO": cuno}


def _next_customer_number(st: TenantState, co: str) -> str:
    customers = table(st, "customers")
    while True:
        cuno = str(st.next_number(f"CUNO/{co}", 10001))
        if customers.key(co, cuno) not in customers:
            return cuno


@handler("CRS610MI", "GetBasicData", "GetFinancial", "GetOrderInfo")
def get_basic_data(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return must_get(table(st, "customers"), (cono(f, ctx), f["CUNO"]), "WCU0203", f["CUNO"], "CUNO")


@handler("CRS610MI", "LstByNumber")
def lst_by_number(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co = cono(f, ctx)
    return listing(table(st, "customers"), (co,), (co, f.get("CUNO", "")))


@handler("CRS610MI", "LstByName")
def lst_by_name(st: TenantState, f: dict[str, str], ctx: CallContext) -> list[Record]:
    """Sorted per call: M3 reads an index by name; ionsim sorts, which is fine below ~100k rows."""
    co = cono(f, ctx)
    start = f.get("CUNM", "")
    rows = [r for r in listing(table(st, "customers"), (co,)) if r.get("CUNM", "") >= start]
    rows.sort(key=lambda r: (r.get("CUNM", ""), r.get("CUNO", "")))
    return rows


@handler("CRS610MI", "ChgBasicData")
def chg_basic_data(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    row = must_get(table(st, "customers"), (co, f["CUNO"]), "WCU0203", f["CUNO"], "CUNO")
    if f.get("CHNO") and f["CHNO"] != row.get("CHNO", ""):
        raise nok("XRE0104", field="CHNO", message="Record has been changed by another user")
    apply_changes(row, f, skip=("CONO", "CUNO", "CHNO", "PWM1", "PWM2"))
    bump_change(row, ctx)
    ctx.emit("customer", "change", (co, f["CUNO"]), row)
    return {"CUNO": f["CUNO"]}


@handler("CRS610MI", "Delete")
def delete(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co = cono(f, ctx)
    customers = table(st, "customers")
    row = must_get(customers, (co, f["CUNO"]), "WCU0203", f["CUNO"], "CUNO")
    orders = table(st, "orders")
    if any(o.get("CUNO") == f["CUNO"] and o.get("ORST", "") < "77" for o in listing(orders, (co,))):
        raise nok("WCU0210", f["CUNO"], "CUNO", f"Customer {f['CUNO']} has open customer orders")
    customers.delete(customers.key(co, f["CUNO"]))
    ctx.emit("customer", "delete", (co, f["CUNO"]), row)
