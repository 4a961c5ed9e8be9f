"""What ``bench_agent`` runs the agent with: real BTC 1h candles, a quickly trained bundle of every
model kind, the agent wired as the paper service wires it, and a registry holding the bundle.

The bundle has the four tree models at their default sizes (the number and depth of trees set the
inference cost), the four sequence models at their default architecture trained for one epoch,
the meta model and calibrator of ``config/training.yaml`` and the VAE anomaly detector trained for
two epochs: built in about a minute to time inference, not to trade well.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.btc_market import CONFIG_DIR, REAL_BTC_1H
from trading_agent.agent import AgentOptions, EnsembleSource, RuleSource, SignalSource, StateFile, TradingAgent
from trading_agent.backtest.filters import EntryFilter
from trading_agent.backtest.strategies import make_strategy
from trading_agent.config.trading_rules import TradingRules, load_trading_rules
from trading_agent.config.training import load_training_config
from trading_agent.data.files import read_candle_file
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Instrument, SeriesKey, Timeframe
from trading_agent.engine.journal import Journal
from trading_agent.models.anomaly import VAEAnomalyDetector
from trading_agent.models.anomaly_runtime import OnnxAnomalyScorer
from trading_agent.models.bundle import save_ensemble
from trading_agent.models.calibration import CalibrationMethod
from trading_agent.models.catalog import MODEL_KEYS, make_model
from trading_agent.models.signal_engine import SignalEngine
from trading_agent.models.trees import TREE_MODELS
from trading_agent.services.trading_setup import (
    agent_modes,
    contract_for,
    engine_config,
    filter_rules,
    signal_thresholds,
    sizing_rules,
)
from trading_agent.training.dataset import BarrierConfig, build_training_set
from trading_agent.training.oof import FoldSetup, fit_ensemble

__all__ = [
    "SERIES",
    "BuiltBundle",
    "Wiring",
    "bench_candles",
    "free_port",
    "machine",
    "register_production",
    "run_env",
    "train_bundle",
    "write_replay_csv",
]

SERIES = SeriesKey.of("binance", "BTCUSDT", "1h")
_TREE_SIZE_KEY = {"lgbm": "n_estimators", "xgb": "n_estimators", "catboost": "iterations", "rf": "n_estimators"}
_SEQUENCE_EPOCHS, _ANOMALY_EPOCHS = 1, 2


def bench_candles(n: int) -> tuple[pd.DataFrame, str]:
    """The last ``n`` real BTC/USDT 1h candles, or ``n`` seeded synthetic ones when ../shared/data is absent."""
    if REAL_BTC_1H.is_file():
        frame = read_candle_file(REAL_BTC_1H, Timeframe.H1)
        return frame.iloc[-n:], f"BTC/USDT 1h (real, {REAL_BTC_1H.name})"
    return SyntheticMarket(seed=7).generate(n), "synthetic 1h (../shared/data absent)"


@dataclass(frozen=True, slots=True)
class BuiltBundle:
    """A saved bundle, what is in it, and how long it took to train."""

    path: Path
    models: tuple[str, ...]
    meta: str
    n_features: int
    train_rows: int
    seconds: float


def train_bundle(
    frame: pd.DataFrame, path: Path, *, higher: Sequence[Timeframe], train_rows: int, trees: int | None
) -> BuiltBundle:
    """Train every model kind on the last ``train_rows`` usable rows of ``frame`` (3/4 base models, 1/4 meta and
    calibrator) with ``config/training.yaml``'s barrier, meta model, calibration and anomaly settings."""
    began = time.perf_counter()
    config = load_training_config(CONFIG_DIR)
    data = build_training_set(
        frame,
        Timeframe.H1,
        feature_set=config.feature_set,
        higher_timeframes=higher,
        barrier=BarrierConfig(**config.barrier.model_dump()),
    )
    rows = np.arange(max(0, len(data) - train_rows), len(data))
    split = len(rows) * 3 // 4
    train, validation = rows[:split], rows[split:]

    def factory(key: str) -> Any:
        if key in TREE_MODELS:
            params = {} if trees is None else {_TREE_SIZE_KEY[key]: trees}
        else:
            params = {"epochs": _SEQUENCE_EPOCHS}
        return lambda: make_model(key, **params)

    setup = FoldSetup(
        base_models={key: factory(key) for key in MODEL_KEYS},
        meta=config.meta.value,
        calibration=CalibrationMethod(config.calibration.value),
    )
    predictor = fit_ensemble(data, train, validation, setup)
    section = config.anomaly
    keep = [i for i, name in enumerate(data.feature_names) if not name.startswith(section.exclude_prefixes)]
    detector = VAEAnomalyDetector(percentile=section.percentile, epochs=_ANOMALY_EPOCHS)
    detector.fit(data.X[np.ix_(train, np.asarray(keep, dtype=np.intp))], [data.feature_names[i] for i in keep])
    info = {
        "series": str(SERIES),
        "timeframe": Timeframe.H1.value,
        "feature_set": config.feature_set,
        "higher_timeframes": [tf.value for tf in higher],
        "barrier": config.barrier.model_dump(),
        "sentiment": None,
        "trained_from_ms": int(data.open_ms[train[0]]),
        "trained_until_ms": int(data.open_ms[validation[-1]]) + Timeframe.H1.ms,
        "trained_by": "benchmarks/bench_agent.py: minimal training, to time inference only",
    }
    save_ensemble(predictor, path, info=info, anomaly=OnnxAnomalyScorer.from_detector(detector))
    return BuiltBundle(
        path, tuple(predictor.base), config.meta.value, data.X.shape[1], len(train), time.perf_counter() - began
    )


class Wiring:
    """The agent as ``services.paper.open_paper_session`` builds it for a replay, from ``config/``."""

    def __init__(self) -> None:
        self.rules: TradingRules = load_trading_rules(CONFIG_DIR)
        self.timeframes = tuple(self.rules.signal_filters.timeframes)
        self.instrument: Instrument = contract_for(CONFIG_DIR, SERIES, None)

    def rule_source(self) -> SignalSource:
        """The built-in sma-cross at its default parameters (the service's fallback)."""
        return RuleSource(make_strategy("sma-cross"), self.instrument.id)

    def ensemble_source(self, bundle: Path) -> SignalSource:
        """A fresh signal engine over ``bundle`` on ONNX Runtime."""
        thresholds = signal_thresholds(self.rules)
        engine = SignalEngine.from_bundle(bundle, SERIES.timeframe, thresholds)
        return EnsembleSource(engine, thresholds, self.instrument.id, name="bench-ensemble")

    def agent(
        self, source: SignalSource, journal: Journal, *, session: str, state: Path, model_sharpe: float | None
    ) -> TradingAgent:
        """A new agent on ``journal`` with the trading rules' engine, sizing, filters, modes and a state file."""
        base = SERIES.timeframe
        config = engine_config(self.rules, timeframe=base, session=session, initial_balance=Decimal(10_000))
        return TradingAgent.start(
            config,
            self.instrument,
            SERIES,
            source,
            journal=journal,
            sizing=sizing_rules(self.rules),
            filters=EntryFilter(filter_rules(self.rules, self.timeframes), base, model_sharpe),
            options=AgentOptions(modes=agent_modes(self.rules), state=StateFile(state)),
        )


def register_production(bundle: Path, tracking_uri: str, name: str, *, stand_in_sharpe: float) -> int:
    """Register ``bundle`` as a new version of ``name`` in the MLflow registry at ``tracking_uri`` and promote it.

    Its ``oos_sharpe_ratio`` is ``stand_in_sharpe`` (not measured: the bundle had no walk-forward), so
    that the signal filters' Sharpe gate lets its entries through to the risk gate and the engine.
    """
    from trading_agent.registry.mlflow_registry import ModelRegistry

    registry = ModelRegistry(tracking_uri)
    version = registry.register(
        bundle,
        name=name,
        params={"trained_by": "bench_agent (minimal training, for timing)"},
        metrics={"oos_sharpe_ratio": stand_in_sharpe},
        fold_metrics=[],
        tags={"series": str(SERIES), "purpose": "benchmark", "oos_sharpe_ratio": "stand-in, not measured"},
    )
    return registry.promote(version.name, version.version).version


def write_replay_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as the columns of ../shared/data's candle files: ``timestamp`` (epoch ms), OHLCV."""
    out = frame[["open", "high", "low", "close", "volume"]].copy()
    out.insert(0, "timestamp", pd.DatetimeIndex(frame.index).as_unit("ms").asi8)
    out.to_csv(path, index=False)


def machine() -> str:
    """Cores, CPU model, RAM and Python version of this machine, in one line."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    return f"{os.cpu_count()} cores ({model}), {mem_kb / 2**20:.1f} GB RAM, Python {platform.python_version()}"


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_env(run_dir: Path, tracking_uri: str) -> dict[str, str]:
    """The environment of a ``trading-agent`` child: its own SQLite database in ``run_dir``, the registry at
    ``tracking_uri``, ``config/``, and an unreachable Delta (a replay never waits on the network)."""
    return os.environ | {
        "TRADING_AGENT_MLFLOW_TRACKING_URI": tracking_uri,
        "TRADING_AGENT_DATABASE_URL": f"sqlite:///{run_dir / 'trading.db'}",
        "TRADING_AGENT_CONFIG_DIR": str(CONFIG_DIR),
        "TRADING_AGENT_DELTA__REST_URL": "https://delta.invalid",
        "PYTHONWARNINGS": "ignore",
        "COLUMNS": "200",
    }
