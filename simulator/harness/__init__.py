"""The contract-testing harness: a pytest plugin, an M3 client, a server and a webhook receiver.

- `simulator.harness.plugin`: the pytest plugin (entry point `pytest11`), fixtures `ionsim_*`.
- `M3Client` (`client.py`): a `.ionapi`-driven MI client, usable outside pytest too.
- `start_thread`, `start_inprocess`, `start_remote` (`server.py`): an ionsim for tests.
- `Admin`, `Tenant` (`control.py`): its `/_sim/` control API as Python methods.
- `WebhookSink` (`sink.py`): a loopback webhook receiver with `wait_for` and near misses.

Names are resolved on first use, so importing this package (pytest does, at start-up) loads
neither uvicorn nor starlette nor httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.harness.client import GatewayHTTPError, M3Client
    from simulator.harness.control import Admin, Tenant
    from simulator.harness.server import IonsimServer, start_inprocess, start_remote, start_thread
    from simulator.harness.sink import Delivery, WebhookSink

_WHERE = {
    "M3Client": "client",
    "GatewayHTTPError": "client",
    "Admin": "control",
    "IonsimServer": "server",
    "Tenant": "control",
    "start_inprocess": "server",
    "start_remote": "server",
    "start_thread": "server",
    "Delivery": "sink",
    "WebhookSink": "sink",
}

__all__ = [
    "Admin",
    "Delivery",
    "GatewayHTTPError",
    "IonsimServer",
    "M3Client",
    "Tenant",
    "WebhookSink",
    "start_inprocess",
    "start_remote",
    "start_thread",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator.harness' has no attribute {name!r}")
    return getattr(importlib.import_module(f"simulator.harness.{module}"), name)
