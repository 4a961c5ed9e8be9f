"""The training protocol end to end on real BTC candles: tune, walk forward, report, register, backtest the model."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tests.testkit.services import REPO_ROOT
from trading_agent.config import load_settings
from trading_agent.config.trading_rules import load_trading_rules
from trading_agent.config.training import AnomalySection, TrainingConfig, TuningSection, WalkForwardSection
from trading_agent.data.files import SeriesFileKind
from trading_agent.domain import SeriesKey
from trading_agent.registry.mlflow_registry import ModelRegistry
from trading_agent.services.ab_test import ab_test
from trading_agent.services.backtest import BacktestService, MarketOptions
from trading_agent.services.market_data import MarketDataService
from trading_agent.services.training import TrainingService, TrainOptions

SERIES = SeriesKey.of("binance", "BTCUSDT", "1h")
CONFIG = TrainingConfig(
    models=("lgbm", "rf"),
    walk_forward=WalkForwardSection(train_days=60, validation_days=20, test_days=14, step_days=14, n_splits=3),
    tuning=TuningSection(trials=2, folds=1),
    anomaly=AnomalySection(epochs=5),
)


def _ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1_000_000)


def _range(start: str, end: str) -> MarketOptions:
    return MarketOptions(start_ms=_ms(start), end_ms=_ms(end))


@pytest.mark.real_data
def test_train_reports_out_of_sample_registers_and_the_model_backtests(
    btc_1h_path: Path, funding_path: Path, tmp_path: Path
) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", config_dir=REPO_ROOT / "config")
    market_data = MarketDataService.from_settings(settings)
    market_data.import_file(btc_1h_path, "binance", "BTCUSDT", "1h", SeriesFileKind.CANDLES)
    market_data.import_file(funding_path, "binance", "BTCUSDT", None, SeriesFileKind.FUNDING)
    rules = load_trading_rules(REPO_ROOT / "config")
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}")
    backtests = BacktestService(market_data, rules, REPO_ROOT / "config", None, registry)
    stages: set[str] = set()
    options = TrainOptions(start_ms=_ms("2023-07-01"), end_ms=_ms("2024-01-01"))
    outcome = TrainingService(backtests, rules, CONFIG, registry).train(
        SERIES, options, progress=lambda stage, done, total: stages.add(stage)
    )
    report = outcome.report
    assert stages == {"tune lgbm", "tune rf", "walk-forward", "final model"}
    assert set(report.out_of_sample) == {"ensemble", "lgbm", "rf", "buy-hold", "spot-hold"}
    assert report.n_trials == 3 + 2 * 2  # the ensemble and both models compared, plus every tuning trial
    assert {row["trials"] for row in report.tuning.values()} == {2}
    assert len(report.folds) == 3 * 3 and {r["model"] for r in report.folds} == {"ensemble", "lgbm", "rf"}
    first_test, end = report.splits[0]["test"][0], report.out_of_sample_end
    assert str(report.out_of_sample_start) == first_test  # the record runs from the first test window
    assert pd.Timestamp("2023-12-30", tz="UTC") < end <= pd.Timestamp("2024-01-01", tz="UTC")  # to the last label
    for name in ("ensemble", "lgbm", "rf"):
        metrics = report.out_of_sample[name]
        assert 0 <= metrics["accuracy"] <= 1, (name, report.out_of_sample)
    assert sum(report.out_of_sample[n]["num_trades"] for n in ("ensemble", "lgbm", "rf")) > 0, report.out_of_sample
    assert report.deflated_sharpe_ratio is None or 0 <= report.deflated_sharpe_ratio <= 1
    assert abs(sum(r["count"] for r in report.reliability) - 42 * 24) <= 24  # 42 days out of sample
    assert math.isclose(sum(report.feature_importances.values()), 1, rel_tol=0.5)  # the top 25 of 181
    assert report.anomaly is not None and outcome.anomaly is not None
    assert report.anomaly["threshold"] == outcome.anomaly.threshold
    assert 0 <= report.anomaly["validation_flagged"] < 0.2  # ~1% of rows like the training ones; more on a shock

    # buy-and-hold of the report is the backtest service's over the same candles, an independent path
    window = MarketOptions(start_ms=_ms(first_test), end_ms=int(end.value // 1_000_000))
    hold = backtests.run(SERIES, "buy-hold", options=window, engine="vector").report.metrics
    assert report.out_of_sample["buy-hold"]["total_return"] == pytest.approx(hold["total_return"], rel=1e-9)
    closes = market_data.load_candles(SERIES, window.start_ms, window.end_ms)["close"]
    assert report.out_of_sample["spot-hold"]["total_return"] == pytest.approx(closes.iloc[-1] / closes.iloc[0] - 1)

    assert report.registered == {"name": "binance-BTCUSDT-1h", "version": 1, "aliases": ["candidate"]}
    with pytest.raises(Exception, match="production"):
        backtests.run(SERIES, "ensemble", options=window)  # nothing promoted yet
    registry.promote("binance-BTCUSDT-1h", 1)
    after = backtests.run(
        SERIES, "ensemble", options=MarketOptions(start_ms=_ms("2024-01-01"), end_ms=_ms("2024-03-01"))
    )
    assert after.report.model is not None and after.report.model["in_sample_candles"] == 0
    assert after.report.model["predicted_candles"] > 0 and after.report.strategy == "ensemble"
    flagged = after.report.model["anomalous_candles"]  # the bundle's detector scored the same candles
    assert flagged is not None and 0 <= flagged <= after.report.model["predicted_candles"]
    scores = after.report.metrics["classification"]  # the predictions against the realised barrier outcomes
    assert scores is not None and 0 <= scores["accuracy"] <= 1 and after.report.benchmark["classification"] is None
    inside = backtests.run(
        SERIES, "ensemble", options=MarketOptions(start_ms=_ms("2023-11-01"), end_ms=_ms("2024-01-01"))
    )
    assert inside.report.model is not None and inside.report.model["in_sample_candles"] > 0

    # A/B: the same bundle registered again as version 2 trades identically: no significant difference
    bundle = registry.download("binance-BTCUSDT-1h", 1, alias=None, dst=tmp_path / "v1")
    registry.register(bundle, name="binance-BTCUSDT-1h", params={}, metrics={}, fold_metrics=[], tags={})
    compared = ab_test(backtests, SERIES, None, 1, 2, options=_range("2024-01-01", "2024-03-01"))
    assert compared.test["mean_difference"] == 0 and compared.test["t_p_value"] == 1.0
    assert (
        compared.verdict.startswith("no significant difference")
        and compared.a["total_return"] == compared.b["total_return"]
    )
    assert compared.test["buckets"] == 60 and compared.candles == 60 * 24  # January and February 2024, daily
