"""`/metrics` (Prometheus text format, parsed line by line) and `/_sim/stats`, through HTTP."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import MI
from tests.webhook import Webhook

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? (\S+)$")
_META = re.compile(rf"^# (HELP|TYPE) ({_NAME}) (.+)$")


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Strict parse of the exposition: every line is a sample or `# HELP`/`# TYPE`."""
    assert text.endswith("\n")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        meta = _META.match(line)
        if meta:
            if meta[1] == "TYPE":
                assert meta[3] in ("counter", "histogram", "gauge"), line
                types[meta[2]] = meta[3]
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus line: {line!r}"
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m[2] or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", m[1])
        assert m[1] in types or family in types, f"{m[1]} has no # TYPE"
        samples.setdefault(m[1], []).append((labels, float(m[3])))
    return samples


def value(samples: dict[str, Any], name: str, **labels: str) -> float:
    return sum(
        v for lab, v in samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items())
    )


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/dead"


def test_exposition_counts_requests_mi_tokens_throttle_and_faults(
    client: TestClient, mi: MI
) -> None:
    for cuno in ("C10001", "NOPE", "C10001"):
        mi.raw("CRS610MI", "GetBasicData", CUNO=cuno)
    mi.raw("crs610mi", "GetBasicData", CUNO="C10001")
    client.post(
        "/DEMO_TST/as/token.oauth2",
        data={
            "grant_type": "client_credentials",
            "client_id": mi.ionapi["ci"],
            "client_secret": "wrong",
        },
    )
    client.get("/NO_SUCH/some/path/x")
    client.put(
        "/_sim/tenants/DEMO_TST/throttle",
        json={
            "timePeriodInMilliseconds": 60000,
            "spikeArrest": {"maxRequestsPerPeriod": 2},
            "rateSmoothing": {"delayAfterCount": 1, "delayFactorInMilliseconds": 1},
        },
    )
    for _ in range(3):
        mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    client.put("/_sim/tenants/DEMO_TST/throttle", json={})
    client.put("/_sim/faults", json={"rules": [{"action": {"status": 502}, "times": 1}]})
    mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    r = client.get("/metrics")
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    s = parse(r.text)
    v2 = "/{ti}/M3/m3api-rest/v2/execute/{program}/{transaction}"
    assert {lab["route"] for lab, _ in s["ionsim_http_requests_total"]} == {
        v2,
        "/{ti}/as/token.oauth2",
        "/{ti}/{rest}",
    }
    assert value(s, "ionsim_http_requests_total", route=v2, status="200") == 6
    assert value(s, "ionsim_http_requests_total", route=v2, status="429") == 1
    assert value(s, "ionsim_http_requests_total", route=v2, status="502") == 1
    assert value(s, "ionsim_mi_calls_total", program="CRS610MI", result="ok") == 4
    assert value(s, "ionsim_mi_calls_total", program="CRS610MI", result="nok") == 1
    assert value(s, "ionsim_mi_calls_total", program="crs610mi") == 1
    assert value(s, "ionsim_tokens_issued_total", tenant="DEMO_TST", grant="password") == 1
    assert value(s, "ionsim_tokens_refused_total", error="invalid_client") == 1
    assert value(s, "ionsim_throttle_delays_total", tenant="DEMO_TST") == 1
    assert value(s, "ionsim_throttle_rejections_total", reason="spikeArrest") == 1
    assert value(s, "ionsim_faults_fired_total", rule="0") == 1
    stats = client.get("/_sim/stats").json()
    gw = stats["gateway"]
    assert gw["requests"] == 11 and gw["status"] == {"200": 7, "401": 2, "429": 1, "502": 1}
    assert gw["tokens"] == {"issued": 1, "refused": 1} and gw["requestsPerSecond"] > 0
    assert stats["mi"]["byProgram"]["CRS610MI/GetBasicData"] == {"ok": 4, "nok": 1}
    assert stats["mi"]["calls"] == 6 and stats["mi"]["nok"] == 2
    assert stats["faults"] == {"fired": 1} and stats["now"].endswith("Z")


def test_label_values_are_escaped(client: TestClient, mi: MI) -> None:
    mi.raw('CRS"610\\MI', "GetBasic")
    s = parse(client.get("/metrics").text)
    assert value(s, "ionsim_mi_calls_total", program='CRS\\"610\\\\MI') == 1


def test_events_and_delivery_latency_histogram(client: TestClient, mi: MI) -> None:
    with Webhook() as hook:
        hook.script(500)
        client.post(
            "/_sim/subscriptions",
            json={
                "url": hook.url,
                "channels": ["customer/*"],
                "retry": {"initialDelayMs": 1000, "jitter": False},
            },
        )
        client.post(
            "/_sim/subscriptions",
            json={
                "url": closed_port_url(),
                "channels": ["customer/*"],
                "retry": {"maxAttempts": 1},
            },
        )
        mi.ok("CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="Eva Berg", CUA1="Gatan 2")
        deadline = time.monotonic() + 5
        while not client.get("/_sim/dlq").json()["deadLetters"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        client.post("/_sim/clock/advance", json={"seconds": 2})
        while value(parse(client.get("/metrics").text), "ionsim_events_delivered_total") < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    s = parse(client.get("/metrics").text)
    ch = {"channel": "customer/synced"}
    assert value(s, "ionsim_events_published_total", **ch) == 1
    assert value(s, "ionsim_events_retried_total", **ch) == 1
    assert value(s, "ionsim_events_dead_lettered_total", **ch) == 1
    buckets = [(lab["le"], v) for lab, v in s["ionsim_delivery_latency_seconds_bucket"]]
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and buckets[-1] == ("+Inf", 1.0)
    assert value(s, "ionsim_delivery_latency_seconds_count", **ch) == 1
    assert value(s, "ionsim_delivery_latency_seconds_sum", **ch) >= 2
    row = client.get("/_sim/stats").json()["events"]["byChannel"]["customer/synced"]
    assert row["published"] == 1 and row["delivered"] == 1 and row["deadLettered"] == 1
    assert row["failed"] == 2 and row["retried"] == 1 and row["latencyMsP95"] >= 2000
