"""The event as it travels from the publisher (or a storm) to delivery.

One small value class shared by everything under `events/`, so the publisher, synthetic storms
and the delivery path agree on what an event is without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The logicalId M3 stamps on the events it publishes; storms use it too, so consumers that
# route on it see the same value either way.
LOGICAL_ID = "lid://infor.m3.m3"


@dataclass(frozen=True, slots=True)
class Event:
    """A published ION event.

    `payload` is the contract's JSON object (validated before the event exists); `key` is the
    business key deliveries are ordered by (Event Hub's keyValue: the order, the customer);
    `entity` is the accounting entity `CONO_DIVI`; `correlation` names the MI call that caused it.
    """

    event_id: str
    channel: str
    tenant: str
    document: str
    key: str
    payload: dict[str, Any]
    entity: str = ""
    correlation: str = ""
    published_at: float = 0.0
    action: str = "Replace"
    source: str = "m3"
    headers: dict[str, str] = field(default_factory=dict)
