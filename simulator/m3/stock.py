"""The one place stock quantities change: order allocation, delivery, receipt, stock count.

M3 keeps a balance per item and warehouse (MITBAL: on-hand STQT, allocated ALQT, available
AVAL) and balance identities per location and lot (MITLOC). ionsim changes only the location
rows and then recomputes the warehouse row as their sum, so two invariants always hold:
STQT = ALQT + AVAL on every row, and the warehouse row equals the sum of its locations.
Quantities never go negative: callers get what was possible (allocate returns it), never an
error, because the MI handler calling in has already validated its business rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from simulator.m3.engine import CallContext
from simulator.m3.numbers import ZERO, fmt, num
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

# MITBAL quantities MI answers as "0" even when nothing ever touched them.
_ZERO_FIELDS = ("QUQT", "RJQT", "PLQT", "ORQT", "REQT", "RLQT", "REQP", "EXQT")


def balance(st: TenantState, cono: str, whlo: str, itno: str) -> Record | None:
    iw = table(st, "item_warehouses")
    return iw.get(iw.key(cono, whlo, itno))


def locations(st: TenantState, cono: str, whlo: str, itno: str) -> Iterator[Record]:
    """Balance identities of one item in one warehouse, in key order (location, lot)."""
    bal = table(st, "balances")
    return bal.scan(bal.key(cono, whlo, itno))


def allocate(
    st: TenantState, ctx: CallContext, cono: str, whlo: str, itno: str, qty: Decimal
) -> Decimal:
    """Allocates up to `qty` from available stock, locations in key order; returns the amount."""
    if qty <= ZERO or balance(st, cono, whlo, itno) is None:
        return ZERO
    left = qty
    for loc in list(locations(st, cono, whlo, itno)):
        take = min(left, num(loc.get("AVAL")))
        if take > ZERO:
            _set(loc, alqt=num(loc.get("ALQT")) + take)
            left -= take
        if left <= ZERO:
            break
    done = qty - left
    if done > ZERO:
        _recompute(st, ctx, cono, whlo, itno)
    return done


def release(
    st: TenantState, ctx: CallContext, cono: str, whlo: str, itno: str, qty: Decimal
) -> None:
    """Undoes an allocation (line deleted or quantity lowered), last locations first."""
    if qty <= ZERO or balance(st, cono, whlo, itno) is None:
        return
    left = qty
    for loc in reversed(list(locations(st, cono, whlo, itno))):
        give = min(left, num(loc.get("ALQT")))
        if give > ZERO:
            _set(loc, alqt=num(loc.get("ALQT")) - give)
            left -= give
        if left <= ZERO:
            break
    if left < qty:
        _recompute(st, ctx, cono, whlo, itno)


def issue(st: TenantState, ctx: CallContext, cono: str, whlo: str, itno: str, qty: Decimal) -> None:
    """Delivery: takes allocated stock first, then available, never more than on hand."""
    if qty <= ZERO or balance(st, cono, whlo, itno) is None:
        return
    locs = list(locations(st, cono, whlo, itno))
    left = qty
    for loc in locs:  # allocated quantity: what the order line reserved
        take = min(left, num(loc.get("ALQT")))
        if take > ZERO:
            _set(loc, stqt=num(loc.get("STQT")) - take, alqt=num(loc.get("ALQT")) - take)
            left -= take
    for loc in locs:  # an over-delivery takes free stock
        take = min(left, num(loc.get("AVAL")))
        if take > ZERO:
            _set(loc, stqt=num(loc.get("STQT")) - take, alqt=num(loc.get("ALQT")))
            left -= take
    if left < qty:
        _recompute(st, ctx, cono, whlo, itno)


def receive(
    st: TenantState,
    ctx: CallContext,
    cono: str,
    whlo: str,
    itno: str,
    qty: Decimal,
    whsl: str = "",
) -> None:
    """Goods receipt to `whsl` (default: the warehouse row's location); creates missing rows."""
    if qty <= ZERO:
        return
    row = _ensure(st, ctx, cono, whlo, itno, whsl)
    loc = _location(st, cono, whlo, itno, whsl or row.get("WHSL", ""))
    _set(loc, stqt=num(loc.get("STQT")) + qty, alqt=num(loc.get("ALQT")))
    loc["RCDT"] = ctx.today()
    _recompute(st, ctx, cono, whlo, itno)


def adjust(
    st: TenantState, ctx: CallContext, cono: str, whlo: str, itno: str, new_on_hand: Decimal
) -> None:
    """Stock count: sets on-hand; a loss takes free stock before allocated stock, last first."""
    target = max(new_on_hand, ZERO)
    row = _ensure(st, ctx, cono, whlo, itno, "")
    delta = target - num(row.get("STQT"))
    if delta > ZERO:
        loc = _location(st, cono, whlo, itno, row.get("WHSL", ""))
        _set(loc, stqt=num(loc.get("STQT")) + delta, alqt=num(loc.get("ALQT")))
    elif delta < ZERO:
        loss = -delta
        locs = list(reversed(list(locations(st, cono, whlo, itno))))
        for field in ("AVAL", "ALQT"):
            for loc in locs:
                take = min(loss, num(loc.get(field)))
                if take > ZERO:
                    alqt = num(loc.get("ALQT")) - (take if field == "ALQT" else ZERO)
                    _set(loc, stqt=num(loc.get("STQT")) - take, alqt=alqt)
                    loss -= take
    row["IDDT"] = ctx.today()
    _recompute(st, ctx, cono, whlo, itno)


def _set(loc: Record, *, alqt: Decimal, stqt: Decimal | None = None) -> None:
    on_hand = num(loc.get("STQT")) if stqt is None else stqt
    loc.update(STQT=fmt(on_hand), ALQT=fmt(alqt), AVAL=fmt(on_hand - alqt))


def _ensure(
    st: TenantState, ctx: CallContext, cono: str, whlo: str, itno: str, whsl: str
) -> Record:
    """The MITBAL row, created as MMS002 would with zero quantities (warehouse facility)."""
    row = balance(st, cono, whlo, itno)
    if row is not None:
        return row
    wh = table(st, "warehouses")
    whrow = wh.get(wh.key(cono, whlo)) or {}
    row = {"CONO": cono, "WHLO": whlo, "ITNO": itno, "FACI": whrow.get("FACI", "")}
    row.update(STAT="20", WHSL=whsl, STQT="0", ALQT="0", AVAL="0")
    row.update(dict.fromkeys(_ZERO_FIELDS, "0"))
    row.update(RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    table(st, "item_warehouses").insert(row)
    return row


def _location(st: TenantState, cono: str, whlo: str, itno: str, whsl: str) -> Record:
    """The lot-less balance identity at `whsl`, or the first one when no location is known."""
    bal = table(st, "balances")
    loc = bal.get(bal.key(cono, whlo, itno, whsl, ""))
    if loc is None and not whsl:
        loc = next(locations(st, cono, whlo, itno), None)
    if loc is None:
        loc = {"CONO": cono, "WHLO": whlo, "ITNO": itno, "WHSL": whsl, "BANO": ""}
        loc.update(STQT="0", ALQT="0", AVAL="0", STAS="2")
        bal.insert(loc)
    return loc


def _recompute(st: TenantState, ctx: CallContext, cono: str, whlo: str, itno: str) -> None:
    """Sets the warehouse row to the sum of its locations and announces the change."""
    row = _ensure(st, ctx, cono, whlo, itno, "")
    stqt = alqt = ZERO
    for loc in locations(st, cono, whlo, itno):
        stqt += num(loc.get("STQT"))
        alqt += num(loc.get("ALQT"))
    row.update(STQT=fmt(stqt), ALQT=fmt(alqt), AVAL=fmt(stqt - alqt), LMDT=ctx.today())
    row["CHN2"] = str(int(row.get("CHN2") or "0") + 1)
    ctx.emit("inventory", "change", (cono, whlo, itno), row)
