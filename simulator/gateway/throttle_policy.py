"""Throttling and quota policies as Infor writes them, checked in one place whatever their form.

Nested JSON, Infor's flattened BaaS JSON and XML (read in `throttle_policy_xml.py`) all come down
to Infor-named values checked here, and so does direct construction, so a bad policy never reaches
`throttle.py`, which decides per request. The semantics and the simulator's assumptions are in
`throttle.py`'s docstring.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.errors import RequestError
from simulator.gateway.throttle_policy_xml import read_policy_xml

_MAX_INT = 2**31 - 1
_TIME_UNITS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_INT_TEXT = re.compile(r"\s*[0-9]+\s*")

# Infor's names, used in messages and in to_json.
_PERIOD = "timePeriodInMilliseconds"
_AFTER = "rateSmoothing.delayAfterCount"
_FACTOR = "rateSmoothing.delayFactorInMilliseconds"
_MAX = "spikeArrest.maxRequestsPerPeriod"


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
        """Parse Infor's XML (read by `throttle_policy_xml.py`); values are checked as for JSON."""
        flat, quota_raw = read_policy_xml(text)
        quota = QuotaPolicy.from_json(quota_raw) if quota_raw is not None else None
        return cls._build(flat, quota)
