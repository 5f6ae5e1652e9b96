"""The AsyncAPI events contract: channels, messages and their payload validators.

A bad contract raises ContractError(file, JSON pointer, reason) at load time, never at request
time: invalid YAML, no channels, a `$ref` to nowhere, a payload that is not a JSON Schema.

`validate()` runs the compiled checkers of `schema_check`, fast enough for the publish path;
`errors()` keeps jsonschema with the same strict formats for complete, readable reports; a
property test holds the two to the same verdicts.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulator import resources
from simulator.errors import ContractError, IonsimError
from simulator.events.schema_check import Checker, compile_schema, format_checker, wire_problems

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
