"""The hot path of an M3 integration, served without Starlette's routing: v2 single GETs.

A v2 `GET /{TI}/M3/m3api-rest/v2/execute/{PROGRAM}/{TRANSACTION}` is most of what clients send.
Through the router it walked twenty route patterns and built a Request before the first check;
this ASGI middleware recognises the path with one regular expression and calls the same
`v2_single` the route uses, so behaviour is identical (the route stays for everything else and
for non-GET methods, which answer 405). Query strings are parsed exactly as Starlette does.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.gateway.responses import JSON
from simulator.gateway.routes import v2_single

_V2 = re.compile(r"^/([^/]+)/M3/m3api-rest/v2/execute/([^/]+)/([^/]+)$")
_CONTENT_TYPE = (b"content-type", JSON.encode())


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
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        m = _V2.match(scope["path"])
        if m is None:
            return await self.app(scope, receive, send)
        auth = ""
        for key, value in scope["headers"]:
            if key == b"authorization":
                auth = value.decode("latin-1")
                break
        params = query_params(scope["query_string"])
        sim = scope["app"].state.sim
        status, headers, body = await v2_single(sim, m[1], m[2], m[3], auth, params)
        raw = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
        raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
