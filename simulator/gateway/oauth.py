"""The authorization server of the ION API Gateway: token store, token and revoke endpoints.

Wire behaviour follows reference ion-m3.md section 2. Real clients authenticate in two ways
(form body or HTTP Basic) and send extra parameters (`redirect_uri`, `scope`, `username` on a
refresh); all of that is tolerated, and every refusal is an RFC 6749 section 5.2 JSON error,
never a 500, because a real client's retry logic keys on the status and the `error` code.

Choices where the reference is silent ([inferred]/[unknown]):

* A refresh rotates: the response carries a new refresh token and the used one stops working
  (`invalid_grant` on reuse, without revoking the rest of the grant). Access tokens issued
  earlier stay valid until they expire. A new refresh token gets a full refresh lifetime.
* A refresh token always comes back, for every grant including `client_credentials`, because
  some real clients read it unconditionally.
* Revoking a refresh token (current or already rotated) revokes its whole grant: every access
  and refresh token issued from the first login onwards. Revoking an access token revokes that
  token only. Unknown tokens, and tokens of another client, are ignored (RFC 7009 section 2.2).
* Revocation without client authentication is accepted (the Go sample sends only `?token=`);
  client credentials that are sent must be right.
* Expired and revoked records are kept for `grace` seconds after expiry so that a client sees
  "has expired"/"was revoked" rather than "Invalid access token", then purged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from simulator.errors import GatewayError, OAuthError
from simulator.ops.journal import CURRENT

if TYPE_CHECKING:
    from simulator.clock import Clock

__all__ = ["AccessToken", "TokenService", "jwks", "revoke_endpoint", "token_endpoint"]

MAX_BODY = 64 * 1024
MAX_FIELDS = 100
INVALID_CLIENT = "Invalid client or client credentials."
INVALID_GRANT = "The provided access grant is invalid, expired, or revoked."
_JTI_ALPHABET = string.ascii_letters + string.digits
_IDENTITY_NS = uuid.UUID("6f1c8a52-3b0e-4d8e-9a57-1f2b6c0d9e41")


# --- signing key -------------------------------------------------------------------------


class _SigningKey:
    """One RSA key per process, made on first use so that start-up never pays for it."""

    _lock = threading.Lock()
    _key: Any = None
    kid = ""

    @classmethod
    def get(cls) -> Any:
        if cls._key is None:
            with cls._lock:
                if cls._key is None:
                    from cryptography.hazmat.primitives.asymmetric import rsa

                    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                    cls.kid = f"InforAccessTokenSigningCertificate-{int(time.time())}"
                    cls._key = key
        return cls._key


def jwks() -> dict[str, Any]:
    """The public half of the signing key as a JWK Set, to verify access tokens."""
    from jwt.algorithms import RSAAlgorithm

    key = _SigningKey.get()
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": _SigningKey.kid, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def _sign(claims: dict[str, Any]) -> str:
    import jwt

    key = _SigningKey.get()
    return jwt.encode(claims, key, algorithm="RS256", headers={"typ": None, "kid": _SigningKey.kid})


# --- token store -------------------------------------------------------------------------


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
        _SigningKey.get()

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
        token = _sign(claims)
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


# --- endpoints ---------------------------------------------------------------------------

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Parameters whose repetition makes the request ambiguous (RFC 6749 section 3.2).
_SINGLE = {
    "grant_type",
    "username",
    "password",
    "client_id",
    "client_secret",
    "refresh_token",
    "token",
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


def _error(exc: OAuthError, *, basic: bool = False) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="ionsim"'} if basic and exc.status == 401 else None
    return _json(exc.status, {"error": exc.error, "error_description": exc.description}, headers)


def _bad_request(description: str) -> OAuthError:
    return OAuthError(400, "invalid_request", description)


def _missing(name: str) -> OAuthError:
    return _bad_request(f"Missing required parameter: {name}")


def _parse_form(raw: bytes, where: str) -> dict[str, str]:
    """Strict form decoding: bad UTF-8, bad percent-escapes or repeats are the client's error."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _bad_request(f"The {where} is not valid form-urlencoded UTF-8") from None
    if len(pairs) > MAX_FIELDS:
        raise _bad_request(f"The {where} has more than {MAX_FIELDS} parameters")
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in _SINGLE and params.get(name, value) != value:
            raise _bad_request(f"Parameter {name} is included more than once")
        params[name] = value
    return params


async def _read_params(request: Request) -> dict[str, str]:
    """Query string parameters overlaid by the form body (the body wins)."""
    params = _parse_form(request.scope.get("query_string", b""), "query string")
    if request.method != "POST":
        return params
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise _bad_request(f"The request body exceeds {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise _bad_request(f"The request body exceeds {MAX_BODY} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _bad_request("The request body was cut short") from None
    body = b"".join(chunks)
    if body.strip():
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in ("", "application/x-www-form-urlencoded"):
            raise _bad_request("The request body must be application/x-www-form-urlencoded")
        params.update(_parse_form(body, "request body"))
    return params


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """`(id, secret)` from `Authorization: Basic`, None when another or no scheme is used."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        raise OAuthError(401, "invalid_client", INVALID_CLIENT) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError(401, "invalid_client", INVALID_CLIENT)
    return client_id, secret


def _uses_basic(request: Request) -> bool:
    return request.headers.get("authorization", "").strip().partition(" ")[0].lower() == "basic"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _client_matches(given: tuple[str, str], ci: str, cs: str) -> bool:
    """RFC 6749 section 2.3.1 form-encodes id and secret inside Basic; few clients do, so
    both the raw and the decoded pair are accepted."""
    candidates = {given, (unquote_plus(given[0]), unquote_plus(given[1]))}
    return any(_same(i, ci) & _same(s, cs) for i, s in candidates)


def _authenticate_client(
    request: Request, params: dict[str, str], *, required: bool = True
) -> tuple[Any, str | None]:
    """The tenant and the authenticated client id (None when not sent and not `required`)."""
    basic = _basic_credentials(request)
    body_id, body_secret = params.get("client_id"), params.get("client_secret")
    if basic is not None and body_id is not None:
        ids = {basic[0], unquote_plus(basic[0])}
        secrets_ = {basic[1], unquote_plus(basic[1])}
        if body_id not in ids or (body_secret is not None and body_secret not in secrets_):
            raise _bad_request("Client credentials differ between the body and Basic")
    given = basic or (
        (body_id, body_secret) if body_id is not None and body_secret is not None else None
    )
    tenant = request.app.state.sim.tenants.get(request.path_params.get("ti", ""))
    if given is None and not required and tenant is not None:
        # A public-client style request: at most a client_id, which must still be right.
        if body_id is not None and not _same(body_id, tenant.credentials.ci):
            raise OAuthError(401, "invalid_client", INVALID_CLIENT)
        return tenant, body_id
    if given is None or tenant is None:
        raise OAuthError(401, "invalid_client", INVALID_CLIENT)
    creds = tenant.credentials
    if not _client_matches(given, creds.ci, creds.cs):
        raise OAuthError(401, "invalid_client", INVALID_CLIENT)
    return tenant, creds.ci


def _note(**fields: str) -> None:
    """Adds what the journal may keep (grant type, client id, OAuth error; never a secret)."""
    rec = CURRENT.get()
    if rec is not None:
        rec.update(fields)


async def token_endpoint(request: Request) -> Response:
    """`POST /{ti}/as/token.oauth2`: password, client_credentials and refresh_token grants."""
    basic = _uses_basic(request)
    try:
        params = await _read_params(request)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise _missing("grant_type")
        _note(grant=grant_type[:64], clientId=params.get("client_id", "")[:128])
        tenant, client_id = _authenticate_client(request, params)
        assert client_id is not None
        _note(clientId=client_id)
        tokens: TokenService = request.app.state.sim.tokens
        if grant_type == "refresh_token":
            refresh_token = params.get("refresh_token")
            if not refresh_token:
                raise _missing("refresh_token")
            body = tokens.refresh(tenant.name, client_id, refresh_token)
        elif grant_type == "password":
            username, password = params.get("username"), params.get("password")
            if not username:
                raise _missing("username")
            if password is None:
                raise _missing("password")
            creds = tenant.credentials
            ok = bool(creds.saak) & _same(username, creds.saak) & _same(password, creds.sask)
            if not ok:
                raise OAuthError(400, "invalid_grant", INVALID_GRANT)
            scope = params.get("scope", "").strip() or None
            body = tokens.issue(tenant.name, client_id, tenant.user, creds.saak, scope=scope)
        elif grant_type == "client_credentials":
            scope = params.get("scope", "").strip() or None
            body = tokens.issue(tenant.name, client_id, tenant.user, "", scope=scope)
        else:
            shown = grant_type[:64].encode("ascii", "replace").decode("ascii")
            raise OAuthError(
                400, "unsupported_grant_type", f"The grant type {shown!r} is not supported"
            )
    except OAuthError as exc:
        _note(oauthError=exc.error)
        return _error(exc, basic=basic)
    return _json(200, body)


async def revoke_endpoint(request: Request) -> Response:
    """`POST|GET /{ti}/as/revoke_token.oauth2` (RFC 7009): 200 with an empty body."""
    basic = _uses_basic(request)
    try:
        params = await _read_params(request)
        tenant, client_id = _authenticate_client(request, params, required=False)
        token = params.get("token")
        if not token:
            raise _missing("token")
        tokens: TokenService = request.app.state.sim.tokens
        tokens.revoke(tenant.name, client_id, token)
    except OAuthError as exc:
        return _error(exc, basic=basic)
    return Response(b"", status_code=200, headers=_NO_STORE)
