"""A small, fast HTTP/1.1 POST client for webhook delivery and storms.

Why not httpx or aiohttp: measured on a 2-core box POSTing 600-byte JSON to a local receiver,
httpx managed ~460/s and aiohttp ~14,000/s, while a raw asyncio protocol with keep-alive does
~20,000/s (see `bench/bench_delivery.py`). `ionsim storm` needs >= 10,000 acknowledged events/s
through the whole delivery path, so the client must cost little.

What it does: one pool of keep-alive connections per origin (scheme, host, port), at most
`limit` each; responses parsed by `httptools` (Content-Length, chunked, close-delimited);
one overall timeout per request (connect + write + response); a request that fails on a
connection idle for over a second, before any response byte arrived, is retried once on a
fresh one (the server closed an idle connection: the common keep-alive race). Anything else
is a `SendError` whose `reason` names what happened, for the delivery log. One `Sender`
belongs to one loop.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from time import perf_counter
from urllib.parse import urlsplit

import httptools

# A reused connection idle this long may have been closed by the server as we reused it:
# failing there before any response byte, the request is retried once on a fresh connection.
# A fresher connection that fails is a real failure, reported (the receiver dropped it).
_STALE_AFTER = 1.0


class SendError(Exception):
    """A request that got no HTTP status: timeout, refused, reset, unparsable response."""

    def __init__(self, reason: str, latency: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.latency = latency


class _Lost(Exception):
    """The connection ended before the response; `fresh` tells whether retrying is safe."""

    def __init__(self, before_response: bool) -> None:
        super().__init__("connection closed before the response")
        self.before_response = before_response


class _Conn(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False
        self.got_bytes = False
        self.headers_done = False
        self.keep_alive = True
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(SendError(f"malformed response: {exc}", 0.0))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done:  # a close-delimited body ends here
            self._done(self.parser.get_status_code())
        self._fail(_Lost(not self.got_bytes))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        self._done(self.parser.get_status_code())

    def _done(self, status: int) -> None:
        w, self.waiter = self.waiter, None
        if w is not None and not w.done():
            w.set_result(status)

    def _fail(self, exc: Exception) -> None:
        w, self.waiter = self.waiter, None
        if w is not None and not w.done():
            w.set_exception(exc)

    def request(self, data: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = fut = asyncio.get_running_loop().create_future()
        self.got_bytes = self.headers_done = False
        self.transport.write(data)
        return fut

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Origin:
    """The connection pool of one scheme://host:port."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None, limit: int) -> None:
        self.host, self.port, self.tls, self.limit = host, port, tls, limit
        self.idle: list[_Conn] = []
        self.count = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> tuple[_Conn, bool]:
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed:
                    return conn, True
                self.count -= 1
            if self.count < self.limit:
                self.count += 1
                loop = asyncio.get_running_loop()
                try:
                    transport, conn = await loop.create_connection(
                        _Conn, self.host, self.port, ssl=self.tls,
                        server_hostname=self.host if self.tls else None,
                    )  # fmt: skip
                except BaseException:
                    self.count -= 1
                    self._wake()
                    raise
                conn.transport = transport  # uvloop may call connection_made later
                return conn, False
            fut = asyncio.get_running_loop().create_future()
            self.waiters.append(fut)
            await fut

    def release(self, conn: _Conn, reusable: bool) -> None:
        if reusable and not conn.closed and conn.keep_alive:
            conn.idle_since = perf_counter()
            self.idle.append(conn)
        else:
            conn.close()
            self.count -= 1
        self._wake()

    def _wake(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.count -= len(self.idle)
        self.idle.clear()


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]
    head: bytes  # request line + Host


class Sender:
    """`await sender.send(url, body, headers)` -> `(status, latency_seconds)` or `SendError`."""

    def __init__(self, limit_per_origin: int = 32, timeout: float = 5.0) -> None:
        self.limit = limit_per_origin
        self.timeout = timeout
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._targets: dict[str, _Target] = {}
        self._tls: ssl.SSLContext | None = None

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SendError(f"not an http(s) URL: {url}", 0.0)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            host = parts.netloc.rpartition("@")[2]
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n".encode("latin-1")
            target = _Target((parts.scheme, parts.hostname, port), head)
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _origin(self, key: tuple[str, str, int]) -> _Origin:
        origin = self._origins.get(key)
        if origin is None:
            tls = None
            if key[0] == "https":
                self._tls = self._tls or ssl.create_default_context()
                tls = self._tls
            origin = self._origins[key] = _Origin(key[1], key[2], tls, self.limit)
        return origin

    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, float]:
        start = perf_counter()
        elapsed = lambda: perf_counter() - start  # noqa: E731
        target = self._target(url)
        origin = self._origin(target.origin)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) if headers else ""
        data = b"".join(
            (target.head, f"{extra}Content-Length: {len(body)}\r\n\r\n".encode("latin-1"), body)
        )
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await self._exchange(origin, data), perf_counter() - start
        except TimeoutError:
            raise SendError(f"timeout after {limit * 1000:.0f} ms", elapsed()) from None
        except SendError as exc:
            exc.latency = perf_counter() - start
            raise
        except _Lost:
            raise SendError("connection closed before the response", elapsed()) from None
        except ConnectionRefusedError:
            raise SendError("connection refused", perf_counter() - start) from None
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise SendError(f"connection error: {reason}", perf_counter() - start) from None

    async def _exchange(self, origin: _Origin, data: bytes) -> int:
        for _ in range(2):
            conn, reused = await origin.acquire()
            stale = reused and perf_counter() - conn.idle_since > _STALE_AFTER
            ok = False
            try:
                status = await conn.request(data)
                ok = True
                return status
            except _Lost as exc:
                if not (stale and exc.before_response):
                    raise
            finally:
                origin.release(conn, ok)
        raise _Lost(False)

    async def close(self) -> None:
        for origin in self._origins.values():
            origin.close()
        self._origins.clear()
