"""Component schemas of the control and gateway routes (the MI ones come from the catalog).

The event-delivery schemas live in `event_schemas` and are merged in here, so `SCHEMAS` stays
the one table the document copies its components from.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.openapi._parts import (
    _BOOL,
    _INT,
    _NUM,
    _OBJ,
    _STR,
    _arr,
    _nullable,
    _obj,
    _ref,
)
from simulator.admin.openapi.event_schemas import EVENT_SCHEMAS

# --- component schemas ----------------------------------------------------------------------

SCHEMAS: dict[str, Any] = {
    "ControlError": _obj({"error": _STR}, ["error"]),
    "GatewayError": _obj(
        {"status": _INT, "error": _STR, "message": _STR}, ["status", "error", "message"]
    ),
    "ImsResult": _obj(
        {"status": _STR, "messageId": _STR, "message": _STR, "code": _INT, "errors": {}},
        ["status"],
    ),
    "Health": _obj({"status": {"const": "ok"}, "tenants": _INT}, ["status"]),
    "Tenant": _obj(
        {"name": _STR, "seed": _nullable(_STR), "user": _STR, "ionapi": _STR},
        ["name", "ionapi"],
    ),
    "TenantList": _obj({"tenants": _arr(_ref("Tenant"))}, ["tenants"]),
    "TenantCreate": _obj(
        {
            "name": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]{0,30}$"},
            "seed": {"enum": ["demo", "minimal"]},
            "random_credentials": _BOOL,
            "throttle": _ref("ThrottlePolicy"),
            "authorization": _ref("Authorization"),
        },
        additionalProperties=False,
    ),
    "TenantCreated": {
        "allOf": [_ref("Tenant"), _obj({"credentials": _ref("IonApi")}, ["credentials"])]
    },
    "IonApi": _obj(
        {k: _STR for k in ("ti", "cn", "dt", "ci", "cs", "iu", "pu", "oa", "ot", "or", "ev", "v")}
        | {"saak": _STR, "sask": _STR},
        ["ti", "ci", "cs", "iu", "pu", "ot", "saak", "sask"],
    ),
    "TenantStatus": _obj({"tenant": _STR, "seed": _nullable(_STR), "status": _STR}, ["status"]),
    "SeedRequest": _obj({"seed": {"enum": ["demo", "minimal"]}}, ["seed"]),
    "Snapshot": _obj(
        {
            "version": {"const": 1},
            "seed": _nullable(_STR),
            "state": _OBJ,
            "throttle": _OBJ,
            "authorization": _OBJ,
            "pendingDeliveries": _arr(_OBJ),
        },
        ["version", "state"],
    ),
    "Restored": _obj(
        {"tenant": _STR, "status": {"const": "restored"}, "pendingDeliveries": _OBJ},
        ["tenant", "status"],
    ),
    "ThrottlePolicy": _obj(
        {
            "timePeriodInMilliseconds": {"type": "integer", "minimum": 1, "maximum": 86_400_000},
            "rateSmoothing": _obj(
                {
                    "delayAfterCount": {"type": "integer", "minimum": 0, "maximum": 100_000},
                    "delayFactorInMilliseconds": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 1000,
                    },
                }
            ),
            "spikeArrest": _obj(
                {"maxRequestsPerPeriod": {"type": "integer", "minimum": 1, "maximum": 1_000_000}}
            ),
            "quota": _obj(
                {
                    "allow": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
                    "interval": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "timeUnit": {"enum": ["minute", "hour", "day", "week", "month"]},
                    "userLevel": _BOOL,
                }
            ),
        },
        description="Infor's throttle policy fields (nested form); XML is also accepted",
    ),
    "Throttle": _obj({"policy": _OBJ, "counters": _OBJ}, ["policy"]),
    "Authorization": _obj(
        {
            "enabled": _BOOL,
            "grants": {"type": "object", "additionalProperties": _arr(_STR)},
            "companies": {"type": "object", "additionalProperties": _arr(_STR)},
        }
    ),
    "Clock": _obj({"now": _NUM, "iso": _STR, "offset": _NUM, "advanced": _NUM}, ["now"]),
    "ClockAdvance": _obj(
        {"seconds": {"type": "number", "minimum": 0, "maximum": 31_536_000}},
        ["seconds"],
        additionalProperties=False,
    ),
    "Messaging": _obj(
        {"logicalId": _STR, "active": _BOOL, "acceptedDocuments": _arr(_STR)},
        ["logicalId", "active", "acceptedDocuments"],
    ),
    "MessagingUpdate": _obj(
        {
            "logicalId": {"type": "string", "minLength": 1},
            "active": _BOOL,
            "acceptedDocuments": _arr(_STR),
        },
        additionalProperties=False,
    ),
    "Messages": {
        "anyOf": [
            _obj({"messages": _arr(_OBJ)}, ["messages"]),
            _obj({"deleted": _INT}, ["deleted"]),
        ]
    },
    "DeliverRequest": _obj(
        {
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": _obj(
                    {
                        "PONR": {"type": ["string", "integer"]},
                        "POSX": {"type": ["string", "integer"]},
                        "qty": {"type": ["string", "number"]},
                    },
                    ["PONR"],
                    additionalProperties=False,
                ),
            }
        },
        additionalProperties=False,
    ),
    "OrderAction": {"type": "object", "description": "The order after the action"},
    **EVENT_SCHEMAS,
    "FaultRule": _obj(
        {
            "match": _obj(
                {
                    k: {"anyOf": [{"type": "string", "minLength": 1}, _arr(_STR)]}
                    for k in ("tenant", "program", "transaction", "path", "client_id", "method")
                },
                additionalProperties=False,
            ),
            "action": _obj(
                {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "message": _STR,
                    "retry_after": {"type": "integer", "minimum": 0},
                    "nok": _obj({"code": _STR, "message": _STR, "field": _STR}),
                    "delay_ms": {"anyOf": [{"type": "number", "minimum": 0}, _OBJ]},
                    "drop": {"const": True},
                    "hang": {"const": True},
                    "expire_token": {"const": True},
                    "revoke_token": {"const": True},
                },
                description="One of status, nok, drop, hang, expire_token, revoke_token, delay_ms",
            ),
            "every": {"type": "integer", "minimum": 1},
            "times": {"type": "integer", "minimum": 1},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "seed": {"type": ["integer", "string"]},
        },
        ["match", "action"],
    ),
    "FaultRules": _obj({"rules": _arr(_ref("FaultRule"))}, additionalProperties=False),
    "Faults": _obj(
        {"rules": _arr(_OBJ), "fired": _INT, "headerEnabled": _BOOL, "cleared": _INT},
        ["rules", "fired"],
    ),
    "Journal": _obj({"entries": _arr(_OBJ), "last": _INT}, ["entries", "last"]),
    "JournalCleared": _obj({"cleared": _INT, "last": _INT}, ["cleared"]),
    "TableCounts": _obj(
        {
            "tenant": _STR,
            "tables": {"type": "object", "additionalProperties": _INT},
            "browsable": _arr(_STR),
        },
        ["tenant", "tables"],
    ),
    "TableRows": _obj(
        {
            "tenant": _STR,
            "table": _STR,
            "key": _arr(_STR),
            "columns": _arr(_STR),
            "total": _INT,
            "order": _STR,
            "start": _INT,
            "limit": _INT,
            "rows": _arr({"type": "object", "additionalProperties": _STR}),
            "next": _nullable(_INT),
        },
        ["tenant", "table", "rows"],
    ),
    "Stats": _obj(
        {"now": _STR, "gateway": _OBJ, "mi": _OBJ, "events": _OBJ, "faults": _OBJ}, ["now"]
    ),
    "MetadataPrograms": _obj(
        {"programs": _arr(_obj({"name": _STR, "transactions": _arr(_STR)}, ["name"]))},
        ["programs"],
    ),
    "MetadataProgram": _obj(
        {"name": _STR, "description": _STR, "transactions": _arr(_OBJ)},
        ["name", "transactions"],
    ),
}
