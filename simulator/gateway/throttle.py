"""Throttling and quota policies of the ION API Gateway, as a pure, clock-driven decision engine.

The gateway calls `Throttle.check(app, user)` once per API request and acts on the `Decision`:
refuse with 429 (`Retry-After: retry_after_s`), or wait `delay_s` and then serve. Nothing here does
HTTP or asyncio, so every rule is tested by moving a `ManualClock` instead of sleeping.

What Infor documents (reference ion-m3.md section 5) and what the simulator assumes where the
documentation is silent ([unknown] in the reference):

* Policy shape. Infor's names: `timePeriodInMilliseconds`, `rateSmoothing.delayAfterCount`,
  `rateSmoothing.delayFactorInMilliseconds`, `spikeArrest.maxRequestsPerPeriod`, and a separate
  `quota` policy (`allow`, `interval`, `timeUnit` in second/minute/hour/day, `userLevel`). Accepted
  as nested JSON, Infor's flattened BaaS JSON (`"rateSmoothing.delayAfterCount": 500`) and Infor's
  XML (`<throttling xmlns="http://www.infor.com/ion/api">`, `<quota>`, optionally both under one
  root element). All values are positive integers; assumption: at most 2**31 - 1 (a Java int),
  which also keeps the window arithmetic exact. `timePeriodInMilliseconds` is required when a
  rateSmoothing or spikeArrest part is given; a quota-only policy may leave it out (default 60000).
  Assumption: `delayAfterCount` and `delayFactorInMilliseconds` only make sense together, so one
  without the other is rejected rather than guessed.
* Windows. Assumption: fixed windows, not sliding ones. An app's window of
  `timePeriodInMilliseconds` starts at its first request; the first request at or after
  `start + period` starts a new window at that instant. Counted per authorized app (client id).
* Spike arrest (documented): requests 1..maxRequestsPerPeriod of a window are admitted, later ones
  get 429. Assumption: refused requests still count in the window (so `count` keeps rising), are
  never delayed, and `Retry-After` is the whole seconds until the window resets (at least 1, at
  most the period rounded up).
* Rate smoothing: the docs say requests after `delayAfterCount` are delayed "by a factor of"
  `delayFactorInMilliseconds`. Assumption: the delay grows linearly, the k-th admitted request of
  a window waits (k - delayAfterCount) * delayFactorInMilliseconds / 1000 seconds, with no cap.
* Quota (documented: `allow` calls per `interval` x `timeUnit`, the window starts at the first
  request, beyond that 429): counted per app, or per (app, user) when `userLevel` is true.
  Assumptions: quota is checked before spike arrest; a request refused by quota consumes neither
  quota nor spike-arrest count; a request admitted by quota but refused by spike arrest does not
  consume quota either, so quota `used` is exactly the number of requests served.
* A disabled policy, or one without any limit, admits everything without delay and counts
  nothing (`Decision.count` is 0), so the default tenant costs almost nothing per request.

Memory stays bounded: a window that has ended is indistinguishable from no window, so a sweep
that runs at most once per window length drops ended windows. Each entry survives at most one
sweep per request that touched it, so the sweep is amortised O(1) per call and `check` itself
never walks the tables. `check` is meant to be called from one thread (the event loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulator.clock import Clock
from simulator.gateway.throttle_policy import QuotaPolicy, ThrottlePolicy

__all__ = ["Decision", "QuotaPolicy", "Throttle", "ThrottlePolicy"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gateway must do with one request."""

    allowed: bool
    delay_s: float = 0.0  # rate smoothing delay to apply before serving (0 when none)
    retry_after_s: int = 0  # for 429: whole seconds until the refusing window resets (>= 1)
    reason: str = ""  # "" | "spikeArrest" | "quota"
    count: int = 0  # position of this request in the current period


_ALLOWED = Decision(True)

# Slots of the per-app window list (a list, not an object: the hot path mutates it in place).
_START, _COUNT, _DELAYED, _REJECTED = 0, 1, 2, 3
# Slots of the per-quota-key list.
_Q_START, _Q_USED, _Q_REJECTED = 0, 1, 2


class Throttle:
    """Counts requests per app under one tenant's policy and decides admit / delay / refuse."""

    def __init__(self, policy: ThrottlePolicy, clock: Clock) -> None:
        self._clock = clock
        self.set_policy(policy)

    # The policy is read-only from outside: replacing it must reset the counters.
    @property
    def policy(self) -> ThrottlePolicy:
        return self._policy

    def set_policy(self, policy: ThrottlePolicy) -> None:
        """Install a policy and start counting afresh (old counts meant another policy)."""
        if not isinstance(policy, ThrottlePolicy):
            raise TypeError("policy must be a ThrottlePolicy")
        self._policy = policy
        # Flattened into attributes so check() reads locals, not nested dataclass fields.
        self._active = policy.has_limits
        self._period = policy.time_period_ms / 1000.0
        self._period_ceil = max(1, math.ceil(self._period))
        self._max = policy.max_requests_per_period
        self._after = policy.delay_after_count
        self._factor_ms = policy.delay_factor_ms
        quota = policy.quota if policy.enabled else None
        self._quota = quota
        self._q_allow = quota.allow if quota else 0
        self._q_window = quota.window_s if quota else 0.0
        self._q_window_ceil = max(1, math.ceil(self._q_window))
        self._q_user = quota.user_level if quota else False
        self.reset()

    def reset(self) -> None:
        """Forget every window and total (the policy stays)."""
        self._windows: dict[str, list[Any]] = {}
        self._quotas: dict[Any, list[Any]] = {}
        self._next_sweep = self._w_sweep = self._q_sweep = -math.inf
        self._admitted = 0
        self._delayed = 0
        self._rejected_spike = 0
        self._rejected_quota = 0

    def check(self, app: str, user: str = "") -> Decision:
        """Decide one request of `app` (the authorized client id) for `user`."""
        if not self._active:
            return _ALLOWED
        now = self._clock.now()
        if now >= self._next_sweep:
            self._sweep(now)

        qstate = None
        if self._quota is not None:
            key: Any = (app, user) if self._q_user else app
            qstate = self._quotas.get(key)
            if qstate is None or now >= qstate[_Q_START] + self._q_window:
                qstate = [now, 0, 0]
                self._quotas[key] = qstate
            if qstate[_Q_USED] >= self._q_allow:
                qstate[_Q_REJECTED] += 1
                self._rejected_quota += 1
                retry = math.ceil(qstate[_Q_START] + self._q_window - now - 1e-6)
                retry = 1 if retry < 1 else min(retry, self._q_window_ceil)
                return Decision(False, 0.0, retry, "quota", 0)

        state = self._windows.get(app)
        if state is None or now >= state[_START] + self._period:
            state = [now, 0, 0, 0]
            self._windows[app] = state
        count = state[_COUNT] + 1
        state[_COUNT] = count

        most = self._max
        if most is not None and count > most:
            state[_REJECTED] += 1
            self._rejected_spike += 1
            # The 1e-6 absorbs float noise so a full period left reads as the period, not +1.
            retry = math.ceil(state[_START] + self._period - now - 1e-6)
            retry = 1 if retry < 1 else min(retry, self._period_ceil)
            return Decision(False, 0.0, retry, "spikeArrest", count)

        if qstate is not None:
            qstate[_Q_USED] += 1
        self._admitted += 1
        after = self._after
        if after is not None and count > after:
            state[_DELAYED] += 1
            self._delayed += 1
            return Decision(True, (count - after) * self._factor_ms / 1000, 0, "", count)
        return Decision(True, 0.0, 0, "", count)

    def _sweep(self, now: float) -> None:
        """Drop ended windows; each table is swept at most once per its own window length."""
        if now >= self._w_sweep:
            period = self._period
            self._windows = {a: s for a, s in self._windows.items() if now < s[_START] + period}
            self._w_sweep = now + period
        if self._quota is not None and now >= self._q_sweep:
            qwin = self._q_window
            self._quotas = {k: s for k, s in self._quotas.items() if now < s[_Q_START] + qwin}
            self._q_sweep = now + qwin
        self._next_sweep = min(self._w_sweep, self._q_sweep) if self._quota else self._w_sweep

    def counters(self) -> dict[str, Any]:
        """JSON-able view for GET /_sim/tenants/{TI}/throttle; only windows still running."""
        now = self._clock.now()
        apps: dict[str, Any] = {}
        for app in sorted(self._windows):
            s = self._windows[app]
            end = s[_START] + self._period
            if now >= end:
                continue
            apps[app] = {
                "periodStart": _iso(s[_START]),
                "periodEnd": _iso(end),
                "resetsInSeconds": round(end - now, 3),
                "count": s[_COUNT],
                "delayed": s[_DELAYED],
                "rejected": s[_REJECTED],
            }
        quotas: list[dict[str, Any]] = []
        for key in sorted(self._quotas, key=repr):
            s = self._quotas[key]
            end = s[_Q_START] + self._q_window
            if now >= end:
                continue
            entry: dict[str, Any] = {"app": key[0]} if self._q_user else {"app": key}
            if self._q_user:
                entry["user"] = key[1]
            entry.update(
                used=s[_Q_USED],
                allow=self._q_allow,
                rejected=s[_Q_REJECTED],
                windowStart=_iso(s[_Q_START]),
                windowReset=_iso(end),
                resetsInSeconds=round(end - now, 3),
            )
            quotas.append(entry)
        return {
            "enabled": self._policy.enabled,
            "policy": self._policy.to_json(),
            "apps": apps,
            "quota": quotas,
            "totals": {
                "admitted": self._admitted,
                "delayed": self._delayed,
                "rejectedSpikeArrest": self._rejected_spike,
                "rejectedQuota": self._rejected_quota,
            },
        }


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
