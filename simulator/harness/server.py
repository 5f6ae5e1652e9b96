"""An ionsim for tests: in a thread on a real socket, in process, or already running elsewhere.

Three modes, one surface (`url`, `app`, `admin`, `transport`, `close()`):

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
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

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


class AdminError(Exception):
    """A `/_sim/` control call failed; the message carries the status and ionsim's reason."""


class Admin:
    """The `/_sim/` control API as methods. Every failure raises AdminError with the reason."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _ok(self, r: httpx.Response, *expected: int) -> Any:
        if r.status_code not in (expected or (200,)):
            raise AdminError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def health(self) -> dict[str, Any]:
        return dict(self._ok(self.http.get("/_sim/health")))

    def create_tenant(self, name: str | None = None, seed: str | None = None, **extra: Any) -> Any:
        body = {k: v for k, v in {"name": name, "seed": seed, **extra}.items() if v is not None}
        return self._ok(self.http.post("/_sim/tenants", json=body), 201)

    def delete_tenant(self, name: str) -> None:
        self._ok(self.http.delete(f"/_sim/tenants/{name}"), 204)

    def ionapi(self, tenant: str) -> dict[str, str]:
        return dict(self._ok(self.http.get(f"/_sim/tenants/{tenant}/ionapi")))

    def reset(self, tenant: str) -> Any:
        return self._ok(self.http.post(f"/_sim/tenants/{tenant}/reset"))

    def seed(self, tenant: str, seed: str) -> Any:
        return self._ok(self.http.post(f"/_sim/tenants/{tenant}/seed", json={"seed": seed}))

    def snapshot(self, tenant: str) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"/_sim/tenants/{tenant}/snapshot")))

    def restore(self, tenant: str, snapshot: Mapping[str, Any]) -> Any:
        return self._ok(self.http.put(f"/_sim/tenants/{tenant}/snapshot", json=dict(snapshot)))

    def throttle(self, tenant: str, policy: Mapping[str, Any] | None = None) -> Any:
        if policy is None:
            return self._ok(self.http.get(f"/_sim/tenants/{tenant}/throttle"))
        return self._ok(self.http.put(f"/_sim/tenants/{tenant}/throttle", json=dict(policy)))

    def authorization(self, tenant: str, body: Mapping[str, Any] | None = None) -> Any:
        path = f"/_sim/tenants/{tenant}/authorization"
        if body is None:
            return self._ok(self.http.get(path))
        return self._ok(self.http.put(path, json=dict(body)))

    def advance_clock(self, seconds: float) -> Any:
        return self._ok(self.http.post("/_sim/clock/advance", json={"seconds": seconds}))

    def faults(self, rules: list[Mapping[str, Any]] | None) -> Any:
        if rules is None:
            return self._ok(self.http.delete("/_sim/faults"))
        return self._ok(self.http.put("/_sim/faults", json={"rules": list(rules)}))

    def subscribe(self, body: Mapping[str, Any]) -> str:
        return str(self._ok(self.http.post("/_sim/subscriptions", json=dict(body)), 201)["id"])

    def unsubscribe(self, sid: str) -> None:
        self._ok(self.http.delete(f"/_sim/subscriptions/{sid}"))

    def events(self, tenant: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        """Published events (`GET /_sim/events`), oldest first, as ionsim describes them."""
        params = {k: v for k, v in {"tenant": tenant, "channel": channel}.items() if v}
        out: list[dict[str, Any]] = []
        since = 0
        while True:
            page = self._ok(self.http.get("/_sim/events", params={**params, "since": since}))
            out.extend(page["events"])
            if not page["events"] or page["last"] == since:
                return out
            since = page["last"]

    def deliveries(self, **query: str) -> list[dict[str, Any]]:
        return list(self._ok(self.http.get("/_sim/deliveries", params=query))["deliveries"])


class Tenant:
    """One tenant of a running ionsim, with its control calls bound to its name.

    `advance_clock` moves the simulator's one clock: every tenant on that server sees it (tokens
    of other tests' tenants age too). Under pytest-xdist each worker has its own server, so only
    tests sharing one `--ionsim-url` server can feel it.
    """

    def __init__(self, admin: Admin, name: str, seed: str, ionapi: dict[str, str]) -> None:
        self.admin = admin
        self.name = name
        self.seed = seed
        self.ionapi = ionapi
        self.faults_set = False

    @classmethod
    def create(cls, admin: Admin, seed: str | None = None, name: str | None = None) -> Tenant:
        """A new tenant with a unique name (safe across xdist workers and shared servers)."""
        import uuid

        name = name or f"PT{uuid.uuid4().hex[:12].upper()}_TST"
        body = admin.create_tenant(name, seed)
        return cls(admin, body["name"], body["seed"], dict(body["credentials"]))

    def reset(self) -> Any:
        return self.admin.reset(self.name)

    def load_seed(self, seed: str) -> Any:
        self.seed = seed
        return self.admin.seed(self.name, seed)

    def snapshot(self) -> dict[str, Any]:
        return self.admin.snapshot(self.name)

    def restore(self, snapshot: Mapping[str, Any]) -> Any:
        return self.admin.restore(self.name, snapshot)

    def throttle(self, policy: Mapping[str, Any] | None = None) -> Any:
        """Sets the throttle policy (Infor's names); without one, returns it with its counters."""
        return self.admin.throttle(self.name, policy)

    def authorization(self, body: Mapping[str, Any] | None = None) -> Any:
        return self.admin.authorization(self.name, body)

    def faults(self, rules: list[Mapping[str, Any]] | None) -> Any:
        """Replaces the server's fault rules, each scoped to this tenant unless it names one.

        Fault rules are global on the server (one set), so tests that use them should not run
        against one shared server in parallel; `None` clears them.
        """
        if rules is None:
            self.faults_set = False
            return self.admin.faults(None)
        scoped = []
        for rule in rules:
            match = {"tenant": self.name, **dict(rule.get("match") or {})}
            scoped.append({**dict(rule), "match": match})
        self.faults_set = True
        return self.admin.faults(scoped)

    def advance_clock(self, seconds: float) -> Any:
        """Moves the server's global clock (see the class docstring)."""
        return self.admin.advance_clock(seconds)

    def events(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Events published for this tenant, oldest first (`GET /_sim/events`)."""
        return self.admin.events(self.name, channel)

    def delete(self) -> None:
        self.admin.delete_tenant(self.name)

    def __repr__(self) -> str:
        return f"Tenant({self.name!r}, seed={self.seed!r})"


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
