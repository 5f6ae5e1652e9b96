"""Numbers as M3 stores and answers them: strings such as "12.5", "100" and "0".

Every handler reads quantities and amounts from strings and writes them back; doing it in one
place keeps "12.50", "1E+2" and "-0" out of the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from simulator.m3.behaviours import nok

ZERO = Decimal(0)


def num(value: str | None) -> Decimal:
    """A stored M3 number as Decimal (blank is zero); anything else is M3's number NOK."""
    if not value:
        return ZERO
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise nok("WNU0101", message=f"{value!r} is not a number")
    return number


def fmt(value: Decimal) -> str:
    """A Decimal as MI writes numbers: "12.5", "100", "0", never "1E+2" or "12.50"."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def whole(f: Mapping[str, str], name: str, default: str = "0") -> str:
    """An integer input (line numbers, CONO) as MI writes it; "1.5" is refused like M3 does."""
    value = num(f.get(name) or default)
    if value < 0 or value != value.to_integral_value():
        raise nok("WNU0101", field=name, message=f"Field {name}: {f[name]} is not a whole number")
    return fmt(value)


def clean_numbers(f: dict[str, str], names: frozenset[str] | set[str]) -> dict[str, str]:
    """Numeric input as M3 stores it ("007" -> "7", "1.50" -> "1.5").

    The engine checks fields the definitions call numeric; a handler may treat more fields as
    numbers than the tenant's Swagger did, so anything that is not a number is refused here too.
    """
    out = {}
    for k, v in f.items():
        if k in names and v:
            try:
                number = Decimal(v)
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite():
                raise nok("WNU0101", field=k, message=f"Field {k}: {v!r} is not a number")
            v = fmt(number)
        out[k] = v
    return out
