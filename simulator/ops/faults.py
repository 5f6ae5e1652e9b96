"""Fault rules at run time: which installed rule acts on a call, and how often.

Rules are checked in order and the first that matches *and* fires acts; a rule that matches
without firing lets the next one try. Selectors are per rule and deterministic: `every: 3` fires
on the 3rd, 6th, ... match, `probability` draws from the rule's own `random.Random(seed)` (the
seed defaults to the rule's index), so a run with the same calls sees the same faults.

Two families act at two places, because an M3 NOK lives inside an MI answer and a bulk call
holds many transactions: `nok` rules act per MI transaction (in `gateway.pipeline.run`, in the
dialect of the call), every other action acts on the HTTP request in `ops.fault_actions`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import MIError, RequestError
from simulator.ops.fault_spec import MAX_DELAY_MS, check_rule


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
        checked = check_rule(index, spec)
        return cls(
            index,
            checked.spec,
            checked.kind,
            checked.action,
            checked.match,
            checked.times,
            checked.every,
            checked.probability,
            random.Random(checked.seed),
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
