"""From the validated trading rules (``config/trading_rules.yaml`` + profile) to the engine's frozen values.

The one place where the config's vocabulary meets the engine's and the risk manager's. Floats that
become money or prices (USD sizes, the slippage guard) go through ``Decimal(repr(x))``, so
``0.1`` becomes ``Decimal("0.1")``, not its binary expansion. Where the names differ:

- ``ExitRules.atr_multiplier`` <- ``risk_management.stop_loss_atr_multiplier``,
  ``ExitRules.risk_reward`` <- ``risk_management.take_profit_risk_reward``,
  ``ExitRules.volatility_multiplier`` <- ``exits.volatility_stop_multiplier``;
- ``RiskLimits.min_confidence`` <- ``signal_filters.min_confidence``;
- ``SignalThresholds.<class>_prediction|confidence`` <- ``signal_filters.mapping.<class>``;
- ``SlippageModel.fixed_bps``, ``.impact_coefficient``, ``.max_slippage_bps`` <- ``execution.slippage_fixed_bps``,
  ``.slippage_impact_coefficient``, ``.slippage_cap_bps``;
- ``BreakerRules.flatten_on_trip`` <- ``risk_management.flatten_on_breaker_trip``;
- ``FeeModel.charge_gst`` <- ``execution.charge_gst_on_fees``;
- ``ExecutionRules.entry_order_type`` <- ``execution.order_type``;
- ``EngineConfig.default_funding_rate`` (a fraction) <- ``execution.funding_rate_percent`` / 100;
- ``EngineConfig.anomaly`` (``AnomalyRules``) <- ``anomaly_filter``.

Not in the rules, so left at the engine's defaults: ``FeeModel``'s GST rate and precision and
``EngineConfig.funding_anchor_ms``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pandas as pd

from trading_agent.backtest.filters import FilterRules, TradingWindow
from trading_agent.config.instruments import load_instruments
from trading_agent.config.trading_rules import TradingRules
from trading_agent.domain import Instrument, InstrumentId, OrderType, SeriesKey, Timeframe
from trading_agent.engine.config import EngineConfig, ExecutionRules
from trading_agent.engine.costs import FeeModel, SlippageModel
from trading_agent.engine.exits import ExitRules, StopMethod
from trading_agent.engine.funding import FundingSeries
from trading_agent.models.signals import SignalThresholds
from trading_agent.risk.anomaly import AnomalyRules
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.modes import ModeRules
from trading_agent.risk.sizing import SizingRules
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.market_data import MarketDataService

__all__ = [
    "agent_modes",
    "contract_for",
    "engine_config",
    "filter_rules",
    "signal_thresholds",
    "sizing_rules",
    "stored_funding",
]

_CONTRACT_BY_BASE = {"BTC": "BTCUSD", "ETH": "ETHUSD"}


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def _execution_rules(rules: TradingRules) -> ExecutionRules:
    execution = rules.execution
    return ExecutionRules(
        max_slippage_percent=_decimal(execution.max_slippage_percent),
        retry_failed_orders=execution.retry_failed_orders,
        max_retries=execution.max_retries,
        entry_order_type=OrderType(execution.order_type.value),
        limit_expiry_candles=execution.limit_expiry_candles,
    )


def _exit_rules(rules: TradingRules) -> ExitRules:
    exits, risk = rules.exits, rules.risk_management
    return ExitRules(
        stop_method=StopMethod(exits.stop_method.value),
        atr_multiplier=risk.stop_loss_atr_multiplier,
        volatility_multiplier=exits.volatility_stop_multiplier,
        take_profit_enabled=exits.take_profit_enabled,
        risk_reward=risk.take_profit_risk_reward,
        trailing_enabled=exits.trailing_enabled,
        trailing_activation_percent=exits.trailing_activation_percent,
        trailing_percent=exits.trailing_percent,
        time_exit_enabled=exits.time_exit_enabled,
        max_holding_period_s=exits.max_holding_period_s,
    )


def _risk_limits(rules: TradingRules) -> RiskLimits:
    risk = rules.risk_management
    return RiskLimits(
        max_position_fraction=risk.max_position_fraction,
        max_daily_loss_percent=risk.max_daily_loss_percent,
        max_drawdown_percent=risk.max_drawdown_percent,
        max_consecutive_losses=risk.max_consecutive_losses,
        max_leverage=risk.max_leverage,
        min_confidence=rules.signal_filters.min_confidence,
        max_trades_per_day=risk.max_trades_per_day,
        min_time_between_trades_s=risk.min_time_between_trades_s,
        max_correlation=risk.max_correlation,
    )


def _breaker_rules(rules: TradingRules) -> BreakerRules:
    risk = rules.risk_management
    return BreakerRules(
        max_daily_loss_percent=risk.max_daily_loss_percent,
        max_drawdown_percent=risk.max_drawdown_percent,
        max_consecutive_losses=risk.max_consecutive_losses,
        volatility_breaker_multiple=risk.volatility_breaker_multiple,
        rapid_fire_max_trades=risk.rapid_fire_max_trades,
        rapid_fire_window_s=risk.rapid_fire_window_s,
        auto_reset_after_s=risk.auto_reset_after_s,
        flatten_on_trip=risk.flatten_on_breaker_trip,
    )


def engine_config(
    rules: TradingRules,
    *,
    timeframe: Timeframe,
    session: str = "default",
    initial_balance: Decimal = Decimal(10_000),
) -> EngineConfig:
    """The engine's configuration for ``rules`` at ``timeframe`` (the candle length it is fed).

    Execution, slippage, fees, exits, pre-trade limits and circuit breakers all come from ``rules``
    (see the module docstring for the renamed fields). A value the engine refuses (a bad
    ``session`` or ``initial_balance``) raises ``ServiceError``.
    """
    execution = rules.execution
    with service_errors():
        return EngineConfig(
            session=session,
            timeframe=timeframe,
            initial_balance=initial_balance,
            slippage=SlippageModel(
                fixed_bps=execution.slippage_fixed_bps,
                impact_coefficient=execution.slippage_impact_coefficient,
                max_slippage_bps=execution.slippage_cap_bps,
            ),
            fees=FeeModel(charge_gst=execution.charge_gst_on_fees),
            execution=_execution_rules(rules),
            exits=_exit_rules(rules),
            limits=_risk_limits(rules),
            breakers=_breaker_rules(rules),
            anomaly=AnomalyRules(action=rules.anomaly_filter.action, size_factor=rules.anomaly_filter.size_factor),
            default_funding_rate=_decimal(execution.funding_rate_percent) / 100,
        )


def sizing_rules(rules: TradingRules) -> SizingRules:
    """The position sizer's parameters from ``position_sizing`` (USD bounds as ``Decimal``)."""
    sizing = rules.position_sizing
    with service_errors():
        return SizingRules(
            method=sizing.method,
            kelly_fraction=sizing.kelly_fraction,
            kelly_cap=sizing.kelly_cap,
            kelly_min_trades=sizing.kelly_min_trades,
            risk_per_trade=sizing.risk_per_trade,
            base_risk=sizing.base_risk,
            volatility_cap=sizing.volatility_cap,
            min_position_size=_decimal(sizing.min_position_size),
            max_position_size=_decimal(sizing.max_position_size),
        )


def signal_thresholds(rules: TradingRules) -> SignalThresholds:
    """The signal mapping's thresholds from ``signal_filters.mapping``."""
    mapping = rules.signal_filters.mapping
    return SignalThresholds(
        strong_buy_prediction=mapping.strong_buy.prediction,
        strong_buy_confidence=mapping.strong_buy.confidence,
        buy_prediction=mapping.buy.prediction,
        buy_confidence=mapping.buy.confidence,
        sell_prediction=mapping.sell.prediction,
        sell_confidence=mapping.sell.confidence,
        strong_sell_prediction=mapping.strong_sell.prediction,
        strong_sell_confidence=mapping.strong_sell.confidence,
    )


def agent_modes(rules: TradingRules) -> dict[str, ModeRules]:
    """The run-time risk modes of ``modes``: each the base sizing with its risk and Kelly fraction."""
    base = sizing_rules(rules)
    with service_errors():
        return {
            name: ModeRules(
                sizing=replace(
                    base,
                    risk_per_trade=mode.risk_per_trade,
                    base_risk=mode.risk_per_trade,
                    kelly_fraction=mode.kelly_fraction,
                ),
                min_confidence=mode.min_confidence,
            )
            for name, mode in rules.modes.items()
        }


def filter_rules(rules: TradingRules, timeframes: Sequence[Timeframe]) -> FilterRules:
    """The signal filters of ``signal_filters`` and ``trading_hours`` for a session on ``timeframes``.

    The first timeframe is traded; with ``require_multiple_timeframes`` the others must agree.
    """
    filters, hours = rules.signal_filters, rules.trading_hours
    return FilterRules(
        min_confidence=filters.min_confidence,
        higher_timeframes=tuple(timeframes[1:]) if filters.require_multiple_timeframes else (),
        min_volume_ratio=filters.min_volume_ratio,
        min_model_sharpe=filters.min_sharpe_ratio,
        trading_hours=TradingWindow(hours.start_hour, hours.end_hour, hours.timezone) if hours.enabled else None,
    )


def contract_for(config_dir: Path, series: SeriesKey, contract: str | None) -> Instrument:
    """The contract of ``config_dir/instruments.yaml`` to trade ``series`` with: ``contract``, or by base asset."""
    instruments = load_instruments(config_dir / "instruments.yaml")
    by_symbol = {key.symbol: instrument for key, instrument in instruments.items()}
    wanted = contract or next(
        (symbol for base, symbol in _CONTRACT_BY_BASE.items() if series.instrument.symbol.upper().startswith(base)),
        None,
    )
    if wanted is None or wanted not in by_symbol:
        known = ", ".join(sorted(by_symbol))
        raise ServiceError(
            f"no contract for {series.instrument.symbol}: choose one of {known} with --contract"
            if wanted is None
            else f"unknown contract {wanted!r}: config/instruments.yaml has {known}"
        )
    return by_symbol[wanted]


def stored_funding(
    market_data: MarketDataService, instrument: InstrumentId, start_ms: int, end_ms: int
) -> tuple[FundingSeries | None, str]:
    """The stored funding rates of ``instrument`` in ``[start_ms, end_ms)`` and where they came from."""
    frame = market_data.store.load_funding(instrument, start_ms, end_ms)
    if frame.empty:
        return None, "constant"
    stamps = pd.DatetimeIndex(frame.index).as_unit("ms").asi8
    series = FundingSeries(timestamps=stamps, rates=frame["funding_rate"].to_numpy())
    return series, f"stored series of {instrument} ({len(frame):,} settlements)"
