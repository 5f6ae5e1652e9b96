"""The hot path of an M3 integration, served outside Starlette: v2 single GETs.

A v2 `GET /{TI}/M3/m3api-rest/v2/execute/{PROGRAM}/{TRANSACTION}` is most of what clients send.
Through the full stack it passed the ops middleware (a `send` wrapper), Starlette's error
middleware (another), twenty route patterns and a Request object before the first check. This
layer sits outermost, recognises the path with the ops middleware's (cached) `classify`, opens
the same journal entry (`Ops.open_entry`) and calls the same `v2_single` the route uses, so answers,
journal and metrics are identical. When another layer has work to do, the request goes the
long way: whenever a fault rule, the fault header, CORS or a user's own middleware is set.
"""

from __future__ import annotations

import logging
from time import perf_counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.gateway.responses import JSON, internal_error_body
from simulator.gateway.routes import V2_ROUTE, v2_single
from simulator.ops.journal import CURRENT
from simulator.ops.middleware import classify
from simulator.runtime import Simulator

_CONTENT_TYPE = (b"content-type", JSON.encode())
_log = logging.getLogger("ionsim")


def query_params(raw: bytes) -> dict[str, str]:
    """As Starlette parses a query string (last value wins); plain ones without parse_qsl."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text or ";" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    out = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            out[name] = value
    return out


class MIFastPath:
    def __init__(self, app: ASGIApp, sim: Simulator, user_middleware: bool = False) -> None:
        self.app = app
        self.sim = sim
        self.ops = sim.ops
        # Middleware a user adds with `app.add_middleware` must see every request.
        self.plain = not (sim.config.fault_header or sim.config.cors_origins or user_middleware)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not self.plain:
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        route, _, ti, program, transaction = classify(path)
        faults = self.ops.faults
        if (
            route != V2_ROUTE
            or not (ti and program and transaction)  # the router answers `//` paths
            or faults.http
            or faults.nok
            or path.startswith("/_sim/")  # control paths keep their admin-token check
        ):
            return await self.app(scope, receive, send)
        sim = self.sim
        t0 = perf_counter()
        rec = self.ops.open_entry("GET", path, route, "mi", ti, program, transaction)
        auth = ""
        for key, value in scope["headers"]:
            if key == b"authorization":
                auth = value.decode("latin-1")
                break
        reset = CURRENT.set(rec)
        try:
            try:
                status, headers, body = await v2_single(
                    sim, ti, program, transaction, auth, query_params(scope["query_string"])
                )
            except Exception as exc:  # the error middleware's answer, as on every other route
                _log.exception("ionsim bug on GET %s", path)
                status, headers, body = 500, {}, internal_error_body("GET", path, exc)
            finally:
                CURRENT.reset(reset)
            # The journal keeps the raw query string, not the parsed fields: entries live long
            # (a ring of thousands), and what a request leaves behind costs more than it frees.
            if "request" in rec:
                rec["request"] = scope["query_string"]
            rec["status"] = status
            if status >= 400:
                rec["body"] = bytes(memoryview(body)[:2048])  # exact size: see ops.middleware
            raw = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
            if headers:
                raw.extend(
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
                )
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})
        finally:  # a cancelled request (client gone mid-delay) is journaled too, as status 0
            rec["dur"] = (perf_counter() - t0) * 1000
            self.ops.finish(rec, t0)
