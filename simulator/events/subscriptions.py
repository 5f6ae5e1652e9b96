"""Webhook subscriptions: what a subscriber asked for, validated once, matched per event.

A body (`POST /_sim/subscriptions` or the config file's `subscriptions:` list) is checked
completely when it arrives, so a typo in a channel or a retry policy is a 400 with a message
now rather than a silent non-delivery later. Only `url` is required.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from simulator.errors import RequestError
from simulator.events.model import Event

FORMATS = ("json", "bod-xml")
_KEYS = {"url", "channels", "tenant", "filter", "secret", "headers", "format", "retry", "timeoutMs"}
_RETRY_KEYS = {"maxAttempts", "initialDelayMs", "maxDelayMs", "multiplier", "jitter"}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_RESERVED = {"content-length", "host", "transfer-encoding", "connection"}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off: attempt n waits initial * multiplier**(n-1), capped at max_delay.

    With jitter the wait is drawn uniformly from [d/2, d] ("equal jitter"): receivers that come
    back are not hit by every subscriber at the same instant, yet back-off still grows.
    """

    max_attempts: int = 8
    initial_delay: float = 0.5
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: bool = True

    def delay(self, failed_attempts: int, rng: Any) -> float:
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (failed_attempts - 1))
        return rng.uniform(base / 2, base) if self.jitter else base

    def to_json(self) -> dict[str, Any]:
        return {
            "maxAttempts": self.max_attempts,
            "initialDelayMs": round(self.initial_delay * 1000),
            "maxDelayMs": round(self.max_delay * 1000),
            "multiplier": self.multiplier,
            "jitter": self.jitter,
        }


@dataclass(slots=True)
class Subscription:
    id: str
    url: str
    channels: tuple[str, ...] = ("*",)
    tenants: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    data: dict[str, Any] = field(default_factory=dict)
    secret: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    format: str = "json"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 5.0
    _channel_hits: dict[str, bool] = field(default_factory=dict)

    def wants_channel(self, channel: str) -> bool:
        hit = self._channel_hits.get(channel)
        if hit is None:
            hit = any(fnmatch.fnmatchcase(channel, p) for p in self.channels)
            self._channel_hits[channel] = hit
        return hit

    def matches(self, event: Event) -> bool:
        if self.tenants and event.tenant not in self.tenants:
            return False
        if not self.wants_channel(event.channel):
            return False
        if self.entities and event.entity not in self.entities:
            return False
        if self.data:
            data = event.payload.get("data") or {}
            for name, want in self.data.items():
                got = data.get(name)
                if got != want and str(got) != str(want):
                    return False
        return True

    def to_json(self) -> dict[str, Any]:
        """The subscription as GET shows it; the secret is never echoed."""
        flt: dict[str, Any] = {}
        if self.entities:
            flt["entity"] = sorted(self.entities)
        if self.data:
            flt["data"] = dict(self.data)
        return {
            "id": self.id,
            "url": self.url,
            "channels": list(self.channels),
            "tenant": sorted(self.tenants) or None,
            "filter": flt,
            "secret": "***" if self.secret else None,
            "headers": dict(self.headers),
            "format": self.format,
            "retry": self.retry.to_json(),
            "timeoutMs": round(self.timeout * 1000),
        }


def contract_channels(data_dir: Path | None = None) -> frozenset[str]:
    """Channel names of the events contract (the loaded, cached one; empty if it is unusable:
    the contract's own loader reports that at start-up)."""
    from simulator.errors import ContractError
    from simulator.events.contract import load_contract

    try:
        return frozenset(load_contract(data_dir).channels)
    except ContractError:
        return frozenset()


def _names(value: Any, what: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise RequestError(f"{what} must be a non-empty string or a list of them")
    return frozenset(items)


def _number(body: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestError(f"{key} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def parse_retry(body: Any) -> RetryPolicy:
    if body is None:
        return RetryPolicy()
    if not isinstance(body, dict):
        raise RequestError("retry must be an object")
    unknown = set(body) - _RETRY_KEYS
    if unknown:
        raise RequestError(f"retry: unknown keys {sorted(unknown)} (known: {sorted(_RETRY_KEYS)})")
    attempts = body.get("maxAttempts", 8)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
        raise RequestError(f"retry.maxAttempts must be an integer from 1 to 100, not {attempts!r}")
    initial = _number(body, "initialDelayMs", 500, 0, 3_600_000) / 1000
    ceiling = _number(body, "maxDelayMs", max(60_000, initial * 1000), 0, 86_400_000) / 1000
    if ceiling < initial:
        raise RequestError("retry.maxDelayMs must not be below retry.initialDelayMs")
    multiplier = _number(body, "multiplier", 2.0, 1.0, 100.0)
    jitter = body.get("jitter", True)
    if not isinstance(jitter, bool):
        raise RequestError("retry.jitter must be true or false")
    return RetryPolicy(attempts, initial, ceiling, multiplier, jitter)


def parse(body: Any, sid: str, channels: Iterable[str] = (), bod: bool = True) -> Subscription:
    """Validates a subscription body completely; every problem is a RequestError (400)."""
    if not isinstance(body, dict):
        raise RequestError("a subscription is a JSON object with at least a url")
    unknown = set(body) - _KEYS
    if unknown:
        raise RequestError(f"unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise RequestError("url is required: the webhook to deliver to (http or https)")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise RequestError(f"url {url!r} is not an http(s) URL with a host")
    known = frozenset(channels)
    patterns = body.get("channels", ["*"])
    if not isinstance(patterns, list) or not patterns:
        raise RequestError("channels must be a non-empty list like ['order/synced', 'customer/*']")
    for p in patterns:
        if not isinstance(p, str) or not p:
            raise RequestError("every channel must be a non-empty string")
        if known and not any(fnmatch.fnmatchcase(c, p) for c in known):
            raise RequestError(f"channel {p!r} matches no channel of the contract: {sorted(known)}")
    flt = body.get("filter") or {}
    if not isinstance(flt, dict) or set(flt) - {"entity", "data"}:
        raise RequestError('filter is {"entity": "CONO_DIVI", "data": {"field": value}}')
    data = flt.get("data") or {}
    if not isinstance(data, dict) or not all(
        isinstance(v, str | int | float | bool) for v in data.values()
    ):
        raise RequestError("filter.data maps payload data fields to plain values")
    secret = body.get("secret") or ""
    if not isinstance(secret, str):
        raise RequestError("secret must be a string")
    headers = body.get("headers") or {}
    if not isinstance(headers, dict):
        raise RequestError("headers must be an object of strings")
    for name, value in headers.items():
        if not _TOKEN.match(name) or name.lower() in _RESERVED:
            raise RequestError(f"header name {name!r} is invalid or reserved")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise RequestError(f"header {name} must be a one-line string")
    fmt = body.get("format", "json")
    if fmt not in FORMATS:
        raise RequestError(f"format must be one of {list(FORMATS)}, not {fmt!r}")
    if fmt == "bod-xml" and not bod:
        raise RequestError("format bod-xml is not available in this build")
    return Subscription(
        id=sid,
        url=url,
        channels=tuple(patterns),
        tenants=_names(body["tenant"], "tenant") if body.get("tenant") else frozenset(),
        entities=_names(flt["entity"], "filter.entity") if flt.get("entity") else frozenset(),
        data=dict(data),
        secret=secret,
        headers=dict(headers),
        format=fmt,
        retry=parse_retry(body.get("retry")),
        timeout=_number(body, "timeoutMs", 5000, 1, 600_000) / 1000,
    )


class Registry:
    """The live subscriptions of one simulator; ids are never reused."""

    def __init__(self, channels: Iterable[str] = (), bod: bool = True) -> None:
        self.channels = frozenset(channels)
        self.bod = bod
        self._subs: dict[str, Subscription] = {}
        self._ids = itertools.count(1)

    def create(self, body: Any) -> Subscription:
        sub = parse(body, f"sub-{next(self._ids)}", self.channels, self.bod)
        self._subs[sub.id] = sub
        return sub

    def get(self, sid: str) -> Subscription:
        try:
            return self._subs[sid]
        except KeyError:
            raise RequestError(f"subscription {sid} does not exist", 404) from None

    def remove(self, sid: str) -> Subscription:
        sub = self.get(sid)
        del self._subs[sid]
        return sub

    def __contains__(self, sid: str) -> bool:
        return sid in self._subs

    def all(self) -> list[Subscription]:
        return list(self._subs.values())

    def matching(self, event: Event) -> list[Subscription]:
        return [s for s in self._subs.values() if s.matches(event)]
