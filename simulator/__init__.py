"""ionsim: a local simulator of the Infor ION API Gateway, M3 MI programs and ION events.

Public API (pinned by tests/test_public_api.py):

- `create_app(config)`: the ASGI app (Starlette).
- `load_config(file=None, env=None, **overrides)`, `Config`, `TenantSpec`: configuration.
- `ManualClock`, `SimClock`: injectable clocks.
- The error tree: `IonsimError`, `MIError`, `NotSimulated`, `GatewayError`, `OAuthError`,
  `RequestError`, `ContractError`, `ConfigError`.
"""

from typing import TYPE_CHECKING, Any

from simulator.clock import ManualClock, SimClock
from simulator.config import Config, TenantSpec, load_config
from simulator.errors import (
    ConfigError,
    ContractError,
    GatewayError,
    IonsimError,
    MIError,
    NotSimulated,
    OAuthError,
    RequestError,
)

if TYPE_CHECKING:
    from simulator.app import create_app

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`create_app` is imported on first use: `ionsim --help` and the pytest plugin stay light."""
    if name == "create_app":
        from simulator.app import create_app

        return create_app
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


__all__ = [
    "Config",
    "ConfigError",
    "ContractError",
    "GatewayError",
    "IonsimError",
    "MIError",
    "ManualClock",
    "NotSimulated",
    "OAuthError",
    "RequestError",
    "SimClock",
    "TenantSpec",
    "__version__",
    "create_app",
    "load_config",
]
