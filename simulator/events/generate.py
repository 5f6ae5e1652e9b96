"""Contract events for QA: `strategy(channel, mode)` is the one public entry.

Two modes, because QA asks two questions: what would M3 really send (`realistic`, built in
`simulator.events.realistic_values`), and what else does the contract allow (`edge`, built in
`simulator.events.edge_values`). Every drawn event is checked against the contract.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from simulator.events.contract import Contract, load_contract
from simulator.events.edge_values import edge_schema

# `X as X` keeps the vocabularies importable from here (the storm's fast path reads `gen.X`).
# Not `__all__`: Hypothesis mines string literals from local modules for `edge` draws, so new
# literals would change what a seed draws.
from simulator.events.realistic_values import COUNTRIES as COUNTRIES
from simulator.events.realistic_values import CURRENCIES as CURRENCIES
from simulator.events.realistic_values import DOCUMENT_FIELDS, realistic
from simulator.events.realistic_values import ORDER_STATUSES as ORDER_STATUSES

Strategy = st.SearchStrategy[dict[str, Any]]
MODES = ("realistic", "edge")


def strategy(
    channel: str,
    mode: str = "realistic",
    *,
    contract: Contract | None = None,
    tenant: str | None = None,
) -> Strategy:
    """A strategy of payloads for `channel` that all validate against the contract.

    Channels ionsim has no M3 model for (a custom contract) fall back to `edge` in both modes.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    contract = contract or load_contract()
    spec = contract.channels.get(channel)
    if spec is None:
        raise ValueError(f"no channel {channel!r} in the contract: {sorted(contract.channels)}")
    check = contract._check(channel)
    if mode == "realistic" and spec.document in DOCUMENT_FIELDS:
        strat = realistic(spec.schema, spec.document, tenant)
    else:
        strat = edge_schema(spec.schema)
    return strat.filter(lambda payload: check(payload) is None)


def draw_examples(
    channel: str,
    mode: str = "realistic",
    n: int = 100,
    seed_value: int = 0,
    *,
    contract: Contract | None = None,
    tenant: str | None = None,
) -> list[dict[str, Any]]:
    """`n` payloads drawn by Hypothesis with a fixed seed: same seed, same list.

    Runs a `@given` function once (no database, generate phase only) and keeps what it saw:
    the supported way to drive Hypothesis' diverse generation outside a test.
    """
    strat = strategy(channel, mode, contract=contract, tenant=tenant)
    out: list[dict[str, Any]] = []

    @seed(seed_value)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(strat)
    def collect(payload: dict[str, Any]) -> None:
        out.append(payload)

    collect()
    return out
