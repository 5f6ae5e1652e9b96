"""The ION API Gateway's Swagger is the one per-program field list a tenant can export, but it is
written for REST clients rather than for M3: a field's length hides at the end of its description
("Customer number (10)"), dates and output numbers are plain strings, and the context parameters
and generic transactions sit beside the MI fields. Reading M3's conventions back out of it is kept
apart from writing files, so a document converts, or fails with a JSON pointer into it, in memory.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.errors import ContractError
from simulator.m3.definitions import LIST_PREFIXES

# Context parameters every v2 operation accepts; they are not MI fields.
GENERIC_PARAMS = frozenset(
    [
        "cono",
        "divi",
        "lanc",
        "locale",
        "timeZone",
        "maxrecs",
        "dateformat",
        "excludeempty",
        "righttrim",
        "returncols",
        "format",
        "extendedresult",
        "m3user",
    ]
)
_LENGTH = re.compile(r"^(.*?)\s*\((\d+)\)\s*$")
_BASE_PATH = re.compile(r"/m3api-rest/v2/execute/([A-Z][A-Z0-9]{1,9})/?$")
_FIELD = re.compile(r"[A-Z0-9]{1,10}")
_DATE_WORD = re.compile(r"\bdate\b", re.IGNORECASE)
_NOT_DATE = ("format", "type", "code", "editing", "method", "selection")
GENERIC_TRANSACTIONS = frozenset(
    [
        "FpwVersion",
        "GetCurrentUser",
        "GetFieldHeading",
        "GetFixLevel",
        "GetMIBuild",
        "GetMessageText",
        "GetServerTime",
        "GetUserInfo",
        "ServerTimeZone",
    ]
)
_DATE_NAMES = frozenset(
    [
        "RGDT",
        "LMDT",
        "DWDT",
        "IVDT",
        "ORDT",
        "RLDT",
        "ACDT",
        "DUDT",
        "PUDT",
        "CODT",
        "LIDT",
        "VFDT",
        "VTDT",
    ]
)


def _pointer(*parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _is_date(name: str, length: int, description: str) -> bool:
    """M3 dates are 8 digits; the Swagger reports them with a display length of 10."""
    if length not in (8, 10):
        return False
    if name in _DATE_NAMES:
        return True
    low = description.lower()
    return bool(_DATE_WORD.search(low)) and not any(w in low for w in _NOT_DATE)


def _split(text: Any) -> tuple[str, int | None]:
    m = _LENGTH.match(str(text or ""))
    return (m[1].strip(), int(m[2])) if m else (str(text or "").strip(), None)


def _field(
    name: str, description: str, length: int, numeric: bool, mandatory: bool
) -> dict[str, Any]:
    if _is_date(name, length, description):
        spec: dict[str, Any] = {"type": "D", "length": 8}
    else:
        spec = {"type": "N" if numeric else "A", "length": length}
    if mandatory:
        spec["mandatory"] = True
    spec["description"] = description
    return spec


def _inputs(op: dict[str, Any], source: str, at: tuple[Any, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for i, p in enumerate(op.get("parameters") or []):
        if not isinstance(p, dict) or p.get("in") != "query":
            continue
        name = str(p.get("name", ""))
        if name in GENERIC_PARAMS or not _FIELD.fullmatch(name):
            continue  # context parameters are lower case, MI fields upper case
        description, length = _split(p.get("description"))
        if length is None:
            length = p.get("maxLength")
        if not isinstance(length, int) or length < 1:
            reason = f"input field {name}: no length '(N)' at the end of its description"
            raise ContractError(source, _pointer(*at, "parameters", i, "description"), reason)
        numeric = p.get("type") in ("number", "integer")
        fields[name] = _field(name, description, length, numeric, bool(p.get("required")))
    return fields


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follows local `#/definitions/...` references, which Swagger exports use for responses."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        node = doc
        for part in ref[2:].split("/"):
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"), {})
                if isinstance(node, dict)
                else {}
            )
        seen += 1
    return node


def _record_schema(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    responses = op.get("responses") or {}
    response = _resolve(doc, responses.get("200") or responses.get(200) or {})
    schema = _resolve(doc, response.get("schema") if isinstance(response, dict) else None)
    for key in ("results", "records"):
        props = _resolve(doc, schema.get("properties", {}) if isinstance(schema, dict) else {})
        holder = _resolve(doc, props.get(key, {}) if isinstance(props, dict) else {})
        schema = _resolve(doc, holder.get("items", {}) if isinstance(holder, dict) else {})
    return schema if isinstance(schema, dict) else {}


def _outputs(doc: dict[str, Any], op: dict[str, Any], guessed: list[str]) -> dict[str, Any]:
    """Output fields from the record's `example` ("Customer number (10)") or its properties."""
    record = _record_schema(doc, op)
    example = record.get("example")
    props = record.get("properties")
    items: list[tuple[str, str, int | None, bool]] = []
    if isinstance(example, dict):
        for name, value in example.items():
            description, length = _split(value)
            if length is None:
                prop = props.get(name, {}) if isinstance(props, dict) else {}
                length = prop.get("maxLength") if isinstance(prop, dict) else None
            items.append((str(name), description, length, False))
    elif isinstance(props, dict):
        for name, prop in props.items():
            prop = _resolve(doc, prop) if isinstance(prop, dict) else {}
            description, length = _split(prop.get("description"))
            numeric = prop.get("type") in ("number", "integer")
            items.append((str(name), description, length or prop.get("maxLength"), numeric))
    fields: dict[str, Any] = {}
    for name, description, length, numeric in items:
        if not _FIELD.fullmatch(name):
            continue
        if not isinstance(length, int) or length < 1:
            guessed.append(name)
            length = 1
        fields[name] = _field(name, description, length, numeric, False)
    return fields


def program_from_swagger(doc: dict[str, Any], source: str) -> dict[str, Any]:
    """The program-YAML mapping for one M3 MI Swagger 2.0 document."""
    if not isinstance(doc, dict):
        raise ContractError(source, "", "not a Swagger document (expected a JSON object)")
    if str(doc.get("swagger", "")) != "2.0":
        raise ContractError(source, "/swagger", "not a Swagger 2.0 document ('swagger: \"2.0\"')")
    m = _BASE_PATH.search(str(doc.get("basePath", "")))
    if not m:
        reason = "basePath must end in /m3api-rest/v2/execute/<PROGRAM>: not an M3 MI Swagger"
        raise ContractError(source, "/basePath", reason)
    program = m[1]
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise ContractError(source, "/paths", "no paths: the document lists no transactions")
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    title = str(info.get("title") or "").strip()
    description = title if title and title != program else str(info.get("description") or "")
    transactions: dict[str, Any] = {}
    notes: list[str] = []
    for path, item in paths.items():
        op = item.get("get") if isinstance(item, dict) else None
        if not isinstance(op, dict):
            continue
        name = str(path).strip("/")
        if name in GENERIC_TRANSACTIONS:
            continue  # every program answers these; they come from _generic.yaml
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,31}", name):
            raise ContractError(source, _pointer("paths", path), "not a transaction path '/<NAME>'")
        guessed: list[str] = []
        transactions[name] = {
            "description": str(op.get("summary") or op.get("description") or "").strip(),
            "list": name.startswith(LIST_PREFIXES),
            "input": _inputs(op, source, ("paths", path, "get")),
            "output": _outputs(doc, op, guessed),
        }
        if guessed:
            notes.append(f"{name}: no length in the Swagger for output {', '.join(guessed)}.")
    if not transactions:
        raise ContractError(source, "/paths", "no GET operations: not an M3 MI Swagger")
    # Output values are all strings in the Swagger; a field numeric on input is numeric on output.
    numeric = {n for t in transactions.values() for n, f in t["input"].items() if f["type"] == "N"}
    for t in transactions.values():
        for n, f in t["output"].items():
            if n in numeric and f["type"] == "A":
                f["type"] = "N"
    return {
        "program": program,
        "description": description.strip(),
        "version": str(info.get("version") or ""),
        "limitations": notes,
        "transactions": transactions,
    }
