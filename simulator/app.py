"""`create_app(config)`: the one composition root of ionsim.

Routes: the gateway's tenant routes first (they carry the traffic), then test control
(`/_sim/`), then a catch-all that answers JSON 401/404/405 for anything else under `/{TI}/`.
The MI v2 GET, most of all traffic, is answered by a pure ASGI fast path before the router;
no BaseHTTPMiddleware sits on the hot path (it would halve throughput).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from simulator.admin import dashboard as dashboard_routes
from simulator.admin import events as event_routes
from simulator.admin import ops_routes, storm_routes
from simulator.admin import orders as order_routes
from simulator.admin import routes as admin_routes
from simulator.clock import Clock
from simulator.config import Config, load_config
from simulator.events import messaging, publisher
from simulator.gateway import routes as gateway_routes
from simulator.gateway.fastpath import MIFastPath
from simulator.gateway.responses import JSON, internal_error_body, json_response
from simulator.ops.journal import install_log_filter
from simulator.ops.middleware import OpsMiddleware
from simulator.runtime import Simulator, _positive


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
    body = internal_error_body(request.method, request.url.path, exc)
    return Response(body, 500, media_type=JSON)


class _App(Starlette):
    """Starlette with the ops middleware outermost, around the error handler too.

    Outermost, it sees the server's own `send` (a `drop` fault needs the transport behind it)
    and the final status of every answer, 500s included. CORS, when configured, sits inside it
    so preflights pass the admin-token check but faults and the journal still see the request.
    """

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        sim = self.state.sim
        if sim.config.cors_origins:
            app = CORSMiddleware(
                app,
                allow_origins=list(sim.config.cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=["Retry-After", "WWW-Authenticate", "X-Ionsim-Fault"],
            )
        return MIFastPath(OpsMiddleware(app, sim), sim, user_middleware=bool(self.user_middleware))


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Starlette:
    """Builds the ASGI app with its own Simulator (tenants, tokens, state): apps never share."""
    config = config or load_config(env={})
    sim = Simulator(config, clock)
    publisher.Publisher.attach(
        sim,
        sink=sim.hub.publish,
        strict=bool(config.extra.get("strict_events", False)),
        log_size=_positive(config.extra, "event_log_size", 10_000),
    )
    routes = [
        *gateway_routes.ROUTES,
        *messaging.ROUTES,
        *ops_routes.ROUTES,
        *admin_routes.ROUTES,
        *messaging.CONTROL_ROUTES,
        *order_routes.ROUTES,
        *storm_routes.ROUTES,
        *dashboard_routes.ROUTES,
        *event_routes.ROUTES,
        *publisher.ROUTES,
        gateway_routes.CATCH_ALL,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Delivery workers run on the server's loop; shutdown drains them within a timeout."""
        install_log_filter()
        sim.ops.closing = False
        await sim.hub.start()
        try:
            yield
        finally:
            sim.ops.closing = True  # releases hanging fault requests
            await sim.hub.stop(float(config.extra.get("drain_timeout", 5.0)))

    app = _App(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.sim = sim
    return app
