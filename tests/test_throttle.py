"""Throttle policy parsing and the admit / delay / refuse decisions, driven by a ManualClock."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.clock import ManualClock
from simulator.errors import RequestError
from simulator.gateway.throttle import Decision, QuotaPolicy, Throttle, ThrottlePolicy

NESTED = {
    "timePeriodInMilliseconds": 60000,
    "rateSmoothing": {"delayAfterCount": 5, "delayFactorInMilliseconds": 1000},
    "spikeArrest": {"maxRequestsPerPeriod": 20},
    "quota": {"allow": 1000, "interval": 1, "timeUnit": "hour", "userLevel": True},
}
FLAT = {
    "timePeriodInMilliseconds": 60000,
    "rateSmoothing.delayAfterCount": 5,
    "rateSmoothing.delayFactorInMilliseconds": 1000,
    "spikeArrest.maxRequestsPerPeriod": 20,
    "quota": {"userLevel": True, "interval": 1, "timeUnit": "hour", "allow": 1000},
}
XML = """<?xml version="1.0" encoding="UTF-8"?>
<policies>
  <throttling name="throttling-example" displayName="throttling-example" enabled="true"
              version="1.0" xmlns="http://www.infor.com/ion/api">
    <timePeriodInMilliseconds>60000</timePeriodInMilliseconds>
    <rateSmoothing>
      <delayAfterCount>5</delayAfterCount>
      <delayFactorInMilliseconds>1000</delayFactorInMilliseconds>
    </rateSmoothing>
    <spikeArrest>
      <maxRequestsPerPeriod>20</maxRequestsPerPeriod>
    </spikeArrest>
  </throttling>
  <quota><userLevel>true</userLevel><interval>1</interval><timeUnit>hour</timeUnit>
    <allow>1000</allow></quota>
</policies>
"""
EXPECTED = ThrottlePolicy(
    time_period_ms=60000,
    delay_after_count=5,
    delay_factor_ms=1000,
    max_requests_per_period=20,
    quota=QuotaPolicy(allow=1000, interval=1, time_unit="hour", user_level=True),
)


# ------------------------------------------------------------------ parsing


def test_nested_flat_and_xml_forms_parse_to_the_same_policy() -> None:
    assert ThrottlePolicy.from_json(NESTED) == EXPECTED
    assert ThrottlePolicy.from_json(FLAT) == EXPECTED
    assert ThrottlePolicy.from_xml(XML) == EXPECTED
    assert ThrottlePolicy.from_xml(XML.encode()) == EXPECTED


def test_infor_reference_xml_without_quota_and_without_namespace() -> None:
    with_ns = ThrottlePolicy.from_xml(
        '<throttling xmlns="http://www.infor.com/ion/api" enabled="false">'
        "<timePeriodInMilliseconds>1000</timePeriodInMilliseconds>"
        "<spikeArrest><maxRequestsPerPeriod>3</maxRequestsPerPeriod></spikeArrest></throttling>"
    )
    without_ns = ThrottlePolicy.from_xml(
        '<throttling enabled="false"><timePeriodInMilliseconds> 1000 </timePeriodInMilliseconds>'
        "<spikeArrest><maxRequestsPerPeriod>3</maxRequestsPerPeriod></spikeArrest></throttling>"
    )
    assert with_ns == without_ns == ThrottlePolicy(1000, max_requests_per_period=3, enabled=False)


def test_quota_alone_as_xml_and_json() -> None:
    xml = ThrottlePolicy.from_xml(
        "<quota><userLevel>false</userLevel><interval>60</interval>"
        "<timeUnit>second</timeUnit><allow>1000</allow></quota>"
    )
    baas = ThrottlePolicy.from_json(
        {"quota": {"userLevel": False, "interval": 60, "timeUnit": "second", "allow": 1000}}
    )
    assert xml == baas == ThrottlePolicy(quota=QuotaPolicy(1000, 60, "second", False))
    assert baas.time_period_ms == 60000  # quota-only policies need no period


def test_defaults_and_empty_policy() -> None:
    assert ThrottlePolicy.from_json({}) == ThrottlePolicy.unlimited() == ThrottlePolicy()
    assert ThrottlePolicy.from_json({"quota": {"allow": 7}}).quota == QuotaPolicy(7, 1, "hour")
    assert ThrottlePolicy.unlimited().to_json() == {}
    assert not ThrottlePolicy.unlimited().has_limits


def test_to_json_is_nested_infor_form_with_only_what_is_set() -> None:
    assert EXPECTED.to_json() == NESTED
    assert ThrottlePolicy(5000, max_requests_per_period=2).to_json() == {
        "timePeriodInMilliseconds": 5000,
        "spikeArrest": {"maxRequestsPerPeriod": 2},
    }
    assert ThrottlePolicy(enabled=False).to_json() == {"enabled": False}


positive = st.integers(min_value=1, max_value=2**31 - 1)
policies = st.builds(
    lambda period, smoothing, most, quota, enabled: ThrottlePolicy(
        time_period_ms=period,
        delay_after_count=smoothing[0] if smoothing else None,
        delay_factor_ms=smoothing[1] if smoothing else None,
        max_requests_per_period=most,
        quota=quota,
        enabled=enabled,
    ),
    positive,
    st.none() | st.tuples(positive, positive),
    st.none() | positive,
    st.none()
    | st.builds(
        QuotaPolicy,
        positive,
        positive,
        st.sampled_from(["second", "minute", "hour", "day"]),
        st.booleans(),
    ),
    st.booleans(),
)


@given(policies)
def test_to_json_round_trips(policy: ThrottlePolicy) -> None:
    data = policy.to_json()
    assert ThrottlePolicy.from_json(json.loads(json.dumps(data))) == policy


def _to_xml(policy: ThrottlePolicy) -> str:
    data = policy.to_json()
    parts = [
        f'<throttling xmlns="http://www.infor.com/ion/api" enabled="{str(policy.enabled).lower()}">'
    ]
    parts.append(f"<timePeriodInMilliseconds>{policy.time_period_ms}</timePeriodInMilliseconds>")
    for section in ("rateSmoothing", "spikeArrest"):
        if section in data:
            inner = "".join(f"<{k}>{v}</{k}>" for k, v in data[section].items())
            parts.append(f"<{section}>{inner}</{section}>")
    parts.append("</throttling>")
    if "quota" in data:
        inner = "".join(f"<{k}>{str(v).lower()}</{k}>" for k, v in data["quota"].items())
        parts.append(f"<quota>{inner}</quota>")
    return "<policies>" + "".join(parts) + "</policies>"


@given(policies)
def test_xml_form_parses_to_the_same_policy(policy: ThrottlePolicy) -> None:
    assert ThrottlePolicy.from_xml(_to_xml(policy)) == policy


BAD_JSON: list[tuple[Any, str]] = [
    ({"timePeriodInMilliseconds": 0}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": -5}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": 1.5}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": 60000.0}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": "sixty"}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": True}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": None}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": 2**31}, "timePeriodInMilliseconds"),
    ({"timePeriodInMilliseconds": 10**400}, "timePeriodInMilliseconds"),
    (
        {"timePeriodInMilliseconds": 1000, "spikeArrest": {"maxRequestsPerPeriod": -1}},
        "spikeArrest.maxRequestsPerPeriod must be a positive integer, got -1",
    ),
    (
        {"timePeriodInMilliseconds": 1000, "spikeArrest.maxRequestsPerPeriod": [3]},
        "spikeArrest.maxRequestsPerPeriod",
    ),
    ({"spikeArrest": {"maxRequestsPerPeriod": 3}}, "timePeriodInMilliseconds is required"),
    (
        {"rateSmoothing": {"delayAfterCount": 3, "delayFactorInMilliseconds": 10}},
        "timePeriodInMilliseconds is required",
    ),
    (
        {"timePeriodInMilliseconds": 1000, "rateSmoothing": {"delayAfterCount": 3}},
        "rateSmoothing.delayFactorInMilliseconds",
    ),
    (
        {"timePeriodInMilliseconds": 1000, "rateSmoothing.delayFactorInMilliseconds": 3},
        "rateSmoothing.delayAfterCount",
    ),
    (
        {
            "timePeriodInMilliseconds": 1000,
            "rateSmoothing": {"delayAfterCount": 0, "delayFactorInMilliseconds": 10},
        },
        "rateSmoothing.delayAfterCount",
    ),
    (
        {"timePeriodInMilliseconds": 1000, "rateSmoothing": {"delayAfterCount": 1, "x": 10}},
        "rateSmoothing.x",
    ),
    ({"timePeriodInMilliseconds": 1000, "rateSmoothing": 5}, "rateSmoothing"),
    ({"timePeriodInMilliseconds": 1000, "spikeArrest": [1]}, "spikeArrest"),
    (
        {
            "timePeriodInMilliseconds": 1000,
            "spikeArrest": {"maxRequestsPerPeriod": 3},
            "spikeArrest.maxRequestsPerPeriod": 3,
        },
        "spikeArrest.maxRequestsPerPeriod",
    ),
    ({"timePeriodInMillis": 1000}, "timePeriodInMillis"),
    ({"enabled": "yes"}, "enabled"),
    ({"quota": 5}, "quota"),
    ({"quota": {}}, "quota.allow"),
    ({"quota": {"allow": 0}}, "quota.allow"),
    ({"quota": {"allow": 5, "interval": -1}}, "quota.interval"),
    ({"quota": {"allow": 5, "timeUnit": "week"}}, "quota.timeUnit"),
    ({"quota": {"allow": 5, "timeUnit": 3}}, "quota.timeUnit"),
    ({"quota": {"allow": 5, "userLevel": 1}}, "quota.userLevel"),
    ({"quota": {"allow": 5, "perUser": True}}, "perUser"),
    ([1, 2], "object"),
    ("policy", "object"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD_JSON)
def test_malformed_json_is_refused_naming_the_field(data: Any, fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        ThrottlePolicy.from_json(data)
    assert fragment in info.value.message
    assert info.value.status == 400


@given(
    st.sampled_from(
        [
            "timePeriodInMilliseconds",
            "rateSmoothing.delayAfterCount",
            "rateSmoothing.delayFactorInMilliseconds",
            "spikeArrest.maxRequestsPerPeriod",
        ]
    ),
    st.integers(max_value=0)
    | st.floats(allow_nan=True)
    | st.booleans()
    | st.text().filter(lambda s: not (re.fullmatch(r"\s*[0-9]+\s*", s) and 0 < int(s) < 2**31))
    | st.none()
    | st.lists(st.integers(), max_size=2),
)
def test_any_non_positive_integer_value_is_refused(field: str, value: object) -> None:
    data: dict[str, Any] = {
        "timePeriodInMilliseconds": 1000,
        "rateSmoothing.delayAfterCount": 1,
        "rateSmoothing.delayFactorInMilliseconds": 1,
        "spikeArrest.maxRequestsPerPeriod": 1,
    }
    data[field] = value
    with pytest.raises(RequestError) as info:
        ThrottlePolicy.from_json(data)
    assert field in info.value.message


BAD_XML: list[tuple[str, str]] = [
    ("<throttling>", "well-formed"),
    ("not xml at all", "well-formed"),
    ("", "well-formed"),
    (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        "<throttling><timePeriodInMilliseconds>&lol;</timePeriodInMilliseconds></throttling>",
        "DOCTYPE",
    ),
    ('<!doctype throttling SYSTEM "http://example.com/x.dtd"><throttling/>', "DOCTYPE"),
    (
        "<throttling><timePeriodInMilliseconds>-1</timePeriodInMilliseconds></throttling>",
        "timePeriodInMilliseconds must be a positive integer",
    ),
    (
        "<throttling><timePeriodInMilliseconds>1.5</timePeriodInMilliseconds></throttling>",
        "timePeriodInMilliseconds",
    ),
    (
        "<throttling><timePeriodInMilliseconds/></throttling>",
        "timePeriodInMilliseconds",
    ),
    (
        "<throttling><timePeriodInMilliseconds>1000</timePeriodInMilliseconds>"
        "<spikeArrest><maxRequestsPerPeriod>abc</maxRequestsPerPeriod></spikeArrest></throttling>",
        "spikeArrest.maxRequestsPerPeriod",
    ),
    (
        "<throttling><spikeArrest><maxRequestsPerPeriod>3</maxRequestsPerPeriod></spikeArrest>"
        "</throttling>",
        "timePeriodInMilliseconds is required",
    ),
    (
        "<throttling><timePeriodInMilliseconds>1000</timePeriodInMilliseconds>"
        "<burst>3</burst></throttling>",
        "burst",
    ),
    (
        "<throttling><timePeriodInMilliseconds>1000</timePeriodInMilliseconds>"
        "<spikeArrest><maxRequests>3</maxRequests></spikeArrest></throttling>",
        "maxRequests",
    ),
    (
        "<throttling><timePeriodInMilliseconds>1</timePeriodInMilliseconds>"
        "<timePeriodInMilliseconds>2</timePeriodInMilliseconds></throttling>",
        "timePeriodInMilliseconds",
    ),
    ('<throttling enabled="maybe"/>', "enabled"),
    ('<throttling speed="fast"/>', "speed"),
    ("<quota><allow>5</allow><timeUnit>fortnight</timeUnit></quota>", "quota.timeUnit"),
    ("<quota><allow>5</allow><userLevel>sometimes</userLevel></quota>", "quota.userLevel"),
    ("<quota><interval>5</interval></quota>", "quota.allow"),
    ("<quota><allow>5</allow><limit>3</limit></quota>", "limit"),
    ("<policies><other/></policies>", "other"),
    ("<policies></policies>", "policies"),
    (
        "<policies><quota><allow>1</allow></quota><quota><allow>1</allow></quota></policies>",
        "quota",
    ),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_XML)
def test_malformed_xml_is_refused_naming_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        ThrottlePolicy.from_xml(text)
    assert fragment in info.value.message


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(RequestError, match=re.escape("spikeArrest.maxRequestsPerPeriod")):
        ThrottlePolicy(max_requests_per_period=0)
    with pytest.raises(RequestError, match="rateSmoothing"):
        ThrottlePolicy(delay_after_count=3)
    with pytest.raises(RequestError, match=re.escape("quota.timeUnit")):
        QuotaPolicy(5, time_unit="week")


# ------------------------------------------------------------------ decisions


def _drive(throttle: Throttle, n: int, app: str = "app", user: str = "") -> list[Decision]:
    return [throttle.check(app, user) for _ in range(n)]


def test_infor_example_delays_after_five_and_refuses_the_twenty_first() -> None:
    clock = ManualClock()
    throttle = Throttle(ThrottlePolicy.from_xml(XML), clock)
    got = _drive(throttle, 22)
    assert [d.delay_s for d in got[:5]] == [0.0] * 5
    assert [d.delay_s for d in got[5:20]] == [float(k) for k in range(1, 16)]
    assert got[20] == Decision(False, 0.0, 60, "spikeArrest", 21)
    assert got[21].count == 22 and not got[21].allowed
    clock.advance(59.5)
    assert throttle.check("app").retry_after_s == 1
    clock.advance(0.5)
    assert throttle.check("app") == Decision(True, 0.0, 0, "", 1)


@settings(max_examples=60)
@given(
    most=st.integers(1, 50),
    extra=st.integers(0, 60),
    period_ms=st.integers(1, 120_000),
    steps=st.lists(st.integers(0, 999), max_size=120),
)
def test_spike_arrest_admits_exactly_max_per_period(
    most: int, extra: int, period_ms: int, steps: list[int]
) -> None:
    clock = ManualClock(1000.0)  # small epoch: sub-millisecond steps stay exact in a float
    throttle = Throttle(ThrottlePolicy(period_ms, max_requests_per_period=most), clock)
    period = period_ms / 1000
    for _ in range(2):  # this period, then the next one admits again
        start = clock.now()
        decisions = []
        for i in range(most + extra):
            # Spread the requests inside the period without ever reaching its end.
            fraction = steps[i % len(steps)] / 1000 if steps else 0.0
            target = start + period * fraction * (i / (most + extra))
            if target > clock.now():
                clock.advance(target - clock.now())
            decisions.append(throttle.check("app"))
        admitted = [d for d in decisions if d.allowed]
        refused = [d for d in decisions if not d.allowed]
        assert len(admitted) == most
        assert len(refused) == extra
        assert [d.count for d in decisions] == list(range(1, most + extra + 1))
        for d in refused:
            assert d.reason == "spikeArrest"
            assert 1 <= d.retry_after_s <= max(1, math.ceil(period))
            assert d.delay_s == 0.0
        clock.t = start + period  # exactly where the throttle's window ends


@given(most=st.integers(1, 50), period_ms=st.integers(1, 120_000), at=st.floats(0, 0.999999))
def test_retry_after_is_the_rest_of_the_window(most: int, period_ms: int, at: float) -> None:
    clock = ManualClock(1000.0)  # small epoch: sub-millisecond steps stay exact in a float
    throttle = Throttle(ThrottlePolicy(period_ms, max_requests_per_period=most), clock)
    _drive(throttle, most)
    clock.advance(period_ms / 1000 * at)
    refused = throttle.check("app")
    assert not refused.allowed
    left = period_ms / 1000 * (1 - at)
    assert 1 <= refused.retry_after_s <= max(1, math.ceil(period_ms / 1000))
    assert refused.retry_after_s >= left - 1e-6
    assert refused.retry_after_s < left + 1 or refused.retry_after_s == 1


@given(
    after=st.integers(1, 30),
    factor=st.integers(1, 5000),
    most=st.none() | st.integers(1, 60),
    n=st.integers(0, 100),
)
def test_rate_smoothing_delay_follows_the_formula(
    after: int, factor: int, most: int | None, n: int
) -> None:
    throttle = Throttle(ThrottlePolicy(60000, after, factor, most), ManualClock())
    for k, d in enumerate(_drive(throttle, n), start=1):
        if most is not None and k > most:
            assert not d.allowed and d.delay_s == 0.0
        else:
            assert d.allowed
            assert d.delay_s == (max(0, k - after) * factor / 1000)


def test_windows_are_per_app_and_start_at_the_first_request() -> None:
    clock = ManualClock()
    throttle = Throttle(ThrottlePolicy(10_000, max_requests_per_period=2), clock)
    assert throttle.check("a").allowed
    clock.advance(6)
    assert throttle.check("a").allowed
    assert throttle.check("b").count == 1  # b's window starts now, at +6
    assert not throttle.check("a").allowed
    clock.advance(4)  # a's window (started at 0) has ended; b's (started at 6) has not
    assert throttle.check("a").count == 1
    assert throttle.check("b").count == 2
    assert not throttle.check("b").allowed


@settings(max_examples=60)
@given(
    allow=st.integers(1, 40),
    extra=st.integers(0, 20),
    unit=st.sampled_from(["second", "minute", "hour", "day"]),
    interval=st.integers(1, 5),
    users=st.lists(st.sampled_from(["u1", "u2", "u3"]), min_size=1, max_size=3, unique=True),
    user_level=st.booleans(),
)
def test_quota_admits_exactly_allow_per_window(
    allow: int, extra: int, unit: str, interval: int, users: list[str], user_level: bool
) -> None:
    clock = ManualClock()
    quota = QuotaPolicy(allow, interval, unit, user_level)
    throttle = Throttle(ThrottlePolicy(quota=quota), clock)
    window = quota.window_s
    for _ in range(2):
        results: dict[str, list[Decision]] = {u: [] for u in users}
        for _ in range(allow + extra):
            for u in users:
                results[u].append(throttle.check("app", u))
        if user_level:
            for u in users:  # every user has its own allowance
                assert sum(d.allowed for d in results[u]) == allow
        else:  # the users share the app's allowance
            assert sum(d.allowed for r in results.values() for d in r) == allow
        for d in (d for r in results.values() for d in r if not d.allowed):
            assert d.reason == "quota"
            assert d.retry_after_s == math.ceil(window)
        clock.advance(window)


def test_quota_is_checked_before_spike_arrest_and_neither_consumes_the_other() -> None:
    clock = ManualClock()
    policy = ThrottlePolicy(1000, max_requests_per_period=2, quota=QuotaPolicy(3, 1, "minute"))
    throttle = Throttle(policy, clock)
    assert [d.allowed for d in _drive(throttle, 3)] == [True, True, False]
    assert throttle.check("app").reason == "spikeArrest"
    clock.advance(1)  # new spike-arrest window; quota used is 2 (spike refusals not counted)
    assert throttle.check("app").allowed
    refused = throttle.check("app")
    assert refused.reason == "quota" and refused.retry_after_s == 59
    clock.advance(1)
    # The quota refusal did not take a spike-arrest slot in the window that just ended.
    assert throttle.check("app").reason == "quota"
    counters = throttle.counters()
    assert counters["apps"] == {}  # the spike-arrest window of t=1 has ended
    assert counters["quota"][0]["used"] == 3
    assert counters["totals"] == {
        "admitted": 3,
        "delayed": 0,
        "rejectedSpikeArrest": 2,
        "rejectedQuota": 2,
    }


def test_disabled_or_empty_policy_admits_everything() -> None:
    for policy in (
        ThrottlePolicy.unlimited(),
        ThrottlePolicy.from_json({"timePeriodInMilliseconds": 1000}),
        ThrottlePolicy(1000, 1, 1000, 1, QuotaPolicy(1), enabled=False),
    ):
        throttle = Throttle(policy, ManualClock())
        assert all(d == Decision(True) for d in _drive(throttle, 1000))


def test_set_policy_and_reset_clear_the_counters() -> None:
    clock = ManualClock()
    throttle = Throttle(ThrottlePolicy(60000, max_requests_per_period=1), clock)
    throttle.check("app")
    assert not throttle.check("app").allowed
    throttle.reset()
    assert throttle.check("app").allowed
    new = ThrottlePolicy(60000, max_requests_per_period=5)
    throttle.set_policy(new)
    assert throttle.policy is new
    assert throttle.check("app").count == 1


def test_counters_view_is_json_and_shows_running_windows() -> None:
    clock = ManualClock(1_700_000_000.0)
    policy = ThrottlePolicy(60000, 1, 500, 2, QuotaPolicy(10, 1, "hour", user_level=True))
    throttle = Throttle(policy, clock)
    _drive(throttle, 3, "app", "alice")
    view = throttle.counters()
    json.dumps(view)
    assert view["apps"]["app"] == {
        "periodStart": "2023-11-14T22:13:20.000Z",
        "periodEnd": "2023-11-14T22:14:20.000Z",
        "resetsInSeconds": 60.0,
        "count": 3,
        "delayed": 1,
        "rejected": 1,
    }
    assert view["quota"] == [
        {
            "app": "app",
            "user": "alice",
            "used": 2,
            "allow": 10,
            "rejected": 0,
            "windowStart": "2023-11-14T22:13:20.000Z",
            "windowReset": "2023-11-14T23:13:20.000Z",
            "resetsInSeconds": 3600.0,
        }
    ]
    assert view["policy"] == policy.to_json()
    clock.advance(60)
    assert throttle.counters()["apps"] == {}


def test_idle_windows_are_forgotten() -> None:
    clock = ManualClock()
    throttle = Throttle(
        ThrottlePolicy(1000, max_requests_per_period=5, quota=QuotaPolicy(5, 2, "second")), clock
    )
    for i in range(1000):
        throttle.check(f"app{i}")
    clock.advance(2)
    throttle.check("last")
    assert len(throttle._windows) == 1
    assert len(throttle._quotas) == 1
