"""The signal engine: streamed candles give the batch ensemble's predictions, one closed candle at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.testkit.models import make_bundle, tiny_sequence_model
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.features import Bars, FeatureEngine, compute_features
from trading_agent.models.anomaly import VAEAnomalyDetector
from trading_agent.models.anomaly_runtime import OnnxAnomalyScorer
from trading_agent.models.base import ModelInputError
from trading_agent.models.bundle import load_ensemble, save_ensemble
from trading_agent.models.signal_engine import SignalEngine
from trading_agent.models.signals import SignalThresholds, classify
from trading_agent.models.trees import make_tree_model
from trading_agent.training.dataset import build_training_set
from trading_agent.training.oof import FoldSetup, fit_ensemble

# loose, so that the few-tree test ensemble's calibrated probabilities (near 0.5) give buys and sells
THRESHOLDS = SignalThresholds(buy_prediction=0.5, buy_confidence=0.5, sell_prediction=0.499, sell_confidence=0.5)


@pytest.mark.real_data
def test_streamed_signals_are_the_batch_predictions(btc_1h_path: Path, tmp_path: Path) -> None:
    candles = read_candle_file(btc_1h_path, Timeframe.H1).iloc[-3000:]
    data = build_training_set(candles, Timeframe.H1)
    setup = FoldSetup({"lgbm": lambda: make_tree_model("lgbm", n_estimators=30),
                       "tcn": lambda: tiny_sequence_model("tcn", window=8, layers=3)})  # fmt: skip
    rows = np.arange(len(data))
    predictor = fit_ensemble(data, rows[:1500], rows[1500:2000], setup)
    detector = VAEAnomalyDetector(epochs=3, hidden=16).fit(data.X[:1500], data.feature_names)
    scorer = OnnxAnomalyScorer.from_detector(detector)
    info = {"feature_set": "default", "higher_timeframes": []}
    save_ensemble(predictor, tmp_path / "bundle", info=info, anomaly=scorer)
    engine = SignalEngine.from_bundle(tmp_path / "bundle", Timeframe.H1, THRESHOLDS)

    features = compute_features(candles, "default", timeframe=Timeframe.H1).to_numpy(dtype=np.float32)
    known = np.all(np.isfinite(features), axis=1)
    full = np.convolve(known, np.ones(8), mode="full")[: len(known)] == 8  # the last 8 rows all known
    batch = load_ensemble(tmp_path / "bundle").predict(features, np.flatnonzero(full))
    bars = Bars.from_frame(candles)
    streamed = [engine.on_candle(bars.bar(i)) for i in range(len(bars))]
    assert [s is not None for s in streamed] == full.tolist()  # None during the warm-up and the TCN's window
    signals = [s for s in streamed if s is not None]
    assert np.allclose([s.prediction for s in signals], batch.prediction, atol=1e-6)
    assert [s.signal for s in signals] == [classify(p, c, THRESHOLDS) for p, c in
                                           zip(batch.prediction, batch.confidence, strict=True)]  # fmt: skip
    assert {s.signal.value for s in signals} >= {"buy", "sell"} and set(signals[-1].votes) == {"lgbm", "tcn"}
    scores = scorer.score(features[full])
    assert np.allclose([s.anomaly_score for s in signals], scores, rtol=1e-5)
    assert [s.anomaly for s in signals] == (scores > scorer.threshold).tolist()


def test_a_model_trained_on_other_features_is_refused(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)  # twelve features f0..f11
    with pytest.raises(ModelInputError, match="retrain"):
        SignalEngine(load_ensemble(bundle.path), FeatureEngine("default", timeframe=Timeframe.H1), THRESHOLDS)


def test_a_bundle_trained_with_sentiment_is_refused_until_there_is_a_sentiment_feed(tmp_path: Path) -> None:
    plain = make_bundle(tmp_path)
    save_ensemble(plain.predictor, tmp_path / "mood", info={"sentiment": {"headlines": "h.csv", "windows": [24]}})
    with pytest.raises(ModelInputError, match="no sentiment feed"):
        SignalEngine.from_bundle(tmp_path / "mood", Timeframe.H1, THRESHOLDS)
