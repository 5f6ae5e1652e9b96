"""A small synchronous M3 MI client driven by a `.ionapi` file, for tests and connectors.

It does what a well-behaved production client does, so tests written with it exercise the
same paths a real integration takes: password grant with the client credentials in the body,
one token refresh when the gateway answers 401 (expired or revoked token), bounded retries
that honour `Retry-After` on 429, and NOKs raised as `simulator.errors.MIError` with M3's
code, field and type. It works against ionsim or a real tenant alike: only the file differs.

`sleep` is injectable so tests of the 429 path take no wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.errors import MIError
from simulator.gateway.ionapi import read_ionapi

if TYPE_CHECKING:
    import httpx

__all__ = ["GatewayHTTPError", "M3Client", "raise_for_nok"]

MI_PATH = "/M3/m3api-rest/v2/execute"


class GatewayHTTPError(Exception):
    """The gateway answered a non-200 status the client could not recover from."""

    def __init__(self, status: int, body: str, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}: {body[:300]}")
        self.status = status
        self.body = body
        self.url = url


def raise_for_nok(result: Mapping[str, Any], program: str = "") -> None:
    """Raises MIError when a v2 result carries an error (M3 answers NOKs with HTTP 200)."""
    if "errorMessage" not in result:
        return
    where = f"{program}/{result.get('transaction', '')}" if program else result.get("transaction")
    message = str(result.get("errorMessage", "")).rstrip()
    raise MIError(
        f"{where}: {message}" if where else message,
        code=str(result.get("errorCode") or ""),
        field=str(result.get("errorField") or ""),
        type=str(result.get("errorType") or "ServerReturnedNOK"),
        cfg=str(result.get("errorCfg") or ""),
    )


class M3Client:
    """MI calls for one tenant: `execute`, `execute_raw`, `bulk`; a context manager.

    `transport` (an httpx transport) lets tests route calls in process; `http` replaces the
    whole httpx.Client. `max_retries` bounds 429 retries; `max_retry_after` caps one wait, so
    a misconfigured throttle cannot stall a test suite for an hour.
    """

    def __init__(
        self,
        ionapi: Mapping[str, Any],
        *,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 5,
        max_retry_after: float = 60.0,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        self.ionapi = read_ionapi(ionapi)
        self.tenant = self.ionapi["ti"]
        self.base_url = self.ionapi.get("iu", "").rstrip("/")
        self.token_url = self.ionapi["pu"] + self.ionapi["ot"]
        self.sleep = sleep
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self._own_http = http is None
        self.http = http or httpx.Client(transport=transport, timeout=timeout)
        self._token: str | None = None
        self.token_fetches = 0
        self.retries_429 = 0

    @classmethod
    def from_ionapi(
        cls,
        source: str | Path | Mapping[str, Any],
        transport: httpx.BaseTransport | None = None,
        **kwargs: Any,
    ) -> M3Client:
        """A client from a `.ionapi` path, its JSON text or its parsed mapping."""
        return cls(read_ionapi(source), transport=transport, **kwargs)

    # ---- token ----

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.fetch_token()
        return self._token

    def fetch_token(self) -> str:
        """Password grant for the service account, client credentials in the form body."""
        ion = self.ionapi
        r = self._send(
            "POST",
            self.token_url,
            data={
                "grant_type": "password",
                "username": ion["saak"],
                "password": ion["sask"],
                "client_id": ion["ci"],
                "client_secret": ion["cs"],
            },
        )
        if r.status_code != 200:
            raise GatewayHTTPError(r.status_code, r.text, self.token_url)
        self.token_fetches += 1
        return str(r.json()["access_token"])

    # ---- MI ----

    def execute_raw(
        self, program: str, transaction: str, *, maxrecs: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """The v2 result of one transaction (records, or the error keys), never raising a NOK."""
        params = {k: str(v) for k, v in fields.items() if v is not None}
        if maxrecs is not None:
            params["maxrecs"] = str(maxrecs)
        url = f"{self.base_url}/{self.tenant}{MI_PATH}/{program}/{transaction}"
        body = self._call("GET", url, params=params)
        return dict(body["results"][0])

    def execute(
        self, program: str, transaction: str, *, maxrecs: int | None = None, **fields: Any
    ) -> list[dict[str, str]]:
        """The records of one transaction; a NOK raises MIError (code, field, type)."""
        result = self.execute_raw(program, transaction, maxrecs=maxrecs, **fields)
        raise_for_nok(result, program)
        return list(result.get("records", []))

    def bulk(
        self,
        program: str,
        calls: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        raise_on_nok: bool = False,
        **params: Any,
    ) -> list[dict[str, Any]]:
        """One v2 bulk request: a result per (transaction, record), in order.

        NOKs stay in the results unless `raise_on_nok`, as M3 goes on after a failed one.
        """
        body = {
            "program": program,
            "transactions": [
                {"transaction": t, "record": {k: str(v) for k, v in rec.items()}}
                for t, rec in calls
            ],
        }
        url = f"{self.base_url}/{self.tenant}{MI_PATH}"
        answer = self._call("POST", url, json=body, params={k: str(v) for k, v in params.items()})
        results = [dict(r) for r in answer["results"]]
        if raise_on_nok:
            for r in results:
                raise_for_nok(r, program)
        return results

    # ---- transport ----

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One authenticated request: refresh once on 401, retry 429 per Retry-After."""
        refreshed = False
        while True:
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
            r = self._send(method, url, headers=headers, **kwargs)
            if r.status_code == 401 and not refreshed:
                refreshed = True
                self._token = None
                continue
            if r.status_code != 200:
                raise GatewayHTTPError(r.status_code, r.text, url)
            return dict(r.json())

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            r = self.http.request(method, url, **kwargs)
            if r.status_code != 429 or attempt >= self.max_retries:
                return r
            attempt += 1
            self.retries_429 += 1
            self.sleep(self._retry_after(r, attempt))

    def _retry_after(self, r: httpx.Response, attempt: int) -> float:
        raw = r.headers.get("Retry-After", "")
        try:
            wait = float(raw)
        except ValueError:
            wait = min(2.0**attempt, 30.0)  # no usable header: exponential back-off
        return max(0.0, min(wait, self.max_retry_after))

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> M3Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"M3Client(tenant={self.tenant!r}, url={self.base_url!r})"
