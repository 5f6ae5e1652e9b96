"""Subscriptions through `/_sim/`: validation, filters and wildcards, and M3-caused events
delivered end to end to a real receiver (the app's own lifespan runs the delivery workers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from simulator.events.model import Event
from simulator.events.subscriptions import Registry, contract_channels
from tests.conftest import MI
from tests.webhook import Webhook


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with Webhook() as h:
        yield h


def test_create_list_get_delete_never_echo_the_secret(client: TestClient) -> None:
    body = {"url": "http://127.0.0.1:9/ion", "channels": ["order/synced", "customer/*"],
            "secret": "k", "retry": {"maxAttempts": 3}}  # fmt: skip
    r = client.post("/_sim/subscriptions", json=body)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    got = client.get(f"/_sim/subscriptions/{sid}").json()
    assert got["secret"] == "***" and got["retry"]["maxAttempts"] == 3
    assert got["retry"]["initialDelayMs"] == 500 and got["format"] == "json"
    assert [s["id"] for s in client.get("/_sim/subscriptions").json()["subscriptions"]] == [sid]
    assert client.delete(f"/_sim/subscriptions/{sid}").status_code == 200
    assert client.get(f"/_sim/subscriptions/{sid}").status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "url is required"),
        ({"url": "ftp://x/y"}, "not an http"),
        ({"url": "http:///nohost"}, "not an http"),
        ({"url": "http://h/x", "channels": ["order/synk"]}, "matches no channel"),
        ({"url": "http://h/x", "channels": []}, "non-empty list"),
        ({"url": "http://h/x", "format": "xml"}, "format must be"),
        ({"url": "http://h/x", "retry": {"maxAttempts": 0}}, "maxAttempts"),
        ({"url": "http://h/x", "retry": {"initialDelayMs": -1}}, "initialDelayMs"),
        ({"url": "http://h/x", "retry": {"initialDelayMs": 9000, "maxDelayMs": 10}}, "below"),
        ({"url": "http://h/x", "retry": {"backoff": 1}}, "unknown keys"),
        ({"url": "http://h/x", "timeoutMs": 0}, "timeoutMs"),
        ({"url": "http://h/x", "headers": {"Host": "evil"}}, "reserved"),
        ({"url": "http://h/x", "headers": {"X-A": "a\r\nB: c"}}, "one-line"),
        ({"url": "http://h/x", "filter": {"cono": "100"}}, "filter is"),
        ({"url": "http://h/x", "color": "red"}, "unknown keys"),
    ],
)
def test_bad_subscriptions_are_400_with_a_reason(
    client: TestClient, body: dict[str, Any], words: str
) -> None:
    r = client.post("/_sim/subscriptions", json=body)
    assert r.status_code == 400 and words in r.json()["error"], r.text


def _event(channel: str, tenant: str = "DEMO_TST", entity: str = "100_AAA", **data: Any) -> Event:
    return Event("e", channel, tenant, "Doc", "k", {"data": data}, entity=entity)


def test_filters_and_wildcards_select_events() -> None:
    reg = Registry(contract_channels())
    everything = reg.create({"url": "http://h/a"})
    customers = reg.create({"url": "http://h/b", "channels": ["customer/*"], "tenant": "DEMO_TST"})
    one = reg.create(
        {"url": "http://h/c", "filter": {"entity": "100_AAA", "data": {"customerNumber": "C1"}}}
    )

    def who(e: Event) -> set[str]:
        return {s.id for s in reg.matching(e)}

    assert who(_event("customer/deleted", customerNumber="C1")) == {
        everything.id, customers.id, one.id,
    }  # fmt: skip
    assert who(_event("customer/synced", tenant="OTHER_TST", customerNumber="C1")) == {
        everything.id, one.id,
    }  # fmt: skip
    assert who(_event("order/synced", customerNumber="C2")) == {everything.id}
    assert who(_event("order/synced", entity="200_BBB", customerNumber="C1")) == {everything.id}


def test_m3_changes_reach_the_webhook_as_json_and_bod(
    client: TestClient, mi: MI, hook: Webhook
) -> None:
    pytest.importorskip("simulator.events.bod")
    for fmt in ("json", "bod-xml"):
        r = client.post(
            "/_sim/subscriptions",
            json={
                "url": f"{hook.url}?f={fmt}",
                "channels": ["customer/*"],
                "format": fmt,
                "secret": "abc",
            },
        )
        assert r.status_code == 201, r.text
    rec = mi.ok("CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="Eva Berg", CUA1="Gatan 2")
    cuno = rec[0]["CUNO"] if rec and "CUNO" in rec[0] else None
    got = hook.wait_count(2)
    as_json = next(r for r in got if r.path.endswith("f=json"))
    as_bod = next(r for r in got if r.path.endswith("f=bod-xml"))
    payload = as_json.json()
    assert payload["documentType"] == "SyncCustomerPartyMaster"
    assert as_json.headers["x-ionsim-channel"] == "customer/synced"
    assert payload["tenantId"] == "DEMO_TST" and payload["data"]["customerName"] == "Eva Berg"
    if cuno:
        assert payload["data"]["customerNumber"] == cuno
    assert as_bod.headers["content-type"] == "application/xml"
    assert b"SyncCustomerPartyMaster" in as_bod.body and b"Eva Berg" in as_bod.body
    assert as_bod.event_id == as_json.event_id
    log = client.get("/_sim/deliveries", params={"event": as_json.event_id}).json()
    assert {e["status"] for e in log["deliveries"]} == {"entered", "sent", "delivered"}
    stats = client.get("/_sim/deliveries/stats").json()
    assert stats["channels"]["customer/synced"]["delivered"] == 2 and stats["pending"] == 0


def test_dlq_routes_replay_and_purge(client: TestClient, mi: MI, hook: Webhook) -> None:
    hook.status = 500
    r = client.post("/_sim/subscriptions", json={"url": hook.url, "retry": {"maxAttempts": 1}})
    sid = r.json()["id"]
    mi.ok("CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="Ola Dahl", CUA1="Vei 1")
    hook.wait_for(lambda: bool(client.get("/_sim/dlq").json()["deadLetters"]))
    dead = client.get("/_sim/dlq", params={"subscription": sid}).json()["deadLetters"]
    assert len(dead) == 1 and dead[0]["attempts"][0]["status"] == 500
    assert client.get("/_sim/dlq", params={"channel": "order/synced"}).json()["deadLetters"] == []
    hook.status = 200
    replay = client.post("/_sim/dlq/replay", json={"ids": [dead[0]["id"]]}).json()
    assert len(replay["replayed"]) == 1
    hook.wait_count(1)
    assert client.post("/_sim/dlq/replay", json={"ids": "x"}).status_code == 400
    assert client.delete("/_sim/dlq").json() == {"purged": 0}
    assert client.get("/_sim/deliveries", params={"status": "nope"}).status_code == 400
