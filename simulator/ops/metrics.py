"""Counters for `/metrics` (Prometheus text format 0.0.4) and `/_sim/stats` (the dashboard).

Hand-written rather than prometheus-client: the hot path only bumps plain dict entries keyed by
label tuples (no lock, no label lookup objects: everything runs on one event loop), and the
text is produced when scraped. Event counts are read at scrape time from what delivery and the
publisher already count exactly, so they cost the hot path nothing. Label values that come from
clients (MI program and transaction names) are capped at `MAX_SERIES` distinct series each, so a
client sending random names cannot grow a scrape without bound.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from typing import Any

from simulator.ops.journal import iso

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
MAX_SERIES = 10_000
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_RPS_WINDOW = 10


class Histogram:
    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.sum += value
        self.count += 1


class Metrics:
    def __init__(self) -> None:
        self.http: dict[tuple[str, str, int], int] = {}
        self.mi: dict[tuple[str, str, str, str], int] = {}
        self.tokens_issued: dict[tuple[str, str], int] = {}
        self.tokens_refused: dict[tuple[str, str], int] = {}
        self.throttle_delays: dict[str, int] = {}
        self.throttle_rejections: dict[tuple[str, str], int] = {}
        self.faults_fired: dict[str, int] = {}
        self.latency: dict[str, Histogram] = {}
        self.recent: dict[str, deque[float]] = {}
        self._sec = 0
        self._cur = 0
        self._seconds: deque[tuple[int, int]] = deque(maxlen=_RPS_WINDOW + 1)

    # -- recording (hot path) -------------------------------------------------------------
    def request(self, route: str, method: str, status: int, t: float) -> None:
        key = (route, method, status)
        http = self.http
        http[key] = http.get(key, 0) + 1
        sec = int(t)
        if sec == self._sec:
            self._cur += 1
        else:
            if self._cur:
                self._seconds.append((self._sec, self._cur))
            self._sec, self._cur = sec, 1

    def mi_call(self, tenant: str, program: str, transaction: str, ok: bool) -> None:
        mi = self.mi
        key = (tenant, program, transaction, "ok" if ok else "nok")
        n = mi.get(key)
        if n is None:
            if len(mi) >= MAX_SERIES:
                key = (tenant, "_other", "_other", key[3])
            n = mi.get(key, 0)
        mi[key] = n + 1

    def delivered(self, channel: str, latency_s: float) -> None:
        h = self.latency.get(channel)
        if h is None:
            h = self.latency[channel] = Histogram()
            self.recent[channel] = deque(maxlen=1000)
        h.observe(latency_s)
        self.recent[channel].append(latency_s * 1000)

    def rps(self) -> float:
        now = int(time.perf_counter())
        total = self._cur if now - self._sec < _RPS_WINDOW else 0
        total += sum(n for s, n in self._seconds if now - s < _RPS_WINDOW)
        return round(total / _RPS_WINDOW, 2)

    # -- reading --------------------------------------------------------------------------
    def render(self, sim: Any) -> str:
        out: list[str] = []
        fam = _family(out)
        fam(
            "ionsim_http_requests_total",
            "Gateway HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            self.http,
        )
        fam(
            "ionsim_mi_calls_total",
            "MI transactions by tenant, program, transaction and result.",
            ("tenant", "program", "transaction", "result"),
            self.mi,
        )
        fam(
            "ionsim_tokens_issued_total",
            "Access tokens issued by tenant and grant type.",
            ("tenant", "grant"),
            self.tokens_issued,
        )
        fam(
            "ionsim_tokens_refused_total",
            "Token requests refused by tenant and OAuth error.",
            ("tenant", "error"),
            self.tokens_refused,
        )
        fam(
            "ionsim_throttle_delays_total",
            "Requests delayed by rate smoothing.",
            ("tenant",),
            {(k,): v for k, v in self.throttle_delays.items()},
        )
        fam(
            "ionsim_throttle_rejections_total",
            "Requests refused with 429 by spike arrest or quota.",
            ("tenant", "reason"),
            self.throttle_rejections,
        )
        published, by_channel = _event_counts(sim)
        fam(
            "ionsim_events_published_total",
            "Events published by channel.",
            ("channel",),
            {(c,): n for c, n in published.items()},
        )
        for name, field, text in (
            ("delivered", "delivered", "Webhook deliveries that succeeded"),
            ("retried", "retried", "Webhook delivery retries scheduled"),
            ("dead_lettered", "deadLettered", "Webhook deliveries dead-lettered"),
        ):
            fam(
                f"ionsim_events_{name}_total",
                f"{text}, by channel.",
                ("channel",),
                {(c,): row.get(field, 0) for c, row in by_channel.items()},
            )
        fam(
            "ionsim_faults_fired_total",
            "Fault rules that fired, by rule index (or header).",
            ("rule",),
            {(k,): v for k, v in self.faults_fired.items()},
        )
        name = "ionsim_delivery_latency_seconds"
        out.append(
            f"# HELP {name} Time from publish to successful webhook delivery "
            "(simulated clock), by channel."
        )
        out.append(f"# TYPE {name} histogram")
        for channel in sorted(self.latency):
            h, ch = self.latency[channel], _escape(channel)
            running = 0
            for bound, n in zip((*BUCKETS, float("inf")), h.counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                out.append(f'{name}_bucket{{channel="{ch}",le="{le}"}} {running}')
            out.append(f'{name}_sum{{channel="{ch}"}} {h.sum!r}')
            out.append(f'{name}_count{{channel="{ch}"}} {h.count}')
        return "\n".join(out) + "\n"

    def stats(self, sim: Any) -> dict[str, Any]:
        """The dashboard's one poll: totals and rates, small whatever the traffic."""
        by_program: dict[str, dict[str, int]] = {}
        calls = nok = 0
        for (_, program, transaction, result), n in self.mi.items():
            row = by_program.setdefault(f"{program}/{transaction}", {"ok": 0, "nok": 0})
            row[result] += n
            calls += n
            nok += n if result == "nok" else 0
        status: dict[int, int] = {}
        for (_, _, code), n in self.http.items():
            status[code] = status.get(code, 0) + n
        published, by_channel = _event_counts(sim)
        channels: dict[str, Any] = {}
        for channel in sorted(set(published) | set(by_channel)):
            row = by_channel.get(channel, {})
            p50, p95 = _percentiles(self.recent.get(channel))
            channels[channel] = {
                "published": published.get(channel, 0),
                "delivered": row.get("delivered", 0),
                "failed": row.get("failed", 0),
                "retried": row.get("retried", 0),
                "deadLettered": row.get("deadLettered", 0),
                "pending": row.get("pending", 0),
                "latencyMsP50": p50,
                "latencyMsP95": p95,
            }
        return {
            "now": iso(sim.clock.now()),
            "gateway": {
                "requests": sum(status.values()),
                "requestsPerSecond": self.rps(),
                "status": {str(k): v for k, v in sorted(status.items())},
                "tokens": {
                    "issued": sum(self.tokens_issued.values()),
                    "refused": sum(self.tokens_refused.values()),
                },
            },
            "mi": {"calls": calls, "nok": nok, "byProgram": dict(sorted(by_program.items()))},
            "events": {"byChannel": channels},
            "faults": {"fired": sum(self.faults_fired.values())},
        }


def _event_counts(sim: Any) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    publisher = getattr(sim, "publisher", None)
    published = dict(publisher.published) if publisher is not None else {}
    hub = getattr(sim, "hub", None)
    return published, (hub.stats.by_channel if hub is not None else {})


def _percentiles(values: deque[float] | None) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    s = sorted(values)
    return round(s[(len(s) - 1) // 2], 3), round(s[min(len(s) - 1, int(len(s) * 0.95))], 3)


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(out: list[str]) -> Any:
    def add(name: str, help_: str, labels: tuple[str, ...], table: dict[Any, int]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} counter")
        for key in sorted(table, key=lambda k: tuple(str(x) for x in k)):
            pairs = ",".join(f'{lab}="{_escape(v)}"' for lab, v in zip(labels, key, strict=True))
            out.append(f"{name}{{{pairs}}} {table[key]}")

    return add
