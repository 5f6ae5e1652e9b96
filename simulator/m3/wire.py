"""The two M3 REST dialects on the wire: v2 `results` JSON and v1 `MIRecord` JSON/XML.

One place turns records and `MIError`s into bytes. Facts from the reference: every value is a
string; on success the optional keys are absent (not null); an error result still carries
`records: []` because some clients read it unconditionally; the bulk count key is spelled
`nrOfSuccessfullTransactions`. M3 pads messages with blanks; clients strip them.

Choices where the reference is silent: the body is compact JSON unless `format=PRETTY` is
asked for explicitly (the real capture is compact), and messages are padded to 120 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import orjson

from simulator.errors import MIError
from simulator.m3.definitions import Transaction
from simulator.m3.store import Record

MESSAGE_WIDTH = 120
_TRUE = ("true", "1", "yes")
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """The generic (non-field) parameters that shape an answer."""

    maxrecs: int = 100
    returncols: tuple[str, ...] = ()
    excludeempty: bool = False
    righttrim: bool = True
    dateformat: str = "YMD8"
    extendedresult: bool = False
    pretty: bool = False
    metadata: bool = False
    cono: str = ""
    divi: str = ""
    m3user: str = ""


DEFAULT_OPTIONS = OutputOptions()
GENERIC_PARAMS = frozenset(
    {
        "cono",
        "divi",
        "lanc",
        "locale",
        "timezone",
        "maxrecs",
        "dateformat",
        "excludeempty",
        "excludempty",
        "righttrim",
        "returncols",
        "format",
        "extendedresult",
        "m3user",
        "_rid",
        "metadata",
        "selectedColumns",
        "selectedcolumns",
    }
)


def input_fields(params: Mapping[str, str]) -> dict[str, str]:
    """The transaction's input fields among a call's parameters: all but the generic ones."""
    return {k: v for k, v in params.items() if k not in GENERIC_PARAMS}


def parse_options(params: Mapping[str, str]) -> OutputOptions:
    """Reads generic parameters (query or v1 matrix, both `excludeempty` spellings).

    A value M3 would not understand falls back to the default instead of failing the call.
    """
    p = {k: v for k, v in params.items() if k in GENERIC_PARAMS}
    if not p:
        return DEFAULT_OPTIONS
    maxrecs_text = p.get("maxrecs", "").strip()
    maxrecs = int(maxrecs_text) if _DIGITS.fullmatch(maxrecs_text) else 100
    cols = p.get("returncols") or p.get("selectedColumns") or p.get("selectedcolumns") or ""
    empty = p.get("excludeempty", p.get("excludempty", "false"))
    return OutputOptions(
        maxrecs=maxrecs,
        returncols=tuple(c.strip() for c in cols.split(",") if c.strip()),
        excludeempty=empty.lower() in _TRUE,
        righttrim=p.get("righttrim", "true").lower() in _TRUE,
        dateformat=(p.get("dateformat") or "YMD8").upper(),
        extendedresult=p.get("extendedresult", "false").lower() in _TRUE,
        pretty=p.get("format", "").upper() == "PRETTY",
        metadata=p.get("metadata", "false").lower() in _TRUE,
        cono=p.get("cono", "").strip(),
        divi=p.get("divi", "").strip(),
        m3user=p.get("m3user", "").strip(),
    )


def _date(value: str, fmt: str) -> str:
    if len(value) != 8 or fmt in ("YMD8", ""):
        return value
    y, m, d = value[:4], value[4:6], value[6:]
    return {
        "YMD6": y[2:] + m + d,
        "MDY6": m + d + y[2:],
        "DMY6": d + m + y[2:],
        "YMD8-": f"{y}-{m}-{d}",
    }.get(fmt, value)


def shape(trx: Transaction, records: list[Record], opts: OutputOptions) -> list[Record]:
    """Applies returncols, dateformat, righttrim=false padding and excludeempty."""
    if not (
        opts.returncols or opts.excludeempty or not opts.righttrim or opts.dateformat != "YMD8"
    ):
        return records
    fields = {f.name: f for f in trx.outputs}
    cols = [c for c in opts.returncols if c in fields] if opts.returncols else list(fields)
    out = []
    for rec in records:
        row = {}
        for name in cols:
            value = rec.get(name, "")
            f = fields[name]
            if f.type == "D" and value:
                value = _date(value, opts.dateformat)
            if not opts.righttrim and f.type == "A":
                value = value.ljust(f.length)
            if opts.excludeempty and not value.strip():
                continue
            row[name] = value
        out.append(row)
    return out


def padded(message: str) -> str:
    return message.ljust(MESSAGE_WIDTH)


def v2_result(
    transaction: str,
    records: list[Record] | None = None,
    error: MIError | None = None,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"transaction": transaction}
    if parameters is not None:
        result["parameters"] = dict(parameters)
    if error is not None:
        result.update(
            errorMessage=padded(error.message),
            errorType=error.type,
            errorField=error.field,
            errorCode=error.code,
            errorCfg=error.cfg,
            records=[],
        )
    else:
        result["records"] = records or []
    return result


def v2_body(results: list[dict[str, Any]], pretty: bool = False) -> bytes:
    failed = sum(1 for r in results if "errorMessage" in r)
    body = {
        "results": results,
        "wasTerminated": False,
        "nrOfSuccessfullTransactions": len(results) - failed,
        "nrOfFailedTransactions": failed,
    }
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 if pretty else 0)


def v2_ok_body(transaction: str, records: bytes) -> bytes:
    """`v2_body([v2_result(transaction, ...)])` for one successful result, from its records'
    JSON: byte for byte the same (a property test holds them together)."""
    return b"".join(
        (
            b'{"results":[{"transaction":',
            orjson.dumps(transaction),
            b',"records":',
            records,
            b'}],"wasTerminated":false,"nrOfSuccessfullTransactions":1,"nrOfFailedTransactions":0}',
        )
    )


def v1_body(
    program: str, trx: Transaction | None, records: list[Record], opts: OutputOptions
) -> dict[str, Any]:
    body: dict[str, Any] = {"Program": program, "Transaction": trx.name if trx else ""}
    if opts.metadata and trx is not None:
        body["Metadata"] = {
            "Field": [
                {
                    "@name": f.name,
                    "@type": f.type,
                    "@length": f.length,
                    "@description": f.description,
                }
                for f in trx.outputs
            ]
        }
    body["MIRecord"] = [
        {"RowIndex": i, "NameValue": [{"Name": k, "Value": v} for k, v in rec.items()]}
        for i, rec in enumerate(records)
    ]
    return body


def v1_error(error: MIError) -> dict[str, Any]:
    return {
        "Message": padded(error.message),
        "@type": error.type,
        "@code": error.code,
        "@cfg": error.cfg or None,
        "@field": error.field,
    }


def v1_xml(body: Mapping[str, Any]) -> bytes:
    """The on-prem XML form, for v1 clients that do not ask for JSON."""
    if "Message" in body:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><ErrorMessage type="{escape(body["@type"])}" '
            f'code="{escape(body["@code"])}" field="{escape(body["@field"])}">'
            f"<Message>{escape(body['Message'])}</Message></ErrorMessage>"
        ).encode()
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<MIRecords program="{escape(body["Program"])}" '
        f'transaction="{escape(body["Transaction"])}">',
    ]
    for rec in body["MIRecord"]:
        parts.append(f"<MIRecord><RowIndex>{rec['RowIndex']}</RowIndex>")
        parts.extend(
            f"<NameValue><Name>{escape(nv['Name'])}</Name><Value>{escape(nv['Value'])}</Value>"
            "</NameValue>"
            for nv in rec["NameValue"]
        )
        parts.append("</MIRecord>")
    parts.append("</MIRecords>")
    return "".join(parts).encode()


def records_as_strings(records: Iterable[Mapping[str, Any]]) -> list[Record]:
    return [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]
