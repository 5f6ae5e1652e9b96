"""Executes one MI transaction: find it, validate the input as M3 does, run its handler.

The gateway knows M3 only through `Engine.execute`. Validation is driven by the program
definitions (contracts/mi/*.yaml): mandatory fields, lengths, numbers and dates. Unknown input
fields are ignored, as real clients send spreadsheet columns a transaction does not define.

State changes a handler announces with `ctx.emit(...)` reach the listeners only after the
handler returned: a NOK publishes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from simulator.errors import MIError, NotSimulated
from simulator.m3.definitions import Catalog, Transaction
from simulator.m3.store import Record, TenantState

# Names from integration marketing pages that do not exist in M3, and the real transactions.
SEED_NAMES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("OIS100MI", "AddHead"): ("OIS100MI", "AddBatchHead", "AddBatchHead + AddBatchLine + Confirm"),
    ("OIS100MI", "AddLine"): ("OIS100MI", "AddBatchLine", "AddBatchLine or AddOrderLine"),
    ("MMS080MI", "LstItemBal"): ("MMS060MI", "List", "MMS060MI/List"),
    ("GLS200MI", "Add"): ("GLS840MI", "AddBatchHead", "GLS840MI/AddBatchHead + AddBatchLine"),
    ("PPS100MI", "AddHead"): ("PPS370MI", "AddHead", "PPS370MI StartEntry/AddHead/AddLine"),
    ("PIS100MI", "AddInvoice"): ("APS450MI", "AddHead", "APS450MI/AddHead + AddLine"),
    ("OIS300MI", "LstInvoice"): ("OIS350MI", "LstInvHead", "OIS350MI/LstInvHead"),
    ("MMS200MI", "LstByNumber"): ("MMS200MI", "LstItmByItm", "MMS200MI/LstItmByItm"),
}

_ONLY_STR = {str}
_NUMBER = re.compile(r"^-?([0-9]*)(?:\.([0-9]*))?$")


@dataclass(frozen=True, slots=True)
class Change:
    """A committed state change, for the event publisher."""

    tenant: str
    entity: str
    action: str
    key: tuple[str, ...]
    record: Mapping[str, str]
    program: str
    transaction: str
    correlation: str


@dataclass(slots=True)
class CallContext:
    """Who calls, in which company/division context, and the call's own settings."""

    tenant: str
    cono: str
    divi: str
    user: str = "IONSIM"
    maxrecs: int = 100
    correlation: str = ""
    now: float = 0.0
    program: str = ""
    transaction: str = ""
    changes: list[Change] = field(default_factory=list)

    def emit(
        self, entity: str, action: str, key: tuple[str, ...], record: Mapping[str, str]
    ) -> None:
        self.changes.append(
            Change(
                self.tenant,
                entity,
                action,
                key,
                dict(record),
                self.program,
                self.transaction,
                self.correlation,
            )
        )

    def today(self) -> str:
        """The call's date in UTC, as M3 stamps RGDT/LMDT (YYYYMMDD)."""
        return datetime.fromtimestamp(self.now, UTC).strftime("%Y%m%d")


Handler = Callable[[TenantState, dict[str, str], CallContext], "Record | Iterable[Record] | None"]


class Engine:
    def __init__(
        self,
        catalog: Catalog,
        handlers: Mapping[tuple[str, str], Handler],
        *,
        aliases: bool = False,
        canned: Mapping[tuple[str, str], list[Record]] | None = None,
    ) -> None:
        self.catalog = catalog
        self.handlers = dict(handlers)
        self.aliases = aliases
        self.canned = dict(canned or {})
        self.listeners: list[Callable[[Change], None]] = []
        # The catalog and aliases never change after start, so a resolved name stays resolved.
        self._resolved: dict[tuple[str, str], tuple[str, str, Transaction]] = {}

    def simulated(self, program: str, transaction: str) -> bool:
        return (program, transaction) in self.handlers or (program, transaction) in self.canned

    def resolve(self, program: str, transaction: str) -> tuple[str, str, Transaction]:
        """The definition to run, or the NOK M3 gives for a name it does not know."""
        hit = self._resolved.get((program, transaction))
        if hit is not None:
            return hit
        found = self._resolve(program, transaction)
        if len(self._resolved) < 10_000:  # names come from clients: bounded
            self._resolved[(program, transaction)] = found
        return found

    def _resolve(self, program: str, transaction: str) -> tuple[str, str, Transaction]:
        if self.aliases and (program, transaction) in SEED_NAMES:
            program, transaction, _ = SEED_NAMES[(program, transaction)]
        prog = self.catalog.program(program)
        hint = SEED_NAMES.get((program, transaction))
        tip = f" (ionsim: use {hint[2]})" if hint else ""
        if prog is None:
            raise MIError(
                f"Program {program} does not exist{tip}", "CPF9898", type="ServerReturnedNOK"
            )
        trx = prog.transactions.get(transaction)
        if trx is None:
            raise MIError(
                f"Transaction {transaction} does not exist in program {program}{tip}",
                type="TransactionNotFound",
            )
        return program, transaction, trx

    def execute(
        self,
        state: TenantState,
        program: str,
        transaction: str,
        fields: Mapping[str, str],
        ctx: CallContext,
    ) -> list[Record]:
        trx, rows = self.execute_rows(state, program, transaction, fields, ctx)
        return shape_output(trx, rows)

    def execute_rows(
        self,
        state: TenantState,
        program: str,
        transaction: str,
        fields: Mapping[str, str],
        ctx: CallContext,
    ) -> tuple[Transaction, list[Mapping[str, Any]]]:
        """The transaction's definition and the rows it answers, not yet shaped into records.

        The rows are the store's own, so the wire layer can serialize them without copying;
        callers shape or serialize them before anything else runs (no await in between)."""
        program, transaction, trx = self.resolve(program, transaction)
        ctx.program, ctx.transaction = program, transaction
        limit = ctx.maxrecs if trx.list else 0
        handler = self.handlers.get((program, transaction))
        if handler is None:
            if (program, transaction) in self.canned:
                return trx, _rows(self.canned[(program, transaction)], limit)
            raise NotSimulated(program, transaction)
        clean = validate_input(trx, fields)
        ctx.changes = []
        rows = _rows(handler(state, clean, ctx), limit)
        for change in ctx.changes:
            for listener in self.listeners:
                listener(change)
        return trx, rows


def _rows(out: Any, limit: int) -> list[Mapping[str, Any]]:
    """A handler's answer as a list; `limit` stops reading a lazy list early, so `maxrecs`
    bounds the work, not only the answer."""
    if out is None:
        return []
    if isinstance(out, dict):
        return [out]
    return list(islice(out, limit) if limit else out)


def validate_input(trx: Transaction, fields: Mapping[str, str]) -> dict[str, str]:
    """Input as M3 checks it: trailing blanks dropped, mandatory, length, number and date."""
    clean: dict[str, str] = {}
    for f in trx.inputs:
        raw = fields.get(f.name)
        value = raw.rstrip() if isinstance(raw, str) else ("" if raw is None else str(raw))
        if not value:
            if f.mandatory:
                raise MIError(
                    f"Mandatory input field {f.name} is missing",
                    field=f.name,
                    type="MandatoryInputFieldNotFound",
                )
            continue
        if f.type == "N":
            m = _NUMBER.match(value)
            if not m or not (m.group(1) or m.group(2)):
                raise MIError(f"Field {f.name}: {value!r} is not a number", "WNU0101", f.name)
            digits = len(m.group(1) or "") + len(m.group(2) or "")
            if digits > f.length:
                raise MIError(
                    f"Input field {f.name} is too long (max {f.length} digits)",
                    field=f.name,
                    type="InputFieldTooLong",
                )
        elif f.type == "D":
            if not _valid_date(value):
                raise MIError(
                    f"Field {f.name}: date {value} is invalid, the format is yyyyMMdd",
                    "WDT0101",
                    f.name,
                )
        elif len(value) > f.length:
            raise MIError(
                f"Input field {f.name} is too long (max {f.length} characters)",
                field=f.name,
                type="InputFieldTooLong",
            )
        clean[f.name] = value
    return clean


def _valid_date(value: str) -> bool:
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        return False
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def shape_output(trx: Transaction, rows: Iterable[Mapping[str, Any]]) -> list[Record]:
    """Every output field, in definition order, as a string ("" when unset)."""
    blank = trx.blank
    if not blank:
        return []
    wanted = trx.output_set
    out = []
    for row in rows:
        # A copy of the blank record keeps definition order; extra row fields are dropped.
        rec = blank.copy()
        rec.update(row)
        if len(rec) != len(blank):
            for name in row.keys() - wanted:
                del rec[name]
        if set(map(type, rec.values())) != _ONLY_STR:
            rec = {k: _text(v) for k, v in rec.items()}
        out.append(rec)
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return format_number(value)
    return "" if value is None else str(value)


def format_number(value: float) -> str:
    """Numbers as M3 writes them: no exponent, no trailing zeros ("12.5", "0")."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
