"""The bare baseline: one Starlette route on uvicorn returning fixed JSON bytes.

Same server stack as ionsim (uvicorn with httptools + uvloop, no access log), so the ratio shows
what ionsim's own work costs.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = sys.argv[1].encode() if len(sys.argv) > 1 else b'{"status": "ok"}'


async def endpoint(request: Request) -> Response:
    return Response(BODY, media_type="application/json; charset=UTF-8")


app = Starlette(routes=[Route("/{path:path}", endpoint)])

if __name__ == "__main__":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="off")
    )
    print(f"bare ready on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])
