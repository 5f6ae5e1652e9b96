"""A tenant exports one Swagger 2.0 document per program from the ION API Gateway; importing them
as program YAML is how a user gets faithful field lists for programs ionsim does not ship, or
refreshes the shipped ones after an M3 upgrade. The output is checked by the same loader as the
packaged files, so an import never produces a file that would stop `ionsim serve`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import ContractError
from simulator.m3.catalog_loader import load_program_file
from simulator.m3.swagger_program import program_from_swagger


def _scalar(value: Any) -> str:
    """A plain YAML scalar when it reads back as the same string, else a double-quoted one."""
    text = str(value)
    try:
        if text and yaml.safe_load(f"{{k: {text}}}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def dump_program(program: dict[str, Any]) -> str:
    """YAML in the style of the packaged files: one field per line, in M3's order."""
    lines = [
        f"program: {program['program']}",
        f"description: {_scalar(program.get('description', ''))}",
        f"version: {json.dumps(str(program.get('version', '')))}",
    ]
    limitations = program.get("limitations") or []
    lines.append("limitations:" if limitations else "limitations: []")
    lines += [f"  - {_scalar(x)}" for x in limitations]
    lines.append("transactions:")
    for name, t in program["transactions"].items():
        if not t:
            lines.append(f"  {name}: {{}}")
            continue
        lines += [f"  {name}:", f"    description: {_scalar(t.get('description', ''))}"]
        lines.append(f"    list: {'true' if t.get('list') else 'false'}")
        for key in ("input", "output"):
            fields = t.get(key) or {}
            lines.append(f"    {key}:" if fields else f"    {key}: {{}}")
            for fname, f in fields.items():
                parts = [f"type: {f['type']}", f"length: {f['length']}"]
                if f.get("mandatory"):
                    parts.append("mandatory: true")
                if f.get("decimals") is not None:
                    parts.append(f"decimals: {f['decimals']}")
                parts.append(f"description: {_scalar(f.get('description', ''))}")
                lines.append(f"      {fname}: {{{', '.join(parts)}}}")
    return "\n".join(lines) + "\n"


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ContractError(str(path), "", f"cannot read the file: {e}") from None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)  # some exports are YAML
    except yaml.YAMLError as e:
        raise ContractError(str(path), "", f"neither JSON nor YAML: {e}") from None


def import_swagger(paths: list[Path], out_dir: Path) -> list[Path]:
    """Write `<PROGRAM>.yaml` for each Swagger file, each accepted by the loader first.

    The text is checked under its final name in a scratch folder, so nothing is written for a
    document that does not convert, and an error names the Swagger file, not a scratch file.
    """
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    for source in map(Path, paths):
        program = program_from_swagger(_read(source), str(source))
        name = program["program"]
        if name in written:
            reason = f"{name} is already imported from another file in this run"
            raise ContractError(str(source), "/basePath", reason)
        text = dump_program(program)
        with tempfile.TemporaryDirectory() as scratch:
            probe = Path(scratch) / f"{name}.yaml"
            probe.write_text(text, encoding="utf-8")
            try:
                load_program_file(probe)
            except ContractError as e:
                reason = f"the converted program is invalid at {e.pointer or '/'}: {e.reason}"
                raise ContractError(str(source), "", reason) from None
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{name}.yaml"
        staging = out_dir / f".{name}.yaml.tmp"
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, target)
        written[name] = target
    return list(written.values())
