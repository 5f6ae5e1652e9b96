"""Ordered lanes: why one order's events never overtake each other, even across retries.

Deliveries wait in a FIFO per subscription and business key (`Event.key`, Event Hub's
keyValue); only the head of a FIFO is ever in flight, so the events of one order arrive in
publish order even across retries, and a failing head holds back only its own key. Ready heads
go through one asyncio queue to `workers` tasks sharing a keep-alive `Sender`, so concurrency
is bounded however many keys are waiting. A failed attempt (non-2xx, timeout, connection error)
is retried after an exponential, jittered back-off measured on `sim.clock`: a scheduler wakes
every `tick` seconds of real time and releases heads whose due time has passed, so
`POST /_sim/clock/advance` fires due retries at once and tests never sleep through back-off.
After the last attempt the delivery goes to the dead-letter queue with every attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from simulator.events.deliverylog import Delivery, DeliveryLog, DeliveryStats
from simulator.events.sender import Sender, SendError

if TYPE_CHECKING:
    from simulator.clock import Clock
    from simulator.ops import Ops

Token = tuple[str, str]  # (subscription id, business key)


def _bod_renderer() -> Any:
    try:
        from simulator.events import bod
    except ImportError:
        return None
    return getattr(bod, "render", None)


class Lanes:
    """The FIFOs of one hub, the workers attempting their heads and the retry scheduler.

    Outcomes go back to the hub: `dead(d, reason)` dead-letters a delivery, and `settled()` is
    called once for each delivery that stops being pending.
    """

    def __init__(
        self,
        clock: Clock,
        log: DeliveryLog,
        stats: DeliveryStats,
        *,
        ops: Ops | None,
        rng: random.Random,
        dead: Callable[[Delivery, str], None],
        settled: Callable[[], None],
    ) -> None:
        self.clock, self.log, self.stats = clock, log, stats
        self.ops = ops  # journal and metrics of each attempt
        self.rng = rng
        self._dead, self._settled = dead, settled
        self._bod = _bod_renderer()
        self._lanes: dict[str, dict[str, deque[Delivery]]] = {}
        self._waiting: list[tuple[float, int, Token]] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._ready: asyncio.Queue[Token] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.sender: Sender | None = None

    @property
    def renders_bod(self) -> bool:
        return self._bod is not None

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def add(self, d: Delivery) -> None:
        """Queues `d` behind the deliveries of its key; a new head is ready at once if running."""
        lane = self._lanes.setdefault(d.sub.id, {})
        fifo = lane.get(d.event.key)
        if fifo is None:
            lane[d.event.key] = deque((d,))
            if self._tasks:
                self._ready.put_nowait((d.sub.id, d.event.key))
        else:
            fifo.append(d)

    def drop(self, sid: str) -> list[Delivery]:
        """Removes a subscription's lane; returns its deliveries except an in-flight head, which
        its worker dead-letters and settles when the attempt ends."""
        lane = self._lanes.pop(sid, None) or {}
        return [d for fifo in lane.values() for i, d in enumerate(fifo) if i or not d.in_flight]

    def __iter__(self) -> Iterator[Delivery]:
        """Every queued delivery, in order per key."""
        for lane in self._lanes.values():
            for fifo in lane.values():
                yield from fifo

    # -- workers ------------------------------------------------------------------------
    def start(self, workers: int, tick: float) -> None:
        """Starts workers and the scheduler on the running loop; every head is ready at once."""
        self._ready = asyncio.Queue()
        self._waiting.clear()
        for sid, lane in self._lanes.items():
            for key in lane:
                self._ready.put_nowait((sid, key))
        self.sender = Sender(limit_per_origin=workers)
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(workers)]
        self._tasks.append(asyncio.create_task(self._scheduler(tick)))

    def idle(self, reach: float) -> bool:
        """Nothing in flight or ready, and no back-off comes due within `reach` s of sim.clock."""
        if self._in_flight or not self._ready.empty():
            return False
        return not self._waiting or self._waiting[0][0] > self.clock.now() + reach

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.sender is not None:
            await self.sender.close()

    async def _worker(self) -> None:
        while True:
            token = await self._ready.get()
            lane = self._lanes.get(token[0])
            fifo = lane.get(token[1]) if lane is not None else None
            if lane is None or not fifo:
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

    async def _scheduler(self, tick: float) -> None:
        """Releases retries whose due time (on sim.clock) has come; wakes every `tick`."""
        while True:
            await asyncio.sleep(tick)
            now = self.clock.now()
            while self._waiting and self._waiting[0][0] <= now:
                self._ready.put_nowait(heapq.heappop(self._waiting)[2])

    # -- one attempt --------------------------------------------------------------------
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
