"""PPS200MI, the purchase order interface: read POs (GetHead, GetLine, LstLine), AddLine.

Only definite POs exist here (those PPS370MI/FinishEntry created); a PO still in a batch entry
answers "does not exist", as its number is only reserved. GetHead's output has no status fields
in the real definition, so the head's PUSL/PUST (lowest/highest line status) are read with
GetLine/LstLine.
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.m3.behaviours import cono, listing, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.handlers.pps370mi import new_line, po_totals
from simulator.m3.numbers import whole
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

# A PO whose lowest line status reached this is closed for new lines (ionsim's rule).
_CLOSED = "85"


def get_po(st: TenantState, co: str, puno: str) -> Record:
    """The definite PO, or M3's NOK for an unknown one (also for one still in a batch entry)."""
    orders = table(st, "purchase_orders")
    row = orders.get(orders.key(co, puno))
    if row is None:
        raise nok("WPU0103", field="PUNO", message=f"Purchase order number {puno} does not exist")
    return row


@handler("PPS200MI", "GetHead")
def get_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return get_po(st, cono(f, ctx), f["PUNO"])


@handler("PPS200MI", "GetLine")
def get_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    get_po(st, co, f["PUNO"])
    lines = table(st, "po_lines")
    pnli, pnls = whole(f, "PNLI"), whole(f, "PNLS")
    row = lines.get(lines.key(co, f["PUNO"], pnli, pnls))
    if row is None:
        text = f"Purchase order line {f['PUNO']}/{pnli} does not exist"
        raise nok("XRE0103", field="PNLI", message=text)
    return row


@handler("PPS200MI", "LstLine")
def lst_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co = cono(f, ctx)
    get_po(st, co, f["PUNO"])
    return listing(table(st, "po_lines"), (co, f["PUNO"]))


@handler("PPS200MI", "AddLine")
def add_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co = cono(f, ctx)
    head = get_po(st, co, f["PUNO"])
    if head.get("PUSL", "") >= _CLOSED:
        raise nok("WPU0110", field="PUNO", message=f"Purchase order {f['PUNO']} is closed")
    if f.get("SUNO") and f["SUNO"] != head["SUNO"]:
        text = f"Supplier {f['SUNO']} differs from the order's supplier {head['SUNO']}"
        raise nok("WSU0110", field="SUNO", message=text)
    lines = table(st, "po_lines")
    line = new_line(st, head, f, ctx, lines, (co, f["PUNO"]))
    lines.insert(line)
    head.update(po_totals(listing(lines, (co, f["PUNO"]))), LMDT=ctx.today())
    head["CHNO"] = str(int(head.get("CHNO") or "0") + 1)
    ctx.emit("purchase_order", "change", (co, f["PUNO"]), head)
