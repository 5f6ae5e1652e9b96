"""Fault rules: what to break, for which calls, and how often.

A rule is `{"match": {...}, "action": {...}}` plus at most one selector (`every: N`,
`probability: p` with `seed`) and an optional cap `times: N`. Rules are checked in order and
the first that matches *and* fires acts; a rule that matches without firing lets the next one
try. Selectors are per rule and deterministic: `every: 3` fires on the 3rd, 6th, ... match,
`probability` draws from the rule's own `random.Random(seed)` (the seed defaults to the rule's
index), so a run with the same calls sees the same faults.

Two families act at two places, because an M3 NOK lives inside an MI answer and a bulk call
holds many transactions: `nok` rules act per MI transaction (in `gateway.pipeline.run`, in the
dialect of the call), every other action acts on the HTTP request in `ops.middleware`.
"""

from __future__ import annotations

import fnmatch
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import MIError, RequestError

MATCH_KEYS = ("tenant", "program", "transaction", "path", "client_id", "method")
_NO_CASE = {"program", "transaction", "method"}
_MAIN = ("status", "nok", "drop", "hang", "expire_token", "revoke_token")
_FLAGS = ("drop", "hang", "expire_token", "revoke_token")
_RULE_KEYS = {"match", "action", "times", "every", "probability", "seed", "name"}
MAX_DELAY_MS = 600_000.0


class MatchContext:
    """What a rule can match on for one call; `client_id` and `pairs` are filled lazily."""

    __slots__ = ("client_id", "method", "pairs", "path", "tenant")

    def __init__(
        self,
        tenant: str,
        path: str,
        method: str,
        client_id: str | None = None,
        pairs: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.tenant, self.path, self.method = tenant, path, method
        self.client_id = client_id
        self.pairs = list(pairs)


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


@dataclass(eq=False)
class Rule:
    index: int
    spec: dict[str, Any]
    kind: str
    action: dict[str, Any]
    match: dict[str, re.Pattern[str]]
    times: int | None = None
    every: int | None = None
    probability: float | None = None
    rng: random.Random = field(default_factory=random.Random)
    matched: int = 0
    fired: int = 0

    @classmethod
    def parse(cls, index: int, spec: Any) -> Rule:
        try:
            return cls._parse(index, spec)
        except RequestError as exc:
            raise RequestError(f"rules[{index}]: {exc.message}") from None

    @classmethod
    def _parse(cls, index: int, spec: Any) -> Rule:
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
        if p is not None and (
            isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1
        ):
            raise RequestError("probability must be a number within 0..1")
        if p is not None and every is not None:
            raise RequestError("give either every or probability, not both")
        seed = spec.get("seed", index)
        if isinstance(seed, bool) or not isinstance(seed, int | str):
            raise RequestError("seed must be an integer or a string")
        return cls(
            index,
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
            random.Random(seed),
        )

    def matches(self, ctx: MatchContext) -> bool:
        prog = trx = None
        for key, pattern in self.match.items():
            if key == "program":
                prog = pattern
            elif key == "transaction":
                trx = pattern
            else:
                value = getattr(ctx, key)
                if value is None or not pattern.match(value):
                    return False
        if prog is None and trx is None:
            return True
        return any(
            (prog is None or prog.match(p)) and (trx is None or trx.match(t)) for p, t in ctx.pairs
        )

    def fires(self) -> bool:
        """Counts one match and says whether the rule acts on it."""
        self.matched += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.every is not None:
            hit = self.matched % self.every == 0
        elif self.probability is not None:
            hit = self.rng.random() < self.probability
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit

    def delay_s(self) -> float:
        """The latency to add (seconds), drawn from the rule's generator when distributed."""
        spec = self.action.get("delay_ms")
        if spec is None:
            return 0.0
        if isinstance(spec, float):
            return spec / 1000
        dist = spec["distribution"]
        if dist == "uniform":
            ms = self.rng.uniform(spec["min"], spec["max"])
        elif dist == "normal":
            ms = self.rng.gauss(spec["mean"], spec["stddev"])
        else:
            ms = self.rng.expovariate(1 / spec["mean"]) if spec["mean"] > 0 else 0.0
        return min(max(ms, 0.0), MAX_DELAY_MS) / 1000

    def nok_error(self) -> MIError:
        nok = self.action["nok"]
        return MIError(
            nok.get("message") or f"Fault injected by ionsim rule {self.index}",
            nok.get("code", ""),
            nok.get("field", ""),
        )

    def to_json(self) -> dict[str, Any]:
        left = None if self.times is None else max(self.times - self.fired, 0)
        return {
            "index": self.index,
            **self.spec,
            "kind": self.kind,
            "matched": self.matched,
            "fired": self.fired,
            "remaining": left,
        }


def parse_rules(body: Any) -> list[Rule]:
    """`{"rules": [...]}` or a bare list -> rules; RequestError names the bad rule and why."""
    if isinstance(body, dict):
        if set(body) - {"rules"}:
            raise RequestError('body must be {"rules": [...]}')
        body = body.get("rules")
    if body is None:
        return []
    if not isinstance(body, list):
        raise RequestError('rules must be a list: {"rules": [{"match": ..., "action": ...}]}')
    return [Rule.parse(i, spec) for i, spec in enumerate(body)]


class FaultSet:
    """The installed rules, split by where they act; `active` is the hot path's one check."""

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self.fired_total = 0
        self.header_fired = 0
        self.replace(rules or [])

    def replace(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.http = [r for r in rules if r.kind != "nok"]
        self.nok = [r for r in rules if r.kind == "nok"]
        self.needs_client = any("client_id" in r.match for r in self.http)
        self.needs_pairs = any("program" in r.match or "transaction" in r.match for r in self.http)

    def clear(self) -> int:
        n = len(self.rules)
        self.replace([])
        return n

    def pick(self, rules: list[Rule], ctx: MatchContext) -> Rule | None:
        for rule in rules:
            if rule.matches(ctx) and rule.fires():
                self.fired_total += 1
                return rule
        return None

    def to_json(self, header_enabled: bool) -> dict[str, Any]:
        return {
            "rules": [r.to_json() for r in self.rules],
            "fired": self.fired_total,
            "headerEnabled": header_enabled,
        }


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
