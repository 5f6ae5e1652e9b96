"""Gateway error bodies, in one place.

Infor documents the statuses (401, 404, 405, 429, 504) but not the bodies; ionsim answers a
small JSON object `{"status", "error", "message"}` and, for 401, `WWW-Authenticate: Bearer`,
and for 429, `Retry-After` (both assumptions, per the reference).
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

from simulator.errors import GatewayError

JSON = "application/json; charset=UTF-8"
_ERRORS = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type=JSON)


def error_body(exc: GatewayError) -> bytes:
    return orjson.dumps(
        {
            "status": exc.status,
            "error": exc.error or _ERRORS.get(exc.status, "error"),
            "message": exc.message,
        }
    )


def internal_error_body(method: str, path: str, exc: Exception) -> bytes:
    """Last resort: a bug in ionsim still answers JSON that says so, with the request path."""
    return orjson.dumps(
        {
            "status": 500,
            "error": "internal_error",
            "message": f"ionsim bug on {method} {path}: {type(exc).__name__}: {exc}",
        }
    )


def gateway_error(exc: GatewayError) -> Response:
    return Response(error_body(exc), exc.status, headers=exc.headers, media_type=JSON)
