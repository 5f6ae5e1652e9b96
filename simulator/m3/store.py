"""Per-tenant M3 state: plain in-memory tables with ordered keys.

Records are dicts of M3 field name -> string, exactly as MI answers them, so the wire layer
never converts. Keys are kept sorted (bisect) so the `Lst*` transactions read a page from a
starting key without scanning the table: list latency does not grow with the table when
`maxrecs` is small.

The store knows nothing of HTTP or asyncio. Handlers run one at a time on the event loop, so
a transaction is atomic; handlers validate before they write, so a NOK leaves no trace.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Any

Record = dict[str, str]
Key = tuple[str, ...]


class Table:
    """Rows keyed by a tuple of field values, iterable in key order."""

    __slots__ = ("_keys", "_padded", "_widths", "key_fields", "name", "rows")

    def __init__(self, name: str, key_fields: tuple[str, ...]) -> None:
        """`key_fields` name the key; `PONR:5` pads a numeric part so "10" sorts after "9"."""
        self.name = name
        self.key_fields = tuple(f.partition(":")[0] for f in key_fields)
        self._widths = tuple(int(f.partition(":")[2] or 0) for f in key_fields)
        self._padded = any(self._widths)
        self.rows: dict[Key, Record] = {}
        self._keys: list[Key] = []

    def key(self, *values: str) -> Key:
        """The stored key for these values (a prefix may give fewer values than key fields)."""
        if not self._padded:
            return values
        return tuple(
            v.zfill(w) if w and v.isdigit() else v
            for v, w in zip(values, self._widths, strict=False)
        )

    def key_of(self, row: Record) -> Key:
        return self.key(*(row.get(f, "") for f in self.key_fields))

    def get(self, key: Key) -> Record | None:
        return self.rows.get(key)

    def __contains__(self, key: Key) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def insert(self, row: Record) -> bool:
        """Adds a row; False (and nothing written) when the key exists already."""
        key = self.key_of(row)
        if key in self.rows:
            return False
        self.rows[key] = row
        if not self._keys or key > self._keys[-1]:
            self._keys.append(key)
        else:
            insort(self._keys, key)
        return True

    def update(self, key: Key, changes: Record) -> Record:
        row = self.rows[key]
        row.update(changes)
        return row

    def delete(self, key: Key) -> Record | None:
        row = self.rows.pop(key, None)
        if row is not None:
            i = bisect_left(self._keys, key)
            del self._keys[i]
        return row

    def scan(self, prefix: Key = (), start: Key = ()) -> Iterator[Record]:
        """Rows whose key starts with `prefix`, in key order, from `start` (inclusive) on."""
        begin = max(prefix, start) if start else prefix
        keys = self._keys
        i = bisect_left(keys, begin)
        n = len(prefix)
        while i < len(keys):
            key = keys[i]
            if key[:n] != prefix:
                return
            row = self.rows.get(key)
            if row is not None:
                yield row
            i += 1

    def clear(self) -> None:
        self.rows.clear()
        self._keys.clear()

    def dump(self) -> dict[str, Any]:
        spec = [f"{f}:{w}" if w else f for f, w in zip(self.key_fields, self._widths, strict=True)]
        return {"key": spec, "rows": [self.rows[k] for k in self._keys]}

    def load(self, rows: list[Record]) -> None:
        self.clear()
        for row in rows:
            self.rows[self.key_of(row)] = dict(row)
        self._keys = sorted(self.rows)


class TenantState:
    """All M3 tables of one tenant plus its number series."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tables: dict[str, Table] = {}
        self.counters: dict[str, int] = {}
        self.settings: dict[str, Any] = {}

    def table(self, name: str, key_fields: tuple[str, ...]) -> Table:
        """The table `name`, created on first use with its key fields."""
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = Table(name, key_fields)
        return t

    def next_number(self, series: str, start: int = 1) -> int:
        """The next number of a number series (M3's CRS165 idea), never reused."""
        n = self.counters.get(series, start - 1) + 1
        self.counters[series] = n
        return n

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy of everything; `restore` of it gives back the same state."""
        return {
            "tenant": self.name,
            "tables": {name: t.dump() for name, t in sorted(self.tables.items())},
            "counters": dict(self.counters),
            "settings": copy.deepcopy(self.settings),
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.tables = {}
        for name, t in data.get("tables", {}).items():
            table = self.table(name, tuple(t["key"]))
            table.load(t["rows"])
        self.counters = {k: int(v) for k, v in data.get("counters", {}).items()}
        self.settings = copy.deepcopy(data.get("settings", {}))
