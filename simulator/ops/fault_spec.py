"""Checking fault rules before any is installed: they arrive as JSON from the config file and the
admin API, so every mistake is refused with a `RequestError` that names the bad rule and why,
and the runtime (`ops.faults`) can trust the shape it is given.

A rule is `{"match": {...}, "action": {...}}` plus at most one selector (`every: N`,
`probability: p` with `seed`) and an optional cap `times: N`. The `X-Ionsim-Fault` header is a
shorthand for one action, parsed here too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from simulator.errors import RequestError

MATCH_KEYS = ("tenant", "program", "transaction", "path", "client_id", "method")
_NO_CASE = {"program", "transaction", "method"}
_MAIN = ("status", "nok", "drop", "hang", "expire_token", "revoke_token")
_FLAGS = ("drop", "hang", "expire_token", "revoke_token")
_RULE_KEYS = {"match", "action", "times", "every", "probability", "seed", "name"}
MAX_DELAY_MS = 600_000.0


class RuleSpec(NamedTuple):
    """A checked rule: what `faults.Rule` is built from."""

    spec: dict[str, Any]
    kind: str
    action: dict[str, Any]
    match: dict[str, re.Pattern[str]]
    times: int | None
    every: int | None
    probability: float | None
    seed: int | str


def _matcher(key: str, value: Any) -> re.Pattern[str]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise RequestError(f"match.{key} must be a non-empty string (or a list of them)")
    flags = re.IGNORECASE if key in _NO_CASE else 0
    return re.compile("|".join(f"(?:{fnmatch.translate(v)})" for v in values), flags)


def _delay_spec(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | dict):
        raise RequestError("action.delay_ms must be a number or a distribution object")
    if not isinstance(value, dict):
        if not 0 <= value <= MAX_DELAY_MS:
            raise RequestError(f"action.delay_ms must be within 0..{MAX_DELAY_MS:.0f}")
        return float(value)
    kinds = {"uniform": ("min", "max"), "normal": ("mean", "stddev"), "exponential": ("mean",)}
    dist = value.get("distribution")
    if dist not in kinds:
        raise RequestError(
            'action.delay_ms.distribution must be "uniform", "normal" or "exponential"'
        )
    params = kinds[dist]
    unknown = set(value) - {"distribution", *params}
    missing = [p for p in params if p not in value]
    if unknown or missing:
        raise RequestError(f"action.delay_ms {dist} takes {', '.join(params)} (milliseconds)")
    for p in params:
        v = value[p]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= MAX_DELAY_MS:
            raise RequestError(f"action.delay_ms.{p} must be a number within 0..{MAX_DELAY_MS:.0f}")
    if dist == "uniform" and value["min"] > value["max"]:
        raise RequestError("action.delay_ms: min must not exceed max")
    return dict(value)


def _action(spec: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(spec, dict) or not spec:
        raise RequestError('action must be an object such as {"status": 503}')
    mains = [k for k in _MAIN if k in spec]
    unknown = set(spec) - {*_MAIN, "delay_ms", "message", "retry_after"}
    if unknown:
        raise RequestError(
            f"action has unknown keys {sorted(unknown)}; use one of "
            f"{', '.join(_MAIN)} and/or delay_ms"
        )
    if len(mains) > 1:
        raise RequestError(f"action has several actions {mains}: give one per rule")
    action: dict[str, Any] = {}
    if "delay_ms" in spec:
        action["delay_ms"] = _delay_spec(spec["delay_ms"])
    kind = mains[0] if mains else "delay"
    if kind == "delay" and "delay_ms" not in action:
        raise RequestError(
            "action needs one of status, nok, drop, hang, expire_token, revoke_token or delay_ms"
        )
    if kind in ("nok", "hang") and "delay_ms" in action:
        raise RequestError(f"action.{kind} cannot be combined with delay_ms")
    if kind != "status" and ("message" in spec or "retry_after" in spec):
        raise RequestError("action.message and action.retry_after go with action.status")
    if kind == "status":
        status = spec["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise RequestError("action.status must be an HTTP error status 400..599")
        action["status"] = status
        if "message" in spec:
            if not isinstance(spec["message"], str):
                raise RequestError("action.message must be a string")
            action["message"] = spec["message"]
        if "retry_after" in spec:
            ra = spec["retry_after"]
            if isinstance(ra, bool) or not isinstance(ra, int) or ra < 0:
                raise RequestError("action.retry_after must be whole seconds >= 0")
            action["retry_after"] = ra
    elif kind == "nok":
        nok = spec["nok"]
        if not isinstance(nok, dict) or set(nok) - {"code", "message", "field"}:
            raise RequestError('action.nok must be {"code": ..., "message": ..., "field": ...}')
        if not all(isinstance(v, str) for v in nok.values()):
            raise RequestError("action.nok code, message and field must be strings")
        action["nok"] = dict(nok)
    elif kind in _FLAGS:
        if spec[kind] is not True:
            raise RequestError(f"action.{kind} must be true")
        action[kind] = True
    return kind, action


def _count(rule: Mapping[str, Any], key: str) -> int | None:
    v = rule.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise RequestError(f"{key} must be a whole number >= 1")
    return v


def check_rule(index: int, spec: Any) -> RuleSpec:
    """Rule `index` of a rule list, checked; RequestError says which rule and what is wrong."""
    try:
        return _check(index, spec)
    except RequestError as exc:
        raise RequestError(f"rules[{index}]: {exc.message}") from None


def _check(index: int, spec: Any) -> RuleSpec:
    if not isinstance(spec, dict):
        raise RequestError("a rule must be an object with match and action")
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise RequestError(
            f"unknown keys {sorted(unknown)}; a rule has {', '.join(sorted(_RULE_KEYS))}"
        )
    match = spec.get("match") or {}
    if not isinstance(match, dict):
        raise RequestError("match must be an object")
    bad = set(match) - set(MATCH_KEYS)
    if bad:
        raise RequestError(f"match has unknown keys {sorted(bad)}; use {', '.join(MATCH_KEYS)}")
    kind, action = _action(spec.get("action"))
    every, times = _count(spec, "every"), _count(spec, "times")
    p = spec.get("probability")
    if p is not None and (isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1):
        raise RequestError("probability must be a number within 0..1")
    if p is not None and every is not None:
        raise RequestError("give either every or probability, not both")
    seed = spec.get("seed", index)
    if isinstance(seed, bool) or not isinstance(seed, int | str):
        raise RequestError("seed must be an integer or a string")
    return RuleSpec(
        {
            k: spec[k]
            for k in ("match", "action", "times", "every", "probability", "seed", "name")
            if k in spec
        },
        kind,
        action,
        {k: _matcher(k, v) for k, v in match.items()},
        times,
        every,
        None if p is None else float(p),
        seed,
    )


def parse_header(value: str) -> dict[str, Any] | None:
    """`X-Ionsim-Fault`: `503`, `429`, `drop`, `hang`, `delay=200`, `expire_token`,
    `revoke_token`, `nok` or `nok=CODE`; None when it names nothing we know."""
    value = value.strip().lower()
    if value.isdigit() and 400 <= int(value) <= 599:
        return {"status": int(value)}
    if value in _FLAGS:
        return {value: True}
    name, _, arg = value.partition("=")
    if name == "delay" and arg.replace(".", "", 1).isdigit():
        return {"delay_ms": min(float(arg), MAX_DELAY_MS)}
    if name == "nok":
        return {"nok": {"code": arg.upper(), "message": "Fault injected by X-Ionsim-Fault"}}
    return None
