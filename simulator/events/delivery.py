"""Webhook delivery that loses nothing: every delivery is delivered, dead-lettered or kept.

The hub is the one door to delivery (publish, subscriptions, DLQ, start and stop), so that
promise is kept in one place: every (event, subscription) pair becomes a `Delivery`, pending
until it is delivered or dead-lettered with every attempt, and whatever is still pending at
stop is written out, never dropped. Order and retries live in `lanes.py`, what is remembered
in `deliverylog.py`.

Bounds (all documented in README): at most `max_pending` (100,000) deliveries pending per hub
before `saturated` is set and `await put(event)` waits; `publish(event)` (sync, called from MI
listeners) never drops, the gateway refuses MI calls with 503 while saturated instead. The log
is a ring of `log_cap` (100,000) entries; the counters in `DeliveryStats` are exact and never
capped. The DLQ keeps `dlq_cap` (100,000) entries; beyond that the oldest is evicted, counted
and logged (never silently).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from simulator.errors import ConfigError, RequestError
from simulator.events.deliverylog import (
    DeadLetter,
    Delivery,
    DeliveryLog,
    DeliveryStats,
    event_from_json,
    event_to_json,
)
from simulator.events.lanes import Lanes
from simulator.events.model import Event
from simulator.events.subscriptions import Registry, contract_channels

if TYPE_CHECKING:
    from simulator.runtime import Simulator

log = logging.getLogger("ionsim.delivery")


class DeliveryHub:
    def __init__(
        self,
        sim: Simulator,
        *,
        workers: int = 32,
        max_pending: int = 100_000,
        log_cap: int = 100_000,
        dlq_cap: int = 100_000,
        tick: float = 0.02,
    ) -> None:
        self.clock = sim.clock
        self.config = sim.config
        self.workers, self.max_pending = workers, max_pending
        self.dlq_cap, self.tick = dlq_cap, tick
        self.log = DeliveryLog(log_cap)
        self.stats = DeliveryStats()
        self.lanes = Lanes(
            self.clock, self.log, self.stats,
            ops=getattr(sim, "ops", None), rng=random.Random(sim.rng.getrandbits(64)),
            dead=self._dead, settled=self._settled,
        )  # fmt: skip
        self.subscriptions = Registry(
            contract_channels(sim.config.data_dir), self.lanes.renders_bod
        )
        for i, body in enumerate(sim.config.extra.get("subscriptions") or []):
            try:
                self.subscriptions.create(body)
            except RequestError as exc:
                raise ConfigError(f"config subscriptions[{i}]: {exc.message}") from None
        self.dlq: OrderedDict[str, DeadLetter] = OrderedDict()
        self.pending = 0
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._space = asyncio.Event()

    @property
    def running(self) -> bool:
        return self.lanes.running

    @property
    def saturated(self) -> bool:
        return self.pending >= self.max_pending

    # -- entering and leaving -----------------------------------------------------------
    def publish(self, event: Event) -> int:
        """Fans an event out to matching subscriptions; never drops. Returns the fan-out."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._thread:
            loop.call_soon_threadsafe(self.publish, event)
            return -1
        self.stats.events += 1
        subs = self.subscriptions.matching(event)
        if not subs:
            self.stats.unmatched += 1
        for sub in subs:
            d = Delivery(f"d{next(self._ids)}", event, sub, self.clock.now())
            self._enqueue(d, "published")
        return len(subs)

    async def put(self, event: Event) -> int:
        """`publish` with back-pressure: waits while the hub holds `max_pending` deliveries."""
        while self.saturated:
            self._space.clear()
            await self._space.wait()
        return self.publish(event)

    def _enqueue(self, d: Delivery, how: str) -> None:
        self.lanes.add(d)
        self.pending += 1
        self.stats.count(d, how)
        self.log.add(self.clock.now(), "entered", d)

    def _settled(self) -> None:
        self.pending -= 1
        if not self._space.is_set() and not self.saturated:
            self._space.set()

    # -- DLQ and subscriptions ----------------------------------------------------------
    def _dead(self, d: Delivery, reason: str) -> None:
        now = self.clock.now()
        self.dlq[d.id] = DeadLetter(d, reason, now)
        self.stats.count(d, "deadLettered")
        self.log.add(now, "dead-lettered", d, len(d.attempts), 0, reason)
        if len(self.dlq) > self.dlq_cap:
            _, old = self.dlq.popitem(last=False)
            self.stats.dlq_evicted += 1
            log.warning("DLQ full (%d): evicted %s of event %s", self.dlq_cap, old.delivery.id,
                        old.delivery.event.event_id)  # fmt: skip

    def unsubscribe(self, sid: str) -> int:
        """Removes a subscription; its pending deliveries go to the DLQ (never silently lost)."""
        self.subscriptions.remove(sid)
        left = self.lanes.drop(sid)  # an in-flight head is dead-lettered when its attempt ends
        for d in left:
            self._dead(d, "subscription deleted")
            self._settled()
        return len(left)

    def replay(self, ids: list[str] | None = None) -> dict[str, Any]:
        """Re-enqueues dead letters (all, or by delivery or event id) with attempts reset."""
        wanted = set(ids) if ids is not None else None
        replayed, skipped = [], []
        for did, dead in list(self.dlq.items()):
            d = dead.delivery
            if wanted is not None and did not in wanted and d.event.event_id not in wanted:
                continue
            if d.sub.id not in self.subscriptions:
                skipped.append({"id": did, "reason": f"subscription {d.sub.id} no longer exists"})
                continue
            del self.dlq[did]
            fresh = Delivery(f"d{next(self._ids)}", d.event, self.subscriptions.get(d.sub.id),
                             self.clock.now())  # fmt: skip
            self._enqueue(fresh, "replayed")
            replayed.append({"id": did, "delivery": fresh.id, "event": d.event.event_id})
        return {"replayed": replayed, "skipped": skipped}

    # -- start, stop and what is kept ---------------------------------------------------
    async def start(self) -> None:
        """Starts workers on the running loop; pending deliveries (kept, restored) go first."""
        if self.lanes.running:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._space = asyncio.Event()
        self.lanes.start(self.workers, self.tick)
        self._load_pending_file()

    async def stop(self, timeout: float = 5.0) -> dict[str, Any]:
        """Drains within `timeout` s; whatever remains is logged, kept and written out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            left = deadline - loop.time()
            # A manual clock does not move while we wait: its back-offs never come due here.
            reach = left if getattr(self.clock, "realtime", True) else 0.0
            if self.lanes.idle(reach):
                break  # only back-offs that cannot come due in time remain
            await asyncio.sleep(0.01)
        await self.lanes.stop()
        self._loop = None
        return self._report_remaining()

    def _report_remaining(self) -> dict[str, Any]:
        items = self.pending_items()
        per: dict[str, int] = {}
        for d in items:
            per[f"{d.event.tenant}/{d.sub.id}"] = per.get(f"{d.event.tenant}/{d.sub.id}", 0) + 1
        if items:
            log.warning("delivery stopped with %d pending deliveries kept: %s", len(items), per)
        path = self.config.extra.get("pending_file")
        if path:
            body = [_pending_json(d) for d in items]
            Path(path).write_bytes(orjson.dumps({"version": 1, "pending": body}))
        return {"pending": len(items), "by": per, "deadLettered": len(self.dlq)}

    def _load_pending_file(self) -> None:
        """Deliveries a previous run could not finish come back first (the file is consumed)."""
        path = self.config.extra.get("pending_file")
        if not path or not Path(path).is_file():
            return
        try:
            items = orjson.loads(Path(path).read_bytes())["pending"]
            result = self.restore_pending(None, items)
        except (orjson.JSONDecodeError, KeyError, TypeError, RequestError) as exc:
            raise ConfigError(f"{path}: not a pending-deliveries file ({exc})") from None
        Path(path).unlink()
        log.info("restored pending deliveries from %s: %s", path, result)

    def pending_for(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's undelivered deliveries, for `GET /_sim/tenants/{ti}/snapshot`."""
        return [_pending_json(d) for d in self.pending_items(tenant)]

    def restore_pending(self, tenant: str | None, items: Any) -> dict[str, int]:
        """Re-enqueues `pendingDeliveries` of a snapshot (PUT). A subscription that no longer
        exists is replaced by the ones the event matches now; an event matching none is
        dead-lettered-free but counted as unroutable and logged."""
        if not isinstance(items, list):
            raise RequestError("pendingDeliveries must be a list")
        events = []
        for item in items:
            try:
                event = event_from_json(item["event"])
                sid = str(item.get("subscription", ""))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise RequestError(f"pendingDeliveries item is malformed: {exc!r}") from None
            if tenant is not None and event.tenant != tenant:
                raise RequestError(f"pending event {event.event_id} is of tenant {event.tenant}")
            events.append((event, sid))
        restored = rerouted = unroutable = 0
        for event, sid in events:
            if sid in self.subscriptions:
                subs = [self.subscriptions.get(sid)]
                restored += 1
            else:
                subs = self.subscriptions.matching(event)
                rerouted += len(subs)
                if not subs:
                    unroutable += 1
                    log.warning("pending event %s: subscription %s is gone and no other "
                                "subscription matches", event.event_id, sid)  # fmt: skip
            for sub in subs:
                d = Delivery(f"d{next(self._ids)}", event, sub, self.clock.now())
                self._enqueue(d, "restored")
        return {"restored": restored, "rerouted": rerouted, "unroutable": unroutable}

    def pending_items(self, tenant: str | None = None) -> list[Delivery]:
        return [d for d in self.lanes if tenant is None or d.event.tenant == tenant]


def _pending_json(d: Delivery) -> dict[str, Any]:
    return {
        "subscription": d.sub.id,
        "delivery": d.id,
        "attempts": len(d.attempts),
        "event": event_to_json(d.event),
    }
