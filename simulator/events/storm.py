"""Synthetic event storms: generator -> open-loop rate controller -> sender -> statistics.

Workers (`concurrency` of them, one keep-alive connection each) claim the next event, generate
it, wait until it is due (`simulator.events.storm_plan.schedule`) and send it; when every worker
is busy the next sends start late, and that lateness is measured and reported instead of
silently shifting the schedule.

Two targets: `target` (each event POSTed as its JSON payload to a URL) or `tenant` (batches
POSTed to a running ionsim's `POST /_sim/tenants/{T}/events`, so they flow through its own
subscriptions, delivery, retries and DLQ; the delivery counters are read back at the end).
Direct POSTs use `Sender`, the raw asyncio client: httpx manages ~460 POSTs/s here, Sender
~20,000/s per process, which is what lets one storm process exceed 10,000 events/s.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from simulator.events.contract import Contract, ContractViolation, load_contract
from simulator.events.corpus import EventSource
from simulator.events.sender import Sender, SendError
from simulator.events.storm_plan import MAX_COUNT, MAX_DURATION, StormConfig, StormError, schedule


@dataclass
class StormResult:
    config: dict[str, Any]
    elapsed: float = 0.0
    sent: int = 0
    ok: int = 0
    client_errors: int = 0
    server_errors: int = 0
    other_status: int = 0
    timeouts: int = 0
    errors: int = 0
    invalid: int = 0
    retried: int = 0
    dead_lettered: int = 0
    delivered: int | None = None
    by_channel: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    latencies: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    lateness: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]

    @property
    def failed(self) -> int:
        return self.sent - self.ok + self.dead_lettered

    @property
    def error_rate(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    @property
    def passed(self) -> bool:
        return self.sent > 0 and self.error_rate <= self.config["max_error_rate"]


class Storm:
    """One run; `await Storm(config).run()` -> StormResult."""

    def __init__(
        self,
        config: StormConfig,
        contract: Contract | None = None,
        progress: Callable[[StormResult, float], None] | None = None,
    ) -> None:
        config.check()
        self.config = config
        self.contract = contract or load_contract()
        self.source = EventSource(
            config.weights,
            config.mode,
            config.seed,
            tenant=config.tenant,
            contract=self.contract,
            fresh_ids=True,
        )
        self.result = StormResult(asdict(config))
        self.progress = progress
        if config.tenant:
            batch = config.batch or int(config.rate / 100)
            self.unit = max(1, min(500, batch))
            self.url = f"{config.sim_url.rstrip('/')}/_sim/tenants/{config.tenant}/events"
        else:
            self.unit, self.url = 1, str(config.target)
        self.count = config.count or MAX_COUNT
        span = config.duration or self.count / config.rate
        if config.profile == "ramp" and config.count and not config.duration:
            span = self.count / (0.55 * config.rate)  # the ramp's mean rate
        self.due = schedule(config.profile, config.rate, span, config.seed)
        self.sender = Sender(limit_per_origin=config.concurrency, timeout=config.timeout)
        self._next = 0

    async def run(self) -> StormResult:
        cfg, res = self.config, self.result
        before = await self._delivery_stats() if cfg.tenant else None
        loop = asyncio.get_running_loop()
        self.t0 = t0 = loop.time() + 0.01
        self.stop_at = t0 + (cfg.duration or MAX_DURATION)
        ticker = asyncio.create_task(self._tick()) if self.progress else None
        try:
            await asyncio.gather(*(self._worker() for _ in range(cfg.concurrency)))
        finally:
            res.elapsed = max(loop.time() - t0, 1e-9)
            if ticker:
                ticker.cancel()
            await self.sender.close()
        if before is not None:
            await self._collect_deliveries(before)
        return res

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.5)
            assert self.progress is not None
            self.progress(self.result, loop.time() - self.t0)

    def _claim(self) -> tuple[int, int] | None:
        first = self._next * self.unit
        if first >= self.count:
            return None
        self._next += 1
        return first, min(first + self.unit, self.count)

    async def _worker(self) -> None:
        loop, res, check = asyncio.get_running_loop(), self.result, self.contract.validate
        tenant = bool(self.config.tenant)
        while True:
            span = self._claim()
            if span is None:
                return
            due = self.t0 + self.due(span[1] - 1)
            if due >= self.stop_at:
                self._next = self.count  # the duration is over: nobody claims more
                return
            items = []
            for _ in range(span[0], span[1]):
                channel, event_id, payload = self.source.next_payload()
                try:
                    check(channel, payload)
                except ContractViolation:
                    res.invalid += 1
                    continue
                items.append((channel, event_id, payload))
            if not items:
                continue
            if tenant:
                body = orjson.dumps([{"channel": c, "payload": p} for c, _, p in items])
                headers = {"Content-Type": "application/json"}
            else:
                channel, event_id, payload = items[0]
                body = orjson.dumps(payload)
                headers = {
                    "Content-Type": "application/json",
                    "X-Ionsim-Channel": channel,
                    "X-Ionsim-Event-Id": event_id,
                }
            wait = due - loop.time()
            if wait > 0.0005:
                await asyncio.sleep(wait)
            res.lateness.append(max(0.0, loop.time() - due))
            await self._send(body, headers, items)

    async def _send(self, body: bytes, headers: dict[str, str], items: list[Any]) -> None:
        res, n = self.result, len(items)
        res.sent += n
        for channel, _, _ in items:
            res.by_channel[channel] += 1
        try:
            status, latency = await self.sender.send(self.url, body, headers)
        except SendError as exc:
            res.latencies.append(exc.latency)
            if exc.reason.startswith("timeout"):
                res.timeouts += n
            else:
                res.errors += n
            res.reasons[exc.reason] += n
            return
        res.latencies.append(latency)
        if 200 <= status < 300:
            res.ok += n
            return
        if 400 <= status < 500:
            res.client_errors += n
        elif 500 <= status < 600:
            res.server_errors += n
        else:
            res.other_status += n
        res.reasons[f"HTTP {status}"] += n

    async def _delivery_stats(self) -> dict[str, int]:
        """Sums of the simulator's delivery counters over all channels (they are global)."""
        import httpx

        url = f"{self.config.sim_url.rstrip('/')}/_sim/deliveries/stats"
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(url)
        if r.status_code != 200:
            raise StormError(f"GET {url}: HTTP {r.status_code}")
        totals: Counter[str] = Counter()
        for row in r.json().get("channels", {}).values():
            totals.update({k: v for k, v in row.items() if isinstance(v, int)})
        return {**totals, "hubPending": int(r.json().get("pending", 0))}

    async def _collect_deliveries(self, before: dict[str, int]) -> None:
        """Waits (up to `drain` s) for the storm's deliveries to settle, then reads the deltas."""
        res = self.result
        deadline = time.monotonic() + self.config.drain
        while True:
            now = await self._delivery_stats()
            delta = {k: now.get(k, 0) - before.get(k, 0) for k in now}
            settled = delta.get("delivered", 0) + delta.get("deadLettered", 0)
            if settled >= delta.get("published", 0) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        res.delivered = delta.get("delivered", 0)
        res.retried = delta.get("retried", 0)
        res.dead_lettered = delta.get("deadLettered", 0)
        res.config["deliveries_published"] = delta.get("published", 0)


def run_storm(
    config: StormConfig,
    progress: Callable[[StormResult, float], None] | None = None,
    contract: Contract | None = None,
) -> StormResult:
    """Runs a storm on a fresh event loop (uvloop when installed)."""
    storm = Storm(config, contract, progress)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(storm.run())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(storm.run())
