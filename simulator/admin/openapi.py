"""The whole OpenAPI 3.1 document of a running simulator: gateway, IMS and test control.

`simulator.m3.metadata.openapi_document` describes the MI programs (what the engine enforces);
this module adds every other route a client or a test can call (`/_sim/...`, ION messaging,
OAuth revoke, MI v1 and metadata, `/metrics`) with request bodies and response schemas precise
enough that a fuzzer (Schemathesis) can exercise them and check the answers against them.

Why the document is built per request from the live simulator: the `tenant` path parameters
list the tenants that exist *now* (an enum, so a generated request reaches real state instead
of 401/404 every time), and when the caller passes the app's routes the document is trimmed to
what is served and completed with a generic entry for any route it does not describe yet, so
"every route is in the document" stays true as routes are added.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from simulator.m3 import metadata

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_NUM: dict[str, Any] = {"type": "number"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_OBJ: dict[str, Any] = {"type": "object"}
_JSON = "application/json"
_IMS = "/{tenant}/IONSERVICES/api/ion/messaging/service"
_CONTROL_TAG = "control"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), **extra}


def _arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


# --- component schemas ----------------------------------------------------------------------

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
    "StormAccepted": _obj({"tenant": _STR, "accepted": _INT, "fanout": _INT}, ["accepted"]),
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


# --- responses ----------------------------------------------------------------------------


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _control_errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad input (the message says what)",
        404: "No such tenant or object",
        409: "Conflict with the current state",
    }
    return {str(s): _json_response(text.get(s, "Refused"), _ref("ControlError")) for s in statuses}


def _gateway_errors(*statuses: int) -> dict[str, Any]:
    """Gateway refusals with their headers: 401 `WWW-Authenticate`, 429/503 `Retry-After`."""
    text = {
        400: "Malformed request",
        401: "The bearer token is missing, invalid, expired or of another tenant",
        404: "Unknown program or path",
        413: "Request body is larger than 4 MiB",
        429: "Throttled (spike arrest or quota); retry after the given seconds",
        503: "Event delivery queue full; retry after the given seconds",
    }
    out: dict[str, Any] = {}
    for s in statuses:
        resp = _json_response(text[s], _ref("GatewayError"))
        if s == 401:
            resp["headers"] = {"WWW-Authenticate": {"required": True, "schema": _STR}}
        if s in (429, 503):
            resp["headers"] = {
                "Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^\\d+$"}}
            }
        out[str(s)] = resp
    return out


def _tenant_param(tenants: list[str], name: str = "tenant") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if tenants:
        schema["enum"] = tenants
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": "Tenant id (TI), one this simulator serves",
        "schema": schema,
    }


def _path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> Any:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> Any:
    return {"name": name, "in": "query", "description": description, "schema": schema or _STR}


def _body(schema: dict[str, Any], required: bool = True, media: str = _JSON) -> dict[str, Any]:
    return {"required": required, "content": {media: {"schema": schema}}}


_T = {"$ref": "#/components/parameters/tenant"}


def _op(
    op_id: str,
    summary: str,
    ok: dict[str, Any],
    *,
    tag: str = _CONTROL_TAG,
    params: list[Any] | None = None,
    body: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    public: bool = True,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "tags": [tag],
        "summary": summary,
        "parameters": params or [],
        "responses": {**ok, **(errors or {})},
    }
    if public:
        op["security"] = [{}]  # control and discovery routes need no token
    if body is not None:
        op["requestBody"] = body
    return op


def _html_ok() -> dict[str, Any]:
    return {"200": {"description": "HTML page", "content": {"text/html": {"schema": _STR}}}}


def _ok(schema_name: str, description: str = "OK", status: str = "200") -> dict[str, Any]:
    return {status: _json_response(description, _ref(schema_name))}


def _control_paths() -> dict[str, dict[str, Any]]:
    """Every `/_sim/` route; `{tenant}` stands for the route's `{ti}`."""
    ti = "/_sim/tenants/{tenant}"
    e404 = _control_errors(404)
    e400_404 = _control_errors(400, 404)
    orno = _path_param("orno", "Customer order number (ORNO)", {"type": "string", "minLength": 1})
    cono = _query("cono", "Company (default: the tenant user's)")
    return {
        "/_sim/health": {"get": _op("health", "Ready check", _ok("Health"))},
        "/_sim/openapi.json": {
            "get": _op("openapi", "This document", _ok("OpenApiDocument", "OpenAPI 3.1"))
        },
        "/_sim/tenants": {
            "get": _op("listTenants", "Tenants served", _ok("TenantList")),
            "post": _op(
                "createTenant",
                "Create a tenant with its own state and credentials",
                _ok("TenantCreated", "Created", "201"),
                body=_body(_ref("TenantCreate"), required=False),
                errors=_control_errors(400, 409),
            ),
        },
        ti: {
            "get": _op("getTenant", "Describe a tenant", _ok("Tenant"), params=[_T], errors=e404),
            "delete": _op(
                "deleteTenant",
                "Delete a tenant",
                {"204": {"description": "Deleted"}},
                params=[_T],
                errors=e404,
            ),
        },
        f"{ti}/ionapi": {
            "get": _op("getIonapi", "The tenant's .ionapi", _ok("IonApi"), params=[_T], errors=e404)
        },
        f"{ti}/reset": {
            "post": _op(
                "resetTenant", "Back to the seed", _ok("TenantStatus"), params=[_T], errors=e404
            )
        },
        f"{ti}/seed": {
            "post": _op(
                "seedTenant",
                "Load another seed",
                _ok("TenantStatus"),
                params=[_T],
                body=_body(_ref("SeedRequest")),
                errors=e400_404,
            )
        },
        f"{ti}/snapshot": {
            "get": _op(
                "getSnapshot", "Export the tenant", _ok("Snapshot"), params=[_T], errors=e404
            ),
            "put": _op(
                "putSnapshot",
                "Restore a snapshot as GET returned it",
                _ok("Restored"),
                params=[_T],
                body=_body(_ref("Snapshot")),
                errors=e400_404,
            ),
        },
        f"{ti}/throttle": {
            "get": _op(
                "getThrottle", "Policy and counters", _ok("Throttle"), params=[_T], errors=e404
            ),
            "put": _op(
                "putThrottle",
                "Set the throttle policy (JSON, or Infor's XML with Content-Type application/xml)",
                _ok("Throttle"),
                params=[_T],
                body=_body(_ref("ThrottlePolicy")),
                errors=e400_404,
            ),
        },
        f"{ti}/authorization": {
            "get": _op(
                "getAuthorization",
                "Connect API authorization",
                _ok("Authorization"),
                params=[_T],
                errors=e404,
            ),
            "put": _op(
                "putAuthorization",
                "Set Connect API authorization",
                _ok("Authorization"),
                params=[_T],
                body=_body(_ref("Authorization")),
                errors=e400_404,
            ),
        },
        f"{ti}/messaging": {
            "get": _op(
                "getMessaging", "IMS connection point", _ok("Messaging"), params=[_T], errors=e404
            ),
            "put": _op(
                "putMessaging",
                "Change the IMS connection point (fields merge)",
                _ok("Messaging"),
                params=[_T],
                body=_body(_ref("MessagingUpdate")),
                errors=e400_404,
            ),
        },
        f"{ti}/messages": {
            "get": _op(
                "listMessages", "Messages sent to ION", _ok("Messages"), params=[_T], errors=e404
            ),
            "delete": _op(
                "clearMessages", "Empty the inbox", _ok("Messages"), params=[_T], errors=e404
            ),
        },
        f"{ti}/orders/{{orno}}/deliver": {
            "post": _op(
                "deliverOrder",
                "Deliver allocated lines (all by default)",
                _ok("OrderAction"),
                params=[_T, orno, cono],
                body=_body(_ref("DeliverRequest"), required=False),
                errors=_control_errors(400, 404, 409),
            )
        },
        f"{ti}/orders/{{orno}}/invoice": {
            "post": _op(
                "invoiceOrder",
                "Invoice delivered lines",
                _ok("OrderAction"),
                params=[_T, orno, cono],
                errors=_control_errors(400, 404, 409),
            )
        },
        "/_sim/clock": {"get": _op("getClock", "Simulated time (epoch seconds)", _ok("Clock"))},
        "/_sim/clock/advance": {
            "post": _op(
                "advanceClock",
                "Move the simulated clock; due retries fire",
                _ok("Clock"),
                body=_body(_ref("ClockAdvance")),
                errors=_control_errors(400),
            )
        },
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
        "/_sim/faults": {
            "get": _op("getFaults", "Installed fault rules and counters", _ok("Faults")),
            "put": _op(
                "putFaults",
                "Replace the fault rules (a bad rule changes nothing)",
                _ok("Faults"),
                body=_body(_ref("FaultRules")),
                errors=_control_errors(400),
            ),
            "delete": _op("clearFaults", "Remove every fault rule", _ok("Faults")),
        },
        "/_sim/journal": {
            "get": _op(
                "getJournal",
                "Recent requests, MI calls, tokens and deliveries",
                _ok("Journal"),
                params=[
                    _query("kind", "Entry kind", {"enum": ["token", "mi", "http", "delivery"]}),
                    _query("tenant", "Tenant"),
                    _query("program", "MI program"),
                    _query("transaction", "MI transaction"),
                    _query("status", "Status"),
                    _query("client_id", "OAuth client id"),
                    _query("since", "Last entry seen", {"type": "integer", "minimum": 0}),
                    _query("limit", "Most entries", {"type": "integer", "minimum": 0}),
                ],
                errors=_control_errors(400),
            ),
            "delete": _op("clearJournal", "Empty the journal", _ok("JournalCleared")),
        },
        "/_sim/stats": {"get": _op("getStats", "Live counters", _ok("Stats"))},
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
        "/_sim/tenants/{tenant}/tables": {
            "get": _op(
                "listTables",
                "The tenant's M3 tables with row counts",
                _ok("TableCounts"),
                params=[_T],
                errors=_control_errors(404),
            )
        },
        "/_sim/tenants/{tenant}/tables/{table}": {
            "get": _op(
                "tableRows",
                "Rows of one M3 table of the tenant (the dashboard's state browser)",
                _ok("TableRows"),
                params=[
                    _T,
                    _path_param("table", "Table name", _STR),
                    _query(
                        "limit", "Rows (1..500)", {"type": "integer", "minimum": 1, "maximum": 500}
                    ),
                    _query("start", "Offset", {"type": "integer", "minimum": 0}),
                    _query("order", "key or newest", {"enum": ["key", "newest"]}),
                    _query("q", "Case-insensitive text any value contains"),
                ],
                errors=_control_errors(400, 404),
            )
        },
        "/_sim/ui": {"get": _op("dashboard", "The live dashboard (HTML)", _html_ok())},
        "/_sim/ui/": {
            "get": _op(
                "dashboardSlash",
                "Redirects to /_sim/ui",
                {"308": {"description": "Permanent redirect to /_sim/ui"}},
            )
        },
        "/_sim/ui/{name}": {
            "get": _op(
                "dashboardAsset",
                "The dashboard's script and style sheet",
                {
                    "200": {
                        "description": "The file",
                        "content": {
                            "text/javascript": {"schema": _STR},
                            "text/css": {"schema": _STR},
                        },
                    }
                },
                params=[_path_param("name", "app.js or app.css", _STR)],
                errors=_control_errors(404),
            )
        },
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus metrics",
                {
                    "200": {
                        "description": "Prometheus text exposition format",
                        "content": {"text/plain": {"schema": _STR}},
                    }
                },
                tag="ops",
            )
        },
    }


def _gateway_paths() -> dict[str, dict[str, Any]]:
    """Gateway routes beyond MI v2: revoke, MI v1, metadata, ION messaging (IMS)."""
    auth = _gateway_errors(401, 429, 503)
    program = _path_param("program", "MI program, e.g. CRS610MI")
    ims_ok = {"200": _json_response("OK", _ref("ImsResult"))}
    ims_fail = {
        str(s): _json_response(d, _ref("ImsResult"))
        for s, d in (
            (400, "Malformed message"),
            (403, "fromLogicalId is not the tenant's connection point"),
            (412, "Connection point inactive or document not accepted"),
        )
    }
    multipart = _body(
        _obj(
            {
                "ParameterRequest": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": '{"documentName", "fromLogicalId", "toLogicalId", '
                    '"encoding": "NONE"|"DEFLATE", "characterSet", "messageId"?}',
                },
                "MessagePayload": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                },
            },
            ["ParameterRequest", "MessagePayload"],
        ),
        media="multipart/form-data",
    )
    revoke = _op(
        "revokeToken",
        "Revoke a token (a refresh token kills its access tokens too)",
        {"200": {"description": "Revoked (also for unknown tokens, RFC 7009)"}},
        tag="oauth2",
        params=[_T],
        body=_body(
            _obj(
                {"token": _STR, "token_type_hint": _STR, "client_id": _STR, "client_secret": _STR}
            ),
            required=False,
            media="application/x-www-form-urlencoded",
        ),
        errors={
            "400": _json_response("invalid_request", _ref("OAuthError")),
            "401": _json_response("invalid_client", _ref("OAuthError")),
        },
    )
    revoke_get = copy.deepcopy(revoke)
    revoke_get["operationId"] = "revokeTokenQuery"
    del revoke_get["requestBody"]
    revoke_get["parameters"] = [_T, _query("token", "The token to revoke")]
    return {
        "/{tenant}/as/revoke_token.oauth2": {"post": revoke, "get": revoke_get},
        "/{tenant}/M3/m3api-rest/execute/{call}": {
            "get": _op(
                "executeV1",
                "MI v1: PROGRAM/TRANSACTION with matrix parameters (;maxrecs=10)",
                {
                    "200": {
                        "description": "MIRecords (XML by default, JSON on Accept)",
                        "content": {"application/xml": {"schema": _STR}, _JSON: {"schema": _OBJ}},
                    }
                },
                tag="MI v1",
                params=[
                    _T,
                    _path_param(
                        "call",
                        "PROGRAM/TRANSACTION",
                        {"type": "string", "pattern": "^[A-Z0-9]{3,10}/[A-Za-z0-9]{1,15}$"},
                    ),
                ],
                errors={**auth, **_gateway_errors(404)},
                public=False,
            )
        },
        "/{tenant}/M3/m3api-rest/metadata": {
            "get": _op(
                "metadataPrograms",
                "MI programs",
                _ok("MetadataPrograms"),
                tag="metadata",
                params=[_T],
                errors=auth,
                public=False,
            )
        },
        "/{tenant}/M3/m3api-rest/metadata/{program}": {
            "get": _op(
                "metadataProgram",
                "One program's transactions and fields",
                _ok("MetadataProgram"),
                tag="metadata",
                params=[_T, program],
                errors={**auth, **_gateway_errors(404)},
                public=False,
            )
        },
        "/{tenant}/M3/m3api-rest/v2/metadata/{program}": {
            "get": _op(
                "metadataProgramV2",
                "One program's transactions and fields (v2 path)",
                _ok("MetadataProgram"),
                tag="metadata",
                params=[_T, program],
                errors={**auth, **_gateway_errors(404)},
                public=False,
            )
        },
        f"{_IMS}/ping": {
            "get": _op(
                "imsPing",
                "IMS is up",
                ims_ok,
                tag="ION messaging",
                params=[_T],
                errors=auth,
                public=False,
            )
        },
        f"{_IMS}/versions": {
            "get": _op(
                "imsVersions",
                "IMS API versions",
                {"200": _json_response("OK", _obj({"versions": _arr(_STR)}, ["versions"]))},
                tag="ION messaging",
                params=[_T],
                errors=auth,
                public=False,
            )
        },
        f"{_IMS}/v2/multipartMessage": {
            "post": _op(
                "imsSendV2",
                "Send a BOD to ION (v2: 201, every problem 412)",
                {"201": _json_response("Accepted", _ref("ImsResult"))},
                tag="ION messaging",
                params=[_T],
                body=multipart,
                errors={**auth, **{k: v for k, v in ims_fail.items() if k in ("403", "412")}},
                public=False,
            )
        },
        f"{_IMS}/v3/multipartMessage": {
            "post": _op(
                "imsSendV3",
                "Send a BOD to ION (v3: 202)",
                {"202": _json_response("Accepted", _ref("ImsResult"))},
                tag="ION messaging",
                params=[_T],
                body=multipart,
                errors={**auth, **ims_fail},
                public=False,
            )
        },
        f"{_IMS}/v3/message/multipart": {
            "post": _op(
                "imsSendV3Alias",
                "Send a BOD to ION (v3 alias path)",
                {"202": _json_response("Accepted", _ref("ImsResult"))},
                tag="ION messaging",
                params=[_T],
                body=multipart,
                errors={**auth, **ims_fail},
                public=False,
            )
        },
        f"{_IMS}/v3/{{lid}}/acceptedDocuments": {
            "get": _op(
                "imsAcceptedDocuments",
                "Documents the connection point accepts",
                ims_ok,
                tag="ION messaging",
                params=[_T, _path_param("lid", "Logical id, e.g. lid://infor.ionsim.demo_tst")],
                errors={**auth, **ims_fail},
                public=False,
            )
        },
    }


# --- assembly -----------------------------------------------------------------------------

_CONVERTER = re.compile(r"\{(\w+)(:\w+)?\}")
_RENAME = {"ti": "tenant", "rest": "call"}


def route_template(path: str) -> str:
    """Starlette path `/{ti}/x/{rest:path}` as the document's template `/{tenant}/x/{call}`."""
    return _CONVERTER.sub(lambda m: "{" + _RENAME.get(m.group(1), m.group(1)) + "}", path)


def _served(routes: Iterable[Any]) -> dict[str, set[str]]:
    served: dict[str, set[str]] = {}
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods or path == "/{ti}/{rest:path}":
            continue  # mounts, websockets and the gateway's catch-all
        served.setdefault(route_template(path), set()).update(
            m.lower() for m in methods if m not in ("HEAD", "OPTIONS")
        )
    return served


def _generic(path: str, method: str) -> dict[str, Any]:
    """A route nobody described yet: its path parameters and 'any answer but a 5xx'."""
    params = [_path_param(n, n) for n in re.findall(r"\{(\w+)\}", path)]
    params = [_T if p["name"] == "tenant" else p for p in params]
    op: dict[str, Any] = {
        "operationId": f"{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}",
        "tags": ["undescribed"],
        "summary": "Not described in detail yet",
        "security": [{}],
        "parameters": params,
        "responses": {"default": {"description": "Any answer"}},
    }
    if method in ("post", "put", "patch"):
        op["requestBody"] = _body(_OBJ, required=False)
    return op


def openapi_document(
    sim: Any, server_url: str = "/", *, routes: Iterable[Any] | None = None
) -> dict[str, Any]:
    """OpenAPI 3.1 of everything `sim` serves: MI operations from the catalog plus the rest.

    `routes` (the app's `routes`) trims the document to what is really served and adds a
    generic operation for any route without a description, so the document never lies about
    which routes exist.
    """
    doc = copy.deepcopy(metadata.openapi_document(sim.catalog, server_url=server_url))
    tenants = sorted(getattr(sim, "tenants", {}) or {})
    components = doc["components"]
    components["parameters"]["tenant"] = _tenant_param(tenants)
    components["schemas"].update(copy.deepcopy(SCHEMAS))
    components["schemas"]["OpenApiDocument"] = _obj(
        {"openapi": _STR, "paths": _OBJ}, ["openapi", "paths"]
    )
    mi_errors = _gateway_errors(401, 404, 429, 503)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path.endswith("/token.oauth2"):
                op["responses"]["429"] = mi_errors["429"]
                continue
            responses = op["responses"]
            for status, resp in mi_errors.items():
                responses[status] = resp
            if method == "post":  # bulk
                responses.update(_gateway_errors(400, 413))
    doc["paths"].update(_gateway_paths())
    doc["paths"].update(_control_paths())
    doc["tags"] += [
        {"name": n} for n in ("MI v1", "metadata", "ION messaging", _CONTROL_TAG, "ops")
    ]
    if routes is not None:
        served = _served(routes)
        mi = re.compile(r"^/\{tenant\}/M3/m3api-rest/v2/execute/[^/{]+/[^/{]+$")
        for path in list(doc["paths"]):
            key = (
                "/{tenant}/M3/m3api-rest/v2/execute/{program}/{transaction}"
                if mi.match(path)
                else path
            )
            methods = served.get(key, set())
            item = doc["paths"][path]
            for method in list(item):
                if method not in methods:
                    del item[method]
            if not item:
                del doc["paths"][path]
        for path, methods in served.items():
            if path == "/{tenant}/M3/m3api-rest/v2/execute/{program}/{transaction}":
                continue  # described per transaction
            item = doc["paths"].setdefault(path, {})
            for method in sorted(methods):
                item.setdefault(method, _generic(path, method))
    return doc
