"""Tenant seeds: the M3 data a tenant starts with (and goes back to on reset).

A seed is `fixtures/seed/<name>.yaml`, or a folder `fixtures/seed/<name>/` of YAML files merged
in name order, or a path to either. Each file holds:

    description: text
    user: {USID: IONSIM, CONO: "100", DIVI: "AAA", LANC: GB, DTFM: YMD, TIZO: CET}
    tables:
      customers:
        - {CONO: "100", CUNO: TEMPLATE, CUNM: Template customer, STAT: "20"}
    counters: {"CUNO/100": 10000}

Every value becomes a string (as MI answers). A seed is parsed and checked once, then each new
tenant restores a copy of it, so creating a tenant costs milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator import resources
from simulator.errors import ContractError
from simulator.m3.store import TenantState
from simulator.m3.tables import TABLES, table

_KEYS = {"description", "user", "tables", "counters"}


def find_seed(name: str, data_dir: Path | None = None) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or (path.is_dir() and "/" in name):
        if path.exists():
            return path
        raise ContractError(name, "", "seed file not found")
    for candidate in (f"fixtures/seed/{name}.yaml", f"fixtures/seed/{name}"):
        found = resources.find(candidate, data_dir)
        if found is not None:
            return found
    known = sorted(
        {p.stem for p in resources.files("fixtures/seed", "*.yaml", data_dir)}
        | {p.name for p in resources.files("fixtures/seed", "*", data_dir) if p.is_dir()}
    )
    raise ContractError(name, "", f"no seed named {name!r}; known seeds: {', '.join(known)}")


def _read(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise ContractError(str(path), where, f"invalid YAML: {exc}".splitlines()[0]) from None
    except OSError as exc:
        raise ContractError(str(path), "", f"cannot read: {exc.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ContractError(str(path), "", "a seed file must hold a mapping")
    return data


def _check(path: Path, data: dict[str, Any]) -> None:
    src = str(path)
    unknown = set(data) - _KEYS
    if unknown:
        raise ContractError(src, f"/{sorted(unknown)[0]}", f"unknown key; allowed: {sorted(_KEYS)}")
    if not isinstance(data.get("user", {}), dict):
        raise ContractError(src, "/user", "must be a mapping of M3 user fields")
    if not isinstance(data.get("counters", {}), dict) or not all(
        isinstance(v, int) for v in data.get("counters", {}).values()
    ):
        raise ContractError(src, "/counters", "must map a series name to an integer")
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise ContractError(src, "/tables", "must map a table name to a list of rows")
    for name, rows in tables.items():
        if name not in TABLES:
            raise ContractError(src, f"/tables/{name}", f"unknown table; known: {sorted(TABLES)}")
        if not isinstance(rows, list):
            raise ContractError(src, f"/tables/{name}", "must be a list of rows")
        keys = [k.partition(":")[0] for k in TABLES[name]]
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ContractError(src, f"/tables/{name}/{i}", "a row must be a mapping")
            missing = [k for k in keys if k not in row and k not in ("WHSL", "BANO", "POSX")]
            if missing:
                raise ContractError(src, f"/tables/{name}/{i}", f"key fields missing: {missing}")


def load_seed(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """Parses and checks a seed; the result is applied with `apply_seed`.

    Unchanged seed files come from the same cache as the MI catalog (parsing the demo seed's
    YAML was ~10 ms of every start-up).
    """
    from simulator import __version__
    from simulator.filecache import cached

    path = find_seed(name, data_dir)
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return cached(files, f"{__version__}/seed", lambda: _parse(files))


def _parse(files: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {"user": {}, "tables": {}, "counters": {}}
    for f in files:
        data = _read(f)
        _check(f, data)
        merged["user"].update({k: str(v) for k, v in data.get("user", {}).items()})
        merged["counters"].update(data.get("counters", {}))
        for tname, rows in data.get("tables", {}).items():
            merged["tables"].setdefault(tname, []).extend(
                {k: "" if v is None else str(v) for k, v in row.items()} for row in rows
            )
    state = TenantState("seed")
    for tname, rows in merged["tables"].items():
        t = table(state, tname)
        for row in rows:
            for k in ("WHSL", "BANO", "POSX"):
                if k in t.key_fields:
                    row.setdefault(k, "0" if k == "POSX" else "")
            t.insert(row)
    state.counters.update(merged["counters"])
    state.settings["user"] = merged["user"]
    return state.snapshot()


def apply_seed(state: TenantState, seed: dict[str, Any]) -> None:
    """Restores copies of the seed's rows (restore copies each row), never the seed itself."""
    state.restore(seed)
