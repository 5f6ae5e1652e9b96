"""Load scenarios for Locust (optional extra: `pip install 'ionsim[load]'`).

Locust runs on gevent and ionsim on asyncio; they do not share a process, so the scenarios live
in a locustfile run by the `locust` command against a running `ionsim serve`:

    locust -f "$(python -c 'import simulator.load as l; print(l.LOCUSTFILE)')" \\
        --headless -u 20 -r 10 -t 30s --host http://127.0.0.1:8080

Importing this package does not import Locust: `LOCUSTFILE` is only the path to hand it.
The helpers in `simulator.load.client` (tokens) and `simulator.load.events` (event payloads) are
plain Python so they can be tested without Locust.
"""

from __future__ import annotations

from pathlib import Path

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))

__all__ = ["LOCUSTFILE"]
