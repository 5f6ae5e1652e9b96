"""Credentials of a simulated authorized app, and the `.ionapi` file that carries them.

A real client is pointed at ionsim by swapping only its `.ionapi` file (reference ion-m3.md
section 7, item 30), so the document we emit has every key a real download has, in the same
order and with the same shapes: `ci` is `<TENANT>~` + 43 url-safe-base64 characters, `saak` is
`<TENANT>#` + 86 (the `#` makes clients prove they form-encode it), `cs` and `sask` are 86.

Default credentials are derived from the tenant name alone (HMAC-SHA, base64url without
padding), so a `.ionapi` written once keeps working across restarts and machines. They are not
secret; they only have to look real. `random_credentials` is for tests that must not share them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Credentials",
    "default_credentials",
    "ionapi_document",
    "random_credentials",
    "read_ionapi",
]

APP_NAME = "ionsim"
REQUIRED_KEYS = ("ti", "ci", "cs", "pu", "ot")
_DERIVATION_KEY = b"ionsim default credentials v1"


@dataclass(frozen=True)
class Credentials:
    """One authorized app with a service account. Its repr never shows a secret."""

    ti: str
    cn: str
    ci: str
    cs: str = field(repr=False)
    saak: str = field(repr=False)
    sask: str = field(repr=False)
    ev: str

    def __repr__(self) -> str:
        return f"Credentials(ti={self.ti!r}, cn={self.cn!r}, ci={self.ci!r}, ev={self.ev!r})"

    __str__ = __repr__


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _build(tenant: str, draw: Callable[[str, int], bytes]) -> Credentials:
    """Shape the credentials from `draw(purpose, nbytes)`: 32 bytes -> 43 chars, 64 -> 86."""
    ev_number = int.from_bytes(draw("ev", 8), "big") % 100_000_000 + 1_400_000_000
    return Credentials(
        ti=tenant,
        cn=APP_NAME,
        ci=f"{tenant}~{_b64(draw('ci', 32))}",
        cs=_b64(draw("cs", 64)),
        saak=f"{tenant}#{_b64(draw('saak', 64))}",
        sask=_b64(draw("sask", 64)),
        ev=f"V{ev_number}",
    )


def default_credentials(tenant: str) -> Credentials:
    """Credentials that depend only on the tenant name: the same on every run and machine."""

    def draw(purpose: str, nbytes: int) -> bytes:
        msg = f"{tenant}\x00{purpose}".encode()
        digest = hmac.new(_DERIVATION_KEY, msg, hashlib.sha512).digest()
        return digest[:nbytes]

    return _build(tenant, draw)


def random_credentials(tenant: str, rng: random.Random | None = None) -> Credentials:
    """Fresh credentials: cryptographically random, or reproducible from a seeded `rng`."""

    def draw(purpose: str, nbytes: int) -> bytes:
        return secrets.token_bytes(nbytes) if rng is None else rng.randbytes(nbytes)

    return _build(tenant, draw)


def ionapi_document(creds: Credentials, base_url: str) -> dict[str, str]:
    """The `.ionapi` JSON object of `creds` for a simulator listening at `base_url`."""
    iu = base_url.rstrip("/")
    return {
        "ti": creds.ti,
        "cn": creds.cn,
        "dt": "12",
        "ci": creds.ci,
        "cs": creds.cs,
        "iu": iu,
        "pu": f"{iu}/{creds.ti}/as/",
        "oa": "authorization.oauth2",
        "ot": "token.oauth2",
        "or": "revoke_token.oauth2",
        "ev": creds.ev,
        "v": "1.0",
        "saak": creds.saak,
        "sask": creds.sask,
    }


def read_ionapi(source: str | Path | Mapping[str, Any]) -> dict[str, str]:
    """Parse and check a `.ionapi`: a path, JSON text (a str starting with `{`) or a mapping.

    Keys ionsim does not use (`dt`, `ev`, `v`, `sc`, `ru`, ...) are accepted; only their string
    values are kept, since `sc` is an object in some files and nothing reads it. A missing or
    empty required key raises ValueError naming every such key, so a wrong file is diagnosed in
    one go.
    """
    if isinstance(source, Mapping):
        data: Any = source
        where = "ionapi mapping"
    else:
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text, where = source, "ionapi text"
        else:
            path = Path(source)
            # utf-8-sig: files saved by Windows editors may start with a byte-order mark.
            text, where = path.read_text(encoding="utf-8-sig"), str(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a .ionapi file must hold a JSON object")
    missing = [k for k in REQUIRED_KEYS if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise ValueError(f"{where}: missing or empty keys: {', '.join(missing)}")
    return {str(k): v for k, v in data.items() if isinstance(v, str)}
