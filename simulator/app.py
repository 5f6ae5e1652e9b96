"""`create_app(config)`: the one composition root of ionsim.

Routes go from most to least specific: test control (`/_sim/`), then the gateway's tenant
routes, then a catch-all that answers JSON 401/404/405 for anything else under `/{TI}/`.
No BaseHTTPMiddleware sits on the MI hot path: it would halve throughput.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from simulator.admin import routes as admin_routes
from simulator.clock import Clock
from simulator.config import Config, load_config
from simulator.gateway import routes as gateway_routes
from simulator.gateway.responses import json_response
from simulator.runtime import Simulator


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response(
        {
            "status": exc.status_code,
            "error": "not_found" if exc.status_code == 404 else "error",
            "message": exc.detail,
        },
        exc.status_code,
        dict(exc.headers or {}),
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    """Last resort: a bug in ionsim still answers JSON that says so, with the request path."""
    return json_response(
        {
            "status": 500,
            "error": "internal_error",
            "message": f"ionsim bug on {request.method} {request.url.path}: "
            f"{type(exc).__name__}: {exc}",
        },
        500,
    )


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Starlette:
    """Builds the ASGI app with its own Simulator (tenants, tokens, state): apps never share."""
    config = config or load_config(env={})
    sim = Simulator(config, clock)
    routes = [
        *admin_routes.ROUTES,
        *gateway_routes.ROUTES,
        *gateway_routes.EXTRA_ROUTES,
        gateway_routes.CATCH_ALL,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.sim = sim
    return app
