"""The MI REST dialects on the wire: v2 single, v2 bulk, v1, generic parameters and NOKs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MI

V2 = "/DEMO_TST/M3/m3api-rest/v2/execute"
V1 = "/DEMO_TST/M3/m3api-rest/execute"


def test_v2_success_body_is_exact(mi: MI) -> None:
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001", returncols="CUNO,CUNM,STAT")
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    assert r.json() == {
        "results": [
            {
                "transaction": "GetBasicData",
                "records": [{"CUNO": "C10001", "CUNM": "Nordic Outdoor AB", "STAT": "20"}],
            }
        ],
        "wasTerminated": False,
        "nrOfSuccessfullTransactions": 1,
        "nrOfFailedTransactions": 0,
    }


def test_v2_record_has_every_output_field_as_string(mi: MI) -> None:
    record = mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")[0]
    assert list(record)[:4] == ["CONO", "DIVI", "LNCD", "CUNO"]
    assert all(isinstance(v, str) for v in record.values())
    assert record["CUA2"] == ""
    assert record["RGDT"] == "20240115"


def test_v2_nok_is_http_200_with_m3_fields(mi: MI) -> None:
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="99999")
    assert r.status_code == 200
    body = r.json()
    result = body["results"][0]
    assert result["errorMessage"].strip() == "Customer number 99999 does not exist"
    assert result["errorMessage"].endswith(" ")
    assert (result["errorType"], result["errorCode"], result["errorField"]) == (
        "ServerReturnedNOK",
        "WCU0203",
        "CUNO",
    )
    assert result["errorCfg"] == "" and result["records"] == []
    assert body["nrOfFailedTransactions"] == 1 and body["nrOfSuccessfullTransactions"] == 0


def test_mandatory_too_long_number_and_date_errors(mi: MI) -> None:
    e = mi.nok("CRS610MI", "Add", CUNM="X", CUA1="Y")
    assert (e["errorType"], e["errorField"]) == ("MandatoryInputFieldNotFound", "CUTM")
    e = mi.nok("CRS610MI", "Add", CUTM="TEMPLATE", CUNM="X" * 37, CUA1="Y")
    assert (e["errorType"], e["errorField"]) == ("InputFieldTooLong", "CUNM")
    e = mi.nok("CRS610MI", "GetBasicData", CUNO="C10001", CONO="abc")
    assert e["errorField"] == "CONO"
    e = mi.nok("CRS610MI", "GetBasicData", CUNO="C10001", CONO="1000")
    assert (e["errorType"], e["errorField"]) == ("InputFieldTooLong", "CONO")


def test_unknown_input_fields_are_ignored(mi: MI) -> None:
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001", CUNM="ignored", ZZZZ="x")


def test_unknown_transaction_and_program(mi: MI) -> None:
    e = mi.nok("CRS610MI", "NoSuchThing")
    assert e["errorType"] == "TransactionNotFound"
    e = mi.nok("PIS100MI", "AddInvoice", SUNO="S1")
    assert "PIS100MI does not exist" in e["errorMessage"]
    assert "APS450MI" in e["errorMessage"]


@pytest.mark.parametrize(
    ("program", "transaction", "real"),
    [
        ("OIS100MI", "AddHead", "AddBatchHead"),
        ("MMS200MI", "LstByNumber", "LstItmByItm"),
        ("OIS300MI", "LstInvoice", "OIS350MI/LstInvHead"),
        ("GLS200MI", "Add", "GLS840MI"),
    ],
)
def test_seed_names_answer_not_found_with_a_hint(
    mi: MI, program: str, transaction: str, real: str
) -> None:
    e = mi.nok(program, transaction)
    assert real in e["errorMessage"]


def test_aliases_map_seed_names_when_asked() -> None:
    from starlette.testclient import TestClient

    from simulator import create_app, load_config

    with TestClient(create_app(load_config(env={}, aliases=True, access_log=False))) as c:
        mi = MI(c)
        recs = mi.ok("MMS080MI", "LstItemBal", WHLO="001")
        assert isinstance(recs, list)


def test_known_but_unsimulated_transaction_says_so(mi: MI) -> None:
    e = mi.nok("CRS610MI", "AddAddress", CUNO="C10001")
    assert "not simulated" in e["errorMessage"]


def test_generic_parameters(mi: MI) -> None:
    rows = mi.ok("CRS610MI", "LstByNumber", maxrecs=2)
    assert len(rows) == 2
    assert len(mi.ok("CRS610MI", "LstByNumber", maxrecs=0)) >= 7
    assert len(mi.ok("CRS610MI", "LstByNumber", maxrecs="nonsense")) >= 7
    rows = mi.ok("CRS610MI", "LstByNumber", CUNO="C10002", maxrecs=1, returncols="CUNO")
    assert rows == [{"CUNO": "C10002"}]
    row = mi.ok("CRS610MI", "GetBasicData", CUNO="C10001", excludeempty="true")[0]
    assert "CUA2" not in row and row["CUNO"] == "C10001"
    row = mi.ok("CRS610MI", "GetBasicData", CUNO="C10001", righttrim="false")[0]
    assert row["CUNO"] == "C10001    "
    row = mi.ok("CRS610MI", "GetBasicData", CUNO="C10001", dateformat="DMY6")[0]
    assert row["RGDT"] == "150124"
    result = mi.call("CRS610MI", "GetBasicData", CUNO="C10001", extendedresult="true", _rid="1")
    assert result["parameters"] == {"CUNO": "C10001"}
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001", format="PRETTY")
    assert "\n" in r.text


def test_cono_context_selects_the_company(mi: MI) -> None:
    assert mi.nok("CRS610MI", "GetBasicData", CUNO="U20001")["errorCode"] == "WCU0203"
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="U20001", cono="200")[0]["CONO"] == "200"
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="U20001", CONO="200")[0]["CUNO"] == "U20001"


def test_bulk_results_in_order_isolated_and_counted(mi: MI) -> None:
    body = mi.bulk(
        {
            "program": "CRS610MI",
            "cono": 100,
            "transactions": [
                {
                    "transaction": "Add",
                    "record": {
                        "CUTM": "TEMPLATE",
                        "CUNM": "Bulk AB",
                        "CUA1": "Road 1",
                        "CUNO": "B1",
                    },
                },
                {"transaction": "GetBasicData", "record": {"CUNO": "NOPE"}},
                {
                    "transaction": "GetBasicData",
                    "record": {"CUNO": "B1", "CUNM": "sent but unknown here"},
                    "selectedColumns": ["CUNO", "CUNM"],
                },
                {
                    "transaction": "Add",
                    "record": {"CUTM": "TEMPLATE", "CUNM": "Again", "CUA1": "x", "CUNO": "B1"},
                },
            ],
        }
    )
    results = body["results"]
    assert [r["transaction"] for r in results] == ["Add", "GetBasicData", "GetBasicData", "Add"]
    assert results[0]["records"] == [{"CUNO": "B1", "ERRM": ""}]
    assert results[1]["errorCode"] == "WCU0203" and results[1]["records"] == []
    assert results[2]["records"] == [{"CUNO": "B1", "CUNM": "Bulk AB"}]
    assert results[3]["errorCode"] == "XRE0104"
    assert body["nrOfSuccessfullTransactions"] == 2
    assert body["nrOfFailedTransactions"] == 2
    assert body["wasTerminated"] is False


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1,2]",
        b'{"program": "CRS610MI"}',
        b'{"transactions": [{"transaction": "X"}]}',
        b'{"program": "CRS610MI", "transactions": [{"transaction": "Get", "record": [1]}]}',
    ],
)
def test_bad_bulk_bodies_are_400(mi: MI, payload: bytes) -> None:
    r = mi.client.post(V2, content=payload, headers=mi.headers)
    assert r.status_code == 400
    assert r.json()["message"]


def test_v1_json_records_and_metadata(mi: MI) -> None:
    r = mi.client.get(
        f"{V1}/CRS610MI/LstByNumber;maxrecs=2;metadata=true;returncols=CUNO,CUNM",
        params={"CUNO": "C10001", "_rid": "123"},
        headers={**mi.headers, "Accept": "application/json"},
    )
    body = r.json()
    assert body["Program"] == "CRS610MI" and body["Transaction"] == "LstByNumber"
    assert body["MIRecord"][0] == {
        "RowIndex": 0,
        "NameValue": [
            {"Name": "CUNO", "Value": "C10001"},
            {"Name": "CUNM", "Value": "Nordic Outdoor AB"},
        ],
    }
    assert len(body["MIRecord"]) == 2
    field = body["Metadata"]["Field"][0]
    assert set(field) == {"@name", "@type", "@length", "@description"}


def test_v1_nok_shape_and_xml(mi: MI) -> None:
    r = mi.client.get(
        f"{V1}/CRS610MI/GetBasicData",
        params={"CUNO": "NOPE"},
        headers={**mi.headers, "Accept": "application/json"},
    )
    body = r.json()
    assert r.status_code == 200
    assert list(body) == ["Message", "@type", "@code", "@cfg", "@field"]
    assert body["@code"] == "WCU0203" and body["@cfg"] is None
    r = mi.client.get(
        f"{V1}/CRS610MI/GetBasicData;excludempty=true",
        params={"CUNO": "C10001"},
        headers=mi.headers,
    )
    assert r.headers["content-type"].startswith("application/xml")
    assert "<Name>CUNO</Name><Value>C10001</Value>" in r.text


def test_add_then_change_then_delete_customer(mi: MI) -> None:
    cuno = mi.ok(
        "CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="Eva Berg", CUA1="Gatan 2", MAIL="eva@x.example"
    )[0]["CUNO"]
    row = mi.ok("CRS610MI", "GetBasicData", CUNO=cuno)[0]
    assert (row["CUNM"], row["MAIL"], row["CUCD"], row["STAT"]) == (
        "Eva Berg",
        "eva@x.example",
        "SEK",
        "20",
    )
    mi.ok("CRS610MI", "ChgBasicData", CUNO=cuno, CUNM="Eva Berg-Lund")
    row = mi.ok("CRS610MI", "GetBasicData", CUNO=cuno)[0]
    assert row["CUNM"] == "Eva Berg-Lund" and row["CHNO"] == "2"
    assert mi.ok("CRS610MI", "Delete", CUNO=cuno) == []
    assert mi.nok("CRS610MI", "GetBasicData", CUNO=cuno)["errorCode"] == "WCU0203"


def test_lst_by_name_is_in_name_order(mi: MI) -> None:
    names = [r["CUNM"] for r in mi.ok("CRS610MI", "LstByName", maxrecs=0)]
    assert names == sorted(names)


@settings(
    max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    program=st.sampled_from(["CRS610MI", "MMS200MI", "OIS100MI", "XYZ999MI", "crs610mi", ""]),
    transaction=st.sampled_from(["GetBasicData", "Add", "LstByNumber", "Confirm", "", "x" * 50]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "CUNO",
                "CUTM",
                "CUNM",
                "CUA1",
                "CONO",
                "ORNO",
                "ITNO",
                "cono",
                "maxrecs",
                "dateformat",
                "returncols",
            ]
        ),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=60),
        max_size=6,
    ),
)
def test_hostile_inputs_get_m3_answers_never_500(
    mi: MI, program: str, transaction: str, fields: dict[str, str]
) -> None:
    r = mi.client.get(f"{V2}/{program}/{transaction}", params=fields, headers=mi.headers)
    assert r.status_code in (200, 404), r.text
    if r.status_code == 200:
        result = r.json()["results"][0]
        assert ("errorMessage" in result) or isinstance(result["records"], list)


def test_canned_records_answer_a_transaction_without_behaviour() -> None:
    from starlette.testclient import TestClient

    from simulator import ConfigError, create_app, load_config

    canned = {"CRS610MI/SearchCustomer": [{"CUNO": "C10001", "CUNM": "Nordic Outdoor AB"}]}
    with TestClient(
        create_app(load_config(env={}, access_log=False, extra={"canned": canned}))
    ) as c:
        rows = MI(c).ok("CRS610MI", "SearchCustomer", SQRY="CUNM:Nordic*")
        assert rows[0]["CUNO"] == "C10001" and rows[0]["CUNM"] == "Nordic Outdoor AB"
        assert all(v == "" for k, v in rows[0].items() if k not in ("CUNO", "CUNM"))
    for bad in ({"NOPE/Thing": []}, {"CRS610MI/SearchCustomer": "x"}, ["x"]):
        with pytest.raises(ConfigError):
            create_app(load_config(env={}, extra={"canned": bad}))


def test_mi_calls_get_503_while_event_delivery_is_saturated(mi: MI) -> None:
    hub = mi.client.app.state.sim.hub  # type: ignore[attr-defined]
    hub.max_pending = 0
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    hub.max_pending = 100_000
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")


# -- the default answer is spliced from memoised record JSON: it must equal the general path --

_ODD_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=36)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_ODD_TEXT, town=_ODD_TEXT)
def test_default_answer_is_byte_identical_to_the_general_path(mi: MI, name: str, town: str) -> None:
    """`_rid` is ignored by M3 but makes ionsim take the general (dict + orjson) path."""
    row = (
        mi.client.app.state.sim.tenants["DEMO_TST"].state.tables["customers"].get(("100", "C10001"))
    )
    row["CUNM"], row["TOWN"] = name, town
    fast = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    general = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001", _rid="1")
    assert fast.content == general.content
    record = fast.json()["results"][0]["records"][0]
    assert (record["CUNM"], record["TOWN"]) == (name, town)


def test_memoised_records_follow_every_change_of_the_row(mi: MI) -> None:
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")[0]["CUNM"] == "Nordic Outdoor AB"
    mi.ok("CRS610MI", "ChgBasicData", CUNO="C10001", CUNM="Renamed AB")
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")[0]["CUNM"] == "Renamed AB"
    # A test (or a seed action) changing the store directly is seen too: nothing to invalidate.
    state = mi.client.app.state.sim.tenants["DEMO_TST"].state
    row = state.tables["customers"].get(("100", "C10001"))
    row["CUNM"] = "Direct AB"
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")[0]["CUNM"] == "Direct AB"
    # Values that compare equal but render differently are never confused.
    for value, text in ((1, "1"), (True, "True"), (1.0, "1"), ("1", "1"), (None, "")):
        row["CUA2"] = value
        assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")[0]["CUA2"] == text


def test_lists_through_the_memo_equal_the_general_path(mi: MI) -> None:
    fast = mi.raw("CRS610MI", "LstByNumber")
    general = mi.raw("CRS610MI", "LstByNumber", _rid="x")
    assert fast.content == general.content
    assert len(fast.json()["results"][0]["records"]) > 1


def test_a_bug_in_a_handler_answers_json_500_and_is_journaled(mi: MI) -> None:
    sim = mi.client.app.state.sim

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    sim.engine.handlers[("CRS610MI", "GetBasicData")] = broken
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 500
    assert r.json()["error"] == "internal_error"
    assert (
        "ionsim bug on GET /DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData"
        in (r.json()["message"])
    )
    entry = mi.client.get("/_sim/journal", params={"limit": 1}).json()["entries"][-1]
    assert entry["status"] == 500


def test_selected_columns_query_parameter_works_like_returncols(mi: MI) -> None:
    picked = mi.ok("CRS610MI", "GetBasicData", CUNO="C10001", selectedColumns="CUNO,CUNM")
    assert picked == mi.ok("CRS610MI", "GetBasicData", CUNO="C10001", returncols="CUNO,CUNM")
    assert list(picked[0]) == ["CUNO", "CUNM"]
    lower = mi.call("CRS610MI", "GetBasicData", CUNO="C10001", selectedcolumns="CUNO,CUNM")
    assert lower["records"] == picked
    echoed = mi.call(
        "CRS610MI", "GetBasicData", CUNO="C10001", selectedcolumns="CUNO", extendedresult="true"
    )
    assert echoed["parameters"] == {"CUNO": "C10001"}  # generic parameters are not fields
