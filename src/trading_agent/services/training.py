"""Training use case: tune, walk-forward train and evaluate the ensemble on stored candles, then register it.

The protocol (docs/TRAINING.md tells it for users):

1. The training set of the series (features of ``config/training.yaml``, triple-barrier labels).
2. The purged walk-forward splits. Optuna tunes each base model on folds that lie wholly BEFORE the
   first reported test window (``tuning.folds`` of them), so no reported row is ever tuned on.
3. Every split trains the ensemble (base models, meta model, calibrator) and predicts its test
   window; the stitched out-of-sample record trades as the agent would (``training.pipeline``).
4. Every figure is out of sample with costs on: classification metrics per model and fold, the
   strategy of each model's and the ensemble's signals (``signal_filters.mapping``), every trade
   sized fixed-fractionally at ``risk_per_trade`` (Kelly would size to zero after the first 30
   trades of a model without an edge and stop the evaluation there), through the vectorised
   backtester (fees with GST, slippage, funding; the risk limits are not modelled; a run that
   reaches a liquidation, which it does not model, is rerun on the event engine), buy-and-hold of
   the perpetual over the same candles (costs and funding on) and of the underlying itself
   ("spot-hold", no costs), the deflated Sharpe over every configuration tried, the reliability
   table, and the deployed model's feature importances.
5. The model to deploy is trained the same way on the latest windows (``splits.final_split``) and
   registered as a new version (alias ``candidate``; ``promote`` also makes it production). With
   ``anomaly.enabled``, the VAE anomaly detector is fitted on the same training rows and travels
   in the bundle; the report says which share of the (unseen) validation rows it flags.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import brier_score_loss, log_loss

from trading_agent.backtest.metrics import (
    deflated_sharpe_ratio,
    periods_per_year,
    returns_from_equity,
    sharpe_ratio,
    sortino_ratio,
)
from trading_agent.backtest.metrics_classification import classification_metrics
from trading_agent.backtest.strategies import make_strategy, replay_strategy
from trading_agent.backtest.vectorized import VectorizedScopeError
from trading_agent.config.trading_rules import TradingRules
from trading_agent.config.training import KNOWN_MODELS, SEQUENCE_MODELS, AugmentationSection, TrainingConfig
from trading_agent.domain import SeriesKey, SizingMethod
from trading_agent.models.anomaly import VAEAnomalyDetector
from trading_agent.models.anomaly_runtime import OnnxAnomalyScorer
from trading_agent.models.base import Model
from trading_agent.models.bundle import save_ensemble
from trading_agent.models.calibration import CalibrationMethod, expected_calibration_error, reliability_table
from trading_agent.models.catalog import make_model
from trading_agent.models.predictor import EnsemblePredictor
from trading_agent.models.signals import SignalThresholds, signal_directions
from trading_agent.registry.mlflow_registry import ModelRegistry
from trading_agent.services.backtest import BacktestRun, BacktestService, Market, MarketOptions, run_metrics
from trading_agent.services.ensemble_strategy import model_name
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.report_values import beats, finite, num, pct, stamp, verdict
from trading_agent.services.sentiment import headline_scores, sentiment_info
from trading_agent.services.trading_setup import signal_thresholds
from trading_agent.training.dataset import BarrierConfig, TrainingSet, build_training_set
from trading_agent.training.oof import FoldSetup, fit_ensemble
from trading_agent.training.pipeline import WalkForwardRun, feature_importances, walk_forward_run
from trading_agent.training.splits import Split, WalkForwardConfig, final_split, purged_walk_forward
from trading_agent.training.tuning import TuningConfig, TuningObjective, TuningResult, tune_model

__all__ = ["TrainOptions", "TrainingOutcome", "TrainingProgress", "TrainingReport", "TrainingService"]

TrainingProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: e.g. ``("tune lgbm", 3, 20)``, ``("walk-forward", 5, 12)``."""

_LEAD_CANDLES = 64  # candles before a window the backtest runs through idle, so ATR stops are defined at its start
_SHOWN_METRICS = ("total_return", "annual_return", "sharpe_ratio", "sortino_ratio", "max_drawdown", "num_trades",
                  "win_rate", "profit_factor", "exposure")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrainOptions:
    """What the command line may override of ``config/training.yaml``, and the range and registration."""

    start_ms: int | None = None
    end_ms: int | None = None
    models: tuple[str, ...] | None = None
    trials: int | None = None
    objective: str | None = None
    storage: str | None = None
    register: bool = True
    promote: bool = False


class TrainingReport(BaseModel):
    """What a training run measured, all out of sample with costs on (see the module docstring)."""

    series: str
    contract: str
    models: list[str]
    meta: str
    calibration: str
    rows: int
    features: int
    first_candle: datetime
    last_candle: datetime
    out_of_sample_start: datetime
    out_of_sample_end: datetime
    splits: list[dict[str, Any]]
    tuning: dict[str, dict[str, Any]]
    folds: list[dict[str, Any]]
    out_of_sample: dict[str, dict[str, Any]]
    n_trials: int
    deflated_sharpe_ratio: float | None
    reliability: list[dict[str, float]]
    expected_calibration_error: float
    feature_importances: dict[str, float]
    anomaly: dict[str, float] | None = None
    registered: dict[str, Any] | None
    duration_s: float

    def beats_buy_hold(self) -> bool:
        """Whether the ensemble, after costs, had both a higher return and a higher Sharpe than buy-and-hold."""
        return beats(self.out_of_sample["ensemble"], self.out_of_sample["buy-hold"])

    def versus_buy_hold(self) -> str:
        """The ensemble's out-of-sample return and Sharpe beside buy-and-hold's, in words."""
        ours, theirs = self.out_of_sample["ensemble"], self.out_of_sample["buy-hold"]
        return (
            f"The ensemble {verdict(self.beats_buy_hold())}: return {pct(ours['total_return'])} vs "
            f"{pct(theirs['total_return'])}, Sharpe {num(ours['sharpe_ratio'])} vs {num(theirs['sharpe_ratio'])}."
        )


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """The report and the deployable predictor."""

    report: TrainingReport
    predictor: EnsemblePredictor
    anomaly: OnnxAnomalyScorer | None = None


@dataclass(frozen=True, slots=True)
class _Scorer:
    """Signals of probabilities on rows of the training set, traded with costs over candle windows of the market."""

    market: Market
    data: TrainingSet
    thresholds: SignalThresholds

    def run(self, name: str, rows: np.ndarray, p_up: np.ndarray, *, start_ms: int, end_ms: int) -> BacktestRun:
        """The vectorised backtest of the signals of ``p_up`` on ``rows`` over candles ``[start_ms, end_ms)``."""
        ts = self.market.bars.ts
        start, stop = int(np.searchsorted(ts, start_ms)), int(np.searchsorted(ts, end_ms))
        lead = max(0, start - _LEAD_CANDLES)
        if name == "buy-hold":
            strategy = make_strategy("buy-hold")
            lead = start
        else:
            entries = signal_directions(p_up, np.maximum(p_up, 1.0 - p_up), self.thresholds)
            strategy = replay_strategy(name, self.data.open_ms[rows], entries)
        try:
            run = self.market.backtest(strategy, lead, stop, engine="vector")
        except VectorizedScopeError:  # a rule outside the vectorized model (a liquidation, limit entries)
            run = self.market.backtest(strategy, lead, stop, engine="event")
        cut = start - lead
        return BacktestRun(run.equity[cut:], run.in_position[cut:], run.trades, run.rejected)

    def spot_hold(self, *, start_ms: int, end_ms: int) -> BacktestRun:
        """Holding the underlying itself over the candles in ``[start_ms, end_ms)``: no fees, no funding, no margin."""
        ts = self.market.bars.ts
        close = self.market.bars.close[int(np.searchsorted(ts, start_ms)) : int(np.searchsorted(ts, end_ms))]
        equity = float(self.market.config.initial_balance) * close / close[0]
        return BacktestRun(equity, np.ones(len(close), dtype=bool), (), 0)

    def sharpe(self, rows: np.ndarray, p_up: np.ndarray, sortino: bool = False) -> float:
        """The annualised Sharpe (or Sortino) of trading ``p_up`` on ``rows``, over the candles they span."""
        start, end = int(self.data.open_ms[rows[0]]), int(self.data.open_ms[rows[-1]]) + self.data.timeframe.ms
        returns = returns_from_equity(self.run("tuning", rows, p_up, start_ms=start, end_ms=end).equity)
        per_year = periods_per_year(self.data.timeframe)
        ratio = sortino_ratio if sortino else sharpe_ratio
        value = ratio(returns, periods_per_year=per_year)
        return float(value)  # NaN (no trade) counts as 0 in the tuning (training.tuning)


class TrainingService:
    """Training over the backtest service's market data, with the trading rules' signal mapping."""

    def __init__(
        self, backtests: BacktestService, rules: TradingRules, config: TrainingConfig, registry: ModelRegistry | None
    ) -> None:
        self._backtests = backtests
        self._thresholds = signal_thresholds(rules)
        self._config = config
        self._registry = registry

    def train(
        self, series: SeriesKey, options: TrainOptions, *, progress: TrainingProgress | None = None
    ) -> TrainingOutcome:
        """Run the whole protocol of the module docstring on ``series`` and return its report and model."""
        began = time.perf_counter()
        config = self._config
        models = options.models or config.models
        unknown = sorted(set(models) - set(KNOWN_MODELS))
        if unknown or len(set(models)) != len(models):
            raise ServiceError(f"--models {','.join(models)}: name each of {', '.join(KNOWN_MODELS)} at most once")
        if options.promote and not options.register:
            raise ServiceError("--promote needs the model registered (drop --no-register)")
        tuning = self._tuning_config(series, options)
        notify = progress or (lambda stage, done, total: None)
        with service_errors():
            market = self._backtests.prepare(series, MarketOptions(start_ms=options.start_ms, end_ms=options.end_ms))
            # Kelly sizes to zero once its first trades show no edge, which would end the evaluation there
            market = replace(market, sizing=replace(market.sizing, method=SizingMethod.FIXED_FRACTIONAL))
            data = self._training_set(market, series)
            wf = WalkForwardConfig(**config.walk_forward.model_dump())
            splits = purged_walk_forward(data.open_ms, data.label_end_ms, wf)
            scorer = _Scorer(market, data, self._thresholds)
            tuned = self._tune_all(
                models, data=data, first=splits[0], wf=wf, tuning=tuning, scorer=scorer, notify=notify
            )
            setup = FoldSetup(
                base_models={key: _factory(key, tuned.get(key), config.augmentation) for key in models},
                meta=config.meta.value,
                calibration=CalibrationMethod(config.calibration.value),
            )
            run = walk_forward_run(data, splits, setup, on_fold=lambda d, t: notify("walk-forward", d, t))
            notify("final model", 0, 1)
            final = final_split(data.open_ms, data.label_end_ms, wf)
            predictor = fit_ensemble(data, final.train, final.validation, setup)
            anomaly = self._anomaly_scorer(data, final)
            notify("final model", 1, 1)
            report = self._report(series, scorer=scorer, run=run, tuned=tuned, predictor=predictor, began=began)
            if anomaly is not None:
                flagged = anomaly.is_anomaly(data.X[final.validation][:, anomaly.columns(data.feature_names)])
                report = report.model_copy(
                    update={"anomaly": {"threshold": anomaly.threshold, "validation_flagged": float(flagged.mean())}}
                )
            if options.register and self._registry is not None:
                report = self._register(
                    series, report, predictor, data, final, anomaly=anomaly, promote=options.promote
                )
            return TrainingOutcome(report, predictor, anomaly)

    def _anomaly_scorer(self, data: TrainingSet, final: Split) -> OnnxAnomalyScorer | None:
        """The anomaly detector on the deployed model's training rows, exported; None when disabled."""
        section = self._config.anomaly
        if not section.enabled:
            return None
        excluded = set(section.exclude)
        unknown = sorted(excluded - {name.split("@")[0] for name in data.feature_names})
        if unknown:
            raise ServiceError(f"anomaly.exclude names features the feature set does not have: {', '.join(unknown)}")
        keep = [
            i
            for i, name in enumerate(data.feature_names)
            if not name.startswith(section.exclude_prefixes) and name.split("@")[0] not in excluded
        ]
        if not keep:
            raise ServiceError("anomaly.exclude_prefixes and anomaly.exclude leave no feature to read")
        detector = VAEAnomalyDetector(percentile=section.percentile, epochs=section.epochs)
        rows = data.X[np.ix_(final.train, np.asarray(keep, dtype=np.intp))]
        return OnnxAnomalyScorer.from_detector(detector.fit(rows, [data.feature_names[i] for i in keep]))

    def _tuning_config(self, series: SeriesKey, options: TrainOptions) -> TuningConfig | None:
        """The Optuna settings, or None when no trial is asked for (the libraries' defaults are used)."""
        section = self._config.tuning
        trials = section.trials if options.trials is None else options.trials
        if trials == 0:
            return None
        storage = options.storage or section.storage
        try:
            return TuningConfig(
                trials=trials,
                objective=TuningObjective(options.objective or section.objective.value),
                storage=storage,
                study_name=model_name(series) if storage else None,
                seed=section.seed,
            )
        except ValueError as exc:
            raise ServiceError(f"tuning: {exc}") from None

    def _training_set(self, market: Market, series: SeriesKey) -> TrainingSet:
        config = self._config
        barrier = BarrierConfig(**config.barrier.model_dump())
        try:
            return build_training_set(
                market.frame,
                series.timeframe,
                feature_set=config.feature_set,
                higher_timeframes=config.higher_timeframes,
                barrier=barrier,
                sentiment=headline_scores(config.sentiment.headlines),
                sentiment_windows=config.sentiment.windows,
            )
        except ValueError as exc:
            raise ServiceError(f"{series}: {exc}") from None

    def _tune_all(
        self,
        models: tuple[str, ...],
        *,
        data: TrainingSet,
        first: Split,
        wf: WalkForwardConfig,
        tuning: TuningConfig | None,
        scorer: _Scorer,
        notify: TrainingProgress,
    ) -> dict[str, TuningResult]:
        """Each model's tuning result (none without tuning: the libraries' defaults are used)."""
        if tuning is None:
            return {}
        return {
            key: self._tune(key, data=data, first=first, wf=wf, tuning=tuning, scorer=scorer, notify=notify)
            for key in models
        }

    def _tune(
        self,
        key: str,
        *,
        data: TrainingSet,
        first: Split,
        wf: WalkForwardConfig,
        tuning: TuningConfig,
        scorer: _Scorer,
        notify: TrainingProgress,
    ) -> TuningResult:
        """Tune ``key`` on folds that end before the first reported test window (``first.test_start_ms``)."""
        cut = int(np.searchsorted(data.open_ms, first.test_start_ms - round(wf.embargo_days * 86_400_000)))
        fold_config = replace(wf, n_splits=self._config.tuning.folds)
        try:
            folds = purged_walk_forward(data.open_ms[:cut], data.label_end_ms[:cut], fold_config)
        except ValueError:
            raise ServiceError(
                f"too little history before the first test window to tune on ({cut:,} rows): load more candles, "
                "or set tuning.trials to 0 (or --trials 0)"
            ) from None
        sortino = tuning.objective is TuningObjective.SORTINO

        def score(rows: np.ndarray, p_up: np.ndarray) -> float:
            return scorer.sharpe(rows, p_up, sortino=sortino)

        stage = f"tune {key}"
        notify(stage, 0, tuning.trials)
        study = tuning if tuning.study_name is None else replace(tuning, study_name=f"{tuning.study_name}-{key}")
        return tune_model(
            key,
            data,
            folds,
            study,
            score=score,
            fixed_params=_sequence_params(key, self._config.augmentation),
            on_trial=lambda d, t: notify(stage, d, t),
        )

    def _report(
        self,
        series: SeriesKey,
        *,
        scorer: _Scorer,
        run: WalkForwardRun,
        tuned: dict[str, TuningResult],
        predictor: EnsemblePredictor,
        began: float,
    ) -> TrainingReport:
        per_year = periods_per_year(series.timeframe)
        market, data = scorer.market, scorer.data
        folds = [
            row
            for split, fold in zip(run.splits, run.folds, strict=True)
            for row in _fold_rows(
                scorer, split, prediction=fold.output.prediction, votes=fold.output.votes, per_year=per_year
            )
        ]
        record = run.out_of_sample
        start_ms = int(data.open_ms[record.rows[0]])
        end_ms = int(data.open_ms[record.rows[-1]]) + series.timeframe.ms
        y = data.y[record.rows]
        candidates = {"ensemble": record.prediction, **record.votes}
        runs = {
            name: scorer.run(name, record.rows, p, start_ms=start_ms, end_ms=end_ms) for name, p in candidates.items()
        }
        runs["buy-hold"] = scorer.run("buy-hold", record.rows, record.prediction, start_ms=start_ms, end_ms=end_ms)
        runs["spot-hold"] = scorer.spot_hold(start_ms=start_ms, end_ms=end_ms)
        out_of_sample = {}
        for name, result in runs.items():
            metrics = run_metrics(result, per_year).to_dict()
            shown = {key: finite(metrics[key]) for key in _SHOWN_METRICS}
            if name in candidates:
                shown |= _classification(y, candidates[name])
            out_of_sample[name] = shown
        trial_sharpes = [
            sharpe_ratio(returns_from_equity(r.equity), periods_per_year=per_year)
            for name, r in runs.items()
            if name in candidates
        ]
        n_trials = len(trial_sharpes) + sum(result.n_trials for result in tuned.values())
        finite_sharpes = [s for s in trial_sharpes if math.isfinite(s)]
        dsr = (
            deflated_sharpe_ratio(
                returns_from_equity(runs["ensemble"].equity),
                n_trials=n_trials,
                trial_sharpes=finite_sharpes,
                periods_per_year=per_year,
            )
            if len(finite_sharpes) >= 2
            else float("nan")
        )
        table = reliability_table(record.prediction, y)
        return TrainingReport(
            series=str(series),
            contract=str(market.instrument.id),
            models=list(predictor.base),
            meta=self._config.meta.value,
            calibration=self._config.calibration.value,
            rows=len(data),
            features=len(data.feature_names),
            first_candle=market.frame.index[0],
            last_candle=market.frame.index[-1],
            out_of_sample_start=stamp(start_ms),
            out_of_sample_end=stamp(end_ms),
            splits=[_split_row(split) for split in run.splits],
            tuning={key: _tuning_row(result) for key, result in tuned.items()},
            folds=folds,
            out_of_sample=out_of_sample,
            n_trials=n_trials,
            deflated_sharpe_ratio=finite(float(dsr)),
            reliability=[{str(k): finite(float(v)) for k, v in row.items()} for row in table.to_dict("records")],
            expected_calibration_error=expected_calibration_error(record.prediction, y),
            feature_importances=dict(
                list(feature_importances(list(predictor.base.values()), data.feature_names).items())[:25]
            ),
            registered=None,
            duration_s=time.perf_counter() - began,
        )

    def _register(
        self,
        series: SeriesKey,
        report: TrainingReport,
        predictor: EnsemblePredictor,
        data: TrainingSet,
        final: Split,
        *,
        anomaly: OnnxAnomalyScorer | None,
        promote: bool,
    ) -> TrainingReport:
        assert self._registry is not None
        config = self._config
        info = {
            "series": str(series),
            "timeframe": series.timeframe.value,
            "feature_set": config.feature_set,
            "higher_timeframes": [tf.value for tf in config.higher_timeframes],
            "barrier": config.barrier.model_dump(),
            "sentiment": sentiment_info(config.sentiment.headlines, config.sentiment.windows),
            "trained_from_ms": int(data.open_ms[final.train[0]]),
            "trained_until_ms": int(data.open_ms[final.validation[-1]]) + series.timeframe.ms,
        }
        ensemble = report.out_of_sample["ensemble"]
        metrics = {f"oos_{k}": float(v) for k, v in ensemble.items() if isinstance(v, int | float)}
        metrics |= {
            "oos_buy_hold_return": float(report.out_of_sample["buy-hold"]["total_return"]),
            "expected_calibration_error": report.expected_calibration_error,
        }
        if report.deflated_sharpe_ratio is not None:
            metrics["deflated_sharpe_ratio"] = report.deflated_sharpe_ratio
        fold_metrics = [
            {k: float(v) for k, v in row.items() if isinstance(v, int | float) and k != "fold"}
            for row in report.folds
            if row["model"] == "ensemble"
        ]
        params = {
            "models": ",".join(report.models),
            "meta": report.meta,
            "calibration": report.calibration,
            **{f"walk_forward.{k}": v for k, v in config.walk_forward.model_dump().items()},
            **{f"barrier.{k}": v for k, v in config.barrier.model_dump().items()},
            **{f"{m}.{k}": v for m, row in report.tuning.items() for k, v in row["best_params"].items()},
        }
        with tempfile.TemporaryDirectory(prefix="trading-agent-bundle-") as tmp:
            bundle = Path(tmp) / "ensemble"
            save_ensemble(predictor, bundle, info=info, anomaly=anomaly)
            report_file = Path(tmp) / "training_report.json"
            report_file.write_text(report.model_dump_json(indent=2))
            version = self._registry.register(
                bundle,
                name=model_name(series),
                params=params,
                metrics=metrics,
                fold_metrics=fold_metrics,
                tags={"series": str(series), "contract": report.contract},
                files=[report_file],
            )
        if promote:
            version = self._registry.promote(version.name, version.version)
        registered = {"name": version.name, "version": version.version, "aliases": list(version.aliases)}
        return report.model_copy(update={"registered": registered})


def _factory(key: str, tuned: TuningResult | None, augmentation: AugmentationSection) -> Callable[[], Model]:
    """Builds ``key`` with its tuned parameters (none: the defaults) and ``_sequence_params``."""
    params = ({} if tuned is None else dict(tuned.best_params)) | _sequence_params(key, augmentation)
    return lambda: make_model(key, **params)


def _sequence_params(key: str, augmentation: AugmentationSection) -> dict[str, Any]:
    """The parameters every sequence model built here gets (tuning trials included): the augmentation when it is
    enabled; nothing for a tree model."""
    return augmentation.model_params() if key in SEQUENCE_MODELS else {}


def _classification(y: np.ndarray, p_up: np.ndarray) -> dict[str, Any]:
    """Accuracy, ROC-AUC, log-loss and Brier score of ``p_up`` against the outcomes ``y``."""
    metrics = classification_metrics(y, (p_up > 0.5).astype(np.int64), p_up, labels=[0, 1])
    clipped = np.clip(p_up, 1e-6, 1 - 1e-6)
    return {
        "accuracy": finite(metrics.accuracy),
        "roc_auc": finite(metrics.roc_auc),
        "log_loss": finite(float(log_loss(y, clipped, labels=[0, 1]))),
        "brier": finite(float(brier_score_loss(y, clipped))),
    }


def _fold_rows(
    scorer: _Scorer,
    split: Split,
    *,
    prediction: np.ndarray,
    votes: dict[str, np.ndarray],
    per_year: float,
) -> list[dict[str, Any]]:
    """Per model (and the ensemble) the classification and strategy metrics of one fold's whole test window."""
    rows, y = split.test, scorer.data.y[split.test]
    out = []
    for name, p in {"ensemble": prediction, **votes}.items():
        result = scorer.run(name, rows, p, start_ms=split.test_start_ms, end_ms=split.test_end_ms)
        metrics = run_metrics(result, per_year).to_dict()
        out.append(
            {
                "fold": split.index,
                "model": name,
                **_classification(y, p),
                "total_return": finite(metrics["total_return"]),
                "sharpe_ratio": finite(metrics["sharpe_ratio"]),
                "num_trades": metrics["num_trades"],
            }
        )
    return out


def _split_row(split: Split) -> dict[str, Any]:
    return {
        "fold": split.index,
        "train": [str(stamp(split.train_start_ms)), str(stamp(split.train_end_ms))],
        "validation": [str(stamp(split.validation_start_ms)), str(stamp(split.validation_end_ms))],
        "test": [str(stamp(split.test_start_ms)), str(stamp(split.test_end_ms))],
        "rows": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
    }


def _tuning_row(result: TuningResult) -> dict[str, Any]:
    return {
        "best_params": result.best_params,
        "best_value": finite(result.best_value),
        "trials": result.n_trials,
        "complete": result.n_complete,
        "pruned": result.n_pruned,
    }
