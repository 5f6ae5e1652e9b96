"""Customer-order rules shared by OIS100MI, OIS350MI and the deliver/invoice control actions.

Status (ion-m3.md §4.1): a line's ORST is the lowest and the highest digit over the parts of
its quantity (2 left to allocate, 3 allocated, 6 delivered, 7 invoiced), so a line reads 22,
23, 33, 36, 66, 67, 77...; the picking step 44 is skipped because ionsim has no picking lists.
The head carries ORSL/ORST = lowest/highest line ORST and STAT = ORST. A head without lines
(AddOrderHead before AddOrderLine, or after its last DelLine) is "05"/"05", ionsim's choice
(inferred, not verified): it keeps them apart from "22" orders that really wait for stock.

Amounts: NLAM = ORQT x NEPR rounded to cents; NEPR = SAPR (discount fields are stored but not
applied) and there is no VAT, so net, gross and totals agree. Real M3 delivers and invoices in
batch jobs, not MI calls; `deliver` and `invoice` are what the `/_sim/` control routes run.
A delivery takes a number from series `DLIX/<cono>`; an invoice one from `IVNO/<cono>/<divi>`
(from 100000001, 9 digits as OIS350MI's IVNO), dated the call's day, due after the payment
terms' days (TEPY "30" -> 30 days).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from simulator.m3 import stock
from simulator.m3.behaviours import bump_change, nok
from simulator.m3.engine import CallContext
from simulator.m3.numbers import ZERO, fmt, num
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

NO_LINES = "05"
CENT = Decimal("0.01")
_ZERO_TOTALS = ("ODAM", "EXAM", "EFAM", "VTAM", "ROAM", "IDAM", "IXAM", "IFAM", "IVTA", "IROA")


def amount(qty: Decimal, price: Decimal) -> Decimal:
    return (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)


def line_status(line: Record) -> str:
    orqt, alqt, dlqt, ivqt = (num(line.get(k)) for k in ("ORQT", "ALQT", "DLQT", "IVQT"))
    parts = {"7": ivqt, "6": dlqt - ivqt, "3": alqt, "2": orqt - dlqt - alqt}
    digits = [d for d, q in parts.items() if q > ZERO] or ["2"]
    return min(digits) + max(digits)


def get_order(st: TenantState, cono: str, orno: str) -> Record:
    orders = table(st, "orders")
    head = orders.get(orders.key(cono, orno))
    if head is None:
        raise nok("WOR0103", orno, "ORNO")
    return head


def order_lines(st: TenantState, cono: str, orno: str) -> Iterator[Record]:
    lines = table(st, "order_lines")
    return lines.scan(lines.key(cono, orno))


def get_line(st: TenantState, cono: str, orno: str, ponr: str, posx: str = "0") -> Record:
    lines = table(st, "order_lines")
    line = lines.get(lines.key(cono, orno, ponr, posx or "0"))
    if line is None:
        raise nok("WLN0103", field="PONR", message=f"Order line {ponr} does not exist")
    return line


def refresh_head(st: TenantState, head: Record, ctx: CallContext) -> None:
    """Recomputes statuses and totals from the lines: the head never drifts from them."""
    lines = list(order_lines(st, head["CONO"], head["ORNO"]))
    statuses = [line["ORST"] for line in lines] or [NO_LINES]
    net = sum((num(line.get("NLAM")) for line in lines), ZERO)
    invoiced = sum((amount(num(x.get("IVQT")), num(x.get("NEPR"))) for x in lines), ZERO)
    n, i = fmt(net), fmt(invoiced)
    head.update(ORSL=min(statuses), ORST=max(statuses), STAT=max(statuses))
    head.update(NTAM=n, BRAM=n, ONET=n, ORVA=n, TOAM=n, TOPY=n)
    head.update(INTA=i, IRAM=i, INET=i, IRVA=i, ITOA=i, ITOP=i)
    head.update(dict.fromkeys(_ZERO_TOTALS, "0"))
    head["CHID"] = ctx.user
    bump_change(head, ctx)


def allocate_line(st: TenantState, ctx: CallContext, line: Record) -> None:
    """Reserves what is still open on the line, as far as stock allows."""
    open_qty = num(line["ORQT"]) - num(line.get("DLQT")) - num(line.get("ALQT"))
    got = stock.allocate(st, ctx, line["CONO"], line["WHLO"], line["ITNO"], open_qty)
    line["ALQT"] = fmt(num(line.get("ALQT")) + got)
    line["ORST"] = line_status(line)


def release_line(st: TenantState, ctx: CallContext, line: Record) -> None:
    alqt = num(line.get("ALQT"))
    stock.release(st, ctx, line["CONO"], line["WHLO"], line["ITNO"], alqt)
    line["ALQT"] = "0"


Wanted = list[tuple[str, str, Decimal | None]]


def deliver(
    st: TenantState, ctx: CallContext, cono: str, orno: str, wanted: Wanted | None
) -> dict[str, Any]:
    """Delivers allocated quantities (or the `wanted` lines) and issues the stock.

    Everything is checked before anything changes, so a refused delivery leaves no trace.
    """
    head = get_order(st, cono, orno)
    plan: list[tuple[Record, Decimal]] = []
    if wanted is None:
        plan = [(x, num(x["ALQT"])) for x in order_lines(st, cono, orno) if num(x["ALQT"]) > ZERO]
    else:
        seen: set[int] = set()
        for ponr, posx, qty in wanted:
            line = get_line(st, cono, orno, ponr, posx)
            if id(line) in seen:
                raise nok("WLN0104", field="PONR", message=f"Order line {ponr} is given twice")
            seen.add(id(line))
            want = num(line["ALQT"]) if qty is None else qty
            open_qty = num(line["ORQT"]) - num(line.get("DLQT"))
            if want <= ZERO or want > open_qty:
                msg = f"Order line {ponr}: {fmt(want)} cannot be delivered, {fmt(open_qty)} open"
                raise nok("WDL0101", field="DLQT", message=msg)
            plan.append((line, want))
    if not plan:
        raise nok("WDL0102", orno, "ORNO", f"Order {orno} has nothing allocated to deliver")
    extra: dict[tuple[str, str], Decimal] = {}
    for line, qty in plan:
        need = qty - num(line["ALQT"])
        if need > ZERO:
            key = (line["WHLO"], line["ITNO"])
            extra[key] = extra.get(key, ZERO) + need
    for (whlo, itno), need in extra.items():
        bal = stock.balance(st, cono, whlo, itno)
        if bal is None or num(bal.get("AVAL")) < need:
            raise nok("WDL0103", itno, "ITNO", f"Not enough stock of {itno} in warehouse {whlo}")
    dlix = str(st.next_number(f"DLIX/{cono}"))
    done = []
    for line, qty in plan:
        alqt = num(line["ALQT"])
        if qty > alqt:
            stock.allocate(st, ctx, cono, line["WHLO"], line["ITNO"], qty - alqt)
        stock.issue(st, ctx, cono, line["WHLO"], line["ITNO"], qty)
        line.update(ALQT=fmt(max(alqt - qty, ZERO)), DLQT=fmt(num(line.get("DLQT")) + qty))
        line.update(DLIX=dlix, DLDT=ctx.today(), ORST=line_status(line))
        bump_change(line, ctx)
        done.append(
            {
                "PONR": line["PONR"],
                "POSX": line["POSX"],
                "ITNO": line["ITNO"],
                "DLQT": fmt(qty),
                "ORST": line["ORST"],
            }
        )
        ctx.emit("order_line", "change", (cono, orno, line["PONR"], line["POSX"]), line)
    refresh_head(st, head, ctx)
    ctx.emit("order", "deliver", (cono, orno), head)
    return {
        "order": orno,
        "delivery": dlix,
        "ORSL": head["ORSL"],
        "ORST": head["ORST"],
        "lines": done,
    }


def payment_days(tepy: str) -> int:
    """Days until due: the demo's payment terms are named by their days ("30", "10")."""
    digits = "".join(c for c in tepy if c.isdigit())
    return int(digits) if digits else 30


def invoice(st: TenantState, ctx: CallContext, cono: str, orno: str) -> dict[str, Any]:
    """Invoices every delivered, not yet invoiced quantity of the order as one invoice."""
    head = get_order(st, cono, orno)
    todo = [x for x in order_lines(st, cono, orno) if num(x.get("DLQT")) > num(x.get("IVQT"))]
    if not todo:
        raise nok("WIV0102", orno, "ORNO", f"Order {orno} has no delivered lines to invoice")
    divi, today = head.get("DIVI") or ctx.divi, ctx.today()
    year = today[:4]
    invoices, inv_lines = table(st, "invoices"), table(st, "invoice_lines")
    while True:
        ivno = str(st.next_number(f"IVNO/{cono}/{divi}", 100000001))
        if invoices.key(cono, divi, year, ivno) not in invoices:
            break
    customers = table(st, "customers")
    cunm = (customers.get(customers.key(cono, head["CUNO"])) or {}).get("CUNM", "")
    common = {"CONO": cono, "DIVI": divi, "YEA4": year, "IVNO": ivno, "ORNO": orno}
    total = ZERO
    for line in todo:
        qty = num(line["DLQT"]) - num(line.get("IVQT"))
        amt = fmt(amount(qty, num(line.get("NEPR"))))
        total += Decimal(amt)
        row = {**common, "PONR": line["PONR"], "POSX": line["POSX"], "ITNO": line["ITNO"]}
        row.update(IVQT=fmt(qty), NEPR=line.get("NEPR", "0"), AMT1=amt, AMT2=amt, AMT3=amt)
        row.update(VTAM="0", WHLO=line["WHLO"], DLIX=line.get("DLIX", ""), IVRF=orno)
        row.update(PYNO=head.get("PYNO", ""), CUNM=cunm)
        inv_lines.insert(row)
        line.update(IVQT=line["DLQT"], IVDT=today)
        line["ORST"] = line_status(line)
        bump_change(line, ctx)
        ctx.emit("order_line", "change", (cono, orno, line["PONR"], line["POSX"]), line)
    refresh_head(st, head, ctx)
    inv = _invoice_head(head, ctx, common, total, cunm, todo[0].get("DLIX", ""))
    invoices.insert(inv)
    ctx.emit("invoice", "add", (cono, divi, year, ivno), inv)
    ctx.emit("order", "change", (cono, orno), head)
    return {
        "invoice": ivno,
        "year": year,
        "division": divi,
        "order": orno,
        "amount": inv["AMT1"],
        "currency": inv["CUCD"],
        "invoice_date": today,
        "due_date": inv["DUDT"],
        "ORSL": head["ORSL"],
        "ORST": head["ORST"],
    }


def _invoice_head(
    head: Record, ctx: CallContext, common: Record, total: Decimal, cunm: str, dlix: str
) -> Record:
    """ODHEAD/OINVOH fields the OIS350MI lists answer; no VAT, so every amount is the net."""
    now = datetime.fromtimestamp(ctx.now, UTC)
    due = now + timedelta(days=payment_days(head.get("TEPY", "")))
    t, today, cucd, faci = fmt(total), ctx.today(), head.get("CUCD", ""), head.get("FACI", "")
    inv = {**common, "CUNO": head["CUNO"], "CUNM": cunm, "CUN1": cunm, "CUN2": cunm}
    inv.update(PYN1=cunm if head.get("PYNO", "") in ("", head["CUNO"]) else "")
    inv.update(PYNO=head.get("PYNO", ""), INRC=head.get("INRC", ""), TEPY=head.get("TEPY", ""))
    inv.update(FACI=faci, FAC2=faci, WHLO=head.get("WHLO", ""), DLIX=dlix, ORST=head["ORST"])
    inv.update(CUCD=cucd, CUC1=cucd, CUC2=cucd, AMT1=t, AMT2=t, IVAV=t, RAFC=t, RAIN="1")
    inv.update(IDAT=today, IVDT=today, ACDT=today, DUDT=due.strftime("%Y%m%d"), RGDT=today)
    inv.update(EXIN=common["IVNO"], LNCD=head.get("LNCD", ""), RGTM=now.strftime("%H%M%S"))
    inv.update(LMDT=today, CHID=ctx.user, INTM=now.strftime("%H%M%S"), DLDT=today)
    return inv
