"""Definition files are YAML written by hand, so a mistake in one must come back as the file, a
JSON pointer into it and a reason the user can act on, and reading them must stay cheap because
it happens at every start-up after an edit. PyYAML's own loader is slow here and silently keeps
the last of two duplicate keys; this reader builds the data from libyaml's events instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from simulator.errors import ContractError

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NO_KEY = object()
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_PLAIN: dict[str, Any] = {}


class _YamlProblem(Exception):
    def __init__(self, pointer: list[Any], reason: str) -> None:
        super().__init__(reason)
        self.pointer = pointer
        self.reason = reason


def _line(event: Any) -> int:
    return event.start_mark.line + 1


def _scalar(ev: ScalarEvent) -> Any:
    """The YAML 1.1 value of a scalar (`8` -> 8, `true` -> True), memoised per plain text."""
    if ev.tag is None or ev.tag == "!":
        if not ev.implicit[0]:
            return ev.value
        try:
            return _PLAIN[ev.value]
        except KeyError:
            tag = _RESOLVER.resolve(yaml.ScalarNode, ev.value, (True, False))
            result = _PLAIN[ev.value] = _CONSTRUCTOR.construct_object(
                yaml.ScalarNode(tag, ev.value)
            )
            return result
    try:
        return _CONSTRUCTOR.construct_object(yaml.ScalarNode(ev.tag, ev.value))
    except yaml.YAMLError as e:
        raise _YamlProblem([], f"unsupported tag {ev.tag!r} at line {_line(ev)}: {e}") from None


def _frame_pointer(frame: list[Any]) -> list[Any]:
    parts: list[Any] = []
    while frame[1] is not None and frame[1][0] is not None:
        parts.append(frame[2])
        frame = frame[1]
    return parts[::-1]


def _load_yaml(text: str) -> Any:
    """Build Python data straight from libyaml's events.

    `yaml.load` spends three quarters of its time composing and constructing nodes in Python;
    this does the same for what a definition file uses (mappings, sequences, scalars, anchors)
    in a third of the time, and refuses duplicate keys, which PyYAML silently collapses. Keys
    stay strings, so a field named `NO` or `ON` is a name, not a boolean.
    """
    # A frame is [container, parent frame, key in the parent, pending key or _NO_KEY].
    top: list[Any] = [None, None, None, _NO_KEY]
    anchors: dict[str, Any] = {}
    root: Any = _NO_KEY
    loader = _Loader(text)
    get_event = loader.get_event
    try:
        while True:
            ev = get_event()
            kind = type(ev)
            if kind is ScalarEvent:
                if top[3] is _NO_KEY and type(top[0]) is dict:
                    top[3] = ev.value
                    continue
                item = _scalar(ev)
                if ev.anchor:
                    anchors[ev.anchor] = item
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                item = {} if kind is MappingStartEvent else []
                if ev.anchor:
                    anchors[ev.anchor] = item
                where = top[3] if type(top[0]) is dict else len(top[0] or ())
                top = [item, top, where, _NO_KEY]
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                item = top[0]
                top = top[1]
            elif kind is AliasEvent:
                if ev.anchor not in anchors:
                    raise _YamlProblem([], f"unknown alias *{ev.anchor} at line {_line(ev)}")
                item = anchors[ev.anchor]
            elif kind is DocumentStartEvent and root is not _NO_KEY:
                raise _YamlProblem([], f"a second YAML document starts at line {_line(ev)}")
            elif kind is StreamEndEvent:
                return None if root is _NO_KEY else root
            else:
                continue
            container = top[0]
            if container is None:
                root = item
            elif type(container) is list:
                container.append(item)
            elif top[3] is _NO_KEY:
                reason = f"a mapping key must be a plain name (line {_line(ev)})"
                raise _YamlProblem(_frame_pointer(top), reason)
            else:
                key = top[3]
                if key in container:
                    reason = f"duplicate key {key!r} at line {_line(ev)}"
                    raise _YamlProblem([*_frame_pointer(top), key], reason)
                container[key] = item
                top[3] = _NO_KEY
    finally:
        loader.dispose()


def read_yaml(path: Path) -> Any:
    """The data in one file, or a `ContractError` saying where and why it cannot be read."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ContractError(name, "", f"cannot read the file: {e}") from None
    try:
        return _load_yaml(text)
    except _YamlProblem as e:
        raise ContractError(name, json_pointer(e.pointer), e.reason) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContractError(name, "", f"YAML syntax error{at}: {problem}") from None


def json_pointer(parts: list[Any]) -> str:
    """The RFC 6901 pointer a `ContractError` uses to locate a key: `/transactions/Add`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
