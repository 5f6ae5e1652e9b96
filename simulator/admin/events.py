"""Control routes for webhook delivery: subscriptions, the delivery log, stats and the DLQ.

`GET /_sim/deliveries` shows each (event, subscription) through entered, sent, delivered or
failed (per attempt) and dead-lettered, with UTC timestamps, from a ring of the last 100,000
transitions; `GET /_sim/deliveries/stats` gives exact counters that are never capped.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from simulator.admin.routes import control, json_body
from simulator.errors import RequestError
from simulator.events.delivery import DeliveryHub
from simulator.events.deliverylog import STATUSES
from simulator.gateway.responses import json_response
from simulator.runtime import Simulator


def _hub(sim: Simulator) -> DeliveryHub:
    return sim.hub


def _limit(raw: str | None, default: int, cap: int) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"limit must be an integer, not {raw!r}") from None
    if value < 1:
        raise RequestError("limit must be at least 1")
    return min(value, cap)


@control
async def create_subscription(request: Request, sim: Simulator) -> Any:
    sub = _hub(sim).subscriptions.create(await json_body(request))
    return json_response({"id": sub.id, **sub.to_json()}, 201)


@control
async def list_subscriptions(request: Request, sim: Simulator) -> Any:
    return {"subscriptions": [s.to_json() for s in _hub(sim).subscriptions.all()]}


@control
async def get_subscription(request: Request, sim: Simulator) -> Any:
    return _hub(sim).subscriptions.get(request.path_params["sid"]).to_json()


@control
async def delete_subscription(request: Request, sim: Simulator) -> Any:
    sid = request.path_params["sid"]
    moved = _hub(sim).unsubscribe(sid)
    return {"deleted": sid, "pendingDeadLettered": moved}


@control
async def deliveries(request: Request, sim: Simulator) -> Any:
    hub = _hub(sim)
    q = request.query_params
    status = q.get("status") or None
    if status and status not in STATUSES:
        raise RequestError(f"status must be one of {list(STATUSES)}")
    entries = hub.log.query(
        event=q.get("event") or None,
        subscription=q.get("subscription") or None,
        channel=q.get("channel") or None,
        status=status,
        tenant=q.get("tenant") or None,
        limit=_limit(q.get("limit"), 1000, hub.log.cap),
    )
    return {"deliveries": entries, "logCap": hub.log.cap, "logged": len(hub.log)}


@control
async def delivery_stats(request: Request, sim: Simulator) -> Any:
    hub = _hub(sim)
    return {
        **hub.stats.to_json(),
        "pending": hub.pending,
        "maxPending": hub.max_pending,
        "saturated": hub.saturated,
        "deadLetters": len(hub.dlq),
        "running": hub.running,
    }


@control
async def dlq(request: Request, sim: Simulator) -> Any:
    hub = _hub(sim)
    q = request.query_params
    sub, channel, event = q.get("subscription"), q.get("channel"), q.get("event")
    limit = _limit(q.get("limit"), 1000, hub.dlq_cap)
    items = []
    for dead in hub.dlq.values():
        d = dead.delivery
        if (sub and d.sub.id != sub) or (channel and d.event.channel != channel):
            continue
        if event and d.event.event_id != event:
            continue
        items.append(dead.to_json())
        if len(items) >= limit:
            break
    return {"deadLetters": items, "total": len(hub.dlq)}


@control
async def replay(request: Request, sim: Simulator) -> Any:
    body = await json_body(request, required=False)
    if not isinstance(body, dict) or set(body) - {"ids"}:
        raise RequestError('body is empty (replay all) or {"ids": [delivery or event ids]}')
    ids = body.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise RequestError("ids must be a list of strings")
    return _hub(sim).replay(ids)


@control
async def purge(request: Request, sim: Simulator) -> Any:
    hub = _hub(sim)
    purged = len(hub.dlq)
    hub.dlq.clear()
    return {"purged": purged}


ROUTES = [
    Route("/_sim/subscriptions", create_subscription, methods=["POST"]),
    Route("/_sim/subscriptions", list_subscriptions, methods=["GET"]),
    Route("/_sim/subscriptions/{sid}", get_subscription, methods=["GET"]),
    Route("/_sim/subscriptions/{sid}", delete_subscription, methods=["DELETE"]),
    Route("/_sim/deliveries", deliveries, methods=["GET"]),
    Route("/_sim/deliveries/stats", delivery_stats, methods=["GET"]),
    Route("/_sim/dlq", dlq, methods=["GET"]),
    Route("/_sim/dlq", purge, methods=["DELETE"]),
    Route("/_sim/dlq/replay", replay, methods=["POST"]),
]
