"""A webhook receiver for tests: records what ionsim delivers and answers like a consumer would.

It listens on 127.0.0.1 and a free port. It can be told to fail (`fail_next`) to exercise
ionsim's retries, and to run a consumer callback (`on_event`) so a connector's handler is tested
with real deliveries, duplicates included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from simulator.harness.deliveries import (
    Delivery,
    Where,
    describe_where,
    matches,
    near_misses,
    summarize,
)
from simulator.harness.sink_http import SinkServer

__all__ = ["Delivery", "WebhookSink"]

Consumer = Callable[[dict[str, Any]], Any]


class WebhookSink:
    """Records deliveries; `url` is where ionsim should POST. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secret: str = "") -> None:
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._cond = threading.Condition()
        self._fail: list[tuple[int, bool, str | None]] = []
        self._consumers: list[Consumer] = []
        self._server = SinkServer((host, port), self._receive)
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
                hits = [d for d in self.deliveries if matches(d, channel, where)]
                if len(hits) >= count:
                    return hits[count - 1].event
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        what = f"{count} deliveries" if count > 1 else "delivery"
        raise AssertionError(
            f"no {what} on {channel!r} matching {describe_where(where)} within {timeout:g}s "
            f"(got {len(hits)})\n{self.near_misses(channel, where)}"
        )

    def assert_no(self, channel: str, where: Where | None = None, within: float = 0.0) -> None:
        """Fails if an accepted event on `channel` matches, now or within `within` seconds."""
        __tracebackhide__ = True
        deadline = time.monotonic() + within
        with self._cond:
            while True:
                hits = [d for d in self.deliveries if matches(d, channel, where)]
                left = deadline - time.monotonic()
                if hits or left <= 0:
                    break
                self._cond.wait(left)
        if hits:
            shown = "\n".join(f"  {summarize(d)}" for d in hits[:10])
            raise AssertionError(
                f"expected no event on {channel!r} matching {describe_where(where)}, "
                f"got {len(hits)}:\n{shown}"
            )

    def near_misses(self, channel: str, where: Where | None = None) -> str:
        """A readable account of everything received, grouped by why it did not match."""
        with self._cond:
            ds = list(self.deliveries)
        return near_misses(ds, channel, where, self.explain)

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
