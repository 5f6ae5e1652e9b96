"""ionsim delivers over TCP in every mode, so the test receiver must be a real socket.

It need not be fast: standard library only (`http.server`, one thread per connection,
HTTP/1.1 keep-alive).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Receive = Callable[[dict[str, str], bytes], int]  # (lower-cased headers, body) -> status


class SinkServer(ThreadingHTTPServer):
    """Answers every POST or PUT with the status `receive(headers, body)` returns."""

    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True

    def __init__(self, addr: tuple[str, int], receive: Receive) -> None:
        self.receive = receive
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Wakes connection threads blocked on a keep-alive read so they can end."""
        with self.lock:
            conns = list(self.open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SinkServer
    timeout = 60

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = self.server.receive(headers, body)
        answer = json.dumps({"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # pytest output stays clean; deliveries are in `sink.deliveries`
