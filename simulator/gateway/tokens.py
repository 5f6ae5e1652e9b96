"""The authorization server's token store: what a login grants, and for how long.

Choices where the reference (ion-m3.md section 2) is silent ([inferred]/[unknown]):

* A refresh rotates: the response carries a new refresh token and the used one stops working
  (`invalid_grant` on reuse, without revoking the rest of the grant). Access tokens issued
  earlier stay valid until they expire. A new refresh token gets a full refresh lifetime.
* A refresh token always comes back, for every grant including `client_credentials`, because
  some real clients read it unconditionally.
* Revoking a refresh token (current or already rotated) revokes its whole grant: every access
  and refresh token issued from the first login onwards. Revoking an access token revokes that
  token only. Unknown tokens, and tokens of another client, are ignored (RFC 7009 section 2.2).
* Expired and revoked records are kept for `grace` seconds after expiry so that a client sees
  "has expired"/"was revoked" rather than "Invalid access token", then purged.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.errors import GatewayError, OAuthError
from simulator.gateway.signing import SigningKey, jwks, sign

if TYPE_CHECKING:
    from simulator.clock import Clock

__all__ = ["INVALID_GRANT", "AccessToken", "TokenService"]

INVALID_GRANT = "The provided access grant is invalid, expired, or revoked."
_JTI_ALPHABET = string.ascii_letters + string.digits
_IDENTITY_NS = uuid.UUID("6f1c8a52-3b0e-4d8e-9a57-1f2b6c0d9e41")


@dataclass(slots=True)
class AccessToken:
    token: str
    tenant: str
    client_id: str
    user: str
    service_account: str
    expires_at: float
    jti: str
    refresh: str | None
    revoked: bool = False

    def __repr__(self) -> str:
        return (
            f"AccessToken(tenant={self.tenant!r}, client_id={self.client_id!r}, "
            f"user={self.user!r}, jti={self.jti!r}, expires_at={self.expires_at}, "
            f"revoked={self.revoked})"
        )


@dataclass(slots=True, eq=False)
class _Grant:
    """What one login granted; every refresh continues it, a revocation ends all of it."""

    tenant: str
    client_id: str
    user: str
    service_account: str
    scope: str | None
    tokens: list[str] = field(default_factory=list)
    revoked: bool = False


@dataclass(slots=True, eq=False)
class _RefreshToken:
    grant: _Grant
    expires_at: float
    used: bool = False


class TokenService:
    """Issues, refreshes, revokes and checks tokens. Everything is in memory, keyed by token.

    `authenticate` runs on every API call, so it is one dict lookup; the JWT is never parsed
    back. All methods are synchronous: on the single event loop no request interleaves with a
    read-modify-write of the store.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        lifetime: int = 7200,
        refresh_lifetime: int = 28800,
        grace: int = 3600,
    ) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.refresh_lifetime = refresh_lifetime
        self.grace = grace
        self._access: dict[str, AccessToken] = {}
        self._by_jti: dict[str, str] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._since_purge = 0
        self._purge_after = 1000

    def __len__(self) -> int:
        return len(self._access) + len(self._refresh)

    def warm(self) -> None:
        """Make the signing key now (e.g. in a worker thread after start-up), not on 1st login."""
        SigningKey.get()

    def jwks(self) -> dict[str, Any]:
        return jwks()

    def issue(
        self,
        tenant: str,
        client_id: str,
        user: str,
        service_account: str = "",
        *,
        refresh: bool = True,
        scope: str | None = None,
    ) -> dict[str, Any]:
        """Start a new grant and return the token response body."""
        grant = _Grant(tenant, client_id, user, service_account, scope or None)
        return self._mint(grant, with_refresh=refresh)

    def refresh(self, tenant: str, client_id: str, refresh_token: str) -> dict[str, Any]:
        """Continue the grant of `refresh_token` (rotating it); raises OAuthError invalid_grant."""
        record = self._refresh.get(refresh_token)
        if (
            record is None
            or record.used
            or record.grant.revoked
            or record.grant.tenant != tenant
            or record.grant.client_id != client_id
            or self.clock.now() >= record.expires_at
        ):
            raise OAuthError(400, "invalid_grant", INVALID_GRANT)
        record.used = True
        return self._mint(record.grant, with_refresh=True)

    def _mint(self, grant: _Grant, *, with_refresh: bool) -> dict[str, Any]:
        now = self.clock.now()
        self._since_purge += 1
        if self._since_purge >= self._purge_after:
            self.purge()
        expires_at = now + self.lifetime
        jti = "".join(secrets.choice(_JTI_ALPHABET) for _ in range(36))
        claims = {
            "scope": grant.scope or "null",
            "client_id": grant.client_id,
            "jti": jti,
            "ServiceAccount": grant.service_account,
            "Identity2": str(uuid.uuid5(_IDENTITY_NS, f"{grant.tenant}/{grant.user}")),
            "Tenant": grant.tenant,
            "EnforceScopesForClient": "0",
            "exp": int(expires_at),
            "iat": int(now),
        }
        token = sign(claims)
        refresh_token = secrets.token_urlsafe(32) if with_refresh else None
        self._access[token] = AccessToken(
            token,
            grant.tenant,
            grant.client_id,
            grant.user,
            grant.service_account,
            expires_at,
            jti,
            refresh_token,
        )
        self._by_jti[jti] = token
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if refresh_token is not None:
            grant.tokens.append(token)
            self._refresh[refresh_token] = _RefreshToken(grant, now + self.refresh_lifetime)
            body["refresh_token"] = refresh_token
        return body

    def revoke(self, tenant: str, client_id: str | None, token: str) -> None:
        """Revoke an access token, or the whole grant of a refresh token (RFC 7009).

        `client_id` None means the caller did not authenticate: the token itself is proof
        enough to give it up. Unknown tokens and other clients' tokens are ignored silently.
        """
        record = self._refresh.get(token)
        if record is not None:
            grant = record.grant
            if grant.tenant == tenant and client_id in (None, grant.client_id):
                self._revoke_grant(grant)
            return
        access = self._access.get(token)
        if access is not None and access.tenant == tenant and client_id in (None, access.client_id):
            access.revoked = True

    def _revoke_grant(self, grant: _Grant) -> None:
        grant.revoked = True
        for token in grant.tokens:
            access = self._access.get(token)
            if access is not None:
                access.revoked = True

    def authenticate(self, token: str, tenant: str) -> AccessToken:
        """The caller of an API request, or GatewayError 401 saying what is wrong with `token`."""
        record = self._access.get(token)
        if record is None:
            raise _invalid_token("Invalid access token")
        if record.tenant != tenant:
            raise _invalid_token(f"The access token is not valid for tenant {tenant}")
        if record.revoked:
            raise _invalid_token("The access token was revoked")
        if self.clock.now() >= record.expires_at:
            raise _invalid_token("The access token has expired")
        return record

    def lookup(self, token: str) -> AccessToken | None:
        """The record of an access token, whatever its state (fault rules match its client)."""
        return self._access.get(token)

    def expire(self, token_or_jti: str) -> None:
        """Make an access token (by value or jti) or a refresh token expire now."""
        now = self.clock.now()
        access = self._access.get(token_or_jti) or self._access.get(
            self._by_jti.get(token_or_jti, "")
        )
        if access is not None:
            access.expires_at = min(access.expires_at, now)
            return
        record = self._refresh.get(token_or_jti)
        if record is not None:
            record.expires_at = min(record.expires_at, now)

    def revoke_all(self, tenant: str) -> None:
        """Revoke every token of `tenant` (the tenant was reset or deleted)."""
        for record in self._refresh.values():
            if record.grant.tenant == tenant:
                record.grant.revoked = True
        for access in self._access.values():
            if access.tenant == tenant:
                access.revoked = True

    def purge(self) -> None:
        """Drop records expired more than `grace` seconds ago, so memory stays bounded.

        `_mint` calls it after as many issues as records survived the last purge (at least
        1000): the store at most doubles between purges, and each purge is paid for by as many
        issues as it scans.
        """
        cutoff = self.clock.now() - self.grace
        self._access = {t: a for t, a in self._access.items() if a.expires_at > cutoff}
        self._by_jti = {a.jti: t for t, a in self._access.items()}
        self._refresh = {t: r for t, r in self._refresh.items() if r.expires_at > cutoff}
        seen: set[int] = set()
        for record in self._refresh.values():
            grant = record.grant
            if id(grant) not in seen:
                seen.add(id(grant))
                grant.tokens = [t for t in grant.tokens if t in self._access]
        self._since_purge = 0
        self._purge_after = max(1000, len(self))


def _invalid_token(message: str) -> GatewayError:
    safe = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in message)
    return GatewayError(
        401,
        message,
        error="invalid_token",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{safe}"'},
    )
