"""APS450MI, supplier invoice batches (FAPIBH/FAPIBL): AddHead, AddLine, GetHead, ApproveInvoice.

A batch belongs to a company and division (`DIVI` input, else the call's division); its number
INBN comes from the company's invoice batch number series. Heads default currency, payment
terms and method from the supplier. Lines' net amounts (NLAM) add up in the head's TLNA.

Statuses (SUPA) are ionsim's choice, M3's values being unpublished: 10 entered, 20 approved.
ApproveInvoice wants at least one line and, when an invoice amount (CUAM) was given, a balanced
invoice: CUAM = TLNA + VTAM (net lines plus the head's VAT).
"""

from __future__ import annotations

from decimal import Decimal

from simulator.m3.behaviours import cono, divi, listing, must_get, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import fmt, whole
from simulator.m3.numbers import num as dec
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

ENTERED, APPROVED = "10", "20"
_AMOUNTS = ("ARAT", "CUAM", "VTAM", "CDP1", "CDC1", "CDP2", "CDC2", "CDP3", "CDC3", "TTXA", "TASD")
_LINE_AMOUNTS = ("NLAM", "VTA1", "VTA2", "IVQA", "GRPR", "NEPR", "GLAM", "DIPC", "DIAM", "VTP1")


def get_batch(st: TenantState, co: str, dv: str, inbn: str) -> Record:
    heads = table(st, "supplier_invoices")
    row = heads.get(heads.key(co, dv, inbn))
    if row is None:
        text = f"Invoice batch number {inbn} does not exist"
        raise nok("XRE0103", field="INBN", message=text)
    return row


def _not_approved(head: Record) -> None:
    if head.get("SUPA") == APPROVED:
        raise nok("WIB0110", field="INBN", message=f"Invoice batch {head['INBN']} is approved")


@handler("APS450MI", "AddHead")
def add_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, dv = cono(f, ctx), divi(f, ctx)
    sup = must_get(table(st, "suppliers"), (co, f["SUNO"]), "WSU0103", f["SUNO"], "SUNO")
    heads = table(st, "supplier_invoices")
    sino = f.get("SINO", "")
    if sino and any(
        h.get("SUNO") == f["SUNO"] and h.get("SINO") == sino for h in listing(heads, (co,))
    ):
        text = f"Supplier invoice number {sino} already exists for supplier {f['SUNO']}"
        raise nok("XRE0104", field="SINO", message=text)
    inbn = _next_batch_number(st, co, dv)
    companies = table(st, "companies")
    company = companies.get(companies.key(co, dv)) or {}
    head: Record = dict(f)
    head.setdefault("CUCD", sup.get("CUCD") or company.get("LOCD", ""))
    head.setdefault("TEPY", sup.get("TEPY", ""))
    head.setdefault("PYME", sup.get("PYME", ""))
    head.setdefault("SPYN", sup.get("PRSU") or f["SUNO"])
    head.setdefault("VRNO", sup.get("VRNO", ""))
    head.setdefault("ACDT", f["IVDT"])
    head.setdefault("DUDT", f["IVDT"])
    head.setdefault("IBTP", "")
    head.setdefault("APCD", ctx.user)
    head.setdefault("YEA4", f["IVDT"][:4])
    for name in _AMOUNTS:
        head[name] = fmt(dec(f.get(name) or ("1" if name == "ARAT" else "")))
    head.update(CONO=co, DIVI=dv, INBN=inbn, SUPA=ENTERED, BIST="0", IBHE="0", IBLE="0")
    head.update(_totals(head, Decimal(0)), NOLN="0")
    head.update(RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    heads.insert(head)
    ctx.emit("supplier_invoice", "add", (co, dv, inbn), head)
    return {"INBN": inbn}


@handler("APS450MI", "AddLine")
def add_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, dv = cono(f, ctx), divi(f, ctx)
    head = get_batch(st, co, dv, f["INBN"])
    _not_approved(head)
    if f.get("PUNO"):
        orders = table(st, "purchase_orders")
        if orders.key(co, f["PUNO"]) not in orders:
            text = f"Purchase order number {f['PUNO']} does not exist"
            raise nok("WPU0103", field="PUNO", message=text)
    lines = table(st, "supplier_invoice_lines")
    prefix = (co, dv, head["INBN"])
    taken = [int(r["TRNO"]) for r in listing(lines, prefix)]
    trno = whole(f, "TRNO") if f.get("TRNO") else str(max(taken, default=0) + 1)
    if int(trno) in taken:
        raise nok("XRE0104", field="TRNO")
    nlam = dec(f.get("NLAM"))
    if "NLAM" not in f and f.get("IVQA") and f.get("NEPR"):
        pucd = dec(f.get("PUCD") or "1")
        if pucd <= 0:
            raise nok("WPU0125", field="PUCD", message="Price quantity must be greater than 0")
        nlam = dec(f["IVQA"]) * dec(f["NEPR"]) / pucd
    line: Record = dict(f)
    for name in _LINE_AMOUNTS:
        line[name] = fmt(dec(f.get(name)))
    line.update(CONO=co, DIVI=dv, INBN=head["INBN"], TRNO=trno, RDTP=whole(f, "RDTP"))
    line.update(NLAM=fmt(nlam), SUNO=head["SUNO"], RGDT=ctx.today(), LMDT=ctx.today())
    lines.insert(line)
    tlna = sum((dec(r.get("NLAM")) for r in listing(lines, prefix)), Decimal(0))
    head.update(_totals(head, tlna), NOLN=str(len(taken) + 1), LMDT=ctx.today())
    ctx.emit("supplier_invoice", "change", (co, dv, head["INBN"]), head)
    return {"TRNO": trno}


@handler("APS450MI", "GetHead")
def get_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return get_batch(st, cono(f, ctx), divi(f, ctx), f["INBN"])


@handler("APS450MI", "ApproveInvoice")
def approve_invoice(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co, dv = cono(f, ctx), divi(f, ctx)
    head = get_batch(st, co, dv, f["INBN"])
    _not_approved(head)
    if head.get("NOLN", "0") == "0":
        raise nok("WIB0120", field="INBN", message=f"Invoice batch {head['INBN']} has no lines")
    cuam, expected = dec(head.get("CUAM")), dec(head.get("TLNA")) + dec(head.get("VTAM"))
    if cuam and cuam != expected:
        text = f"Invoice amount {fmt(cuam)} does not balance with lines and VAT {fmt(expected)}"
        raise nok("WIB0130", field="INBN", message=text)
    changes = {k: f[k] for k in ("CRNO", "YRE1", "SINO", "IVDT", "DUDT") if k in f}
    head.update(changes, SUPA=APPROVED, AAPD=f.get("AAPD") or ctx.today(), LMDT=ctx.today())
    head["CHNO"] = str(int(head.get("CHNO") or "0") + 1)
    ctx.emit("supplier_invoice", "change", (co, dv, head["INBN"]), head)


def _totals(head: Record, tlna: Decimal) -> Record:
    """TLNA is the lines' net sum; TOPA (total due) the invoice amount, else lines plus VAT."""
    cuam = dec(head.get("CUAM"))
    topa = cuam if cuam else tlna + dec(head.get("VTAM"))
    return {"TLNA": fmt(tlna), "TCHG": "0", "TOPA": fmt(topa), "ADAB": "0"}


def _next_batch_number(st: TenantState, co: str, dv: str) -> str:
    heads = table(st, "supplier_invoices")
    while True:
        inbn = str(st.next_number(f"INBN/{co}", 1000001))
        if heads.key(co, dv, inbn) not in heads:
            return inbn
