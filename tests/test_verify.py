"""`verify` passes a correct consumer and catches planted bugs with a minimal payload.

The consumers are small ASGI apps that validate with the contract (as a careful consumer would);
the planted bugs are the ones QA plants: a 500 on `totalAmount` 0, a 200 on a missing eventId.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from simulator.events.contract import load_contract
from simulator.events.verify import verify_consumer
from simulator.qa_cli import main

CONTRACT = load_contract()


def consumer(bug: str = "") -> Any:
    """An ASGI consumer: 200 for valid events, 400 for invalid ones, unless a bug is planted."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        channel = dict(scope["headers"]).get(b"x-ionsim-channel", b"").decode()
        try:
            payload = orjson.loads(body)
            status = 400 if CONTRACT.errors(channel, payload) else 200
        except (orjson.JSONDecodeError, ValueError):
            payload, status = None, 400
        data = payload.get("data") if isinstance(payload, dict) else None
        if bug == "zero" and isinstance(data, dict) and data.get("totalAmount") == 0:
            status = 500
        if bug == "eventId" and isinstance(payload, dict) and "eventId" not in payload:
            status = 200
        reply = orjson.dumps({"status": status, "bug": bug or None})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    return app


def test_a_correct_consumer_passes() -> None:
    report = verify_consumer(consumer(), "order/synced", examples=40, seed=1)
    assert report.passed, report.summary()
    assert [c.name for c in report.checks] == [
        "valid events",
        "missing required field",
        "wrong type",
        "enum outside its set",
        "malformed date-time",
    ]
    assert all(c.sent >= 10 for c in report.checks)


def test_rejecting_a_zero_total_is_caught_with_a_minimal_payload() -> None:
    report = verify_consumer(consumer("zero"), "order/synced", examples=100, seed=0)
    assert not report.passed
    valid = report.checks[0]
    assert valid.failure is not None and valid.failure.status == 500
    payload = valid.failure.payload
    assert payload["data"] == {"totalAmount": 0}
    assert set(payload) <= {"eventId", "documentType", "timestamp", "data"}  # the required ones
    text = report.summary()
    assert '"totalAmount": 0.0' in text and "HTTP 500" in text and '"bug":"zero"' in text


def test_accepting_a_missing_event_id_is_caught() -> None:
    report = verify_consumer(consumer("eventId"), "order/synced", examples=50, seed=0)
    failed = {c.name: c for c in report.checks if not c.passed}
    assert set(failed) == {"missing required field"}
    failure = failed["missing required field"].failure
    assert failure is not None and failure.status == 200
    assert "eventId" not in failure.payload and failure.payload["data"] == {}
    assert "expected 4xx, the consumer answered HTTP 200" in report.summary()


def test_channels_without_required_fields_skip_that_check() -> None:
    report = verify_consumer(consumer(), "customer/deleted", examples=15, seed=2)
    assert report.passed, report.summary()
    skipped = [c for c in report.checks if c.skipped]
    assert [c.name for c in skipped] == ["missing required field"]


@pytest.fixture
def consumer_url() -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            consumer("zero"), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/ion"
    server.should_exit = True
    thread.join(10)


def test_cli_verify_over_http_prints_the_minimal_payload_and_writes_junit(
    consumer_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "verify.xml"
    argv = [
        "verify",
        "--target",
        consumer_url,
        "--channel",
        "order/synced",
        "--examples",
        "60",
        "--seed",
        "0",
        "--junit",
        str(junit),
    ]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAIL valid events" in out and '"totalAmount": 0.0' in out and "HTTP 500" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") != "0"
    assert "totalAmount" in (suite.find("testcase/failure").text or "")  # type: ignore[union-attr]
    assert main(["verify", "--target", consumer_url, "--channel", "nope/*"]) == 2
