"""Consumer contract verification: valid events must get 2xx, contract violations 4xx.

`verify_consumer(target, channel)` runs one Hypothesis search per check: valid events from
`strategy(channel, mode)`, then each kind of mutant (`simulator.events.mutants`). A consumer
answering otherwise raises inside the Hypothesis test function, so Hypothesis shrinks the
payload to the smallest one that still makes the consumer misbehave: the report shows that
payload and the consumer's own answer.

The target is a URL (sync httpx; verification is about answers, not throughput) or an ASGI app
(httpx.ASGITransport on a private event loop in a thread, so it works from sync pytest tests
and from inside a running loop alike; the app's lifespan is not run).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from simulator.events.contract import Contract, load_contract
from simulator.events.generate import strategy
from simulator.events.mutants import MUTANTS, mutants
from simulator.events.report import Case, junit_xml


@dataclass
class Failure:
    payload: Any
    status: int | None
    body: str
    expected: str

    def describe(self) -> str:
        answer = f"HTTP {self.status}" if self.status else "no HTTP answer"
        pretty = orjson.dumps(self.payload, option=orjson.OPT_INDENT_2).decode()
        return (
            f"expected {self.expected}, the consumer answered {answer}\n"
            f"minimal payload:\n{pretty}\nresponse: {answer} {self.body[:500]}"
        )


@dataclass
class CheckResult:
    name: str
    expected: str
    sent: int = 0
    seconds: float = 0.0
    failure: Failure | None = None
    skipped: str = ""

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class VerifyReport:
    target: str
    channel: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def summary(self) -> str:
        lines = [f"verify {self.channel} at {self.target}: {'PASSED' if self.passed else 'FAILED'}"]
        for c in self.checks:
            mark = "skip" if c.skipped else ("ok  " if c.passed else "FAIL")
            note = c.skipped or f"{c.sent} requests, expects {c.expected}"
            lines.append(f"  {mark} {c.name}: {note}")
            if c.failure is not None:
                lines += ["       " + line for line in c.failure.describe().splitlines()]
        return "\n".join(lines)

    def cases(self) -> list[Case]:
        return [
            Case(
                f"{self.channel}: {c.name}",
                c.seconds,
                None
                if c.passed
                else f"expected {c.expected}, got {c.failure and c.failure.status}",
                c.failure.describe() if c.failure else c.skipped,
                {"requests": c.sent},
            )
            for c in self.checks
        ]

    def junit(self) -> bytes:
        return junit_xml("ionsim.verify", self.cases())


class _Misbehaved(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.expected)
        self.failure = failure


class _Poster:
    """POSTs a payload to a URL or an ASGI app; returns (status or 0, response text)."""

    def __init__(self, target: Any, path: str, timeout: float) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        if isinstance(target, str):
            self.client: Any = httpx.Client(timeout=timeout, trust_env=False)
            self.url = target
            return
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        transport = httpx.ASGITransport(app=target)
        self.client = httpx.AsyncClient(
            transport=transport, base_url="http://consumer", timeout=timeout
        )
        self.url = path

    def post(self, payload: Any, channel: str) -> tuple[int, str]:
        event_id = payload.get("eventId") if isinstance(payload, dict) else None
        headers = {
            "Content-Type": "application/json",
            "X-Ionsim-Channel": channel,
            "X-Ionsim-Event-Id": event_id if isinstance(event_id, str) else "",
        }
        body = orjson.dumps(payload)
        try:
            if self.loop is None:
                r = self.client.post(self.url, content=body, headers=headers)
            else:
                call = self.client.post(self.url, content=body, headers=headers)
                r = asyncio.run_coroutine_threadsafe(call, self.loop).result()
        except httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        return r.status_code, r.text

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
            return
        asyncio.run_coroutine_threadsafe(self.client.aclose(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _run(
    name: str,
    expected: str,
    strat: st.SearchStrategy[Any],
    poster: _Poster,
    channel: str,
    examples: int,
    seed_value: int,
) -> CheckResult:
    result = CheckResult(name, expected)
    good = (lambda s: 200 <= s < 300) if expected == "2xx" else (lambda s: 400 <= s < 500)

    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(strat)
    def probe(payload: Any) -> None:
        status, text = poster.post(payload, channel)
        result.sent += 1
        if not good(status):
            raise _Misbehaved(Failure(payload, status or None, text, expected))

    start = time.perf_counter()
    try:
        probe()
    except _Misbehaved as exc:
        result.failure = exc.failure
    except HypothesisException as exc:  # a consumer whose answers change (Flaky)
        cause = exc.__cause__ or exc.__context__
        failure = getattr(cause, "failure", None)
        result.failure = failure or Failure(None, None, f"{type(exc).__name__}: {exc}", expected)
    result.seconds = time.perf_counter() - start
    return result


def verify_consumer(
    target: Any,
    channel: str,
    examples: int = 100,
    seed: int = 0,
    *,
    mode: str = "realistic",
    path: str = "/",
    timeout: float = 5.0,
    contract: Contract | None = None,
) -> VerifyReport:
    """Verifies one consumer on one channel; `target` is a URL or an ASGI app."""
    contract = contract or load_contract()
    valid = strategy(channel, mode, contract=contract)
    name = target if isinstance(target, str) else f"ASGI app {type(target).__name__}{path}"
    report = VerifyReport(name, channel)
    poster = _Poster(target, path, timeout)
    try:
        report.checks.append(_run("valid events", "2xx", valid, poster, channel, examples, seed))
        for kind in MUTANTS:
            strat = mutants(channel, kind, valid, contract)
            if strat is None:
                report.checks.append(CheckResult(kind, "4xx", skipped="no field of this kind"))
                continue
            report.checks.append(_run(kind, "4xx", strat, poster, channel, examples, seed))
    finally:
        poster.close()
    return report
