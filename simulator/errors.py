"""The error tree of ionsim.

Every error carries the data its wire form needs and is encoded in exactly one place:

    IonsimError
    ├── MIError            business NOK of an MI transaction -> m3/wire.py (HTTP 200, M3 shape)
    │   └── NotSimulated   a real program/transaction the simulator has no behaviour for
    ├── GatewayError       401/403/404/405/429/5xx from the API gateway -> gateway/responses.py
    ├── OAuthError         RFC 6749 token-endpoint errors -> gateway/oauth.py
    ├── RequestError       bad input to a /_sim/ control route -> admin (HTTP 4xx JSON)
    ├── ContractError      a bad contract or definition file, raised at start-up
    └── ConfigError        a bad configuration, raised at start-up

Start-up errors name the file, the place in it and the reason, so `ionsim serve` can print one
clear line and exit non-zero instead of failing later with a 500.
"""

from __future__ import annotations


class IonsimError(Exception):
    """Base class of every error ionsim raises on purpose."""


class MIError(IonsimError):
    """An MI transaction answered NOK, as M3 would: HTTP 200 with the error in the body."""

    def __init__(
        self,
        message: str,
        code: str = "",
        field: str = "",
        *,
        type: str = "ServerReturnedNOK",
        cfg: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.type = type
        self.cfg = cfg

    def __repr__(self) -> str:
        return f"MIError({self.type}, code={self.code!r}, field={self.field!r}, {self.message!r})"


class NotSimulated(MIError):
    """The program or transaction exists in M3 but ionsim has no behaviour for it.

    Kept distinct from "does not exist" so a test never mistakes a gap in the simulator for an
    M3 answer, and never gets a fake success.
    """

    def __init__(self, program: str, transaction: str = "") -> None:
        what = f"{program}/{transaction}" if transaction else program
        super().__init__(
            f"{what} is not simulated by ionsim (configure canned records or a handler)",
            code="CPF9898",
            type="ServerReturnedNOK",
        )
        self.program = program
        self.transaction = transaction


class GatewayError(IonsimError):
    """An answer of the ION API Gateway itself (not of M3)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error
        self.headers = headers or {}


class OAuthError(IonsimError):
    """An RFC 6749 section 5.2 error from the authorization server."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class RequestError(IonsimError):
    """Bad input to a test-control route: answered 4xx with a message, never 500."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ContractError(IonsimError):
    """A contract or definition file is invalid. Raised at start-up, never at request time."""

    def __init__(self, file: str, pointer: str, reason: str) -> None:
        super().__init__(f"{file}: {pointer or '/'}: {reason}")
        self.file = file
        self.pointer = pointer
        self.reason = reason


class ConfigError(IonsimError):
    """The configuration is invalid (file, environment or flags)."""
