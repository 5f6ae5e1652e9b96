"""One configuration object, built once and passed down.

Precedence: defaults -> optional config file (YAML or JSON) -> `IONSIM_*` environment ->
explicit overrides (CLI flags, fixture arguments). This module is the only reader of the
environment, and only when `load_config` is called, never at import time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from simulator.errors import ConfigError

_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class TenantSpec:
    """A tenant to create at start-up, with its own seed and policies."""

    name: str
    seed: str | None = None
    throttle: Mapping[str, Any] | None = None
    authorization: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    tenants: tuple[TenantSpec, ...] = (TenantSpec("DEMO_TST"),)
    seed: str = "demo"
    data_dir: Path | None = None
    public_url: str | None = None
    random_credentials: bool = False
    token_lifetime: int = 7200
    refresh_token_lifetime: int = 8 * 3600
    throttle: Mapping[str, Any] | None = None
    authorization: Mapping[str, Any] | None = None
    aliases: bool = False
    access_log: bool = True
    rng_seed: int | None = None
    admin_token: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    fault_header: bool = False
    faults: Any = None
    journal_size: int = 10_000
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.tenants:
            if not _TENANT_RE.match(t.name):
                raise ConfigError(
                    f"tenant name {t.name!r} is invalid: use letters, digits, '_' or '-' "
                    "(at most 64 characters)"
                )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is out of range 0..65535")
        if self.token_lifetime <= 0 or self.refresh_token_lifetime <= 0:
            raise ConfigError("token lifetimes must be positive numbers of seconds")
        if self.journal_size < 1:
            raise ConfigError("journal_size must be at least 1")


_ENV: dict[str, str] = {
    "IONSIM_HOST": "host",
    "IONSIM_PORT": "port",
    "IONSIM_TENANTS": "tenants",
    "IONSIM_SEED": "seed",
    "IONSIM_DATA_DIR": "data_dir",
    "IONSIM_PUBLIC_URL": "public_url",
    "IONSIM_RANDOM_CREDENTIALS": "random_credentials",
    "IONSIM_TOKEN_LIFETIME": "token_lifetime",
    "IONSIM_REFRESH_TOKEN_LIFETIME": "refresh_token_lifetime",
    "IONSIM_ALIASES": "aliases",
    "IONSIM_ACCESS_LOG": "access_log",
    "IONSIM_RNG_SEED": "rng_seed",
    "IONSIM_ADMIN_TOKEN": "admin_token",
    "IONSIM_CORS_ORIGINS": "cors_origins",
    "IONSIM_FAULT_HEADER": "fault_header",
    "IONSIM_JOURNAL_SIZE": "journal_size",
}
_KNOWN = {f.name for f in fields(Config)}


def _tenant(value: Any) -> TenantSpec:
    if isinstance(value, str):
        return TenantSpec(value.strip())
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        unknown = set(value) - {"name", "seed", "throttle", "authorization"}
        if unknown:
            raise ConfigError(f"tenant {value['name']!r}: unknown keys {sorted(unknown)}")
        return TenantSpec(
            value["name"], value.get("seed"), value.get("throttle"), value.get("authorization")
        )
    raise ConfigError(f"a tenant is a name or a mapping with 'name', not {value!r}")


def _coerce(name: str, value: Any) -> Any:
    """Turns file, environment and flag values into the field's type, with a clear error."""
    try:
        if name == "tenants":
            items = value.split(",") if isinstance(value, str) else value
            tenants = tuple(_tenant(v) for v in items if not (isinstance(v, str) and not v.strip()))
            if not tenants:
                raise ConfigError("at least one tenant is needed")
            return tenants
        if name in ("port", "token_lifetime", "refresh_token_lifetime", "rng_seed", "journal_size"):
            return None if value is None and name == "rng_seed" else int(value)
        if name == "cors_origins":
            items = value.split(",") if isinstance(value, str) else value
            return tuple(str(o).strip().rstrip("/") for o in items if str(o).strip())
        if name == "admin_token":
            return str(value) if value else None
        if name == "faults":
            return _faults(value)
        if name in ("random_credentials", "aliases", "access_log", "fault_header"):
            if isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes", "on")
            return bool(value)
        if name == "data_dir":
            return Path(value) if value else None
        return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config value {name}={value!r} is invalid ({exc})") from None


def _faults(value: Any) -> Any:
    """Fault rules inline (`faults: [...]` or `{rules: [...]}`) or a file name holding them."""
    if isinstance(value, str | Path):
        data = read_file(Path(value)) if str(value).endswith((".json", ".yaml", ".yml")) else None
        if data is None:
            raise ConfigError(f"faults: {value!r} is not a .json/.yaml file of fault rules")
        return data.get("rules", data) if isinstance(data, dict) else data
    if isinstance(value, Mapping):
        return value.get("rules", value)
    return value


def read_file(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        if str(path).endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml and json errors alike: one clear line
        raise ConfigError(f"{path}: not valid YAML/JSON: {exc}".splitlines()[0]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must hold a mapping at the top")
    return data


def load_config(
    file: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Builds the one Config: defaults, then file, then environment, then overrides."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    env = os.environ if env is None else env
    if file is None and env.get("IONSIM_CONFIG"):
        file = env["IONSIM_CONFIG"]
    if file:
        for key, value in read_file(Path(file)).items():
            if key in _KNOWN and key != "extra":
                values[key] = _coerce(key, value)
            else:
                extra[key] = value
    for var, name in _ENV.items():
        if var in env and env[var] != "":
            values[name] = _coerce(name, env[var])
    for name, value in overrides.items():
        if name not in _KNOWN:
            raise ConfigError(f"unknown config option {name!r}")
        if value is not None:
            values[name] = _coerce(name, value) if name != "extra" else value
    if extra:
        values["extra"] = {**extra, **values.get("extra", {})}
    return Config(**values)


def with_changes(config: Config, **changes: Any) -> Config:
    return replace(config, **{k: _coerce(k, v) for k, v in changes.items()})
