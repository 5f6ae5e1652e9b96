"""The hot path of an M3 integration, served outside Starlette: v2 single GETs.

A v2 `GET /{TI}/M3/m3api-rest/v2/execute/{PROGRAM}/{TRANSACTION}` is most of what clients send.
Through the full stack it passed the ops middleware (a `send` wrapper), Starlette's error
middleware (another), twenty route patterns and a Request object before the first check. This
layer sits outermost, recognises the path with one regular expression, opens the same journal
entry the ops middleware would and calls the same `v2_single` the route uses, so answers,
journal and metrics are identical. Under a bulk or fault-injected load every layer is needed,
so the request goes the long way whenever a fault rule, the fault header or CORS is configured.
"""

from __future__ import annotations

import logging
import re
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.gateway.responses import JSON, internal_error_body
from simulator.gateway.routes import V2_ROUTE, v2_single
from simulator.ops.journal import CURRENT
from simulator.runtime import Simulator

_V2 = re.compile(r"^/([^/]+)/M3/m3api-rest/v2/execute/([^/]+)/([^/]+)$")
_CONTENT_TYPE = (b"content-type", JSON.encode())
_log = logging.getLogger("ionsim")


_PATHS: dict[str, tuple[str, str, str, str]] = {}
_PATHS_MAX = 4096


def _parse_path(path: str) -> tuple[str, str, str, str] | None:
    """(path, tenant, program, transaction) of a v2 single path, kept for the paths clients
    repeat: the strings the journal holds are then shared, not one set per request."""
    m = _V2.match(path)
    if m is None:
        return None
    hit = (path, *m.groups())
    if len(_PATHS) < _PATHS_MAX:
        _PATHS[path] = hit
    return hit


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
    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim
        self.ops = sim.ops
        self.plain = not (sim.config.fault_header or sim.config.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not self.plain:
            return await self.app(scope, receive, send)
        hit = _PATHS.get(scope["path"])
        if hit is None:
            hit = _parse_path(scope["path"])
        faults = self.ops.faults
        if hit is None or faults.http or faults.nok:
            return await self.app(scope, receive, send)
        path, ti, program, transaction = hit
        sim = self.sim
        t0 = perf_counter()
        # Sized once: these keys and the three `mi_call` adds (request, records, error) fit.
        rec: dict[str, Any] = {
            "at": sim.clock.now(),
            "kind": "mi",
            "tenant": ti,
            "method": "GET",
            "path": path,
            "route": V2_ROUTE,
            "status": 0,
            "program": program,
            "transaction": transaction,
            "access": None,
            "throttle": None,
            "seq": 0,
            "dur": 0.0,
        }
        auth = ""
        for key, value in scope["headers"]:
            if key == b"authorization":
                auth = value.decode("latin-1")
                break
        reset = CURRENT.set(rec)
        try:
            status, headers, body = await v2_single(
                sim, ti, program, transaction, auth, query_params(scope["query_string"])
            )
        except Exception as exc:  # the error middleware's answer, as on every other route
            _log.exception("ionsim bug on GET %s", path)
            status, headers, body = 500, {}, internal_error_body("GET", path, exc)
        finally:
            CURRENT.reset(reset)
        # The journal keeps the raw query string, not the parsed fields: entries live long (a
        # ring of thousands), and what a request leaves behind costs more than what it frees.
        if "request" in rec:
            rec["request"] = scope["query_string"]
        rec["status"] = status
        if status >= 400:
            rec["body"] = body[:2048]
        raw = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
        if headers:
            raw.extend(
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            )
        try:
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})
        finally:
            rec["dur"] = (perf_counter() - t0) * 1000
            self.ops.finish(rec, t0)
