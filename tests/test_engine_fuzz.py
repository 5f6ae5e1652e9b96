"""No input of any shape makes a simulated MI transaction fail with anything but an M3 NOK.

Exhaustive rather than random: for every transaction with behaviour, every input field in turn
gets every odd value (numbers in odd spellings, digits of other scripts, dates that are not
dates, long and empty strings), while the key fields hold records that exist in the demo seed so
the call gets past "does not exist" to the real work. The engine must answer records or raise
`MIError`, never crash: a crash is a 500 on the wire. About 60,000 calls, a few seconds.
"""

from __future__ import annotations

import pytest

from simulator import ManualClock, MIError, load_config
from simulator.m3.engine import CallContext
from simulator.runtime import Simulator

SIM = Simulator(load_config(env={}, access_log=False), ManualClock())
TRANSACTIONS = sorted(
    (p, t)
    for (p, t) in SIM.engine.handlers
    if (trx := SIM.catalog.transaction(p, t)) is not None and trx.described
)
ODD = ["NaN", "Infinity", "-0", "1e5", "1.", ".5", "-", "0x10", "٣", "20241340", "99999999",
       "", " ", "1" * 30, "Ä€", "'; DROP TABLE x", "%00", "-1", "0"]  # fmt: skip
KEYS = {"CUNO": "C10001", "SUNO": "S10001", "ITNO": "TENT-2P", "WHLO": "001", "FACI": "A01",
        "ORNO": "1000000003", "CUTM": "TEMPLATE", "CONO": "100", "PONR": "1", "INBN": "1",
        "KEY1": "K1", "MSGN": "1", "PUNO": "1000001"}  # fmt: skip


@pytest.mark.parametrize(("program", "transaction"), TRANSACTIONS)
def test_odd_values_in_any_field_answer_records_or_a_nok(program: str, transaction: str) -> None:
    SIM.reset_tenant("DEMO_TST")
    state = SIM.tenants["DEMO_TST"].state
    trx = SIM.catalog.transaction(program, transaction)
    assert trx is not None
    base = {f.name: KEYS[f.name] for f in trx.inputs if f.name in KEYS}
    for field in trx.inputs:
        for value in ODD:
            fields = {**base, field.name: value}
            ctx = CallContext(tenant="DEMO_TST", cono="100", divi="AAA", now=SIM.clock.now())
            try:
                records = SIM.engine.execute(state, program, transaction, fields, ctx)
            except MIError:
                continue
            except Exception as exc:  # the finding: name the call that crashed
                raise AssertionError(f"{program}/{transaction} {fields} -> {exc!r}") from exc
            assert all(isinstance(v, str) for r in records for v in r.values())
