"""A Hypothesis state machine over MI transactions: M3's invariants hold after every step.

It drives the engine directly (no HTTP) so it can run many steps: customers are added and
deleted, orders go through the batch and the direct flows, lines are added and deleted, orders
are delivered and invoiced. After each step: order and line numbers are unique, stock balances
add up (on-hand = allocated + available, warehouse = sum of locations, allocated = what open
lines hold), head totals are the sum of their lines, head status spans the line statuses, and
deleted records are gone.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from simulator import ManualClock, MIError, load_config
from simulator.m3 import orders
from simulator.m3.engine import CallContext
from simulator.m3.tables import table
from simulator.runtime import Simulator

ITEMS = ["TENT-2P", "BOOT-42", "JACKET-M", "SLBAG-3S", "STOVE-GAS", "HLAMP-300"]
SIM = Simulator(load_config(env={}, access_log=False), ManualClock())


def dec(v: str | None) -> Decimal:
    return Decimal(v or "0")


class M3Machine(RuleBasedStateMachine):
    customers = Bundle("customers")
    batches = Bundle("batches")
    order_numbers = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        SIM.reset_tenant("DEMO_TST")
        self.state = SIM.tenants["DEMO_TST"].state
        self.clock = SIM.clock
        self.deleted_customers: set[str] = set()
        self.deleted_orders: set[str] = set()
        self.finals: list[str] = []

    def call(self, program: str, transaction: str, **fields: str) -> list[dict[str, str]]:
        ctx = CallContext(tenant="DEMO_TST", cono="100", divi="AAA", now=self.clock.now())
        return SIM.engine.execute(self.state, program, transaction, fields, ctx)

    def ctx(self) -> CallContext:
        return CallContext(tenant="DEMO_TST", cono="100", divi="AAA", now=self.clock.now())

    @rule(
        target=customers,
        name=st.text("ABCDEFGHIJ ", min_size=1, max_size=20).map(str.strip).filter(bool),
    )
    def add_customer(self, name: str) -> str:
        cuno = self.call("CRS610MI", "Add", CUTM="TEMPLATE", CUNM=name, CUA1="Road 1")[0]["CUNO"]
        assert cuno not in self.deleted_customers
        return cuno

    @rule(cuno=consumes(customers))
    def delete_customer(self, cuno: str) -> None:
        try:
            self.call("CRS610MI", "Delete", CUNO=cuno)
        except MIError as e:
            assert "open customer orders" in e.message
            return
        self.deleted_customers.add(cuno)

    @rule(target=batches, cuno=customers)
    def add_batch_head(self, cuno: str) -> str:
        if cuno in self.deleted_customers:
            return "gone"
        return self.call("OIS100MI", "AddBatchHead", CUNO=cuno)[0]["ORNO"]

    @rule(orno=batches, item=st.sampled_from(ITEMS), qty=st.integers(1, 40))
    def add_batch_line(self, orno: str, item: str, qty: int) -> None:
        if orno in self.finals or orno == "gone":
            return
        self.call("OIS100MI", "AddBatchLine", ORNO=orno, ITNO=item, ORQT=str(qty))

    @rule(target=order_numbers, orno=consumes(batches))
    def confirm(self, orno: str) -> str:
        try:
            final = self.call("OIS100MI", "Confirm", ORNO=orno)[0]["ORNO"]
        except MIError:
            return "none"
        assert final != orno and final not in self.finals
        self.finals.append(final)
        return final

    @rule(target=order_numbers, cuno=customers)
    def add_order_head(self, cuno: str) -> str:
        if cuno in self.deleted_customers:
            return "none"
        orno = self.call("OIS100MI", "AddOrderHead", CUNO=cuno)[0]["ORNO"]
        assert orno not in self.finals
        self.finals.append(orno)
        return orno

    @rule(orno=order_numbers, item=st.sampled_from(ITEMS), qty=st.integers(1, 30))
    def add_order_line(self, orno: str, item: str, qty: int) -> None:
        if orno in self.deleted_orders or orno == "none":
            return
        try:
            self.call("OIS100MI", "AddOrderLine", ORNO=orno, ITNO=item, ORQT=str(qty))
        except MIError as e:
            assert e.code != ""  # a business refusal, e.g. the item is not in the warehouse

    @rule(orno=order_numbers, data=st.data())
    def del_line(self, orno: str, data: st.DataObject) -> None:
        if orno in self.deleted_orders or orno == "none":
            return
        lines = list(orders.order_lines(self.state, "100", orno))
        if not lines:
            return
        line = data.draw(st.sampled_from(lines))
        try:
            self.call("OIS100MI", "DelLine", ORNO=orno, PONR=line["PONR"], POSX=line["POSX"])
        except MIError:
            assert dec(line.get("DLQT")) > 0

    @rule(orno=consumes(order_numbers))
    def del_head(self, orno: str) -> None:
        if orno in self.deleted_orders or orno == "none":
            return
        try:
            self.call("OIS100MI", "DelHead", ORNO=orno)
        except MIError:
            return
        self.deleted_orders.add(orno)

    @rule(orno=order_numbers)
    def deliver_and_invoice(self, orno: str) -> None:
        if orno in self.deleted_orders or orno == "none":
            return
        try:
            orders.deliver(self.state, self.ctx(), "100", orno, None)
            orders.invoice(self.state, self.ctx(), "100", orno)
        except MIError:
            pass

    @invariant()
    def numbers_are_unique(self) -> None:
        assert len(set(self.finals)) == len(self.finals)
        for orno in self.finals:
            if orno in self.deleted_orders:
                continue
            ponrs = [(ln["PONR"], ln["POSX"]) for ln in orders.order_lines(self.state, "100", orno)]
            assert len(set(ponrs)) == len(ponrs)

    @invariant()
    def stock_adds_up(self) -> None:
        held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in table(self.state, "order_lines").rows.values():
            held[(line["WHLO"], line["ITNO"])] += dec(line.get("ALQT"))
        locations: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
        for b in table(self.state, "balances").rows.values():
            assert dec(b["STQT"]) == dec(b["ALQT"]) + dec(b["AVAL"]) and dec(b["AVAL"]) >= 0
            acc = locations[(b["CONO"], b["WHLO"], b["ITNO"])]
            for i, k in enumerate(("STQT", "ALQT", "AVAL")):
                acc[i] += dec(b[k])
        for w in table(self.state, "item_warehouses").rows.values():
            on_hand, allocated, available = dec(w["STQT"]), dec(w["ALQT"]), dec(w["AVAL"])
            assert on_hand == allocated + available
            assert min(on_hand, allocated, available) >= 0
            if (w["CONO"], w["WHLO"], w["ITNO"]) in locations:
                assert locations[(w["CONO"], w["WHLO"], w["ITNO"])] == [
                    on_hand,
                    allocated,
                    available,
                ]
            if w["CONO"] == "100":
                assert allocated == held.get((w["WHLO"], w["ITNO"]), Decimal(0))

    @invariant()
    def heads_sum_their_lines(self) -> None:
        for head in table(self.state, "orders").rows.values():
            lines = list(orders.order_lines(self.state, head["CONO"], head["ORNO"]))
            assert dec(head["NTAM"]) == sum((dec(ln["NLAM"]) for ln in lines), Decimal(0))
            if lines:
                statuses = [ln["ORST"] for ln in lines]
                assert head["ORSL"] == min(statuses) and head["ORST"] == max(statuses)

    @invariant()
    def deleted_records_are_gone(self) -> None:
        for cuno in self.deleted_customers:
            assert table(self.state, "customers").get(("100", cuno)) is None
        for orno in self.deleted_orders:
            assert table(self.state, "orders").get(("100", orno)) is None
            assert not list(orders.order_lines(self.state, "100", orno))


M3Machine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestM3StateMachine = M3Machine.TestCase
