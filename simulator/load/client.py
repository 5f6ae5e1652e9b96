"""Token handling of a well-behaved ION API client, independent of Locust.

Why separate from the locustfile: the rules (read the `.ionapi`, get a token with the
password grant, refresh it with the refresh token a margin before it expires, start over
with the password grant when the refresh is refused) are the part worth testing on its own,
and Locust pulls in gevent, which must not be imported into an asyncio process.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Refresh this many seconds before `expires_in` runs out (or at 80% of short lifetimes).
REFRESH_MARGIN_S = 60.0

Fetch = Callable[[Mapping[str, str]], tuple[int, Mapping[str, Any]]]


@dataclass(frozen=True)
class Ionapi:
    """The keys of a `.ionapi` file a client needs to get tokens."""

    ti: str
    ci: str
    cs: str
    pu: str
    ot: str
    saak: str
    sask: str
    iu: str = ""

    @property
    def token_url(self) -> str:
        return self.pu + self.ot

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Ionapi:
        missing = [k for k in ("ti", "ci", "cs", "pu", "ot", "saak", "sask") if not doc.get(k)]
        if missing:
            raise ValueError(f".ionapi is missing {missing}")
        keys = ("ti", "ci", "cs", "pu", "ot", "saak", "sask", "iu")
        return cls(**{k: str(doc.get(k, "")) for k in keys})


def load_ionapi(source: str | None, host: str, tenant: str = "DEMO_TST") -> Ionapi:
    """From a file path when given, else from the running simulator at `host` (loopback)."""
    if source:
        return Ionapi.from_json(json.loads(Path(source).read_text(encoding="utf-8")))
    url = f"{host.rstrip('/')}/_sim/tenants/{tenant}/ionapi"
    with urllib.request.urlopen(url, timeout=10) as r:
        return Ionapi.from_json(json.load(r))


class TokenKeeper:
    """Holds one client's access token and renews it before it expires or after a 401.

    `fetch(form)` posts the form to the token endpoint and returns (status, JSON body); the
    caller decides how (Locust's client, so token calls show in its statistics).
    """

    def __init__(self, ionapi: Ionapi, fetch: Fetch, clock: Callable[[], float] = time.monotonic):
        self.ionapi = ionapi
        self.fetch = fetch
        self.clock = clock
        self.access: str | None = None
        self.refresh_token: str | None = None
        self.expires_at = 0.0
        self.grants = {"password": 0, "refresh_token": 0}

    def token(self) -> str:
        """A valid access token, renewed first when it is missing or about to expire."""
        if self.access is None or self.clock() >= self.expires_at:
            self.renew()
        assert self.access is not None
        return self.access

    def invalidate(self) -> None:
        """After a 401: the next `token()` renews."""
        self.expires_at = 0.0

    def renew(self) -> None:
        if self.refresh_token and self._grant(
            {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        ):
            return
        self.refresh_token = None
        form = {"grant_type": "password", "username": self.ionapi.saak,
                "password": self.ionapi.sask}  # fmt: skip
        if not self._grant(form):
            raise RuntimeError(
                f"token endpoint refused the .ionapi credentials of {self.ionapi.ti}"
            )

    def _grant(self, form: dict[str, str]) -> bool:
        status, body = self.fetch(
            {**form, "client_id": self.ionapi.ci, "client_secret": self.ionapi.cs}
        )
        if status != 200 or "access_token" not in body:
            return False
        self.grants[form["grant_type"]] += 1
        lifetime = float(body.get("expires_in") or 0)
        margin = min(REFRESH_MARGIN_S, lifetime * 0.2)
        self.access = str(body["access_token"])
        self.refresh_token = body.get("refresh_token") or self.refresh_token
        self.expires_at = self.clock() + lifetime - margin
        return True


def retry_after_seconds(value: str | None, default: float = 1.0, cap: float = 30.0) -> float:
    """`Retry-After` as seconds (delta form; an HTTP date or garbage falls back to `default`)."""
    try:
        return min(max(float(value or ""), 0.0), cap)
    except ValueError:
        return default
