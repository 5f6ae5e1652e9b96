"""The outermost ASGI layer: admin token, fault injection, and one journal entry per request.

It wraps the whole Starlette stack (see `app.create_app`), so it sees the server's own `send`:
with uvicorn that is the bound `send` of the request cycle, whose `transport` lets a fault
close the TCP connection without an answer (`drop`) and whose `keep_alive` turning false tells
a hanging request that the server is shutting down. Elsewhere (TestClient) `drop` raises
`DroppedConnection` instead.

Per gateway request it classifies the path into a route template (cached), opens the journal
entry, exposes it through `CURRENT` for the gateway's hooks, and records the status it sends.
With no fault rules that is the whole cost: no body is read, no header is parsed.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.errors import GatewayError, MIError
from simulator.gateway.responses import JSON, error_body
from simulator.ops.faults import MatchContext, parse_header
from simulator.ops.journal import CURRENT

_CACHE: dict[str, tuple[str, str, str, str, str]] = {}
_CACHE_MAX = 4096
_MAX_BODY = 4 * 1024 * 1024 + 1
_MESSAGES = {
    429: "Too many requests: retry after {retry} s",
    500: "Internal server error",
    502: "Bad gateway: the backend answered with an invalid response",
    503: "Service unavailable: retry after {retry} s",
    504: "Gateway timeout: the backend did not answer in time",
}


class DroppedConnection(Exception):
    """A `drop` fault where the server offers no transport to close (in-process clients)."""


def classify(path: str) -> tuple[str, str, str, str, str]:
    """(route template, journal kind, tenant, program, transaction) of a gateway path."""
    hit = _CACHE.get(path)
    if hit is not None:
        return hit
    parts = path.split("/")
    tenant = parts[1] if len(parts) > 1 else ""
    rest = parts[2:]
    program = transaction = ""
    kind = "http"
    if len(rest) == 2 and rest[0] == "as" and rest[1] in ("token.oauth2", "revoke_token.oauth2"):
        route, kind = f"/{{ti}}/as/{rest[1]}", "token"
    elif rest[:2] == ["M3", "m3api-rest"]:
        tail = rest[2:]
        if len(tail) == 4 and tail[:2] == ["v2", "execute"]:
            route, kind, program, transaction = (
                "/{ti}/M3/m3api-rest/v2/execute/{program}/{transaction}",
                "mi",
                tail[2],
                tail[3],
            )
        elif tail == ["v2", "execute"]:
            route = "/{ti}/M3/m3api-rest/v2/execute"
        elif len(tail) == 3 and tail[0] == "execute":
            route, kind = "/{ti}/M3/m3api-rest/execute/{program}/{transaction}", "mi"
            program, transaction = tail[1].split(";")[0], tail[2].split(";")[0]
        elif tail == ["metadata"]:
            route = "/{ti}/M3/m3api-rest/metadata"
        elif len(tail) == 2 and tail[0] == "metadata":
            route = "/{ti}/M3/m3api-rest/metadata/{program}"
        elif len(tail) == 3 and tail[:2] == ["v2", "metadata"]:
            route = "/{ti}/M3/m3api-rest/v2/metadata/{program}"
        else:
            route = "/{ti}/M3/{rest}"
    elif rest[:1] == ["IONSERVICES"]:
        route = "/{ti}/IONSERVICES/{rest}"
    else:
        route = "/{ti}/{rest}" if rest else "/{ti}"
    result = (route, kind, tenant, program, transaction)
    if len(_CACHE) < _CACHE_MAX:
        _CACHE[path] = result
    return result


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_json(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body (bounded), and a `receive` that hands it on unchanged."""
    chunks, size, more = [], 0, True
    while more and size < _MAX_BODY:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return body, replay


class OpsMiddleware:
    def __init__(self, app: ASGIApp, sim: Any) -> None:
        self.app = app
        self.sim = sim
        self.ops = sim.ops
        token = sim.config.admin_token
        self.admin = token.encode() if token else None
        self.header = bool(sim.config.fault_header)
        self.cors = bool(sim.config.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if path.startswith("/_sim") or path == "/metrics":
            if self.admin is not None and not self._admitted(scope, path):
                body = orjson.dumps(
                    {
                        "status": 401,
                        "error": "admin token required: send "
                        "Authorization: Bearer <token> or X-Ionsim-Admin-Token",
                    }
                )
                return await _send_json(
                    send, 401, body, {"WWW-Authenticate": 'Bearer realm="ionsim-admin"'}
                )
            return await self.app(scope, receive, send)
        route, kind, tenant, program, transaction = classify(path)
        t0 = time.perf_counter()
        rec: dict[str, Any] = {
            "at": self.sim.clock.now(),
            "kind": kind,
            "tenant": tenant,
            "method": scope["method"],
            "path": path,
            "route": route,
            "status": 0,
            "program": program,
            "transaction": transaction,
        }
        reset = CURRENT.set(rec)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                rec["status"] = message["status"]
            elif rec["status"] >= 400 and "body" not in rec:
                rec["body"] = bytes(message.get("body", b""))[:2048]
            await send(message)

        try:
            if self.ops.faults.http or self.header:
                done, receive = await self._fault(scope, receive, send, capture, rec)
                if done:
                    return
            await self.app(scope, receive, capture)
        finally:
            CURRENT.reset(reset)
            rec["dur"] = (time.perf_counter() - t0) * 1000
            self.ops.finish(rec, t0)

    # -- admin token --------------------------------------------------------------------------
    def _admitted(self, scope: Scope, path: str) -> bool:
        method = scope["method"]
        if path == "/_sim/health" and method in ("GET", "HEAD"):
            return True
        if self.cors and method == "OPTIONS" and _header(scope, b"access-control-request-method"):
            return True  # a CORS preflight carries no credentials; CORSMiddleware answers it
        assert self.admin is not None
        given: list[str] = []
        auth = _header(scope, b"authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            given.append(value.strip())
        given.append(_header(scope, b"x-ionsim-admin-token") or "")
        if path == "/_sim/ui" or path.startswith("/_sim/ui/"):
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            given.append(query.get("token", ""))
        ok = False
        for candidate in given:
            ok |= hmac.compare_digest(candidate.encode("utf-8", "replace"), self.admin)
        return ok

    # -- faults -------------------------------------------------------------------------------
    async def _fault(
        self, scope: Scope, receive: Receive, send: Send, capture: Send, rec: dict[str, Any]
    ) -> tuple[bool, Receive]:
        """Applies the first firing HTTP rule (or the fault header); True when answered."""
        action: dict[str, Any] | None = None
        label: Any = None
        delay = 0.0
        if self.header:
            value = _header(scope, b"x-ionsim-fault")
            action = parse_header(value) if value else None
            if action is not None:
                label = "header"
                if "nok" in action:
                    n = action["nok"]
                    rec["force_nok"] = MIError(n["message"], n["code"])
                    return False, receive
                delay = float(action.get("delay_ms", 0.0)) / 1000
        faults = self.ops.faults
        if action is None and faults.http:
            ctx = MatchContext(rec["tenant"], rec["path"], rec["method"])
            if rec["program"]:
                ctx.pairs = [(rec["program"], rec["transaction"])]
            body_needed = (faults.needs_pairs and rec["route"].endswith("/v2/execute")) or (
                faults.needs_client and rec["kind"] == "token"
            )
            body = b""
            if body_needed and scope["method"] == "POST":
                body, receive = await _read_body(receive)
                if rec["kind"] != "token":
                    ctx.pairs = _bulk_pairs(body)
            if faults.needs_client:
                ctx.client_id = self._client_id(scope, rec["kind"], body)
            rule = faults.pick(faults.http, ctx)
            if rule is None:
                return False, receive
            action, label, delay = rule.action, rule.index, rule.delay_s()
        if action is None:
            return False, receive
        rec["fault"] = label
        self.ops.fired(str(label))
        self._describe(scope, rec)
        cycle = getattr(send, "__self__", None)
        if delay > 0 and not await self._wait(delay, cycle, receive=None):
            await self._drop(send, cycle)
            return True, receive
        if "status" in action:
            status = action["status"]
            retry = action.get("retry_after", 1)
            message = action.get("message") or _MESSAGES.get(
                status, f"Fault injected by ionsim: HTTP {status}"
            ).format(retry=retry)
            headers = {"X-Ionsim-Fault": str(label)}
            if status in (429, 503):
                headers["Retry-After"] = str(retry)
            body = error_body(GatewayError(status, message))
            await _send_json(capture, status, body, headers)
            return True, receive
        if action.get("drop"):
            await self._drop(send, cycle)
            return True, receive
        if action.get("hang"):
            await self._wait(self.ops.max_hang, cycle, receive)
            await self._drop(send, cycle)
            return True, receive
        if action.get("expire_token") or action.get("revoke_token"):
            scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
            token = token.strip()
            access = self.sim.tokens.lookup(token) if scheme.lower() == "bearer" else None
            if access is not None and action.get("expire_token"):
                self.sim.tokens.expire(token)
            elif access is not None:
                self.sim.tokens.revoke(access.tenant, None, token)
        return False, receive

    def _describe(self, scope: Scope, rec: dict[str, Any]) -> None:
        """A call answered by a fault never reaches the hooks: note who called and what."""
        scheme, _, value = (_header(scope, b"authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and "access" not in rec:
            rec["access"] = self.sim.tokens.lookup(value.strip())
        if rec["kind"] == "mi":
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            rec["request"] = dict(query)

    def _client_id(self, scope: Scope, kind: str, body: bytes) -> str | None:
        scheme, _, value = (_header(scope, b"authorization") or "").partition(" ")
        if scheme.lower() == "bearer":
            access = self.sim.tokens.lookup(value.strip())
            return access.client_id if access is not None else None
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value.strip()).decode("utf-8").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                return None
        if kind == "token":
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            return form.get("client_id") or query.get("client_id")
        return None

    async def _wait(self, seconds: float, cycle: Any, receive: Receive | None) -> bool:
        """Waits `seconds`; False when cut short (server shutting down, client gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        keep = bool(getattr(cycle, "keep_alive", False))
        pending: asyncio.Future[Message] | None = None
        try:
            while (left := deadline - loop.time()) > 0:
                if self.ops.closing or (keep and not cycle.keep_alive):
                    return False
                if receive is None:
                    await asyncio.sleep(min(left, 0.2))
                    continue
                if pending is None:
                    pending = asyncio.ensure_future(receive())
                done, _ = await asyncio.wait({pending}, timeout=min(left, 0.2))
                if done:
                    message, pending = pending.result(), None
                    if message["type"] == "http.disconnect":
                        return False
            return True
        finally:
            if pending is not None:
                pending.cancel()

    async def _drop(self, send: Send, cycle: Any) -> None:
        transport = getattr(cycle, "transport", None)
        if transport is None:
            raise DroppedConnection("ionsim fault: connection dropped without an answer")
        transport.close()
        for _ in range(200):  # connection_lost runs on a later loop turn
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0.005)


def _bulk_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        j = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(j, dict) or not isinstance(j.get("transactions"), list):
        return []
    program = str(j.get("program") or "")
    return [
        (str(t.get("program") or program), str(t.get("transaction", "")))
        for t in j["transactions"]
        if isinstance(t, dict)
    ]
