"""A webhook receiver for tests: records what ionsim delivers and answers like a consumer would.

Standard library only (`http.server`, one thread per connection, HTTP/1.1 keep-alive), on
127.0.0.1 and a free port: ionsim delivers over TCP in every mode, so the receiver must be a
real socket, but it need not be fast. It can be told to fail (`fail_next`) to exercise ionsim's
retries, and to run a consumer callback (`on_event`) so a connector's handler is tested with real
deliveries, duplicates included.

`wait_for` fails with the near misses: events on the awaited channel that `where` rejected
(and why, when `where` raised), events on other channels and failed attempts. That is what one
needs to see when a test times out, rather than "no event".
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Delivery", "WebhookSink"]

Where = Callable[[dict[str, Any]], Any]
Consumer = Callable[[dict[str, Any]], Any]


@dataclass
class Delivery:
    """One request ionsim made: `status` is what we answered, `event` the parsed JSON body."""

    channel: str
    event: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    status: int
    attempt: int
    signature_ok: bool | None = None
    error: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def event_id(self) -> str:
        return str(self.event.get("eventId") or self.headers.get("x-ionsim-event-id", ""))


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True

    def __init__(self, addr: tuple[str, int], sink: WebhookSink) -> None:
        self.sink = sink
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
    server: _Server
    timeout = 60

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = self.server.sink._receive(headers, body)
        answer = json.dumps({"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # pytest output stays clean; deliveries are in `sink.deliveries`


class WebhookSink:
    """Records deliveries; `url` is where ionsim should POST. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secret: str = "") -> None:
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._cond = threading.Condition()
        self._fail: list[tuple[int, bool, str | None]] = []
        self._consumers: list[Consumer] = []
        self._server = _Server((host, port), self)
        h, p = self._server.server_address[:2]
        self.url = f"http://{h}:{p}/ion"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = "ionsim-webhook"
        self._thread.start()
        self.subscription: str | None = None
        self.explain: Callable[[], str] | None = None

    # ---- consumer behaviour ----

    def on_event(self, consumer: Consumer) -> None:
        """Runs `consumer(event)` for each delivery we accept; if it raises, we answer 500."""
        self._consumers.append(consumer)

    def fail_next(
        self, n: int = 1, status: int = 500, *, process: bool = False, channel: str | None = None
    ) -> None:
        """Answer the next `n` deliveries (of `channel`, if given) with `status`.

        `process=True` runs the consumers first, then fails: the event was handled but the ack
        was lost, so ionsim delivers it again. That is how duplicates happen in production.
        """
        with self._cond:
            self._fail.extend([(status, process, channel)] * n)

    def _take_failure(self, channel: str) -> tuple[int, bool, str | None] | None:
        with self._cond:
            for i, rule in enumerate(self._fail):
                if rule[2] in (None, channel):
                    return self._fail.pop(i)
        return None

    def _receive(self, headers: dict[str, str], body: bytes) -> int:
        try:
            event = json.loads(body) if body else {}
            error = "" if isinstance(event, dict) else "body is not a JSON object"
        except ValueError as exc:
            event, error = {}, f"body is not JSON: {exc}"
        if not isinstance(event, dict):
            event = {}
        signature_ok = None
        if self.secret:
            mac = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            got = headers.get("x-ionsim-signature", "")
            signature_ok = hmac.compare_digest(got, f"sha256={mac}")
        channel = headers.get("x-ionsim-channel", "")
        fail = self._take_failure(channel)
        status = 200
        if signature_ok is False:
            status, error = 401, "bad X-Ionsim-Signature"
        elif fail is not None and not fail[1]:
            status = fail[0]
        else:
            for consumer in self._consumers:
                try:
                    consumer(event)
                except Exception as exc:
                    status, error = 500, f"consumer raised {type(exc).__name__}: {exc}"
                    break
            if fail is not None and status == 200:
                status = fail[0]
        delivery = Delivery(
            channel=channel,
            event=event,
            headers=headers,
            body=body,
            status=status,
            attempt=int(headers.get("x-ionsim-attempt") or 1),
            signature_ok=signature_ok,
            error=error,
        )
        with self._cond:
            self.deliveries.append(delivery)
            self._cond.notify_all()
        return status

    # ---- assertions ----

    def received(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Events we accepted (2xx), oldest first, optionally of one channel."""
        with self._cond:
            return [d.event for d in self.deliveries if d.ok and channel in (None, d.channel)]

    def wait_for(
        self,
        channel: str,
        where: Where | None = None,
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> dict[str, Any]:
        """The first accepted event on `channel` for which `where(event)` is true.

        With `count`, waits until that many matching deliveries arrived (duplicates included)
        and returns the last. On timeout, AssertionError lists the near misses.
        """
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hits = [d for d in self.deliveries if self._hit(d, channel, where)]
                if len(hits) >= count:
                    return hits[count - 1].event
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        what = f"{count} deliveries" if count > 1 else "delivery"
        raise AssertionError(
            f"no {what} on {channel!r} matching {_describe(where)} within {timeout:g}s "
            f"(got {len(hits)})\n{self.near_misses(channel, where)}"
        )

    def assert_no(self, channel: str, where: Where | None = None, within: float = 0.0) -> None:
        """Fails if an accepted event on `channel` matches, now or within `within` seconds."""
        __tracebackhide__ = True
        deadline = time.monotonic() + within
        with self._cond:
            while True:
                hits = [d for d in self.deliveries if self._hit(d, channel, where)]
                left = deadline - time.monotonic()
                if hits or left <= 0:
                    break
                self._cond.wait(left)
        if hits:
            shown = "\n".join(f"  {_short(d)}" for d in hits[:10])
            raise AssertionError(
                f"expected no event on {channel!r} matching {_describe(where)}, got {len(hits)}:"
                f"\n{shown}"
            )

    @staticmethod
    def _hit(d: Delivery, channel: str, where: Where | None) -> bool:
        if not d.ok or d.channel != channel:
            return False
        if where is None:
            return True
        try:
            return bool(where(d.event))
        except Exception:
            return False

    def near_misses(self, channel: str, where: Where | None = None) -> str:
        """A readable account of everything received, grouped by why it did not match."""
        with self._cond:
            ds = list(self.deliveries)
        same = [d for d in ds if d.ok and d.channel == channel]
        other = [d for d in ds if d.ok and d.channel != channel]
        failed = [d for d in ds if not d.ok]
        lines = []
        if not ds:
            lines.append("nothing was delivered to this webhook at all")
        if same:
            lines.append(f"on {channel!r}, not matching:")
            for d in same[-10:]:
                why = ""
                if where is not None:
                    try:
                        where(d.event)
                    except Exception as exc:
                        why = f"  (where raised {type(exc).__name__}: {exc})"
                lines.append(f"  {_short(d)}{why}")
        if other:
            lines.append("on other channels:")
            lines.extend(f"  {_short(d)}" for d in other[-10:])
        if failed:
            lines.append("answered with an error:")
            lines.extend(f"  HTTP {d.status} {_short(d)} {d.error}".rstrip() for d in failed[-10:])
        if self.explain is not None:
            try:
                lines.append(self.explain())
            except Exception as exc:
                lines.append(f"(could not list published events: {exc})")
        return "\n".join(lines)

    # ---- lifecycle ----

    def close(self) -> None:
        """Stops the accept loop, ends keep-alive connections and joins every thread."""
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join(5.0)

    def __enter__(self) -> WebhookSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WebhookSink({self.url}, {len(self.deliveries)} deliveries)"


def _short(d: Delivery) -> str:
    data = d.event.get("data")
    text = json.dumps(data, ensure_ascii=False) if data is not None else "-"
    if len(text) > 240:
        text = text[:237] + "..."
    return f"{d.channel} {d.event_id[:8]} attempt {d.attempt}: {text}"


def _describe(where: Where | None) -> str:
    """The source of a lambda (`lambda e: e["data"]["x"] == 1`), else the function's name."""
    if where is None:
        return "anything"
    name = getattr(where, "__name__", repr(where))
    if name != "<lambda>":
        return name
    try:
        import inspect

        src = inspect.getsource(where)
    except (OSError, TypeError):
        return name
    start = src.find("lambda")
    if start < 0:
        return name
    depth, quote, end = 0, "", len(src)
    for i in range(start, len(src)):
        ch = src[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                end = i
                break
            depth -= 1
        elif (ch == "," and depth == 0) or ch == "\n":
            end = i
            break
    return " ".join(src[start:end].split())
