"""Backtest use case: a built-in strategy over stored candles, with the active profile's rules, costs on.

Candles come from the candle store (resampled on the fly when the timeframe is not stored). The
contract traded is an instrument of ``config/instruments.yaml`` (BTCUSD for BTC candles of any
venue, ETHUSD for ETH; ``contract`` chooses another). Funding comes from the store when a funding
series of the candles' instrument is stored, else the configured constant. Every report carries
the same metrics for ``buy-hold`` over the same candles under ``benchmark``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from trading_agent.backtest.event_runner import EventBacktest, run_event_backtest
from trading_agent.backtest.metrics import BacktestMetrics, compute_metrics, periods_per_year
from trading_agent.backtest.strategies import StrategyError, make_strategy
from trading_agent.config.instruments import load_instruments
from trading_agent.config.trading_rules import TradingRules
from trading_agent.domain import Instrument, InstrumentId, SeriesKey, Trade
from trading_agent.engine.funding import FundingSeries
from trading_agent.features import Bars
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.market_data import MarketDataService
from trading_agent.services.trading_setup import engine_config, sizing_rules

__all__ = ["BacktestOutcome", "BacktestReport", "BacktestService"]

_CONTRACT_BY_BASE = {"BTC": "BTCUSD", "ETH": "ETHUSD"}


class BacktestReport(BaseModel):
    """What a backtest measured: the strategy's metrics and the buy-hold benchmark's on the same candles."""

    series: str
    contract: str
    strategy: str
    params: dict[str, float]
    engine: str
    profile: str | None
    first_candle: pd.Timestamp
    last_candle: pd.Timestamp
    candles: int
    rejected_entries: int
    funding: str
    metrics: dict[str, Any]
    benchmark: dict[str, Any]

    model_config = {"arbitrary_types_allowed": True}


class BacktestOutcome(BaseModel):
    """The report plus what the files are written from: per-candle returns and the closed trades."""

    report: BacktestReport
    returns: pd.DataFrame
    trades: pd.DataFrame

    model_config = {"arbitrary_types_allowed": True}


def _trades_frame(trades: tuple[Trade, ...]) -> pd.DataFrame:
    rows = [
        {
            "trade_id": t.id,
            "side": t.side.value,
            "contracts": t.contracts,
            "entry_price": float(t.entry_price),
            "exit_price": float(t.exit_price),
            "pnl": float(t.pnl),
            "pnl_percent": float(t.pnl_percent),
            "fees": float(t.fees),
            "funding": float(t.funding),
            "opened": pd.Timestamp(t.ts_opened, unit="ms", tz="UTC"),
            "closed": pd.Timestamp(t.ts_closed, unit="ms", tz="UTC"),
            "holding_period_s": t.holding_period_s,
            "exit_reason": t.exit_reason,
        }
        for t in trades
    ]
    return pd.DataFrame(rows)


def _metrics(result: EventBacktest, per_year: float) -> BacktestMetrics:
    return compute_metrics(
        result.equity, trades=result.trades, in_position=result.in_position, periods_per_year=per_year
    )


class BacktestService:
    """Backtests over the market-data service with the trading rules and the contract specs of ``config_dir``."""

    def __init__(self, market_data: MarketDataService, rules: TradingRules, config_dir: Path, profile: str | None):
        self._market_data = market_data
        self._rules = rules
        self._config_dir = config_dir
        self._profile = profile

    def _contract(self, series: SeriesKey, contract: str | None) -> Instrument:
        instruments = load_instruments(self._config_dir / "instruments.yaml")
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

    def _funding(self, instrument: InstrumentId, bars: Bars) -> tuple[FundingSeries | None, str]:
        frame = self._market_data.store.load_funding(instrument, int(bars.ts[0]), int(bars.ts[-1]) + 1)
        if frame.empty:
            return None, "constant"
        stamps = pd.DatetimeIndex(frame.index).as_unit("ms").asi8
        series = FundingSeries(timestamps=stamps, rates=frame["funding_rate"].to_numpy())
        return series, f"stored series of {instrument} ({len(frame):,} settlements)"

    def run(
        self,
        series: SeriesKey,
        strategy: str,
        params: Mapping[str, Any] | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        contract: str | None = None,
        funding_from: InstrumentId | None = None,
        taker_fee: Decimal | None = None,
        slippage_bps: float | None = None,
        initial_balance: Decimal = Decimal(10_000),
    ) -> BacktestOutcome:
        """Run ``strategy`` over ``series`` between ``start_ms`` and ``end_ms`` (open times, half-open).

        ``funding_from`` names a stored funding series (e.g. a perpetual's, for spot candles); by
        default the candles' own instrument's is used when stored, else the rules' constant.
        """
        with service_errors():
            try:
                chosen = make_strategy(strategy, params)
            except StrategyError as exc:
                raise ServiceError(str(exc)) from None
            frame = self._market_data.load_candles(series, start_ms, end_ms)
            if frame.empty:
                raise ServiceError(f"no candles of {series} in the range asked for: import or download them first")
            bars = Bars.from_frame(frame)
            instrument = self._contract(series, contract)
            if taker_fee is not None:
                instrument = replace(instrument, taker_fee=taker_fee)
            config = engine_config(
                self._rules, timeframe=series.timeframe, session="backtest", initial_balance=initial_balance
            )
            if slippage_bps is not None:
                config = replace(config, slippage=replace(config.slippage, fixed_bps=slippage_bps))
            funding, funding_source = self._funding(funding_from or series.instrument, bars)
            if funding_from is not None and funding is None:
                raise ServiceError(f"no funding rates of {funding_from} stored for this range (see `data list`)")
            sizing = sizing_rules(self._rules)
            try:
                result = run_event_backtest(
                    bars, chosen, instrument=instrument, config=config, sizing=sizing, funding=funding
                )
            except StrategyError as exc:
                raise ServiceError(str(exc)) from None
            benchmark = run_event_backtest(
                bars, make_strategy("buy-hold"), instrument=instrument, config=config, sizing=sizing, funding=funding
            )
            per_year = periods_per_year(series.timeframe)
            report = BacktestReport(
                series=str(series),
                contract=str(instrument.id),
                strategy=chosen.name,
                params=dict(chosen.params),
                engine="event",
                profile=self._profile,
                first_candle=frame.index[0],
                last_candle=frame.index[-1],
                candles=len(bars),
                rejected_entries=result.rejected,
                funding=funding_source if funding is not None else f"constant {config.default_funding_rate} per 8 h",
                metrics=_metrics(result, per_year).to_dict(),
                benchmark=_metrics(benchmark, per_year).to_dict(),
            )
            returns = pd.DataFrame(
                {
                    "equity": result.equity,
                    "return": np.concatenate(([0.0], result.equity[1:] / result.equity[:-1] - 1)),
                },
                index=frame.index,
            )
            return BacktestOutcome(report=report, returns=returns, trades=_trades_frame(result.trades))
