"""Committed M3 changes -> contract events, validated, logged and handed to delivery.

The publisher listens on `sim.engine.listeners`. Payloads are built from the committed state
(the order head and its lines as they are after the call, the stock balance row, the customer
record the handler committed), never from the request, so an event says what M3 now holds.

One Change yields at most one event, with one exception: within one MI call (same tenant,
correlation, program and transaction) a second change that maps to the same channel and key
and builds the same data is a duplicate and is coalesced. Confirm with three lines emits three
`order_line` changes and one `order` change: one `order/synced` leaves, carrying the final head.
Because payloads come from the final state, the first and the last of such duplicates are equal.
Sync events use actionCode Replace (the payload is the whole current record), deletions Delete.

Every payload is validated against the contract before it exists as an Event. A violation is an
ionsim bug: `strict=True` (tests) raises it; otherwise it is logged, counted, never published.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from simulator.admin.routes import control
from simulator.errors import RequestError
from simulator.events.contract import Contract, ContractViolation, load_contract
from simulator.events.model import Event
from simulator.m3.engine import Change
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

LOGICAL_ID = "lid://infor.m3.m3"
log = logging.getLogger("ionsim.events")
Sink = Callable[[Event], None]
Built = tuple[str, str, dict[str, Any], str, str]  # channel, key, data, action, entity


def rfc3339(t: float) -> str:
    """UTC with milliseconds and Z, the way ION stamps events."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _date(yyyymmdd: str) -> str | None:
    d = yyyymmdd.strip()
    if len(d) != 8 or not d.isdigit():
        return None
    return f"{d[:4]}-{d[4:6]}-{d[6:]}"


def _number(text: Any) -> float:
    try:
        return float(str(text).strip() or "0")
    except ValueError:
        return 0.0


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

    # ---- mapping: one function per entity, reading the committed state ----

    def build(self, st: TenantState, change: Change) -> Built | None:
        builder = _BUILDERS.get(change.entity)
        return builder(self, st, change) if builder else None

    def _customer(self, st: TenantState, change: Change) -> Built:
        r, now = change.record, self.sim.clock.now()
        key = f"{r.get('CONO', '')}/{r.get('CUNO', '')}"
        if change.action == "delete":
            data = {"customerNumber": r.get("CUNO", ""), "deletionDate": rfc3339(now)}
            data["customerName"] = r.get("CUNM", "")
            return "customer/deleted", key, data, "Delete", _entity(r)
        data = {
            "customerNumber": r.get("CUNO", ""),
            "customerName": r.get("CUNM", ""),
            "status": r.get("STAT", ""),
            "currency": r.get("CUCD", ""),
            "country": r.get("CSCD", ""),
            "addressLine1": r.get("CUA1", ""),
            "city": r.get("TOWN") or r.get("CUA3", ""),
            "postalCode": r.get("PONO", ""),
            "email": r.get("MAIL", ""),
            "phone": r.get("PHNO", ""),
        }
        modified = self._moment(r.get("LMDT", ""), now)
        if modified:
            data["lastModified"] = modified
        return "customer/synced", key, data, "Replace", _entity(r)

    def _order(self, st: TenantState, change: Change) -> Built | None:
        cono, orno = change.key[0], change.key[1]
        orders = table(st, "orders")
        head = orders.get(orders.key(cono, orno))
        if head is None:  # deleted order (no channel for it) or a line of a deleted order
            return None
        lines = table(st, "order_lines")
        data: dict[str, Any] = {
            "orderNumber": head.get("ORNO", ""),
            "customerNumber": head.get("CUNO", ""),
            "orderStatus": head.get("ORST", ""),
            "lowestStatus": head.get("ORSL", ""),
            "totalAmount": _number(head.get("NTAM")),
            "currency": head.get("CUCD", ""),
            "lineCount": sum(1 for _ in lines.scan(lines.key(cono, orno))),
            "orderType": head.get("ORTP", ""),
            "warehouse": head.get("WHLO", ""),
            "customerOrderNumber": head.get("CUOR", ""),
        }
        order_date = _date(head.get("ORDT", ""))
        if order_date:
            data["orderDate"] = order_date
        return "order/synced", f"{cono}/{orno}", data, "Replace", _entity(head)

    def _invoice(self, st: TenantState, change: Change) -> Built:
        r = change.record
        data: dict[str, Any] = {
            "invoiceNumber": r.get("IVNO", ""),
            "customerNumber": r.get("CUNO", ""),
            "amount": _number(r.get("AMT1") or r.get("IVAM")),
            "currency": r.get("CUCD", ""),
            "status": "Open",
            "orderNumber": r.get("ORNO", ""),
            "year": r.get("YEA4", ""),
        }
        for name, field in (("invoiceDate", "IVDT"), ("dueDate", "DUDT")):
            value = _date(r.get(field, ""))
            if value:
                data[name] = value
        key = f"{r.get('CONO', '')}/{r.get('DIVI', '')}/{r.get('YEA4', '')}/{r.get('IVNO', '')}"
        return "invoice/synced", key, data, "Replace", _entity(r)

    def _inventory(self, st: TenantState, change: Change) -> Built:
        cono, whlo, itno = change.key[0], change.key[1], change.key[2]
        balances = table(st, "item_warehouses")
        row = balances.get(balances.key(cono, whlo, itno)) or change.record
        items = table(st, "items")
        item = items.get(items.key(cono, itno)) or {}
        data: dict[str, Any] = {
            "partNumber": itno,
            "warehouse": whlo,
            "onHand": _number(row.get("STQT")),
            "allocated": _number(row.get("ALQT")),
            "available": _number(row.get("AVAL")),
            "unitOfMeasure": item.get("UNMS", ""),
        }
        moment = self._moment(row.get("LMDT", ""), self.sim.clock.now())
        if moment:
            data["lastTransactionDate"] = moment
        warehouses = table(st, "warehouses")
        divi = (warehouses.get(warehouses.key(cono, whlo)) or {}).get("DIVI", "")
        entity = f"{cono}_{divi}"
        return "inventory/synced", f"{cono}/{whlo}/{itno}", data, "Replace", entity

    @staticmethod
    def _moment(yyyymmdd: str, now: float) -> str | None:
        """M3 keeps a date only: today's change is stamped now, an older one at midnight UTC."""
        day = _date(yyyymmdd)
        if day is None:
            return None
        stamp = rfc3339(now)
        return stamp if stamp.startswith(day) else f"{day}T00:00:00Z"


def _entity(record: Record) -> str:
    """The accounting entity CONO_DIVI of a record, as ION's AccountingEntityID."""
    return f"{record.get('CONO', '')}_{record.get('DIVI', '')}"


_BUILDERS: dict[str, Callable[[Publisher, TenantState, Change], Built | None]] = {
    "customer": Publisher._customer,
    "order": Publisher._order,
    "order_line": Publisher._order,
    "invoice": Publisher._invoice,
    "inventory": Publisher._inventory,
}


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
