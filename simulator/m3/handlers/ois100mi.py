"""OIS100MI, the customer order interface (OOHEAD/OOLINE; batch orders OXHEAD/OXLINE).

Batch flow: `AddBatchHead` answers a temporary ORNO from its own series (`ORNO-TMP/<cono>`,
from 9000000001, so it never looks like a real order number), `AddBatchLine` adds lines to
it, `Confirm` creates the order under its final ORNO (`ORNO/<cono>`, from 1000000001),
allocates each line and drops the batch; a second Confirm is WOR0103 and a batch without
lines is refused (WOR0501). Confirm's STAT is the new order's highest status (ORST).
Direct flow: `AddOrderHead` gives the final ORNO at once (status 05/05 until it has lines),
`AddOrderLine` allocates immediately. Statuses and totals: see `simulator.m3.orders`.

Message ids (M3 style; real ids where public, ion-m3.md §4.2, the others ionsim's):
WCU0203 unknown customer, WCU0216 blocked customer (STAT 90), WIT0103 unknown item,
WIT0205 item not released for sale (status below 20 or from 90), WWH0103 unknown warehouse,
WIW0103 item not stocked in the warehouse, WNU0101 bad number, WOQ0201 quantity not positive,
WOR0103 unknown order, WLN0103 unknown line, XRE0104 line number taken, WOR0601/WLN0601
delivered lines cannot be deleted. LstHead filters on status overlap: ORSL (from) <= the
order's ORST and ORST (to) >= its ORSL. LstLine's ORST keeps lines at or below that status.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from simulator.m3 import orders, stock
from simulator.m3.behaviours import cono, must_get, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import ZERO, fmt, num
from simulator.m3.store import Record, Table, TenantState
from simulator.m3.tables import table

_FROM_CUSTOMER = ("DIVI", "ORTP", "TEPY", "MODL", "TEDL", "CUCD", "WHLO", "FACI", "LNCD")


def _number(f: dict[str, str], name: str, default: str) -> Decimal:
    value = f.get(name, default)
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise nok("WNU0101", field=name, message=f"Field {name}: {value!r} is not a number")
    return number


def _customer(st: TenantState, co: str, cuno: str) -> Record:
    cust = must_get(table(st, "customers"), (co, cuno), "WCU0203", cuno, "CUNO")
    if cust.get("STAT") == "90":
        raise nok("WCU0216", field="CUNO", message=f"Customer {cuno} is blocked")
    return cust


def _warehouse(st: TenantState, co: str, whlo: str) -> None:
    must_get(table(st, "warehouses"), (co, whlo), "WWH0103", whlo, "WHLO")


def _new_head(st: TenantState, f: dict[str, str], ctx: CallContext, co: str) -> Record:
    cust = _customer(st, co, f["CUNO"])
    head = {k: cust.get(k, "") for k in _FROM_CUSTOMER}
    head.update({k: v for k, v in f.items() if k != "CONO"})
    head["DIVI"] = head.get("DIVI") or ctx.divi
    head["PYNO"] = f.get("PYNO") or cust.get("PYNO") or f["CUNO"]
    if f.get("WHLO"):
        _warehouse(st, co, f["WHLO"])
    today = ctx.today()
    head.update(CONO=co, ORDT=f.get("ORDT", today), RLDT=f.get("RLDT", today), RGDT=today)
    head.update(LMDT=today, CHNO="0", CHID=ctx.user, DLIX="", OTBA="0", OTDP="0")
    return head


def _free(t: Table, st: TenantState, series: str, start: int, co: str) -> str:
    while True:
        orno = str(st.next_number(series, start))
        if t.key(co, orno) not in t:
            return orno


def _new_line(
    st: TenantState, f: dict[str, str], ctx: CallContext, head: Record, lines: Table
) -> Record:
    """A validated line (not yet stored); PONR given or the highest one plus one."""
    co, orno, itno = head["CONO"], head["ORNO"], f["ITNO"]
    item = must_get(table(st, "items"), (co, itno), "WIT0103", itno, "ITNO")
    if not "20" <= item.get("STAT", "20") < "90":
        msg = f"Item {itno} has status {item.get('STAT')} and is not released for sale"
        raise nok("WIT0205", field="ITNO", message=msg)
    whlo = f.get("WHLO") or head.get("WHLO") or _user_whlo(st)
    _warehouse(st, co, whlo)
    if stock.balance(st, co, whlo, itno) is None:
        msg = f"Item {itno} does not exist in warehouse {whlo}"
        raise nok("WIW0103", field="WHLO", message=msg)
    qty = _number(f, "ORQT", "1")
    if qty <= ZERO:
        raise nok("WOQ0201", field="ORQT", message="Ordered quantity must be greater than zero")
    price = _number(f, "SAPR", item.get("SAPR") or "0")
    ponr = f.get("PONR", "")
    if ponr:
        if not ponr.isdigit() or int(ponr) == 0:
            raise nok("WNU0101", field="PONR", message=f"Order line number {ponr} is invalid")
        ponr = str(int(ponr))
        if lines.key(co, orno, ponr, "0") in lines:
            raise nok("XRE0104", field="PONR", message=f"Order line {ponr} already exists")
    else:
        last = [int(x["PONR"]) for x in lines.scan(lines.key(co, orno))]
        ponr = str(max(last, default=0) + 1)
    dwdt = f.get("DWDT") or f.get("DWDZ") or head.get("RLDT", "")
    line = {k: v for k, v in f.items() if k not in ("CONO", "ORQT", "SAPR", "PONR")}
    unms = item.get("UNMS", "")
    line.update(CONO=co, ORNO=orno, PONR=ponr, POSX="0", ITNO=itno, WHLO=whlo)
    line.update(ITDS=f.get("ITDS") or item.get("ITDS", "")[:30], ALUN=unms, SPUN=unms)
    line.update(ORQT=fmt(qty), ORQA=fmt(qty), SAPR=fmt(price), NEPR=fmt(price), SACD="1")
    nlam = fmt(orders.amount(qty, price))
    line.update(NLAM=nlam, LNA2=nlam, CUCD=head.get("CUCD", ""), DWDT=dwdt, CODT=dwdt)
    line.update(ALQT="0", DLQT="0", IVQT="0", FACI=head.get("FACI", ""), RGDT=ctx.today())
    line.update(LMDT=ctx.today(), CHNO="1", CHID=ctx.user)
    line["ORST"] = orders.line_status(line)
    return line


def _user_whlo(st: TenantState) -> str:
    """The M3 user's default warehouse, when neither line, head nor customer gives one."""
    return str(st.settings.get("user", {}).get("WHLO", ""))


@handler("OIS100MI", "AddBatchHead")
def add_batch_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    head = _new_head(st, f, ctx, co)
    batches = table(st, "order_batches")
    head["ORNO"] = _free(batches, st, f"ORNO-TMP/{co}", 9000000001, co)
    batches.insert(head)
    return {"ORNO": head["ORNO"]}


@handler("OIS100MI", "AddBatchLine")
def add_batch_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    head = must_get(table(st, "order_batches"), (co, f["ORNO"]), "WOR0103", f["ORNO"], "ORNO")
    lines = table(st, "order_batch_lines")
    line = _new_line(st, f, ctx, head, lines)
    lines.insert(line)
    return {"PONR": line["PONR"], "POSX": line["POSX"]}


@handler("OIS100MI", "Confirm")
def confirm(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, temp = cono(f, ctx), f["ORNO"]
    batches, batch_lines = table(st, "order_batches"), table(st, "order_batch_lines")
    batch = must_get(batches, (co, temp), "WOR0103", temp, "ORNO")
    pending = list(batch_lines.scan(batch_lines.key(co, temp)))
    if not pending:
        raise nok("WOR0501", field="ORNO", message=f"Order {temp} has no lines")
    heads, lines = table(st, "orders"), table(st, "order_lines")
    orno = _free(heads, st, f"ORNO/{co}", 1000000001, co)
    head = {**batch, "ORNO": orno, "TORN": temp}
    heads.insert(head)
    for pend in pending:
        line = {**pend, "ORNO": orno}
        lines.insert(line)
        orders.allocate_line(st, ctx, line)
        ctx.emit("order_line", "add", (co, orno, line["PONR"], line["POSX"]), line)
        batch_lines.delete(batch_lines.key_of(pend))
    batches.delete(batches.key(co, temp))
    orders.refresh_head(st, head, ctx)
    ctx.emit("order", "confirm", (co, orno), head)
    return {"ORNO": orno, "STAT": head["STAT"]}


@handler("OIS100MI", "AddOrderHead")
def add_order_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    head = _new_head(st, f, ctx, co)
    heads = table(st, "orders")
    head["ORNO"] = _free(heads, st, f"ORNO/{co}", 1000000001, co)
    orders.refresh_head(st, head, ctx)
    heads.insert(head)
    ctx.emit("order", "add", (co, head["ORNO"]), head)
    return {"ORNO": head["ORNO"]}


@handler("OIS100MI", "AddOrderLine")
def add_order_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    head = orders.get_order(st, co, f["ORNO"])
    lines = table(st, "order_lines")
    line = _new_line(st, f, ctx, head, lines)
    lines.insert(line)
    orders.allocate_line(st, ctx, line)
    orders.refresh_head(st, head, ctx)
    ctx.emit("order_line", "add", (co, head["ORNO"], line["PONR"], line["POSX"]), line)
    ctx.emit("order", "change", (co, head["ORNO"]), head)
    return {"PONR": line["PONR"], "POSX": line["POSX"]}


@handler("OIS100MI", "GetHead")
def get_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return orders.get_order(st, cono(f, ctx), f["ORNO"])


@handler("OIS100MI", "GetOrderValue")
def get_order_value(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    head = orders.get_order(st, cono(f, ctx), f["ORNO"])
    return {**head, "ISUM": "0", "ITPR": "0", "VXCL": "0"}


@handler("OIS100MI", "GetLine")
def get_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    orders.get_order(st, co, f["ORNO"])
    return orders.get_line(st, co, f["ORNO"], f["PONR"], f.get("POSX", "0"))


@handler("OIS100MI", "LstLine")
def lst_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co = cono(f, ctx)
    orders.get_order(st, co, f["ORNO"])
    top, itno = f.get("ORST", "99"), f.get("ITNO")
    return (
        x
        for x in orders.order_lines(st, co, f["ORNO"])
        if x["ORST"] <= top and (not itno or x["ITNO"] == itno)
    )


@handler("OIS100MI", "LstHead")
def lst_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co, cuno = cono(f, ctx), f["CUNO"]
    must_get(table(st, "customers"), (co, cuno), "WCU0203", cuno, "CUNO")
    low, high = f.get("ORSL", "00"), f.get("ORST", "99")
    heads = table(st, "orders")
    return (
        h
        for h in heads.scan(heads.key(co))
        if h.get("CUNO") == cuno and h["ORST"] >= low and h["ORSL"] <= high
    )


@handler("OIS100MI", "DelHead")
def del_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co, orno = cono(f, ctx), f["ORNO"]
    head = orders.get_order(st, co, orno)
    lines = list(orders.order_lines(st, co, orno))
    if any(num(x.get("DLQT")) > ZERO for x in lines):
        msg = f"Order {orno} has delivered lines and cannot be deleted"
        raise nok("WOR0601", field="ORNO", message=msg)
    order_lines = table(st, "order_lines")
    for line in lines:
        orders.release_line(st, ctx, line)
        order_lines.delete(order_lines.key_of(line))
        ctx.emit("order_line", "delete", (co, orno, line["PONR"], line["POSX"]), line)
    heads = table(st, "orders")
    heads.delete(heads.key(co, orno))
    ctx.emit("order", "delete", (co, orno), head)


@handler("OIS100MI", "DelLine")
def del_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co, orno = cono(f, ctx), f["ORNO"]
    head = orders.get_order(st, co, orno)
    line = orders.get_line(st, co, orno, f["PONR"], f.get("POSX", "0"))
    if num(line.get("DLQT")) > ZERO:
        msg = f"Order line {line['PONR']} is delivered and cannot be deleted"
        raise nok("WLN0601", field="PONR", message=msg)
    orders.release_line(st, ctx, line)
    lines = table(st, "order_lines")
    lines.delete(lines.key_of(line))
    orders.refresh_head(st, head, ctx)
    ctx.emit("order_line", "delete", (co, orno, line["PONR"], line["POSX"]), line)
    ctx.emit("order", "change", (co, orno), head)


@handler("OIS100MI", "LstErrMsgOrder")
def lst_err_msg_order(st: TenantState, f: dict[str, str], ctx: CallContext) -> list[Record]:
    """ionsim keeps no batch errors: a batch either takes a line or answers NOK at once."""
    co = cono(f, ctx)
    batches = table(st, "order_batches")
    if batches.key(co, f["ORNO"]) not in batches:
        orders.get_order(st, co, f["ORNO"])
    return []
