"""The MI v2 fast path answers, journals and counts exactly as the full stack does.

The fast path (`gateway/fastpath.py`) steps aside whenever another layer has work to do; a fault
rule that never matches is enough to send every request the long way. Two apps, one with such a
rule, get the same requests and must agree on every byte, journal entry and metric.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from tests.conftest import MI

NEVER = {"match": {"tenant": "NO_SUCH_TENANT"}, "action": {"status": 503}}
V2 = "/DEMO_TST/M3/m3api-rest/v2/execute"


def _client(long_way: bool) -> TestClient:
    app = create_app(load_config(env={}, access_log=False), clock=ManualClock())
    client = TestClient(app, base_url="http://127.0.0.1:8080")
    if long_way:
        assert client.put("/_sim/faults", json={"rules": [NEVER]}).status_code == 200
    return client


@pytest.fixture
def pair() -> Iterator[tuple[TestClient, TestClient]]:
    with _client(False) as fast, _client(True) as full:
        yield fast, full


def _requests(token: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    bearer = {"Authorization": f"Bearer {token}"}
    get = f"{V2}/CRS610MI/GetBasicData"
    return [
        (get, {"CUNO": "C10001"}, bearer),
        (get, {"CUNO": "C10001", "returncols": "CUNO,CUNM", "_rid": "7"}, bearer),
        (get, {"CUNO": "C10001", "excludeempty": "true", "dateformat": "YMD8-"}, bearer),
        (get, {"CUNO": "C10001", "extendedresult": "true", "format": "PRETTY"}, bearer),
        (get, {"CUNO": "NOPE"}, bearer),
        (get, {"CUNO": "C10001", "CONO": "abc"}, bearer),
        (get, {"CUNO": "C10001", "password": "hunter2"}, bearer),
        (f"{V2}/CRS610MI/LstByNumber", {"maxrecs": "3"}, bearer),
        (f"{V2}/CRS610MI/NoSuchTransaction", {}, bearer),
        (f"{V2}/NOSUCHMI/Get", {}, bearer),
        (get, {"CUNO": "C10001"}, {}),
        (get, {"CUNO": "C10001"}, {"Authorization": "Bearer not-a-token"}),
        (get, {"CUNO": "C10001"}, {"Authorization": "Basic eDp5"}),
        ("/NO_TENANT/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData", {}, bearer),
    ]


def _comparable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("seq", "at", "durationMs", "fault")}


def _counters(client: TestClient) -> list[str]:
    text = client.get("/metrics").text
    wanted = ("ionsim_http_requests_total{", "ionsim_mi_calls_total{", "ionsim_throttle_")
    return sorted(line for line in text.splitlines() if line.startswith(wanted))


def test_answers_journal_and_metrics_match_the_full_stack(
    pair: tuple[TestClient, TestClient],
) -> None:
    fast, full = pair
    # Each app signs its own tokens (same credentials, different keys).
    tokens = [MI(c).token for c in pair]
    for policy in (
        None,
        {"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": 8}},
    ):
        if policy is not None:
            for c in pair:
                assert c.put("/_sim/tenants/DEMO_TST/throttle", json=policy).status_code == 200
        for (path, params, headers_fast), (_, _, headers_full) in zip(
            _requests(tokens[0]), _requests(tokens[1]), strict=True
        ):
            a = fast.get(path, params=params, headers=headers_fast)
            b = full.get(path, params=params, headers=headers_full)
            assert (a.status_code, a.content) == (b.status_code, b.content), (path, params)
            assert dict(a.headers) == dict(b.headers), (path, params)
    statuses = {
        e["status"] for e in fast.get("/_sim/journal", params={"limit": 500}).json()["entries"]
    }
    assert statuses >= {200, 401, 429}  # the spike arrest was reached in the second pass
    journals = [
        [_comparable(e) for e in c.get("/_sim/journal", params={"limit": 500}).json()["entries"]]
        for c in pair
    ]
    assert journals[0] == journals[1]
    assert _counters(fast) == _counters(full)


def test_user_middleware_sees_v2_gets(client: TestClient) -> None:
    app = create_app(load_config(env={}, access_log=False), clock=ManualClock())

    async def tag(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-tag"] = "seen"
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=tag)
    with TestClient(app) as c:
        mi = MI(c)
        r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
        assert r.status_code == 200 and r.headers["x-tag"] == "seen"
        assert r.json()["results"][0]["records"][0]["CUNO"] == "C10001"


def test_control_paths_that_look_like_mi_keep_the_admin_token_check() -> None:
    app = create_app(load_config(env={}, access_log=False, admin_token="s3cret"))
    with TestClient(app) as c:
        r = c.get("/_sim/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData")
        assert r.status_code == 401 and r.json()["error"].startswith("admin token")


def test_memoised_answers_hold_little_memory(client: TestClient, mi: MI) -> None:
    """One-row answers are memoised; each entry must be a row copy and exact-size JSON (orjson's
    own bytes keep a 16 KB buffer, which made 256 entries take 4 MiB)."""
    state = client.app.state.sim.tenants["DEMO_TST"].state  # type: ignore[attr-defined]
    customers = state.tables["customers"]
    template = dict(customers.get(("100", "C10001")))
    for i in range(300):
        customers.insert({**template, "CUNO": f"M{i:05d}", "CUNM": f"Memo {i}"})
    mi.ok("CRS610MI", "GetBasicData", CUNO="M00000")  # warm every code path first
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(300):
            assert mi.ok("CRS610MI", "GetBasicData", CUNO=f"M{i:05d}")[0]["CUNM"] == f"Memo {i}"
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    # Per call: a memo entry (~2 KB) and a journal entry (~1 KB), far below 16 KB.
    assert grown < 300 * 6 * 1024, f"{grown / 300:.0f} bytes per call"
