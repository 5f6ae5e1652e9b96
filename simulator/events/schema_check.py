"""Compiled payload checkers for the events contract's JSON Schemas.

Every event is validated before it leaves, so validation sits on the publish path of every
committed MI change and of every storm event. jsonschema's validator costs ~60 µs per event
here; the schemas use a small JSON Schema subset, so `compile_schema` turns them into plain
closures with a "surely valid" fast path per leaf (~6 µs, see bench/bench_validate.py; a subschema
using any other keyword falls back to jsonschema). A checker is a closure per schema node; its
problem is (pointer parts, reason), None when the value is valid.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from typing import Any

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
