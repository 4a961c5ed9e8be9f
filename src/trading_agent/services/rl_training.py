"""RL training use case: PPO or DQN over the supervised walk-forward windows, several seeds, out of sample.

The protocol (docs/RL.md tells it for users):

1. The candles, contract, costs and funding of the series (``BacktestService.prepare``), and the
   training set of ``config/training.yaml`` (``build_training_set``): its rows give the SAME purged,
   embargoed walk-forward splits as the supervised ensemble; ``rl.yaml``'s ``folds`` keeps the last N.
2. Per split: the feature scaler is fitted on the train window only; per seed a fresh agent learns
   ``timesteps`` steps in ``backtest.rl_env.TradingEnv`` over the train window's candles (the
   trading engine with costs, funding and the RL-loosened risk rules, ``rl_engine_config``), then
   trades deterministically, as one episode, the candles that split alone reports: from its test
   start to the next split's (the last split: its whole test window), like the supervised
   out-of-sample record. The validation window is not used (nothing is selected on it).
3. Per seed the fold segments are stitched (returns chained) into one out-of-sample record; the
   report gives each seed's metrics and their mean and standard deviation across seeds, beside
   buy-and-hold of the perpetual over the same segments (costs and funding on, re-entered at each
   segment start like the agent) and, when the registry holds one, the registered ensemble's own
   out-of-sample figures (its span covers every split of training.yaml, so it is context, not a
   paired comparison).
4. The policy to deploy is trained the same way (first seed) on the final split's train window and
   registered as a new version of ``<series>-rl-<algorithm>`` (alias ``candidate``).

Each segment is a fresh episode: a position is not carried across segments (each starts flat).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from trading_agent.backtest.metrics import periods_per_year
from trading_agent.backtest.rl_env import TradingEnv, TradingEnvConfig, rl_engine_config, run_episode
from trading_agent.backtest.strategies import make_strategy
from trading_agent.config.rl import RLAlgorithmName, RLConfig
from trading_agent.config.training import TrainingConfig
from trading_agent.domain import SeriesKey, Trade
from trading_agent.models.rl_policy import Algorithm, FeatureScaler, RLPolicy, new_agent
from trading_agent.registry.mlflow_registry import RegistryError
from trading_agent.registry.policy_registry import PolicyRegistry
from trading_agent.services.backtest import BacktestRun, BacktestService, Market, MarketOptions, run_metrics
from trading_agent.services.ensemble_strategy import model_name
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.report_values import beats, finite, num, pct, stamp, verdict
from trading_agent.training.dataset import BarrierConfig, TrainingSet, build_training_set
from trading_agent.training.splits import Split, WalkForwardConfig, final_split, purged_walk_forward

__all__ = [
    "RLProgress",
    "RLTrainOptions",
    "RLTrainingOutcome",
    "RLTrainingReport",
    "RLTrainingService",
    "rl_training_markdown",
]

RLProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: e.g. ``("train", 3, 9)`` (fold x seed trainings done)."""

METRICS = ("total_return", "sharpe_ratio", "max_drawdown", "num_trades", "exposure")


@dataclass(frozen=True, slots=True)
class RLTrainOptions:
    """What the command line may override of ``config/rl.yaml``, and the range and registration.

    ``final_policy=False`` skips training the policy to deploy (a benchmark measures the folds only);
    nothing is registered then and the outcome's ``policy`` is None.
    """

    start_ms: int | None = None
    end_ms: int | None = None
    algorithm: str | None = None
    seeds: int | None = None
    timesteps: int | None = None
    register: bool = True
    final_policy: bool = True


class RLTrainingReport(BaseModel):
    """What an RL training run measured, out of sample with costs on (see the module docstring)."""

    series: str
    contract: str
    algorithm: str
    role: str
    timesteps: int
    seeds: list[int]
    window: int
    features: list[str]
    drawdown_penalty: float
    out_of_sample_start: datetime
    out_of_sample_end: datetime
    splits: list[dict[str, Any]]
    folds: list[dict[str, Any]]
    per_seed: list[dict[str, Any]]
    summary: dict[str, dict[str, float | None]]
    buy_hold: dict[str, Any]
    ensemble: dict[str, Any] | None
    training_s: float
    duration_s: float
    registered: dict[str, Any] | None

    def beats_buy_hold(self) -> bool:
        """Whether the mean over seeds had both a higher return and a higher Sharpe than buy-and-hold."""
        return beats({key: stats["mean"] for key, stats in self.summary.items()}, self.buy_hold)

    def versus_buy_hold(self) -> str:
        """The agent's mean out-of-sample return and Sharpe (± std over seeds) beside buy-and-hold's, in words."""
        ret, sharpe = self.summary["total_return"], self.summary["sharpe_ratio"]
        return (
            f"Over {len(self.seeds)} seeds, the {self.algorithm.upper()} agent {verdict(self.beats_buy_hold())}: "
            f"return {pct(ret['mean'])} ± {pct(ret['std'])} vs {pct(self.buy_hold.get('total_return'))}, "
            f"Sharpe {num(sharpe['mean'])} ± {num(sharpe['std'])} vs {num(self.buy_hold.get('sharpe_ratio'))}."
        )


@dataclass(frozen=True, slots=True)
class RLTrainingOutcome:
    """The report and the deployable policy."""

    report: RLTrainingReport
    policy: RLPolicy | None


@dataclass(frozen=True, slots=True)
class _Segment:
    """Candles ``[start, stop)`` one fold trades; the first decision is at the close of ``start - 1``."""

    split: Split
    start: int
    stop: int


@dataclass(frozen=True, slots=True)
class _Played:
    """One episode's equity (first decision close to the end), whether a position was open, trades, refusals."""

    equity: np.ndarray
    in_position: np.ndarray
    trades: tuple[Trade, ...]
    rejected: int


class RLTrainingService:
    """RL training over the backtest service's market data, on the training configuration's windows."""

    def __init__(
        self,
        backtests: BacktestService,
        training: TrainingConfig,
        config: RLConfig,
        registry: PolicyRegistry | None,
    ) -> None:
        self._backtests = backtests
        self._training = training
        self._config = config
        self._registry = registry

    def train(
        self, series: SeriesKey, options: RLTrainOptions, *, progress: RLProgress | None = None
    ) -> RLTrainingOutcome:
        """Run the protocol of the module docstring on ``series``; return its report and deployable policy."""
        began = time.perf_counter()
        config = self._resolved(options)
        notify = progress or (lambda stage, done, total: None)
        with service_errors():
            market = self._backtests.prepare(series, MarketOptions(start_ms=options.start_ms, end_ms=options.end_ms))
            data = self._training_set(market, series)
            names, raw = self._feature_matrix(market, data, config)
            wf = WalkForwardConfig(**self._training.walk_forward.model_dump())
            try:
                splits = purged_walk_forward(data.open_ms, data.label_end_ms, wf)
                final = final_split(data.open_ms, data.label_end_ms, wf)
            except ValueError as exc:
                raise ServiceError(f"{series}: {exc}") from None
            splits = splits[-config.folds :] if config.folds else splits
            segments = self._segments(market, splits, config.window)
            trainer = _Trainer(market, config)
            per_year = periods_per_year(series.timeframe)
            total, done = len(segments) * len(config.seeds) + int(options.final_policy), 0
            played: dict[int, list[_Played]] = {seed: [] for seed in config.seeds}
            folds: list[dict[str, Any]] = []
            notify("train", 0, total)
            for segment in segments:
                split = segment.split
                scaled, _ = trainer.scaled(raw, split.train_start_ms, split.train_end_ms)
                hold = _buy_hold(market, segment)
                for seed in config.seeds:
                    agent = trainer.learn(scaled, split.train_start_ms, split.train_end_ms, seed)
                    result = trainer.play(agent, scaled, segment)
                    played[seed].append(result)
                    folds.append(self._fold_row(segment, seed, result, hold, per_year))
                    done += 1
                    notify("train", done, total)
            policy = self._final_policy(series, trainer, raw, final, names) if options.final_policy else None
            notify("train", total, total)
            report = self._report(
                series,
                market=market,
                config=config,
                segments=segments,
                played=played,
                folds=folds,
                training_s=trainer.training_s,
                began=began,
                names=names,
                per_year=per_year,
            )
            if options.register and self._registry is not None and policy is not None:
                report = self._register(series, report, policy, final)
            return RLTrainingOutcome(report, policy)

    @staticmethod
    def _final_policy(
        series: SeriesKey, trainer: _Trainer, raw: np.ndarray, final: Split, names: tuple[str, ...]
    ) -> RLPolicy:
        """The policy to deploy: the first seed trained on the final split's train window."""
        config = trainer.config
        scaled, scaler = trainer.scaled(raw, final.train_start_ms, final.train_end_ms)
        agent = trainer.learn(scaled, final.train_start_ms, final.train_end_ms, config.seeds[0])
        return RLPolicy.from_trained(
            agent,
            scaler,
            algorithm=config.algorithm.value,
            window=config.window,
            feature_names=names,
            name=_policy_name(series, config),
            role=config.role.value,
            drawdown_penalty=config.reward.drawdown_penalty,
            timesteps=config.timesteps,
            seed=config.seeds[0],
        )

    def _resolved(self, options: RLTrainOptions) -> RLConfig:
        """``rl.yaml`` with the command line's algorithm, seed count and timesteps."""
        update: dict[str, Any] = {}
        if options.algorithm is not None:
            try:
                update["algorithm"] = RLAlgorithmName(options.algorithm)
            except ValueError:
                raise ServiceError(f"--algo {options.algorithm}: choose ppo or dqn") from None
        if options.seeds is not None:
            if options.seeds < 1:
                raise ServiceError(f"--seeds {options.seeds}: train at least one seed")
            update["seeds"] = tuple(range(options.seeds))
        if options.timesteps is not None:
            if options.timesteps < 1:
                raise ServiceError(f"--timesteps {options.timesteps}: train at least one step")
            update["timesteps"] = options.timesteps
        return self._config.model_copy(update=update)

    def _training_set(self, market: Market, series: SeriesKey) -> TrainingSet:
        training = self._training
        try:
            return build_training_set(
                market.frame,
                series.timeframe,
                feature_set=training.feature_set,
                higher_timeframes=training.higher_timeframes,
                barrier=BarrierConfig(**training.barrier.model_dump()),
            )
        except ValueError as exc:
            raise ServiceError(f"{series}: {exc}") from None

    @staticmethod
    def _feature_matrix(market: Market, data: TrainingSet, config: RLConfig) -> tuple[tuple[str, ...], np.ndarray]:
        """The chosen features per CANDLE (NaN where the training set has no row: the warm-up, the last labels)."""
        names = config.features or data.feature_names
        unknown = sorted(set(names) - set(data.feature_names))
        if unknown:
            raise ServiceError(f"rl.yaml features not in the feature set: {', '.join(unknown)}")
        columns = [data.feature_names.index(name) for name in names]
        raw = np.full((len(market.bars), len(columns)), np.nan, dtype=np.float32)
        raw[np.searchsorted(market.bars.ts, data.open_ms)] = data.X[:, columns]
        return tuple(names), raw

    @staticmethod
    def _segments(market: Market, splits: list[Split], window: int) -> list[_Segment]:
        ts = market.bars.ts
        segments = []
        for i, split in enumerate(splits):
            end = split.test_end_ms if i + 1 == len(splits) else min(split.test_end_ms, splits[i + 1].test_start_ms)
            start, stop = int(np.searchsorted(ts, split.test_start_ms)), int(np.searchsorted(ts, end))
            if start < window or stop - start < 2:
                raise ServiceError(f"walk-forward split {split.index} leaves no candles to trade out of sample")
            segments.append(_Segment(split, start, stop))
        return segments

    @staticmethod
    def _fold_row(segment: _Segment, seed: int, result: _Played, hold: BacktestRun, per_year: float) -> dict[str, Any]:
        ours = run_metrics(BacktestRun(result.equity, result.in_position, result.trades, result.rejected), per_year)
        theirs = run_metrics(hold, per_year).to_dict()
        metrics = ours.to_dict()
        return {
            "fold": segment.split.index,
            "seed": seed,
            "start": str(stamp(segment.split.test_start_ms)),
            "candles": segment.stop - segment.start,
            **{key: finite(metrics[key]) for key in METRICS},
            "rejected": result.rejected,
            "buy_hold_return": finite(theirs["total_return"]),
        }

    def _report(
        self,
        series: SeriesKey,
        *,
        market: Market,
        config: RLConfig,
        segments: list[_Segment],
        played: dict[int, list[_Played]],
        folds: list[dict[str, Any]],
        training_s: float,
        began: float,
        names: tuple[str, ...],
        per_year: float,
    ) -> RLTrainingReport:
        deposit = float(market.config.initial_balance)
        per_seed = []
        for seed, results in played.items():
            run = _stitched([(r.equity, r.in_position, r.trades, r.rejected) for r in results], deposit)
            metrics = run_metrics(run, per_year).to_dict()
            per_seed.append({"seed": seed, **{key: finite(metrics[key]) for key in METRICS}, "rejected": run.rejected})
        holds = [_buy_hold(market, segment) for segment in segments]
        hold = _stitched([(h.equity, h.in_position, h.trades, h.rejected) for h in holds], deposit)
        hold_metrics = run_metrics(hold, per_year).to_dict()
        summary = {}
        for key in METRICS:
            values = [row[key] for row in per_seed if row[key] is not None]
            summary[key] = {
                "mean": float(np.mean(values)) if values else None,
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else (0.0 if values else None),
            }
        first, last = segments[0], segments[-1]
        return RLTrainingReport(
            series=str(series),
            contract=str(market.instrument.id),
            algorithm=config.algorithm.value,
            role=config.role.value,
            timesteps=config.timesteps,
            seeds=list(config.seeds),
            window=config.window,
            features=list(names),
            drawdown_penalty=config.reward.drawdown_penalty,
            out_of_sample_start=stamp(int(market.bars.ts[first.start])),
            out_of_sample_end=stamp(int(market.bars.ts[last.stop - 1]) + series.timeframe.ms),
            splits=[_split_row(segment, market) for segment in segments],
            folds=folds,
            per_seed=per_seed,
            summary=summary,
            buy_hold={key: finite(hold_metrics[key]) for key in METRICS},
            ensemble=self._ensemble_record(series),
            training_s=training_s,
            duration_s=time.perf_counter() - began,
            registered=None,
        )

    def _ensemble_record(self, series: SeriesKey) -> dict[str, Any] | None:
        """The registered ensemble's out-of-sample figures (production, else latest version), if any."""
        if self._registry is None:
            return None
        name = model_name(series)
        try:
            try:
                info = self._registry.version(name, alias="production")
            except RegistryError:
                info = self._registry.version(name)
        except RegistryError:
            return None
        metrics = info.metrics
        return {
            "model": f"{name} v{info.version}",
            "total_return": metrics.get("oos_total_return"),
            "sharpe_ratio": metrics.get("oos_sharpe_ratio"),
            "max_drawdown": metrics.get("oos_max_drawdown"),
            "num_trades": metrics.get("oos_num_trades"),
            "buy_hold_return": metrics.get("oos_buy_hold_return"),
            "note": "its own out-of-sample span (every split of training.yaml), not the RL segments",
        }

    def _register(
        self, series: SeriesKey, report: RLTrainingReport, policy: RLPolicy, final: Split
    ) -> RLTrainingReport:
        registry = self._registry
        if registry is None:
            return report
        metrics = {f"oos_{key}_{stat}": value for key, row in report.summary.items() for stat, value in row.items()}
        metrics["oos_buy_hold_return"] = report.buy_hold["total_return"]
        known = {key: float(value) for key, value in metrics.items() if value is not None}
        fold_metrics = []
        for index in dict.fromkeys(row["fold"] for row in report.folds):
            rows = [row for row in report.folds if row["fold"] == index]
            means = {key: np.mean([r[key] for r in rows if r[key] is not None] or [np.nan]) for key in METRICS}
            fold_metrics.append({key: float(value) for key, value in means.items()})
        params = {
            "algorithm": report.algorithm,
            "role": report.role,
            "timesteps": report.timesteps,
            "seeds": ",".join(map(str, report.seeds)),
            "window": report.window,
            "drawdown_penalty": report.drawdown_penalty,
            "features": ",".join(report.features),
            "trained_from_ms": final.train_start_ms,
            "trained_until_ms": final.train_end_ms,
            **{f"walk_forward.{k}": v for k, v in self._training.walk_forward.model_dump().items()},
        }
        with tempfile.TemporaryDirectory(prefix="trading-agent-policy-") as tmp:
            folder = Path(tmp) / "policy"
            policy.save(folder)
            report_file = Path(tmp) / "rl_training_report.json"
            report_file.write_text(report.model_dump_json(indent=2))
            version = registry.register_policy(
                folder,
                name=policy.name,
                params=params,
                metrics=known,
                fold_metrics=fold_metrics,
                tags={"series": str(series), "contract": report.contract, "role": report.role, "kind": "rl-policy"},
                files=[report_file],
            )
        registered = {"name": version.name, "version": version.version, "aliases": list(version.aliases)}
        return report.model_copy(update={"registered": registered})


class _Trainer:
    """Environments over the market's candles and the SB3 agents trained and played in them."""

    def __init__(self, market: Market, config: RLConfig) -> None:
        self.market = market
        self.config = config
        self.algorithm = Algorithm(config.algorithm.value)
        self.engine_config = rl_engine_config(market.config, config.trading.max_exposure)
        self.env_config = TradingEnvConfig(
            algorithm=self.algorithm,
            window=config.window,
            drawdown_penalty=config.reward.drawdown_penalty,
            max_exposure=config.trading.max_exposure,
            leverage=Decimal(repr(config.trading.leverage)),
            rebalance_band=config.trading.rebalance_band,
        )
        self.training_s = 0.0

    def scaled(self, raw: np.ndarray, start_ms: int, end_ms: int) -> tuple[np.ndarray, FeatureScaler]:
        """Every candle's features scaled by a scaler fitted on the candles in ``[start_ms, end_ms)`` only."""
        ts = self.market.bars.ts
        rows = raw[int(np.searchsorted(ts, start_ms)) : int(np.searchsorted(ts, end_ms))]
        scaler = FeatureScaler.fit(rows)
        return scaler.transform(raw), scaler

    def env(self, scaled: np.ndarray, start: int, stop: int) -> TradingEnv:
        return TradingEnv(
            self.market.bars.window(start, stop),
            scaled[start:stop],
            instrument=self.market.instrument,
            engine_config=self.engine_config,
            config=self.env_config,
            funding=self.market.funding,
        )

    def learn(self, scaled: np.ndarray, start_ms: int, end_ms: int, seed: int) -> Any:
        """A fresh agent of ``seed`` trained ``timesteps`` steps on the candles in ``[start_ms, end_ms)``."""
        ts = self.market.bars.ts
        start, stop = int(np.searchsorted(ts, start_ms)), int(np.searchsorted(ts, end_ms))
        env = self.env(scaled, start, stop)
        agent = new_agent(self.algorithm, env, seed=seed, params=self._params(), net_arch=self.config.net_arch)
        began = time.perf_counter()
        agent.learn(total_timesteps=self.config.timesteps)
        self.training_s += time.perf_counter() - began
        return agent

    def play(self, agent: Any, scaled: np.ndarray, segment: _Segment) -> _Played:
        """The agent's deterministic episode over the segment (fed ``window`` candles before it idle)."""
        env = self.env(scaled, segment.start - self.config.window, segment.stop)
        result = run_episode(env, lambda obs: agent.predict(obs, deterministic=True)[0])
        return _Played(result.equity, result.contracts != 0, result.trades, result.rejected)

    def _params(self) -> dict[str, Any]:
        """The algorithm's hyperparameters, with batches no larger than the training budget."""
        steps = self.config.timesteps
        if self.algorithm.discrete:
            dqn = self.config.dqn.model_dump()
            dqn["learning_starts"] = min(dqn["learning_starts"], steps // 2)
            return dqn
        ppo = self.config.ppo.model_dump()
        ppo["n_steps"] = max(8, min(ppo["n_steps"], steps))
        ppo["batch_size"] = min(ppo["batch_size"], ppo["n_steps"])
        return ppo


def _policy_name(series: SeriesKey, config: RLConfig) -> str:
    return f"{model_name(series)}-rl-{config.algorithm.value}"


def _buy_hold(market: Market, segment: _Segment) -> BacktestRun:
    """Buy-and-hold of the perpetual from the close before the segment to its end (costs and funding on)."""
    return market.backtest(make_strategy("buy-hold"), segment.start - 1, segment.stop, engine="event")


def _stitched(pieces: list[tuple[np.ndarray, np.ndarray, tuple[Trade, ...], int]], deposit: float) -> BacktestRun:
    """Segments chained into one record: their per-candle returns compounded from ``deposit``."""
    returns = np.concatenate([equity[1:] / equity[:-1] - 1.0 for equity, _, _, _ in pieces])
    held = np.concatenate([[False]] + [in_position[1:] for _, in_position, _, _ in pieces])
    trades = tuple(trade for _, _, piece, _ in pieces for trade in piece)
    equity = deposit * np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    return BacktestRun(equity, held, trades, sum(rejected for _, _, _, rejected in pieces))


def _split_row(segment: _Segment, market: Market) -> dict[str, Any]:
    split = segment.split
    return {
        "fold": split.index,
        "train": [str(stamp(split.train_start_ms)), str(stamp(split.train_end_ms))],
        "test": [str(stamp(split.test_start_ms)), str(stamp(split.test_end_ms))],
        "traded": [str(stamp(int(market.bars.ts[segment.start]))), str(stamp(int(market.bars.ts[segment.stop - 1])))],
    }


def rl_training_markdown(report: RLTrainingReport) -> str:
    """The report as Markdown: the verdict, per-seed and summary tables beside buy-and-hold, the folds."""
    header = "| | return | Sharpe | max DD | trades | exposure |\n|---|---:|---:|---:|---:|---:|"

    def row(name: str, values: dict[str, Any]) -> str:
        cells = (
            pct(values.get("total_return")),
            num(values.get("sharpe_ratio")),
            pct(values.get("max_drawdown")),
            "n/a" if values.get("num_trades") is None else f"{values['num_trades']:.0f}",
            pct(values.get("exposure")),
        )
        return f"| {name} | " + " | ".join(cells) + " |"

    means = {key: stats["mean"] for key, stats in report.summary.items()}
    spreads = {key: stats["std"] for key, stats in report.summary.items()}
    lines = [
        f"# RL agent ({report.algorithm.upper()}) on {report.series} as {report.contract}",
        "",
        f"Out of sample, costs on, {report.out_of_sample_start:%Y-%m-%d} to {report.out_of_sample_end:%Y-%m-%d}; "
        f"{len(report.splits)} walk-forward folds x {len(report.seeds)} seeds, {report.timesteps:,} steps each, "
        f"window {report.window}, drawdown penalty {report.drawdown_penalty}, role {report.role}.",
        "",
        f"**{report.versus_buy_hold()}**",
        "",
        "## Out of sample",
        "",
        header,
        *(row(f"seed {r['seed']}", r) for r in report.per_seed),
        row("mean over seeds", means),
        row("std over seeds", spreads),
        row("buy-and-hold", report.buy_hold),
    ]
    if report.ensemble is not None:
        lines += ["", f"Registered ensemble {report.ensemble['model']} ({report.ensemble['note']}):", "", header]
        lines.append(row("ensemble", report.ensemble))
    lines += ["", "## Folds", "", "| fold | seed | start | candles | return | Sharpe | trades | buy-and-hold |"]
    lines.append("|---:|---:|---|---:|---:|---:|---:|---:|")
    lines += [
        f"| {r['fold']} | {r['seed']} | {r['start']} | {r['candles']} | {pct(r['total_return'])} | "
        f"{num(r['sharpe_ratio'])} | {r['num_trades']} | {pct(r['buy_hold_return'])} |"
        for r in report.folds
    ]
    lines += ["", f"Training {report.training_s:,.0f} s of {report.duration_s:,.0f} s in all."]
    if report.registered is not None:
        lines.append(f"Registered {report.registered['name']} version {report.registered['version']}.")
    return "\n".join(lines) + "\n"
