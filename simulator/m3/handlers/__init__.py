"""Program behaviour that YAML cannot say: one module per MI program.

A module registers its transactions with `@handler("CRS610MI", "Add")`. Every module in this
package is imported by `load_handlers`, so adding a program is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TypeVar

from simulator.m3.engine import Handler

REGISTRY: dict[tuple[str, str], Handler] = {}
F = TypeVar("F", bound=Callable[..., object])


def handler(program: str, *transactions: str) -> Callable[[F], F]:
    """Registers a function as the behaviour of one or more transactions of `program`."""

    def register(fn: F) -> F:
        for trx in transactions:
            REGISTRY[(program, trx)] = fn  # type: ignore[assignment]
        return fn

    return register


def load_handlers() -> dict[tuple[str, str], Handler]:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return dict(REGISTRY)
