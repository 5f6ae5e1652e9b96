"""Realistic ION event payloads for storm users, fast and without Hypothesis.

Why not the Hypothesis strategies of `simulator.events.generate`: a Locust worker runs on gevent
and must draw thousands of events per second per core; a seeded `random.Random` filling the
shapes M3 really sends (customer numbers like C10001, ISO currencies, two-digit order
statuses, `available == onHand - allocated`) does that at a few microseconds per event. Every
payload is still checked against the AsyncAPI contract (`Contract.validate`) before it leaves
unless the caller turns that off for raw speed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.events.contract import Contract, load_contract
from simulator.events.model import LOGICAL_ID

CHANNELS = ("customer/synced", "order/synced", "invoice/synced", "inventory/synced")
# Relative frequencies of a busy M3: stock moves most, customers change least.
WEIGHTS = (1, 4, 2, 6)
_CURRENCIES = ("SEK", "EUR", "NOK", "DKK", "USD", "GBP")
_COUNTRIES = ("SE", "NO", "DK", "FI", "DE", "GB", "US")
_CITIES = ("Stockholm", "Göteborg", "Malmö", "Oslo", "København", "Helsinki", "Hamburg")
_NAMES = ("Nordic Outdoor AB", "Bergström Sport AB", "Fjällräven Retail", "Ødegaard & Sønn AS")
_ITEMS = ("TENT-2P", "TENT-4P", "BAG-30L", "BAG-60L", "STOVE-1", "MAT-XL", "LAMP-H1")
_ORDER_STATUSES = ("22", "23", "33", "44", "66", "77")
_BASE = datetime(2024, 5, 1, tzinfo=UTC)


class EventFactory:
    """`next()` returns `(channel, payload)`; seeded, so a run can be repeated exactly."""

    def __init__(
        self,
        tenant: str = "DEMO_TST",
        seed: int | None = None,
        *,
        contract: Contract | None = None,
        validate: bool = True,
    ) -> None:
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.contract = contract or load_contract()
        self.validate = validate
        self.count = 0
        self._makers: dict[str, Callable[[], dict[str, Any]]] = {
            "customer/synced": self._customer,
            "order/synced": self._order,
            "invoice/synced": self._invoice,
            "inventory/synced": self._inventory,
        }
        self._channels = [c for c in CHANNELS if c in self.contract.channels]

    def next(self) -> tuple[str, dict[str, Any]]:
        channel = self.rng.choices(self._channels, WEIGHTS[: len(self._channels)])[0]
        payload = self._makers[channel]()
        if self.validate:
            self.contract.validate(channel, payload)
        self.count += 1
        return channel, payload

    # -- shapes ------------------------------------------------------------------------------
    def _stamp(self) -> str:
        t = _BASE + timedelta(seconds=self.rng.randint(0, 90 * 86400))
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.rng.randint(0, 999):03d}Z"

    def _date(self, days: int = 0) -> str:
        return (_BASE + timedelta(days=self.rng.randint(0, 90) + days)).strftime("%Y-%m-%d")

    def _envelope(self, document: str) -> dict[str, Any]:
        return {
            "eventId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "documentType": document,
            "tenantId": self.tenant,
            "timestamp": self._stamp(),
            "logicalId": LOGICAL_ID,
        }

    def _customer_no(self) -> str:
        return f"C{self.rng.randint(10001, 10999)}"

    def _customer(self) -> dict[str, Any]:
        return self._envelope("SyncCustomerPartyMaster") | {
            "data": {
                "customerNumber": self._customer_no(),
                "customerName": self.rng.choice(_NAMES),
                "status": "20",
                "currency": self.rng.choice(_CURRENCIES),
                "country": self.rng.choice(_COUNTRIES),
                "addressLine1": f"Storgatan {self.rng.randint(1, 120)}",
                "city": self.rng.choice(_CITIES),
                "postalCode": f"{self.rng.randint(10000, 99999)}",
                "lastModified": self._stamp(),
            }
        }

    def _order(self) -> dict[str, Any]:
        return self._envelope("SyncSalesOrder") | {
            "data": {
                "orderNumber": f"{self.rng.randint(1000000, 1999999):010d}",
                "customerNumber": self._customer_no(),
                "orderDate": self._date(),
                "orderStatus": self.rng.choice(_ORDER_STATUSES),
                "totalAmount": self.rng.randint(100, 2_000_000) / 100,
                "currency": self.rng.choice(_CURRENCIES),
                "lineCount": self.rng.randint(1, 12),
            }
        }

    def _invoice(self) -> dict[str, Any]:
        return self._envelope("SyncInvoice") | {
            "data": {
                "invoiceNumber": f"{self.rng.randint(100000, 999999)}",
                "customerNumber": self._customer_no(),
                "invoiceDate": self._date(),
                "dueDate": self._date(30),
                "amount": self.rng.randint(100, 2_000_000) / 100,
                "currency": self.rng.choice(_CURRENCIES),
                "status": self.rng.choice(("open", "paid")),
            }
        }

    def _inventory(self) -> dict[str, Any]:
        on_hand = self.rng.randint(0, 500)
        allocated = self.rng.randint(0, on_hand)
        return self._envelope("SyncInventory") | {
            "data": {
                "partNumber": self.rng.choice(_ITEMS),
                "warehouse": self.rng.choice(("001", "002", "100")),
                "onHand": float(on_hand),
                "allocated": float(allocated),
                "available": float(on_hand - allocated),
                "unitOfMeasure": "PCS",
                "lastTransactionDate": self._stamp(),
            }
        }
