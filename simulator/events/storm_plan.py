"""A storm's plan, settled before the first send: its checked configuration and its schedule.

Open loop: event i is due at `t0 + schedule(i)`, computed from the start time alone, so a slow
consumer never slows the schedule down (the closed-loop mistake that hides overload). Checking
the configuration before anything connects makes an impossible storm bad usage, not a failed run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

MAX_COUNT, MAX_DURATION, MAX_RATE = 10_000_000, 3600.0, 1_000_000.0
PROFILES = ("constant", "ramp", "burst", "poisson")


class StormError(ValueError):
    """A storm configuration that cannot run (caught by the CLI as bad usage)."""


@dataclass
class StormConfig:
    target: str | None = None
    tenant: str | None = None
    sim_url: str = "http://127.0.0.1:8080"
    weights: dict[str, float] | None = None
    rate: float = 100.0
    profile: str = "constant"
    duration: float | None = None
    count: int | None = None
    concurrency: int = 64
    mode: str = "realistic"
    seed: int = 0
    timeout: float = 5.0
    batch: int = 0  # tenant mode; 0 picks rate/100 clamped to 1..500
    drain: float = 30.0
    max_error_rate: float = 0.01

    def check(self) -> None:
        if bool(self.target) == bool(self.tenant):
            raise StormError("give exactly one of --target URL or --tenant T")
        if not 0 < self.rate <= MAX_RATE:
            raise StormError(f"rate must be in (0, {MAX_RATE:.0f}] events/s")
        if self.profile not in PROFILES:
            raise StormError(f"profile must be one of {', '.join(PROFILES)}")
        if self.count is not None and not 0 < self.count <= MAX_COUNT:
            raise StormError(f"count must be in 1..{MAX_COUNT}")
        if self.duration is not None and not 0 < self.duration <= MAX_DURATION:
            raise StormError(f"duration must be in (0, {MAX_DURATION:.0f}] s")
        if not 1 <= self.concurrency <= 4096:
            raise StormError("concurrency must be in 1..4096")
        if self.duration is None and self.count is None:
            self.duration = 10.0


def schedule(profile: str, rate: float, span: float, seed: int = 0) -> Callable[[int], float]:
    """Event i's due time in seconds after the start, for `span` seconds of profile shape.

    constant: i/rate. ramp: the rate climbs linearly from 10% to 100% of `rate` over the span.
    burst: each second's events go out in its first 100 ms (10x the rate), then silence.
    poisson: exponential gaps of mean 1/rate (seeded), memoized so it stays O(1) per event.
    """
    if profile == "ramp":
        r0, slope = 0.1 * rate, 0.9 * rate / span
        return lambda i: (math.sqrt(r0 * r0 + 2 * slope * i) - r0) / slope
    if profile == "burst":
        per = max(1.0, rate)
        return lambda i: (i // per) + 0.1 * ((i % per) / per)
    if profile == "poisson":
        rng, times = random.Random(seed), [0.0]

        def poisson(i: int) -> float:
            while len(times) <= i:
                times.append(times[-1] + rng.expovariate(rate))
            return times[i]

        return poisson
    return lambda i: i / rate
