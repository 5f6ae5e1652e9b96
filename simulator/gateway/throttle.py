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
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulator.clock import Clock
from simulator.errors import RequestError

__all__ = ["Decision", "QuotaPolicy", "Throttle", "ThrottlePolicy"]

_MAX_INT = 2**31 - 1
_TIME_UNITS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_INT_TEXT = re.compile(r"\s*[0-9]+\s*")
_MAX_XML_CHARS = 65536
_FORBIDDEN_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)

# Infor's names, used in messages and in to_json.
_PERIOD = "timePeriodInMilliseconds"
_AFTER = "rateSmoothing.delayAfterCount"
_FACTOR = "rateSmoothing.delayFactorInMilliseconds"
_MAX = "spikeArrest.maxRequestsPerPeriod"
_THROTTLE_ATTRS = frozenset({"name", "displayName", "enabled", "version"})


def _positive_int(field: str, value: object) -> int:
    """Accept an int or an integer string (XML text), nothing that only looks numeric.

    Booleans are ints in Python but never a count; floats are refused even when integral because
    Infor's fields are integers and silently truncating 1.5 would hide a client bug.
    """
    if isinstance(value, bool):
        raise RequestError(f"{field} must be a positive integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value):
        number = int(value)
    else:
        raise RequestError(f"{field} must be a positive integer, got {value!r}")
    if number <= 0:
        raise RequestError(f"{field} must be a positive integer, got {number}")
    if number > _MAX_INT:
        raise RequestError(f"{field} must be at most {_MAX_INT}, got {number}")
    return number


def _boolean(field: str, value: object) -> bool:
    """JSON true/false, or the XML spellings "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RequestError(f"{field} must be true or false, got {value!r}")


def _time_unit(field: str, value: object) -> str:
    if isinstance(value, str) and value.strip() in _TIME_UNITS:
        return value.strip()
    raise RequestError(f"{field} must be one of second/minute/hour/day, got {value!r}")


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Infor's quota policy: `allow` calls per `interval` x `time_unit`, per app or per user."""

    allow: int
    interval: int = 1
    time_unit: str = "hour"
    user_level: bool = False

    def __post_init__(self) -> None:
        # Direct construction gets the parser's checks: a bad policy never reaches check().
        _positive_int("quota.allow", self.allow)
        _positive_int("quota.interval", self.interval)
        _time_unit("quota.timeUnit", self.time_unit)
        if not isinstance(self.user_level, bool):
            raise RequestError(f"quota.userLevel must be true or false, got {self.user_level!r}")

    @property
    def window_s(self) -> float:
        """Length of one quota window in seconds."""
        return float(self.interval * _TIME_UNITS[self.time_unit])

    @classmethod
    def from_json(cls, data: object) -> QuotaPolicy:
        """Parse Infor's BaaS form `{"allow": 1000, "interval": 60, "timeUnit": "second",
        "userLevel": false}`; only `allow` is required."""
        if not isinstance(data, Mapping):
            raise RequestError(f"quota must be an object, got {type(data).__name__}")
        unknown = sorted(
            str(k) for k in data if k not in ("allow", "interval", "timeUnit", "userLevel")
        )
        if unknown:
            raise RequestError(
                f"quota has unknown field(s) {', '.join(unknown)}; "
                "expected allow, interval, timeUnit, userLevel"
            )
        if "allow" not in data:
            raise RequestError("quota.allow is required")
        return cls(
            allow=_positive_int("quota.allow", data["allow"]),
            interval=_positive_int("quota.interval", data.get("interval", 1)),
            time_unit=_time_unit("quota.timeUnit", data.get("timeUnit", "hour")),
            user_level=_boolean("quota.userLevel", data.get("userLevel", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "allow": self.allow,
            "interval": self.interval,
            "timeUnit": self.time_unit,
            "userLevel": self.user_level,
        }


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """One tenant's throttling policy (rate smoothing, spike arrest) plus an optional quota."""

    time_period_ms: int = 60000
    delay_after_count: int | None = None  # rateSmoothing.delayAfterCount
    delay_factor_ms: int | None = None  # rateSmoothing.delayFactorInMilliseconds
    max_requests_per_period: int | None = None  # spikeArrest.maxRequestsPerPeriod
    quota: QuotaPolicy | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        _positive_int(_PERIOD, self.time_period_ms)
        for field, value in (
            (_AFTER, self.delay_after_count),
            (_FACTOR, self.delay_factor_ms),
            (_MAX, self.max_requests_per_period),
        ):
            if value is not None:
                _positive_int(field, value)
        if (self.delay_after_count is None) != (self.delay_factor_ms is None):
            raise RequestError(
                "rateSmoothing needs both delayAfterCount and delayFactorInMilliseconds"
            )
        if self.quota is not None and not isinstance(self.quota, QuotaPolicy):
            raise RequestError("quota must be a QuotaPolicy")
        if not isinstance(self.enabled, bool):
            raise RequestError(f"enabled must be true or false, got {self.enabled!r}")

    @property
    def has_limits(self) -> bool:
        """True when the policy can delay or refuse anything."""
        return self.enabled and (
            self.delay_after_count is not None
            or self.max_requests_per_period is not None
            or self.quota is not None
        )

    @classmethod
    def unlimited(cls) -> ThrottlePolicy:
        """The policy of a tenant nobody configured: everything admitted, nothing counted."""
        return cls()

    # ---------------------------------------------------------------- JSON

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ThrottlePolicy:
        """Parse the nested form, Infor's flattened BaaS form, or a mix of both.

        Mixing is allowed so a client may paste Infor's flattened policy and add a nested quota,
        but the same field given twice is refused instead of silently preferring one.
        """
        if not isinstance(data, Mapping):
            raise RequestError(f"throttle policy must be a JSON object, got {type(data).__name__}")
        flat: dict[str, object] = {}

        def put(name: str, value: object) -> None:
            if name in flat:
                raise RequestError(f"{name} is given twice (nested and flattened)")
            flat[name] = value

        quota_raw: object = None
        for key, value in data.items():
            if key in (_PERIOD, _AFTER, _FACTOR, _MAX):
                put(key, value)
            elif key == "rateSmoothing":
                cls._nested(
                    value, "rateSmoothing", ("delayAfterCount", "delayFactorInMilliseconds"), put
                )
            elif key == "spikeArrest":
                cls._nested(value, "spikeArrest", ("maxRequestsPerPeriod",), put)
            elif key == "quota":
                quota_raw = value
            elif key == "enabled":
                put("enabled", value)
            else:
                raise RequestError(
                    f"unknown throttle policy field {key!r}; expected {_PERIOD}, rateSmoothing, "
                    "spikeArrest, quota, enabled (or flattened rateSmoothing.*/spikeArrest.* names)"
                )
        quota = QuotaPolicy.from_json(quota_raw) if quota_raw is not None else None
        return cls._build(flat, quota)

    @staticmethod
    def _nested(
        value: object, prefix: str, names: tuple[str, ...], put: Callable[[str, object], None]
    ) -> None:
        if not isinstance(value, Mapping):
            raise RequestError(f"{prefix} must be an object, got {type(value).__name__}")
        for key, inner in value.items():
            if key not in names:
                expected = ", ".join(f"{prefix}.{n}" for n in names)
                raise RequestError(f"unknown field {prefix}.{key}; expected {expected}")
            put(f"{prefix}.{key}", inner)

    @classmethod
    def _build(cls, flat: Mapping[str, object], quota: QuotaPolicy | None) -> ThrottlePolicy:
        """Validate Infor-named values (JSON or XML text) and build the policy."""
        after = _positive_int(_AFTER, flat[_AFTER]) if _AFTER in flat else None
        factor = _positive_int(_FACTOR, flat[_FACTOR]) if _FACTOR in flat else None
        most = _positive_int(_MAX, flat[_MAX]) if _MAX in flat else None
        if (after is None) != (factor is None):
            missing = _FACTOR if factor is None else _AFTER
            raise RequestError(f"{missing} is required when the other rateSmoothing field is given")
        if _PERIOD in flat:
            period = _positive_int(_PERIOD, flat[_PERIOD])
        elif after is not None or most is not None:
            raise RequestError(f"{_PERIOD} is required with rateSmoothing or spikeArrest")
        else:
            period = 60000
        enabled = _boolean("enabled", flat["enabled"]) if "enabled" in flat else True
        return cls(
            time_period_ms=period,
            delay_after_count=after,
            delay_factor_ms=factor,
            max_requests_per_period=most,
            quota=quota,
            enabled=enabled,
        )

    def to_json(self) -> dict[str, Any]:
        """Nested form with Infor's names; only what is set, so it round-trips through from_json."""
        out: dict[str, Any] = {}
        if (
            self.delay_after_count is not None
            or self.max_requests_per_period is not None
            or self.time_period_ms != 60000
        ):
            out[_PERIOD] = self.time_period_ms
        if self.delay_after_count is not None:
            out["rateSmoothing"] = {
                "delayAfterCount": self.delay_after_count,
                "delayFactorInMilliseconds": self.delay_factor_ms,
            }
        if self.max_requests_per_period is not None:
            out["spikeArrest"] = {"maxRequestsPerPeriod": self.max_requests_per_period}
        if self.quota is not None:
            out["quota"] = self.quota.to_json()
        if not self.enabled:
            out["enabled"] = False
        return out

    # ---------------------------------------------------------------- XML

    @classmethod
    def from_xml(cls, text: str | bytes) -> ThrottlePolicy:
        """Parse Infor's XML: `<throttling>`, `<quota>`, or both under any one root element.

        The namespace is optional. DTDs are refused outright: the standard library parser would
        expand internal entities, and a policy never needs a DTD.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RequestError(f"throttle policy XML is not UTF-8: {exc}") from None
        if not isinstance(text, str):
            raise RequestError("throttle policy XML must be text")
        if len(text) > _MAX_XML_CHARS:
            raise RequestError(
                f"throttle policy XML is too large (over {_MAX_XML_CHARS} characters)"
            )
        if _FORBIDDEN_XML.search(text):
            raise RequestError(
                "throttle policy XML must not contain DOCTYPE or ENTITY declarations"
            )
        try:
            root = ET.fromstring(text.lstrip("\ufeff").strip())
        except ET.ParseError as exc:
            raise RequestError(f"throttle policy XML is not well-formed: {exc}") from None

        name = _local(root.tag)
        if name == "throttling":
            throttling, quota_el = root, None
        elif name == "quota":
            throttling, quota_el = None, root
        else:
            throttling = quota_el = None
            _no_text(root, name)
            for child in root:
                child_name = _local(child.tag)
                if child_name == "throttling" and throttling is None:
                    throttling = child
                elif child_name == "quota" and quota_el is None:
                    quota_el = child
                else:
                    raise RequestError(
                        f"unexpected element <{child_name}> in <{name}>; "
                        "expected one <throttling> and/or one <quota>"
                    )
            if throttling is None and quota_el is None:
                raise RequestError(f"<{name}> holds neither <throttling> nor <quota>")

        flat: dict[str, object] = {}
        if throttling is not None:
            for attr, value in throttling.attrib.items():
                if attr.startswith("{"):
                    continue  # namespaced attributes such as xsi:schemaLocation
                if attr not in _THROTTLE_ATTRS:
                    raise RequestError(
                        f"unknown attribute {attr!r} on <throttling>; expected "
                        + ", ".join(sorted(_THROTTLE_ATTRS))
                    )
                if attr == "enabled":
                    flat["enabled"] = value
            for child in _children(
                throttling, "throttling", {_PERIOD, "rateSmoothing", "spikeArrest", "quota"}
            ):
                child_name = _local(child.tag)
                if child_name == _PERIOD:
                    flat[_PERIOD] = _text(child, _PERIOD)
                elif child_name == "quota":
                    if quota_el is not None:
                        raise RequestError("<quota> is given twice")
                    quota_el = child
                else:
                    allowed = (
                        {"delayAfterCount", "delayFactorInMilliseconds"}
                        if child_name == "rateSmoothing"
                        else {"maxRequestsPerPeriod"}
                    )
                    for leaf in _children(child, child_name, allowed):
                        leaf_name = f"{child_name}.{_local(leaf.tag)}"
                        flat[leaf_name] = _text(leaf, leaf_name)
        quota = None
        if quota_el is not None:
            raw: dict[str, object] = {}
            for leaf in _children(
                quota_el, "quota", {"allow", "interval", "timeUnit", "userLevel"}
            ):
                raw[_local(leaf.tag)] = _text(leaf, f"quota.{_local(leaf.tag)}")
            quota = QuotaPolicy.from_json(raw)
        return cls._build(flat, quota)


def _local(tag: str) -> str:
    """Element name without its namespace, so the Infor namespace is optional."""
    return tag.rpartition("}")[2]


def _no_text(el: ET.Element, name: str) -> None:
    if el.text and el.text.strip():
        raise RequestError(f"<{name}> must contain elements, not text")


def _children(el: ET.Element, name: str, allowed: set[str]) -> list[ET.Element]:
    """Children of a container element; unknown or repeated ones are refused by name."""
    _no_text(el, name)
    seen: set[str] = set()
    out = []
    for child in el:
        child_name = _local(child.tag)
        if child_name not in allowed:
            raise RequestError(
                f"unknown element <{child_name}> in <{name}>; expected "
                + ", ".join(f"<{a}>" for a in sorted(allowed))
            )
        if child_name in seen:
            raise RequestError(f"<{child_name}> is given twice in <{name}>")
        seen.add(child_name)
        if child.tail and child.tail.strip():
            raise RequestError(f"<{name}> must contain elements, not text")
        out.append(child)
    return out


def _text(el: ET.Element, field: str) -> str:
    if len(el):
        raise RequestError(f"{field} must be a value, not elements")
    return el.text or ""


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
