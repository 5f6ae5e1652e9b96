"""Gateway rules through HTTP: bearer tokens, routing by path, 404/405, throttle, authorization."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from simulator import ManualClock
from tests.conftest import MI

GET_BASIC = "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData?CUNO=C10001"


def test_mi_call_without_token_is_401_json(client: TestClient) -> None:
    r = client.get(GET_BASIC)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer    ", "Basic abc", "Bearer not-a-token", "Token x", "bearer eyJ.x.y"],
)
def test_malformed_or_unknown_tokens_are_401(client: TestClient, header: str) -> None:
    r = client.get(GET_BASIC, headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json()["message"]


def test_expired_token_is_401_and_a_new_one_works(mi: MI, clock: ManualClock) -> None:
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")[0]["CUNO"] == "C10001"
    clock.advance(7201)
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 401
    assert "expired" in r.json()["message"]
    mi.token = mi.fetch_token()
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")


def test_revoked_refresh_token_kills_its_access_token(client: TestClient) -> None:
    ion = client.get("/_sim/tenants/DEMO_TST/ionapi").json()
    auth = (ion["ci"], ion["cs"])
    tok = client.post(
        "/DEMO_TST/as/token.oauth2",
        data={"grant_type": "password", "username": ion["saak"], "password": ion["sask"]},
        auth=auth,
    ).json()
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    assert client.get(GET_BASIC, headers=headers).status_code == 200
    r = client.post(
        "/DEMO_TST/as/revoke_token.oauth2",
        data={"token": tok["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth,
    )
    assert r.status_code == 200
    assert client.get(GET_BASIC, headers=headers).status_code == 401


def test_another_tenants_token_is_refused(client: TestClient) -> None:
    client.post("/_sim/tenants", json={"name": "OTHER_TST", "seed": "minimal"})
    other = MI(client, "OTHER_TST")
    r = client.get(GET_BASIC, headers=other.headers)
    assert r.status_code == 401
    assert "DEMO_TST" in r.json()["message"]


def test_host_and_tenant_headers_are_ignored(mi: MI) -> None:
    r = mi.client.get(
        GET_BASIC,
        headers={
            **mi.headers,
            "Host": "mingle-ionapi.eu1.inforcloudsuite.com",
            "X-TenantId": "SOMEONE_ELSE",
            "X-ClientId": "nobody",
        },
    )
    assert r.status_code == 200
    assert r.json()["results"][0]["records"][0]["CUNO"] == "C10001"


def test_unknown_path_404_and_wrong_method_405_are_json(mi: MI) -> None:
    r = mi.client.get("/DEMO_TST/M3/m3api-rest/v9/nothing", headers=mi.headers)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    r = mi.client.delete(GET_BASIC, headers=mi.headers)
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
    assert r.json()["error"] == "method_not_allowed"
    r = mi.client.get("/DEMO_TST/as/token.oauth2")
    assert r.status_code == 405


def test_unknown_path_without_token_is_401_not_404(client: TestClient) -> None:
    assert client.get("/DEMO_TST/IONSERVICES/nothing").status_code == 401


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="?#"), min_size=0, max_size=40
    ),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    body=st.binary(max_size=200),
)
def test_no_client_mistake_under_a_tenant_is_a_500(
    mi: MI, path: str, method: str, body: bytes
) -> None:
    r = mi.client.request(
        method,
        f"/DEMO_TST/M3/m3api-rest/{quote(path, safe='/;=,&')}",
        content=body,
        headers=mi.headers,
    )
    assert r.status_code < 500, r.text
    assert r.headers["content-type"].startswith(("application/json", "application/xml"))


def _throttle(client: TestClient, policy: dict[str, Any]) -> None:
    r = client.put("/_sim/tenants/DEMO_TST/throttle", json=policy)
    assert r.status_code == 200, r.text


def test_spike_arrest_answers_429_with_retry_after(mi: MI, clock: ManualClock) -> None:
    _throttle(
        mi.client, {"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": 3}}
    )
    codes = [mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.json()["error"] == "too_many_requests"
    counters = mi.client.get("/_sim/tenants/DEMO_TST/throttle").json()
    assert counters["policy"]["spikeArrest"]["maxRequestsPerPeriod"] == 3
    clock.advance(60)
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200


def test_rate_smoothing_delays_by_the_documented_amount(mi: MI, app: Any) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    app.state.sim.sleep = fake_sleep
    _throttle(
        mi.client,
        {
            "timePeriodInMilliseconds": 60000,
            "rateSmoothing": {"delayAfterCount": 2, "delayFactorInMilliseconds": 500},
        },
    )
    for _ in range(5):
        assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200
    assert slept == [0.5, 1.0, 1.5]


def test_throttle_policy_in_infor_xml_form(client: TestClient) -> None:
    xml = (
        '<throttling name="t" enabled="true" version="1.0" xmlns="http://www.infor.com/ion/api">'
        "<timePeriodInMilliseconds>60000</timePeriodInMilliseconds>"
        "<spikeArrest><maxRequestsPerPeriod>20</maxRequestsPerPeriod></spikeArrest>"
        "</throttling>"
    )
    r = client.put(
        "/_sim/tenants/DEMO_TST/throttle", content=xml, headers={"Content-Type": "application/xml"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["policy"]["spikeArrest"] == {"maxRequestsPerPeriod": 20}


@pytest.mark.parametrize(
    "body",
    [
        {"timePeriodInMilliseconds": -5},
        {"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": "many"}},
        {"nonsense": 1},
        [1, 2],
    ],
)
def test_bad_throttle_policy_is_400(client: TestClient, body: Any) -> None:
    r = client.put("/_sim/tenants/DEMO_TST/throttle", json=body)
    assert r.status_code == 400
    assert r.json()["error"]


def test_authorization_denies_by_default_and_grants_allow(mi: MI) -> None:
    r = mi.client.put(
        "/_sim/tenants/DEMO_TST/authorization",
        json={"enabled": True, "grants": {"IONSIM": ["CRS610MI/GetBasicData", "MMS200MI/*"]}},
    )
    assert r.status_code == 200, r.text
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")
    refused = mi.nok("CRS610MI", "LstByNumber")
    assert refused["errorCode"] == "XAU0001"
    assert "CRS610MI/LstByNumber" in refused["errorMessage"]
    mi.client.put(
        "/_sim/tenants/DEMO_TST/authorization", json={"enabled": True, "grants": {"IONSIM": ["*"]}}
    )
    assert mi.ok("CRS610MI", "LstByNumber")


def test_company_limits_answer_xau0008(mi: MI) -> None:
    mi.client.put("/_sim/tenants/DEMO_TST/authorization", json={"companies": {"IONSIM": ["100"]}})
    assert mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")
    refused = mi.nok("CRS610MI", "GetBasicData", CUNO="U20001", cono="200")
    assert refused["errorCode"] == "XAU0008"
    assert refused["errorField"] == "CONO"


@pytest.mark.parametrize(
    "body",
    [{"enabled": "yes"}, {"grants": ["x"]}, {"grants": {"U": "CRS610MI/*"}}, {"other": 1}, "x"],
)
def test_bad_authorization_is_400(client: TestClient, body: Any) -> None:
    assert client.put("/_sim/tenants/DEMO_TST/authorization", json=body).status_code == 400


def test_parallel_token_requests_and_calls_never_500(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> int:
        m = MI(client)
        return m.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(40))) == {200}


@settings(max_examples=2000)
@given(st.text(alphabet="ab=&%+;2C x\u00e9", max_size=24))
def test_fast_path_parses_query_strings_exactly_as_starlette(text: str) -> None:
    from urllib.parse import parse_qsl

    from simulator.gateway.fastpath import query_params

    raw = text.encode("latin-1", "ignore")
    expected = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    assert query_params(raw) == expected
