"""SIGTERM in the middle of a storm loses nothing that was accepted.

`ionsim serve` runs with a config file giving `pending_file` and `drain_timeout: 1` and a
subscription to a slow, flapping webhook, so deliveries pile up. Clients keep changing M3
state (each change publishes an event) and, when the route exists, post storm batches; a
poller records every event id the server has published. Then SIGTERM, mid-traffic.

Accepted means: published (seen in `GET /_sim/events`) or answered 202 by the storm route.
Every accepted event must be delivered (2xx at the receiver) or in the pending file, and a
restart with the same config must deliver every pending one.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from simulator.load.events import EventFactory
from tests.reliability._support import route_exists, served, token
from tests.webhook import Webhook

pytestmark = pytest.mark.reliability

API = "/DEMO_TST/M3/m3api-rest/v2/execute"


def _config(tmp: Path, hook_url: str) -> Path:
    cfg = tmp / "ionsim.yaml"
    cfg.write_text(
        f"pending_file: {tmp / 'pending.json'}\n"
        "drain_timeout: 1\n"
        "subscriptions:\n"
        f"  - url: {hook_url}\n"
        "    tenant: DEMO_TST\n"
        "    retry: {maxAttempts: 100, initialDelayMs: 300, maxDelayMs: 2000, jitter: false}\n",
        encoding="utf-8",
    )
    return cfg


def _changes(url: str, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)
    try:
        with httpx.Client(base_url=url, timeout=10) as c:
            auth = {"Authorization": f"Bearer {token(url)}"}
            while not stop.is_set():
                c.get(f"{API}/CRS610MI/ChgBasicData", headers=auth,
                      params={"CUNO": rng.choice(["C10001", "C10002", "C10003"]),
                              "PHNO": f"+46 {rng.randint(10**6, 10**7)}"})  # fmt: skip
    except httpx.HTTPError:
        return  # the server went away: that is the point


def _storm(url: str, stop: threading.Event, accepted: list[str]) -> None:
    factory = EventFactory("DEMO_TST", seed=3)
    try:
        with httpx.Client(base_url=url, timeout=10) as c:
            while not stop.is_set():
                batch = [factory.next() for _ in range(20)]
                body = orjson.dumps([{"channel": ch, "payload": p} for ch, p in batch])
                r = c.post("/_sim/tenants/DEMO_TST/events", content=body,
                           headers={"Content-Type": "application/json"})  # fmt: skip
                if r.status_code == 202:
                    accepted += [p["eventId"] for _, p in batch]
                time.sleep(0.05)
    except httpx.HTTPError:
        return


def _poll_published(url: str, stop: threading.Event, seen: list[str]) -> None:
    since = 0
    try:
        with httpx.Client(base_url=url, timeout=10) as c:
            while not stop.is_set():
                body = c.get("/_sim/events", params={"since": since, "limit": 1000}).json()
                seen += [e["eventId"] for e in body["events"]]
                since = body["last"]
                time.sleep(0.05)
    except (httpx.HTTPError, ValueError):
        return


def test_sigterm_mid_storm_keeps_every_accepted_event(tmp_path: Path) -> None:
    with Webhook() as hook:
        hook.delay = 0.05
        hook.flap(0.5, seed=21)
        cfg = _config(tmp_path, hook.url)
        pending_file = tmp_path / "pending.json"
        stop = threading.Event()
        accepted: list[str] = []
        published: list[str] = []
        with served("--config", str(cfg)) as (proc, url):
            with httpx.Client(base_url=url) as probe:
                storm = route_exists(probe, "POST", "/_sim/tenants/DEMO_TST/events", content=b"[]")
            threads = [threading.Thread(target=_changes, args=(url, i, stop)) for i in range(3)]
            threads.append(threading.Thread(target=_poll_published, args=(url, stop, published)))
            if storm:
                threads.append(threading.Thread(target=_storm, args=(url, stop, accepted)))
            for t in threads:
                t.start()
            time.sleep(4)
            proc.send_signal(signal.SIGTERM)  # mid-traffic: clients are still sending
            assert proc.wait(30) == 0
            stop.set()
            for t in threads:
                t.join(15)

        expected = set(published) | set(accepted)
        assert len(expected) > 20, f"too little traffic to prove anything: {len(expected)}"
        delivered = set(hook.event_ids())
        assert pending_file.is_file(), "nothing pending: the webhook was not slow enough"
        pending = {
            p["event"]["eventId"] for p in orjson.loads(pending_file.read_bytes())["pending"]
        }
        lost = expected - delivered - pending
        assert not lost, f"{len(lost)} accepted events lost at SIGTERM: {sorted(lost)[:5]}"
        assert pending - delivered, "every pending event was already delivered"

        hook.flap(0, seed=0)
        hook.delay = 0.0
        with served("--config", str(cfg)) as (_, url):
            hook.wait_for(lambda: pending <= set(hook.event_ids()), timeout=30)
            assert not pending_file.exists(), "the pending file is consumed at start"
        print(
            f"sigterm: accepted {len(expected)} (storm {len(accepted)}), delivered before "
            f"{len(delivered)}, pending {len(pending)}, all delivered after restart"
        )
