"""Throttling and quota policies as Infor writes them: nested or flattened JSON, or XML.

Parsing and checking only; `throttle.py` decides per request. The semantics and the simulator's
assumptions are in `throttle.py`'s docstring.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.errors import RequestError

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
