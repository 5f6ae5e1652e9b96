"""`POST /_sim/tenants/{ti}/events`: synthetic events into the simulator's own delivery path.

`ionsim storm --tenant T` posts batches here so storm events meet the same subscriptions,
per-key ordering, retries, back-off and dead-letter queue as events from MI changes. The body is
a JSON array (or NDJSON lines) of `{"channel": ..., "payload": ...}`. The whole batch is checked
against the contract before anything is published: one invalid item answers 400 with its index
and JSON pointer and publishes nothing, so a half-accepted batch never skews storm counts.
Publishing uses `hub.put`, which waits while the hub is saturated: back-pressure reaches the
storm as slower answers, never as dropped events.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import Route

from simulator.admin.routes import control
from simulator.errors import RequestError
from simulator.events.contract import Contract, ContractViolation, load_contract
from simulator.events.model import Event
from simulator.gateway.responses import json_response
from simulator.runtime import Simulator

MAX_BATCH = 10_000
# The business key deliveries are ordered by (Event Hub's keyValue), per document.
_KEYS = ("orderNumber", "invoiceNumber", "customerNumber", "partNumber")


def _contract(sim: Simulator) -> Contract:
    publisher = getattr(sim, "publisher", None)
    return publisher.contract if publisher is not None else load_contract(sim.config.data_dir)


def parse_items(raw: bytes) -> list[Any]:
    """A JSON array, one JSON object, or NDJSON (one object per line)."""
    text = raw.strip()
    if not text:
        raise RequestError("a body is required: a JSON array of {channel, payload}")
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        body = None
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise RequestError(f"line {n} is not JSON: {exc}") from None
        return items
    return body if isinstance(body, list) else [body]


def _key(payload: dict[str, Any], event_id: str) -> str:
    data = payload.get("data")
    if isinstance(data, dict):
        for name in _KEYS:
            value = data.get(name)
            if isinstance(value, str) and value:
                return value
    return event_id


@control
async def post_events(request: Request, sim: Simulator) -> Any:
    tenant = request.path_params["ti"]
    if tenant not in sim.tenants:
        raise RequestError(f"no tenant {tenant}", 404)
    items = parse_items(await request.body())
    if len(items) > MAX_BATCH:
        raise RequestError(f"at most {MAX_BATCH} events per request, got {len(items)}", 413)
    contract = _contract(sim)
    for i, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or set(item) - {"channel", "payload"}
            or "payload" not in item
        ):
            raise RequestError(f"item {i}: expected {{'channel': ..., 'payload': {{...}}}}")
        channel = item.get("channel")
        if channel not in contract.channels:
            raise RequestError(f"item {i}: unknown channel {channel!r}")
        try:
            contract.validate(channel, item["payload"])
        except ContractViolation as exc:
            return json_response(
                {
                    "error": f"item {i}: {exc}",
                    "index": i,
                    "channel": channel,
                    "pointer": exc.pointer,
                    "reason": exc.reason,
                },
                400,
            )
    now, fanout = sim.clock.now(), 0
    for item in items:
        payload, channel = item["payload"], item["channel"]
        event_id = payload.get("eventId")
        if not isinstance(event_id, str) or not event_id:
            event_id = str(uuid.uuid4())
        event = Event(
            event_id=event_id,
            channel=channel,
            tenant=tenant,
            document=contract.channels[channel].document,
            key=_key(payload, event_id),
            payload=payload,
            published_at=now,
            source="storm",
        )
        fanout += await sim.hub.put(event)
    return json_response({"tenant": tenant, "accepted": len(items), "fanout": fanout}, 202)


ROUTES = [Route("/_sim/tenants/{ti}/events", post_events, methods=["POST"])]
