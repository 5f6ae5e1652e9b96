"""Webhook delivery that loses nothing: per-key ordered queues, retries, DLQ, delivery log.

Every (event, subscription) pair is a `Delivery`. Deliveries wait in a FIFO per subscription and
business key (`Event.key`, Event Hub's keyValue); only the head of a FIFO is ever in flight, so
the events of one order arrive in publish order even across retries, and a failing head holds
back only its own key. Ready heads go through one asyncio queue to `workers` tasks sharing a
keep-alive `Sender`. A failed attempt (non-2xx, timeout, connection error) is retried after an
exponential, jittered back-off measured on `sim.clock`: a scheduler wakes every `tick` seconds
of real time and releases heads whose due time has passed, so `POST /_sim/clock/advance`
fires due retries at once and tests never sleep through back-off. After the last attempt the
delivery goes to the dead-letter queue with every attempt.

Bounds (all documented in README): at most `max_pending` (100,000) deliveries pending per hub
before `saturated` is set and `await put(event)` waits; `publish(event)` (sync, called from MI
listeners) never drops, the gateway refuses MI calls with 503 while saturated instead. The log
is a ring of `log_cap` (100,000) entries; the counters in `DeliveryStats` are exact and never
capped. The DLQ keeps `dlq_cap` (100,000) entries; beyond that the oldest is evicted, counted
and logged (never silently).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import itertools
import logging
import random
import threading
from collections import OrderedDict, deque
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
from simulator.events.model import Event
from simulator.events.sender import Sender, SendError
from simulator.events.subscriptions import Registry, contract_channels

if TYPE_CHECKING:
    from simulator.runtime import Simulator

log = logging.getLogger("ionsim.delivery")
Token = tuple[str, str]  # (subscription id, business key)


def _bod_renderer() -> Any:
    try:
        from simulator.events import bod
    except ImportError:
        return None
    return getattr(bod, "render", None)


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
        self.ops = getattr(sim, "ops", None)  # journal and metrics of each attempt
        self.rng = random.Random(sim.rng.getrandbits(64))
        self.workers, self.max_pending = workers, max_pending
        self.dlq_cap, self.tick = dlq_cap, tick
        self._bod = _bod_renderer()
        self.subscriptions = Registry(contract_channels(sim.config.data_dir), self._bod is not None)
        for i, body in enumerate(sim.config.extra.get("subscriptions") or []):
            try:
                self.subscriptions.create(body)
            except RequestError as exc:
                raise ConfigError(f"config subscriptions[{i}]: {exc.message}") from None
        self.log = DeliveryLog(log_cap)
        self.stats = DeliveryStats()
        self.dlq: OrderedDict[str, DeadLetter] = OrderedDict()
        self.pending = 0
        self._lanes: dict[str, dict[str, deque[Delivery]]] = {}
        self._ids = itertools.count(1)
        self._waiting: list[tuple[float, int, Token]] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._ready: asyncio.Queue[Token] = asyncio.Queue()
        self._space = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.sender: Sender | None = None

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    @property
    def saturated(self) -> bool:
        return self.pending >= self.max_pending

    # -- entering -----------------------------------------------------------------------
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
        lane = self._lanes.setdefault(d.sub.id, {})
        fifo = lane.get(d.event.key)
        if fifo is None:
            lane[d.event.key] = deque((d,))
            if self._loop is not None:
                self._ready.put_nowait((d.sub.id, d.event.key))
        else:
            fifo.append(d)
        self.pending += 1
        self.stats.count(d, how)
        self.log.add(self.clock.now(), "entered", d)

    # -- workers ------------------------------------------------------------------------
    async def start(self) -> None:
        """Starts workers on the running loop; pending deliveries (kept, restored) go first."""
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._ready, self._space = asyncio.Queue(), asyncio.Event()
        self._waiting.clear()
        for sid, lane in self._lanes.items():
            for key in lane:
                self._ready.put_nowait((sid, key))
        self.sender = Sender(limit_per_origin=self.workers)
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
        self._tasks.append(asyncio.create_task(self._scheduler()))
        self._load_pending_file()

    async def _worker(self) -> None:
        while True:
            token = await self._ready.get()
            lane = self._lanes.get(token[0])
            fifo = lane.get(token[1]) if lane is not None else None
            if not fifo:
                continue
            d = fifo[0]
            self._in_flight += 1
            d.in_flight = True
            try:
                finished = await self._attempt(d)
            finally:
                self._in_flight -= 1
                d.in_flight = False
            if self._lanes.get(token[0]) is not lane:  # subscription deleted meanwhile
                if not finished:
                    self._dead(d, "subscription deleted")
                self._settled()
                continue
            if not finished:
                heapq.heappush(self._waiting, (d.due, next(self._seq), token))
                continue
            fifo.popleft()
            self._settled()
            if fifo:
                self._ready.put_nowait(token)
            else:
                del lane[token[1]]

    def _settled(self) -> None:
        self.pending -= 1
        if not self._space.is_set() and not self.saturated:
            self._space.set()

    async def _scheduler(self) -> None:
        """Releases retries whose due time (on sim.clock) has come; wakes every `tick`."""
        while True:
            await asyncio.sleep(self.tick)
            now = self.clock.now()
            while self._waiting and self._waiting[0][0] <= now:
                self._ready.put_nowait(heapq.heappop(self._waiting)[2])

    def _render(self, d: Delivery) -> tuple[bytes, str]:
        if d.sub.format == "bod-xml":
            return self._bod(d.event), "application/xml"
        return orjson.dumps(d.event.payload), "application/json"

    async def _attempt(self, d: Delivery) -> bool:
        """One attempt; True when the delivery is finished (delivered or dead-lettered)."""
        sub, event = d.sub, d.event
        assert self.sender is not None
        if d.body is None:
            try:
                d.body, d.content_type = self._render(d)
            except Exception as exc:
                self._dead(d, f"cannot render {sub.format}: {exc}")
                return True
        n = len(d.attempts) + 1
        headers = {
            "Content-Type": d.content_type,
            "X-Ionsim-Event-Id": event.event_id,
            "X-Ionsim-Channel": event.channel,
            "X-Ionsim-Tenant": event.tenant,
            "X-Ionsim-Delivery": d.id,
            "X-Ionsim-Attempt": str(n),
            **event.headers,
            **sub.headers,
        }
        if sub.secret:
            mac = hmac.new(sub.secret.encode(), d.body, hashlib.sha256).hexdigest()
            headers["X-Ionsim-Signature"] = f"sha256={mac}"
        at = self.clock.now()
        self.log.add(at, "sent", d, n)
        try:
            status, latency = await self.sender.send(sub.url, d.body, headers, sub.timeout)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except SendError as exc:
            status, latency, error = 0, exc.latency, exc.reason
        d.attempts.append((at, status, error, round(latency * 1000, 3)))
        ops = self.ops
        if not error:
            self.log.add(self.clock.now(), "delivered", d, n, status, "", latency)
            self.stats.count(d, "delivered")
            if ops is not None:
                ops.delivery(d, n, at, status, "", latency, "delivered")
            return True
        self.log.add(self.clock.now(), "failed", d, n, status, error, latency)
        self.stats.count(d, "failed")
        if n >= sub.retry.max_attempts:
            self._dead(d, f"{n} attempts failed, last: {error}")
            if ops is not None:
                ops.delivery(d, n, at, status, error, latency, "dead-lettered")
            return True
        self.stats.count(d, "retried")
        d.due = self.clock.now() + sub.retry.delay(n, self.rng)
        if ops is not None:
            ops.delivery(d, n, at, status, error, latency, "retrying")
        return False

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

    # -- subscriptions, DLQ -------------------------------------------------------------
    def unsubscribe(self, sid: str) -> int:
        """Removes a subscription; its pending deliveries go to the DLQ (never silently lost)."""
        self.subscriptions.remove(sid)
        lane = self._lanes.pop(sid, None) or {}
        moved = 0
        for fifo in lane.values():
            for i, d in enumerate(fifo):
                if i == 0 and d.in_flight:
                    continue  # the worker dead-letters it when the attempt ends
                self._dead(d, "subscription deleted")
                self._settled()
                moved += 1
        return moved

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

    # -- shutdown and what is kept --------------------------------------------------------
    async def stop(self, timeout: float = 5.0) -> dict[str, Any]:
        """Drains within `timeout` s; whatever remains is logged, kept and written out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            left = deadline - loop.time()
            busy = self._in_flight or not self._ready.empty()
            # A manual clock does not move while we wait: its back-offs never come due here.
            reach = left if getattr(self.clock, "realtime", True) else 0.0
            if not busy and (not self._waiting or self._waiting[0][0] > self.clock.now() + reach):
                break  # only back-offs that cannot come due in time remain
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks, self._loop = [], None
        if self.sender is not None:
            await self.sender.close()
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
        return [
            d
            for lane in self._lanes.values()
            for fifo in lane.values()
            for d in fifo
            if tenant is None or d.event.tenant == tenant
        ]


def _pending_json(d: Delivery) -> dict[str, Any]:
    return {
        "subscription": d.sub.id,
        "delivery": d.id,
        "attempts": len(d.attempts),
        "event": event_to_json(d.event),
    }
