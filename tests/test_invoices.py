"""Delivery and invoicing control actions, and OIS350MI reading the invoices they make."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.admin.orders import ROUTES
from simulator.m3 import stock
from simulator.m3.engine import Change
from simulator.m3.store import TenantState

P, INV = "OIS100MI", "OIS350MI"
MI = Any  # the `mi` fixture of conftest.py
BASE = "/_sim/tenants/DEMO_TST/orders"


@pytest.fixture
def ctl(mi: MI) -> MI:
    """The `mi` caller on an app that has the order control routes (until app.py adds them)."""
    app = mi.client.app
    if not any(getattr(r, "path", "") == ROUTES[0].path for r in app.router.routes):
        app.router.routes[0:0] = ROUTES
    return mi


def state(mi: MI) -> TenantState:
    return mi.client.app.state.sim.tenants["DEMO_TST"].state  # type: ignore[no-any-return]


def bal(mi: MI, itno: str) -> dict[str, Decimal]:
    row = stock.balance(state(mi), "100", "001", itno)
    assert row is not None
    return {k: Decimal(row[k]) for k in ("STQT", "ALQT", "AVAL")}


def order(mi: MI, *lines: tuple[str, str], cuno: str = "C10001") -> str:
    orno = str(mi.ok(P, "AddOrderHead", CUNO=cuno)[0]["ORNO"])
    for itno, qty in lines:
        mi.ok(P, "AddOrderLine", ORNO=orno, ITNO=itno, ORQT=qty)
    return orno


def post(mi: MI, orno: str, action: str, body: Any = None, **kw: Any) -> Any:
    return mi.client.post(f"{BASE}/{orno}/{action}", json=body, **kw)


def statuses(mi: MI, orno: str) -> list[str]:
    return [x["ORST"] for x in mi.ok(P, "LstLine", ORNO=orno)]


def test_deliver_then_invoice_the_whole_order(ctl: MI) -> None:
    tents, boots = bal(ctl, "TENT-2P"), bal(ctl, "BOOT-42")
    orno = order(ctl, ("TENT-2P", "2"), ("BOOT-42", "3"))
    changes: list[Change] = []
    ctl.client.app.state.sim.engine.listeners.append(changes.append)
    r = post(ctl, orno, "deliver")
    assert r.status_code == 200, r.text
    assert (r.json()["ORSL"], r.json()["ORST"]) == ("66", "66")
    assert [(x["PONR"], x["DLQT"]) for x in r.json()["lines"]] == [("1", "2"), ("2", "3")]
    # on hand and available drop by what left; the seed's other allocations stay
    assert bal(ctl, "TENT-2P") == {**tents, "STQT": tents["STQT"] - 2, "AVAL": tents["AVAL"] - 2}
    assert bal(ctl, "BOOT-42") == {**boots, "STQT": boots["STQT"] - 3, "AVAL": boots["AVAL"] - 3}
    assert ("order", "deliver", ("100", orno)) in [(c.entity, c.action, c.key) for c in changes]
    line = ctl.ok(P, "GetLine", ORNO=orno, PONR="1")[0]
    assert (line["DLQT"], line["ALQT"], line["IVQT"]) == ("2", "0", "0")
    assert post(ctl, orno, "deliver").status_code == 409  # everything is out already

    r = post(ctl, orno, "invoice")
    assert r.status_code == 200, r.text
    inv = r.json()
    total = 2 * 2495 + 3 * 1795
    assert inv == {
        "invoice": "100000003",  # after the seed's two invoices
        "year": "2023",  # the test clock's year
        "division": "AAA",
        "order": orno,
        "amount": str(total),
        "currency": "SEK",
        "invoice_date": "20231114",
        "due_date": "20231214",  # C10001 pays in 30 days
        "ORSL": "77",
        "ORST": "77",
    }
    assert ("invoice", "add") in [(c.entity, c.action) for c in changes]
    head = ctl.ok(INV, "GetInvHead", YEA4="2023", IVNO="100000003")[0]
    assert (head["CUNO"], head["CUNM"], head["AMT1"], head["DUDT"]) == (
        "C10001",
        "Nordic Outdoor AB",
        str(total),
        "20231214",
    )
    lines = ctl.ok(INV, "LstInvLine", YEA4="2023", IVNO="100000003")
    assert [(x["ORNO"], x["AMT1"]) for x in lines] == [(orno, "4990"), (orno, "5385")]
    by_co = ctl.ok(INV, "LstInvHeadByCo", ORNO=orno)
    assert [(x["IVNO"], x["YEA4"], x["AMT1"], x["ORST"]) for x in by_co] == [
        ("100000003", "2023", str(total), "77")
    ]
    value = ctl.ok(P, "GetOrderValue", ORNO=orno)[0]
    assert value["INTA"] == value["NTAM"] == str(total)
    assert statuses(ctl, orno) == ["77", "77"]
    assert post(ctl, orno, "invoice").status_code == 409  # nothing left to invoice


def test_partial_delivery_and_invoice_give_mixed_statuses(ctl: MI) -> None:
    orno = order(ctl, ("BOOT-42", "5"), ("TENT-2P", "1"))
    r = post(ctl, orno, "deliver", {"lines": [{"PONR": 1, "qty": "2"}]})
    assert r.status_code == 200, r.text
    assert statuses(ctl, orno) == ["36", "33"]
    line = ctl.ok(P, "GetLine", ORNO=orno, PONR="1")[0]
    assert (line["ALQT"], line["DLQT"]) == ("3", "2")
    assert post(ctl, orno, "invoice").json()["amount"] == "3590"
    assert statuses(ctl, orno) == ["37", "33"]
    head = ctl.ok(P, "GetHead", ORNO=orno)[0]
    assert (head["ORSL"], head["ORST"]) == ("33", "37")


def test_seeded_delivered_order_can_be_invoiced(ctl: MI) -> None:
    assert ctl.ok(INV, "LstInvHeadByCo", ORNO="1000000003") == []
    r = post(ctl, "1000000003", "invoice")
    assert r.status_code == 200, r.text
    assert (r.json()["invoice"], r.json()["amount"]) == ("100000003", "2495")
    seeded = ctl.ok(INV, "LstInvHead", YEA4="2024")
    assert [(x["IVNO"], x["AMT1"]) for x in seeded] == [
        ("100000001", "12170"),
        ("100000002", "17950"),
    ]
    assert [x["IVNO"] for x in ctl.ok(INV, "LstInvHead", YEA4="2024", IVNO="100000002")] == [
        "100000002"
    ]
    assert [x["IVNO"] for x in ctl.ok(INV, "LstInvHead", YEA4="2023")] == ["100000003"]
    assert [x["IVNO"] for x in ctl.ok(INV, "LstAllInvByCO", ORNO="1000000001")] == ["100000001"]


@pytest.mark.parametrize(
    ("orno", "body", "status", "text"),
    [
        ("4242", None, 404, "4242"),
        ("NEW", {"lines": [{"PONR": "9"}]}, 404, "line 9"),
        ("NEW", {"lines": [{"PONR": "1", "qty": "99"}]}, 409, "cannot be delivered"),
        ("NEW", {"lines": [{"PONR": "1", "qty": "1"}, {"PONR": "1"}]}, 409, "twice"),
        ("NEW", {"lines": [{"PONR": "1", "qty": "x"}]}, 400, "qty"),
        ("NEW", {"lines": [{"qty": "1"}]}, 400, "lines[0]"),
        ("NEW", {"lines": []}, 400, "non-empty"),
        ("NEW", [1, 2], 400, "object"),
        ("NEW", {"lines": [{"PONR": True}]}, 400, "PONR"),
    ],
)
def test_bad_deliveries_answer_4xx_and_change_nothing(
    ctl: MI, orno: str, body: Any, status: int, text: str
) -> None:
    if orno == "NEW":
        orno = order(ctl, ("TENT-2P", "2"))
    before = bal(ctl, "TENT-2P")
    r = post(ctl, orno, "deliver", body)
    assert r.status_code == status, r.text
    assert text in r.json()["error"]
    assert bal(ctl, "TENT-2P") == before


def test_control_routes_refuse_bad_requests(ctl: MI) -> None:
    nothing = order(ctl, ("STOVE-GAS", "1"))  # no stock: nothing allocated to deliver
    assert post(ctl, nothing, "deliver").status_code == 409
    assert post(ctl, nothing, "invoice").status_code == 409
    bad = ctl.client.post(f"{BASE}/{nothing}/deliver", content=b"{not json")
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    gone = ctl.client.post("/_sim/tenants/NOPE_TST/orders/1/deliver")
    assert gone.status_code == 404
    assert post(ctl, "1000000001", "invoice", params={"cono": "200"}).status_code == 404


def test_delivery_beyond_allocation_needs_free_stock(ctl: MI) -> None:
    free = bal(ctl, "SLBAG-3S")["AVAL"]
    orno = order(ctl, ("SLBAG-3S", str(free + 2)))
    assert statuses(ctl, orno) == ["23"]
    r = post(ctl, orno, "deliver", {"lines": [{"PONR": "1", "qty": str(free + 1)}]})
    assert r.status_code == 409 and "Not enough stock" in r.json()["error"]
    assert (
        post(ctl, orno, "deliver", {"lines": [{"PONR": "1", "qty": str(free)}]}).status_code == 200
    )
    assert statuses(ctl, orno) == ["26"]


def test_invoice_lookups_answer_nok_for_unknown_keys(mi: MI) -> None:
    miss = mi.nok(INV, "GetInvHead", YEA4="2024", IVNO="999")
    assert (miss["errorCode"], miss["errorField"]) == ("WIV0103", "IVNO")
    assert mi.nok(INV, "LstInvLine", YEA4="2023", IVNO="100000001")["errorCode"] == "WIV0103"
    assert mi.nok(INV, "LstInvHeadByCo", ORNO="4242")["errorCode"] == "WOR0103"
    assert mi.ok(INV, "GetInvHead", YEA4="2024", IVNO="100000001")[0]["CUNO"] == "C10001"
    assert mi.nok(INV, "GetInvHead", YEA4="2024", IVNO="100000001", DIVI="BBB")["errorCode"] == (
        "WIV0103"
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=5))
def test_invoices_add_up_to_what_was_delivered(ctl: MI, steps: list[int]) -> None:
    ctl.client.post("/_sim/tenants/DEMO_TST/reset")
    before = bal(ctl, "BACKP-45")
    orno = order(ctl, ("BACKP-45", "10"))
    delivered = 0
    for qty in steps:
        r = post(ctl, orno, "deliver", {"lines": [{"PONR": "1", "qty": qty}]})
        if delivered + qty > 10:
            assert r.status_code == 409
            continue
        assert r.status_code == 200, r.text
        delivered += qty
        assert post(ctl, orno, "invoice").status_code == 200
    line = ctl.ok(P, "GetLine", ORNO=orno, PONR="1")[0]
    assert line["DLQT"] == line["IVQT"] == str(delivered)
    invoices = ctl.ok(INV, "LstInvHeadByCo", ORNO=orno)
    assert sum(Decimal(x["AMT1"]) for x in invoices) == delivered * 1195
    assert len({x["IVNO"] for x in invoices}) == len(invoices)
    value = ctl.ok(P, "GetOrderValue", ORNO=orno)[0]
    assert Decimal(value["INTA"]) == delivered * 1195
    assert bal(ctl, "BACKP-45")["STQT"] == before["STQT"] - delivered
    assert bal(ctl, "BACKP-45")["ALQT"] == before["ALQT"] + 10 - delivered
    assert line["ORST"] == ("77" if delivered == 10 else "37")
