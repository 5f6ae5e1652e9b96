"""Supplier invoices (APS450MI) and the generic GL interface (GLS840MI): HTTP and engine.

Relies on the demo seed: company 100 with divisions AAA (SEK) and BBB, suppliers S10001 (SEK,
payment method BGI) and S10002 (EUR, SEP) in company 100.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import MIError
from simulator.m3.engine import Change
from simulator.runtime import Simulator
from tests.conftest import engine_sim
from tests.conftest import run_engine as run


def error(result: dict[str, Any]) -> tuple[str, str]:
    return result["errorCode"], result["errorField"]


def new_invoice(mi: Any, **fields: str) -> str:
    return str(
        mi.ok("APS450MI", "AddHead", **{"SUNO": "S10002", "IVDT": "20250110", **fields})[0]["INBN"]
    )


# --- APS450MI ----------------------------------------------------------------------------


def test_invoice_batch_flow(mi: Any) -> None:
    inbn = new_invoice(mi, SINO="INV-778", CUAM="1250", VTAM="250")
    assert inbn.isdigit()
    head = mi.ok("APS450MI", "GetHead", INBN=inbn)[0]
    assert (head["SUNO"], head["SINO"], head["IVDT"], head["SUPA"]) == (
        "S10002",
        "INV-778",
        "20250110",
        "10",
    )
    assert (head["CUCD"], head["PYME"], head["TEPY"], head["SPYN"]) == (
        "EUR",
        "SEP",
        "30",
        "S10002",
    )
    assert (head["TLNA"], head["CUAM"], head["VTAM"], head["TOPA"]) == ("0", "1250", "250", "1250")
    assert mi.ok("APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM="600.5") == [{"TRNO": "1"}]
    assert mi.ok("APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM="399.5") == [{"TRNO": "2"}]
    assert mi.ok("APS450MI", "GetHead", INBN=inbn)[0]["TLNA"] == "1000"
    assert mi.ok("APS450MI", "ApproveInvoice", INBN=inbn, AAPD="20250112", YRE1="ok") == []
    head = mi.ok("APS450MI", "GetHead", INBN=inbn)[0]
    assert (head["SUPA"], head["AAPD"], head["YRE1"]) == ("20", "20250112", "ok")
    result = mi.nok("APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM="1")
    assert error(result) == ("WIB0110", "INBN")
    assert error(mi.nok("APS450MI", "ApproveInvoice", INBN=inbn)) == ("WIB0110", "INBN")


def test_currency_defaults_from_the_supplier_and_input_wins(mi: Any) -> None:
    sek = new_invoice(mi, SUNO="S10001")
    usd = new_invoice(mi, SUNO="S10001", CUCD="USD", ARAT="10.5")
    assert mi.ok("APS450MI", "GetHead", INBN=sek)[0]["CUCD"] == "SEK"
    head = mi.ok("APS450MI", "GetHead", INBN=usd)[0]
    assert (head["CUCD"], head["ARAT"]) == ("USD", "10.5")


def test_batch_numbers_are_distinct_and_division_bound(mi: Any) -> None:
    a, b = new_invoice(mi), new_invoice(mi, DIVI="BBB")
    assert a != b
    assert error(mi.nok("APS450MI", "GetHead", INBN=b)) == ("XRE0103", "INBN")
    assert mi.ok("APS450MI", "GetHead", INBN=b, DIVI="BBB")[0]["SUNO"] == "S10002"
    assert mi.ok("APS450MI", "GetHead", INBN=b, divi="BBB")[0]["SUNO"] == "S10002"
    assert error(mi.nok("APS450MI", "AddLine", INBN=a, DIVI="BBB", RDTP="8")) == ("XRE0103", "INBN")


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"SUNO": "NOSUCH"}, "WSU0103", "SUNO"),
        ({"IVDT": "20250230"}, "WDT0101", "IVDT"),
        ({"CUAM": "1x"}, "WNU0101", "CUAM"),
    ],
)
def test_add_head_errors(mi: Any, fields: dict[str, str], code: str, field: str) -> None:
    result = mi.nok("APS450MI", "AddHead", **{"SUNO": "S10002", "IVDT": "20250110", **fields})
    assert error(result) == (code, field)


def test_duplicate_supplier_invoice_number(mi: Any) -> None:
    new_invoice(mi, SINO="DUP-1")
    assert error(mi.nok("APS450MI", "AddHead", SUNO="S10002", IVDT="20250110", SINO="DUP-1")) == (
        "XRE0104",
        "SINO",
    )
    assert new_invoice(mi, SUNO="S10001", SINO="DUP-1")  # another supplier may use the number


def test_add_line_errors(mi: Any) -> None:
    inbn = new_invoice(mi)
    assert error(mi.nok("APS450MI", "AddLine", INBN="9999999", RDTP="8")) == ("XRE0103", "INBN")
    result = mi.nok("APS450MI", "AddLine", INBN=inbn)
    assert (result["errorType"], result["errorField"]) == ("MandatoryInputFieldNotFound", "RDTP")
    result = mi.nok("APS450MI", "AddLine", INBN=inbn, RDTP="1", PUNO="NOSUCH", NLAM="1")
    assert error(result) == ("WPU0103", "PUNO")
    mi.ok("APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM="5", TRNO="7")
    assert error(mi.nok("APS450MI", "AddLine", INBN=inbn, RDTP="8", TRNO="7")) == (
        "XRE0104",
        "TRNO",
    )
    assert mi.ok("APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM="1") == [{"TRNO": "8"}]
    assert mi.ok("APS450MI", "GetHead", INBN=inbn)[0]["TLNA"] == "6"


def test_line_amount_from_quantity_and_price(mi: Any) -> None:
    inbn = new_invoice(mi)
    mi.ok("APS450MI", "AddLine", INBN=inbn, RDTP="1", IVQA="4", NEPR="12.25")
    assert mi.ok("APS450MI", "GetHead", INBN=inbn)[0]["TLNA"] == "49"


def test_approval_rules(mi: Any) -> None:
    empty = new_invoice(mi)
    assert error(mi.nok("APS450MI", "ApproveInvoice", INBN=empty)) == ("WIB0120", "INBN")
    unbalanced = new_invoice(mi, CUAM="125", VTAM="25")
    mi.ok("APS450MI", "AddLine", INBN=unbalanced, RDTP="8", NLAM="90")
    result = mi.nok("APS450MI", "ApproveInvoice", INBN=unbalanced)
    assert error(result) == ("WIB0130", "INBN")
    assert mi.ok("APS450MI", "GetHead", INBN=unbalanced)[0]["SUPA"] == "10"
    mi.ok("APS450MI", "AddLine", INBN=unbalanced, RDTP="8", NLAM="10")
    mi.ok("APS450MI", "ApproveInvoice", INBN=unbalanced)
    assert mi.ok("APS450MI", "GetHead", INBN=unbalanced)[0]["SUPA"] == "20"
    assert error(mi.nok("APS450MI", "ApproveInvoice", INBN="123")) == ("XRE0103", "INBN")


# --- GLS840MI ----------------------------------------------------------------------------


def test_gl_batch_flow(mi: Any) -> None:
    assert mi.ok(
        "GLS840MI", "AddBatchHead", CONO="100", KEY1="JRN-1", INTN="GLINT", DESC="Accruals"
    ) == [{"CONO": "100"}]
    for line in ("1", "2"):
        mi.ok(
            "GLS840MI",
            "AddBatchLine",
            CONO="100",
            KEY1="JRN-1",
            LINE=line,
            PARM=f"AA;4010;{line}00",
        )
    assert mi.ok("GLS840MI", "CtrlBatch", CONO="100", KEY1="JRN-1") == [{"CONO": "100"}]
    assert mi.ok("GLS840MI", "UpdBatch", CONO="100", KEY1="JRN-1") == [{"CONO": "100"}]
    for trx, extra in [
        ("AddBatchLine", {"LINE": "3", "PARM": "x"}),
        ("UpdBatch", {}),
        ("CtrlBatch", {}),
    ]:
        result = mi.nok("GLS840MI", trx, CONO="100", KEY1="JRN-1", **extra)
        assert error(result) == ("WGL0110", "KEY1")


def test_gl_batch_errors(mi: Any) -> None:
    head = {"CONO": "100", "KEY1": "JRN-2", "INTN": "GLINT", "DESC": "Test"}
    mi.ok("GLS840MI", "AddBatchHead", **head)
    assert error(mi.nok("GLS840MI", "AddBatchHead", **head)) == ("XRE0104", "KEY1")
    missing = mi.nok("GLS840MI", "AddBatchLine", CONO="100", KEY1="NOPE", LINE="1", PARM="x")
    assert error(missing) == ("XRE0103", "KEY1")
    assert error(mi.nok("GLS840MI", "UpdBatch", CONO="100", KEY1="JRN-2")) == ("WGL0120", "KEY1")
    assert error(mi.nok("GLS840MI", "CtrlBatch", CONO="100", KEY1="JRN-2")) == ("WGL0120", "KEY1")
    mi.ok("GLS840MI", "AddBatchLine", CONO="100", KEY1="JRN-2", LINE="10", PARM="x")
    dup = mi.nok("GLS840MI", "AddBatchLine", CONO="100", KEY1="JRN-2", LINE="010", PARM="y")
    assert error(dup) == ("XRE0104", "LINE")
    result = mi.nok("GLS840MI", "AddBatchLine", CONO="100", KEY1="JRN-2", PARM="x")
    assert (result["errorType"], result["errorField"]) == ("MandatoryInputFieldNotFound", "LINE")
    result = mi.nok("GLS840MI", "AddBatchHead", **{**head, "CONO": "999"})
    assert error(result) == ("XRE0103", "CONO")


def test_gl_batches_are_per_division(mi: Any) -> None:
    head = {"CONO": "100", "KEY1": "JRN-3", "INTN": "GLINT", "DESC": "Test"}
    mi.ok("GLS840MI", "AddBatchHead", **head)
    mi.ok("GLS840MI", "AddBatchHead", **head, DIVI="BBB")
    mi.ok("GLS840MI", "AddBatchLine", CONO="100", KEY1="JRN-3", LINE="1", PARM="x", DIVI="BBB")
    assert mi.ok("GLS840MI", "UpdBatch", CONO="100", KEY1="JRN-3", DIVI="BBB")
    assert error(mi.nok("GLS840MI", "UpdBatch", CONO="100", KEY1="JRN-3")) == ("WGL0120", "KEY1")


# --- engine level ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return engine_sim()


def test_changes_are_announced_and_a_nok_announces_nothing(sim: Simulator) -> None:
    seen: list[Change] = []
    sim.engine.listeners.append(seen.append)
    try:
        inbn = run(sim, "APS450MI", "AddHead", SUNO="S10001", IVDT="20250105")[0]["INBN"]
        run(sim, "APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM="10")
        run(sim, "APS450MI", "ApproveInvoice", INBN=inbn)
        run(sim, "GLS840MI", "AddBatchHead", CONO="100", KEY1="EV", INTN="I", DESC="d")
        with pytest.raises(MIError):
            run(sim, "GLS840MI", "UpdBatch", CONO="100", KEY1="EV")
        run(sim, "GLS840MI", "AddBatchLine", CONO="100", KEY1="EV", LINE="1", PARM="p")
        run(sim, "GLS840MI", "UpdBatch", CONO="100", KEY1="EV")
    finally:
        sim.engine.listeners.remove(seen.append)
    assert [(c.entity, c.action) for c in seen] == [
        ("supplier_invoice", "add"),
        ("supplier_invoice", "change"),
        ("supplier_invoice", "change"),
        ("gl_batch", "add"),
        ("gl_batch", "change"),
        ("gl_batch", "change"),
    ]
    assert seen[0].key == ("100", "AAA", inbn)
    assert seen[2].record["SUPA"] == "20"
    assert seen[-1].record["STAT"] == "90"
    assert seen[-1].key == ("100", "AAA", "EV")


def test_ctrl_batch_writes_nothing(sim: Simulator) -> None:
    state = sim.tenants["DEMO_TST"].state
    run(sim, "GLS840MI", "AddBatchHead", CONO="100", KEY1="CTRL", INTN="I", DESC="d")
    run(sim, "GLS840MI", "AddBatchLine", CONO="100", KEY1="CTRL", LINE="1", PARM="p")
    before = state.snapshot()
    run(sim, "GLS840MI", "CtrlBatch", CONO="100", KEY1="CTRL")
    assert state.snapshot() == before


amounts = st.decimals(min_value="-99999.99", max_value="999999.99", places=2)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(amounts, min_size=1, max_size=8),
    st.decimals(min_value="0", max_value="9999", places=2),
)
def test_line_amounts_sum_into_the_head(sim: Simulator, nlams: list[Decimal], vat: Decimal) -> None:
    total = sum(nlams, Decimal(0))
    cuam = total + vat
    inbn = run(
        sim, "APS450MI", "AddHead", SUNO="S10001", IVDT="20250105", CUAM=str(cuam), VTAM=str(vat)
    )[0]["INBN"]
    for n, nlam in enumerate(nlams, 1):
        assert run(sim, "APS450MI", "AddLine", INBN=inbn, RDTP="8", NLAM=str(nlam)) == [
            {"TRNO": str(n)}
        ]
    head = run(sim, "APS450MI", "GetHead", INBN=inbn)[0]
    assert Decimal(head["TLNA"]) == total
    assert "E" not in head["TLNA"] and not (head["TLNA"].endswith("0") and "." in head["TLNA"])
    if cuam:
        run(sim, "APS450MI", "ApproveInvoice", INBN=inbn)
        assert run(sim, "APS450MI", "GetHead", INBN=inbn)[0]["SUPA"] == "20"
