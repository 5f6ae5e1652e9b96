"""Wires the connector to the ionsim plugin: the connector gets the test tenant's .ionapi file.

This is all a project needs; the `ionsim_*` fixtures come from the installed plugin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connector import M3, WebshopConnector


@pytest.fixture
def connector(ionsim_ionapi, ionsim_server, ionsim_tenant) -> Iterator[WebshopConnector]:
    # Waiting for a 429 moves ionsim's clock instead of sleeping: the test stays fast.
    m3 = M3.from_file(
        ionsim_ionapi, transport=ionsim_server.transport, sleep=ionsim_tenant.advance_clock
    )
    yield WebshopConnector(m3)
    m3.close()
