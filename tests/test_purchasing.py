"""Purchase orders: PPS370MI batch entry, then PPS200MI reads, over HTTP and in the engine.

Relies on the demo seed: suppliers S10001 (SEK) and S10002 (EUR), warehouses 001/002 in
facility A01, items TENT-2P (purchase price 1380) and BOOT-42 in company 100.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import MIError
from simulator.m3.engine import Change
from simulator.m3.tables import table
from simulator.runtime import Simulator
from tests.conftest import engine_sim
from tests.conftest import run_engine as run

HEAD = {"FACI": "A01", "WHLO": "001", "SUNO": "S10001", "DWDT": "20250301"}


def start(mi: Any) -> str:
    return str(mi.ok("PPS370MI", "StartEntry", BAOR="EDI")[0]["MSGN"])


def new_po(mi: Any, *lines: dict[str, str], **head: str) -> str:
    """A finished PO with the given lines; returns its number."""
    msgn = start(mi)
    puno = mi.ok("PPS370MI", "AddHead", MSGN=msgn, **{**HEAD, **head})[0]["PUNO"]
    for line in lines:
        mi.ok("PPS370MI", "AddLine", MSGN=msgn, **line)
    assert mi.ok("PPS370MI", "FinishEntry", MSGN=msgn) == []
    return str(puno)


def error(result: dict[str, Any]) -> tuple[str, str]:
    return result["errorCode"], result["errorField"]


# --- HTTP flows ---------------------------------------------------------------------------


def test_batch_entry_creates_a_po_with_lines_and_totals(mi: Any) -> None:
    msgn = start(mi)
    assert msgn.isdigit()
    puno = mi.ok("PPS370MI", "AddHead", MSGN=msgn, **HEAD)[0]["PUNO"]
    first = mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="3")
    second = mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="BOOT-42", ORQA="2.5", PUPR="100.1")
    assert first == [{"PUNO": puno, "PNLI": "1"}]
    assert second == [{"PUNO": puno, "PNLI": "2"}]
    mi.ok("PPS370MI", "FinishEntry", MSGN=msgn)

    head = mi.ok("PPS200MI", "GetHead", PUNO=puno)[0]
    assert (head["SUNO"], head["FACI"], head["WHLO"], head["DWDT"]) == (
        "S10001",
        "A01",
        "001",
        "20250301",
    )
    assert (head["CUCD"], head["TEPY"], head["DIVI"], head["LOCD"]) == ("SEK", "30", "AAA", "SEK")
    # 3 x 1380 (item purchase price) + 2.5 x 100.1
    assert (head["NTAM"], head["BRAM"], head["TOQT"], head["NOLN"]) == (
        "4390.25",
        "4390.25",
        "5.5",
        "2",
    )
    lines = mi.ok("PPS200MI", "LstLine", PUNO=puno)
    assert [(ln["PNLI"], ln["ITNO"], ln["ORQA"], ln["PUPR"], ln["LNAM"]) for ln in lines] == [
        ("1", "TENT-2P", "3", "1380", "4140"),
        ("2", "BOOT-42", "2.5", "100.1", "250.25"),
    ]
    assert {(ln["PUSL"], ln["PUST"]) for ln in lines} == {("20", "20")}
    assert lines[0]["ITDS"] == "Trekking tent 2 person"
    line = mi.ok("PPS200MI", "GetLine", PUNO=puno, PNLI="2")[0]
    assert (line["ITNO"], line["RVQA"], line["WHLO"], line["SUNO"]) == (
        "BOOT-42",
        "0",
        "001",
        "S10001",
    )


def test_po_is_invisible_until_finished_and_gone_after_delete(mi: Any) -> None:
    msgn = start(mi)
    puno = mi.ok("PPS370MI", "AddHead", MSGN=msgn, **HEAD)[0]["PUNO"]
    mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="1")
    assert error(mi.nok("PPS200MI", "GetHead", PUNO=puno)) == ("WPU0103", "PUNO")
    assert mi.ok("PPS370MI", "DeleteEntry", MSGN=msgn) == []
    assert error(mi.nok("PPS370MI", "FinishEntry", MSGN=msgn)) == ("XRE0103", "MSGN")
    assert error(mi.nok("PPS200MI", "LstLine", PUNO=puno)) == ("WPU0103", "PUNO")
    # the reserved number is not given out again
    assert new_po(mi, {"ITNO": "TENT-2P", "ORQA": "1"}) != puno


def test_discounts_and_price_quantity_price_the_line(mi: Any) -> None:
    line = {"ITNO": "BOOT-42", "ORQA": "3", "PUPR": "200", "PUCD": "2", "ODI1": "10", "ODI2": "5"}
    puno = new_po(mi, line)
    got = mi.ok("PPS200MI", "GetLine", PUNO=puno, PNLI="1")[0]
    assert (got["LNAM"], got["PUCD"], got["ODI1"], got["ODI2"]) == ("256.5", "2", "10", "5")
    head = mi.ok("PPS200MI", "GetHead", PUNO=puno)[0]
    assert (head["NTAM"], head["BRAM"]) == ("256.5", "300")


def test_several_heads_in_one_entry(mi: Any) -> None:
    msgn = start(mi)
    a = mi.ok("PPS370MI", "AddHead", MSGN=msgn, HREF="first", **HEAD)[0]["PUNO"]
    b = mi.ok("PPS370MI", "AddHead", MSGN=msgn, **{**HEAD, "SUNO": "S10002"})[0]["PUNO"]
    assert mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="1")[0]["PUNO"] == b
    assert mi.ok("PPS370MI", "AddLine", MSGN=msgn, PUNO=a, ITNO="TENT-2P", ORQA="2")[0] == {
        "PUNO": a,
        "PNLI": "1",
    }
    assert (
        mi.ok("PPS370MI", "AddLine", MSGN=msgn, HREF="first", ITNO="BOOT-42", ORQA="4")[0]["PNLI"]
        == "2"
    )
    mi.ok("PPS370MI", "FinishEntry", MSGN=msgn)
    assert mi.ok("PPS200MI", "GetHead", PUNO=a)[0]["TOQT"] == "6"
    head_b = mi.ok("PPS200MI", "GetHead", PUNO=b)[0]
    assert (head_b["SUNO"], head_b["CUCD"], head_b["TOQT"]) == ("S10002", "EUR", "1")


def test_manual_po_number_and_duplicate(mi: Any) -> None:
    puno = new_po(mi, {"ITNO": "TENT-2P", "ORQA": "1"}, PUNO="PO-MAN-1")
    assert puno == "PO-MAN-1"
    msgn = start(mi)
    result = mi.nok("PPS370MI", "AddHead", MSGN=msgn, PUNO="PO-MAN-1", **HEAD)
    assert error(result) == ("XRE0104", "PUNO")


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"SUNO": "NOSUCH"}, "WSU0103", "SUNO"),
        ({"WHLO": "999"}, "WWH0103", "WHLO"),
        ({"FACI": "ZZZ"}, "WFAC303", "FACI"),
        ({"FACI": "U01"}, "WFAC303", "FACI"),  # a facility of company 200 only
        ({"DWDT": "20251341"}, "WDT0101", "DWDT"),
    ],
)
def test_add_head_refuses_bad_references(
    mi: Any, change: dict[str, str], code: str, field: str
) -> None:
    msgn = start(mi)
    result = mi.nok("PPS370MI", "AddHead", MSGN=msgn, **{**HEAD, **change})
    assert error(result) == (code, field)
    assert change[field] in result["errorMessage"] or code == "WDT0101"


def test_add_head_mandatory_fields(mi: Any) -> None:
    msgn = start(mi)
    result = mi.nok("PPS370MI", "AddHead", MSGN=msgn, FACI="A01", WHLO="001", DWDT="20250301")
    assert (result["errorType"], result["errorField"]) == ("MandatoryInputFieldNotFound", "SUNO")


@pytest.mark.parametrize(
    ("trx", "fields"),
    [
        ("AddHead", HEAD),
        ("AddLine", {"ITNO": "TENT-2P", "ORQA": "1"}),
        ("FinishEntry", {}),
        ("DeleteEntry", {}),
    ],
)
def test_unknown_message_number(mi: Any, trx: str, fields: dict[str, str]) -> None:
    result = mi.nok("PPS370MI", trx, MSGN="987654321", **fields)
    assert error(result) == ("XRE0103", "MSGN")
    assert "987654321" in result["errorMessage"]


@pytest.mark.parametrize(
    ("line", "code", "field"),
    [
        ({"ITNO": "NO-ITEM", "ORQA": "1"}, "WIT0103", "ITNO"),
        ({"ITNO": "TENT-2P", "ORQA": "0"}, "WQA0102", "ORQA"),
        ({"ITNO": "TENT-2P", "ORQA": "-2"}, "WQA0102", "ORQA"),
        ({"ITNO": "TENT-2P", "ORQA": "1", "WHLO": "999"}, "WWH0103", "WHLO"),
        ({"ITNO": "TENT-2P", "ORQA": "1", "PUPR": "-1"}, "WPU0126", "PUPR"),
        ({"ITNO": "TENT-2P", "ORQA": "1", "PNLI": "1"}, "XRE0104", "PNLI"),
        ({"ITNO": "TENT-2P", "ORQA": "1", "PUNO": "NOSUCH"}, "WPU0103", "PUNO"),
        ({"ITNO": "TENT-2P", "ORQA": "abc"}, "WNU0101", "ORQA"),
    ],
)
def test_add_line_errors_leave_the_head_unchanged(
    mi: Any, line: dict[str, str], code: str, field: str
) -> None:
    msgn = start(mi)
    puno = mi.ok("PPS370MI", "AddHead", MSGN=msgn, **HEAD)[0]["PUNO"]
    mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="BOOT-42", ORQA="2", PUPR="10")
    assert error(mi.nok("PPS370MI", "AddLine", MSGN=msgn, **line)) == (code, field)
    mi.ok("PPS370MI", "FinishEntry", MSGN=msgn)
    head = mi.ok("PPS200MI", "GetHead", PUNO=puno)[0]
    assert (head["NOLN"], head["TOQT"], head["NTAM"]) == ("1", "2", "20")


def test_line_before_head_and_finish_without_lines(mi: Any) -> None:
    msgn = start(mi)
    result = mi.nok("PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="1")
    assert error(result) == ("WPU0102", "PUNO")
    assert error(mi.nok("PPS370MI", "FinishEntry", MSGN=msgn)) == ("WPU0102", "MSGN")
    puno = mi.ok("PPS370MI", "AddHead", MSGN=msgn, **HEAD)[0]["PUNO"]
    result = mi.nok("PPS370MI", "FinishEntry", MSGN=msgn)
    assert error(result) == ("WPN0102", "PUNO")
    assert puno in result["errorMessage"]


def test_finished_entry_takes_nothing_more(mi: Any) -> None:
    msgn = start(mi)
    mi.ok("PPS370MI", "AddHead", MSGN=msgn, **HEAD)
    mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="1")
    mi.ok("PPS370MI", "FinishEntry", MSGN=msgn)
    for trx, fields in [("AddLine", {"ITNO": "TENT-2P", "ORQA": "1"}), ("FinishEntry", {})]:
        assert error(mi.nok("PPS370MI", trx, MSGN=msgn, **fields)) == ("WMS0107", "MSGN")


def test_pps200mi_add_line_to_existing_po(mi: Any) -> None:
    puno = new_po(mi, {"ITNO": "TENT-2P", "ORQA": "1"})
    assert mi.ok("PPS200MI", "AddLine", PUNO=puno, ITNO="BOOT-42", ORQA="4", PUPR="910") == []
    lines = mi.ok("PPS200MI", "LstLine", PUNO=puno)
    assert [(ln["PNLI"], ln["LNAM"]) for ln in lines] == [("1", "1380"), ("2", "3640")]
    head = mi.ok("PPS200MI", "GetHead", PUNO=puno)[0]
    assert (head["NTAM"], head["NOLN"], head["TOQT"]) == ("5020", "2", "5")
    result = mi.nok("PPS200MI", "AddLine", PUNO=puno, ITNO="BOOT-42", ORQA="1", SUNO="S10002")
    assert error(result) == ("WSU0110", "SUNO")
    assert error(mi.nok("PPS200MI", "AddLine", PUNO="NOSUCH", ITNO="BOOT-42", ORQA="1")) == (
        "WPU0103",
        "PUNO",
    )


def test_get_line_of_unknown_line_and_list_with_maxrecs(mi: Any) -> None:
    puno = new_po(mi, *({"ITNO": "TENT-2P", "ORQA": str(n)} for n in range(1, 5)))
    assert error(mi.nok("PPS200MI", "GetLine", PUNO=puno, PNLI="9")) == ("XRE0103", "PNLI")
    assert error(mi.nok("PPS200MI", "GetLine", PUNO=puno, PNLI="1.5")) == ("WNU0101", "PNLI")
    assert [ln["ORQA"] for ln in mi.ok("PPS200MI", "LstLine", PUNO=puno, maxrecs=2)] == ["1", "2"]


def test_purchase_order_in_another_company(mi: Any) -> None:
    msgn = mi.ok("PPS370MI", "StartEntry", BAOR="EDI", cono="200")[0]["MSGN"]
    fields = {"FACI": "U01", "WHLO": "100", "SUNO": "U90001", "DWDT": "20250301"}
    puno = mi.ok("PPS370MI", "AddHead", MSGN=msgn, cono="200", **fields)[0]["PUNO"]
    mi.ok("PPS370MI", "AddLine", MSGN=msgn, ITNO="LANTERN-LED", ORQA="10", cono="200")
    mi.ok("PPS370MI", "FinishEntry", MSGN=msgn, cono="200")
    head = mi.ok("PPS200MI", "GetHead", PUNO=puno, CONO="200")[0]
    assert (head["CONO"], head["CUCD"], head["NTAM"]) == ("200", "USD", "175")
    assert error(mi.nok("PPS200MI", "GetHead", PUNO=puno)) == ("WPU0103", "PUNO")


# --- engine level ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return engine_sim()


def test_events_only_for_finished_orders(sim: Simulator) -> None:
    seen: list[Change] = []
    sim.engine.listeners.append(seen.append)
    try:
        msgn = run(sim, "PPS370MI", "StartEntry", BAOR="X")[0]["MSGN"]
        puno = run(sim, "PPS370MI", "AddHead", MSGN=msgn, **HEAD)[0]["PUNO"]
        run(sim, "PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="2")
        with pytest.raises(MIError):
            run(sim, "PPS370MI", "AddLine", MSGN=msgn, ITNO="NOPE", ORQA="2")
        assert seen == []
        run(sim, "PPS370MI", "FinishEntry", MSGN=msgn)
    finally:
        sim.engine.listeners.remove(seen.append)
    assert [(c.entity, c.action, c.key) for c in seen] == [("purchase_order", "add", ("100", puno))]
    assert seen[0].record["NTAM"] == "2760"
    assert (seen[0].program, seen[0].transaction) == ("PPS370MI", "FinishEntry")


def test_warehouse_of_another_facility_is_refused(sim: Simulator) -> None:
    state = sim.tenants["DEMO_TST"].state
    table(state, "warehouses").insert({"CONO": "100", "DIVI": "AAA", "FACI": "B01", "WHLO": "B10"})
    msgn = run(sim, "PPS370MI", "StartEntry", BAOR="X")[0]["MSGN"]
    with pytest.raises(MIError) as exc:
        run(sim, "PPS370MI", "AddHead", MSGN=msgn, **{**HEAD, "WHLO": "B10"})
    assert (exc.value.code, exc.value.field) == ("WWH0110", "WHLO")
    assert run(sim, "PPS370MI", "AddHead", MSGN=msgn, **{**HEAD, "WHLO": "B10", "FACI": "B01"})


def test_delete_entry_removes_work_rows(sim: Simulator) -> None:
    state = sim.tenants["DEMO_TST"].state
    msgn = run(sim, "PPS370MI", "StartEntry", BAOR="X")[0]["MSGN"]
    run(sim, "PPS370MI", "AddHead", MSGN=msgn, **HEAD)
    run(sim, "PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA="2")
    run(sim, "PPS370MI", "DeleteEntry", MSGN=msgn)
    for name in ("po_entry_heads", "po_entry_lines"):
        assert not [r for r in state.tables[name].rows.values() if r["MSGN"] == msgn]
    assert table(state, "po_entries").get(("100", msgn)) is None


quantities = st.decimals(min_value="0.001", max_value="99999", places=3)
prices = st.decimals(min_value="0", max_value="99999.99", places=2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(quantities, prices), min_size=1, max_size=6))
def test_head_totals_are_the_sum_of_the_lines(
    sim: Simulator, lines: list[tuple[Decimal, Decimal]]
) -> None:
    msgn = run(sim, "PPS370MI", "StartEntry", BAOR="H")[0]["MSGN"]
    puno = run(sim, "PPS370MI", "AddHead", MSGN=msgn, **HEAD)[0]["PUNO"]
    for qty, price in lines:
        run(sim, "PPS370MI", "AddLine", MSGN=msgn, ITNO="TENT-2P", ORQA=str(qty), PUPR=str(price))
    run(sim, "PPS370MI", "FinishEntry", MSGN=msgn)
    amounts = [(q * p).quantize(Decimal("0.01"), ROUND_HALF_UP) for q, p in lines]
    got = run(sim, "PPS200MI", "LstLine", PUNO=puno)
    assert [Decimal(ln["LNAM"]) for ln in got] == amounts
    assert [Decimal(ln["ORQA"]) for ln in got] == [q for q, _ in lines]
    head = run(sim, "PPS200MI", "GetHead", PUNO=puno)[0]
    assert Decimal(head["NTAM"]) == sum(amounts)
    assert Decimal(head["TOQT"]) == sum(q for q, _ in lines)
    assert head["NOLN"] == str(len(lines))
    for value in (head["NTAM"], head["TOQT"], *(ln["LNAM"] for ln in got)):
        assert "E" not in value and not (value.endswith("0") and "." in value)
