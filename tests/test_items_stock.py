"""Items (MMS200MI), warehouses (MMS005MI), balances (MMS060MI) and the stock module.

HTTP tests run against the demo seed; the state machine drives `simulator.m3.stock`
directly and checks the two stock invariants after every step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simulator.m3 import numbers, stock
from simulator.m3.engine import CallContext
from simulator.m3.seed import apply_seed, load_seed
from simulator.m3.store import TenantState
from simulator.m3.tables import table

ITEM = {
    "STAT": "20",
    "ITDS": "Trail running shoe",
    "RESP": "IONSIM",
    "UNMS": "PCS",
    "ITTY": "FG",
    "MABU": "2",
    "PRVG": "01",
}


def state_of(mi: Any) -> TenantState:
    return mi.client.app.state.sim.tenants["DEMO_TST"].state  # type: ignore[no-any-return]


# --- MMS200MI ---------------------------------------------------------------------------


def test_item_warehouse_balance_from_seed(mi: Any) -> None:
    [bal] = mi.ok("MMS200MI", "GetItmWhsBal", ITNO="BOOT-42", WHLO="001")
    assert (bal["STQT"], bal["ALQT"], bal["AVAL"], bal["AV01"]) == ("60", "0", "60", "60")
    assert bal["FACI"] == "A01" and bal["NUS7"] == "1" and bal["USYE"] == "0"


@pytest.mark.parametrize(
    ("itno", "whlo", "code", "field"),
    [
        ("NOPE", "001", "WIT0103", "ITNO"),
        ("BOOT-42", "999", "WWH0103", "WHLO"),
        ("STOVE-GAS", "002", "XRE0103", "ITNO"),
    ],
)
def test_item_warehouse_balance_unknown(
    mi: Any, itno: str, whlo: str, code: str, field: str
) -> None:
    err = mi.nok("MMS200MI", "GetItmWhsBal", ITNO=itno, WHLO=whlo)
    assert (err["errorCode"], err["errorField"]) == (code, field)


def test_get_unknown_item(mi: Any) -> None:
    err = mi.nok("MMS200MI", "GetItmBasic", ITNO="NOPE")
    assert err["errorCode"] == "WIT0103"
    assert err["errorMessage"].strip() == "Item number NOPE does not exist"


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    itno=st.from_regex(r"[A-Z][A-Z0-9\-]{0,14}", fullmatch=True),
    weight=st.decimals(min_value=0, max_value=9999, places=2),
)
def test_add_then_get_item(mi: Any, itno: str, weight: Decimal) -> None:
    if mi.call("MMS200MI", "GetItmBasic", ITNO=itno).get("records"):
        return  # a seeded item number: the duplicate test covers it
    assert mi.ok("MMS200MI", "AddItmBasic", ITNO=itno, NEWE=str(weight), **ITEM) == []
    [item] = mi.ok("MMS200MI", "GetItmBasic", ITNO=itno)
    assert item["ITNO"] == itno and item["ITDS"] == ITEM["ITDS"] and item["STAT"] == "20"
    assert item["NEWE"] == numbers.fmt(weight)
    assert item["RENM"] == "ionsim service account" and item["RGDT"] == item["LMDT"]
    assert mi.ok("MMS200MI", "Get", ITNO=itno)[0]["CHNO"] == "1"
    err = mi.nok("MMS200MI", "AddItmBasic", ITNO=itno, **ITEM)
    assert (err["errorCode"], err["errorField"]) == ("XRE0104", "ITNO")


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stat=st.from_regex(r"[0-9]{2}", fullmatch=True))
def test_item_status_must_be_valid(mi: Any, stat: str) -> None:
    itno = f"ST-{stat}"
    result = mi.call("MMS200MI", "AddItmBasic", **{**ITEM, "ITNO": itno, "STAT": stat})
    if stat in ("00", "05", "10", "15", "20", "30", "50", "80", "90", "99"):
        assert "errorMessage" not in result or result["errorCode"] == "XRE0104"
    else:
        assert result["errorField"] == "STAT"
        assert mi.call("MMS200MI", "GetItmBasic", ITNO=itno)["errorCode"] == "WIT0103"


def test_add_item_mandatory(mi: Any) -> None:
    err = mi.nok("MMS200MI", "AddItmBasic", **{**ITEM, "ITNO": "X", "PRVG": ""})
    assert err["errorType"] == "MandatoryInputFieldNotFound" and err["errorField"] == "PRVG"


def test_list_items_from_key(mi: Any) -> None:
    rows = mi.ok("MMS200MI", "LstItmByItm", ITNO="JACKET")
    numbers = [r["ITNO"] for r in rows]
    assert numbers == ["JACKET-M", "SLBAG-3S", "STOVE-GAS", "TENT-2P"]
    assert rows[0]["DS01"] == "Pieces"
    assert [r["ITNO"] for r in mi.ok("MMS200MI", "LstItmByItm", ITNO="A", maxrecs=2)] == [
        "BACKP-45",
        "BOOT-42",
    ]


def test_update_item(mi: Any) -> None:
    mi.ok("MMS200MI", "UpdItmBasic", ITNO="TENT-2P", ITDS="Trekking tent 2p", NEWE="2.05")
    [item] = mi.ok("MMS200MI", "Get", ITNO="TENT-2P")
    assert (item["ITDS"], item["NEWE"], item["CHNO"]) == ("Trekking tent 2p", "2.05", "2")
    err = mi.nok("MMS200MI", "UpdItmBasic", ITNO="TENT-2P", STAT="42")
    assert err["errorField"] == "STAT"
    assert mi.nok("MMS200MI", "UpdItmBasic", ITNO="NOPE", ITDS="x")["errorCode"] == "WIT0103"


def test_delete_item_rules(mi: Any) -> None:
    err = mi.nok("MMS200MI", "DltItm", ITNO="TENT-2P")
    assert err["errorField"] == "ITNO" and "on-hand" in err["errorMessage"]
    # STOVE-GAS has an empty balance row: deleting it takes the row along.
    state = state_of(mi)
    lines = table(state, "order_lines")
    lines.insert(
        {
            "CONO": "100",
            "ORNO": "1000001",
            "PONR": "1",
            "POSX": "0",
            "ITNO": "STOVE-GAS",
            "ORST": "22",
        }
    )
    assert "order lines" in mi.nok("MMS200MI", "DltItm", ITNO="STOVE-GAS")["errorMessage"]
    lines.update(lines.key("100", "1000001", "1", "0"), {"ORST": "77"})
    assert mi.ok("MMS200MI", "DltItm", ITNO="STOVE-GAS") == []
    assert mi.nok("MMS200MI", "GetItmBasic", ITNO="STOVE-GAS")["errorCode"] == "WIT0103"
    assert stock.balance(state, "100", "001", "STOVE-GAS") is None


# --- MMS060MI ---------------------------------------------------------------------------


def test_balance_identities_sum_to_item_warehouse(mi: Any) -> None:
    """The seed keeps both invariants, read back through the two programs."""
    rows = mi.ok("MMS060MI", "List", WHLO="001", maxrecs=0)
    assert [r["ITNO"] for r in rows] == sorted(r["ITNO"] for r in rows)
    for itno in {r["ITNO"] for r in rows}:
        [bal] = mi.ok("MMS200MI", "GetItmWhsBal", ITNO=itno, WHLO="001")
        mine = [r for r in rows if r["ITNO"] == itno]
        for q in ("STQT", "ALQT"):
            assert sum(Decimal(r[q]) for r in mine) == Decimal(bal[q])
        assert Decimal(bal["STQT"]) == Decimal(bal["ALQT"]) + Decimal(bal["AVAL"])


def test_list_and_get_balance_identity(mi: Any) -> None:
    rows = mi.ok("MMS060MI", "List", WHLO="001", ITNO="TENT-2P")
    assert [(r["WHSL"], r["STQT"], r["ALQT"]) for r in rows] == [
        ("A-01-01", "30", "0"),
        ("A-01-02", "10", "0"),
    ]
    assert rows[0]["WHNM"] == "Main warehouse" and rows[0]["ITDS"] == "Trekking tent 2 person"
    [one] = mi.ok("MMS060MI", "Get", WHLO="001", ITNO="TENT-2P", WHSL="A-01-02")
    assert one["STQT"] == "10"
    assert mi.nok("MMS060MI", "Get", WHLO="001", ITNO="TENT-2P", WHSL="Z")["errorCode"] == "XRE0103"
    assert mi.nok("MMS060MI", "List", WHLO="777")["errorCode"] == "WWH0103"
    assert [r["ITNO"] for r in mi.ok("MMS060MI", "List", WHLO="002")] == ["JACKET-M"]


def test_balances_follow_stock_changes(mi: Any) -> None:
    state = state_of(mi)
    ctx = CallContext(tenant="DEMO_TST", cono="100", divi="AAA")
    assert stock.allocate(state, ctx, "100", "001", "TENT-2P", Decimal(30)) == Decimal(30)
    rows = mi.ok("MMS060MI", "List", WHLO="001", ITNO="TENT-2P")
    assert [(r["ALQT"], r["STQT"]) for r in rows] == [("30", "30"), ("0", "10")]
    [bal] = mi.ok("MMS200MI", "GetItmWhsBal", ITNO="TENT-2P", WHLO="001")
    assert (bal["ALQT"], bal["AVAL"]) == ("30", "10")
    assert [c.entity for c in ctx.changes] == ["inventory"]


# --- MMS005MI ---------------------------------------------------------------------------


def test_warehouse_life_cycle(mi: Any) -> None:
    mi.ok("MMS005MI", "AddWarehouse", WHLO="003", WHNM="Outlet store", FACI="A01", STOF="1")
    [wh] = mi.ok("MMS005MI", "GetWarehouse", WHLO="003")
    assert (wh["DIVI"], wh["CONM"], wh["STOF"], wh["CONO"]) == (
        "AAA",
        "ionsim Demo Sweden",
        "1",
        "100",
    )
    assert [w["WHLO"] for w in mi.ok("MMS005MI", "LstWarehouses")] == ["001", "002", "003"]
    assert [w["WHLO"] for w in mi.ok("MMS005MI", "LstWarehouses", STOF="1")] == ["003"]
    assert [w["WHLO"] for w in mi.ok("MMS005MI", "LstWarehouses", FWHL="002", TWHL="002")] == [
        "002"
    ]
    mi.ok("MMS005MI", "UpdWarehouse", WHLO="003", WHNM="Outlet Jönköping")
    assert mi.ok("MMS005MI", "GetWarehouse", WHLO="003")[0]["WHNM"] == "Outlet Jönköping"
    err = mi.nok("MMS005MI", "AddWarehouse", WHLO="003", WHNM="Again", FACI="A01")
    assert (err["errorCode"], err["errorField"]) == ("XRE0104", "WHLO")
    mi.ok("MMS005MI", "DltWarehouse", WHLO="003")
    err = mi.nok("MMS005MI", "GetWarehouse", WHLO="003")
    assert (err["errorCode"], err["errorField"]) == ("WWH0103", "WHLO")


def test_warehouse_rules(mi: Any) -> None:
    err = mi.nok("MMS005MI", "AddWarehouse", WHLO="004", WHNM="Nowhere", FACI="ZZZ")
    assert (err["errorCode"], err["errorField"]) == ("WFAC303", "FACI")
    assert mi.nok("MMS005MI", "AddWarehouse", WHLO="004", FACI="A01")["errorField"] == "WHNM"
    err = mi.nok("MMS005MI", "DltWarehouse", WHLO="001")
    assert err["errorField"] == "WHLO" and "stock" in err["errorMessage"]
    assert mi.ok("MMS200MI", "GetItmWhsBal", ITNO="BOOT-42", WHLO="001")[0]["STQT"] == "60"
    # Company 200 sees its own warehouse only.
    assert [w["WHLO"] for w in mi.ok("MMS005MI", "LstWarehouses", CONO="200")] == ["100"]


# --- stock.py state machine ---------------------------------------------------------------

WAREHOUSES = ("001", "002")
ITEMS = ("TENT-2P", "STOVE-GAS", "NEW-ITEM")
QTY = st.decimals(min_value=0, max_value=60, places=1)


class StockMachine(RuleBasedStateMachine):
    """Random order/receipt/count traffic on the demo seed; the model is on-hand per balance."""

    def __init__(self) -> None:
        super().__init__()
        self.st = TenantState("T")
        apply_seed(self.st, _demo_seed())
        self.ctx = CallContext(tenant="T", cono="100", divi="AAA")
        self.on_hand = {
            (r["WHLO"], r["ITNO"]): Decimal(r["STQT"])
            for r in table(self.st, "item_warehouses").scan(("100",))
        }

    def _bal(self, whlo: str, itno: str) -> tuple[Decimal, Decimal, Decimal]:
        row = stock.balance(self.st, "100", whlo, itno) or {}
        return tuple(numbers.num(row.get(k)) for k in ("STQT", "ALQT", "AVAL"))  # type: ignore[return-value]

    @rule(whlo=st.sampled_from(WAREHOUSES), itno=st.sampled_from(ITEMS), qty=QTY)
    def allocate(self, whlo: str, itno: str, qty: Decimal) -> None:
        _, alqt, aval = self._bal(whlo, itno)
        got = stock.allocate(self.st, self.ctx, "100", whlo, itno, qty)
        assert got == min(qty, aval)
        assert self._bal(whlo, itno)[1] == alqt + got

    @rule(whlo=st.sampled_from(WAREHOUSES), itno=st.sampled_from(ITEMS), qty=QTY)
    def release(self, whlo: str, itno: str, qty: Decimal) -> None:
        _, alqt, _ = self._bal(whlo, itno)
        stock.release(self.st, self.ctx, "100", whlo, itno, qty)
        assert self._bal(whlo, itno)[1] == alqt - min(qty, alqt)

    @rule(whlo=st.sampled_from(WAREHOUSES), itno=st.sampled_from(ITEMS), qty=QTY)
    def issue(self, whlo: str, itno: str, qty: Decimal) -> None:
        stqt, alqt, _ = self._bal(whlo, itno)
        stock.issue(self.st, self.ctx, "100", whlo, itno, qty)
        if (whlo, itno) in self.on_hand:
            self.on_hand[(whlo, itno)] = stqt - min(qty, stqt)
            assert self._bal(whlo, itno)[1] == alqt - min(qty, alqt)

    @rule(
        whlo=st.sampled_from(WAREHOUSES),
        itno=st.sampled_from(ITEMS),
        qty=QTY,
        whsl=st.sampled_from(["", "A-01-02", "R-09"]),
    )
    def receive(self, whlo: str, itno: str, qty: Decimal, whsl: str) -> None:
        stock.receive(self.st, self.ctx, "100", whlo, itno, qty, whsl)
        if qty > 0 or (whlo, itno) in self.on_hand:
            self.on_hand[(whlo, itno)] = self.on_hand.get((whlo, itno), Decimal(0)) + qty

    @precondition(lambda self: bool(self.on_hand))
    @rule(data=st.data(), qty=QTY)
    def adjust(self, data: st.DataObject, qty: Decimal) -> None:
        whlo, itno = data.draw(st.sampled_from(sorted(self.on_hand)))
        alqt = self._bal(whlo, itno)[1]
        stock.adjust(self.st, self.ctx, "100", whlo, itno, qty)
        self.on_hand[(whlo, itno)] = qty
        assert self._bal(whlo, itno)[1] == min(alqt, qty)

    @invariant()
    def balances_add_up(self) -> None:
        locs = table(self.st, "balances")
        for row in table(self.st, "item_warehouses").scan(("100",)):
            stqt, alqt, aval = (Decimal(row[k]) for k in ("STQT", "ALQT", "AVAL"))
            assert min(stqt, alqt, aval) >= 0 and stqt == alqt + aval
            assert stqt == self.on_hand[(row["WHLO"], row["ITNO"])]
            mine = list(locs.scan(("100", row["WHLO"], row["ITNO"])))
            for q in ("STQT", "ALQT", "AVAL"):
                assert sum((Decimal(r[q]) for r in mine), Decimal(0)) == Decimal(row[q])
            for r in mine:
                assert Decimal(r["AVAL"]) >= 0 and Decimal(r["ALQT"]) >= 0
                assert Decimal(r["STQT"]) == Decimal(r["ALQT"]) + Decimal(r["AVAL"])
            assert "E" not in row["STQT"] and not row["STQT"].endswith(".0")


_cache: dict[str, dict[str, Any]] = {}


def _demo_seed() -> dict[str, Any]:
    if "demo" not in _cache:
        _cache["demo"] = load_seed("demo")
    return _cache["demo"]


TestStock = StockMachine.TestCase
TestStock.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
