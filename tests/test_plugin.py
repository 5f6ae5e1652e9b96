"""The pytest plugin, run the way users run it: pytest in a fresh project (pytester).

Each case writes test files into an empty directory and runs pytest on them in a subprocess,
with the plugin loaded from its installed entry point, as in a user's CI. The commands of
docs/ci.md are run here too, extracted from the document so the two cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from simulator.harness import M3Client, start_thread
from simulator.harness.server import IonsimServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
CI_DOC = ROOT / "docs" / "ci.md"
BIN = Path(sys.executable).parent

EVERY_FIXTURE = """
import json

import pytest
from simulator.errors import MIError


def test_ionapi_and_client(ionsim_tenant, ionsim_ionapi, ionsim_client, ionsim_server):
    assert json.loads(ionsim_ionapi.read_text())["ti"] == ionsim_tenant.name
    assert ionsim_tenant.ionapi["ti"] == ionsim_tenant.name
    assert ionsim_tenant.seed == "demo"
    assert ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="C10001")[0]["CUNO"] == "C10001"
    assert ionsim_server.url.startswith("http://")


@pytest.mark.ionsim_seed("minimal")
def test_marker_chooses_the_seed(ionsim_tenant, ionsim_client):
    assert ionsim_tenant.seed == "minimal"
    ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
    with pytest.raises(MIError):
        ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="C10001")


@pytest.mark.parametrize("round", [1, 2])
def test_each_test_has_its_own_tenant(ionsim_client, round):
    # The same customer number twice: would be a duplicate if tenants were shared.
    ionsim_client.execute("CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="Iso", CUA1="x", CUNO="ISO1")


def test_webhook_and_events(ionsim_client, ionsim_webhook, ionsim_events):
    ionsim_webhook.fail_next(1, status=503, channel="order/synced")  # ionsim retries
    orno = ionsim_client.execute("OIS100MI", "AddBatchHead", CUNO="C10001")[0]["ORNO"]
    ionsim_client.execute("OIS100MI", "AddBatchLine", ORNO=orno, ITNO="TENT-2P", ORQT="2")
    final = ionsim_client.execute("OIS100MI", "Confirm", ORNO=orno)[0]["ORNO"]
    event = ionsim_webhook.wait_for(
        "order/synced", where=lambda e: e["data"]["orderNumber"] == final
    )
    assert event["data"]["customerNumber"] == "C10001"
    statuses = [d.status for d in ionsim_webhook.deliveries if d.channel == "order/synced"]
    assert statuses == [503, 200]
    assert all(d.signature_ok for d in ionsim_webhook.deliveries)
    stock = ionsim_webhook.wait_for("inventory/synced")
    assert stock["data"]["available"] == 38.0
    ionsim_webhook.assert_no("customer/synced")
    assert [e["data"]["orderNumber"] for e in ionsim_events.channel("order/synced")] == [final]
    assert len(ionsim_events) == 2
    assert {e["documentType"] for e in ionsim_events} == {"SyncSalesOrder", "SyncInventory"}


def test_controls(ionsim_tenant, ionsim_client):
    snap = ionsim_tenant.snapshot()
    ionsim_client.execute("CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="Snap", CUA1="x", CUNO="SNAP")
    ionsim_tenant.restore(snap)
    with pytest.raises(MIError):
        ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="SNAP")
    ionsim_tenant.authorization(
        {"enabled": True, "grants": {"IONSIM": ["CRS610MI/GetBasicData"]}}
    )
    ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="C10001")
    with pytest.raises(MIError) as info:
        ionsim_client.execute("CRS610MI", "LstByName", CUNM="A")
    assert info.value.code == "XAU0001"
    ionsim_tenant.authorization({"enabled": False})
    ionsim_tenant.throttle(
        {"timePeriodInMilliseconds": 60000, "spikeArrest": {"maxRequestsPerPeriod": 1}}
    )
    waits = []
    ionsim_client.sleep = lambda s: (waits.append(s), ionsim_tenant.advance_clock(s))
    ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="C10001")
    ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="C10001")
    assert waits and ionsim_tenant.throttle()["counters"]["totals"]["rejectedSpikeArrest"] >= 1
    ionsim_tenant.advance_clock(7201)
    ionsim_client.execute("CRS610MI", "GetBasicData", CUNO="C10001")
    assert ionsim_client.token_fetches == 2
    ionsim_tenant.reset()
"""
EVERY_FIXTURE_TESTS = 6


@pytest.fixture(scope="module")
def outer_server() -> Iterator[IonsimServer]:
    """A server started by this test process, warmed up by one MI call.

    Module scope matters: `pytester` drops every module first imported during a test when the
    test ends, and a second import of cryptography's classes breaks PyJWT's checks in later
    tests. Started here, before any pytester test, the imports stay.
    """
    with start_thread() as srv:
        tenant = srv.new_tenant("minimal")
        with M3Client.from_ionapi(tenant.ionapi) as client:
            client.execute("CRS610MI", "GetBasicData", CUNO="TEMPLATE")
        tenant.delete()
        yield srv


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def doc_block(name: str) -> str:
    """The fenced block after `<!-- ci-doc: name -->` in docs/ci.md."""
    text = CI_DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- ci-doc: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S)
    assert m, f"docs/ci.md has no block {name!r}"
    return m.group(1)


def shell_env() -> dict[str, str]:
    """The environment CI has: ionsim, pytest and curl on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


# ---- the plugin ----


def test_every_fixture_in_a_thread_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_all=EVERY_FIXTURE)
    result = run(pytester, "--strict-markers")
    result.assert_outcomes(passed=EVERY_FIXTURE_TESTS)


def test_every_fixture_in_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_all=EVERY_FIXTURE
        + textwrap.dedent(
            """
            def test_mode(ionsim_server):
                assert ionsim_server.mode == "inprocess"
                assert ionsim_server.app is not None
            """
        )
    )
    result = run(pytester, "--ionsim-inprocess")
    result.assert_outcomes(passed=EVERY_FIXTURE_TESTS + 1)


def test_ini_options_and_seed_fixture_override(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nionsim_inprocess = true\nionsim_seed = minimal\n")
    pytester.makepyfile(
        test_ini="""
        def test_ini(ionsim_server, ionsim_tenant):
            assert ionsim_server.mode == "inprocess"
            assert ionsim_tenant.seed == "minimal"
        """
    )
    pytester.mkpydir("sub")
    pytester.path.joinpath("sub", "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef ionsim_seed():\n    return 'demo'\n"
    )
    pytester.path.joinpath("sub", "test_override.py").write_text(
        "def test_override(ionsim_tenant):\n    assert ionsim_tenant.seed == 'demo'\n"
    )
    run(pytester).assert_outcomes(passed=2)


def test_failing_wait_for_lists_near_misses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_miss="""
        def test_miss(ionsim_client, ionsim_webhook):
            orno = ionsim_client.execute("OIS100MI", "AddBatchHead", CUNO="C10001")[0]["ORNO"]
            ionsim_client.execute("OIS100MI", "AddBatchLine", ORNO=orno, ITNO="TENT-2P", ORQT="2")
            ionsim_client.execute("OIS100MI", "Confirm", ORNO=orno)
            ionsim_webhook.wait_for("inventory/synced")
            ionsim_webhook.wait_for(
                "order/synced", where=lambda e: e["data"]["orderNumber"] == "999", timeout=1
            )
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert (
        """no delivery on 'order/synced' matching lambda e: e["data"]["orderNumber"] == "999" """
        "within 1s (got 0)"
    ) in out
    assert "on 'order/synced', not matching:" in out
    assert re.search(r'order/synced \w+ attempt 1: \{"orderNumber": "\d+"', out)
    assert "on other channels:" in out
    assert "inventory/synced" in out
    assert "ionsim published 2 event(s) for tenant PT" in out


def test_where_that_raises_is_shown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_raise="""
        def test_raise(ionsim_client, ionsim_webhook):
            ionsim_client.execute("CRS610MI", "Add", CUTM="TEMPLWEB", CUNM="K", CUA1="x")
            ionsim_webhook.wait_for(
                "customer/synced", where=lambda e: e["data"]["nope"], timeout=0.5
            )
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    assert "(where raised KeyError: 'nope')" in result.stdout.str()


def test_against_a_running_server_with_ionsim_url(
    outer_server: IonsimServer, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_all=EVERY_FIXTURE)
    srv = outer_server
    result = run(pytester, f"--ionsim-url={srv.url}")
    result.assert_outcomes(passed=EVERY_FIXTURE_TESTS)
    tenants = [t["name"] for t in srv.admin.http.get("/_sim/tenants").json()["tenants"]]
    published = {e["tenant"] for e in srv.admin.events()}
    assert tenants == ["DEMO_TST"], "the plugin deletes its tenants"
    assert published and all(t.startswith("PT") for t in published)


def test_ionsim_url_that_does_not_answer_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(ionsim_tenant):\n    pass\n")
    url = f"http://127.0.0.1:{free_port()}"
    result = run(pytester, f"--ionsim-url={url}", "-o", "ionsim_wait=0.3")
    result.assert_outcomes(errors=1)
    assert "no ionsim answers /_sim/health at http://127.0.0.1:" in result.stdout.str()


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    # Subprocesses, not inline runs: an inline run unloads modules it imported (cryptography's),
    # which breaks the objects other tests of this process still hold.
    result = run(pytester, "--markers")
    assert "@pytest.mark.ionsim_seed(name)" in result.stdout.str()
    help_text = run(pytester, "--help").stdout.str()
    assert "--ionsim-url" in help_text
    assert "--ionsim-inprocess" in help_text


def test_plugin_import_stays_light() -> None:
    code = (
        "import sys, simulator.harness.plugin, simulator.harness;"
        "heavy = sorted(m for m in ('starlette', 'uvicorn', 'httpx', 'anyio') if m in sys.modules);"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- docs/ci.md, command by command ----


def write_doc_project(pytester: pytest.Pytester) -> None:
    for name in ("connector.py", "conftest.py", "test_connector.py"):
        pytester.path.joinpath(name).write_text(doc_block(name), encoding="utf-8")


def test_ci_doc_fresh_project_passes_then_fails_clearly(pytester: pytest.Pytester) -> None:
    write_doc_project(pytester)
    assert doc_block("run-plugin").strip() == "pytest"
    run(pytester).assert_outcomes(passed=2)

    connector = pytester.path / "connector.py"
    broken = connector.read_text().replace('if "errorMessage" in result:', "if False:")
    assert broken != connector.read_text()
    connector.write_text(broken)
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "test_unknown_customer_is_a_clear_error" in out
    assert "IndexError" in out


def run_shell(script: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs `script` in bash in its own process group, killed (only it) if it overruns."""
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def test_ci_doc_serve_in_background(pytester: pytest.Pytester) -> None:
    write_doc_project(pytester)
    script = doc_block("serve-background").replace("8080", str(free_port()))
    done = run_shell("set -e\n" + script + "wait $! || true\necho SERVER-STOPPED\n", pytester.path)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout
    assert "SERVER-STOPPED" in done.stdout


def test_github_actions_example_runs_the_documented_commands() -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["contract-tests"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert runs[0].startswith("pip install ionsim")
    assert runs[1].strip() == doc_block("run-plugin").strip()
    assert runs[2] == doc_block("serve-background")
    assert all("timeout-minutes" in s for s in steps if "run" in s and "until" in s["run"])


def test_ci_doc_docker_arguments() -> None:
    """The image's ENTRYPOINT is `ionsim`: run it with the arguments docs/ci.md gives the image."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["ionsim"]' in dockerfile
    doc = CI_DOC.read_text()
    line = next(x for x in doc.splitlines() if x.startswith("docker run"))
    args = shlex.split(line)
    image_args = args[args.index("serve") :]
    assert args[args.index("serve") - 1] == "ionsim", "the image name comes before its arguments"
    port = free_port()
    image_args = [a.replace("8080", str(port)) for a in image_args]
    with subprocess.Popen(
        [str(BIN / "ionsim"), *image_args, "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        try:
            lines: list[str] = []
            out = proc.stdout
            assert out is not None
            reader = threading.Thread(target=lambda: lines.append(out.readline()))
            reader.start()
            reader.join(30)
            ready = lines[0] if lines else "(nothing within 30 s)"
            assert ready.strip() == f"ionsim ready on http://127.0.0.1:{port}", ready
        finally:
            proc.terminate()
            assert proc.wait(20) == 0


def test_readme_ci_section_only_shows_tested_commands() -> None:
    """Every block of the README's CI section is a block of docs/ci.md, run by the tests above."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## CI\b.*?(?=^## |\Z)", readme, re.S | re.M)
    if m is None:
        pytest.skip("README.md has no '## CI' section yet")
    doc = CI_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```\w*\n(.*?)```", m.group(0), re.S)
    assert blocks
    for block in blocks:
        assert block in doc, f"README block not in docs/ci.md (so not tested):\n{block}"
