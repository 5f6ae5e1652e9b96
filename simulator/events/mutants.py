"""Invalid events for `verify`: valid ones with exactly one contract rule broken.

Four kinds of mutant (a required field missing, a value of the wrong type, an enum value outside
its set, a malformed date or date-time), each drawn from a valid event (`strategy(channel,
mode)`) so that everything else about it is what the consumer would accept, and each checked
against the contract so it really is invalid: a consumer that accepts it has no excuse.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from simulator.events.contract import Contract

Path = tuple[str, ...]
MUTANTS = ("missing required field", "wrong type", "enum outside its set", "malformed date-time")
_WRONG: tuple[Any, ...] = (None, 0, 1.5, True, "text", [], {})
_BAD_TIMES = (
    "",
    "yesterday",
    "2024-01-01T10:00:00",
    "2024-13-01T00:00:00Z",
    "2024-02-30T10:00:00Z",
    "2024-01-01 10:00:00Z",
    "2024-01-01T25:00:00Z",
    "01/02/2024",
)
_BAD_DATES = ("", "2024-02-30", "20240101", "2024-1-1", "31.12.2024", "2024-01-01T00:00:00Z")


def _paths(
    schema: dict[str, Any],
    test: Callable[[dict[str, Any]], bool],
    required_only: bool = False,
    at: Path = (),
) -> list[Path]:
    """Property paths (top level and nested objects) whose subschema passes `test`."""
    out: list[Path] = []
    required = set(schema.get("required", ()))
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        if (name in required or not required_only) and test(sub):
            out.append((*at, name))
        if sub.get("type") == "object":
            out += _paths(sub, test, required_only, (*at, name))
    return out


def _set(payload: dict[str, Any], path: Path, value: Any) -> None:
    node = payload
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _delete(payload: dict[str, Any], path: Path) -> None:
    node: Any = payload
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def mutants(
    channel: str, kind: str, valid: st.SearchStrategy[dict[str, Any]], contract: Contract
) -> st.SearchStrategy[Any] | None:
    """Invalid payloads of one kind, or None when the schema gives that kind no target."""
    schema, check = contract.channels[channel].schema, contract._check(channel)
    if kind == "missing required field":
        paths = _paths(schema, lambda s: True, required_only=True)
        values: Callable[[Path], st.SearchStrategy[Any]] | None = None
    elif kind == "wrong type":
        paths = _paths(schema, lambda s: "type" in s)
        values = lambda p: st.sampled_from(_WRONG)  # noqa: E731
    elif kind == "enum outside its set":
        paths = _paths(schema, lambda s: "enum" in s)
        values = lambda p: st.text(max_size=12)  # noqa: E731
    else:
        fmts = {p: s.get("format") for p, s in _walk(schema) if s.get("format")}
        paths = [p for p, f in fmts.items() if f in ("date-time", "date")]
        values = lambda p: st.sampled_from(_BAD_DATES if fmts[p] == "date" else _BAD_TIMES)  # noqa: E731
    if not paths:
        return None

    @st.composite
    def mutant(draw: Callable[..., Any]) -> Any:
        payload = copy.deepcopy(draw(valid))
        path = draw(st.sampled_from(paths))
        if values is None:
            _delete(payload, path)
        else:
            _set(payload, path, draw(values(path)))
        assume(check(payload) is not None)
        return payload

    return mutant()


def _walk(schema: dict[str, Any], at: Path = ()) -> list[tuple[Path, dict[str, Any]]]:
    out: list[tuple[Path, dict[str, Any]]] = []
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            out.append(((*at, name), sub))
            out += _walk(sub, (*at, name))
    return out
