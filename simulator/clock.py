"""Injectable time, so token expiry, throttle windows and retries are tested by moving a clock.

`SimClock` is the server's clock: real time plus an offset that `/_sim/clock/advance` grows.
`ManualClock` never moves by itself; tests own it completely.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as the simulated world sees them."""
        ...

    def advance(self, seconds: float) -> None: ...


class SimClock:
    """Wall-clock time that can be pushed forward (never back) for the whole simulator."""

    realtime = True

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds

    def __repr__(self) -> str:
        return f"SimClock(offset={self.offset})"


class ManualClock:
    """A clock that moves only when told to."""

    realtime = False

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.t += seconds

    def __repr__(self) -> str:
        return f"ManualClock(t={self.t})"


def utc(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.now(), UTC)
