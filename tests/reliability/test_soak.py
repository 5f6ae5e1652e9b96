"""Soak: MI traffic, a storm, a flapping webhook and fault rules at once, then exact accounting.

For `IONSIM_SOAK_SECONDS` (default 60) a pool of httpx clients calls a realistic MI mix that
changes state (customers, orders, so events are published), a storm thread posts batches of
contract-valid events (when `POST /_sim/tenants/{ti}/events` exists), the subscribed webhook
fails a quarter of its deliveries (500, 503 or a dropped connection, seeded) and a fault rule
answers 503 to a tenth of `MMS200MI/GetItmBasic` calls (when `PUT /_sim/faults` exists).

Then the webhook heals and the books must balance exactly: every published or accepted event
was delivered (2xx at the receiver) or is in the DLQ, the receiver saw nothing that was not
published, no 5xx other than the injected ones, on-hand = allocated + available on every
stock row, and the server's RSS at the end is within a tolerance of its RSS at one third.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from simulator.load.events import EventFactory
from tests.reliability._support import (
    PublishedIds,
    dead_letter_ids,
    route_exists,
    rss_mib,
    served,
    stock_invariant_violations,
    token,
)
from tests.webhook import Webhook

pytestmark = pytest.mark.reliability

SECONDS = float(os.environ.get("IONSIM_SOAK_SECONDS", "60"))
CLIENTS = 6
API = "/DEMO_TST/M3/m3api-rest/v2/execute"
CUSTOMERS = ["C10001", "C10002", "C10003"]
ITEMS = ["HLAMP-300", "BOTTLE-1L", "BOOT-42", "TENT-2P", "BACKP-45"]
FAULTED = "MMS200MI/GetItmBasic"
# The orders the clients create are deleted again and the rings are small (see the config in
# the test), so after the first third RSS may only wobble: allocator slack, not a leak.
RSS_TOLERANCE = (1.15, 24.0)  # end <= max(third * 1.15, third + 24 MiB)


class Tally:
    """Thread-safe counters of what the clients saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.unexpected: list[str] = []

    def add(self, key: str, problem: str | None = None) -> None:
        with self.lock:
            self.counts[key] += 1
            if problem and len(self.unexpected) < 50:
                self.unexpected.append(problem)


def mi_worker(url: str, seed: int, stop: threading.Event, tally: Tally) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=30) as c:
        auth = {"Authorization": f"Bearer {token(url)}"}

        def call(name: str, **params: str) -> dict[str, Any] | None:
            for _ in range(20):  # bounded: throttling and injected 503 are retried
                r = c.get(f"{API}/{name}", params=params, headers=auth)
                if r.status_code == 200:
                    tally.add("mi 200")
                    result: dict[str, Any] = r.json()["results"][0]
                    return None if "errorMessage" in result else result
                if r.status_code in (429, 503):
                    injected = r.status_code == 503 and name == FAULTED
                    saturated = r.status_code == 503 and "queue is full" in r.text
                    if r.status_code == 503 and not (injected or saturated):
                        tally.add("mi 5xx", f"{name} {params}: {r.status_code} {r.text[:200]}")
                        return None
                    tally.add(f"mi {r.status_code} {'injected' if injected else 'retry'}")
                    time.sleep(min(float(r.headers.get("Retry-After", "0") or 0), 1.0) or 0.01)
                    continue
                tally.add(f"mi {r.status_code}", f"{name} {params}: {r.status_code} {r.text[:200]}")
                return None
            return None

        n = 0
        while not stop.is_set():
            n += 1
            pick = rng.random()
            if pick < 0.3:
                call("CRS610MI/GetBasicData", CUNO=rng.choice(CUSTOMERS))
            elif pick < 0.45:
                call("CRS610MI/LstByNumber", CUNO="C1", maxrecs="10")
            elif pick < 0.6:
                call(FAULTED, ITNO=rng.choice(ITEMS))
            elif pick < 0.7:
                call("MMS060MI/List", WHLO="001", maxrecs="20")
            elif pick < 0.85:
                call("CRS610MI/ChgBasicData", CUNO=rng.choice(CUSTOMERS),
                     PHNO=f"+46 8 {rng.randint(100000, 999999)}")  # fmt: skip
            else:
                head = call("OIS100MI/AddBatchHead", CUNO=rng.choice(CUSTOMERS[:2]))
                if head and head.get("records"):
                    orno = head["records"][0]["ORNO"]
                    call("OIS100MI/AddBatchLine", ORNO=orno, ITNO=rng.choice(ITEMS), ORQT="1")
                    confirmed = call("OIS100MI/Confirm", ORNO=orno)
                    if confirmed and confirmed.get("records"):  # keep the data from growing
                        call("OIS100MI/DelHead", ORNO=confirmed["records"][0]["ORNO"])


def storm_worker(url: str, stop: threading.Event, accepted: list[str], tally: Tally) -> None:
    factory = EventFactory("DEMO_TST", seed=99)
    with httpx.Client(base_url=url, timeout=30) as c:
        while not stop.is_set():
            batch = [factory.next() for _ in range(25)]
            body = orjson.dumps([{"channel": ch, "payload": p} for ch, p in batch])
            r = c.post("/_sim/tenants/DEMO_TST/events", content=body,
                       headers={"Content-Type": "application/json"})  # fmt: skip
            if r.status_code in (200, 201, 202):
                accepted += [p["eventId"] for _, p in batch]
                tally.add("storm accepted", None)
            elif r.status_code in (429, 503):
                tally.add("storm retry")
                time.sleep(0.2)
            else:
                tally.add("storm refused", f"storm batch: {r.status_code} {r.text[:200]}")
            time.sleep(0.1)


def test_soak_accounts_for_every_event(tmp_path: Path) -> None:
    # Small rings fill in the first third of the run, so what RSS does after that is a leak.
    config = tmp_path / "soak.yaml"
    config.write_text(
        "journal_size: 2000\ndelivery_log_size: 5000\nevent_log_size: 5000\n", encoding="utf-8"
    )
    with (
        Webhook() as hook,
        served("--config", str(config)) as (proc, url),
        httpx.Client(base_url=url) as ctl,
    ):
        sub = ctl.post(
            "/_sim/subscriptions",
            json={
                "url": hook.url,
                "tenant": "DEMO_TST",
                "retry": {
                    "maxAttempts": 4,
                    "initialDelayMs": 20,
                    "maxDelayMs": 200,
                    "multiplier": 2.0,
                    "jitter": True,
                },
            },
        )
        assert sub.status_code == 201, sub.text
        hook.flap(0.25, seed=11)
        faults = route_exists(ctl, "GET", "/_sim/faults")
        if faults:
            r = ctl.put(
                "/_sim/faults",
                json={"rules": [{
                    "match": {"program": "MMS200MI", "transaction": "GetItmBasic"},
                    "action": {"status": 503, "retry_after": 0},
                    "probability": 0.1, "seed": 5,
                }]},
            )  # fmt: skip
            assert r.status_code == 200, r.text
        storm = route_exists(ctl, "POST", "/_sim/tenants/DEMO_TST/events", content=b"[]")

        stop, tally, accepted = threading.Event(), Tally(), []  # type: list[str]
        followed = PublishedIds()
        with ThreadPoolExecutor(CLIENTS + 2) as pool:
            futures = [pool.submit(mi_worker, url, i, stop, tally) for i in range(CLIENTS)]
            futures.append(pool.submit(followed.follow, url, stop))
            if storm:
                futures.append(pool.submit(storm_worker, url, stop, accepted, tally))
            time.sleep(SECONDS / 3)
            rss_third = rss_mib(proc.pid)
            time.sleep(SECONDS * 2 / 3)
            stop.set()
            for f in futures:
                f.result(timeout=60)

        hook.flap(0, seed=0)  # heal: what is still pending must now arrive
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = ctl.get("/_sim/deliveries/stats").json()
            if stats["pending"] == 0:
                break
            time.sleep(0.2)
        rss_end = rss_mib(proc.pid)

        followed.poll(ctl)
        published = followed.ids
        expected = set(published) | set(accepted)
        delivered = set(hook.event_ids())
        dead = dead_letter_ids(ctl)
        seen_anything = {r.event_id for r in hook.received(ok_only=False)}
        snapshot = ctl.get("/_sim/tenants/DEMO_TST/snapshot").json()

        report = {
            "seconds": SECONDS,
            "clients": dict(tally.counts),
            "published": len(published),
            "storm accepted": len(accepted),
            "delivered": len(delivered),
            "dead-lettered": len(dead),
            "receiver requests": len(hook.requests),
            "pending": stats["pending"],
            "rss third MiB": round(rss_third, 1),
            "rss end MiB": round(rss_end, 1),
            "faults": faults,
            "storm": storm,
        }
        print("soak report:", report)
        assert tally.counts["mi 200"] > 100, report
        assert not tally.unexpected, tally.unexpected[:10]
        assert len(published) == len(set(published)), "duplicate event ids in /_sim/events"
        assert stats["pending"] == 0, report
        lost = expected - delivered - dead
        assert not lost, (
            f"{len(lost)} events neither delivered nor dead-lettered: {sorted(lost)[:5]}"
        )
        phantom = seen_anything - expected
        assert not phantom, f"receiver got events nobody published: {sorted(phantom)[:5]}"
        assert not (dead - expected), "DLQ holds events that were never published"
        assert not stock_invariant_violations(snapshot), stock_invariant_violations(snapshot)[:3]
        factor, slack = RSS_TOLERANCE
        assert rss_end <= max(rss_third * factor, rss_third + slack), report
