"""`edge` mode: the whole space the schema allows, not only what M3 happens to send.

Empty strings, any Unicode that is valid UTF-8, boundary numbers, optional fields absent, extra
properties where the schema permits them, every RFC 3339 date-time variant the contract's
checker accepts.

Why not `hypothesis_jsonschema.from_schema` alone: on these open object schemas it draws 24 to
90 events per second and can produce strings with lone surrogates that no JSON encoder can put
on the wire. The schemas use a small subset of JSON Schema, so `edge` walks it directly (fast,
UTF-8 only) and hands any subschema using another keyword to `from_schema`, repairing its
strings and filtering through the contract.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

_TEXT = st.text(st.characters(codec="utf-8"), max_size=24)
_INT64 = st.integers(-(2**63), 2**63 - 1)  # orjson refuses wider integers
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | _INT64 | _FLOATS | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_KNOWN = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "format",
    "description",
    "title",
    "examples",
    "default",
    "$comment",
    "items",
}


def edge_schema(schema: Any) -> st.SearchStrategy[Any]:
    """A strategy for any value `schema` accepts, valid UTF-8 and finite numbers only."""
    if schema is True or schema == {}:
        return _JSON
    if schema is False:
        return st.nothing()
    if set(schema) - _KNOWN:
        return _from_schema(schema)
    if "enum" in schema or "const" in schema:
        return st.sampled_from(list(schema["enum"]) if "enum" in schema else [schema["const"]])
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if not kinds:
        return _JSON if not schema.get("properties") else _object(schema)
    return st.one_of([_typed(k, schema) for k in kinds])


def _typed(kind: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "object":
        return _object(schema)
    if kind == "string":
        fmt = str(schema.get("format", ""))
        return {"date-time": date_times(), "date": dates()}.get(fmt, _TEXT)
    if kind == "integer":
        return _INT64
    if kind == "number":
        return _INT64 | _FLOATS | st.sampled_from([0, 0.0, -0.0, 5e-324, 1.7976931348623157e308])
    if kind == "array":
        return st.lists(edge_schema(schema.get("items", {})), max_size=3)
    return {"boolean": st.booleans(), "null": st.none()}[kind]


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = [k for k in schema.get("required", []) if k in props]
    base = st.fixed_dictionaries(
        {k: edge_schema(props[k]) for k in required},
        optional={k: edge_schema(s) for k, s in props.items() if k not in required},
    )
    extra_schema = schema.get("additionalProperties", True)
    if extra_schema is False:
        return base
    keys = _TEXT.filter(lambda k: k not in props)
    extras = st.dictionaries(keys, edge_schema(extra_schema), max_size=2)
    return st.builds(lambda b, e: {**e, **b}, base, extras)


def _from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    from hypothesis_jsonschema import from_schema

    return from_schema(schema).map(_utf8)


def _utf8(value: Any) -> Any:
    """Replaces lone surrogates (which no JSON encoder can send) with U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    if isinstance(value, dict):
        return {_utf8(k): _utf8(v) for k, v in value.items()}
    return value


@st.composite
def dates(draw: Callable[..., Any], lo: int = 0, hi: int = 9999) -> str:
    """RFC 3339 full-date, any real calendar day of years lo..hi."""
    y, m = draw(st.integers(lo, hi)), draw(st.integers(1, 12))
    d = draw(st.integers(1, calendar.monthrange(y, m)[1]))
    return f"{y:04d}-{m:02d}-{d:02d}"


@st.composite
def date_times(draw: Callable[..., Any]) -> str:
    """Every RFC 3339 date-time shape: fractions, Z or z, offsets, t separator, leap second."""
    day = draw(dates())
    sep = draw(st.sampled_from("Tt"))
    h, mi, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 60))
    frac = draw(st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True)))
    zone = draw(
        st.one_of(
            st.sampled_from("Zz"),
            st.builds(
                lambda sign, oh, om: f"{sign}{oh:02d}:{om:02d}",
                st.sampled_from("+-"),
                st.integers(0, 23),
                st.integers(0, 59),
            ),
        )
    )
    return f"{day}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
