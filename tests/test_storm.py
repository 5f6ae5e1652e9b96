"""Storms against real receivers on loopback: exact counts, the rate held, reports, exit codes.

Also the simulator route storms publish through (`POST /_sim/tenants/{ti}/events`) and
`ionsim validate`.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from simulator import create_app, load_config
from simulator.admin import storm_routes
from simulator.events.storm import schedule
from simulator.qa_cli import main, register
from tests.webhook import Webhook


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with Webhook("/ion") as h:
        yield h


def test_register_adds_the_three_commands() -> None:
    parser = argparse.ArgumentParser(prog="ionsim")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["storm", "--target", "http://x/", "--rate", "5000/s", "--duration", "30s"]
    )
    assert (args.rate, args.duration, args.count) == (5000.0, 30.0, None)
    assert parser.parse_args(["validate", "a.json"]).files == ["a.json"]


def test_storm_holds_the_rate_and_loses_nothing(hook: Webhook, tmp_path: Path, capsys) -> None:
    report, junit = tmp_path / "out.json", tmp_path / "out.xml"
    argv = [
        "storm",
        "--target",
        hook.url,
        "--rate",
        "2000/s",
        "--duration",
        "2s",
        "--channel",
        "order/synced=70,customer/synced=30",
        "--seed",
        "3",
        "--report",
        str(report),
        "--junit",
        str(junit),
    ]
    assert main(argv) == 0
    data = orjson.loads(report.read_bytes())
    sent = data["counts"]["sent"]
    hook.wait_count(sent)
    ids = hook.event_ids()
    assert len(ids) == len(set(ids)) == sent == data["counts"]["2xx"]
    assert 0.85 * 4000 <= sent <= 4000
    assert 1700 <= data["rate"]["achieved"] <= 2300
    assert set(data["byChannel"]) == {"order/synced", "customer/synced"}
    assert 0.6 < data["byChannel"]["order/synced"] / sent < 0.8
    assert data["passed"] and data["errorRate"] == 0
    assert data["latencyMs"]["p50"] <= data["latencyMs"]["p99"] <= data["latencyMs"]["max"]
    first = hook.received()[0]
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-ionsim-channel"] in ("order/synced", "customer/synced")
    assert first.json()["eventId"] == first.event_id
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == "1"
    out = capsys.readouterr()
    assert "achieved rate" in out.out and "latency p50/p95/p99/max" in out.out
    assert "storm" in out.err  # the final progress line


def test_count_is_exact(hook: Webhook, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    argv = [
        "storm",
        "--target",
        hook.url,
        "--rate",
        "5000/s",
        "--count",
        "777",
        "--profile",
        "poisson",
        "--report",
        str(report),
    ]
    assert main(argv) == 0
    hook.wait_count(777)
    assert len(set(hook.event_ids())) == 777 == orjson.loads(report.read_bytes())["counts"]["sent"]


def test_exit_1_when_the_receiver_fails_more_than_the_limit(
    hook: Webhook, tmp_path: Path, capsys
) -> None:
    hook.flap(0.2, seed=1)
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    argv = [
        "storm",
        "--target",
        hook.url,
        "--rate",
        "1000/s",
        "--count",
        "400",
        "--max-error-rate",
        "0.05",
        "--report",
        str(report),
        "--junit",
        str(junit),
    ]
    assert main(argv) == 1
    data = orjson.loads(report.read_bytes())
    c = data["counts"]
    assert c["sent"] == 400 and c["5xx"] + c["errors"] == 400 - c["2xx"] > 20
    assert not data["passed"] and data["errorRate"] > 0.05
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "above the limit" in failure.get("message", "")
    assert "storm FAILED" in capsys.readouterr().out


def test_unreachable_target_fails_and_bad_usage_is_exit_2(capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["storm", "--target", f"http://127.0.0.1:{port}/", "--count", "20"]) == 1
    assert "connection refused" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["storm", "--target", "http://x/", "--rate", "fast"])
    assert exc.value.code == 2
    assert main(["storm", "--target", "http://x/", "--channel", "nope=1"]) == 2


def test_profiles_are_open_loop_schedules() -> None:
    for profile in ("constant", "ramp", "burst", "poisson"):
        due = schedule(profile, 1000, 10.0, seed=1)
        n = 5_500 if profile == "ramp" else 10_000  # the ramp averages 55% of the rate
        times = [due(i) for i in range(n)]
        assert times == sorted(times) and times[0] == 0.0
        assert 8.0 <= times[-1] <= 10.5, profile
    ramp = schedule("ramp", 1000, 10.0)
    assert ramp(100) - ramp(0) > ramp(9_100) - ramp(9_000)  # slow first, then fast
    burst = schedule("burst", 1000, 10.0)
    assert burst(999) < 0.1 and burst(1000) == 1.0


@pytest.fixture
def simulator_url() -> Iterator[str]:
    app = create_app(load_config(env={}))
    app.router.routes[:0] = storm_routes.ROUTES  # until app.py wires them itself
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_tenant_storm_flows_through_subscriptions(
    hook: Webhook, simulator_url: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=simulator_url, timeout=5) as http:
        r = http.post("/_sim/subscriptions", json={"url": hook.url, "channels": ["order/*"]})
        assert r.status_code == 201, r.text
        bad = [{"channel": "order/synced", "payload": {"documentType": "SyncSalesOrder"}}]
        r = http.post("/_sim/tenants/DEMO_TST/events", content=orjson.dumps(bad))
        assert r.status_code == 400 and r.json()["index"] == 0, r.text
        assert "eventId" in r.json()["reason"]
        assert http.post("/_sim/tenants/NOPE/events", content=b"[]").status_code == 404
    report = tmp_path / "t.json"
    argv = [
        "storm",
        "--tenant",
        "DEMO_TST",
        "--url",
        simulator_url,
        "--channel",
        "order/synced",
        "--rate",
        "1000/s",
        "--count",
        "300",
        "--report",
        str(report),
    ]
    assert main(argv) == 0
    data = orjson.loads(report.read_bytes())
    assert data["counts"]["sent"] == data["counts"]["delivered"] == 300
    assert data["counts"]["deadLettered"] == 0
    hook.wait_count(300)
    assert len(set(hook.event_ids())) == 300
    assert hook.received()[0].headers["x-ionsim-tenant"] == "DEMO_TST"


def test_validate_names_each_invalid_payload_with_its_pointer(tmp_path: Path, capsys) -> None:
    good = {
        "eventId": "e1",
        "documentType": "SyncSalesOrder",
        "timestamp": "2024-01-01T00:00:00Z",
        "data": {"totalAmount": 10.5},
    }
    bad = {**good, "data": {"totalAmount": "ten"}}
    (tmp_path / "ok.json").write_bytes(orjson.dumps([good, good]))
    lines = b"\n".join([orjson.dumps(good), orjson.dumps(bad), b"{nope"])
    (tmp_path / "mixed.ndjson").write_bytes(lines)
    assert main(["validate", str(tmp_path / "ok.json")]) == 0
    assert main(["validate", str(tmp_path / "mixed.ndjson")]) == 1
    out = capsys.readouterr().out
    assert "mixed.ndjson:2: order/synced: /data/totalAmount: 'ten' is not of type 'number'" in out
    assert "mixed.ndjson:3" in out and "mixed.ndjson:1:" not in out
    odd = {**good, "documentType": "Unknown"}
    (tmp_path / "odd.json").write_bytes(orjson.dumps(odd))
    assert main(["validate", str(tmp_path / "odd.json")]) == 1
    assert main(["validate", "--channel", "order/synced", str(tmp_path / "odd.json")]) == 1
    assert main(["validate", str(tmp_path / "missing.json")]) == 2
