"""CRS620MI suppliers through HTTP: add, read, list, update, delete and their refusals."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.m3.tables import table

SUPPLIER = {
    "SUNM": "Vildmark Textil AB",
    "SUTY": "0",
    "CSCD": "SE",
    "DTFM": "YMD",
    "ORTY": "100",
    "DT4T": "1",
    "DTCD": "1",
    "CUCD": "SEK",
    "CRTP": "1",
    "ATPR": "0",
}


def test_seeded_suppliers(mi: Any) -> None:
    [s1] = mi.ok("CRS620MI", "GetBasicData", SUNO="S10001")
    assert (s1["SUNM"], s1["CUCD"], s1["STAT"], s1["CONO"]) == (
        "Fjällutrustning Nordic AB",
        "SEK",
        "20",
        "100",
    )
    [s2] = mi.ok("CRS620MI", "GetBasicData", SUNO="S10002")
    assert (s2["CUCD"], s2["CSCD"]) == ("EUR", "DE")
    [us] = mi.ok("CRS620MI", "GetBasicData", SUNO="U90001", CONO="200")
    assert us["CUCD"] == "USD"
    err = mi.nok("CRS620MI", "GetBasicData", SUNO="U90001")
    assert (err["errorCode"], err["errorField"]) == ("WSU0103", "SUNO")
    assert err["errorMessage"].strip() == "Supplier U90001 does not exist"


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suno=st.from_regex(r"S2[0-9]{4}", fullmatch=True),
    name=st.text(st.characters(min_codepoint=32, max_codepoint=0x24F), min_size=1, max_size=36),
    crtp=st.integers(min_value=0, max_value=99),
)
def test_add_then_get(mi: Any, suno: str, name: str, crtp: int) -> None:
    name = name.strip() or "X"
    fields = {**SUPPLIER, "SUNM": name, "CRTP": f"{crtp:02d}"}
    result = mi.call("CRS620MI", "AddSupplier", SUNO=suno, **fields)
    if "errorMessage" in result:  # the same number drawn twice
        assert (result["errorCode"], result["errorField"]) == ("XRE0104", "SUNO")
        return
    assert result["records"] == [{"SUNO": suno, "STAT": "20"}]
    [row] = mi.ok("CRS620MI", "GetBasicData", SUNO=suno)
    assert (row["SUNM"], row["CRTP"], row["CUCD"]) == (name, str(crtp), "SEK")
    err = mi.nok("CRS620MI", "AddSupplier", SUNO=suno, **SUPPLIER)
    assert (err["errorCode"], err["errorField"]) == ("XRE0104", "SUNO")


def test_add_mandatory_and_status(mi: Any) -> None:
    err = mi.nok("CRS620MI", "AddSupplier", SUNO="S30001", **{**SUPPLIER, "CUCD": ""})
    assert (err["errorType"], err["errorField"]) == ("MandatoryInputFieldNotFound", "CUCD")
    err = mi.nok("CRS620MI", "AddSupplier", SUNO="S30001", STAT="55", **SUPPLIER)
    assert err["errorField"] == "STAT"
    assert mi.nok("CRS620MI", "GetBasicData", SUNO="S30001")["errorCode"] == "WSU0103"
    out = mi.ok("CRS620MI", "AddSupplier", SUNO="S30001", STAT="10", **SUPPLIER)
    assert out == [{"SUNO": "S30001", "STAT": "10"}]


def test_list_by_number(mi: Any) -> None:
    mi.ok("CRS620MI", "AddSupplier", SUNO="S10001A", **SUPPLIER)
    rows = mi.ok("CRS620MI", "LstByNumber", SUNO="S10001")
    assert [r["SUNO"] for r in rows] == ["S10001", "S10001A", "S10002"]
    assert [r["SUNO"] for r in mi.ok("CRS620MI", "LstByNumber", SUNO="S10002")] == ["S10002"]
    assert [r["SUNO"] for r in mi.ok("CRS620MI", "LstByNumber", SUNO="A", CONO="200")] == ["U90001"]
    assert mi.ok("CRS620MI", "LstByNumber", SUNO="Z") == []


def test_update(mi: Any) -> None:
    mi.ok("CRS620MI", "UpdSupplier", SUNO="S10002", PHNO="+49 89 000", CRTP="02")
    [row] = mi.ok("CRS620MI", "GetBasicData", SUNO="S10002")
    assert (row["PHNO"], row["CRTP"], row["SUNM"]) == ("+49 89 000", "2", "Bergsport Handels GmbH")
    assert mi.nok("CRS620MI", "UpdSupplier", SUNO="S10002", STAT="11")["errorField"] == "STAT"
    assert mi.ok("CRS620MI", "GetBasicData", SUNO="S10002")[0]["STAT"] == "20"
    assert mi.nok("CRS620MI", "UpdSupplier", SUNO="NOPE", SUNM="x")["errorCode"] == "WSU0103"


def test_delete(mi: Any) -> None:
    state = mi.client.app.state.sim.tenants["DEMO_TST"].state
    table(state, "purchase_orders").insert({"CONO": "100", "PUNO": "4000001", "SUNO": "S10001"})
    err = mi.nok("CRS620MI", "DelSupplier", SUNO="S10001")
    assert err["errorField"] == "SUNO" and "purchase orders" in err["errorMessage"]
    assert mi.ok("CRS620MI", "GetBasicData", SUNO="S10001")[0]["SUNO"] == "S10001"
    assert mi.ok("CRS620MI", "DelSupplier", SUNO="S10002") == []
    assert mi.nok("CRS620MI", "GetBasicData", SUNO="S10002")["errorCode"] == "WSU0103"
    assert mi.nok("CRS620MI", "DelSupplier", SUNO="S10002")["errorCode"] == "WSU0103"
