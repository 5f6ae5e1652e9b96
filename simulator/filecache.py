"""A cache of what ionsim parses from its data files, so start-up does not redo it.

Parsing and checking the MI program definitions (~270 KB of YAML) cost ~40 ms, the demo seed
~10 ms and checking the events contract's schemas needed jsonschema (~50 ms to import): together
a third of the start-up budget. The cache holds the pickled result under a key made of ionsim's
version, what was built, and each file's path, size and modification time: any edit, added or
removed file makes a new key, and the files are parsed and validated again. Any problem with the
cache (unwritable home, a corrupt file) falls back to parsing, silently: the cache is an
optimisation, never a source.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def cache_dir() -> Path:
    return Path.home() / ".cache" / "ionsim"


def key_of(files: Iterable[Path], version: str) -> str:
    h = hashlib.sha256(version.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def cached(files: list[Path], version: str, build: Callable[[], T]) -> T:
    """`build()`'s result, from the cache when these files have not changed since it was built."""
    try:
        path = cache_dir() / f"parsed-{key_of(files, version)}.pickle"
        with path.open("rb") as fh:
            return pickle.load(fh)  # type: ignore[no-any-return]
    except Exception:
        pass
    value = build()
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:
        pass
    return value
