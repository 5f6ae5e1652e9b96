"""Committed M3 changes -> contract events, validated, logged and handed to delivery.

The publisher listens on `sim.engine.listeners`; what each change's event carries is decided in
`simulator.events.payloads`, from the committed state.

One Change yields at most one event, with one exception: within one MI call (same tenant,
correlation, program and transaction) a second change that maps to the same channel and key
and builds the same data is a duplicate and is coalesced. Confirm with three lines emits three
`order_line` changes and one `order` change: one `order/synced` leaves, carrying the final head.
Because payloads come from the final state, the first and the last of such duplicates are equal.

Every payload is validated against the contract before it exists as an Event. A violation is an
ionsim bug: `strict=True` (tests) raises it; otherwise it is logged, counted, never published.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from simulator.admin.routes import control
from simulator.errors import RequestError
from simulator.events import payloads
from simulator.events.contract import Contract, ContractViolation, load_contract
from simulator.events.model import LOGICAL_ID, Event
from simulator.events.payloads import Built, rfc3339
from simulator.m3.engine import Change
from simulator.m3.store import TenantState

log = logging.getLogger("ionsim.events")
Sink = Callable[[Event], None]


class Publisher:
    """Turns committed changes into validated events; keeps a bounded log per tenant."""

    def __init__(
        self,
        sim: Any,
        contract: Contract | None = None,
        sink: Sink | None = None,
        *,
        strict: bool = False,
        log_size: int = 10_000,
    ) -> None:
        self.sim = sim
        self.contract = contract or load_contract(sim.config.data_dir)
        self.outbox: deque[Event] = deque(maxlen=log_size)
        self.sink: Sink = sink or self.outbox.append
        self.strict = strict
        self.log_size = log_size
        self.logs: dict[str, deque[tuple[int, Event]]] = {}
        self.published: Counter[str] = Counter()
        self.unpublished: Counter[str] = Counter()
        self.violations = 0
        self.coalesced = 0
        self._seq = 0
        self._call: tuple[str, ...] = ()
        self._seen: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def attach(cls, sim: Any, **kwargs: Any) -> Publisher:
        """Creates the publisher, subscribes it to the engine and hangs it on `sim.publisher`."""
        publisher = cls(sim, **kwargs)
        sim.engine.listeners.append(publisher)
        sim.publisher = publisher
        return publisher

    def __call__(self, change: Change) -> None:
        call = (change.tenant, change.correlation, change.program, change.transaction)
        if call != self._call:
            self._call, self._seen = call, {}
        tenant = self.sim.tenants.get(change.tenant)
        built = self.build(tenant.state, change) if tenant is not None else None
        if built is None:
            self.unpublished[change.entity] += 1
            return
        channel, key, data, action, entity = built
        if self._seen.get((channel, key)) == data:
            self.coalesced += 1
            return
        self._seen[(channel, key)] = data
        self.publish(change, channel, key, data, action, entity)

    def publish(
        self,
        change: Change,
        channel: str,
        key: str,
        data: dict[str, Any],
        action: str,
        entity: str,
    ) -> Event | None:
        now = self.sim.clock.now()
        event_id = str(uuid.uuid4())
        spec = self.contract.channels[channel]
        payload = {
            "eventId": event_id,
            "documentType": spec.document,
            "tenantId": change.tenant,
            "timestamp": rfc3339(now),
            "logicalId": LOGICAL_ID,
            "correlationId": change.correlation,
            "data": data,
        }
        try:
            self.contract.validate(channel, payload)
        except ContractViolation as exc:
            self.violations += 1
            if self.strict:
                raise
            log.error("ionsim bug, event not published: %s (change %r)", exc, change)
            return None
        event = Event(
            event_id=event_id,
            channel=channel,
            tenant=change.tenant,
            document=spec.document,
            key=key,
            payload=payload,
            entity=entity,
            correlation=change.correlation,
            published_at=now,
            action=action,
        )
        self._seq += 1
        ring = self.logs.get(change.tenant)
        if ring is None:
            ring = self.logs[change.tenant] = deque(maxlen=self.log_size)
        ring.append((self._seq, event))
        self.published[channel] += 1
        self.sink(event)
        return event

    def events(
        self, tenant: str | None = None, channels: set[str] | None = None, since: int = 0
    ) -> Iterator[tuple[int, Event]]:
        """Logged events, oldest first, after sequence number `since`."""
        rings = [self.logs.get(tenant, ())] if tenant else list(self.logs.values())
        rows = [(s, e) for ring in rings for s, e in ring if s > since]
        rows.sort(key=lambda r: r[0])
        return (r for r in rows if channels is None or r[1].channel in channels)

    def build(self, st: TenantState, change: Change) -> Built | None:
        """The channel, key, data, action and entity of `change`'s event, if it has one."""
        return payloads.build(st, change, self.sim.clock)


def describe(seq: int, event: Event) -> dict[str, Any]:
    return {
        "seq": seq,
        "eventId": event.event_id,
        "channel": event.channel,
        "tenant": event.tenant,
        "document": event.document,
        "key": event.key,
        "entity": event.entity,
        "action": event.action,
        "correlation": event.correlation,
        "publishedAt": rfc3339(event.published_at),
        "payload": event.payload,
    }


@control
async def list_events(request: Request, sim: Any) -> Any:
    """`GET /_sim/events?tenant=&channel=&since=&limit=`: published events, oldest first.

    `since` is the `seq` of the last event already seen (poll with the answer's `last`);
    `channel` takes the subscription wildcards ("customer/*").
    """
    publisher: Publisher | None = getattr(sim, "publisher", None)
    if publisher is None:
        raise RequestError("the event publisher is not running", 404)
    q = request.query_params
    try:
        since, limit = int(q.get("since") or 0), int(q.get("limit") or 1000)
        if not (0 <= since < 2**53 and 0 <= limit <= 100_000):
            raise ValueError
    except ValueError:
        raise RequestError(
            "since must be an integer 0..2^53 and limit an integer 0..100000"
        ) from None
    channels = None
    if q.get("channel"):
        channels = set(publisher.contract.match(q["channel"]))
        if not channels:
            raise RequestError(f"no channel matches {q['channel']!r}")
    rows = list(publisher.events(q.get("tenant") or None, channels, since))[: max(limit, 0)]
    return {
        "events": [describe(seq, e) for seq, e in rows],
        "last": rows[-1][0] if rows else since,
        "published": dict(publisher.published),
        "unpublished": dict(publisher.unpublished),
        "coalesced": publisher.coalesced,
        "violations": publisher.violations,
    }


ROUTES: list[Route] = [Route("/_sim/events", list_events, methods=["GET"])]
