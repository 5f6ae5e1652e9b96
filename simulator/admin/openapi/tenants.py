"""Paths of the per-tenant control routes (`/_sim/tenants/...`).

They are how a test creates a tenant, loads or restores its state, sets its policies and looks
at its tables; every one takes the `{tenant}` parameter whose enum lists the live tenants, so
they stay together apart from the cross-tenant routes.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.openapi._parts import (
    _STR,
    _T,
    _body,
    _control_errors,
    _ok,
    _op,
    _path_param,
    _query,
    _ref,
)


def _tenant_paths() -> dict[str, dict[str, Any]]:
    """Tenant lifecycle, state, policies, IMS inbox, order actions and the table browser."""
    ti = "/_sim/tenants/{tenant}"
    e404 = _control_errors(404)
    e400_404 = _control_errors(400, 404)
    orno = _path_param("orno", "Customer order number (ORNO)", {"type": "string", "minLength": 1})
    cono = _query("cono", "Company (default: the tenant user's)")
    return {
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
    }
