"""M3 MI program definitions: the YAML files in `contracts/mi/`, loaded into an immutable catalog.

The definitions are data, not code, so a user can add or correct a program by dropping a YAML file
in their data folder, and the engine, the metadata routes, the OpenAPI document and the coverage
table all follow from the same source. Every file is checked against
`contracts/mi-program.schema.json` at start-up; any problem is a `ContractError` naming the file,
a JSON pointer into it and a reason, never a traceback at request time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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

from simulator import resources
from simulator.errors import ContractError

if TYPE_CHECKING:
    import jsonschema

FieldType = Literal["A", "N", "D"]

MI_FOLDER = "contracts/mi"
GENERIC_FILE = f"{MI_FOLDER}/_generic.yaml"
SCHEMA_FILE = "contracts/mi-program.schema.json"
LIST_PREFIXES = ("Lst", "List", "Search", "Sel")

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FILE_KEYS = {"program", "generic", "description", "version", "limitations", "transactions"}
_TRX_KEYS = {"description", "list", "input", "output"}
_FIELD_KEYS = {"type", "length", "mandatory", "description", "decimals"}
_PROGRAM_RE = re.compile(r"(_generic|[A-Z][A-Z0-9]{1,9})")
_TRX_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
_FIELD_RE = re.compile(r"[A-Z0-9][A-Z0-9]{0,9}")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    length: int
    mandatory: bool = False
    description: str = ""
    decimals: int | None = None


@dataclass(frozen=True)
class Transaction:
    name: str
    description: str
    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    list: bool
    described: bool
    input_map: dict[str, Field] = field(init=False, repr=False, compare=False, hash=False)
    output_names: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)
    blank: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)
    output_set: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    json_memo: dict[int, tuple[dict[str, Any], bytes]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        # Built once here because the engine looks fields up on every request.
        object.__setattr__(self, "input_map", {f.name: f for f in self.inputs})
        object.__setattr__(self, "output_names", tuple(f.name for f in self.outputs))
        object.__setattr__(self, "blank", dict.fromkeys(self.output_names, ""))
        object.__setattr__(self, "output_set", frozenset(self.output_names))
        object.__setattr__(self, "json_memo", {})  # see wire.records_json


@dataclass(frozen=True)
class Program:
    name: str
    description: str
    version: str
    transactions: dict[str, Transaction]
    limitations: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Catalog:
    programs: dict[str, Program]

    def program(self, name: str) -> Program | None:
        return self.programs.get(name)

    def transaction(self, program: str, name: str) -> Transaction | None:
        p = self.programs.get(program)
        return p.transactions.get(name) if p else None


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


def _read_yaml(path: Path) -> Any:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ContractError(name, "", f"cannot read the file: {e}") from None
    try:
        return _load_yaml(text)
    except _YamlProblem as e:
        raise ContractError(name, _pointer(e.pointer), e.reason) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContractError(name, "", f"YAML syntax error{at}: {problem}") from None


def _pointer(parts: list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


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


def _validate(data: Any, name: str) -> None:
    if _conforms(data):
        return
    if data is None:
        raise ContractError(name, "", "the file is empty")
    from jsonschema.exceptions import best_match

    errors = list(_validator().iter_errors(data))
    if errors:
        best = best_match(errors)
        where, reason = _schema_reason(best)
        raise ContractError(name, _pointer(where), reason)


def _fields(spec: dict[str, Any] | None, output: bool, at: list[Any], name: str) -> tuple:
    result = []
    for fname, f in (spec or {}).items():
        decimals = f.get("decimals")
        if decimals is not None and decimals >= f["length"]:
            reason = f"decimals ({decimals}) must be less than the length ({f['length']})"
            raise ContractError(name, _pointer([*at, fname, "decimals"]), reason)
        if output and f.get("mandatory"):
            reason = "output fields cannot be mandatory"
            raise ContractError(name, _pointer([*at, fname, "mandatory"]), reason)
        result.append(
            Field(
                name=fname,
                type=f["type"],
                length=int(f["length"]),
                mandatory=bool(f.get("mandatory", False)),
                description=f.get("description", ""),
                decimals=decimals,
            )
        )
    return tuple(result)


def _transaction(trx: str, spec: dict[str, Any] | None, name: str) -> Transaction:
    spec = spec or {}
    at = ["transactions", trx]
    return Transaction(
        name=trx,
        description=spec.get("description", ""),
        inputs=_fields(spec.get("input"), False, [*at, "input"], name),
        outputs=_fields(spec.get("output"), True, [*at, "output"], name),
        list=bool(spec.get("list", trx.startswith(LIST_PREFIXES))),
        described="input" in spec or "output" in spec,
    )


def load_program_file(path: Path, generic: dict[str, Transaction] | None = None) -> Program:
    """Load and check one program file; `generic` transactions are added unless redefined."""
    path = Path(path)
    name = str(path)
    data = _read_yaml(path)
    _validate(data, name)
    program = data["program"]
    is_generic = bool(data.get("generic", False))
    if path.name != f"{program}.yaml":
        reason = f"the program {program!r} must be in a file named {program}.yaml"
        raise ContractError(name, "/program", reason)
    if is_generic != (program == "_generic"):
        reason = "'generic: true' belongs to _generic.yaml only, and _generic.yaml needs it"
        raise ContractError(name, "/generic", reason)
    transactions = {
        trx: _transaction(trx, spec, name) for trx, spec in data["transactions"].items()
    }
    for trx, t in (generic or {}).items():
        transactions.setdefault(trx, t)
    return Program(
        name=program,
        description=data.get("description", ""),
        version=data.get("version", ""),
        transactions=transactions,
        limitations=tuple(data.get("limitations") or ()),
        source=name,
    )


def load_catalog(data_dir: Path | None = None, *, use_cache: bool = True) -> Catalog:
    """Every program in the user's folder and the packaged one, each answering the generic set.

    Unchanged files come from the catalog cache (see catalog_cache.py); edited ones are parsed
    and validated again.
    """
    if not use_cache:
        return _load_catalog(data_dir)
    from simulator import __version__
    from simulator.filecache import cached

    files = resources.files(MI_FOLDER, "*.yaml", data_dir)
    generic_path = resources.find(GENERIC_FILE, data_dir)
    deps = [*files, *([generic_path] if generic_path else [])]
    # The format tag changes whenever the pickled classes gain a field.
    return cached(deps, f"{__version__}/catalog-4", lambda: _load_catalog(data_dir))


def _load_catalog(data_dir: Path | None) -> Catalog:
    generic: dict[str, Transaction] = {}
    generic_path = resources.find(GENERIC_FILE, data_dir)
    if generic_path is not None:
        generic = load_program_file(generic_path).transactions
    programs: dict[str, Program] = {}
    for path in resources.files(MI_FOLDER, "*.yaml", data_dir):
        if path.name.startswith("_"):
            continue
        program = load_program_file(path, generic)
        if program.name in programs:
            other = programs[program.name].source
            reason = f"program {program.name} is already defined in {other}"
            raise ContractError(str(path), "/program", reason)
        programs[program.name] = program
    return Catalog(programs=programs)
