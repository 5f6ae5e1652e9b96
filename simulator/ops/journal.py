"""The request journal: a bounded ring of what crossed the gateway and what was delivered.

Entries are the plain dicts the middleware builds per request (`CURRENT` holds the one being
served, so hooks deep in the gateway add to it without passing it around); they are turned
into JSON only when read, so recording costs a dict and a deque append. Nothing secret is ever
put in an entry: token requests keep the grant type and client id, never a secret, password,
user name or token; `Authorization` headers are never read into it; error bodies are kept only
for 4xx/5xx answers, which carry no credentials. `redact_query` does the same for log lines.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

CURRENT: ContextVar[dict[str, Any] | None] = ContextVar("ionsim_request", default=None)
KINDS = ("token", "mi", "http", "delivery")
SECRET_KEYS = frozenset(
    {
        "password",
        "client_secret",
        "refresh_token",
        "access_token",
        "token",
        "username",
        "secret",
        "authorization",
        "sask",
        "saak",
        "assertion",
        "admin_token",
    }
)
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:" + "|".join(sorted(SECRET_KEYS)) + r")=)[^&;#\s\"]*")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def redact_query(text: str) -> str:
    """Hides the values of secret-looking query parameters (`?token=...` -> `?token=***`)."""
    return _SECRET_QUERY.sub(r"\1***", text) if "=" in text else text


def clean(fields: Any) -> dict[str, Any]:
    """A request's fields as recorded: values of secret-looking names are masked.

    The MI fast path records the raw query string (bytes): its fields are parsed here, on read.
    """
    if isinstance(fields, bytes):
        from simulator.m3.wire import input_fields

        fields = input_fields(dict(parse_qsl(fields.decode("latin-1"), keep_blank_values=True)))
    if not isinstance(fields, dict):
        return {}
    return {k: "***" if k.lower() in SECRET_KEYS else v for k, v in fields.items()}


class AccessLogFilter(logging.Filter):
    """Masks secret query parameters in uvicorn's access log lines (`?token=` of revoke or
    of the dashboard URL) before they are written."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            if "?" in args[2] or ";" in args[2]:
                record.args = (*args[:2], redact_query(args[2]), *args[3:])
        elif isinstance(record.msg, str) and "?" in record.msg:
            record.msg = redact_query(record.msg)
        return True


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in logger.filters):
        logger.addFilter(AccessLogFilter())


class Journal:
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ring: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = itertools.count(1)
        self.last = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.last = entry["seq"] = next(self._seq)
        self._ring.append(entry)

    def clear(self) -> int:
        n = len(self._ring)
        self._ring.clear()
        return n

    def __len__(self) -> int:
        return len(self._ring)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._ring)

    def query(
        self,
        *,
        kind: str | None = None,
        tenant: str | None = None,
        program: str | None = None,
        transaction: str | None = None,
        status: str | None = None,
        client_id: str | None = None,
        since: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Matching entries, oldest first: with `since`, the first `limit` after it (so a
        follower misses nothing); without, the latest `limit`. `last` is where to go on."""
        want_status = _status_filter(status)

        def keep(e: dict[str, Any]) -> bool:
            return not (
                (kind and e["kind"] != kind)
                or (tenant and e["tenant"] != tenant)
                or (program and e.get("program", "").upper() != program.upper())
                or (transaction and e.get("transaction", "").upper() != transaction.upper())
                or (want_status and not want_status(e["status"]))
                or (client_id and _client(e) != client_id)
            )

        if since:
            out: list[dict[str, Any]] = []
            for e in self._ring:
                if e["seq"] > since and keep(e):
                    out.append(e)
                    if len(out) >= limit:
                        return {"entries": [entry_json(x) for x in out], "last": out[-1]["seq"]}
        else:
            out = []
            for e in reversed(self._ring):
                if keep(e):
                    out.append(e)
                    if len(out) >= limit:
                        break
            out.reverse()
        return {"entries": [entry_json(x) for x in out], "last": max(self.last, since)}


def _status_filter(status: str | None) -> Any:
    if not status:
        return None
    s = status.strip().lower()
    if len(s) == 3 and s[0].isdigit() and s[1:] == "xx":
        low = int(s[0]) * 100
        return lambda v: low <= v < low + 100
    if s.isdigit():
        n = int(s)
        return lambda v: v == n
    raise ValueError(f"status must be a number or a class like 4xx, not {status!r}")


def _client(e: dict[str, Any]) -> str:
    access = e.get("access")
    return access.client_id if access is not None else e.get("clientId", "")


def _summary(e: dict[str, Any]) -> dict[str, Any]:
    kind = e["kind"]
    if kind == "delivery":
        return {"outcome": e.get("outcome"), "error": e.get("error")}
    if "records" in e or "error" in e:
        err = e.get("error")
        if err is None:
            return {"records": e.get("records", 0)}
        return {
            "records": 0,
            "errorCode": err.code,
            "errorMessage": err.message.rstrip(),
            "errorField": err.field,
            "errorType": err.type,
        }
    out: dict[str, Any] = {}
    if kind == "token" and e.get("grant"):
        out["grant"] = e["grant"]
    if "transactions" in e:
        out["transactions"] = e["transactions"]
        out["nok"] = e.get("nok", 0)
    body = e.get("body")
    if body:
        try:
            j = orjson.loads(body)
        except orjson.JSONDecodeError:
            j = None
        if isinstance(j, dict):
            for key in ("error", "message", "error_description"):
                if isinstance(j.get(key), str):
                    out[key] = j[key]
    return out


def entry_json(e: dict[str, Any]) -> dict[str, Any]:
    decision = e.get("throttle")
    out: dict[str, Any] = {
        "seq": e["seq"],
        "at": iso(e["at"]),
        "kind": e["kind"],
        "tenant": e["tenant"],
        "method": e["method"],
        "path": e["path"],
        "status": e["status"],
        "durationMs": round(e.get("dur", 0.0), 3),
        "clientId": _client(e),
        "program": e.get("program", ""),
        "transaction": e.get("transaction", ""),
        "request": clean(e.get("request")),
        "response": _summary(e),
        "throttle": None
        if decision is None
        else {
            "allowed": decision.allowed,
            "delayMs": round(decision.delay_s * 1000, 3),
            "reason": decision.reason,
            "count": decision.count,
        },
        "fault": e.get("fault"),
    }
    if e["kind"] == "delivery":
        for key in ("channel", "eventId", "subscription", "attempt", "outcome", "error", "key"):
            out[key] = e.get(key)
    if e.get("bulk"):
        out["bulk"] = True
    return out
