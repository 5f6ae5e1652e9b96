"""HTTP fault actions, applied on the raw ASGI exchange because `drop` and `hang` must be able to
answer nothing at all.

They need the server's own `send`, which is why `OpsMiddleware` wraps the whole Starlette stack:
with uvicorn that is the bound `send` of the request cycle, whose `transport` lets a fault close
the TCP connection without an answer (`drop`) and whose `keep_alive` turning false tells a
hanging request that the server is shutting down. Elsewhere (TestClient) `drop` raises
`DroppedConnection` instead.

A request body is read (bounded, then handed on unchanged) only when a rule matches on what it
holds: the transactions of a bulk v2 call or the client of a token request.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Receive, Scope, Send

from simulator.errors import GatewayError, MIError
from simulator.gateway.responses import error_body
from simulator.ops.asgi import request_header, send_json
from simulator.ops.fault_spec import parse_header
from simulator.ops.faults import MatchContext

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


class FaultInjector:
    """The HTTP fault rules and the `X-Ionsim-Fault` header, for `OpsMiddleware`."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.ops = sim.ops
        self.header_enabled = bool(sim.config.fault_header)

    async def apply(
        self, scope: Scope, receive: Receive, send: Send, capture: Send, rec: dict[str, Any]
    ) -> tuple[bool, Receive]:
        """Applies the first firing HTTP rule (or the fault header); True when answered."""
        action: dict[str, Any] | None = None
        label: Any = None
        delay = 0.0
        if self.header_enabled:
            value = request_header(scope, b"x-ionsim-fault")
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
            await send_json(capture, status, body, headers)
            return True, receive
        if action.get("drop"):
            await self._drop(send, cycle)
            return True, receive
        if action.get("hang"):
            await self._wait(self.ops.max_hang, cycle, receive)
            await self._drop(send, cycle)
            return True, receive
        if action.get("expire_token") or action.get("revoke_token"):
            scheme, _, token = (request_header(scope, b"authorization") or "").partition(" ")
            token = token.strip()
            access = self.sim.tokens.lookup(token) if scheme.lower() == "bearer" else None
            if access is not None and action.get("expire_token"):
                self.sim.tokens.expire(token)
            elif access is not None:
                self.sim.tokens.revoke(access.tenant, None, token)
        return False, receive

    def _describe(self, scope: Scope, rec: dict[str, Any]) -> None:
        """A call answered by a fault never reaches the hooks: note who called and what."""
        scheme, _, value = (request_header(scope, b"authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and rec.get("access") is None:
            rec["access"] = self.sim.tokens.lookup(value.strip())
        if rec["kind"] == "mi":
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            rec["request"] = dict(query)

    def _client_id(self, scope: Scope, kind: str, body: bytes) -> str | None:
        scheme, _, value = (request_header(scope, b"authorization") or "").partition(" ")
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
