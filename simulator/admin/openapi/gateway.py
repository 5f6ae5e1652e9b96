"""Paths of the gateway routes beyond the MI v2 operations: OAuth revoke, MI v1, metadata, IMS."""

from __future__ import annotations

import copy
from typing import Any

from simulator.admin.openapi._parts import (
    _IMS,
    _JSON,
    _OBJ,
    _STR,
    _T,
    _arr,
    _body,
    _gateway_errors,
    _json_response,
    _obj,
    _ok,
    _op,
    _path_param,
    _query,
    _ref,
)


def _gateway_paths() -> dict[str, dict[str, Any]]:
    """Gateway routes beyond MI v2: revoke, MI v1, metadata, ION messaging (IMS)."""
    auth = _gateway_errors(401, 429, 503)
    program = _path_param("program", "MI program, e.g. CRS610MI")
    ims_ok = {"200": _json_response("OK", _ref("ImsResult"))}
    ims_fail = {
        str(s): _json_response(d, _ref("ImsResult"))
        for s, d in (
            (400, "Malformed message"),
            (403, "fromLogicalId is not the tenant's connection point"),
            (412, "Connection point inactive or document not accepted"),
        )
    }
    multipart = _body(
        _obj(
            {
                "ParameterRequest": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": '{"documentName", "fromLogicalId", "toLogicalId", '
                    '"encoding": "NONE"|"DEFLATE", "characterSet", "messageId"?}',
                },
                "MessagePayload": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                },
            },
            ["ParameterRequest", "MessagePayload"],
        ),
        media="multipart/form-data",
    )
    revoke = _op(
        "revokeToken",
        "Revoke a token (a refresh token kills its access tokens too)",
        {"200": {"description": "Revoked (also for unknown tokens, RFC 7009)"}},
        tag="oauth2",
        params=[_T],
        body=_body(
            _obj(
                {"token": _STR, "token_type_hint": _STR, "client_id": _STR, "client_secret": _STR}
            ),
            required=False,
            media="application/x-www-form-urlencoded",
        ),
        errors={
            "400": _json_response("invalid_request", _ref("OAuthError")),
            "401": _json_response("invalid_client", _ref("OAuthError")),
        },
    )
    revoke_get = copy.deepcopy(revoke)
    revoke_get["operationId"] = "revokeTokenQuery"
    del revoke_get["requestBody"]
    revoke_get["parameters"] = [_T, _query("token", "The token to revoke")]
    return {
        "/{tenant}/as/revoke_token.oauth2": {"post": revoke, "get": revoke_get},
        "/{tenant}/M3/m3api-rest/execute/{call}": {
            "get": _op(
                "executeV1",
                "MI v1: PROGRAM/TRANSACTION with matrix parameters (;maxrecs=10)",
                {
                    "200": {
                        "description": "MIRecords (XML by default, JSON on Accept)",
                        "content": {"application/xml": {"schema": _STR}, _JSON: {"schema": _OBJ}},
                    }
                },
                tag="MI v1",
                params=[
                    _T,
                    _path_param(
                        "call",
                        "PROGRAM/TRANSACTION",
                        {"type": "string", "pattern": "^[A-Z0-9]{3,10}/[A-Za-z0-9]{1,15}$"},
                    ),
                ],
                errors={**auth, **_gateway_errors(404)},
                public=False,
            )
        },
        "/{tenant}/M3/m3api-rest/metadata": {
            "get": _op(
                "metadataPrograms",
                "MI programs",
                _ok("MetadataPrograms"),
                tag="metadata",
                params=[_T],
                errors=auth,
                public=False,
            )
        },
        "/{tenant}/M3/m3api-rest/metadata/{program}": {
            "get": _op(
                "metadataProgram",
                "One program's transactions and fields",
                _ok("MetadataProgram"),
                tag="metadata",
                params=[_T, program],
                errors={**auth, **_gateway_errors(404)},
                public=False,
            )
        },
        "/{tenant}/M3/m3api-rest/v2/metadata/{program}": {
            "get": _op(
                "metadataProgramV2",
                "One program's transactions and fields (v2 path)",
                _ok("MetadataProgram"),
                tag="metadata",
                params=[_T, program],
                errors={**auth, **_gateway_errors(404)},
                public=False,
            )
        },
        f"{_IMS}/ping": {
            "get": _op(
                "imsPing",
                "IMS is up",
                ims_ok,
                tag="ION messaging",
                params=[_T],
                errors=auth,
                public=False,
            )
        },
        f"{_IMS}/versions": {
            "get": _op(
                "imsVersions",
                "IMS API versions",
                {"200": _json_response("OK", _obj({"versions": _arr(_STR)}, ["versions"]))},
                tag="ION messaging",
                params=[_T],
                errors=auth,
                public=False,
            )
        },
        f"{_IMS}/v2/multipartMessage": {
            "post": _op(
                "imsSendV2",
                "Send a BOD to ION (v2: 201, every problem 412)",
                {"201": _json_response("Accepted", _ref("ImsResult"))},
                tag="ION messaging",
                params=[_T],
                body=multipart,
                errors={**auth, **{k: v for k, v in ims_fail.items() if k in ("403", "412")}},
                public=False,
            )
        },
        f"{_IMS}/v3/multipartMessage": {
            "post": _op(
                "imsSendV3",
                "Send a BOD to ION (v3: 202)",
                {"202": _json_response("Accepted", _ref("ImsResult"))},
                tag="ION messaging",
                params=[_T],
                body=multipart,
                errors={**auth, **ims_fail},
                public=False,
            )
        },
        f"{_IMS}/v3/message/multipart": {
            "post": _op(
                "imsSendV3Alias",
                "Send a BOD to ION (v3 alias path)",
                {"202": _json_response("Accepted", _ref("ImsResult"))},
                tag="ION messaging",
                params=[_T],
                body=multipart,
                errors={**auth, **ims_fail},
                public=False,
            )
        },
        f"{_IMS}/v3/{{lid}}/acceptedDocuments": {
            "get": _op(
                "imsAcceptedDocuments",
                "Documents the connection point accepts",
                ims_ok,
                tag="ION messaging",
                params=[_T, _path_param("lid", "Logical id, e.g. lid://infor.ionsim.demo_tst")],
                errors={**auth, **ims_fail},
                public=False,
            )
        },
    }
