"""Every program file is checked against `contracts/mi-program.schema.json` at start-up, so any
problem is a `ContractError` naming the file, a JSON pointer into it and a reason, never a
traceback at request time. A valid file, the common case, is accepted by a fast re-statement of
the schema and never pays for jsonschema; only a file that fails it is explained by the schema.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from simulator import resources
from simulator.errors import ContractError
from simulator.m3.yaml_reader import json_pointer

if TYPE_CHECKING:
    import jsonschema

SCHEMA_FILE = "contracts/mi-program.schema.json"

_FILE_KEYS = {"program", "generic", "description", "version", "limitations", "transactions"}
_TRX_KEYS = {"description", "list", "input", "output"}
_FIELD_KEYS = {"type", "length", "mandatory", "description", "decimals"}
_PROGRAM_RE = re.compile(r"(_generic|[A-Z][A-Z0-9]{1,9})")
_TRX_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
_FIELD_RE = re.compile(r"[A-Z0-9][A-Z0-9]{0,9}")


@cache
def _validator() -> jsonschema.protocols.Validator:
    """The schema validator, compiled once: building it costs more than validating a file.

    jsonschema is imported here, not at the top: importing it costs more than loading the whole
    catalog, and it is only needed when a file does not conform.
    """
    import jsonschema

    path = resources.find(SCHEMA_FILE)
    if path is None:
        raise ContractError(SCHEMA_FILE, "", "the schema file is missing from the installation")
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _is_str(v: Any) -> bool:
    return type(v) is str


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _field_ok(f: Any) -> bool:
    if type(f) is not dict or not f.keys() <= _FIELD_KEYS:
        return False
    typ, length, decimals = f.get("type"), f.get("length"), f.get("decimals", 0)
    return (
        typ in ("A", "N", "D")
        and type(length) is int
        and 1 <= length <= 9999
        and (typ != "D" or length == 8)
        and _is_bool(f.get("mandatory", False))
        and _is_str(f.get("description", ""))
        and type(decimals) is int
        and 0 <= decimals <= 30
        and ("decimals" not in f or typ == "N")
    )


def _fields_ok(spec: Any) -> bool:
    if spec is None:
        return True
    return type(spec) is dict and all(
        _is_str(k) and _FIELD_RE.fullmatch(k) and _field_ok(f) for k, f in spec.items()
    )


def _transaction_ok(name: Any, t: Any) -> bool:
    if not (_is_str(name) and _TRX_RE.fullmatch(name)):
        return False
    if t is None:
        return True
    return (
        type(t) is dict
        and t.keys() <= _TRX_KEYS
        and _is_str(t.get("description", ""))
        and _is_bool(t.get("list", False))
        and _fields_ok(t.get("input"))
        and _fields_ok(t.get("output"))
    )


def _conforms(data: Any) -> bool:
    """A fast, strict re-statement of the schema for the common case of a valid file.

    jsonschema needs about 20 ms per large program file, which would make start-up ten times
    slower; this check takes well under 1 ms. It may be stricter than the schema, never looser
    (tests compare the two), and whenever it says no, the schema decides and explains.
    """
    if type(data) is not dict or not data.keys() <= _FILE_KEYS:
        return False
    limitations = data.get("limitations", [])
    transactions = data.get("transactions")
    return (
        _is_str(data.get("program"))
        and bool(_PROGRAM_RE.fullmatch(data["program"]))
        and _is_bool(data.get("generic", False))
        and _is_str(data.get("description", ""))
        and _is_str(data.get("version", ""))
        and (limitations is None or type(limitations) is list)
        and all(_is_str(x) and x for x in limitations or ())
        and type(transactions) is dict
        and all(_transaction_ok(k, t) for k, t in transactions.items())
    )


def _schema_reason(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """A pointer to the offending key and a sentence a user can act on."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            return [*path, extra[0]], f"unknown key {extra[0]!r} (allowed: {', '.join(allowed)})"
    if "propertyNames" in error.absolute_schema_path:
        return [*path, error.instance], f"invalid name {error.instance!r}: {error.message}"
    if error.validator == "const" and path and path[-1] == "length":
        return path, "a D (date) field has length 8: M3 dates are YYYYMMDD"
    if error.validator == "const" and path and path[-1] == "type":
        return path, "only N (numeric) fields may have decimals"
    if error.validator == "type" and error.validator_value == "string":
        hint = " (quote it)" if isinstance(error.instance, (int, float, bool)) else ""
        return path, f"{error.instance!r} must be a string{hint}"
    return path, error.message


def validate(data: Any, name: str) -> None:
    """Return if `data` conforms, else raise a `ContractError` for the problem that matters."""
    if _conforms(data):
        return
    if data is None:
        raise ContractError(name, "", "the file is empty")
    from jsonschema.exceptions import best_match

    errors = list(_validator().iter_errors(data))
    if errors:
        best = best_match(errors)
        where, reason = _schema_reason(best)
        raise ContractError(name, json_pointer(where), reason)
