"""Record JSON for one-row answers, memoised: the Get transactions clients repeat most.

Reads repeat: the same customer or item is fetched over and over, and building its 51-field
record and serializing it was most of an MI call's cost (5 us of ~27 in process). The memo is
keyed by the transaction and the row object and holds a copy of the row it was made from; an
entry is used only while the row still equals that copy, so a changed row can never hit a stale
entry and no write path has to invalidate anything. Key order does not matter: records follow
the definition's order. Only rows whose values are all strings are memoised, so no two rows
that compare equal can render differently (1 == 1.0 == True).

Bounds: one memo for the process (the catalog, and so its transactions, is shared by every app
in it), `MEMO_SIZE` entries of a row copy plus its JSON (~2 KB), dropped when full. An entry
holds its transaction, so the transaction's id cannot be reused while the entry lives; a row's
id can be, which the equality check covers. The JSON is copied to an exact-size bytes object:
orjson's own keeps a 16 KB buffer. Lists are not memoised: a scan over more rows than the memo
holds would only churn it, and one orjson call over the whole list is as fast as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from simulator.m3.definitions import Transaction
from simulator.m3.engine import shape_output

MEMO_SIZE = 1024
_MEMO: dict[tuple[int, int], tuple[Transaction, dict[str, Any], bytes]] = {}
_STR_ONLY = {str}


def records_json(trx: Transaction, rows: list[Mapping[str, Any]]) -> bytes:
    """The JSON array of `rows` as records: `orjson.dumps(shape_output(trx, rows))`."""
    if len(rows) != 1 or not trx.blank:
        return orjson.dumps(shape_output(trx, rows))
    row = rows[0]
    key = (id(trx), id(row))
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is trx and hit[1] == row:
        return hit[2]
    body = orjson.dumps(shape_output(trx, rows))
    if set(map(type, row.values())) <= _STR_ONLY:
        if len(_MEMO) >= MEMO_SIZE:
            _MEMO.clear()
        body = bytes(memoryview(body))
        _MEMO[key] = (trx, dict(row), body)
    return body
