"""Component schemas of the event-delivery control routes.

Subscribing, delivering, dead-lettering, replaying and publishing are one pipeline whose
shapes change together with `simulator.events`, so their schemas live apart from the
tenant and gateway ones.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.openapi._parts import (
    _BOOL,
    _INT,
    _OBJ,
    _STR,
    _arr,
    _nullable,
    _obj,
    _ref,
)

_RETRY = _obj(
    {
        "maxAttempts": {"type": "integer", "minimum": 1, "maximum": 100},
        "initialDelayMs": {"type": "integer", "minimum": 0, "maximum": 3_600_000},
        "maxDelayMs": {"type": "integer", "minimum": 0, "maximum": 86_400_000},
        "multiplier": {"type": "number", "minimum": 1, "maximum": 10},
        "jitter": _BOOL,
    },
    additionalProperties=False,
)

EVENT_SCHEMAS: dict[str, Any] = {
    "SubscriptionRequest": _obj(
        {
            "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
            "channels": _arr(_STR),
            "tenant": _nullable(_STR),
            "filter": _OBJ,
            "secret": _nullable(_STR),
            "headers": {"type": "object", "additionalProperties": _STR},
            "format": {"enum": ["json", "bod-xml"]},
            "retry": _RETRY,
            "timeoutMs": {"type": "integer", "minimum": 1, "maximum": 600_000},
        },
        ["url"],
    ),
    "Subscription": _obj(
        {
            "id": _STR,
            "url": _STR,
            "channels": _arr(_STR),
            "tenant": _nullable(_STR),
            "filter": _OBJ,
            "secret": _nullable(_STR),
            "headers": _OBJ,
            "format": _STR,
            "retry": _OBJ,
            "timeoutMs": _INT,
        },
        ["id", "url", "channels"],
    ),
    "SubscriptionList": _obj({"subscriptions": _arr(_ref("Subscription"))}, ["subscriptions"]),
    "Unsubscribed": _obj({"deleted": _STR, "pendingDeadLettered": _INT}, ["deleted"]),
    "Deliveries": _obj({"deliveries": _arr(_OBJ), "logCap": _INT, "logged": _INT}, ["deliveries"]),
    "DeliveryStats": _obj(
        {
            "events": _INT,
            "unmatched": _INT,
            "pending": _INT,
            "maxPending": _INT,
            "saturated": _BOOL,
            "deadLetters": _INT,
            "running": _BOOL,
            "subscriptions": _OBJ,
            "channels": _OBJ,
        },
        ["pending", "deadLetters"],
    ),
    "DeadLetters": _obj({"deadLetters": _arr(_OBJ), "total": _INT}, ["deadLetters", "total"]),
    "ReplayRequest": _obj({"ids": _arr(_STR)}, additionalProperties=False),
    "Replayed": _obj({"replayed": _arr(_OBJ), "skipped": _arr({})}, ["replayed"]),
    "Purged": _obj({"purged": _INT}, ["purged"]),
    "Events": _obj(
        {
            "events": _arr(
                _obj(
                    {
                        "seq": _INT,
                        "eventId": _STR,
                        "channel": _STR,
                        "tenant": _STR,
                        "document": _STR,
                        "key": _STR,
                        "payload": _OBJ,
                        "publishedAt": _STR,
                    },
                    ["seq", "eventId", "channel", "tenant", "payload"],
                )
            ),
            "last": _INT,
            "published": _OBJ,
        },
        ["events", "last"],
    ),
    "StormAccepted": _obj({"tenant": _STR, "accepted": _INT, "fanout": _INT}, ["accepted"]),
}
