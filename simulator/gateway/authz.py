"""Connect API authorization: which M3 user may run which MI transactions, in which companies.

When `enabled`, every transaction is denied unless a grant allows it: `CRS610MI/GetBasicData`,
`CRS610MI/*` or `*`. Company limits apply whenever they are set for a user. A refusal is an MI
NOK (HTTP 200), the way M3 itself refuses: clients parse it like any other business error and
do not mistake it for a token problem (a real client retries non-200 answers as logins).
The code XAU0001 for a refused transaction is an assumption; XAU0008 for a company is real.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import MIError, RequestError


@dataclass(frozen=True)
class Authorization:
    enabled: bool = False
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    companies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Authorization:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise RequestError("authorization must be a JSON object")
        unknown = set(data) - {"enabled", "grants", "companies"}
        if unknown:
            raise RequestError(f"authorization: unknown keys {sorted(unknown)}")
        enabled = data.get("enabled", False)
        if not isinstance(enabled, bool):
            raise RequestError("authorization.enabled must be true or false")
        return cls(enabled, _by_user(data, "grants"), _by_user(data, "companies"))

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "grants": {u: list(g) for u, g in self.grants.items()},
            "companies": {u: list(c) for u, c in self.companies.items()},
        }

    def check(self, user: str, program: str, transaction: str, cono: str) -> None:
        """Raises the NOK M3 answers when `user` may not run this call."""
        allowed = self.companies.get(user)
        if allowed is not None and cono not in allowed:
            raise MIError(f"Not authorized for company {cono}", "XAU0008", "CONO")
        if not self.enabled:
            return
        grants = self.grants.get(user, ())
        if "*" in grants or f"{program}/*" in grants or f"{program}/{transaction}" in grants:
            return
        raise MIError(
            f"User {user} is not authorized to run {program}/{transaction}", "XAU0001", ""
        )


def _by_user(data: Mapping[str, Any], key: str) -> dict[str, tuple[str, ...]]:
    value = data.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(u, str) and isinstance(v, list) and all(isinstance(x, str | int) for x in v)
        for u, v in value.items()
    ):
        raise RequestError(
            f'authorization.{key} must map a user to a list, e.g. {{"IONSIM": [...]}}'
        )
    return {u.upper(): tuple(str(x) for x in v) for u, v in value.items()}
