"""ION events: the AsyncAPI contract, events from M3 changes, subscriptions and delivery."""

from __future__ import annotations

from typing import Any


def strategy(channel: str, mode: str = "realistic", **kwargs: Any) -> Any:
    """A Hypothesis strategy of contract-valid payloads (see `simulator.events.generate`).

    Imported lazily: Hypothesis costs ~120 ms to import and the server never needs it.
    """
    from simulator.events.generate import strategy as build

    return build(channel, mode, **kwargs)


__all__ = ["strategy"]
