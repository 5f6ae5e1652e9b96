"""MMS200MI, the item toolbox (MITMAS items, MITBAL item/warehouse balances).

Items are company-wide; balances live per warehouse and change only through `stock.py`.
An item is not deleted while stock or open orders refer to it: M3 keeps the history whole.
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator.m3 import stock
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
from simulator.m3.numbers import clean_numbers, num
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

# MITMAS STAT values (MMS001 help): incomplete .. discontinued via item number change.
ITEM_STATUSES = frozenset({"00", "05", "10", "15", "20", "30", "50", "80", "90", "99"})
# Numeric item fields M3 answers as "0" when never set, and normalises on input.
NUMERIC = frozenset(
    [
        "MABU",
        "TPCD",
        "CHCD",
        "STCD",
        "BACD",
        "VOL3",
        "NEWE",
        "GRWE",
        "BYPR",
        "WAPC",
        "QACD",
        "EPCD",
        "POCY",
        "ACTI",
        "ECMA",
        "INDI",
        "ALUC",
        "IEAA",
        "EXPD",
        "HAZI",
        "SALE",
        "ATMN",
        "HDPR",
        "CHCL",
        "ITRC",
        "VTCP",
        "VTCS",
        "GRTI",
        "GRTS",
        "CAWP",
        "CFI2",
        "TXID",
        "ILEN",
        "IWID",
        "IHEI",
        "SPGV",
        "AUTC",
        "RIDE",
        "RIDC",
        "RNRI",
        "SAFC",
        "RMSG",
        "SUME",
        "SUMP",
        "QIRQ",
        "SPIH",
        "ACHK",
    ]
)
# Descriptions M3 joins in from its unit table (CRS015); enough for the usual units.
UNITS = {"PCS": "Pieces", "EA": "Each", "KG": "Kilogram", "L": "Litre", "M": "Metre"}
# MITBAL numbers nothing in ionsim moves; MI answers them as "0", not blank.
_BAL_ZEROES = dict.fromkeys(
    [
        "NUIN",
        "USYE",
        "AVST",
        "DILE",
        "PRIF",
        "SODY",
        "LYQT",
        "LRYE",
        "TURN",
        "STCW",
        "RJCW",
        "QUCW",
        "CSTQ",
        "CQUQ",
        "CRJQ",
        "CSTW",
        "CQUW",
        "CRJW",
        "CHN2",
    ],
    "0",
)
# Lines still to deliver/receive (customer order status < 77, PO line status < 85).
_OPEN_CO, _OPEN_PO = "77", "85"


def _view(st: TenantState, row: Record) -> Record:
    """The item as MI answers it: names of user and unit joined in, never stored."""
    users, resp = table(st, "users"), row.get("RESP", "")
    user = users.get(users.key(resp)) or {}
    if not user and st.settings.get("user", {}).get("USID") == resp:
        user = st.settings["user"]
    extra = {"RENM": user.get("NAME", ""), "DS01": UNITS.get(row.get("UNMS", ""), "")}
    return {**row, **extra}


def _item(st: TenantState, co: str, itno: str) -> Record:
    return must_get(table(st, "items"), (co, itno), "WIT0103", itno, "ITNO")


def _check_codes(f: dict[str, str]) -> None:
    if "STAT" in f and f["STAT"] not in ITEM_STATUSES:
        raise nok("WST0103", field="STAT", message=f"Status {f['STAT']} is invalid")
    if "MABU" in f and f["MABU"] not in ("1", "2"):
        raise nok("WMA0103", field="MABU", message=f"Make/buy code {f['MABU']} is invalid")


@handler("MMS200MI", "AddItmBasic")
def add_itm_basic(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    f = clean_numbers(f, NUMERIC)
    co = cono(f, ctx)
    items = table(st, "items")
    must_be_new(items, (co, f["ITNO"]), "ITNO")
    _check_codes(f)
    row = dict.fromkeys(sorted(NUMERIC - {"TXID"}), "0")
    row.update(f)
    unit = f["UNMS"]
    row.update(CONO=co, PUUN=f.get("PUUN", unit), PPUN=unit, SPUN=unit, SALE=f.get("SALE", "1"))
    row.update(RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    items.insert(row)
    ctx.emit("item", "add", (co, f["ITNO"]), row)


@handler("MMS200MI", "GetItmBasic", "Get")
def get_itm_basic(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return _view(st, _item(st, cono(f, ctx), f["ITNO"]))


@handler("MMS200MI", "LstItmByItm")
def lst_itm_by_itm(st: TenantState, f: dict[str, str], ctx: CallContext) -> Iterator[Record]:
    co = cono(f, ctx)
    return (_view(st, r) for r in listing(table(st, "items"), (co,), (co, f["ITNO"])))


@handler("MMS200MI", "UpdItmBasic")
def upd_itm_basic(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    f = clean_numbers(f, NUMERIC)
    co = cono(f, ctx)
    row = _item(st, co, f["ITNO"])
    if f.get("CHNO") and f["CHNO"] != row.get("CHNO", ""):
        raise nok("XRE0104", field="CHNO", message="Record has been changed by another user")
    _check_codes(f)
    if apply_changes(row, f, skip=("CONO", "ITNO", "CHNO", "DSP1")):
        bump_change(row, ctx)
        ctx.emit("item", "change", (co, f["ITNO"]), row)


@handler("MMS200MI", "DltItm")
def dlt_itm(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co, itno = cono(f, ctx), f["ITNO"]
    row = _item(st, co, itno)
    mitbal = [r for r in table(st, "item_warehouses").scan((co,)) if r.get("ITNO") == itno]
    held = next((r for r in mitbal if num(r.get("STQT")) or num(r.get("ALQT"))), None)
    if held is not None:
        raise nok(
            "WIT0121",
            field="ITNO",
            message=f"Item {itno} has an on-hand balance in warehouse {held['WHLO']}",
        )
    if _on_open_lines(st, co, itno):
        raise nok("WIT0122", field="ITNO", message=f"Item {itno} exists on open order lines")
    iw, bal = table(st, "item_warehouses"), table(st, "balances")
    for r in mitbal:
        key = (co, r["WHLO"], itno)
        for loc in list(bal.scan(bal.key(*key))):
            bal.delete(bal.key_of(loc))
        iw.delete(iw.key(*key))
    items = table(st, "items")
    items.delete(items.key(co, itno))
    ctx.emit("item", "delete", (co, itno), row)


def _on_open_lines(st: TenantState, co: str, itno: str) -> bool:
    for line in table(st, "order_lines").scan((co,)):
        if line.get("ITNO") == itno and (line.get("ORST") or "00") < _OPEN_CO:
            return True
    for line in table(st, "po_lines").scan((co,)):
        if line.get("ITNO") == itno and (line.get("PUSL") or "00") < _OPEN_PO:
            return True
    return False


def _item_warehouse(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, whlo, itno = cono(f, ctx), f["WHLO"], f["ITNO"]
    must_get(table(st, "warehouses"), (co, whlo), "WWH0103", whlo, "WHLO")
    _item(st, co, itno)
    row = stock.balance(st, co, whlo, itno)
    if row is None:
        raise nok(
            "XRE0103", field="ITNO", message=f"Item {itno} does not exist in warehouse {whlo}"
        )
    return row


@handler("MMS200MI", "GetItmWhsBal")
def get_itm_whs_bal(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    """AV01 (allocatable net) and AV02 (available) are STQT - ALQT here: no inspection stock."""
    row = _item_warehouse(st, f, ctx)
    aval = row.get("AVAL", "0")
    nus7 = sum(1 for _ in stock.locations(st, row["CONO"], row["WHLO"], row["ITNO"]))
    return {**_BAL_ZEROES, **row, "AV01": aval, "AV02": aval, "NUS7": str(nus7)}


@handler("MMS200MI", "GetItmWhsBasic")
def get_itm_whs_basic(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    row = _item_warehouse(st, f, ctx)
    item = _item(st, row["CONO"], row["ITNO"])
    wh = table(st, "warehouses")
    whrow = wh.get(wh.key(row["CONO"], row["WHLO"])) or {}
    return {**row, "ITDS": item.get("ITDS", ""), "WHNM": whrow.get("WHNM", "")}
