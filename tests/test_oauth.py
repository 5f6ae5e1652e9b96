"""The authorization server, through HTTP as real clients use it, and the token store directly.

The endpoints run in a small Starlette app built here with a fake `app.state.sim`, so these tests
do not depend on the rest of the simulator; one test also runs them through `create_app`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Route

from simulator.clock import ManualClock
from simulator.errors import GatewayError, OAuthError
from simulator.gateway.ionapi import default_credentials
from simulator.gateway.oauth import revoke_endpoint, token_endpoint
from simulator.gateway.signing import jwks
from simulator.gateway.tokens import TokenService

TI = "DEMO_TST"
OTHER = "OTHER_TST"
CREDS = default_credentials(TI)
TOKEN_PATH = f"/{TI}/as/token.oauth2"
REVOKE_PATH = f"/{TI}/as/revoke_token.oauth2"
INVALID_CLIENT = "Invalid client or client credentials."
INVALID_GRANT = "The provided access grant is invalid, expired, or revoked."


def make_app(clock: ManualClock | None = None) -> Starlette:
    clock = clock or ManualClock()
    tenants = {
        name: SimpleNamespace(name=name, credentials=default_credentials(name), user="SIMUSER")
        for name in (TI, OTHER)
    }
    sim = SimpleNamespace(
        clock=clock,
        config=SimpleNamespace(token_lifetime=7200, refresh_token_lifetime=28800),
        tenants=tenants,
        tokens=TokenService(clock, lifetime=7200, refresh_lifetime=28800),
    )
    app = Starlette(
        routes=[
            Route("/{ti}/as/token.oauth2", token_endpoint, methods=["POST"]),
            Route("/{ti}/as/revoke_token.oauth2", revoke_endpoint, methods=["POST", "GET"]),
        ]
    )
    app.state.sim = sim
    return app


class Env:
    """An app plus a synchronous way to call it (each call runs on a fresh event loop)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.sim = app.state.sim
        self.tokens: TokenService = self.sim.tokens
        self.clock: ManualClock = self.sim.clock

    async def arequest(self, method: str, path: str, **kw: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ionsim") as client:
            return await client.request(method, path, **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return asyncio.run(self.arequest(method, path, **kw))

    def token(self, data: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", kw.pop("path", TOKEN_PATH), data=data, **kw)

    def login(self) -> dict[str, Any]:
        response = self.token(password_form())
        assert response.status_code == 200, response.text
        return response.json()


def password_form(**over: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "username": CREDS.saak,
        "password": CREDS.sask,
        "client_id": CREDS.ci,
        "client_secret": CREDS.cs,
    }
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


def basic(ci: str = CREDS.ci, cs: str = CREDS.cs) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{ci}:{cs}".encode()).decode()}


@pytest.fixture
def env() -> Env:
    return Env(make_app())


def assert_token_response(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 43
    return body


def assert_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert response.headers["cache-control"] == "no-store"
    return body


def claims_of(token: str) -> dict[str, Any]:
    key = jwt.PyJWK(jwks()["keys"][0]).key
    return jwt.decode(token, key, algorithms=["RS256"], options={"verify_exp": False})


# --- grants ------------------------------------------------------------------------------


def test_password_grant_with_body_client_auth(env: Env) -> None:
    body = assert_token_response(env.token(password_form()))
    access = env.tokens.authenticate(body["access_token"], TI)
    assert (access.tenant, access.client_id, access.user) == (TI, CREDS.ci, "SIMUSER")
    assert access.service_account == CREDS.saak
    assert access.refresh == body["refresh_token"]


def test_password_grant_with_basic_client_auth(env: Env) -> None:
    form = password_form(client_id=None, client_secret=None)
    body = assert_token_response(env.token(form, headers=basic()))
    assert env.tokens.authenticate(body["access_token"], TI).client_id == CREDS.ci


def test_basic_with_rfc6749_form_encoded_credentials(env: Env) -> None:
    # HTML form encoding (what RFC 6749 means) escapes "~", which Python's quote_plus keeps.
    headers = basic(quote_plus(CREDS.ci).replace("~", "%7E"), quote_plus(CREDS.cs))
    assert "%7E" in base64.b64decode(headers["Authorization"][6:]).decode()
    form = password_form(client_id=None, client_secret=None)
    assert_token_response(env.token(form, headers=headers))


def test_basic_and_agreeing_body_credentials_are_fine(env: Env) -> None:
    assert_token_response(env.token(password_form(), headers=basic()))
    assert_token_response(env.token(password_form(client_secret=None), headers=basic()))


def test_exact_request_of_a_real_python_client(env: Env) -> None:
    """The bytes PY-CLIENT sends (reference 2.2): `#` as %23, an extra redirect_uri."""
    body = (
        f"grant_type=password&username={quote_plus(CREDS.saak)}&password={CREDS.sask}"
        f"&client_id={CREDS.ci}&client_secret={CREDS.cs}"
        "&redirect_uri=https%3A%2F%2Flocalhost%2F"
    )
    assert "%23" in body
    response = env.token(
        content=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_token_response(response)


@pytest.mark.parametrize("scope", ["", "openid profile"])
def test_extra_parameters_are_tolerated(env: Env, scope: str) -> None:
    form = password_form(scope=scope, redirect_uri="https://localhost/", foo="bar")
    body = assert_token_response(env.token(form))
    assert claims_of(body["access_token"])["scope"] == (scope or "null")


def test_parameters_in_the_query_string(env: Env) -> None:
    """The Java SDK README posts the parameters in the query string with Basic auth."""
    form = password_form(client_id=None, client_secret=None)
    assert_token_response(env.token(params=form, headers=basic()))


def test_body_wins_over_query_string(env: Env) -> None:
    good, bad = password_form(), password_form(password="wrong")
    assert_token_response(env.token(good, params=bad))
    assert_error(env.token(bad, params=good), 400, "invalid_grant")


def test_client_credentials_grant(env: Env) -> None:
    form = {"grant_type": "client_credentials", "client_id": CREDS.ci, "client_secret": CREDS.cs}
    body = assert_token_response(env.token(form))
    claims = claims_of(body["access_token"])
    assert claims["ServiceAccount"] == ""
    assert claims["client_id"] == CREDS.ci
    assert env.tokens.authenticate(body["access_token"], TI).service_account == ""
    basic_form = {"grant_type": "client_credentials"}
    assert_token_response(env.token(basic_form, headers=basic()))


def test_refresh_rotates_and_old_refresh_token_is_rejected(env: Env) -> None:
    first = env.login()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        # PY-CLIENT resends these on refresh; they must be ignored.
        "username": "ignored",
        "password": "ignored",
        "scope": "",
        "redirect_uri": "https://localhost/",
    }
    second = assert_token_response(env.token(form, headers=basic()))
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    # Rotation: the used refresh token is dead, the access token from before still works.
    body = assert_error(env.token(form, headers=basic()), 400, "invalid_grant")
    assert body["error_description"] == INVALID_GRANT
    env.tokens.authenticate(first["access_token"], TI)
    env.tokens.authenticate(second["access_token"], TI)
    third = env.token(dict(form, refresh_token=second["refresh_token"]), headers=basic())
    assert_token_response(third)


def test_refresh_token_of_another_tenant_is_invalid_grant(env: Env) -> None:
    other = default_credentials(OTHER)
    form = {"grant_type": "password", "username": other.saak, "password": other.sask}
    response = env.token(form, headers=basic(other.ci, other.cs), path=f"/{OTHER}/as/token.oauth2")
    refresh = assert_token_response(response)["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    assert_error(env.token(form, headers=basic()), 400, "invalid_grant")


def test_expired_access_and_refresh_tokens(env: Env) -> None:
    body = env.login()
    env.clock.advance(7201)
    with pytest.raises(GatewayError) as info:
        env.tokens.authenticate(body["access_token"], TI)
    assert info.value.status == 401 and info.value.message == "The access token has expired"
    env.clock.advance(28800 - 7200)
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert_error(env.token(form, headers=basic()), 400, "invalid_grant")


# --- revocation --------------------------------------------------------------------------


def test_revoking_the_refresh_token_revokes_its_access_tokens(env: Env) -> None:
    first = env.login()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = assert_token_response(env.token(form, headers=basic()))
    unrelated = env.login()
    response = env.request(
        "POST",
        REVOKE_PATH,
        data={"token": second["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic(),
    )
    assert response.status_code == 200 and response.content == b""
    for token in (first["access_token"], second["access_token"]):
        with pytest.raises(GatewayError) as info:
            env.tokens.authenticate(token, TI)
        assert info.value.status == 401
        assert info.value.message == "The access token was revoked"
        assert info.value.error == "invalid_token"
        assert 'error="invalid_token"' in info.value.headers["WWW-Authenticate"]
    form = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    assert_error(env.token(form, headers=basic()), 400, "invalid_grant")
    env.tokens.authenticate(unrelated["access_token"], TI)


def test_revoke_access_token_with_get_and_no_client_auth(env: Env) -> None:
    """The Go sample revokes with `GET {pu}{or}?token=...` and nothing else."""
    body = env.login()
    response = env.request("GET", REVOKE_PATH, params={"token": body["access_token"]})
    assert response.status_code == 200 and response.content == b""
    with pytest.raises(GatewayError, match="revoked"):
        env.tokens.authenticate(body["access_token"], TI)
    # Only that access token: the grant's refresh token still works.
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert_token_response(env.token(form, headers=basic()))


def test_revoke_unknown_token_is_200(env: Env) -> None:
    response = env.request("POST", REVOKE_PATH, data={"token": "nope"}, headers=basic())
    assert response.status_code == 200 and response.content == b""


def test_revoke_errors(env: Env) -> None:
    assert_error(env.request("POST", REVOKE_PATH, headers=basic()), 400, "invalid_request")
    body = env.login()
    bad = basic(cs="wrong")
    response = env.request("POST", REVOKE_PATH, data={"token": body["access_token"]}, headers=bad)
    assert_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Basic realm="ionsim"'
    form = {"token": body["access_token"], "client_id": "DEMO_TST~other"}
    assert_error(env.request("POST", REVOKE_PATH, data=form), 401, "invalid_client")
    path = "/NOPE_TST/as/revoke_token.oauth2"
    assert_error(env.request("GET", path, params={"token": "x"}), 401, "invalid_client")
    env.tokens.authenticate(body["access_token"], TI)


# --- errors ------------------------------------------------------------------------------

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def test_unknown_tenant_is_invalid_client(env: Env) -> None:
    response = env.token(password_form(), path="/NOPE_TST/as/token.oauth2")
    body = assert_error(response, 401, "invalid_client")
    assert body["error_description"] == INVALID_CLIENT
    assert "www-authenticate" not in response.headers


def test_another_tenants_client_is_invalid_client(env: Env) -> None:
    other = default_credentials(OTHER)
    response = env.token(password_form(), headers=basic(other.ci, other.cs))
    assert_error(response, 400, "invalid_request")  # body and Basic disagree
    form = password_form(client_id=None, client_secret=None)
    response = env.token(form, headers=basic(other.ci, other.cs))
    assert_error(response, 401, "invalid_client")


@pytest.mark.parametrize("use_basic", [False, True])
def test_bad_client_secret(env: Env, use_basic: bool) -> None:
    if use_basic:
        form = password_form(client_id=None, client_secret=None)
        response = env.token(form, headers=basic(cs=CREDS.cs[:-1] + "x"))
        assert response.headers["www-authenticate"] == 'Basic realm="ionsim"'
    else:
        response = env.token(password_form(client_secret="x" * 86))
        assert "www-authenticate" not in response.headers
    assert assert_error(response, 401, "invalid_client")["error_description"] == INVALID_CLIENT


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": None, "client_secret": None},
        {"client_secret": None},
        {"client_id": None},
        {"client_id": "DEMO_TST~unknown"},
        {"client_secret": "é€ non-ascii secret"},
    ],
)
def test_missing_or_wrong_client_auth(env: Env, form: dict[str, str | None]) -> None:
    assert_error(env.token(password_form(**form)), 401, "invalid_client")  # type: ignore[arg-type]


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic " + "bm9jb2xvbg==", "Basic"])
def test_malformed_basic_header(env: Env, header: str) -> None:
    form = password_form(client_id=None, client_secret=None)
    response = env.token(form, headers={"Authorization": header})
    assert_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Basic realm="ionsim"'


def test_body_and_basic_disagree(env: Env) -> None:
    form = password_form(client_secret="not-the-basic-secret")
    assert_error(env.token(form, headers=basic()), 400, "invalid_request")


@pytest.mark.parametrize(
    "over",
    [{"username": "DEMO_TST#wrong"}, {"password": "wrong"}, {"password": ""}],
)
def test_bad_service_account_is_invalid_grant(env: Env, over: dict[str, str]) -> None:
    body = assert_error(env.token(password_form(**over)), 400, "invalid_grant")
    assert body["error_description"] == INVALID_GRANT


def test_bad_refresh_token_is_invalid_grant(env: Env) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "made-up"}
    assert_error(env.token(form, headers=basic()), 400, "invalid_grant")


@pytest.mark.parametrize("grant", ["authorization_code", "implicit", "PASSWORD", "x" * 500])
def test_unsupported_grant_type(env: Env, grant: str) -> None:
    response = env.token(password_form(grant_type=grant))
    body = assert_error(response, 400, "unsupported_grant_type")
    assert len(body["error_description"]) < 200


@pytest.mark.parametrize(
    ("form", "missing"),
    [
        (password_form(grant_type=None), "grant_type"),
        (password_form(grant_type=""), "grant_type"),
        (password_form(username=None), "username"),
        (password_form(password=None), "password"),
        ({"grant_type": "refresh_token"}, "refresh_token"),
        ({"grant_type": "refresh_token", "refresh_token": ""}, "refresh_token"),
    ],
)
def test_missing_parameter_is_invalid_request(env: Env, form: dict, missing: str) -> None:
    response = env.token(form, headers=basic())
    body = assert_error(response, 400, "invalid_request")
    assert missing in body["error_description"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"grant_type": "password"}', "application/json"),
        (json.dumps(password_form()).encode(), "application/json"),
        (b'{"grant_type": "password"}', None),
        (bytes(range(256)), "application/octet-stream"),
        (bytes(range(256)), None),
        (b"grant_type=password&username=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"grant_type=password&username=%ff%fe", "application/x-www-form-urlencoded"),
        (b"grant_type=password&grant_type=client_credentials", None),
        (b"a=b&" * 20_000, "application/x-www-form-urlencoded"),
        (b"&".join([b"k=v"] * 500), "application/x-www-form-urlencoded"),
    ],
)
def test_body_that_is_not_form_data(env: Env, content: bytes, content_type: str | None) -> None:
    headers = basic()
    if content_type:
        headers["Content-Type"] = content_type
    assert_error(env.token(content=content, headers=headers), 400, "invalid_request")


def test_body_over_64_kib_without_content_length(env: Env) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"scope=" + b"x" * 4096 + b"&"

    response = env.token(content=chunks(), headers=basic() | FORM_HEADERS)
    body = assert_error(response, 400, "invalid_request")
    assert "65536" in body["error_description"]


# --- tokens ------------------------------------------------------------------------------


def test_access_token_is_an_rs256_jwt_with_infor_claims(env: Env) -> None:
    body = env.login()
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert list(header) == ["alg", "kid"]
    assert header["alg"] == "RS256"
    assert re.fullmatch(r"InforAccessTokenSigningCertificate-\d+", header["kid"])
    assert jwks()["keys"][0]["kid"] == header["kid"]
    claims = claims_of(token)
    assert list(claims) == [
        "scope",
        "client_id",
        "jti",
        "ServiceAccount",
        "Identity2",
        "Tenant",
        "EnforceScopesForClient",
        "exp",
        "iat",
    ]
    assert claims["scope"] == "null"
    assert claims["client_id"] == CREDS.ci
    assert re.fullmatch(r"[A-Za-z0-9]{36}", claims["jti"])
    assert claims["ServiceAccount"] == CREDS.saak
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", claims["Identity2"]
    )
    assert claims["Tenant"] == TI
    assert claims["EnforceScopesForClient"] == "0"
    now = int(env.clock.now())
    assert (claims["iat"], claims["exp"]) == (now, now + 7200)
    assert env.tokens.authenticate(token, TI).jti == claims["jti"]
    with pytest.raises(jwt.InvalidSignatureError):
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        claims_of(tampered)


def test_authenticate_messages(env: Env) -> None:
    body = env.login()
    cases = [
        ("garbage", TI, "Invalid access token"),
        (body["refresh_token"], TI, "Invalid access token"),
        (body["access_token"], OTHER, f"The access token is not valid for tenant {OTHER}"),
    ]
    for token, tenant, message in cases:
        with pytest.raises(GatewayError) as info:
            env.tokens.authenticate(token, tenant)
        assert (info.value.status, info.value.error, info.value.message) == (
            401,
            "invalid_token",
            message,
        )
        assert info.value.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_www_authenticate_header_stays_a_valid_header(env: Env) -> None:
    env.login()
    with pytest.raises(GatewayError) as info:
        env.tokens.authenticate(env.login()["access_token"], 'EVIL"\r\nX-Injected: 1é')
    header = info.value.headers["WWW-Authenticate"]
    header.encode("ascii")
    assert "\r" not in header and "\n" not in header and header.count('"') == 4


def test_fifty_concurrent_token_requests(env: Env) -> None:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ionsim") as client:
            return await asyncio.gather(
                *(client.post(TOKEN_PATH, data=password_form()) for _ in range(50))
            )

    responses = asyncio.run(run())
    bodies = [assert_token_response(r) for r in responses]
    assert len({b["access_token"] for b in bodies}) == 50
    assert len({b["refresh_token"] for b in bodies}) == 50
    assert len({claims_of(b["access_token"])["jti"] for b in bodies}) == 50


# --- robustness --------------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(
    [
        "grant_type",
        "username",
        "password",
        "client_id",
        "client_secret",
        "refresh_token",
        "scope",
        "redirect_uri",
        "token",
    ]
)
GOOD_VALUES = ["password", "client_credentials", "refresh_token", CREDS.ci, CREDS.cs, ""]
GOOD_VALUES += [CREDS.saak, CREDS.sask]
FIELD_VALUES = st.one_of(
    st.sampled_from(GOOD_VALUES),
    st.text(max_size=40),
)
# httpx refuses non-ASCII str headers; latin-1 bytes go through, as they would on the wire.
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60).map(
    lambda s: s.encode("latin-1")
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    content=st.binary(max_size=300),
    content_type=st.sampled_from(
        [None, "application/x-www-form-urlencoded", "application/json", "text/plain", "x/y;;"]
    ),
    authorization=st.one_of(st.none(), HEADER_TEXT, HEADER_TEXT.map(lambda b: b"Basic " + b)),
    method=st.sampled_from(["POST", "GET"]),
)
def test_arbitrary_bytes_never_5xx(
    env: Env, content: bytes, content_type: str | None, authorization: bytes | None, method: str
) -> None:
    headers: dict[str, Any] = {}
    if content_type:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    path = TOKEN_PATH if method == "POST" else REVOKE_PATH
    response = env.request(method, path, content=content, headers=headers)
    assert response.status_code < 500
    if response.status_code != 200:
        assert response.json()["error"]


@FUZZ
@given(
    form=st.dictionaries(st.one_of(FIELD_NAMES, st.text(max_size=10)), FIELD_VALUES, max_size=8),
    query=st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=3),
    use_basic=st.booleans(),
    revoke=st.booleans(),
    tenant=st.sampled_from([TI, OTHER, "NOPE", "%20", "é"]),
)
def test_arbitrary_form_fields_never_5xx(
    env: Env, form: dict, query: dict, use_basic: bool, revoke: bool, tenant: str
) -> None:
    path = f"/{tenant}/as/{'revoke_token' if revoke else 'token'}.oauth2"
    headers = basic() if use_basic else {}
    response = env.request("POST", path, data=form, params=query, headers=headers)
    assert response.status_code < 500
    if response.status_code != 200:
        assert response.json()["error"] in {
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unsupported_grant_type",
        }


# --- a generic OAuth2 client, over a real socket -----------------------------------------


@pytest.fixture
def live_server() -> Iterator[tuple[str, Env]]:
    import uvicorn

    app = make_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # Listening before the server thread starts: early connections wait in the backlog.
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        host, port = sock.getsockname()
        yield f"http://{host}:{port}", Env(app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive()


def test_requests_oauthlib_legacy_application_client(
    live_server: tuple[str, Env], monkeypatch: pytest.MonkeyPatch
) -> None:
    from oauthlib.oauth2 import LegacyApplicationClient
    from requests_oauthlib import OAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
    base, env = live_server
    token_url = f"{base}/{TI}/as/token.oauth2"
    session = OAuth2Session(client=LegacyApplicationClient(client_id=CREDS.ci))
    with session:
        token = session.fetch_token(
            token_url, username=CREDS.saak, password=CREDS.sask, client_secret=CREDS.cs
        )
        assert token["token_type"] == "Bearer" and token["expires_in"] == 7200
        env.tokens.authenticate(token["access_token"], TI)
        refreshed = session.refresh_token(token_url, client_id=CREDS.ci, client_secret=CREDS.cs)
        assert refreshed["access_token"] != token["access_token"]
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert session.token["access_token"] == refreshed["access_token"]
        env.tokens.authenticate(refreshed["access_token"], TI)
        with pytest.raises(Exception, match="invalid_grant"):
            session.refresh_token(
                token_url,
                refresh_token=token["refresh_token"],
                client_id=CREDS.ci,
                client_secret=CREDS.cs,
            )


# --- TokenService ------------------------------------------------------------------------


@pytest.fixture
def service() -> TokenService:
    return TokenService(ManualClock(), lifetime=100, refresh_lifetime=1000, grace=50)


def test_service_lifetimes(service: TokenService) -> None:
    body = service.issue(TI, CREDS.ci, "U", CREDS.saak)
    assert body["expires_in"] == 100
    service.clock.advance(99)
    service.authenticate(body["access_token"], TI)
    service.clock.advance(1)
    with pytest.raises(GatewayError, match="expired"):
        service.authenticate(body["access_token"], TI)
    assert service.refresh(TI, CREDS.ci, body["refresh_token"])["expires_in"] == 100


def test_service_without_refresh_token(service: TokenService) -> None:
    body = service.issue(TI, CREDS.ci, "U", refresh=False)
    assert "refresh_token" not in body
    assert service.authenticate(body["access_token"], TI).refresh is None


def test_service_refresh_checks_client_and_tenant(service: TokenService) -> None:
    body = service.issue(TI, CREDS.ci, "U")
    for tenant, client in [(TI, "DEMO_TST~other"), (OTHER, CREDS.ci)]:
        with pytest.raises(OAuthError) as info:
            service.refresh(tenant, client, body["refresh_token"])
        assert (info.value.status, info.value.error) == (400, "invalid_grant")
    service.refresh(TI, CREDS.ci, body["refresh_token"])


def test_revoking_a_rotated_refresh_token_ends_the_grant(service: TokenService) -> None:
    first = service.issue(TI, CREDS.ci, "U")
    second = service.refresh(TI, CREDS.ci, first["refresh_token"])
    third = service.refresh(TI, CREDS.ci, second["refresh_token"])
    service.revoke(TI, CREDS.ci, first["refresh_token"])
    for body in (first, second, third):
        with pytest.raises(GatewayError, match="revoked"):
            service.authenticate(body["access_token"], TI)
    with pytest.raises(OAuthError):
        service.refresh(TI, CREDS.ci, third["refresh_token"])


def test_revoke_by_another_client_or_tenant_is_ignored(service: TokenService) -> None:
    body = service.issue(TI, CREDS.ci, "U")
    service.revoke(TI, "DEMO_TST~other", body["access_token"])
    service.revoke(OTHER, CREDS.ci, body["refresh_token"])
    service.revoke(TI, CREDS.ci, "unknown")
    service.authenticate(body["access_token"], TI)
    service.refresh(TI, CREDS.ci, body["refresh_token"])


def test_expire_by_token_jti_or_refresh_token(service: TokenService) -> None:
    a, b = service.issue(TI, CREDS.ci, "U"), service.issue(TI, CREDS.ci, "U")
    service.expire(a["access_token"])
    service.expire(service.authenticate(b["access_token"], TI).jti)
    for body in (a, b):
        with pytest.raises(GatewayError, match="expired"):
            service.authenticate(body["access_token"], TI)
    service.expire(a["refresh_token"])
    with pytest.raises(OAuthError):
        service.refresh(TI, CREDS.ci, a["refresh_token"])
    service.expire("unknown")
    service.refresh(TI, CREDS.ci, b["refresh_token"])


def test_revoke_all(service: TokenService) -> None:
    mine, other = service.issue(TI, CREDS.ci, "U"), service.issue(OTHER, "OTHER_TST~x", "U")
    service.revoke_all(TI)
    with pytest.raises(GatewayError, match="revoked"):
        service.authenticate(mine["access_token"], TI)
    with pytest.raises(OAuthError):
        service.refresh(TI, CREDS.ci, mine["refresh_token"])
    service.authenticate(other["access_token"], OTHER)


def test_purge_keeps_recent_records_and_drops_old_ones(service: TokenService) -> None:
    body = service.issue(TI, CREDS.ci, "U")
    service.clock.advance(100 + 49)
    service.purge()
    with pytest.raises(GatewayError, match="expired"):
        service.authenticate(body["access_token"], TI)
    service.clock.advance(2)
    service.purge()
    with pytest.raises(GatewayError, match="Invalid access token"):
        service.authenticate(body["access_token"], TI)
    service.refresh(TI, CREDS.ci, body["refresh_token"])  # refresh tokens live longer
    service.clock.advance(1000 + 50)
    service.purge()
    assert len(service) == 0


def test_memory_stays_bounded_under_a_long_run(service: TokenService) -> None:
    """Issuing alone triggers purges: size stays near issue rate x (lifetime + grace)."""
    sizes = []
    for i in range(6000):
        service.issue(TI, CREDS.ci, "U", refresh=i % 2 == 0)
        service.clock.advance(1)
        sizes.append(len(service))
    # Live window: 150 s of access tokens, 1050 s of refresh tokens (one every 2 s).
    assert max(sizes) < 2 * (150 + 1050 // 2) + 1000


# --- the real app, once it is there ------------------------------------------------------


def test_through_create_app() -> None:
    try:
        from simulator import create_app
        from simulator.config import load_config
    except ImportError:
        pytest.skip("simulator.create_app is not there yet")
    app = create_app(load_config(env={}))
    env = Env(app)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ionsim") as client:
            doc = (await client.get(f"/_sim/tenants/{TI}/ionapi")).json()
            assert doc["pu"].endswith(f"/{TI}/as/")
            form = {"grant_type": "password", "username": doc["saak"], "password": doc["sask"]}
            response = await client.post(TOKEN_PATH, data=form, auth=(doc["ci"], doc["cs"]))
            body = assert_token_response(response)
            env.tokens.authenticate(body["access_token"], TI)
            response = await client.post(REVOKE_PATH, data={"token": body["refresh_token"]})
            assert response.status_code == 200

    asyncio.run(run())
