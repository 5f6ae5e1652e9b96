"""Program definitions are data, not code, so a user can add or correct a program by dropping a
YAML file in their data folder's `contracts/mi/`, next to the packaged ones, without touching
ionsim. Each file is read, checked against the schema, then checked for what the schema cannot
say (the file's name, decimals against length), so a bad file stops start-up with its location.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator import resources
from simulator.errors import ContractError
from simulator.m3.definitions import LIST_PREFIXES, Catalog, Field, Program, Transaction
from simulator.m3.program_schema import validate
from simulator.m3.yaml_reader import json_pointer, read_yaml

MI_FOLDER = "contracts/mi"
GENERIC_FILE = f"{MI_FOLDER}/_generic.yaml"


def _fields(
    spec: dict[str, Any] | None, output: bool, at: list[Any], name: str
) -> tuple[Field, ...]:
    result: list[Field] = []
    for fname, f in (spec or {}).items():
        decimals = f.get("decimals")
        if decimals is not None and decimals >= f["length"]:
            reason = f"decimals ({decimals}) must be less than the length ({f['length']})"
            raise ContractError(name, json_pointer([*at, fname, "decimals"]), reason)
        if output and f.get("mandatory"):
            reason = "output fields cannot be mandatory"
            raise ContractError(name, json_pointer([*at, fname, "mandatory"]), reason)
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
    data = read_yaml(path)
    validate(data, name)
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

    Unchanged files come from the parse cache (see simulator/filecache.py); edited ones are
    parsed and validated again.
    """
    if not use_cache:
        return _load_catalog(data_dir)
    from simulator import __version__
    from simulator.filecache import cached

    files = resources.files(MI_FOLDER, "*.yaml", data_dir)
    generic_path = resources.find(GENERIC_FILE, data_dir)
    deps = [*files, *([generic_path] if generic_path else [])]
    # The format tag changes whenever the pickled classes gain a field or move to another module.
    return cached(deps, f"{__version__}/catalog-6", lambda: _load_catalog(data_dir))


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
