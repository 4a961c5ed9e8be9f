"""Backtest use case: a built-in strategy over stored candles, with the active profile's rules, costs on.

Candles come from the candle store (resampled on the fly when the timeframe is not stored). The
contract traded is an instrument of ``config/instruments.yaml`` (BTCUSD for BTC candles of any
venue, ETHUSD for ETH; ``contract`` chooses another). Funding comes from the store when a funding
series of the candles' instrument is stored, else the configured constant. Every report carries
the same metrics for ``buy-hold`` over the same candles under ``benchmark``.

The vectorized backtester (numba) and the HTML report (plotly) are imported where they are used:
every ``trading-agent`` command imports this module, and neither is needed to start one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from trading_agent.backtest.event_runner import BreakerSpell, run_event_backtest
from trading_agent.backtest.filters import EntryFilter, describe_filters, filter_entries
from trading_agent.backtest.metrics import (
    BacktestMetrics,
    ClassificationMetrics,
    annual_return,
    compute_metrics,
    deflated_sharpe_ratio,
    max_drawdown,
    pbo,
    periods_per_year,
    returns_from_equity,
    sharpe_ratio,
    sortino_ratio,
    trial_sharpe_ratios,
)
from trading_agent.backtest.montecarlo import MonteCarloResult, block_bootstrap, bootstrap_trades
from trading_agent.backtest.strategies import STRATEGIES, Strategy, StrategyError, make_strategy
from trading_agent.backtest.walkforward import FloatRange, GridSearch, IntRange, OptunaSearch, walk_forward
from trading_agent.config import AppSettings
from trading_agent.config.trading_rules import TradingRules, load_trading_rules
from trading_agent.domain import Instrument, InstrumentId, SeriesKey, Trade
from trading_agent.engine import EngineConfig
from trading_agent.engine.funding import FundingSeries
from trading_agent.features import Bars
from trading_agent.risk.sizing import SizingRules
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.market_data import MarketDataService
from trading_agent.services.trading_setup import (
    contract_for,
    engine_config,
    filter_rules,
    signal_thresholds,
    sizing_rules,
    stored_funding,
)

if TYPE_CHECKING:
    from trading_agent.registry.mlflow_registry import ModelRegistry
    from trading_agent.services.ensemble_strategy import EnsembleStrategy

__all__ = [
    "BacktestOutcome",
    "BacktestReport",
    "BacktestRun",
    "BacktestService",
    "Market",
    "MarketOptions",
    "MonteCarloReport",
    "Progress",
    "WalkForwardReport",
    "WindowSpec",
    "duration_ms",
    "run_metrics",
]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: candles processed so far (for a progress bar)."""


class BreakerTrip(BaseModel):
    """A circuit breaker's trip in a backtest: when, why, and when it reset (``None``: still tripped at the end)."""

    breaker: str
    reason: str
    tripped: datetime
    reset: datetime | None

    @classmethod
    def of(cls, spell: BreakerSpell) -> BreakerTrip:
        """The engine's spell (market times in ms) with UTC times."""
        reset = None if spell.reset_ms is None else datetime.fromtimestamp(spell.reset_ms / 1000, tz=UTC)
        return cls(
            breaker=spell.breaker,
            reason=spell.reason,
            tripped=datetime.fromtimestamp(spell.tripped_ms / 1000, tz=UTC),
            reset=reset,
        )


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
    refused_by: dict[str, int] = {}
    breakers: list[BreakerTrip] = []
    filtered_entries: int = 0
    signal_filters: str = "none"
    funding: str
    metrics: dict[str, Any]
    benchmark: dict[str, Any]
    open_at_end: bool = False
    """Whether the strategy still held a position after the last candle (not a trade: trades are closed)."""
    benchmark_open_at_end: bool = False
    model: dict[str, Any] | None = None

    model_config = {"arbitrary_types_allowed": True}


class WalkForwardReport(BaseModel):
    """The per-window table and the stitched out-of-sample scores of a walk-forward run."""

    series: str
    strategy: str
    grid: dict[str, list[Any]]
    windows: list[dict[str, Any]]
    out_of_sample: dict[str, Any]
    trials: int
    search: str


class MonteCarloReport(BaseModel):
    """Percentiles of final return and max drawdown, and the probability of ruin, per bootstrap.

    ``generated`` (``scenarios="generated"`` only) is the same summary over market paths drawn by a
    scenario generator fitted to the candles, plus what it was and how it falls short (``note``).
    """

    series: str
    strategy: str
    params: dict[str, float]
    paths: int
    block: int
    ruin_loss: float
    bar_bootstrap: dict[str, Any]
    trade_bootstrap: dict[str, Any] | None
    trades: int
    generated: dict[str, Any] | None = None
    html: str | None = None


_SCENARIOS = ("bootstrap", "generated")
"""``monte_carlo``'s ``scenarios``: the two bootstraps only, or also a fan over generated market paths."""

_GENERATOR_PARAMS: dict[str, Any] = {"epochs": 8, "stride": 4}
"""Cheap for the command line: about 5 s on a year of 1h candles (the scenario bench fits 15 epochs, stride 1)."""
_GENERATED_MAX_PATHS = 1_000  # sampling costs about 15 ms per path and year of 1h candles
_GENERATED_NOTE = (
    "market paths generated by a conditional VAE fitted to these candles ({epochs} epochs): a model, with weaker "
    "volatility clustering than the real market and no leverage effect (docs/backtest.md, 'Scenario generation'); "
    "the strategy is not replayed on them (they have no highs, lows or volumes): its equity moves at its constant "
    "market exposure (the beta of its candle returns on the market's), without costs or funding"
)


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Walk-forward windows: train and test lengths and the step (default: the test length), in ms."""

    train_ms: int
    test_ms: int
    step_ms: int | None = None
    anchored: bool = False


def duration_ms(text: str, name: str) -> int:
    """A positive duration (``90d``, ``12h``, ``30min``) in ms; ``ServiceError`` naming ``name`` otherwise."""
    try:
        value = pd.Timedelta(text)
    except ValueError:
        raise ServiceError(f"{name} {text!r} is not a duration (e.g. 90d, 12h, 30min)") from None
    if value <= pd.Timedelta(0):
        raise ServiceError(f"{name} must be a positive duration, got {text!r}")
    return int(value.total_seconds() * 1000)


class BacktestOutcome(BaseModel):
    """The report plus what the files and the HTML report are made from."""

    report: BacktestReport
    returns: pd.DataFrame
    trades: pd.DataFrame
    benchmark_equity: pd.Series
    closed_trades: tuple[Trade, ...]
    periods_per_year: float

    def html(self) -> str:
        """The self-contained HTML report (equity and drawdown, monthly returns, trades, rolling Sharpe)."""
        from trading_agent.backtest.report import render_report

        report = self.report
        title = f"{report.strategy} {report.params or ''} on {report.series} as {report.contract}"
        return render_report(
            title=title,
            equity=self.returns["equity"],
            benchmark_equity=self.benchmark_equity,
            trades=self.closed_trades,
            metrics=report.metrics,
            benchmark_metrics=report.benchmark,
            periods_per_year=self.periods_per_year,
        )

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


def run_metrics(
    result: BacktestRun, per_year: float, classification: ClassificationMetrics | None = None
) -> BacktestMetrics:
    """Every metric of a backtest run (``per_year``: candles per year; ``classification``: a model's scores)."""
    return compute_metrics(
        result.equity,
        trades=result.trades,
        in_position=result.in_position,
        periods_per_year=per_year,
        classification=classification,
    )


@dataclass(frozen=True, slots=True)
class MarketOptions:
    """The range, contract and costs of a backtest.

    ``start_ms``/``end_ms``: open times, half-open. ``funding_from`` names a stored funding series
    (e.g. a perpetual's, for spot candles); by default the candles' own instrument's is used when
    stored, else the rules' constant. ``taker_fee`` and ``slippage_bps`` replace the contract's
    taker fee rate and the fixed slippage.
    """

    start_ms: int | None = None
    end_ms: int | None = None
    contract: str | None = None
    funding_from: InstrumentId | None = None
    taker_fee: Decimal | None = None
    slippage_bps: float | None = None
    initial_balance: Decimal = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Market:
    frame: pd.DataFrame
    bars: Bars
    instrument: Instrument
    config: EngineConfig
    funding: FundingSeries | None
    funding_source: str
    sizing: SizingRules
    entry_filter: EntryFilter | None = None

    def backtest(
        self,
        strategy: Strategy,
        start: int = 0,
        stop: int | None = None,
        *,
        engine: str = "event",
        progress: Progress | None = None,
    ) -> BacktestRun:
        """The backtest of ``strategy`` on candles ``[start, stop)`` by the ``event`` or ``vector`` engine."""
        bars = self.bars if start == 0 and stop is None else self.bars.window(start, stop)
        instrument, config, sizing, funding = self.instrument, self.config, self.sizing, self.funding
        filtered = 0
        if self.entry_filter is not None and not strategy.all_in:
            signals, filtered = filter_entries(strategy.signals(bars), bars, self.entry_filter)
            strategy = replace(strategy, rule=lambda _: signals)
        if engine == "vector":
            from trading_agent.backtest.vectorized import run_vectorized_backtest

            vector = run_vectorized_backtest(
                bars, strategy, instrument=instrument, config=config, sizing=sizing, funding=funding
            )
            trades = vector.domain_trades(instrument)
            return BacktestRun(vector.equity, vector.in_position, trades, vector.rejected, filtered)
        result = run_event_backtest(
            bars, strategy, instrument=instrument, config=config, sizing=sizing, funding=funding, progress=progress
        )
        return BacktestRun(
            result.equity,
            result.in_position,
            result.trades,
            result.rejected,
            filtered,
            result.refused_by,
            result.breakers,
        )


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """What every report needs of a backtest, whichever engine ran it (the vector engine has no risk log)."""

    equity: np.ndarray
    in_position: np.ndarray
    trades: tuple[Trade, ...]
    rejected: int
    filtered: int = 0
    refused_by: Mapping[str, int] = field(default_factory=dict)
    breakers: tuple[BreakerSpell, ...] = ()


class BacktestService:
    """Backtests over the market-data service with the trading rules and the contract specs of ``config_dir``."""

    def __init__(
        self,
        market_data: MarketDataService,
        rules: TradingRules,
        config_dir: Path,
        profile: str | None,
        registry: ModelRegistry | None = None,
    ):
        self._market_data = market_data
        self._rules = rules
        self._config_dir = config_dir
        self._profile = profile
        self._registry = registry

    @classmethod
    def from_settings(
        cls, settings: AppSettings, *, market_data: MarketDataService | None = None, with_registry: bool = False
    ) -> BacktestService:
        """The service on the configured store and rules; with the model registry (MLflow) for ``ensemble``."""
        rules = load_trading_rules(settings.config_dir, settings.profile)
        registry = None
        if with_registry:
            from trading_agent.registry.mlflow_registry import ModelRegistry

            registry = ModelRegistry(settings.mlflow_tracking_uri)
        data = market_data or MarketDataService.from_settings(settings)
        return cls(data, rules, settings.config_dir, settings.profile, registry)

    def _ensemble(self, series: SeriesKey, market: Market, model: str | None, version: int | None) -> EnsembleStrategy:
        """The registered ensemble (``model`` or the series' own, its production version unless ``version``)."""
        from trading_agent.services.ensemble_strategy import ensemble_strategy, model_name

        if self._registry is None:
            raise ServiceError("--strategy ensemble needs the model registry (TRADING_AGENT_MLFLOW_TRACKING_URI)")
        name = model or model_name(series)
        alias = None if version is not None else "production"
        chosen = self._registry.version(name, version=version, alias=alias)
        with tempfile.TemporaryDirectory(prefix="trading-agent-model-") as tmp:
            bundle = self._registry.download(name, chosen.version, alias=None, dst=Path(tmp))
            used = ensemble_strategy(
                bundle,
                market.frame,
                series.timeframe,
                signal_thresholds(self._rules),
                model=f"{name} v{chosen.version}",
            )
        return replace(used, oos_sharpe=chosen.metrics.get("oos_sharpe_ratio"))

    def filtered(self, market: Market, series: SeriesKey, model_sharpe: float | None = None) -> Market:
        """``market`` with the signal filters of the rules, as the paper-trading agent applies them.

        The series' timeframe is traded; the rules' longer timeframes it divides must agree.
        ``model_sharpe`` is the traded model's out-of-sample Sharpe (None for a built-in rule).
        """
        base = series.timeframe
        higher = [tf for tf in self._rules.signal_filters.timeframes if tf.ms > base.ms and base.divides(tf)]
        rules = filter_rules(self._rules, (base, *higher))
        return replace(market, entry_filter=EntryFilter(rules, base, model_sharpe))

    def prepare(self, series: SeriesKey, options: MarketOptions) -> Market:
        """The candles, contract, engine config, funding and sizing of a backtest of ``series``."""
        frame = self._market_data.load_candles(series, options.start_ms, options.end_ms)
        if frame.empty:
            raise ServiceError(f"no candles of {series} in the range asked for: import or download them first")
        bars = Bars.from_frame(frame)
        instrument = contract_for(self._config_dir, series, options.contract)
        if options.taker_fee is not None:
            instrument = replace(instrument, taker_fee=options.taker_fee)
        config = engine_config(
            self._rules, timeframe=series.timeframe, session="backtest", initial_balance=options.initial_balance
        )
        if options.slippage_bps is not None:
            config = replace(config, slippage=replace(config.slippage, fixed_bps=options.slippage_bps))
        funding, source = stored_funding(
            self._market_data, options.funding_from or series.instrument, int(bars.ts[0]), int(bars.ts[-1]) + 1
        )
        if options.funding_from is not None and funding is None:
            raise ServiceError(f"no funding rates of {options.funding_from} stored for this range (see `data list`)")
        if funding is None:
            source = f"constant {config.default_funding_rate} per 8 h"
        return Market(frame, bars, instrument, config, funding, source, sizing_rules(self._rules))

    def run(
        self,
        series: SeriesKey,
        strategy: str,
        params: Mapping[str, Any] | None = None,
        *,
        options: MarketOptions,
        engine: str = "event",
        progress: Progress | None = None,
        model: str | None = None,
        model_version: int | None = None,
    ) -> BacktestOutcome:
        """Run ``strategy`` over ``series`` (see ``MarketOptions`` for the range, contract and costs).

        ``ensemble`` trades a registered model: ``model`` (default: the series' own name, e.g.
        ``binance-BTCUSDT-1h``) at ``model_version`` (default: the version aliased production).

        ``engine``: ``event`` (the trading engine, risk manager on) or ``vector`` (the compiled
        research path: the same fills and costs, without the risk limits and circuit breakers).
        """
        if engine not in ("event", "vector"):
            raise ServiceError(f"unknown engine {engine!r}: choose event or vector")
        with service_errors():
            model_use = None
            if strategy == "ensemble":
                if params:
                    raise ServiceError(f"ensemble takes no strategy parameters, got {', '.join(params)}")
                market = self.prepare(series, options)
                model_use = self._ensemble(series, market, model, model_version)
                chosen = model_use.strategy
                market = self.filtered(market, series, model_use.oos_sharpe)
            else:
                chosen = make_strategy(strategy, params)
                market = self.filtered(self.prepare(series, options), series)
            result = market.backtest(chosen, engine=engine, progress=progress)
            benchmark = market.backtest(make_strategy("buy-hold"), engine=engine)
            per_year = periods_per_year(series.timeframe)
            report = BacktestReport(
                series=str(series),
                contract=str(market.instrument.id),
                strategy=chosen.name,
                params=dict(chosen.params),
                engine=engine
                if engine == "event"
                else "vector (risk limits, breakers and anomaly filter not modelled)",
                profile=self._profile,
                first_candle=market.frame.index[0],
                last_candle=market.frame.index[-1],
                candles=len(market.bars),
                rejected_entries=result.rejected,
                refused_by=dict(result.refused_by),
                breakers=[BreakerTrip.of(spell) for spell in result.breakers],
                filtered_entries=result.filtered,
                signal_filters=describe_filters(market.entry_filter),
                funding=market.funding_source,
                metrics=run_metrics(result, per_year, model_use.classification if model_use else None).to_dict(),
                benchmark=run_metrics(benchmark, per_year).to_dict(),
                open_at_end=bool(result.in_position[-1]),
                benchmark_open_at_end=bool(benchmark.in_position[-1]),
                model=None if model_use is None else model_use.summary(),
            )
            growth = np.concatenate(([0.0], result.equity[1:] / result.equity[:-1] - 1))
            returns = pd.DataFrame({"equity": result.equity, "return": growth}, index=market.frame.index)
            return BacktestOutcome(
                report=report,
                returns=returns,
                trades=_trades_frame(result.trades),
                benchmark_equity=pd.Series(benchmark.equity, index=market.frame.index),
                closed_trades=result.trades,
                periods_per_year=per_year,
            )

    def walk_forward(
        self,
        series: SeriesKey,
        strategy: str,
        grid: Mapping[str, Sequence[Any]],
        *,
        windows: WindowSpec,
        options: MarketOptions,
        optuna_trials: int | None = None,
    ) -> WalkForwardReport:
        """Optimise ``strategy`` on each train window by Sharpe, trade the winner out of sample.

        The search is ``grid`` (every combination), or with ``optuna_trials`` an Optuna TPE study
        of that many trials over the ranges ``grid`` spans (each parameter from its lowest to its
        highest value). Each evaluation runs the event-driven backtest on the window, with the
        strategy's warm-up read from the candles just before it (never after). The stitched
        out-of-sample curve is scored with the return metrics and, for a grid, the deflated Sharpe
        (every grid point counts as a trial) and the probability of backtest overfitting (CSCV over
        the grid's out-of-sample returns); Optuna's trials differ from window to window, so neither
        is computed for it (reported as None).
        """
        with service_errors():
            if optuna_trials is None:
                for params in GridSearch(dict(grid)).candidates():
                    make_strategy(strategy, params)  # every grid point must be a valid strategy
                search: GridSearch | OptunaSearch = GridSearch(dict(grid))
            else:
                make_strategy(strategy)  # a known strategy; its parameters are sampled per trial
                unknown = sorted(set(grid) - STRATEGIES[strategy][1])
                if unknown:
                    raise ServiceError(f"{strategy}: unknown parameter(s) {', '.join(unknown)}")
                search = _optuna(grid, optuna_trials)
            market = self.filtered(self.prepare(series, options), series)
            per_year = periods_per_year(series.timeframe)

            def evaluate(start: int, stop: int, params: Mapping[str, Any]) -> np.ndarray:
                try:  # Optuna may sample a combination the strategy refuses (fast >= slow): it does not trade
                    chosen = make_strategy(strategy, params)
                except StrategyError:
                    return np.full(stop - start, float(options.initial_balance))
                lead = max(0, start - chosen.warmup)
                return market.backtest(chosen, lead, stop).equity[start - lead :]

            def objective(equity: np.ndarray) -> float:
                return sharpe_ratio(returns_from_equity(equity), periods_per_year=per_year)

            result = walk_forward(
                market.bars.ts,
                evaluate=evaluate,
                objective=objective,
                search=search,
                train_ms=windows.train_ms,
                test_ms=windows.test_ms,
                step_ms=windows.step_ms or windows.test_ms,
                anchored=windows.anchored,
            )
            returns = result.returns
            trials = result.trial_returns
            n_trials = 1 if trials is None else trials.shape[1]  # Optuna: no common trials, nothing to deflate
            trial_sharpes = None if trials is None else trial_sharpe_ratios(trials, per_year)
            deflatable = n_trials > 1 and trial_sharpes is not None and trial_sharpes.size >= 2  # flat trials: none
            blocks = _pbo_blocks(0 if trials is None else trials.shape[0])
            out_of_sample = {
                "total_return": result.total_return,
                "annual_return": annual_return(returns, periods_per_year=per_year),
                "sharpe_ratio": sharpe_ratio(returns, periods_per_year=per_year),
                "sortino_ratio": sortino_ratio(returns, periods_per_year=per_year),
                "max_drawdown": max_drawdown(result.equity),
                "deflated_sharpe_ratio": deflated_sharpe_ratio(
                    returns, n_trials=n_trials, trial_sharpes=trial_sharpes, periods_per_year=per_year
                )
                if deflatable
                else None,
                "pbo": pbo(trials, n_blocks=blocks) if trials is not None and n_trials > 1 and blocks else None,
            }
            return WalkForwardReport(
                series=str(series),
                strategy=strategy,
                grid={name: list(values) for name, values in grid.items()},
                windows=result.table(),
                out_of_sample=out_of_sample,
                trials=n_trials if optuna_trials is None else optuna_trials,
                search="grid" if optuna_trials is None else "optuna",
            )

    def monte_carlo(
        self,
        series: SeriesKey,
        strategy: str,
        params: Mapping[str, Any] | None = None,
        *,
        paths: int,
        block: int,
        ruin_loss: float,
        seed: int,
        options: MarketOptions,
        html: bool = False,
        scenarios: str = "bootstrap",
    ) -> MonteCarloReport:
        """Resample the backtest's trades and (block-wise) its candle returns into ``paths`` equity paths.

        ``scenarios="generated"`` adds a third fan (``MonteCarloReport.generated``): a scenario generator
        (``models.scenario``) fitted to the candles' log returns draws ``min(paths, 1000)`` market paths as
        long as the backtest, compounded at the strategy's market exposure (``backtest.montecarlo.
        scenario_paths``); ``seed`` seeds the fit and the draw. With ``html``, the report also carries
        the backtest's HTML report with the fan chart of the candle bootstrap.
        """
        if scenarios not in _SCENARIOS:
            raise ServiceError(f"--scenarios {scenarios!r}: choose one of {', '.join(_SCENARIOS)}")
        with service_errors():
            chosen = make_strategy(strategy, params)
            market = self.filtered(self.prepare(series, options), series)
            result = market.backtest(chosen)
            start = float(options.initial_balance)
            bars = block_bootstrap(
                returns_from_equity(result.equity), block=block, n_paths=paths, seed=seed, start_equity=start
            )
            trade_returns = _trade_returns(result, market.bars)
            trades = (
                bootstrap_trades(trade_returns, n_paths=paths, seed=seed, start_equity=start)
                if trade_returns.size >= 2
                else None
            )
            return MonteCarloReport(
                series=str(series),
                strategy=chosen.name,
                params=dict(chosen.params),
                paths=paths,
                block=block,
                ruin_loss=ruin_loss,
                bar_bootstrap=_summary(bars, ruin_loss),
                trade_bootstrap=None if trades is None else _summary(trades, ruin_loss),
                trades=len(result.trades),
                generated=(
                    _generated_fan(market, result, paths=paths, seed=seed, start_equity=start, ruin_loss=ruin_loss)
                    if scenarios == "generated"
                    else None
                ),
                html=_fan_report(series, chosen, market, result, bars) if html else None,
            )


def _generated_fan(
    market: Market, result: BacktestRun, *, paths: int, seed: int, start_equity: float, ruin_loss: float
) -> dict[str, Any]:
    """The Monte Carlo summary over generated market paths at the strategy's market exposure (``_GENERATED_NOTE``)."""
    from trading_agent.backtest.montecarlo import scenario_paths
    from trading_agent.backtest.stylised_facts import stylised_facts
    from trading_agent.models.base import ModelInputError
    from trading_agent.models.scenario import ScenarioGenerator

    close = market.frame["close"].to_numpy(dtype=np.float64)
    market_log = np.diff(np.log(close))
    exposure = _market_exposure(returns_from_equity(result.equity), np.expm1(market_log))
    n_paths = min(paths, _GENERATED_MAX_PATHS)
    try:
        generator = ScenarioGenerator(seed=seed, **_GENERATOR_PARAMS).fit(market_log)
        generated = generator.sample(n_paths, market_log.size, seed)
    except ModelInputError as exc:
        raise ServiceError(f"--scenarios generated: {exc}") from None
    fan = scenario_paths(generated, start_equity=start_equity, exposure=exposure)
    facts, real = stylised_facts(generated), stylised_facts(market_log)
    return {
        **_summary(fan, ruin_loss),
        "paths": n_paths,
        "exposure": exposure,
        "generator": {**generator.params, "fitted_returns": int(market_log.size), "best_epoch": generator.best_epoch_},
        "abs_return_autocorrelation_lag1": {"generated": facts.acf_abs[0], "real": real.acf_abs[0]},
        "note": _GENERATED_NOTE.format(epochs=_GENERATOR_PARAMS["epochs"]),
    }


def _market_exposure(strategy_returns: np.ndarray, market_returns: np.ndarray) -> float:
    """The OLS slope of the strategy's candle returns on the market's: its average exposure (1 = fully long)."""
    variance = float(np.var(market_returns))
    if variance == 0.0:
        return 0.0
    return float(np.cov(strategy_returns, market_returns, bias=True)[0, 1] / variance)


def _fan_report(
    series: SeriesKey, strategy: Strategy, market: Market, result: BacktestRun, paths: MonteCarloResult
) -> str:
    from trading_agent.backtest.report import render_report

    per_year = periods_per_year(series.timeframe)
    return render_report(
        title=f"{strategy.name} {dict(strategy.params) or ''} on {series}: Monte Carlo of {paths.n_paths:,} paths",
        equity=pd.Series(result.equity, index=market.frame.index),
        benchmark_equity=None,
        trades=result.trades,
        metrics=run_metrics(result, per_year).to_dict(),
        benchmark_metrics=None,
        periods_per_year=per_year,
        monte_carlo=paths,
    )


def _optuna(grid: Mapping[str, Sequence[Any]], n_trials: int) -> OptunaSearch:
    """An Optuna search over the range each parameter's values span (whole numbers stay whole)."""
    space: dict[str, IntRange | FloatRange] = {}
    for name, values in grid.items():
        low, high = min(values), max(values)
        whole = all(float(v).is_integer() for v in values)
        space[name] = IntRange(int(low), int(high)) if whole else FloatRange(float(low), float(high))
    return OptunaSearch(space, n_trials)


def _pbo_blocks(rows: int) -> int:
    """The largest even number of CSCV blocks up to 16 that the out-of-sample rows allow (0: too few)."""
    blocks = min(16, rows // 2)
    return blocks - blocks % 2 if blocks >= 2 else 0


def _trade_returns(result: BacktestRun, bars: Bars) -> np.ndarray:
    """Each trade's PnL over the equity at the close before it opened."""
    if not result.trades:
        return np.array([])
    opened = np.searchsorted(bars.ts, [trade.ts_opened for trade in result.trades]) - 1
    before = result.equity[np.clip(opened, 0, None)]
    returns: np.ndarray = np.array([float(trade.pnl) for trade in result.trades]) / before
    return returns


def _summary(result: MonteCarloResult, ruin_loss: float) -> dict[str, Any]:
    return {
        "final_return_percentiles": result.final_return_percentiles(),
        "max_drawdown_percentiles": result.max_drawdown_percentiles(),
        "probability_of_ruin": result.probability_of_ruin(ruin_loss),
        "steps": result.steps,
    }
