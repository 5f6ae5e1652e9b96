"""The bodies of the MI metadata routes, `GET .../m3api-rest/metadata[/{program}]`.

They are derived from the same definitions the engine validates against, so what a client reads
in the metadata is exactly what the simulator enforces.
"""

from __future__ import annotations

from typing import Any

from simulator.m3.definitions import Catalog, Field, Program, Transaction


def _field(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "type": f.type,
        "length": f.length,
        "mandatory": f.mandatory,
        "description": f.description,
    }
    if f.decimals is not None:
        out["decimals"] = f.decimals
    return out


def metadata_programs(catalog: Catalog) -> dict[str, Any]:
    """`GET /{TI}/M3/m3api-rest/metadata`; the real shape is unknown, this one is ours.

    {"programs": [{"name": "CRS610MI", "description": "Customer interface", "version": "640K",
                   "transactions": ["Add", "AddAddress", ...]}, ...]}, sorted by name.
    """
    return {
        "programs": [
            {
                "name": p.name,
                "description": p.description,
                "version": p.version,
                "transactions": list(p.transactions),
            }
            for p in sorted(catalog.programs.values(), key=lambda p: p.name)
        ]
    }


def _transaction(t: Transaction) -> dict[str, Any]:
    return {
        "name": t.name,
        "description": t.description,
        "multipleRecords": t.list,
        "described": t.described,
        "input": [_field(f) for f in t.inputs],
        "output": [_field(f) for f in t.outputs],
    }


def metadata_program(program: Program) -> dict[str, Any]:
    """`GET /{TI}/M3/m3api-rest/metadata/{PROGRAM}`: the program and its field lists.

    {"name", "description", "version", "limitations": [...], "transactions": [{"name",
    "description", "multipleRecords", "described", "input": [{"name", "type" (A/N/D), "length",
    "mandatory", "description"[, "decimals"]}], "output": [...]}]}. `described: false` marks a
    transaction that exists in M3 but whose fields ionsim does not know.
    """
    return {
        "name": program.name,
        "description": program.description,
        "version": program.version,
        "limitations": list(program.limitations),
        "transactions": [_transaction(t) for t in program.transactions.values()],
    }
