"""What delivery remembers: deliveries, dead letters, the OneView-style log and exact counters.

Kept apart from the hub so the hot path stays readable. Log entries are tuples (cheap at storm
rates) formatted only when read; timestamps are `sim.clock` seconds shown as UTC ISO-8601.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.events.model import Event
from simulator.events.subscriptions import Subscription

# (at, status, error, latency_ms) per attempt; status 0 when no HTTP answer came
Attempt = tuple[float, int, str, float]
STATUSES = ("entered", "sent", "delivered", "failed", "dead-lettered")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True, eq=False)
class Delivery:
    """One event on its way to one subscription."""

    id: str
    event: Event
    sub: Subscription
    entered: float
    attempts: list[Attempt] = field(default_factory=list)
    body: bytes | None = None
    content_type: str = "application/json"
    due: float = 0.0
    in_flight: bool = False

    def attempts_json(self) -> list[dict[str, Any]]:
        return [
            {"at": iso(at), "status": status or None, "error": error or None, "latencyMs": ms}
            for at, status, error, ms in self.attempts
        ]


@dataclass(slots=True)
class DeadLetter:
    delivery: Delivery
    reason: str
    at: float

    def to_json(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "id": d.id,
            "subscription": d.sub.id,
            "eventId": d.event.event_id,
            "channel": d.event.channel,
            "tenant": d.event.tenant,
            "key": d.event.key,
            "reason": self.reason,
            "deadLetteredAt": iso(self.at),
            "attempts": d.attempts_json(),
            "event": d.event.payload,
        }


class DeliveryLog:
    """A ring of the last `cap` transitions (entered, sent, delivered, failed, dead-lettered)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._ring: deque[tuple[Any, ...]] = deque(maxlen=cap)

    def add(
        self,
        at: float,
        status: str,
        d: Delivery,
        attempt: int = 0,
        http: int = 0,
        error: str = "",
        latency: float = 0.0,
    ) -> None:
        self._ring.append((at, status, d, attempt, http, error, latency))

    def query(
        self,
        *,
        event: str | None = None,
        subscription: str | None = None,
        channel: str | None = None,
        status: str | None = None,
        tenant: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The most recent `limit` matching entries, oldest first."""
        out: list[dict[str, Any]] = []
        for at, st, d, attempt, http, error, latency in reversed(self._ring):
            ev = d.event
            if (
                (event and ev.event_id != event)
                or (subscription and d.sub.id != subscription)
                or (channel and ev.channel != channel)
                or (status and st != status)
                or (tenant and ev.tenant != tenant)
            ):
                continue
            entry: dict[str, Any] = {
                "at": iso(at),
                "status": st,
                "eventId": ev.event_id,
                "delivery": d.id,
                "subscription": d.sub.id,
                "channel": ev.channel,
                "tenant": ev.tenant,
                "key": ev.key,
            }
            if attempt:
                entry["attempt"] = attempt
            if http:
                entry["httpStatus"] = http
            if error:
                entry["error"] = error
            if st in ("delivered", "failed"):
                entry["latencyMs"] = round(latency * 1000, 3)
            out.append(entry)
            if len(out) >= limit:
                break
        out.reverse()
        return out

    def __len__(self) -> int:
        return len(self._ring)


_FIELDS = ("published", "replayed", "restored", "delivered", "failed", "retried", "deadLettered")


class DeliveryStats:
    """Exact counters per subscription and per channel, never capped.

    Invariant per subscription and channel: published + replayed + restored ==
    delivered + deadLettered + pending. `failed` counts failed attempts, `retried` scheduled
    retries.
    """

    def __init__(self) -> None:
        self.events = 0  # events the hub received
        self.unmatched = 0  # ... that matched no subscription
        self.dlq_evicted = 0
        self.by_sub: dict[str, dict[str, int]] = {}
        self.by_channel: dict[str, dict[str, int]] = {}

    def count(self, d: Delivery, what: str) -> None:
        for table, name in ((self.by_sub, d.sub.id), (self.by_channel, d.event.channel)):
            row = table.get(name)
            if row is None:
                row = table[name] = dict.fromkeys((*_FIELDS, "pending"), 0)
            row[what] += 1
            if what in ("published", "replayed", "restored"):
                row["pending"] += 1
            elif what in ("delivered", "deadLettered"):
                row["pending"] -= 1

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "unmatched": self.unmatched,
            "dlqEvicted": self.dlq_evicted,
            "subscriptions": {k: dict(v) for k, v in self.by_sub.items()},
            "channels": {k: dict(v) for k, v in self.by_channel.items()},
        }


def event_to_json(e: Event) -> dict[str, Any]:
    return {
        "eventId": e.event_id,
        "channel": e.channel,
        "tenant": e.tenant,
        "document": e.document,
        "key": e.key,
        "payload": e.payload,
        "entity": e.entity,
        "correlation": e.correlation,
        "publishedAt": e.published_at,
        "action": e.action,
        "source": e.source,
        "headers": dict(e.headers),
    }


def event_from_json(j: dict[str, Any]) -> Event:
    """Inverse of `event_to_json`; KeyError/TypeError on a malformed item."""
    return Event(
        event_id=str(j["eventId"]),
        channel=str(j["channel"]),
        tenant=str(j["tenant"]),
        document=str(j.get("document", "")),
        key=str(j["key"]),
        payload=dict(j["payload"]),
        entity=str(j.get("entity", "")),
        correlation=str(j.get("correlation", "")),
        published_at=float(j.get("publishedAt", 0.0)),
        action=str(j.get("action", "Replace")),
        source=str(j.get("source", "m3")),
        headers={str(k): str(v) for k, v in (j.get("headers") or {}).items()},
    )
