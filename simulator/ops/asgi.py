"""Raw ASGI helpers for the ops layers, which run outside Starlette and so have no Request or
Response objects: the admin-token check and the fault actions both read headers and answer JSON.
"""

from __future__ import annotations

from starlette.types import Scope, Send

from simulator.gateway.responses import JSON


def request_header(scope: Scope, name: bytes) -> str | None:
    """The first value of request header `name` (lower-case bytes), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_json(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
