"""The built wheel works from outside the repository: contracts and fixtures ship inside it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def docker_context(tmp_path: Path) -> Path:
    """Exactly what the Dockerfile COPYs: the image builds from this, so the test does too."""
    src = tmp_path / "src"
    src.mkdir()
    copies = re.findall(r"^COPY (\S+(?: \S+)*) (\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert copies, "the Dockerfile copies nothing?"
    for sources, _ in copies:
        for name in sources.split():
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, src / name)
    return src


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_virtualenv_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    context = docker_context(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(context)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(dist.glob("ionsim-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    ionsim = str(bin_dir / "ionsim")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ionsim, *args], cwd=outside, capture_output=True, text=True, timeout=60
        )

    assert run("--help").returncode == 0
    ion = run("ionapi", "--tenant", "DEMO_TST")
    assert ion.returncode == 0, ion.stderr
    assert json.loads(ion.stdout)["pu"] == "http://127.0.0.1:8080/DEMO_TST/as/"
    cov = run("coverage")
    assert cov.returncode == 0 and "CRS610MI" in cov.stdout, cov.stderr
    where = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import simulator.resources as r; print(r.find('contracts/ion-events.asyncapi.yaml'));"
            "print(r.find('fixtures/seed/demo'))",
        ],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=60,
    )
    paths = where.stdout.split()
    assert len(paths) == 2 and all("_data" in p and str(ROOT) not in p for p in paths), where
    proc = subprocess.Popen(
        [ionsim, "serve", "--port", "0", "--no-access-log"],
        cwd=outside,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ionsim ready on http://127.0.0.1:")
        import httpx

        assert httpx.get(line.split()[-1] + "/_sim/health").json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
