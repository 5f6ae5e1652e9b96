"""Paths of the test-control routes (`/_sim/...`) and `/metrics`.

The harness levers that are not about one tenant or the event pipeline (discovery, clock,
faults, journal, stats, the dashboard) are described here; the per-tenant and event-delivery
families have their own modules and are joined here, so the document takes every control
route from one function.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.openapi._parts import (
    _STR,
    _body,
    _control_errors,
    _html_ok,
    _ok,
    _op,
    _path_param,
    _query,
    _ref,
)
from simulator.admin.openapi.events import _event_paths
from simulator.admin.openapi.tenants import _tenant_paths


def _control_paths() -> dict[str, dict[str, Any]]:
    """Every `/_sim/` route; `{tenant}` stands for the route's `{ti}`."""
    return {
        "/_sim/health": {"get": _op("health", "Ready check", _ok("Health"))},
        "/_sim/openapi.json": {
            "get": _op("openapi", "This document", _ok("OpenApiDocument", "OpenAPI 3.1"))
        },
        **_tenant_paths(),
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
        **_event_paths(),
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
