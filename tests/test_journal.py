"""The request journal, the simulated clock, and secrets that never leak, through HTTP.

The secrets test runs `ionsim serve` (access log on) in a subprocess, uses every credential for
real, then searches the journal, `/metrics`, `/_sim/stats` and the server's output for them.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from simulator import ManualClock, create_app, load_config
from tests.conftest import MI, password_grant
from tests.webhook import Webhook

ADD = {"CUTM": "TEMPLWEB", "CUNM": "Eva Berg", "CUA1": "Gatan 2"}


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with Webhook() as h:
        yield h


def journal(client: TestClient, **query: Any) -> list[dict[str, Any]]:
    r = client.get("/_sim/journal", params=query)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def wait(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- what is recorded ---------------------------------------------------------------------


def test_token_mi_bulk_and_v1_calls_are_journaled(client: TestClient, mi: MI) -> None:
    mi.ok("CRS610MI", "GetBasicData", CUNO="C10001")
    mi.nok("CRS610MI", "GetBasicData", CUNO="NOPE")
    mi.bulk(
        {
            "program": "CRS610MI",
            "transactions": [
                {"transaction": "GetBasicData", "record": {"CUNO": "C10001"}},
                {"transaction": "GetBasicData", "record": {"CUNO": "NOPE"}},
            ],
        }
    )
    client.get(
        "/DEMO_TST/M3/m3api-rest/execute/CRS610MI/GetBasicData;maxrecs=5",
        params={"CUNO": "C10001"},
        headers=mi.headers,
    )
    entries = journal(client)
    assert [e["kind"] for e in entries] == ["token", "mi", "mi", "mi", "mi", "http", "mi"]
    token, ok, nok = entries[:3]
    assert token["response"] == {"grant": "password"} and token["status"] == 200
    assert token["clientId"] == mi.ionapi["ci"] and token["request"] == {}
    assert ok["request"] == {"CUNO": "C10001"} and ok["response"] == {"records": 1}
    assert ok["throttle"]["allowed"] is True and ok["clientId"] == mi.ionapi["ci"]
    assert ok["at"].endswith("Z") and ok["durationMs"] > 0 and ok["fault"] is None
    assert nok["response"]["errorCode"] and nok["response"]["records"] == 0
    bulk_items, bulk = entries[3:5], entries[5]
    assert all(e.get("bulk") for e in bulk_items) and bulk["response"] == {
        "transactions": 2,
        "nok": 1,
    }
    v1 = entries[6]
    assert v1["program"] == "CRS610MI" and v1["transaction"] == "GetBasicData"
    assert v1["path"].endswith("GetBasicData;maxrecs=5")
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


def test_refusals_carry_the_gateway_answer_and_throttle_decision(
    client: TestClient, mi: MI
) -> None:
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
    client.get("/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData")
    client.post(
        "/DEMO_TST/as/token.oauth2",
        data={"grant_type": "password", "client_id": mi.ionapi["ci"], "client_secret": "wrong"},
    )
    first, delayed, refused, unauth, bad_token = journal(client)[-5:]
    assert first["throttle"] == {"allowed": True, "delayMs": 0.0, "reason": "", "count": 1}
    assert delayed["throttle"]["delayMs"] == 1.0
    assert refused["status"] == 429 and refused["throttle"]["reason"] == "spikeArrest"
    assert refused["response"]["error"] == "too_many_requests"
    assert unauth["status"] == 401 and unauth["throttle"] is None
    assert "missing" in unauth["response"]["message"]
    assert bad_token["status"] == 401 and bad_token["response"]["error"] == "invalid_client"


def test_filters_since_limit_and_clear(client: TestClient, mi: MI) -> None:
    for cuno in ("C10001", "NOPE", "C10001"):
        mi.raw("CRS610MI", "GetBasicData", CUNO=cuno)
    mi.raw("MMS200MI", "GetItmBasic", ITNO="NOPE")
    client.get("/DEMO_TST/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData")
    assert len(journal(client, kind="mi")) == 5
    assert len(journal(client, kind="token")) == 1
    assert len(journal(client, program="crs610mi", transaction="GetBasicData")) == 4
    assert len(journal(client, status="4xx")) == 1 and len(journal(client, status=200)) == 5
    assert len(journal(client, client_id=mi.ionapi["ci"])) == 5
    assert journal(client, tenant="OTHER") == []
    page = client.get("/_sim/journal", params={"limit": 2}).json()
    assert [e["seq"] for e in page["entries"]] == [5, 6] and page["last"] == 6
    page = client.get("/_sim/journal", params={"since": 1, "limit": 2}).json()
    assert [e["seq"] for e in page["entries"]] == [2, 3] and page["last"] == 3
    page = client.get("/_sim/journal", params={"since": 3, "kind": "token"}).json()
    assert page == {"entries": [], "last": 6}  # a follower skips what it filtered out
    for bad in ({"kind": "x"}, {"since": "a"}, {"status": "abc"}, {"limit": -1}):
        assert client.get("/_sim/journal", params=bad).status_code == 400
    assert client.delete("/_sim/journal").json() == {"cleared": 6, "last": 6}
    assert journal(client) == []


def test_journal_is_bounded(clock: ManualClock) -> None:
    app = create_app(load_config(env={}, access_log=False, journal_size=5), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        m = MI(c)
        for _ in range(10):
            m.raw("CRS610MI", "GetBasicData", CUNO="C10001")
        entries = journal(c, limit=100)
        assert [e["seq"] for e in entries] == [7, 8, 9, 10, 11]


def test_delivery_attempts_are_journaled_and_retry_on_the_clock(
    client: TestClient, mi: MI, hook: Webhook
) -> None:
    hook.script(500)
    sub = client.post(
        "/_sim/subscriptions",
        json={
            "url": hook.url + "?k=v",
            "secret": "s",
            "retry": {"initialDelayMs": 60000, "jitter": False},
        },
    ).json()["id"]
    mi.ok("CRS610MI", "Add", **ADD)
    wait(lambda: journal(client, kind="delivery"))
    time.sleep(0.2)  # the back-off runs on the simulated clock: nothing more happens
    (first,) = journal(client, kind="delivery")
    assert first["status"] == 500 and first["response"]["outcome"] == "retrying"
    assert first["channel"] == "customer/synced" and first["subscription"] == sub
    assert first["attempt"] == 1 and first["path"] == hook.url  # no query string
    client.post("/_sim/clock/advance", json={"seconds": 61})
    wait(lambda: len(journal(client, kind="delivery")) == 2)
    second = journal(client, kind="delivery")[1]
    assert second["attempt"] == 2 and second["status"] == 200
    assert second["eventId"] == first["eventId"] and second["response"]["outcome"] == "delivered"
    latency = client.get("/_sim/stats").json()["events"]["byChannel"]["customer/synced"]
    assert latency["retried"] == 1 and latency["latencyMsP50"] >= 60000


# -- the simulated clock ------------------------------------------------------------------


def test_clock_route_and_token_refresh_after_two_hours(client: TestClient, mi: MI) -> None:
    before = client.get("/_sim/clock").json()
    assert before["iso"] == "2023-11-14T22:13:20.000Z" and set(before) == {"now", "iso", "offset"}
    ion = mi.ionapi
    grant = client.post(
        "/DEMO_TST/as/token.oauth2",
        data=password_grant(ion),
    ).json()
    mi.token = grant["access_token"]
    client.post("/_sim/clock/advance", json={"seconds": 7200})
    after = client.get("/_sim/clock").json()
    assert after["now"] - before["now"] == 7200 and after["offset"] > before["offset"]
    r = mi.raw("CRS610MI", "GetBasicData", CUNO="C10001")
    assert r.status_code == 401 and "expired" in r.json()["message"]
    refreshed = client.post(
        "/DEMO_TST/as/token.oauth2",
        data={
            "grant_type": "refresh_token",
            "refresh_token": grant["refresh_token"],
            "client_id": ion["ci"],
            "client_secret": ion["cs"],
        },
    )
    assert refreshed.status_code == 200
    mi.token = refreshed.json()["access_token"]
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200
    grants = [e["response"].get("grant") for e in journal(client, kind="token")]
    assert grants[-1] == "refresh_token"


def test_clock_moves_throttle_windows_and_event_timestamps(client: TestClient, mi: MI) -> None:
    client.put(
        "/_sim/tenants/DEMO_TST/throttle",
        json={"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": 1}},
    )
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 429
    client.post("/_sim/clock/advance", json={"seconds": 60})
    assert mi.raw("CRS610MI", "GetBasicData", CUNO="C10001").status_code == 200
    client.post("/_sim/clock/advance", json={"seconds": 3540})
    client.put("/_sim/tenants/DEMO_TST/throttle", json={})
    mi.ok("CRS610MI", "Add", **ADD)
    event = client.get("/_sim/events").json()["events"][-1]
    assert event["publishedAt"].startswith("2023-11-14T23:13:20")
    assert journal(client)[-1]["at"] == "2023-11-14T23:13:20.000Z"


# -- secrets ------------------------------------------------------------------------------


class _Server:
    """`ionsim serve` in a subprocess, its output collected by reader threads."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "simulator", "serve", "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(s,), daemon=True)
            for s in (self.proc.stdout, self.proc.stderr)
        ]
        for t in self.readers:
            t.start()
        try:
            wait(lambda: any("ionsim ready on" in line for line in self.out), timeout=30)
        except AssertionError:
            self.proc.kill()
            self.stop()
            raise
        ready = next(line for line in self.out if "ionsim ready on" in line)
        self.url = ready.split("ionsim ready on ", 1)[1].strip()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.out.append(line)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)
        for t in self.readers:
            t.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return "".join(self.out)


def test_secrets_never_appear_in_journal_metrics_or_logs(hook: Webhook) -> None:
    admin = "adm1n-s3cret-t0ken"
    server = _Server("--admin-token", admin, "--fault-header")
    try:
        with httpx.Client(base_url=server.url, headers={"X-Ionsim-Admin-Token": admin}) as http:
            ion = http.get("/_sim/tenants/DEMO_TST/ionapi").json()
            webhook_secret = "whsec-do-not-leak-42"
            http.post("/_sim/subscriptions", json={"url": hook.url, "secret": webhook_secret})
            token_url = "/DEMO_TST/as/token.oauth2"
            login = password_grant(ion)
            grant = http.post(token_url, data=login).json()
            basic = base64.b64encode(f"{ion['ci']}:{ion['cs']}".encode()).decode()
            cc = http.post(
                token_url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"},
            ).json()
            in_query = http.post(token_url, params=login).json()  # credentials in the URL
            refreshed = http.post(
                token_url,
                data={
                    "grant_type": "refresh_token",
                    "client_id": ion["ci"],
                    "client_secret": ion["cs"],
                    "refresh_token": grant["refresh_token"],
                },
            ).json()
            http.post(token_url, data={**login, "password": ion["sask"] + "x"})
            bearer = {"Authorization": f"Bearer {refreshed['access_token']}"}
            mi_url = "/DEMO_TST/M3/m3api-rest/v2/execute"
            http.get(f"{mi_url}/CRS610MI/GetBasicData", params={"CUNO": "C10001"}, headers=bearer)
            http.get(f"{mi_url}/CRS610MI/Add", params=ADD, headers=bearer)
            http.get(f"{mi_url}/CRS610MI/GetBasicData", headers={**bearer, "X-Ionsim-Fault": "503"})
            http.post(
                mi_url,
                json={
                    "program": "CRS610MI",
                    "transactions": [{"transaction": "GetBasicData", "record": {"CUNO": "C10001"}}],
                },
                headers=bearer,
            )
            http.get("/DEMO_TST/as/revoke_token.oauth2", params={"token": cc["refresh_token"]})
            http.get("/_sim/ui", params={"token": admin}, headers={"X-Ionsim-Admin-Token": ""})
            hook.wait_count(1)
            wait(lambda: http.get("/_sim/journal", params={"kind": "delivery"}).json()["entries"])
            outputs = {
                "journal": http.get("/_sim/journal", params={"limit": 10000}).text,
                "metrics": http.get("/metrics").text,
                "stats": http.get("/_sim/stats").text,
            }
            assert len(json.loads(outputs["journal"])["entries"]) >= 12
    finally:
        outputs_log = server.stop()
    outputs["server output"] = outputs_log
    assert "POST /DEMO_TST/as/token.oauth2?grant_type=password&username=***" in outputs_log
    assert "/_sim/ui?token=***" in outputs_log
    secrets = {
        "client secret": ion["cs"],
        "service account key": ion["saak"],
        "service account secret": ion["sask"],
        "admin token": admin,
        "webhook secret": webhook_secret,
    }
    for body in (grant, cc, in_query, refreshed):
        secrets[f"access token {body['access_token'][-8:]}"] = body["access_token"]
        secrets[f"refresh token {body['refresh_token'][-8:]}"] = body["refresh_token"]
    for where, text in outputs.items():
        for name, secret in secrets.items():
            assert secret not in text, f"{name} appears in the {where}"


def test_mi_entries_record_the_fields_as_sent_without_generic_parameters(
    client: TestClient, mi: MI
) -> None:
    mi.raw("CRS610MI", "LstByName", CUNM="Nordic & Co é", maxrecs="2", password="hunter2")
    mi.raw("CRS610MI", "GetBasicData", CUNO="C10001", CUNM="x", returncols="CUNO")
    lst, get = journal(client)[-2:]
    assert lst["request"] == {"CUNM": "Nordic & Co é", "password": "***"}
    assert get["request"] == {"CUNO": "C10001", "CUNM": "x"}
    assert (lst["response"], get["response"]) == ({"records": 2}, {"records": 1})
