"""Finds the packaged `contracts/` and `fixtures/` folders.

In a source checkout they sit at the top of the repository; in an installed wheel they are
`simulator/_data/`. A user may point `data_dir` at a folder of their own, which is searched
first, so their MI program files and seeds override or extend the packaged ones.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def packaged_root() -> Path:
    """The folder holding `contracts/` and `fixtures/` for this installation."""
    installed = _PACKAGE / "_data"
    if (installed / "contracts").is_dir():
        return installed
    return _PACKAGE.parent


def search_roots(data_dir: Path | None = None) -> list[Path]:
    roots = [Path(data_dir)] if data_dir else []
    roots.append(packaged_root())
    return roots


def find(relative: str, data_dir: Path | None = None) -> Path | None:
    """The first existing `relative` path under the user's folder, then the packaged one."""
    for root in search_roots(data_dir):
        candidate = root / relative
        if candidate.exists():
            return candidate
    return None


def files(folder: str, pattern: str, data_dir: Path | None = None) -> list[Path]:
    """Files matching `pattern` in `folder`; a user's file shadows a packaged one of that name."""
    seen: dict[str, Path] = {}
    for root in search_roots(data_dir):
        d = root / folder
        if d.is_dir():
            for f in sorted(d.glob(pattern)):
                seen.setdefault(f.name, f)
    return [seen[name] for name in sorted(seen)]
