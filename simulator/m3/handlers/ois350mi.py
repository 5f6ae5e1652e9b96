"""OIS350MI, customer order invoices (ODHEAD/OINVOH), as the invoicing control action makes them.

Invoices are keyed by company, division, year and invoice number, as in M3: the same IVNO may
come back in another year, so `GetInvHead`/`LstInvLine` need YEA4 and IVNO. DIVI defaults to
the call's division. An unknown invoice is WIV0103; an unknown order WOR0103. The by-order
lists read every invoice of the company (fine for a test tenant's few thousand invoices).
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.m3 import orders
from simulator.m3.behaviours import cono, divi, listing, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table


def _ivno(f: dict[str, str]) -> str:
    """The invoice number as stored: M3 numbers carry no leading zeros."""
    value = f["IVNO"]
    return str(int(value)) if value.isdigit() else value


def _invoice(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    invoices = table(st, "invoices")
    ivno = _ivno(f)
    row = invoices.get(invoices.key(cono(f, ctx), divi(f, ctx), f["YEA4"], ivno))
    if row is None:
        raise nok("WIV0103", field="IVNO", message=f"Invoice number {ivno} does not exist")
    return row


@handler("OIS350MI", "GetInvHead")
def get_inv_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return _invoice(st, f, ctx)


@handler("OIS350MI", "LstInvHead")
def lst_inv_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    """Invoices of one year from IVNO on (the start key, as MI lists do)."""
    key = (cono(f, ctx), divi(f, ctx), f["YEA4"])
    start = (*key, _ivno(f)) if f.get("IVNO") else ()
    return listing(table(st, "invoices"), key, start)


@handler("OIS350MI", "LstInvLine")
def lst_inv_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    inv = _invoice(st, f, ctx)
    key = (inv["CONO"], inv["DIVI"], inv["YEA4"], inv["IVNO"])
    return listing(table(st, "invoice_lines"), key)


def _by_order(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co = cono(f, ctx)
    orders.get_order(st, co, f["ORNO"])
    return (r for r in listing(table(st, "invoices"), (co,)) if r.get("ORNO") == f["ORNO"])


@handler("OIS350MI", "LstInvHeadByCo")
def lst_inv_head_by_co(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    """OOIN=1 keeps open invoices only (remaining amount not zero)."""
    whlo, open_only = f.get("WHLO"), f.get("OOIN") == "1"
    return (
        r
        for r in _by_order(st, f, ctx)
        if (not whlo or r.get("WHLO") == whlo) and (not open_only or r.get("RAFC") not in ("", "0"))
    )


@handler("OIS350MI", "LstAllInvByCO")
def lst_all_inv_by_co(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    return _by_order(st, f, ctx)
