"""The public API is exactly `simulator.__all__`; changing it is a decision, not an accident."""

from __future__ import annotations

import simulator


def test_public_api_is_pinned() -> None:
    assert sorted(simulator.__all__) == sorted(
        [
            "Config",
            "ConfigError",
            "ContractError",
            "GatewayError",
            "IonsimError",
            "MIError",
            "ManualClock",
            "NotSimulated",
            "OAuthError",
            "RequestError",
            "SimClock",
            "TenantSpec",
            "__version__",
            "create_app",
            "load_config",
        ]
    )
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None


def test_errors_form_one_tree() -> None:
    for name in (
        "MIError",
        "NotSimulated",
        "GatewayError",
        "OAuthError",
        "RequestError",
        "ContractError",
        "ConfigError",
    ):
        assert issubclass(getattr(simulator, name), simulator.IonsimError)
    assert issubclass(simulator.NotSimulated, simulator.MIError)


def test_create_app_is_an_asgi_app_with_its_own_state() -> None:
    a = simulator.create_app(simulator.load_config(env={}, tenants="A_TST", seed="minimal"))
    b = simulator.create_app(simulator.load_config(env={}, tenants="B_TST", seed="minimal"))
    assert callable(a) and a.state.sim is not b.state.sim
    assert list(a.state.sim.tenants) == ["A_TST"]
