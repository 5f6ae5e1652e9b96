"""Paths of the test-control routes (`/_sim/...`) and `/metrics`."""

from __future__ import annotations

from typing import Any

from simulator.admin.openapi._parts import (
    _OBJ,
    _STR,
    _T,
    _arr,
    _body,
    _control_errors,
    _html_ok,
    _obj,
    _ok,
    _op,
    _path_param,
    _query,
    _ref,
)


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
