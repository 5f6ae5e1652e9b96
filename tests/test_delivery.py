"""Webhook delivery against a real receiver on loopback: retries, order, DLQ, nothing lost.

The hub runs on a test's own asyncio loop with a ManualClock, so back-off waits are skipped by
advancing the clock, never slept through; the receiver (tests/webhook.py) is a real server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import orjson
import pytest

from simulator import ManualClock, load_config
from simulator.events.delivery import DeliveryHub
from simulator.events.model import Event
from simulator.runtime import Simulator
from tests.webhook import Webhook

FAST = {"initialDelayMs": 1000, "maxDelayMs": 4000, "multiplier": 2.0}


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with Webhook() as h:
        yield h


def make_hub(clock: ManualClock, **extra: Any) -> DeliveryHub:
    config = load_config(env={}, access_log=False, rng_seed=1234, extra=extra)
    return Simulator(config, clock).hub


def event(n: int, key: str = "K1", channel: str = "order/synced", **data: Any) -> Event:
    eid = f"ev-{n:05d}"
    payload = {
        "eventId": eid,
        "documentType": "SyncSalesOrder",
        "tenantId": "DEMO_TST",
        "timestamp": "2024-05-01T10:15:30.000Z",
        "data": {"orderNumber": key, **data},
    }
    return Event(eid, channel, "DEMO_TST", "SyncSalesOrder", key, payload, entity="100_AAA")


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 25))


async def until(pred: Callable[[], bool], timeout: float = 5.0, tick: Any = None) -> None:
    """Polls `pred`; `tick()` runs each round (e.g. advancing the clock past back-offs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        if tick:
            tick()
        await asyncio.sleep(0.01)


def test_delivers_signed_body_with_headers(hook: Webhook, clock: ManualClock) -> None:
    async def main() -> None:
        hub = make_hub(clock)
        hub.subscriptions.create(
            {"url": hook.url, "secret": "s3cret", "headers": {"X-Team": "blue"}}
        )
        await hub.start()
        for i in range(3):
            assert hub.publish(event(i, key=f"K{i}")) == 1
        await until(lambda: len(hook.received()) == 3)
        await hub.stop(1)

    run(main())
    for r in hook.received():
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-team"] == "blue"
        assert r.headers["x-ionsim-channel"] == "order/synced"
        assert r.json()["eventId"] == r.event_id
        mac = hmac.new(b"s3cret", r.body, hashlib.sha256).hexdigest()
        assert r.headers["x-ionsim-signature"] == f"sha256={mac}"
    assert sorted(hook.event_ids()) == ["ev-00000", "ev-00001", "ev-00002"]


def test_retries_wait_for_the_clock_then_succeed(hook: Webhook, clock: ManualClock) -> None:
    hook.script(500, 503, 0)  # two error statuses, then a dropped connection, then 200s

    async def main() -> DeliveryHub:
        hub = make_hub(clock)
        hub.subscriptions.create({"url": hook.url, "retry": {**FAST, "jitter": False}})
        await hub.start()
        hub.publish(event(1))
        await until(lambda: len(hook.received(ok_only=False)) == 1)
        await asyncio.sleep(0.1)  # back-off is on the sim clock: nothing more arrives
        assert len(hook.received(ok_only=False)) == 1
        await until(lambda: len(hook.received()) == 1, tick=lambda: clock.advance(1))
        await hub.stop(1)
        return hub

    hub = run(main())
    assert [r.status for r in hook.received(ok_only=False)] == [500, 503, 0, 200]
    statuses = [e["status"] for e in hub.log.query(event="ev-00001")]
    assert statuses == ["entered"] + ["sent", "failed"] * 3 + ["sent", "delivered"]
    failed = hub.log.query(status="failed")
    assert [f.get("httpStatus") for f in failed] == [500, 503, None]
    assert "connection closed" in failed[2]["error"]
    row = hub.stats.by_sub["sub-1"]
    assert (row["published"], row["delivered"], row["retried"], row["pending"]) == (1, 1, 3, 0)


def test_dead_letter_keeps_every_attempt_and_replay_delivers(
    hook: Webhook, clock: ManualClock
) -> None:
    hook.status = 500

    async def main() -> DeliveryHub:
        hub = make_hub(clock)
        hub.subscriptions.create({"url": hook.url, "retry": {**FAST, "maxAttempts": 3}})
        await hub.start()
        hub.publish(event(7))
        await until(lambda: len(hub.dlq) == 1, tick=lambda: clock.advance(5))
        dead = next(iter(hub.dlq.values())).to_json()
        assert dead["eventId"] == "ev-00007" and dead["reason"].startswith("3 attempts failed")
        assert [a["status"] for a in dead["attempts"]] == [500, 500, 500]
        assert all(a["latencyMs"] > 0 and a["at"].endswith("Z") for a in dead["attempts"])
        hook.status = 200
        result = hub.replay(["ev-00007"])
        assert len(result["replayed"]) == 1 and not hub.dlq
        await until(lambda: hook.event_ids() == ["ev-00007"])
        await hub.stop(1)
        return hub

    hub = run(main())
    row = hub.stats.by_sub["sub-1"]
    assert (row["deadLettered"], row["replayed"], row["delivered"], row["pending"]) == (1, 1, 1, 0)


def test_a_failing_event_holds_back_only_its_own_key(hook: Webhook, clock: ManualClock) -> None:
    hook.script(500)

    async def main() -> None:
        hub = make_hub(clock)
        hub.subscriptions.create({"url": hook.url, "retry": FAST})
        await hub.start()
        hub.publish(event(1, key="A"))
        await until(lambda: len(hook.received(ok_only=False)) == 1)
        for i in range(2, 7):
            hub.publish(event(i, key="B"))
        hub.publish(event(7, key="A"))
        await until(lambda: len(hook.received()) == 5)
        await asyncio.sleep(0.05)
        assert hook.event_ids() == [f"ev-0000{i}" for i in range(2, 7)]  # B in order, no A
        clock.advance(2)
        await until(lambda: len(hook.received()) == 7)
        assert hook.event_ids()[5:] == ["ev-00001", "ev-00007"]
        await hub.stop(1)

    run(main())


def _flapping_run(hook: Webhook, clock: ManualClock, attempts: int) -> tuple[DeliveryHub, list]:
    """200 events on 20 keys against a receiver failing 30% at random that also goes down."""
    hook.flap(0.3, seed=42)
    published: list[Event] = []

    async def main() -> DeliveryHub:
        hub = make_hub(clock)
        hub.subscriptions.create(
            {"url": hook.url, "retry": {**FAST, "maxAttempts": attempts}, "timeoutMs": 2000}
        )
        await hub.start()
        for i in range(200):
            if i == 80:
                hook.down()
            if i == 120:
                await asyncio.sleep(0.1)
                hook.up()
            published.append(event(i, key=f"K{i % 20}"))
            hub.publish(published[-1])
            await asyncio.sleep(0.001)
        await until(lambda: hub.pending == 0, timeout=15, tick=lambda: clock.advance(2))
        await hub.stop(1)
        return hub

    return run(main()), published


def test_order_per_key_holds_under_a_flapping_receiver(hook: Webhook, clock: ManualClock) -> None:
    hub, published = _flapping_run(hook, clock, attempts=100)
    assert not hub.dlq
    for k in range(20):
        sent = [e.event_id for e in published if e.key == f"K{k}"]
        got = [r.event_id for r in hook.received() if r.json()["data"]["orderNumber"] == f"K{k}"]
        assert list(dict.fromkeys(got)) == sent  # at-least-once: duplicates only, in order


def test_nothing_is_lost_delivered_plus_dead_lettered_is_published(
    hook: Webhook, clock: ManualClock
) -> None:
    hub, published = _flapping_run(hook, clock, attempts=2)
    ids = {e.event_id for e in published}
    received = set(hook.event_ids())
    dead = {d.delivery.event.event_id for d in hub.dlq.values()}
    assert dead and received  # the run exercised both outcomes
    assert received | dead == ids  # none missing ...
    assert not received & dead  # ... and a dead letter was never acknowledged
    row = hub.stats.by_sub["sub-1"]
    assert row["delivered"] + row["deadLettered"] == row["published"] == 200
    assert row["delivered"] == len(received)


def test_stop_keeps_what_it_cannot_deliver(hook: Webhook, clock: ManualClock, tmp_path) -> None:
    pending_file = tmp_path / "pending.json"
    hook.down()

    async def first() -> tuple[dict, list]:
        hub = make_hub(clock, pending_file=str(pending_file))
        hub.subscriptions.create({"url": hook.url, "retry": FAST})
        await hub.start()
        for i in range(4):
            hub.publish(event(i, key=f"K{i % 2}"))
        await until(lambda: len(hub.log.query(status="failed")) == 2)
        report = await hub.stop(0.5)
        return report, hub.pending_for("DEMO_TST")

    report, kept = run(first())
    assert report["pending"] == 4 and len(kept) == 4
    assert orjson.loads(pending_file.read_bytes())["pending"] == kept
    hook.up()

    async def second() -> None:  # a new process with the same config takes them over
        hub = make_hub(clock, pending_file=str(pending_file))
        hub.subscriptions.create({"url": hook.url, "retry": FAST})
        await hub.start()
        assert not pending_file.exists()
        await until(lambda: len(hook.received()) == 4)
        await hub.stop(1)

    run(second())
    assert sorted(hook.event_ids()) == [f"ev-0000{i}" for i in range(4)]


def test_back_pressure_put_waits_while_saturated(hook: Webhook, clock: ManualClock) -> None:
    hook.down()

    async def main() -> None:
        hub = make_hub(clock)
        hub.max_pending = 5
        hub.subscriptions.create({"url": hook.url, "retry": {**FAST, "maxAttempts": 100}})
        await hub.start()
        for i in range(5):
            await hub.put(event(i, key=f"K{i}"))
        assert hub.saturated
        hub.publish(event(5, key="K5"))  # the sync path never drops
        blocked = asyncio.create_task(hub.put(event(6, key="K6")))
        await asyncio.sleep(0.1)
        assert not blocked.done()
        hook.up()
        await until(blocked.done, tick=lambda: clock.advance(5))
        await until(lambda: len(set(hook.event_ids())) == 7, tick=lambda: clock.advance(5))
        assert not hub.saturated
        await hub.stop(1)

    run(main())


def test_unsubscribe_dead_letters_what_was_pending(hook: Webhook, clock: ManualClock) -> None:
    hook.down()

    async def main() -> None:
        hub = make_hub(clock)
        sub = hub.subscriptions.create({"url": hook.url, "retry": FAST})
        await hub.start()
        for i in range(3):
            hub.publish(event(i))
        await until(lambda: len(hub.log.query(status="failed")) == 1)
        assert hub.unsubscribe(sub.id) == 3
        assert hub.pending == 0 and len(hub.dlq) == 3
        assert hub.replay()["skipped"]  # nowhere to replay to: kept in the DLQ
        await hub.stop(1)

    run(main())
