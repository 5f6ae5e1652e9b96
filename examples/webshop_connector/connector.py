"""A small webshop -> M3 connector, written the way one is written against a real tenant.

It reads the `.ionapi` file, talks plain HTTP (httpx) to the ION API Gateway and knows nothing
about ionsim: pointing it at the simulator is only a matter of handing it another file.

- `WebshopConnector.place_order(order)`: matches the customer by e-mail (CRS610MI/LstByName,
  confirmed with GetBasicData) or creates it from the template customer (CRS610MI/Add), then
  creates the order: OIS100MI/AddBatchHead, AddBatchLine per line, Confirm. Returns the order
  number M3 gave.
- `WebshopConnector.handle_event(event)`: on `inventory/synced`, pushes the available quantity
  to the shop; an event seen before (same `eventId`, ION delivers at least once) is ignored.

M3 answers a refused transaction with HTTP 200 and an error in the body; the connector turns it
into `M3Error` naming the transaction, M3's code and what the shop sent (the item, the e-mail),
so whoever reads the log knows which order line to fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

INVENTORY_DOCUMENT = "SyncInventory"


class ConnectorError(Exception):
    """The connector could not do what the shop asked."""


class M3Error(ConnectorError):
    """M3 refused a transaction (an MI NOK): `code` and `field` are M3's."""

    def __init__(self, api: str, code: str, field: str, message: str, context: str = "") -> None:
        about = f" for {context}" if context else ""
        super().__init__(f"M3 refused {api}{about}: {code} {message}".rstrip())
        self.api = api
        self.code = code
        self.field = field
        self.message = message


class M3:
    """MI over the ION API Gateway: token from the .ionapi, 401 -> new token, 429 -> wait."""

    def __init__(
        self,
        ionapi: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_429_retries: int = 5,
    ) -> None:
        self.ion = dict(ionapi)
        self.http = httpx.Client(transport=transport, timeout=30.0)
        self.sleep = sleep
        self.max_429_retries = max_429_retries
        self.token: str | None = None
        self.logins = 0

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> M3:
        return cls(json.loads(Path(path).read_text(encoding="utf-8-sig")), **kwargs)

    def _login(self) -> str:
        ion = self.ion
        r = self._send(
            "POST",
            ion["pu"] + ion["ot"],
            data={
                "grant_type": "password",
                "username": ion["saak"],
                "password": ion["sask"],
                "client_id": ion["ci"],
                "client_secret": ion["cs"],
            },
        )
        if r.status_code != 200:
            raise ConnectorError(f"ION login failed: HTTP {r.status_code} {r.text[:200]}")
        self.logins += 1
        return str(r.json()["access_token"])

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for _ in range(self.max_429_retries):
            r = self.http.request(method, url, **kwargs)
            if r.status_code != 429:
                return r
            self.sleep(float(r.headers.get("Retry-After") or 1))
        return self.http.request(method, url, **kwargs)

    def call(
        self, program: str, transaction: str, context: str = "", **fields: str
    ) -> list[dict[str, str]]:
        url = f"{self.ion['iu']}/{self.ion['ti']}/M3/m3api-rest/v2/execute/{program}/{transaction}"
        for attempt in (1, 2):
            if self.token is None:
                self.token = self._login()
            r = self._send(
                "GET", url, params=fields, headers={"Authorization": f"Bearer {self.token}"}
            )
            if r.status_code == 401 and attempt == 1:  # expired or revoked: log in again, once
                self.token = None
                continue
            break
        if r.status_code != 200:
            raise ConnectorError(f"{program}/{transaction}: HTTP {r.status_code} {r.text[:200]}")
        result = r.json()["results"][0]
        if "errorMessage" in result:
            raise M3Error(
                f"{program}/{transaction}",
                str(result.get("errorCode", "")),
                str(result.get("errorField", "")),
                str(result["errorMessage"]).strip(),
                context,
            )
        return list(result["records"])

    def close(self) -> None:
        self.http.close()


@dataclass
class FakeShop:
    """Stands in for the webshop's stock API: records every update it is sent."""

    updates: list[tuple[str, float]] = field(default_factory=list)

    def set_stock(self, sku: str, quantity: float) -> None:
        self.updates.append((sku, quantity))

    @property
    def stock(self) -> dict[str, float]:
        return dict(self.updates)


class WebshopConnector:
    def __init__(
        self,
        m3: M3,
        shop: FakeShop | None = None,
        *,
        template: str = "TEMPLWEB",
        warehouse: str = "001",
    ) -> None:
        self.m3 = m3
        self.shop = shop or FakeShop()
        self.template = template
        self.warehouse = warehouse
        self.seen_events: set[str] = set()

    # ---- orders ----

    def find_customer(self, email: str, name: str) -> str | None:
        """M3 has no lookup by e-mail: list customers from the name on, compare MAIL."""
        rows = self.m3.call("CRS610MI", "LstByName", CUNM=name, maxrecs="50")
        for row in rows:
            if row["CUNM"].strip() != name.strip():
                break  # the list is ordered by name: past it, no more candidates
            if row.get("MAIL", "").strip().lower() == email.strip().lower():
                detail = self.m3.call("CRS610MI", "GetBasicData", CUNO=row["CUNO"])[0]
                if detail.get("STAT") != "90":  # 90: blocked in M3, do not sell to it
                    return row["CUNO"]
        return None

    def create_customer(self, order: Mapping[str, Any]) -> str:
        c = order["customer"]
        rows = self.m3.call(
            "CRS610MI",
            "Add",
            context=f"customer {c['email']}",
            CUTM=self.template,
            CUNM=c["name"],
            CUA1=c["address"],
            TOWN=c.get("city", ""),
            PONO=c.get("postal_code", ""),
            CSCD=c.get("country", ""),
            MAIL=c["email"],
            PHNO=c.get("phone", ""),
        )
        return rows[0]["CUNO"]

    def place_order(self, order: Mapping[str, Any]) -> str:
        """Creates the order in M3 and returns its number. Raises M3Error on any NOK."""
        c = order["customer"]
        cuno = self.find_customer(c["email"], c["name"]) or self.create_customer(order)
        head = self.m3.call(
            "OIS100MI",
            "AddBatchHead",
            context=f"webshop order {order['id']}",
            CUNO=cuno,
            CUOR=str(order["id"]),
            WHLO=self.warehouse,
        )
        batch = head[0]["ORNO"]
        for line in order["lines"]:
            self.m3.call(
                "OIS100MI",
                "AddBatchLine",
                context=f"item {line['sku']} of webshop order {order['id']}",
                ORNO=batch,
                ITNO=line["sku"],
                ORQT=str(line["quantity"]),
                WHLO=self.warehouse,
            )
        done = self.m3.call(
            "OIS100MI", "Confirm", context=f"webshop order {order['id']}", ORNO=batch
        )
        return done[0]["ORNO"]

    # ---- events ----

    def handle_event(self, event: Mapping[str, Any]) -> bool:
        """Applies one ION event; True when it changed the shop. Duplicates are ignored."""
        event_id = str(event.get("eventId", ""))
        if not event_id or event_id in self.seen_events:
            return False
        self.seen_events.add(event_id)
        if event.get("documentType") != INVENTORY_DOCUMENT:
            return False
        data = event["data"]
        if data.get("warehouse") != self.warehouse:
            return False
        self.shop.set_stock(data["partNumber"], float(data["available"]))
        return True
