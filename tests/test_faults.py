"""Fault injection through HTTP: rules, selectors, every action, the header, config and CLI.

Connection-level faults (drop, hang) are tested against a real uvicorn server on 127.0.0.1
with raw sockets, because only a real connection can be dropped or left hanging.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from simulator.ops.fault_actions import DroppedConnection
from simulator.server import bind
from tests.conftest import MI, password_grant

CONFIRM = {"program": "OIS100MI", "transaction": "Confirm"}


def put(client: TestClient, *rules: dict[str, Any]) -> Any:
    r = client.put("/_sim/faults", json={"rules": list(rules)})
    assert r.status_code == 200, r.text
    return r.json()


@contextlib.contextmanager
def live_server(**options: Any) -> Iterator[tuple[str, Any, Any]]:
    """The app under a real uvicorn on a free loopback port, in a thread: (url, app, server)."""
    import uvicorn

    extra = {"strict_events": True, **options.pop("extra", {})}
    app = create_app(load_config(env={}, access_log=False, extra=extra, **options))
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app, server
    finally:
        server.should_exit = True
        thread.join(15)


def token(base: str, tenant: str = "DEMO_TST") -> str:
    ion = httpx.get(f"{base}/_sim/tenants/{tenant}/ionapi").json()
    form = password_grant(ion)
    return str(httpx.post(f"{base}/{tenant}/as/token.oauth2", data=form).json()["access_token"])


def raw_get(
    base: str, path: str, bearer: str, timeout: float, *, close: bool = False
) -> tuple[bytes, float]:
    """Sends one GET on a raw socket; returns what came back before EOF and how long it took.

    `close` asks the server to end the connection after its answer; without it a kept-alive
    connection only ends at uvicorn's keep-alive timeout (5 s), racing the socket timeout.
    """
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        extra = "Connection: close\r\n" if close else ""
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {bearer}\r\n{extra}\r\n".encode()
        )
        t0, got = time.monotonic(), b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got, time.monotonic() - t0
            got += chunk


# -- the canonical story and the selectors ---------------------------------------------------


def test_every_third_confirm_fails_with_a_gateway_503(client: TestClient, mi: MI) -> None:
    put(client, {"match": CONFIRM, "action": {"status": 503}, "every": 3})
    statuses = [mi.raw("OIS100MI", "Confirm", ORNO="1").status_code for _ in range(9)]
    assert statuses == [200, 200, 503] * 3
    r = [mi.raw("OIS100MI", "Confirm", ORNO="1") for _ in range(3)][-1]
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json() == {
        "status": 503,
        "error": "service_unavailable",
        "message": "Service unavailable: retry after 1 s",
    }
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200  # not matched
    rule = client.get("/_sim/faults").json()["rules"][0]
    assert (rule["matched"], rule["fired"], rule["every"]) == (12, 4, 3)


def test_times_fires_on_the_next_n_matches_only(client: TestClient, mi: MI) -> None:
    put(client, {"match": CONFIRM, "action": {"status": 502}, "times": 2})
    assert [mi.raw("OIS100MI", "Confirm").status_code for _ in range(4)] == [502, 502, 200, 200]
    assert client.get("/_sim/faults").json()["rules"][0]["remaining"] == 0


def test_probability_is_reproducible_with_a_seed(clock: ManualClock) -> None:
    def run() -> list[int]:
        app = create_app(load_config(env={}, access_log=False), clock=clock)
        with TestClient(app, base_url="http://127.0.0.1:8080") as c:
            m = MI(c)
            put(
                c,
                {
                    "match": {"program": "CRS610MI"},
                    "action": {"status": 500},
                    "probability": 0.3,
                    "seed": 42,
                },
            )
            return [m.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert 4 <= first.count(500) <= 20, first


def test_rules_are_checked_in_order_and_the_first_that_fires_acts(
    client: TestClient, mi: MI
) -> None:
    put(
        client,
        {"match": CONFIRM, "action": {"status": 504}, "every": 2},
        {"match": {"program": "OIS100MI"}, "action": {"status": 500}},
    )
    assert [mi.raw("OIS100MI", "Confirm").status_code for _ in range(4)] == [500, 504, 500, 504]
    fired = [r["fired"] for r in client.get("/_sim/faults").json()["rules"]]
    assert fired == [2, 2]


def test_match_by_tenant_path_method_and_client(client: TestClient, mi: MI) -> None:
    other = client.post("/_sim/tenants", json={"name": "OTHER_TST"}).json()["name"]
    mi_other = MI(client, other)
    put(
        client,
        {
            "match": {
                "tenant": "OTHER_TST",
                "path": "*/CRS610MI/*",
                "method": "get",
                "client_id": mi_other.ionapi["ci"],
            },
            "action": {"status": 500},
        },
    )
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200
    assert mi_other.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 500
    assert mi_other.raw("MMS200MI", "GetItmBasic", ITNO="X").status_code == 200
    put(client, {"match": {"client_id": "someone-else"}, "action": {"status": 500}})
    assert mi_other.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200


def test_forced_429_carries_retry_after(client: TestClient, mi: MI) -> None:
    put(client, {"match": {}, "action": {"status": 429, "retry_after": 7}, "times": 1})
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["error"] == "too_many_requests"


# -- the other actions ------------------------------------------------------------------------


def test_delay_is_added_then_the_call_proceeds(client: TestClient, mi: MI) -> None:
    put(client, {"match": {"program": "CRS610MI"}, "action": {"delay_ms": 150}})
    t0 = time.monotonic()
    records = mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")
    assert time.monotonic() - t0 >= 0.15 and records[0]["CUNO"] == "C10001"
    put(
        client,
        {"match": {}, "action": {"delay_ms": {"distribution": "uniform", "min": 20, "max": 40}}},
    )
    t0 = time.monotonic()
    mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")
    assert 0.02 <= time.monotonic() - t0 < 5


def test_nok_in_each_dialect(client: TestClient, mi: MI) -> None:
    nok = {"code": "XRE0103", "message": "Record is locked", "field": "CUNO"}
    put(
        client,
        {"match": {"program": "CRS610MI", "transaction": "GetBasicData"}, "action": {"nok": nok}},
    )
    v2 = mi.nok("CRS610MI", "GetBasicData", CUNO="C10001")
    assert v2["errorCode"] == "XRE0103" and v2["errorField"] == "CUNO"
    assert v2["errorMessage"].rstrip() == "Record is locked" and len(v2["errorMessage"]) == 120
    v1 = client.get(
        "/DEMO_TST/M3/m3api-rest/execute/CRS610MI/GetBasicData",
        params={"CUNO": "C10001"},
        headers={**mi.headers, "Accept": "application/json"},
    )
    assert v1.status_code == 200 and v1.json()["@code"] == "XRE0103"
    body = {
        "program": "CRS610MI",
        "transactions": [
            {"transaction": "GetBasicData", "record": {"CUNO": "C10001"}},
            {"transaction": "LstByNumber", "record": {}},
        ],
    }
    results = mi.bulk(body)["results"]
    assert results[0]["errorCode"] == "XRE0103" and "errorMessage" not in results[1]
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200  # no state change


def test_expire_and_revoke_token_then_the_gateway_answers_401(client: TestClient, mi: MI) -> None:
    put(client, {"match": {}, "action": {"expire_token": True}, "times": 1})
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 401 and "expired" in r.json()["message"]
    mi.token = mi.fetch_token()
    put(client, {"match": {}, "action": {"revoke_token": True}, "times": 1})
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    mi.token = mi.fetch_token()
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200


def test_drop_in_process_raises(client: TestClient, mi: MI) -> None:
    put(client, {"match": {}, "action": {"drop": True}, "times": 1})
    with pytest.raises(DroppedConnection):
        mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")


def test_drop_closes_the_tcp_connection_without_an_answer() -> None:
    with live_server() as (base, _, _):
        bearer = token(base)
        httpx.put(
            f"{base}/_sim/faults",
            json={
                "rules": [{"match": {"program": "CRS610MI"}, "action": {"drop": True}, "times": 1}]
            },
        )
        path = "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData?CUNO=C10001"
        got, _ = raw_get(base, path, bearer, timeout=5)
        assert got == b""
        got, _ = raw_get(base, path + "&x=1", bearer, timeout=5, close=True)  # the server lives on
        assert got.startswith(b"HTTP/1.1 200")
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.put(
                f"{base}/_sim/faults",
                json={"rules": [{"match": {}, "action": {"delay_ms": 10, "drop": True}}]},
            )
            httpx.get(base + path, headers={"Authorization": f"Bearer {bearer}"})
        entry = httpx.get(f"{base}/_sim/journal", params={"limit": 1}).json()["entries"][0]
        assert entry["status"] == 0 and entry["fault"] == 0


def test_hang_answers_nothing_until_max_hang_and_releases_on_shutdown() -> None:
    with live_server(extra={"fault_max_hang": 1.0}) as (base, _, _):
        bearer = token(base)
        httpx.put(f"{base}/_sim/faults", json={"rules": [{"match": {}, "action": {"hang": True}}]})
        path = "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData"
        got, took = raw_get(base, path, bearer, timeout=10)
        assert got == b"" and 0.9 <= took < 8
        with pytest.raises(httpx.ReadTimeout):  # a client that gives up
            httpx.get(base + path, headers={"Authorization": f"Bearer {bearer}"}, timeout=0.3)
    with live_server() as (base, _, server):  # default max hang: 300 s
        bearer = token(base)
        httpx.put(f"{base}/_sim/faults", json={"rules": [{"match": {}, "action": {"hang": True}}]})
        result: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: result.update(r=raw_get(base, path, bearer, timeout=30))
        )
        worker.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        server.should_exit = True  # what SIGTERM does
        worker.join(20)
        assert result["r"][0] == b"" and time.monotonic() - t0 < 10


# -- the header, validation, config --------------------------------------------------------


def test_fault_header_is_ignored_unless_configured(client: TestClient, mi: MI) -> None:
    r = client.get(
        "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData?CUNO=C10001",
        headers={**mi.headers, "X-Ionsim-Fault": "503"},
    )
    assert r.status_code == 200


def test_fault_header_when_enabled(clock: ManualClock) -> None:
    app = create_app(load_config(env={}, access_log=False, fault_header=True), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        m = MI(c)
        url = "/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData?CUNO=C10001"

        def get(value: str) -> httpx.Response:
            return c.get(url, headers={**m.headers, "X-Ionsim-Fault": value})

        assert get("503").status_code == 503 and get("429").headers["retry-after"] == "1"
        t0 = time.monotonic()
        assert get("delay=100").status_code == 200 and time.monotonic() - t0 >= 0.1
        assert get("nok=XYZ0001").json()["results"][0]["errorCode"] == "XYZ0001"
        assert get("nonsense").status_code == 200
        assert c.get("/_sim/faults").json()["headerEnabled"] is True
        assert 'ionsim_faults_fired_total{rule="header"} 4' in c.get("/metrics").text


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"match": {"progam": "X"}, "action": {"status": 503}}, "unknown keys ['progam']"),
        ({"action": {"status": 200}}, "status must be an HTTP error status"),
        ({"action": {"status": 503, "drop": True}}, "several actions"),
        ({"action": {}}, "action must be an object"),
        ({"action": {"bogus": 1}}, "unknown keys ['bogus']"),
        ({"action": {"drop": True}, "every": 0}, "every must be a whole number >= 1"),
        ({"action": {"drop": True}, "probability": 1.5}, "probability must be"),
        ({"action": {"drop": True}, "probability": 0.5, "every": 2}, "either every or"),
        ({"action": {"delay_ms": -1}}, "delay_ms must be within"),
        ({"action": {"delay_ms": {"distribution": "pareto"}}}, "distribution must be"),
        ({"action": {"delay_ms": {"distribution": "normal", "mean": 5}}}, "takes mean, stddev"),
        ({"action": {"nok": "oops"}}, "action.nok must be"),
        ({"action": {"hang": True, "delay_ms": 5}}, "cannot be combined"),
        ({"match": {"tenant": ""}, "action": {"drop": True}}, "match.tenant must be"),
        ({"action": {"drop": True}, "times": "2"}, "times must be"),
        ("nope", "a rule must be an object"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(
    client: TestClient, rule: Any, message: str
) -> None:
    put(client, {"match": CONFIRM, "action": {"status": 503}})
    r = client.put("/_sim/faults", json={"rules": [{"action": {"drop": True}}, rule]})
    assert r.status_code == 400
    assert r.json()["error"].startswith("rules[1]: ") and message in r.json()["error"]
    assert len(client.get("/_sim/faults").json()["rules"]) == 1  # nothing changed


def test_body_shape_errors_and_delete(client: TestClient) -> None:
    assert client.put("/_sim/faults", json={"rulez": []}).status_code == 400
    assert client.put("/_sim/faults", json={"rules": {}}).status_code == 400
    put(client, {"action": {"status": 500}})
    r = client.delete("/_sim/faults")
    assert r.status_code == 200 and r.json()["cleared"] == 1 and r.json()["rules"] == []


def test_rules_from_the_config_file_and_serve_faults(tmp_path: Path, clock: ManualClock) -> None:
    rules = tmp_path / "faults.yaml"
    rules.write_text(
        "rules:\n  - match: {program: OIS100MI, transaction: Confirm}\n"
        "    action: {status: 503}\n    every: 3\n"
    )
    config_file = tmp_path / "ionsim.yaml"
    config_file.write_text("faults:\n  - {match: {program: CRS610MI}, action: {status: 502}}\n")
    app = create_app(load_config(config_file, env={}, access_log=False), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        assert MI(c).raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 502
    from simulator.cli import build_parser
    from simulator.server import config_from_args

    args = build_parser().parse_args(["serve", "--faults", str(rules), "--fault-header"])
    config = config_from_args(args)
    assert config.fault_header and config.faults[0]["every"] == 3
    app = create_app(config, clock=clock)
    assert app.state.sim.ops.faults.rules[0].every == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{action: {status: 99}}]\n")
    from simulator.errors import ConfigError

    with pytest.raises(ConfigError, match=r"faults: rules\[0\]: action.status"):
        create_app(load_config(env={}, faults=str(bad)))


def test_status_rules_match_bulk_calls_by_their_transactions(client: TestClient, mi: MI) -> None:
    put(client, {"match": CONFIRM, "action": {"status": 504}})
    url = "/DEMO_TST/M3/m3api-rest/v2/execute"
    confirm = {"program": "OIS100MI", "transactions": [{"transaction": "Confirm", "record": {}}]}
    assert client.post(url, json=confirm, headers=mi.headers).status_code == 504
    other = {
        "program": "CRS610MI",
        "transactions": [{"transaction": "GetBasicData", "record": {"CUNO": "C10001"}}],
    }
    r = mi.bulk(other)  # the body read for matching is handed on intact
    assert r["results"][0]["records"][0]["CUNO"] == "C10001"
