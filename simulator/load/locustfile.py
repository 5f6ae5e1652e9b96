"""Locust scenarios for ionsim: M3 MI traffic through the gateway, and ION event storms.

Run it as its own process (Locust is gevent, ionsim is asyncio):

    locust -f "$(python -c 'import simulator.load as l; print(l.LOCUSTFILE)')" \\
        --headless -u 20 -r 10 -t 30s --host http://127.0.0.1:8080

Options (also as environment variables):
  --ionapi FILE         credentials (`IONSIM_IONAPI`); default: fetched from the host's
                        `/_sim/tenants/<tenant>/ionapi`
  --tenant TI           tenant whose `.ionapi` is fetched (`IONSIM_TENANT`, default DEMO_TST)
  --consumer-url URL    where storm users POST events (`IONSIM_CONSUMER_URL`); without it
                        only MI users run
  --consumer-secret S   sign storm events like ionsim's webhooks (`X-Ionsim-Signature`)

`MIUser` behaves like a well-written integration: one token per user from the `.ionapi`,
renewed before it expires and after a 401; a 429 or 503 is not a failure but a request to
wait `Retry-After` seconds, which it does (recorded as `throttled <status>` entries so a
report shows how often). MI business errors (HTTP 200 with `errorMessage`) are failures only
where the transaction should succeed on the demo data; the order flow may run out of stock,
which is recorded as `MI NOK <code>` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import random
import time
from typing import Any

import orjson
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser

from simulator.load.client import Ionapi, TokenKeeper, load_ionapi, retry_after_seconds
from simulator.load.events import EventFactory

API = "/{ti}/M3/m3api-rest/v2/execute"
CUSTOMERS = ["C10001", "C10002", "C10003", "C10004"]  # demo seed; C10004 is blocked (90)
ITEMS = ["TENT-2P", "BOOT-42", "JACKET-M", "SLBAG-3S", "BACKP-45", "HLAMP-300", "BOTTLE-1L"]
ORDER_ITEMS = ["HLAMP-300", "BOTTLE-1L", "BOOT-42", "TENT-2P"]
MAX_THROTTLE_WAITS = 5  # a call gives up after this many 429/503 answers in a row
_seeds = itertools.count(1)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    env = os.environ.get
    parser.add_argument("--ionapi", default=env("IONSIM_IONAPI", ""), help=".ionapi file")
    parser.add_argument("--tenant", default=env("IONSIM_TENANT", "DEMO_TST"), help="tenant id")
    parser.add_argument(
        "--consumer-url",
        default=env("IONSIM_CONSUMER_URL", ""),
        help="URL storm users POST events to; without it only MI users run",
    )
    parser.add_argument(
        "--consumer-secret",
        default=env("IONSIM_CONSUMER_SECRET", ""),
        help="HMAC-SHA256 secret for X-Ionsim-Signature on storm events",
    )


@events.init.add_listener
def _drop_storm_without_consumer(environment: Environment, **_: Any) -> None:
    """Storm users need somewhere to send; without a consumer they are not started at all.

    Not on a worker: its options arrive from the master with each spawn, and the master (which
    dispatches users) has already left storm users out when it has no consumer.
    """
    opts = environment.parsed_options
    if opts is None or getattr(opts, "worker", False):
        return
    if not getattr(opts, "consumer_url", ""):
        environment.user_classes[:] = [
            u for u in environment.user_classes if u.__name__ != "EventStormUser"
        ] or environment.user_classes


class MIUser(HttpUser):
    """An integration calling M3 through the ION API Gateway with a realistic mix."""

    weight = 4
    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        ionapi_file = getattr(opts, "ionapi", "") if opts else ""
        tenant = getattr(opts, "tenant", "DEMO_TST") if opts else "DEMO_TST"
        self.ionapi: Ionapi = load_ionapi(ionapi_file or None, self.host or "", tenant)
        self.api = API.format(ti=self.ionapi.ti)
        self.rng = random.Random(next(_seeds))
        self.tokens = TokenKeeper(self.ionapi, self._post_token)

    def _post_token(self, form: Any) -> tuple[int, Any]:
        grant = form.get("grant_type", "")
        with self.client.post(
            self.ionapi.token_url, data=dict(form), name=f"token {grant}", catch_response=True
        ) as r:
            if r.status_code == 200:
                r.success()
                return 200, r.json()
            if grant == "refresh_token" and r.status_code == 400:
                r.success()  # an expired refresh token: fall back to the password grant
                return r.status_code, {}
            r.failure(f"token {grant}: HTTP {r.status_code} {r.text[:200]}")
            return r.status_code, {}

    def mi(
        self, program: str, transaction: str, params: dict[str, str], *, expect_ok: bool = True
    ) -> dict[str, Any] | None:
        """One MI v2 call; returns its first result, or None when it could not be made."""
        name = f"{program}/{transaction}"
        url = f"{self.api}/{program}/{transaction}"
        for _ in range(MAX_THROTTLE_WAITS):
            headers = {"Authorization": f"Bearer {self.tokens.token()}"}
            with self.client.get(
                url, params=params, headers=headers, name=name, catch_response=True
            ) as r:
                if r.status_code in (429, 503):
                    r.success()  # not a failure: the gateway asked us to slow down
                    wait = retry_after_seconds(r.headers.get("Retry-After"))
                    _record(self, f"throttled {r.status_code}", name, wait)
                    time.sleep(wait)
                    continue
                if r.status_code == 401:
                    r.success()
                    _record(self, "token rejected", name, 0.0)
                    self.tokens.invalidate()
                    continue
                if r.status_code != 200:
                    r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
                    return None
                try:
                    result: dict[str, Any] = r.json()["results"][0]
                except (ValueError, KeyError, IndexError):
                    r.failure(f"not an MI answer: {r.text[:200]}")
                    return None
                if "errorMessage" in result:
                    if expect_ok:
                        r.failure(f"MI NOK {result.get('errorCode')}: {result['errorMessage']}")
                    else:
                        _record(self, "MI NOK", f"{name} {result.get('errorCode', '')}", 0.0)
                    return None
                return result
        return None

    @task(10)
    def get_customer(self) -> None:
        self.mi("CRS610MI", "GetBasicData", {"CUNO": self.rng.choice(CUSTOMERS)})

    @task(6)
    def list_customers(self) -> None:
        self.mi("CRS610MI", "LstByNumber", {"CUNO": "C1", "maxrecs": "20"})

    @task(6)
    def stock_balances(self) -> None:
        self.mi("MMS060MI", "List", {"WHLO": "001", "maxrecs": "50"})

    @task(8)
    def get_item(self) -> None:
        self.mi("MMS200MI", "GetItmBasic", {"ITNO": self.rng.choice(ITEMS)})

    @task(1)
    def order_flow(self) -> None:
        """AddBatchHead -> AddBatchLine x1-3 -> Confirm, as an order import does it."""
        head = self.mi("OIS100MI", "AddBatchHead", {"CUNO": self.rng.choice(CUSTOMERS[:2])},
                       expect_ok=False)  # fmt: skip
        if not head or not head.get("records"):
            return
        temp = head["records"][0]["ORNO"]
        for item in self.rng.sample(ORDER_ITEMS, self.rng.randint(1, 3)):
            self.mi("OIS100MI", "AddBatchLine", {"ORNO": temp, "ITNO": item, "ORQT": "1"},
                    expect_ok=False)  # fmt: skip
        self.mi("OIS100MI", "Confirm", {"ORNO": temp}, expect_ok=False)


class EventStormUser(HttpUser):
    """Posts contract-valid ION events to a consumer as fast as it accepts them.

    The consumer is the system under test that receives ION events (its webhook); the
    headers are the ones ionsim's own deliveries carry, so the consumer cannot tell them
    apart. A 429/503 with `Retry-After` is honoured, not counted as a failure.
    """

    weight = 1
    wait_time = between(0.0, 0.02)

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        self.url = getattr(opts, "consumer_url", "") if opts else ""
        if not self.url:
            raise StopUser()
        self.secret = (getattr(opts, "consumer_secret", "") if opts else "").encode()
        tenant = getattr(opts, "tenant", "DEMO_TST") if opts else "DEMO_TST"
        self.factory = EventFactory(tenant, seed=next(_seeds))
        self.sent = itertools.count(1)

    @task
    def post_event(self) -> None:
        channel, payload = self.factory.next()
        body = orjson.dumps(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Ionsim-Event-Id": payload["eventId"],
            "X-Ionsim-Channel": channel,
            "X-Ionsim-Tenant": payload["tenantId"],
            "X-Ionsim-Delivery": f"storm-{next(self.sent)}",
            "X-Ionsim-Attempt": "1",
        }
        if self.secret:
            digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            headers["X-Ionsim-Signature"] = f"sha256={digest}"
        for _ in range(MAX_THROTTLE_WAITS):
            with self.client.post(
                self.url, data=body, headers=headers, name=f"event {channel}", catch_response=True
            ) as r:
                if r.status_code in (429, 503):
                    r.success()
                    wait = retry_after_seconds(r.headers.get("Retry-After"))
                    _record(self, f"throttled {r.status_code}", f"event {channel}", wait)
                    time.sleep(wait)
                    continue
                if not 200 <= r.status_code < 300:
                    r.failure(f"consumer answered HTTP {r.status_code}")
                return


def _record(user: HttpUser, kind: str, name: str, waited_s: float) -> None:
    """A non-failure statistic row (throttling, NOKs), with the wait as its 'response time'."""
    user.environment.events.request.fire(
        request_type=kind,
        name=name,
        response_time=waited_s * 1000,
        response_length=0,
        exception=None,
        context={},
    )
