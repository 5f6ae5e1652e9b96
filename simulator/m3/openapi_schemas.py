"""The component schemas of the gateway's bodies: MI results, bulk requests and OAuth.

They are the same for every catalog (only BulkRequest's program enum comes from it), so they
live apart from the operations generated per transaction. They follow the wire format in
`wire.py`, misspelt `nrOfSuccessfullTransactions` included, because clients are written to it.
"""

from __future__ import annotations

from typing import Any

from simulator.m3.definitions import Catalog

_STR: dict[str, Any] = {"type": "string"}
_MI_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["transaction", "records"],
    "properties": {
        "transaction": _STR,
        "parameters": {"type": "object", "additionalProperties": _STR},
        "errorMessage": _STR,
        "errorType": _STR,
        "errorCode": _STR,
        "errorField": _STR,
        "errorCfg": _STR,
        "notProcessed": {"type": "boolean"},
        "records": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": _STR},
        },
    },
}
_MI_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": [
        "results",
        "wasTerminated",
        "nrOfSuccessfullTransactions",
        "nrOfFailedTransactions",
    ],
    "properties": {
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/MIResult"}},
        "wasTerminated": {"type": "boolean"},
        "terminationReason": _STR,
        "terminationErrorType": _STR,
        "nrOfSuccessfullTransactions": {"type": "integer", "description": "sic: Successfull"},
        "nrOfNotProcessedTransactions": {"type": "integer"},
        "nrOfFailedTransactions": {"type": "integer"},
        "bulkJobId": _STR,
    },
}
_TOKEN_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"enum": ["password", "refresh_token", "client_credentials"]},
        "username": _STR,
        "password": _STR,
        "refresh_token": _STR,
        "client_id": _STR,
        "client_secret": _STR,
        "scope": _STR,
        "redirect_uri": _STR,
    },
}
_TOKEN_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": _STR,
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "refresh_token": _STR,
        "scope": _STR,
    },
}
_OAUTH_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": _STR, "error_description": _STR},
}


def _bulk_request(catalog: Catalog) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["program", "transactions"],
        "properties": {
            "program": {"type": "string", "enum": sorted(catalog.programs)},
            "cono": {"type": ["string", "integer"]},
            "divi": _STR,
            "transactions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["transaction"],
                    "properties": {
                        "transaction": _STR,
                        "record": {"type": "object", "additionalProperties": _STR},
                        "selectedColumns": {"type": "array", "items": _STR},
                    },
                },
            },
        },
    }


def component_schemas(catalog: Catalog) -> dict[str, Any]:
    """The `components.schemas` the gateway's operations refer to, by name."""
    return {
        "MIResult": _MI_RESULT,
        "MIResponse": _MI_RESPONSE,
        "BulkRequest": _bulk_request(catalog),
        "TokenRequest": _TOKEN_REQUEST,
        "TokenResponse": _TOKEN_RESPONSE,
        "OAuthError": _OAUTH_ERROR,
    }
