"""The README's examples are tests: every command and file it shows runs here, or is named
below with the test that runs it.

Shell blocks run with bash against a real `ionsim serve` (the README's 127.0.0.1:8080 becomes
the server's free port) and a real, contract-checking consumer standing in for the README's
127.0.0.1:9000; Python blocks run in the same folder; YAML blocks are config files ionsim loads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from simulator import create_app, load_config
from tests.test_cli import serving
from tests.test_verify import consumer

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)

# Blocks another test runs, by a line of their content -> where.
ELSEWHERE = {
    "pip install . && ionsim serve": "tests/test_packaging.py (wheel in a fresh venv, serve)",
    "pip install '.[test]' && pytest": ".ci/run runs exactly this line",
    "docker build -t ionsim .": "no Docker engine here; tests/test_plugin.py runs the image's "
    "command line (ENTRYPOINT + CMD) and tests/test_packaging.py builds from its COPY set",
    "def ionapi(ionsim_ionapi):": "tests/test_plugin.py (README CI section == docs/ci.md, run)",
    "pytest --ionsim-url http://127.0.0.1:8080": "tests/test_plugin.py::test_ci_doc_*",
}


def blocks() -> list[tuple[int, str, str]]:
    text = README.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append((line, m.group(1), m.group(2)))
    return out


def covered_elsewhere(body: str) -> str | None:
    if body.strip() == "pytest":
        return "tests/test_plugin.py (a fresh project from the CI section runs pytest)"
    return next((where for key, where in ELSEWHERE.items() if key in body), None)


@pytest.fixture
def consumer_url() -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(consumer(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_every_block_is_runnable_or_covered_elsewhere() -> None:
    for line, lang, body in blocks():
        if covered_elsewhere(body):
            continue
        assert lang in ("sh", "python", "yaml"), (
            f"README line {line}: a ``` block without sh/python/yaml is neither run nor covered"
        )


def test_shell_and_python_blocks_run_against_a_real_server(
    tmp_path: Path, consumer_url: str
) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    ran = 0
    with serving("--no-access-log") as (_, url):
        for line, lang, body in blocks():
            if lang not in ("sh", "python") or covered_elsewhere(body):
                continue
            code = body.replace("http://127.0.0.1:8080", url).replace(
                "http://127.0.0.1:9000", consumer_url
            )
            cmd = (
                ["bash", "-euo", "pipefail", "-c", code]
                if lang == "sh"
                else [sys.executable, "-c", code]
            )
            r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120)  # fmt: skip
            assert r.returncode == 0, f"README line {line} ({lang}) failed:\n{r.stdout}\n{r.stderr}"
            ran += 1
        assert "Nordic Outdoor AB" in subprocess.run(
            [sys.executable, "-c", next(b for _, lang, b in blocks() if lang == "python"
                                        and "DEMO_TST.ionapi" in b).replace(
                "http://127.0.0.1:8080", url)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
    assert ran >= 7
    assert (tmp_path / "DEMO_TST.ionapi").is_file() and (tmp_path / "verify.xml").is_file()


def test_yaml_blocks_are_configs_ionsim_accepts(tmp_path: Path) -> None:
    yamls = [body for _, lang, body in blocks() if lang == "yaml"]
    assert yamls
    for i, body in enumerate(yamls):
        path = tmp_path / f"config{i}.yaml"
        path.write_text(body, encoding="utf-8")
        app = create_app(load_config(path, env={}))
        assert app.state.sim.tenants
