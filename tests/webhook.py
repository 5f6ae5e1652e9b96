"""A real webhook receiver on loopback for delivery tests (not a mock).

A raw asyncio HTTP/1.1 server (keep-alive, `httptools` parser) on 127.0.0.1 and a free port,
running its own event loop in a background thread. It records every request it reads and can
be told to misbehave the ways real receivers do: answer a status, drop the connection, answer
late, fail at random (seeded), or go down (stop listening, reset connections) and come back
on the same port.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httptools
import orjson


@dataclass
class Received:
    """One request as read; `status` is what we answered (0: connection dropped)."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers.get("x-ionsim-event-id", "")


class _Conn(asyncio.Protocol):
    def __init__(self, hook: Webhook) -> None:
        self.hook = hook
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.queue: asyncio.Queue[Received] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.hook._conns.add(self)
        self.task = asyncio.get_running_loop().create_task(self._answer())

    def connection_lost(self, exc: Exception | None) -> None:
        self.hook._conns.discard(self)
        if self.task:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        req = Received(self.url.decode("latin-1"), self.headers, b"".join(self.body))
        self.url, self.headers, self.body = b"", {}, []
        self.queue.put_nowait(req)

    async def _answer(self) -> None:
        """Answers requests in order (HTTP/1.1 pipelining-safe), each as the hook decides."""
        while True:
            req = await self.queue.get()
            status, delay = self.hook._decide()
            if delay:
                await asyncio.sleep(delay)
            req.status = status
            self.hook._record(req)
            if status == 0 or self.transport is None or self.transport.is_closing():
                self.close()
                return
            body = b'{"ok":true}' if status < 300 else b'{"error":"injected"}'
            self.transport.write(
                b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (status, len(body), body)
            )

    def close(self) -> None:
        if self.transport:
            self.transport.close()


class Webhook:
    """Start with `with Webhook() as hook:`; `hook.url` is where to deliver."""

    def __init__(self, path: str = "/hook") -> None:
        self.path = path
        self.port = 0
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._conns: set[_Conn] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        # behaviour (read in the server thread; simple assignments are atomic enough)
        self.status = 200
        self.delay = 0.0
        self._script: list[int] = []  # next answers: a status, or 0 to drop
        self._flap: tuple[float, random.Random] | None = None

    # life cycle
    def __enter__(self) -> Webhook:
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    async def _listen(self) -> None:
        self._server = await self._loop.create_server(
            lambda: _Conn(self), "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self._conns):
            if conn.transport:
                conn.transport.abort()
        await asyncio.sleep(0)

    # behaviour
    def down(self) -> None:
        """Stop listening and reset open connections: senders get refused/reset."""
        self._call(self._shutdown())

    def up(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def script(self, *answers: int) -> None:
        """The next answers in order: an HTTP status, or 0 to drop the connection."""
        with self._lock:
            self._script.extend(answers)

    def flap(self, failure_rate: float, seed: int) -> None:
        """Fail at random (500, 503 or a dropped connection) with a seeded generator."""
        self._flap = (failure_rate, random.Random(seed)) if failure_rate else None

    def _decide(self) -> tuple[int, float]:
        with self._lock:
            if self._script:
                return self._script.pop(0), self.delay
        if self._flap is not None:
            rate, rng = self._flap
            if rng.random() < rate:
                return rng.choice((500, 503, 0)), self.delay
        return self.status, self.delay

    def _record(self, req: Received) -> None:
        with self._lock:
            self.requests.append(req)

    # reading what arrived
    def received(self, ok_only: bool = True) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if not ok_only or 200 <= r.status < 300]

    def event_ids(self, ok_only: bool = True) -> list[str]:
        return [r.event_id for r in self.received(ok_only)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"webhook: condition not met in {timeout} s")
            time.sleep(0.01)

    def wait_count(self, n: int, timeout: float = 5.0) -> list[Received]:
        self.wait_for(lambda: len(self.received()) >= n, timeout)
        return self.received()
