"""The authorization server of the ION API Gateway: its token and revoke endpoints.

Wire behaviour follows reference ion-m3.md section 2. Real clients authenticate in two ways
(form body or HTTP Basic) and send extra parameters (`redirect_uri`, `scope`, `username` on a
refresh); all of that is tolerated, and every refusal is an RFC 6749 section 5.2 JSON error,
never a 500, because a real client's retry logic keys on the status and the `error` code.

Choices where the reference is silent ([inferred]/[unknown]); the token store's own are in
`simulator.gateway.tokens`:

* Revocation without client authentication is accepted (the Go sample sends only `?token=`);
  client credentials that are sent must be right.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from simulator.errors import OAuthError
from simulator.gateway.tokens import INVALID_GRANT, TokenService
from simulator.ops.journal import CURRENT

__all__ = ["revoke_endpoint", "token_endpoint"]

MAX_BODY = 64 * 1024
MAX_FIELDS = 100
INVALID_CLIENT = "Invalid client or client credentials."

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
