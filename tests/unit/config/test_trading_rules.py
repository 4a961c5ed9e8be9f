import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.testkit.services import REPO_ROOT
from trading_agent.config import ConfigError, available_profiles, load_instruments, load_trading_rules
from trading_agent.config.trading_rules import ExitStopMethod
from trading_agent.domain import AnomalyAction, InstrumentId, SizingMethod, Timeframe

CONFIG = REPO_ROOT / "config"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    return target


def test_shipped_rules_match_the_blueprint_defaults() -> None:
    rules = load_trading_rules(CONFIG)
    assert rules.position_sizing.method is SizingMethod.KELLY_CRITERION
    assert rules.position_sizing.kelly_fraction == 0.5
    assert rules.risk_management.max_daily_loss_percent == 5
    assert rules.risk_management.max_drawdown_percent == 15
    assert rules.risk_management.max_consecutive_losses == 5
    assert rules.risk_management.max_leverage == 3
    assert rules.risk_management.max_trades_per_day == 20
    assert rules.risk_management.min_time_between_trades_s == 300
    assert rules.signal_filters.min_confidence == 0.6
    assert rules.execution.max_retries == 3
    assert rules.trading_hours.enabled is False


def test_shipped_exits_use_an_atr_stop_with_every_exit_enabled() -> None:
    exits = load_trading_rules(CONFIG).exits
    assert exits.stop_method is ExitStopMethod.ATR
    assert exits.volatility_stop_multiplier == 2.0
    assert (exits.take_profit_enabled, exits.trailing_enabled, exits.time_exit_enabled) == (True, True, True)
    assert (exits.trailing_activation_percent, exits.trailing_percent) == (2, 1)
    assert exits.max_holding_period_s == 86400


def test_a_profile_may_switch_the_stop_method_and_turn_exits_off(config_copy: Path) -> None:
    (config_copy / "profiles" / "vol.yaml").write_text(
        "exits:\n  stop_method: volatility\n  volatility_stop_multiplier: 3.5\n"
        "  take_profit_enabled: false\n  trailing_enabled: false\n  time_exit_enabled: false\n"
    )
    exits = load_trading_rules(config_copy, "vol").exits
    assert exits.stop_method is ExitStopMethod.VOLATILITY
    assert exits.volatility_stop_multiplier == 3.5
    assert not (exits.take_profit_enabled or exits.trailing_enabled or exits.time_exit_enabled)
    assert exits.trailing_percent == 1  # inherited from the base rules


def test_an_unquoted_off_turns_the_anomaly_filter_off(config_copy: Path) -> None:
    """YAML reads ``off`` as false; the rules take it for the word, as the comment in the file invites."""
    (config_copy / "profiles" / "calm.yaml").write_text("anomaly_filter:\n  action: off\n")
    assert load_trading_rules(config_copy, "calm").anomaly_filter.action is AnomalyAction.OFF
    (config_copy / "profiles" / "odd.yaml").write_text("anomaly_filter:\n  action: true\n")
    with pytest.raises(ConfigError, match=r"anomaly_filter\.action"):
        load_trading_rules(config_copy, "odd")


def test_the_risk_modes_follow_the_blueprint_ranges() -> None:
    modes = load_trading_rules(CONFIG).modes
    assert list(modes) == ["conservative", "moderate", "aggressive"]
    assert 0.01 <= modes["conservative"].risk_per_trade <= 0.02
    assert 0.03 <= modes["moderate"].risk_per_trade <= 0.05
    assert 0.05 <= modes["aggressive"].risk_per_trade <= 0.10


def test_three_profiles_override_only_what_they_state() -> None:
    assert available_profiles(CONFIG) == ["aggressive_scalper", "conservative_day_trader", "swing_trader"]
    conservative = load_trading_rules(CONFIG, "conservative_day_trader")
    assert conservative.position_sizing.method is SizingMethod.FIXED_FRACTIONAL
    assert conservative.position_sizing.risk_per_trade == 0.01
    assert conservative.signal_filters.min_confidence == 0.75
    assert conservative.risk_management.max_consecutive_losses == 5  # inherited from the base rules
    scalper = load_trading_rules(CONFIG, "aggressive_scalper")
    assert scalper.signal_filters.timeframes == (Timeframe.M1, Timeframe.M3, Timeframe.M5)
    assert scalper.position_sizing.base_risk == 0.03
    swing = load_trading_rules(CONFIG, "swing_trader")
    assert swing.risk_management.stop_loss_atr_multiplier == 2.5
    assert swing.profile is not None and "recommended" in swing.profile.name


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'yolo'.*aggressive_scalper"):
        load_trading_rules(CONFIG, "yolo")


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("position_sizing:\n  method: martingale\n", r"position_sizing\.method = 'martingale'.*kelly_criterion"),
        (
            "risk_management:\n  max_leverage: 500\n",
            r"risk_management\.max_leverage = 500: .*less than or equal to 200",
        ),
        ("signal_filters:\n  min_confidence: 1.5\n", r"signal_filters\.min_confidence = 1\.5"),
        ("signal_filters:\n  timeframes: [1h, 7m]\n", r"signal_filters\.timeframes\.1 = '7m'"),
        ("execution:\n  order_typ: market\n", r"execution\.order_typ = 'market': unknown key"),
        ("trading_hours:\n  timezone: Mars/Olympus\n", r"trading_hours\.timezone .*unknown time zone"),
        ("position_sizing:\n  min_position_size: 5000\n", r"min_position_size \(5000\.0\) must not exceed"),
        ("exits:\n  stop_method: chandelier\n", r"exits\.stop_method = 'chandelier': .*'atr' or 'volatility'"),
        ("exits:\n  volatility_stop_multiplier: 0\n", r"exits\.volatility_stop_multiplier = 0: .*greater than 0"),
        ("exits:\n  volatility_stop_multiplier: 25\n", r"volatility_stop_multiplier = 25: .*less than or equal to 20"),
        ("exits:\n  trailing_percent: 100\n", r"exits\.trailing_percent = 100: .*less than 100"),
        ("exits:\n  take_profit_enabled: maybe\n", r"exits\.take_profit_enabled = 'maybe': .*valid boolean"),
        ("- just\n- a list\n", r"top level must be a mapping"),
        ("position_sizing: [unclosed\n", r"not valid YAML"),
    ],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(
    config_copy: Path, yaml_text: str, expected: str
) -> None:
    (config_copy / "trading_rules.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError, match=expected):
        load_trading_rules(config_copy)


def test_instruments_load_as_domain_objects(config_copy: Path) -> None:
    instruments = load_instruments(CONFIG / "instruments.yaml")
    btc = instruments[InstrumentId("delta_india", "BTCUSD")]
    assert str(btc.contract_value) == "0.001"
    assert str(btc.taker_fee) == "0.0005"
    assert btc.initial_margin_at(Decimal(200_000)) == Decimal("0.0075")  # the risk limits of the fact sheet
    assert btc.price_band == Decimal("0.025")
    (config_copy / "instruments.yaml").write_text(
        "instruments:\n  - {venue: x, symbol: Y, contract_value: 1, tick_size: 1, max_leverage: 10, maker_fee: 0,"
        " taker_fee: 0, initial_margin: 0.01, maintenance_margin: 0.02}\n"
    )
    with pytest.raises(ConfigError, match="maintenance_margin exceeds initial_margin"):
        load_instruments(config_copy / "instruments.yaml")
