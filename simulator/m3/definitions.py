"""The MI program model, immutable and built once, so the engine, the metadata routes, the OpenAPI
document and the coverage table all read the same programs and cannot disagree about one.

Where the programs come from, and how a bad file is reported, is `catalog_loader.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["A", "N", "D"]

LIST_PREFIXES = ("Lst", "List", "Search", "Sel")


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

    def __post_init__(self) -> None:
        # Built once here because the engine looks fields up on every request.
        object.__setattr__(self, "input_map", {f.name: f for f in self.inputs})
        object.__setattr__(self, "output_names", tuple(f.name for f in self.outputs))
        object.__setattr__(self, "blank", dict.fromkeys(self.output_names, ""))
        object.__setattr__(self, "output_set", frozenset(self.output_names))


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
