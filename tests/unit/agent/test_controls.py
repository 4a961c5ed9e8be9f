"""``agent.controls``: risk overrides and alert preferences (JSON, validation, merge, apply); the controls fold."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trading_agent.agent.controls import AgentControls, AlertPreferences, RiskOverrides
from trading_agent.domain import AgentCommand, AgentControlled, SizingMethod
from trading_agent.domain.events import ModelDrift
from trading_agent.risk.errors import RiskError
from trading_agent.risk.sizing import SizingRules

T0 = 1_704_067_200_000


def controlled(command: AgentCommand, value: str | None = None, reason: str = "") -> AgentControlled:
    return AgentControlled(ts_event=T0, command=command, value=value, reason=reason)


def test_risk_overrides_round_trip_through_json_with_an_exact_decimal() -> None:
    overrides = RiskOverrides(
        method=SizingMethod.FIXED_FRACTIONAL,
        risk_per_trade=0.03,
        kelly_fraction=0.25,
        max_position_size=Decimal("1234.567890123456789"),
        min_confidence=0.65,
    )
    text = overrides.to_json()
    stored = json.loads(text)
    assert stored["max_position_size"] == "1234.567890123456789"  # a string: no float rounding
    assert stored["method"] == "fixed_fractional"
    back = RiskOverrides.from_json(text)
    assert back == overrides
    assert isinstance(back.method, SizingMethod) and back.max_position_size == Decimal("1234.567890123456789")


def test_only_overridden_values_are_stored_and_nothing_reads_back_empty() -> None:
    assert RiskOverrides(min_confidence=0.7).to_json() == '{"min_confidence": 0.7}'
    assert RiskOverrides().empty and RiskOverrides().to_json() == "{}"
    assert RiskOverrides.from_json(None) == RiskOverrides() == RiskOverrides.from_json("")
    assert not RiskOverrides(kelly_fraction=0.3).empty


def test_merged_puts_the_others_values_on_top_and_keeps_the_rest() -> None:
    base = RiskOverrides(risk_per_trade=0.02, min_confidence=0.6)
    merged = base.merged(RiskOverrides(min_confidence=0.8, max_position_size=Decimal(900)))
    assert merged == RiskOverrides(risk_per_trade=0.02, min_confidence=0.8, max_position_size=Decimal(900))
    assert base.merged(RiskOverrides()) == base
    assert base == RiskOverrides(risk_per_trade=0.02, min_confidence=0.6)  # unchanged: frozen


def test_apply_overrides_the_sizing_and_the_minimum_confidence() -> None:
    sizing = SizingRules(method=SizingMethod.KELLY_CRITERION, risk_per_trade=0.02, max_position_size=Decimal(2500))
    overrides = RiskOverrides(method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.05, max_position_size=Decimal(800))
    chosen, confidence = overrides.apply(sizing, 0.6)
    assert chosen.method is SizingMethod.FIXED_FRACTIONAL and chosen.risk_per_trade == 0.05
    assert chosen.max_position_size == Decimal(800)
    assert chosen.kelly_fraction == sizing.kelly_fraction and chosen.min_position_size == sizing.min_position_size
    assert confidence == 0.6
    assert RiskOverrides(min_confidence=0.9).apply(sizing, 0.6) == (sizing, 0.9)
    assert RiskOverrides().apply(sizing, 0.6) == (sizing, 0.6)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (RiskOverrides(risk_per_trade=0.5), "risk_per_trade"),
        (RiskOverrides(kelly_fraction=0.0), "kelly_fraction"),
        (RiskOverrides(max_position_size=Decimal(50)), "min_position_size"),  # below the rules' minimum of 100
    ],
)
def test_apply_refuses_a_sizing_the_rules_do_not_allow(overrides: RiskOverrides, named: str) -> None:
    with pytest.raises(RiskError, match=named):
        overrides.apply(SizingRules(), 0.6)


def test_an_unknown_field_is_refused_naming_it() -> None:
    with pytest.raises(RiskError, match=r"unknown RiskOverrides field\(s\) leverage, stop_loss") as raised:
        RiskOverrides.from_json('{"risk_per_trade": 0.02, "stop_loss": 0.1, "leverage": 5}')
    assert "min_confidence" in str(raised.value)  # the message lists the valid fields
    with pytest.raises(RiskError, match="unknown AlertPreferences field"):
        AlertPreferences.from_json('{"emails": true}')


def test_a_json_value_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RiskError, match="must be a JSON object"):
        RiskOverrides.from_json("[1, 2]")


@pytest.mark.parametrize("confidence", [-0.01, 1.01, 7.0])
def test_min_confidence_outside_zero_one_is_refused(confidence: float) -> None:
    with pytest.raises(RiskError, match="min_confidence must be in"):
        RiskOverrides(min_confidence=confidence)
    with pytest.raises(RiskError, match="min_confidence must be in"):
        RiskOverrides.from_json(json.dumps({"min_confidence": confidence}))


@pytest.mark.parametrize("confidence", [0.0, 1.0])
def test_min_confidence_bounds_are_allowed(confidence: float) -> None:
    assert RiskOverrides(min_confidence=confidence).min_confidence == confidence


@pytest.mark.parametrize(
    ("text", "named"),
    [('{"method": "martingale"}', "method"), ('{"min_confidence": "high"}', "min_confidence")],
)
def test_a_bad_value_in_the_json_is_a_risk_error_naming_the_field(text: str, named: str) -> None:
    """``_from_json`` promises a ``RiskError`` naming an unknown *or bad* field (callers catch ``RiskError``)."""
    with pytest.raises(RiskError, match=named):
        RiskOverrides.from_json(text)


def test_alert_preferences_round_trip_every_field() -> None:
    preferences = AlertPreferences(
        trades=False, signals=True, breakers=False, controls=True, daily_summary=False, min_signal_confidence=0.75
    )
    text = preferences.to_json()
    assert set(json.loads(text)) == {
        "trades",
        "signals",
        "breakers",
        "controls",
        "daily_summary",
        "min_signal_confidence",
    }
    assert AlertPreferences.from_json(text) == preferences
    assert AlertPreferences.from_json(None) == AlertPreferences()
    assert AlertPreferences.from_json('{"signals": true}') == AlertPreferences(signals=True)


@pytest.mark.parametrize("confidence", [-0.5, 1.5])
def test_alert_min_signal_confidence_outside_zero_one_is_refused(confidence: float) -> None:
    with pytest.raises(RiskError, match="min_signal_confidence must be in"):
        AlertPreferences(min_signal_confidence=confidence)
    with pytest.raises(RiskError, match="min_signal_confidence must be in"):
        AlertPreferences.from_json(json.dumps({"min_signal_confidence": confidence}))


def test_a_new_fold_is_unpaused_without_mode_or_overrides() -> None:
    controls = AgentControls()
    assert not controls.paused and controls.mode is None and controls.risk.empty
    assert controls.alerts == AlertPreferences() and controls.reason == ""


def test_the_fold_pauses_resumes_and_emergency_stops() -> None:
    controls = AgentControls()
    controls.observe(controlled(AgentCommand.PAUSE, reason="lunch"))
    assert controls.paused and controls.reason == "lunch"
    controls.observe(controlled(AgentCommand.RESUME, reason="back"))
    assert not controls.paused and controls.reason == "back"
    controls.observe(controlled(AgentCommand.EMERGENCY_STOP, reason="flash crash"))
    assert controls.paused and controls.reason == "flash crash"


def test_set_risk_replaces_the_overrides_and_set_mode_clears_them() -> None:
    controls = AgentControls()
    first = RiskOverrides(risk_per_trade=0.03, max_position_size=Decimal("750.5"))
    controls.observe(controlled(AgentCommand.SET_RISK, first.to_json(), "tighter"))
    assert controls.risk == first and controls.reason == "tighter"
    second = first.merged(RiskOverrides(min_confidence=0.7))
    controls.observe(controlled(AgentCommand.SET_RISK, second.to_json()))
    assert controls.risk == second
    controls.observe(controlled(AgentCommand.SET_MODE, "conservative", "calmer"))
    assert controls.mode == "conservative" and controls.risk.empty  # a mode is a preset
    controls.observe(controlled(AgentCommand.SET_RISK, RiskOverrides(kelly_fraction=0.2).to_json()))
    assert controls.mode == "conservative" and controls.risk == RiskOverrides(kelly_fraction=0.2)


def test_set_alerts_replaces_the_preferences() -> None:
    controls = AgentControls()
    chosen = AlertPreferences(trades=False, signals=True, min_signal_confidence=0.8)
    controls.observe(controlled(AgentCommand.SET_ALERTS, chosen.to_json()))
    assert controls.alerts == chosen
    controls.observe(controlled(AgentCommand.SET_MODE, "aggressive"))
    assert controls.alerts == chosen  # a mode does not touch the alerts
    controls.observe(controlled(AgentCommand.SET_ALERTS, AlertPreferences().to_json()))
    assert controls.alerts == AlertPreferences()


def test_the_fold_replayed_from_a_journal_ends_in_the_last_state() -> None:
    events = [
        controlled(AgentCommand.SET_MODE, "moderate"),
        controlled(AgentCommand.SET_RISK, RiskOverrides(min_confidence=0.75).to_json()),
        controlled(AgentCommand.PAUSE),
        controlled(AgentCommand.SET_ALERTS, AlertPreferences(breakers=False).to_json(), "quiet"),
    ]
    controls = AgentControls()
    for event in events:
        controls.observe(event)
    state = (controls.paused, controls.mode, controls.risk, controls.alerts, controls.reason)
    assert state == (True, "moderate", RiskOverrides(min_confidence=0.75), AlertPreferences(breakers=False), "quiet")


def test_other_events_are_ignored() -> None:
    controls = AgentControls()
    controls.observe(controlled(AgentCommand.PAUSE, reason="x"))
    controls.observe(ModelDrift(ts_event=T0, model="m", short_accuracy=0.4, long_accuracy=0.6, threshold=0.05))
    assert controls.paused and controls.reason == "x"
