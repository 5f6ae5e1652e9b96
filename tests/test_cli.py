"""The `ionsim` command as a user runs it: a real process, a real port, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from simulator.cli import main

IONSIM = [sys.executable, "-m", "simulator"]


@contextmanager
def serving(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Starts `ionsim serve`, waits for its ready line, yields (process, base URL).

    stderr (the request log) goes to a file: a pipe nobody reads would block the server.
    """
    with (
        tempfile.TemporaryFile("w+") as log,
        subprocess.Popen(
            [*IONSIM, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **(env or {})},
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            log.seek(0)
            assert line.startswith("ionsim ready on http://127.0.0.1:"), (line, log.read())
            yield proc, line.split()[-1]
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def test_serve_prints_ready_with_the_real_port_and_serves_demo_tenant() -> None:
    with serving() as (_, url):
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        assert httpx.get(f"{url}/_sim/health").json()["status"] == "ok"
        ion = httpx.get(f"{url}/_sim/tenants/DEMO_TST/ionapi").json()
        assert ion["iu"] == url and ion["pu"] == f"{url}/DEMO_TST/as/"
        tok = httpx.post(
            ion["pu"] + ion["ot"],
            data={"grant_type": "password", "username": ion["saak"], "password": ion["sask"]},
            auth=(ion["ci"], ion["cs"]),
        ).json()["access_token"]
        r = httpx.get(
            f"{ion['iu']}/{ion['ti']}/M3/m3api-rest/v2/execute/CRS610MI/GetBasicData",
            params={"CUNO": "C10001"},
            headers={"Authorization": f"Bearer {tok}"},
        )
        assert r.json()["results"][0]["records"][0]["CUNM"] == "Nordic Outdoor AB"


def test_sigterm_shuts_down_cleanly_with_exit_0() -> None:
    with serving("--no-access-log") as (proc, url):
        httpx.get(f"{url}/_sim/health")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_ctrl_c_shuts_down_cleanly() -> None:
    with serving("--no-access-log") as (proc, _):
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_several_tenants_are_isolated_and_config_comes_from_env() -> None:
    with serving(
        "--tenant",
        "A_TST",
        "--tenant",
        "B_TST",
        "--seed",
        "minimal",
        env={"IONSIM_TOKEN_LIFETIME": "60"},
    ) as (_, url):
        names = [t["name"] for t in httpx.get(f"{url}/_sim/tenants").json()["tenants"]]
        assert names == ["A_TST", "B_TST"]
        a = httpx.get(f"{url}/_sim/tenants/A_TST/ionapi").json()
        b = httpx.get(f"{url}/_sim/tenants/B_TST/ionapi").json()
        assert a["ci"] != b["ci"]
        tok = httpx.post(
            f"{url}/A_TST/as/token.oauth2",
            data={
                "grant_type": "client_credentials",
                "client_id": a["ci"],
                "client_secret": a["cs"],
            },
        ).json()
        assert tok["expires_in"] == 60


def test_serve_with_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants: [{name: 'no spaces allowed'}]\n")
    r = subprocess.run(
        [*IONSIM, "serve", "--config", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2
    assert r.stderr.startswith("ionsim: error:") and "Traceback" not in r.stderr


def test_serve_with_a_broken_mi_definition_names_the_file(tmp_path: Path) -> None:
    mi = tmp_path / "contracts" / "mi"
    mi.mkdir(parents=True)
    (mi / "CRS610MI.yaml").write_text(
        "program: CRS610MI\ndescription: x\ntransactions:\n  Add:\n    input:\n"
        "      CUNO: {type: Q, length: 10}\n"
    )
    r = subprocess.run(
        [*IONSIM, "serve", "--data-dir", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert "CRS610MI.yaml" in r.stderr and "/transactions/Add/input/CUNO" in r.stderr
    assert "Traceback" not in r.stderr


def test_port_in_use_is_a_clear_error() -> None:
    with serving("--no-access-log") as (_, url):
        port = url.rsplit(":", 1)[1]
        r = subprocess.run(
            [*IONSIM, "serve", "--port", port], capture_output=True, text=True, timeout=30
        )
        assert r.returncode == 2 and "cannot listen" in r.stderr


def test_ionapi_command_prints_and_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ionapi", "--tenant", "ACME_TST", "--url", "http://127.0.0.1:9999/"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == [
        "ti",
        "cn",
        "dt",
        "ci",
        "cs",
        "iu",
        "pu",
        "oa",
        "ot",
        "or",
        "ev",
        "v",
        "saak",
        "sask",
    ]
    assert (
        doc["iu"] == "http://127.0.0.1:9999" and doc["pu"] == "http://127.0.0.1:9999/ACME_TST/as/"
    )
    out = tmp_path / "x.ionapi"
    assert (
        main(
            ["ionapi", "--tenant", "ACME_TST", "--url", "http://127.0.0.1:9999", "--out", str(out)]
        )
        == 0
    )
    assert json.loads(out.read_text()) == doc


def test_ionapi_file_matches_the_running_server() -> None:
    with serving("--no-access-log") as (_, url):
        served = httpx.get(f"{url}/_sim/tenants/DEMO_TST/ionapi").json()
    printed = subprocess.run(
        [*IONSIM, "ionapi", "--url", url], capture_output=True, text=True, timeout=30
    )
    assert json.loads(printed.stdout) == served


def test_coverage_and_contracts_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage"]) == 0
    table = capsys.readouterr().out
    assert "CRS610MI" in table and "OIS100MI" in table
    assert main(["contracts", "list"]) == 0
    assert "CRS610MI" in capsys.readouterr().out


def test_usage_errors_exit_2() -> None:
    r = subprocess.run([*IONSIM, "frobnicate"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    r = subprocess.run(
        [*IONSIM, "serve", "--port", "notaport"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2


def test_start_up_is_fast() -> None:
    """Not a timing assertion: the start-up benchmark lives in bench/. This checks it starts at all
    from a cold interpreter and says how long it took, for the log."""
    t = time.perf_counter()
    with serving("--no-access-log") as (_, url):
        assert httpx.get(f"{url}/_sim/health").status_code == 200
    print(f"start-up to first 200: {time.perf_counter() - t:.3f} s")


def _customers(url: str) -> set[str]:
    snap = httpx.get(f"{url}/_sim/tenants/DEMO_TST/snapshot").json()
    return {row["CUNO"] for row in snap["state"]["tables"]["customers"]["rows"]}


def test_state_control_commands_against_a_running_server(tmp_path: Path) -> None:
    with serving("--no-access-log") as (_, url):
        saved = tmp_path / "demo.json"
        ctl = [*IONSIM]
        r = subprocess.run(
            [*ctl, "snapshot", "--url", url, "--out", str(saved)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        assert "C10001" in _customers(url)
        r = subprocess.run(
            [*ctl, "seed", "minimal", "--url", url], capture_output=True, text=True, timeout=30
        )
        assert r.returncode == 0, r.stderr
        assert "C10001" not in _customers(url)
        r = subprocess.run(
            [*ctl, "restore", str(saved), "--url", url], capture_output=True, text=True, timeout=30
        )
        assert r.returncode == 0, r.stderr
        assert "C10001" in _customers(url)
        r = subprocess.run(
            [*ctl, "reset", "--url", url, "--tenant", "NOPE"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 1 and "404" in r.stderr
        r = subprocess.run(
            [*ctl, "restore", str(tmp_path / "missing.json"), "--url", url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 2 and "cannot read" in r.stderr
    r = subprocess.run([*IONSIM, "reset", "--url", url], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "cannot reach" in r.stderr
