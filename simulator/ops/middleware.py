"""The outermost ASGI layer: admin token, fault injection, and one journal entry per request.

It wraps the whole Starlette stack (see `app.create_app`), so it sees the server's own `send`,
which the fault actions (`ops.fault_actions`) need to drop or hang a connection.

Per gateway request it classifies the path into a route template (cached), opens the journal
entry, exposes it through `CURRENT` for the gateway's hooks, and records the status it sends.
With no fault rules that is the whole cost: no body is read, no header is parsed.
"""

from __future__ import annotations

import hmac
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.ops.asgi import request_header, send_json
from simulator.ops.fault_actions import FaultInjector
from simulator.ops.journal import CURRENT

_CACHE: dict[str, tuple[str, str, str, str, str]] = {}
_CACHE_MAX = 4096


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


class OpsMiddleware:
    def __init__(self, app: ASGIApp, sim: Any) -> None:
        self.app = app
        self.sim = sim
        self.ops = sim.ops
        token = sim.config.admin_token
        self.admin = token.encode() if token else None
        self.cors = bool(sim.config.cors_origins)
        self.inject = FaultInjector(sim)

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
                return await send_json(
                    send, 401, body, {"WWW-Authenticate": 'Bearer realm="ionsim-admin"'}
                )
            return await self.app(scope, receive, send)
        route, kind, tenant, program, transaction = classify(path)
        t0 = time.perf_counter()
        rec = self.ops.open_entry(scope["method"], path, route, kind, tenant, program, transaction)
        reset = CURRENT.set(rec)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                rec["status"] = message["status"]
            elif rec["status"] >= 400 and "body" not in rec:
                # An exact-size copy: orjson's bytes keep a 4 KB buffer behind them.
                rec["body"] = bytes(memoryview(message.get("body", b""))[:2048])
            await send(message)

        try:
            if self.ops.faults.http or self.inject.header_enabled:
                done, receive = await self.inject.apply(scope, receive, send, capture, rec)
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
        if (
            self.cors
            and method == "OPTIONS"
            and request_header(scope, b"access-control-request-method")
        ):
            return True  # a CORS preflight carries no credentials; CORSMiddleware answers it
        assert self.admin is not None
        given: list[str] = []
        auth = request_header(scope, b"authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            given.append(value.strip())
        given.append(request_header(scope, b"x-ionsim-admin-token") or "")
        if path == "/_sim/ui" or path.startswith("/_sim/ui/"):
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            given.append(query.get("token", ""))
        ok = False
        for candidate in given:
            ok |= hmac.compare_digest(candidate.encode("utf-8", "replace"), self.admin)
        return ok
