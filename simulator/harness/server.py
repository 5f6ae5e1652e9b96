"""An ionsim for tests: in a thread on a real socket, in process, or already running elsewhere.

Three modes, one surface (`url`, `app`, `admin`, `transport`, `close()`), so a test, and the
`/_sim/` control calls it makes through `admin` and `Tenant`, never depend on the mode:

- `thread`: uvicorn in its own thread and event loop, on 127.0.0.1 and a free port. A real
  socket, so any HTTP client (and the webhook deliveries ionsim makes) behave as in production.
- `inprocess`: no socket for the API. Requests go through `httpx.ASGITransport` inside an anyio
  blocking portal (one event loop in one thread) that also runs the app's lifespan, so the
  delivery workers live between requests. Faster to start and to call; webhook receivers still
  need a real socket, since ionsim POSTs to them over TCP.
- `remote`: an ionsim someone else started (`ionsim serve`, the Docker image, another host).
  `app` is None; everything goes over HTTP.

Nothing here imports uvicorn, starlette or httpx at module level: the pytest plugin imports this
module lazily, and pytest start-up must stay cheap for suites that never use ionsim.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

# Admin, AdminError and Tenant live in control.py; they are re-exported here because this is
# where they were first imported from.
from simulator.harness.control import Admin, AdminError, Tenant

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Admin",
    "AdminError",
    "IonsimServer",
    "Tenant",
    "start_inprocess",
    "start_remote",
    "start_thread",
]

INPROCESS_URL = "http://ionsim.inprocess"


class IonsimServer:
    """A running ionsim as tests see it. Close it to stop its threads and connections."""

    def __init__(
        self,
        url: str,
        mode: str,
        http: httpx.Client,
        *,
        app: Any = None,
        transport: httpx.BaseTransport | None = None,
        stop: Any = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.mode = mode
        self.app = app
        self.http = http
        self.transport = transport
        self.admin = Admin(http)
        self._stop = stop

    def new_tenant(self, seed: str | None = None, name: str | None = None) -> Tenant:
        return Tenant.create(self.admin, seed, name)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A fresh httpx.Client on this server (in-process mode routes it through the app)."""
        import httpx

        return httpx.Client(base_url=self.url, transport=self.transport, **kwargs)

    def close(self) -> None:
        self.http.close()
        if self._stop is not None:
            stop, self._stop = self._stop, None
            stop()

    def __enter__(self) -> IonsimServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"IonsimServer({self.mode}, {self.url})"


def _app(config: Any = None) -> Any:
    from simulator import create_app, load_config

    return create_app(config or load_config(env={}, access_log=False))


def start_remote(
    url: str, timeout: float = 10.0, *, admin_token: str | None = None
) -> IonsimServer:
    """Attach to a running ionsim, waiting (bounded) for `/_sim/health` so CI can race it.

    `admin_token` is for a shared instance started with an admin token: it goes with every
    control call, never with the gateway calls clients make.
    """
    import httpx

    headers = {"X-Ionsim-Admin-Token": admin_token} if admin_token else {}
    http = httpx.Client(base_url=url.rstrip("/"), timeout=30.0, headers=headers)
    _wait_healthy(http, timeout, f"no ionsim answers /_sim/health at {url}")
    return IonsimServer(url, "remote", http)


def _wait_healthy(http: httpx.Client, timeout: float, message: str) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if http.get("/_sim/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            http.close()
            raise RuntimeError(f"{message} within {timeout:g}s")
        time.sleep(0.05)


def start_thread(config: Any = None, *, host: str = "127.0.0.1", port: int = 0) -> IonsimServer:
    """uvicorn in a daemon thread on a socket bound here (port 0: a free one)."""
    import httpx
    import uvicorn

    from simulator.server import bind

    app = _app(config)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{bound_host}:{bound_port}"
    app.state.sim.base_url = url
    started = threading.Event()

    class ThreadServer(uvicorn.Server):
        """Signals belong to the main thread (pytest's); readiness is reported by an Event."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            started.set()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = ThreadServer(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            server_header=False,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="ionsim-server", daemon=True
    )
    thread.start()
    if not started.wait(15.0) or not server.started:
        server.should_exit = True
        thread.join(5.0)
        sock.close()
        raise RuntimeError("ionsim did not start within 15s (see the log above)")

    def stop() -> None:
        server.should_exit = True
        thread.join(10.0)
        sock.close()

    http = httpx.Client(base_url=url, timeout=30.0)
    return IonsimServer(url, "thread", http, app=app, stop=stop)


def start_inprocess(config: Any = None) -> IonsimServer:
    """The app behind an ASGI transport, on a portal loop that also runs its lifespan."""
    import httpx
    from anyio.from_thread import start_blocking_portal

    app = _app(config)
    app.state.sim.base_url = INPROCESS_URL
    stack = contextlib.ExitStack()
    portal = stack.enter_context(start_blocking_portal())
    try:
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
    except BaseException:
        stack.close()
        raise
    transport = _PortalTransport(portal, httpx.ASGITransport(app=app))
    http = httpx.Client(base_url=INPROCESS_URL, transport=transport, timeout=30.0)
    return IonsimServer(
        INPROCESS_URL, "inprocess", http, app=app, transport=transport, stop=stack.close
    )


def _portal_transport_class() -> type:
    import httpx

    class PortalTransport(httpx.BaseTransport):
        """A sync transport: each request runs on the portal's loop, body read there too."""

        def __init__(self, portal: Any, asgi: httpx.ASGITransport) -> None:
            self.portal = portal
            self.asgi = asgi

        async def _handle(self, request: httpx.Request) -> tuple[int, Any, bytes]:
            await request.aread()
            response = await self.asgi.handle_async_request(request)
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
            return response.status_code, response.headers, body

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.read()
            status, headers, body = self.portal.call(self._handle, request)
            return httpx.Response(status, headers=headers, content=body, request=request)

    return PortalTransport


def _PortalTransport(portal: Any, asgi: Any) -> Any:
    return _portal_transport_class()(portal, asgi)
