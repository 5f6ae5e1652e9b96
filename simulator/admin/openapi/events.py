"""Paths of the event-delivery control routes: subscriptions, deliveries, DLQ, events, storms.

They describe one pipeline a test drives end to end (publish, deliver, fail, dead-letter,
replay), so they change together with `simulator.events` and are kept in one place.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.openapi._parts import (
    _OBJ,
    _STR,
    _T,
    _arr,
    _body,
    _control_errors,
    _obj,
    _ok,
    _op,
    _path_param,
    _query,
    _ref,
)


def _event_paths() -> dict[str, dict[str, Any]]:
    """Webhook subscriptions, the delivery log, the dead letters, the event log and publishing."""
    e404 = _control_errors(404)
    return {
        "/_sim/subscriptions": {
            "get": _op("listSubscriptions", "Webhook subscriptions", _ok("SubscriptionList")),
            "post": _op(
                "subscribe",
                "Subscribe a webhook",
                _ok("Subscription", "Created", "201"),
                body=_body(_ref("SubscriptionRequest")),
                errors=_control_errors(400),
            ),
        },
        "/_sim/subscriptions/{sid}": {
            "get": _op(
                "getSubscription",
                "One subscription",
                _ok("Subscription"),
                params=[_path_param("sid", "Subscription id (sub-N)")],
                errors=e404,
            ),
            "delete": _op(
                "unsubscribe",
                "Delete; its pending deliveries are dead-lettered",
                _ok("Unsubscribed"),
                params=[_path_param("sid", "Subscription id (sub-N)")],
                errors=e404,
            ),
        },
        "/_sim/deliveries": {
            "get": _op(
                "listDeliveries",
                "Delivery log (newest transitions, capped)",
                _ok("Deliveries"),
                params=[
                    _query("event", "Event id"),
                    _query("subscription", "Subscription id"),
                    _query("channel", "Channel"),
                    _query(
                        "status",
                        "Delivery status",
                        {"enum": ["entered", "sent", "delivered", "failed", "dead-lettered"]},
                    ),
                    _query("tenant", "Tenant"),
                    _query("limit", "Most entries", {"type": "integer", "minimum": 1}),
                ],
                errors=_control_errors(400),
            )
        },
        "/_sim/deliveries/stats": {
            "get": _op("deliveryStats", "Exact delivery counters", _ok("DeliveryStats"))
        },
        "/_sim/dlq": {
            "get": _op(
                "listDeadLetters",
                "Dead letters with every attempt",
                _ok("DeadLetters"),
                params=[
                    _query("subscription", "Subscription id"),
                    _query("channel", "Channel"),
                    _query("event", "Event id"),
                    _query("limit", "Most entries", {"type": "integer", "minimum": 1}),
                ],
                errors=_control_errors(400),
            ),
            "delete": _op("purgeDeadLetters", "Empty the DLQ", _ok("Purged")),
        },
        "/_sim/dlq/replay": {
            "post": _op(
                "replayDeadLetters",
                "Replay all, or the given delivery or event ids",
                _ok("Replayed"),
                body=_body(_ref("ReplayRequest"), required=False),
                errors=_control_errors(400),
            )
        },
        "/_sim/events": {
            "get": _op(
                "listEvents",
                "Published events, oldest first",
                _ok("Events"),
                params=[
                    _query("tenant", "Tenant"),
                    _query(
                        "channel",
                        "Channel or wildcard",
                        {
                            "enum": [
                                "customer/synced",
                                "customer/deleted",
                                "order/synced",
                                "invoice/synced",
                                "inventory/synced",
                                "customer/*",
                                "*",
                            ]
                        },
                    ),
                    _query("since", "seq of the last event seen", {"type": "integer"}),
                    _query("limit", "Most events", {"type": "integer"}),
                ],
                errors=_control_errors(400, 404),
            )
        },
        "/_sim/tenants/{tenant}/events": {
            "post": _op(
                "publishEvents",
                "Publish synthetic events (JSON array or NDJSON of {channel, payload})",
                _ok("StormAccepted", "Accepted and queued for delivery", "202"),
                params=[_T],
                body=_body(_arr(_obj({"channel": _STR, "payload": _OBJ}, ["channel", "payload"]))),
                errors=_control_errors(400, 404),
            )
        },
    }
