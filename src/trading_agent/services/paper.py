"""The paper-trading session: everything ``trading-agent paper`` and ``run`` need, wired from the settings.

- Market: a replay of a candle file (``replay``), the seeded synthetic market (``synthetic``), or
  Delta Exchange India's live WebSocket with its recent history downloaded first to warm the agent
  up. When Delta cannot be reached the session falls back to a synthetic replay and its label says
  so (``fallback``).
- Opinions: the built-in ``strategy`` when one is named; else the series' production ensemble
  from the model registry; else the built-in ``sma-cross``, saying there is no trained model.
- The RL advisor (``agent.advisor``): when ``config/rl.yaml`` ``role`` is ``voter`` or ``sizing``
  and the registry has a ``production`` version of ``<series>-rl-<algorithm>`` (rl.yaml's
  algorithm, the name ``rl train`` registers), that policy advises every source, over streaming
  features of ``config/training.yaml``'s feature set (the one it was trained on, if that file has
  not changed since). The notes say which policy and role, or why there is none; a missing,
  unloadable or mismatched policy never fails the session.
- The trading rules (``profile`` over ``trading_rules.yaml``) give the engine, the sizing, the
  signal filters (the first timeframe is traded, the others must agree) and the risk modes.
- The journal is the configured database's, under ``session``; the bus is in-process, or Redis
  Streams when ``TRADING_AGENT_REDIS_URL`` is set (which also gives the candle cache its Redis L2);
  the source's state lives in ``state_dir``.

A replay runs on market time (identical journals on every run); a live session stamps wall time.
Running the same command again resumes the session from its journal.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from trading_agent.agent import (
    AgentOptions,
    BestEffortPublisher,
    EnsembleSource,
    EventBus,
    InProcessBus,
    RLAdvisor,
    RuleSource,
    SignalSource,
    StateFile,
    TradingAgent,
)
from trading_agent.backtest.filters import EntryFilter
from trading_agent.backtest.strategies import make_strategy
from trading_agent.config import AppSettings
from trading_agent.config.rl import RLRole, load_rl_config
from trading_agent.config.trading_rules import TradingRules, load_trading_rules
from trading_agent.config.training import load_training_config
from trading_agent.data.cache import CandleCache, RedisCandleCache
from trading_agent.data.feeds.base import MarketFeed
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.frames import candles_from_frame
from trading_agent.domain import Instrument, SeriesKey, Timeframe
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.market_data import MarketDataService
from trading_agent.services.market_session import MarketSource, prepare_market
from trading_agent.services.trading_setup import (
    agent_modes,
    contract_for,
    engine_config,
    filter_rules,
    signal_thresholds,
    sizing_rules,
    stored_funding,
)
from trading_agent.storage import SqlJournal, create_database_engine

__all__ = ["DEFAULT_STRATEGY", "PaperOptions", "PaperSession", "open_paper_session"]

DEFAULT_STRATEGY = "sma-cross"


@dataclass(frozen=True, slots=True)
class PaperOptions:
    """What to trade and how (see the module docstring); ``speed`` is x real time, None as fast as possible."""

    symbol: str = "BTCUSD"
    timeframes: tuple[Timeframe, ...] | None = None
    replay: Path | None = None
    synthetic: bool = False
    last: int | None = None
    speed: float | None = None
    profile: str | None = None
    strategy: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    contract: str | None = None
    session: str = "paper"
    mode: str | None = None
    days: int = 60
    seed: int = 7
    state_dir: Path = Path("var/agent")


@dataclass
class PaperSession:
    """A ready agent, its feed and bus, and what to tell the user about them."""

    agent: TradingAgent
    feed: MarketFeed
    bus: EventBus
    market: str
    source: str
    synthetic: bool
    total: int | None
    notes: list[str]
    cache: CandleCache


def _timeframes(options: PaperOptions, rules: TradingRules) -> tuple[Timeframe, ...]:
    chosen = options.timeframes or rules.signal_filters.timeframes
    if any(chosen[0].ms >= tf.ms for tf in chosen[1:]):
        raise ServiceError(f"--timeframes: the first ({chosen[0]}) is traded and must be the shortest")
    return tuple(chosen)


def _cache(settings: AppSettings, service: MarketDataService) -> CandleCache:
    l2 = None
    if settings.redis_url:
        import redis

        l2 = RedisCandleCache(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)
    return CandleCache(service.store, l2=l2)


def _bus(settings: AppSettings) -> EventBus:
    if settings.redis_url is None:
        return InProcessBus()
    from trading_agent.services.redis_bus import RedisStreamBus

    return RedisStreamBus.from_url(settings.redis_url, settings.redis_prefix)


def _source(
    settings: AppSettings, options: PaperOptions, rules: TradingRules, series: SeriesKey, instrument: Instrument
) -> tuple[SignalSource, float | None, str]:
    """The signal source, the model's out-of-sample Sharpe (None for a rule) and how to describe it."""
    if options.strategy is not None and options.strategy != "ensemble":
        strategy = make_strategy(options.strategy, options.params)
        return RuleSource(strategy, instrument.id), None, f"built-in {strategy.name} {dict(strategy.params)}"
    from trading_agent.registry.mlflow_registry import ModelRegistry, RegistryError
    from trading_agent.services.ensemble_strategy import model_name

    name = model_name(series)
    registry = ModelRegistry(settings.mlflow_tracking_uri)
    try:
        chosen = registry.version(name, alias="production")
    except RegistryError as exc:
        if options.strategy == "ensemble":
            raise ServiceError(
                f"no production ensemble for {series}: {exc} (train one with `trading-agent train`)"
            ) from None
        strategy = make_strategy(DEFAULT_STRATEGY)
        note = f"built-in {strategy.name} {dict(strategy.params)}: no trained model {name!r} in the registry"
        return RuleSource(strategy, instrument.id), None, note
    from trading_agent.models.signal_engine import SignalEngine

    with tempfile.TemporaryDirectory(prefix="trading-agent-model-") as tmp:
        bundle = registry.download(name, chosen.version, alias=None, dst=Path(tmp))
        engine = SignalEngine.from_bundle(bundle, series.timeframe, signal_thresholds(rules))
    sharpe = chosen.metrics.get("oos_sharpe_ratio")
    source = EnsembleSource(engine, signal_thresholds(rules), instrument.id, name=f"{name}-v{chosen.version}")
    return source, sharpe, f"ensemble {name} v{chosen.version} (out-of-sample Sharpe {sharpe})"


def _advisor(settings: AppSettings, series: SeriesKey) -> tuple[RLAdvisor | None, str]:
    """The RL advisor of ``series`` (None when rl.yaml's role is off or no production policy is usable) and a note."""
    config = load_rl_config(settings.config_dir)
    if config.role is RLRole.OFF:
        return None, "RL role off (config/rl.yaml): no RL advisor"
    from trading_agent.features import FeatureEngine
    from trading_agent.models.base import ModelInputError
    from trading_agent.registry.mlflow_registry import PRODUCTION, RegistryError
    from trading_agent.registry.policy_registry import PolicyRegistry
    from trading_agent.services.ensemble_strategy import model_name

    name = f"{model_name(series)}-rl-{config.algorithm.value}"  # as services.rl_training registers it
    registry = PolicyRegistry(settings.mlflow_tracking_uri)
    try:
        chosen = registry.version(name, alias=PRODUCTION)
    except RegistryError:
        return None, f"no RL policy registered: no production version of {name!r} (role {config.role.value} unused)"
    training = load_training_config(settings.config_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="trading-agent-policy-") as tmp:
            policy = registry.load_policy(name, chosen.version, Path(tmp))
        features = FeatureEngine(
            training.feature_set, timeframe=series.timeframe, higher_timeframes=training.higher_timeframes
        )
        advisor = RLAdvisor(policy, config.role, features, name=f"{name}-v{chosen.version}")
    except (RegistryError, ModelInputError, ValueError, KeyError, OSError) as exc:
        return None, f"RL policy {name} v{chosen.version} not used: {exc}"
    return advisor, f"RL advisor: {name} v{chosen.version} as {config.role.value} (window {policy.window})"


def _market(
    service: MarketDataService, options: PaperOptions, base: Timeframe
) -> tuple[SeriesKey, pd.DataFrame, str, bool, bool, list[str]]:
    """(series, candles to replay or warm up with, label, synthetic?, live?, notes)."""
    notes: list[str] = []
    prepared = prepare_market(
        service,
        data=options.replay,
        symbol=options.symbol,
        timeframe=base.value,
        days=options.days,
        seed=options.seed,
        synthetic=options.synthetic,
    )
    frame = prepared.frame.iloc[-options.last :] if options.last else prepared.frame
    synthetic = prepared.source is MarketSource.SYNTHETIC
    if prepared.source is MarketSource.DELTA:
        notes.append(f"live Delta feed; {len(frame):,} recent candles warm the agent up")
        return prepared.series, frame, prepared.label, False, True, notes
    if synthetic and options.replay is None and not options.synthetic:
        notes.append("offline: Delta is unreachable, so this session replays the synthetic market instead")
    return prepared.series, frame, prepared.label, synthetic, False, notes


def open_paper_session(settings: AppSettings, options: PaperOptions) -> PaperSession:
    """The agent of ``options.session``, resumed from its journal, with its feed; ``ServiceError`` on bad input."""
    with service_errors():
        rules = load_trading_rules(settings.config_dir, options.profile or settings.profile)
        timeframes = _timeframes(options, rules)
        base = timeframes[0]
        modes = agent_modes(rules)
        if options.mode is not None and options.mode not in modes:
            raise ServiceError(f"unknown mode {options.mode!r}: choose from {', '.join(modes)}")
        if options.strategy not in (None, "ensemble"):
            make_strategy(options.strategy, options.params)  # refused before anything is imported
        elif options.params:
            raise ServiceError(f"the ensemble takes no strategy parameters, got {', '.join(options.params)}")
        config = engine_config(
            rules, timeframe=base, session=options.session, initial_balance=Decimal(repr(settings.initial_balance))
        )
        service = MarketDataService.from_settings(settings)
        series, frame, label, synthetic, live, notes = _market(service, options, base)
        if frame.empty:
            raise ServiceError(f"no candles of {series} to trade")
        instrument = contract_for(settings.config_dir, series, options.contract)
        source, sharpe, source_label = _source(settings, options, rules, series, instrument)
        first, last = int(frame.index[0].value // 1_000_000), int(frame.index[-1].value // 1_000_000)
        funding, funding_label = stored_funding(service, instrument.id, first, last + base.ms + 30 * 86_400_000)
        notes.append(f"funding: {funding_label}")
        entry_filter = EntryFilter(filter_rules(rules, timeframes), base, sharpe)
        advisor, advisor_note = _advisor(settings, series)
        notes.append(advisor_note)
        wall = (lambda: time.time_ns() // 1_000_000) if live else None
        agent_options = AgentOptions(
            modes=modes,
            window=max(5000, entry_filter.lookback),
            state=StateFile(options.state_dir / f"{options.session}.state"),
            wall_clock=wall,
            staleness_ms=rules.execution.staleness_limit_s * 1000 if live else None,
            advisor=advisor,
        )
        bus = _bus(settings)
        journal = SqlJournal(create_database_engine(settings.database_url), options.session)
        agent = TradingAgent.start(
            config,
            instrument,
            series,
            source,
            journal=journal,
            sizing=sizing_rules(rules),
            filters=entry_filter,
            options=agent_options,
            publishers=[BestEffortPublisher(bus)],
            funding=funding,
            clock=wall,
        )
        if options.mode is not None and options.mode != agent.mode:
            agent.set_mode(options.mode, "asked for at start")
        needed = max(source.warmup, entry_filter.lookback)
        if agent.resume_ts is None and len(frame) < needed:
            days = -(-needed * base.ms // 86_400_000)
            fix = f"pass --days {days}" if live else "replay more candles"
            notes.append(
                f"warm-up: {source_label.split(' (')[0]} and the filters need {needed:,} candles before the first "
                f"entry and the history has {len(frame):,}: {fix}"
            )
        if agent.resume_ts is not None:
            resumed = pd.Timestamp(agent.resume_ts, unit="ms", tz="UTC")
            notes.append(f"resumed session {options.session!r} after the candle of {resumed}")
        if live:
            from trading_agent.data.delta.live_feed import DeltaLiveFeed

            for candle in candles_from_frame(frame):
                agent.warm(candle)
            newest = agent.last_candle
            after = {options.symbol: newest.ts} if newest is not None else None
            feed: MarketFeed = DeltaLiveFeed(settings.delta, [options.symbol], base, resume_after=after)
            total = None
        else:
            feed = ReplayFeed({series: frame}, speed=options.speed)
            total = len(frame)
        return PaperSession(agent, feed, bus, label, source_label, synthetic, total, notes, _cache(settings, service))
