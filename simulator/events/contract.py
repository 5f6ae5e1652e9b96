"""The AsyncAPI events contract: channels, messages and compiled payload validators.

Every event is validated before it leaves, so validation sits on the publish path of every
committed MI change and of every storm event. jsonschema's validator costs ~60 µs per event
here; the schemas use a small JSON Schema subset, so `compile_schema` turns them into plain
closures with a "surely valid" fast path per leaf (~6 µs, see bench/bench_validate.py; a subschema
using any other keyword falls back to jsonschema). `errors()` keeps jsonschema with the same strict
formats for complete, readable reports; a property test holds the two to the same verdicts.

A bad contract raises ContractError(file, JSON pointer, reason) at load time, never at request
time: invalid YAML, no channels, a `$ref` to nowhere, a payload that is not a JSON Schema.
"""

from __future__ import annotations

import calendar
import fnmatch
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulator import resources
from simulator.errors import ContractError, IonsimError

CONTRACT = "contracts/ion-events.asyncapi.yaml"
_CACHE: dict[tuple[str, int], Contract] = {}


class ContractViolation(IonsimError):
    """A payload does not satisfy its channel's schema: an ionsim bug when ionsim built it."""

    def __init__(self, channel: str, pointer: str, reason: str) -> None:
        super().__init__(f"{channel}: {pointer or '/'}: {reason}")
        self.channel = channel
        self.pointer = pointer
        self.reason = reason


@dataclass(frozen=True)
class Channel:
    name: str
    message: str
    document: str
    schema: dict[str, Any]
    description: str


class Contract:
    """Channels of the contract with a compiled validator each."""

    def __init__(self, channels: dict[str, Channel], source: str = "") -> None:
        self.channels = channels
        self.source = source
        self._checks: dict[str, Checker] = {
            n: compile_schema(c.schema) for n, c in channels.items()
        }
        self._full: dict[str, Any] = {}  # jsonschema validators, built when errors() needs one

    def _check(self, channel: str) -> Checker:
        try:
            return self._checks[channel]
        except KeyError:
            raise ContractViolation(channel, "", "no such channel in the contract") from None

    def validate(self, channel: str, payload: Any) -> None:
        """Raises ContractViolation with the first problem's JSON pointer."""
        problem = self._check(channel)(payload)
        if problem is not None:
            raise ContractViolation(channel, _pointer(problem[0]), problem[1])

    def errors(self, channel: str, payload: Any) -> list[str]:
        """Every problem, as "/pointer: reason" lines (empty when the payload is valid)."""
        self._check(channel)
        out = []
        if channel not in self._full:
            import jsonschema

            self._full[channel] = jsonschema.Draft7Validator(
                self.channels[channel].schema, format_checker=format_checker()
            )
        for err in sorted(self._full[channel].iter_errors(payload), key=lambda e: list(e.path)):
            out.append(f"{_pointer(err.absolute_path) or '/'}: {err.message}")
        wire = wire_problems(payload)
        if wire:
            out.append(f"{_pointer(wire[0]) or '/'}: {wire[1]}")
        return out

    def match(self, pattern: str) -> list[str]:
        """Channel names matching a glob ("customer/*", "*", "order/synced")."""
        return [n for n in self.channels if fnmatch.fnmatchcase(n, pattern)]


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# ---- the compiled checker: a closure per schema node; errors are (pointer parts, reason) ----

Problem = tuple[tuple[Any, ...], str] | None
Checker = Callable[[Any], Problem]
_DATE_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|[+-](\d\d):(\d\d))",
    re.ASCII,
)
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)
_ANNOTATIONS = {"description", "title", "examples", "default", "$comment", "readOnly", "writeOnly"}
_KNOWN = _ANNOTATIONS | {
    "type", "enum", "const", "required", "properties", "additionalProperties", "items", "format",
    "minLength", "maxLength", "minimum", "maximum", "pattern",
}  # fmt: skip


def _valid_ymd(y: str, m: str, d: str) -> bool:
    month, day = int(m), int(d)
    if not 1 <= month <= 12 or day < 1:
        return False
    return day <= 28 or day <= calendar.monthrange(int(y), month)[1]


def is_date(value: str) -> bool:
    """RFC 3339 full-date: YYYY-MM-DD, a real calendar day."""
    m = _DATE.fullmatch(value)
    return bool(m) and _valid_ymd(*m.groups())


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time: a real instant with seconds and a zone (Z or +hh:mm)."""
    m = _DATE_TIME.fullmatch(value)
    if not m:
        return False
    y, mo, d, h, mi, s, oh, om = m.groups()
    if not _valid_ymd(y, mo, d) or int(h) > 23 or int(mi) > 59 or int(s) > 60:
        return False
    return oh is None or (int(oh) <= 23 and int(om) <= 59)


def is_utf8(value: str) -> bool:
    """False for strings with lone surrogates: they cannot be encoded on the wire."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def format_checker() -> Any:
    """jsonschema's FormatChecker with strict date and date-time (imported on first use)."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(lambda v: not isinstance(v, str) or is_date_time(v))
    checker.checks("date")(lambda v: not isinstance(v, str) or is_date(v))
    return checker


def wire_problems(value: Any, parts: tuple[Any, ...] = ()) -> Problem:
    """Values JSON cannot carry anywhere in the payload: lone surrogates, NaN and infinities."""
    if isinstance(value, str):
        return None if is_utf8(value) else (parts, "string is not valid UTF-8 (lone surrogate)")
    if isinstance(value, float):
        return None if math.isfinite(value) else (parts, f"{value} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or not is_utf8(k):
                return (parts, f"property name {k!r} is not a valid UTF-8 string")
            p = wire_problems(v, (*parts, k))
            if p:
                return p
    elif isinstance(value, list):
        for i, v in enumerate(value):
            p = wire_problems(v, (*parts, i))
            if p:
                return p
    return None


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def compile_schema(schema: Any) -> Checker:
    """A checker for `schema`; subschemas using other keywords fall back to jsonschema."""
    if schema is True or schema == {}:
        return wire_problems
    if schema is False:
        return lambda v: ((), "no value is allowed here")
    if set(schema) - _KNOWN:
        import jsonschema

        full = jsonschema.Draft7Validator(schema, format_checker=format_checker())

        def fallback(v: Any) -> Problem:
            err = jsonschema.exceptions.best_match(full.iter_errors(v))
            return (tuple(err.absolute_path), err.message) if err else wire_problems(v)

        return fallback
    steps: list[Checker] = []
    names = ["string", "number"]
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        tests = [_TYPES[n] for n in names]
        want = " or ".join(names)
        test = tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests)
        steps.append(lambda v: None if test(v) else ((), f"{v!r} is not {want}"))
    if "enum" in schema or "const" in schema:
        allowed = list(schema["enum"]) if "enum" in schema else [schema["const"]]
        strings = {a for a in allowed if isinstance(a, str)}

        def enum(v: Any) -> Problem:
            if (isinstance(v, str) and v in strings) or any(_same(v, a) for a in allowed):
                return None
            return ((), f"{v!r} is not one of {allowed!r}")

        steps.append(enum)
    if "string" in names:
        steps.append(_string_step(schema))
    if "number" in names or "integer" in names:
        steps.append(_number_step(schema))
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        steps.append(_object_step(schema))
    if "items" in schema and isinstance(schema["items"], dict):
        item = compile_schema(schema["items"])

        def items(v: Any) -> Problem:
            if isinstance(v, list):
                for i, x in enumerate(v):
                    p = item(x)
                    if p:
                        return ((i, *p[0]), p[1])
            return None

        steps.append(items)
    if not any(k in schema for k in ("properties", "additionalProperties", "items")):
        steps.append(lambda v: wire_problems(v) if isinstance(v, dict | list) else None)

    def check(v: Any) -> Problem:
        for step in steps:
            p = step(v)
            if p:
                return p
        return None

    slow = steps[0] if len(steps) == 1 else check
    fast = _leaf_fast(schema)
    if fast is None:
        return slow

    def leaf(v: Any) -> Problem:
        return None if fast(v) else slow(v)

    return leaf


def _leaf_fast(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A cheap "surely valid" test for common leaves; anything it doubts takes the full check."""
    kind = schema.get("type")
    if set(schema) - _ANNOTATIONS - {"type", "format", "enum"} or not isinstance(kind, str):
        return None
    if kind == "string" and "enum" in schema:
        allowed = frozenset(a for a in schema["enum"] if isinstance(a, str))
        return lambda v: type(v) is str and v in allowed and v.isascii()
    if "enum" in schema:
        return None
    if kind == "string":
        fmt = {"date-time": is_date_time, "date": is_date}.get(schema.get("format", ""))
        if fmt is not None:
            return lambda v: type(v) is str and v.isascii() and fmt(v)
        return lambda v: type(v) is str and (v.isascii() or is_utf8(v))
    if kind == "number":
        return lambda v: type(v) is int or (type(v) is float and v - v == 0)
    if kind == "integer":
        return lambda v: type(v) is int
    return None


def _string_step(schema: dict[str, Any]) -> Checker:
    fmt = schema.get("format")
    test = {"date-time": is_date_time, "date": is_date}.get(fmt, lambda v: True)
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    rx = re.compile(schema["pattern"]) if "pattern" in schema else None

    def string(v: Any) -> Problem:
        if not isinstance(v, str):
            return None
        if not is_utf8(v):
            return ((), "string is not valid UTF-8 (lone surrogate)")
        if not test(v):
            return ((), f"{v!r} is not a valid {fmt}")
        if len(v) < lo or (hi is not None and len(v) > hi):
            return ((), f"{v!r} has a length outside {lo}..{hi}")
        if rx is not None and not rx.search(v):
            return ((), f"{v!r} does not match {rx.pattern!r}")
        return None

    return string


def _number_step(schema: dict[str, Any]) -> Checker:
    lo, hi = schema.get("minimum"), schema.get("maximum")

    def number(v: Any) -> Problem:
        if isinstance(v, float) and not math.isfinite(v):
            return ((), f"{v} is not a finite number")
        if (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and ((lo is not None and v < lo) or (hi is not None and v > hi))
        ):
            return ((), f"{v} is outside {lo}..{hi}")
        return None

    return number


def _object_step(schema: dict[str, Any]) -> Checker:
    props = {k: compile_schema(s) for k, s in schema.get("properties", {}).items()}
    required = list(schema.get("required", []))
    extra_schema = schema.get("additionalProperties", True)
    extra = compile_schema(extra_schema)
    closed = extra_schema is False

    def obj(v: Any) -> Problem:
        if not isinstance(v, dict):
            return None
        for name in required:
            if name not in v:
                return ((), f"{name!r} is a required property")
        for k, x in v.items():
            check = props.get(k)
            if check is None:
                if closed:
                    return ((), f"additional property {k!r} is not allowed")
                if not isinstance(k, str) or not is_utf8(k):
                    return ((), f"property name {k!r} is not a valid UTF-8 string")
                check = extra
            p = check(x)
            if p:
                return ((k, *p[0]), p[1])
        return None

    return obj


def load_contract(data_dir: Path | None = None) -> Contract:
    """The contract found under `data_dir` (or the packaged one), cached per file version."""
    path = resources.find(CONTRACT, data_dir)
    if path is None:
        raise ContractError(CONTRACT, "", "the events contract is missing")
    return load_contract_file(path)


def load_contract_file(path: Path) -> Contract:
    path = Path(path)
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError as exc:
        raise ContractError(str(path), "", f"cannot read: {exc.strerror}") from None
    if key not in _CACHE:
        from simulator import __version__
        from simulator.filecache import cached

        text = path.read_bytes()
        # Checking the payload schemas needs jsonschema (~50 ms to import): done once per
        # version of the file, remembered in the same cache as the MI catalog.
        cached([path], f"{__version__}/contract-schemas", lambda: _checked(text, str(path)))
        _CACHE[key] = parse_contract(text, str(path), check=False)
    return _CACHE[key]


def _checked(text: bytes, file: str) -> bool:
    parse_contract(text, file)
    return True


def parse_contract(text: bytes | str, file: str = CONTRACT, *, check: bool = True) -> Contract:
    """The contract in `text`; `check=False` skips validating the payload schemas themselves."""
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContractError(
            file, "", f"invalid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(doc, dict):
        raise ContractError(file, "", "the contract must be a YAML mapping")
    channels = doc.get("channels")
    if not isinstance(channels, dict) or not channels:
        raise ContractError(file, "/channels", "the contract declares no channels")
    resolver = _Refs(doc, file)
    out: dict[str, Channel] = {}
    for name, spec in channels.items():
        here = "/channels/" + str(name).replace("~", "~0").replace("/", "~1")
        out[str(name)] = _channel(str(name), spec, here, resolver, file, check)
    return Contract(out, file)


def _channel(name: str, spec: Any, here: str, refs: _Refs, file: str, check: bool) -> Channel:
    spec, here = refs.deref(spec, here)
    if not isinstance(spec, dict):
        raise ContractError(file, here, "a channel must be a mapping")
    op_name = "subscribe" if "subscribe" in spec else "publish"
    op, op_at = refs.deref(spec.get(op_name), f"{here}/{op_name}")
    if not isinstance(op, dict) or "message" not in op:
        raise ContractError(file, here, "the channel has no subscribe/publish message")
    msg, msg_at = refs.deref(op["message"], f"{op_at}/message")
    if not isinstance(msg, dict) or "oneOf" in msg:
        raise ContractError(file, msg_at, "expected one message (oneOf is not supported)")
    if "payload" not in msg:
        raise ContractError(file, msg_at, "the message has no payload")
    schema = refs.resolve_all(msg["payload"], f"{msg_at}/payload")
    if not isinstance(schema, dict):
        raise ContractError(file, f"{msg_at}/payload", "the payload schema must be a mapping")
    if check:
        import jsonschema

        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ContractError(
                file,
                f"{msg_at}/payload{_pointer(exc.absolute_path)}",
                f"invalid schema: {exc.message}",
            ) from None
    enum = schema.get("properties", {}).get("documentType", {}).get("enum") or []
    message = str(msg.get("name") or msg_at.rsplit("/", 1)[-1])
    return Channel(
        name=name,
        message=message,
        document=str(enum[0]) if enum else message,
        schema=schema,
        description=str(spec.get("description", "")),
    )


class _Refs:
    """Local `#/...` references, resolved inline; each error names where the `$ref` was."""

    def __init__(self, doc: dict[str, Any], file: str) -> None:
        self.doc = doc
        self.file = file

    def target(self, ref: Any, at: str) -> tuple[Any, str]:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ContractError(
                self.file, at, f"only local '#/...' references are supported: {ref!r}"
            )
        node: Any = self.doc
        for raw in ref[1:].split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise ContractError(self.file, at, f"$ref {ref} points to nothing")
        return node, ref[1:]

    def deref(self, node: Any, at: str) -> tuple[Any, str]:
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            node, target = self.target(node["$ref"], f"{at}/$ref")
            if target in seen:
                raise ContractError(self.file, at, "circular $ref")
            seen.add(target)
            at = target
        return node, at

    def resolve_all(self, node: Any, at: str, depth: int = 0) -> Any:
        if depth > 64:
            raise ContractError(self.file, at, "$ref nesting too deep (circular?)")
        node, at = self.deref(node, at)
        if isinstance(node, dict):
            return {k: self.resolve_all(v, f"{at}/{k}", depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve_all(v, f"{at}/{i}", depth + 1) for i, v in enumerate(node)]
        return node
