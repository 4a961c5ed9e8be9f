"""The paper-trading agent: feed -> window and source -> filters -> risk manager -> engine -> journal -> bus.

Per closed candle of its series (``on_candle``), in this order, all in one engine step committed
in one journal transaction before anything is announced:

1. the candle joins the window, and the engine processes it (fills, exits, funding, breakers) with
   the volatility known at its close;
2. the source answers (``sources``), then the advisor when there is one (``advisor``: the RL
   policy as a voter or for the entry's size); the signal, with the advisor's vote among its
   ``model_votes``, is journaled (``SignalGenerated``), and the candle's anomaly score is reported
   to the engine's anomaly filter;
3. an entry passes the filters (``backtest.filters``), the advisor, the pause, and the staleness
   check; a refused one is journaled as ``SignalFiltered`` with every reason, the others become
   orders by the rule the backtest uses (``engine.decisions.act``, the advisor's size factor
   applied), through the engine's risk gate;
4. the step is committed (journal, then the bus), then the source's and the advisor's state are
   saved every ``checkpoint_every`` candles.

So a replay of stored candles makes exactly the trades of the event backtest on the same candles,
strategy and rules (a test; the backtest has no advisor, so only without one). A candle not after
the previous one (a duplicate or one from the past) is skipped and logged. With a wall clock
(``wall_clock``, live feeds), an entry on a candle that closed more than ``staleness_ms`` ago is
refused (``stale_price``): the agent never opens a position on a stale price. In a replay the clock
is market time and nothing is stale.

Restart (``TradingAgent.start``): the engine is rebuilt from the journal, the controls with it;
the candles up to the journal's resume point only warm the window and (each after its saved state)
the source and the advisor, and trading continues with the next (the state file holds the
source's state, and with an advisor the advisor's too: ``checkpoint``). Killed at any moment, a
restarted replay ends with the journal of a run that never stopped.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import structlog

from trading_agent.agent.advisor import Advice, Advisor
from trading_agent.agent.checkpoint import StateFile
from trading_agent.agent.controls import AgentControls, AlertPreferences, RiskOverrides
from trading_agent.agent.sources import SignalSource, SourceOutput
from trading_agent.agent.status import AgentStatus
from trading_agent.agent.window import CandleWindow
from trading_agent.backtest.filters import EntryFilter
from trading_agent.backtest.rl_env import position_state
from trading_agent.data.feeds.base import MarketFeed
from trading_agent.domain import (
    AgentCommand,
    AgentControlled,
    Candle,
    CandleClosed,
    ClientOrderId,
    Event,
    Instrument,
    Order,
    OrderIntent,
    OrderRole,
    SeriesKey,
    Side,
    Signal,
    SignalFiltered,
    SignalGenerated,
)
from trading_agent.engine import EngineConfig, TradingEngine
from trading_agent.engine.decisions import Decision, act
from trading_agent.engine.errors import EngineError
from trading_agent.engine.funding import FundingSeries
from trading_agent.engine.journal import Journal, Publisher
from trading_agent.features import Bars
from trading_agent.models.rl_policy import FLAT
from trading_agent.risk.modes import ModeRules
from trading_agent.risk.sizing import PositionSizer, SizingRules, make_sizer

__all__ = ["EMERGENCY_BREAKER", "AgentOptions", "InferenceObserver", "StepCallback", "TradingAgent"]

EMERGENCY_BREAKER = "emergency_stop"
StepCallback = Callable[["TradingAgent", CandleClosed, Sequence[Event]], None]
"""Called after each candle with the agent, the candle and the events committed for it."""
_log = structlog.get_logger(__name__)
_AGENT_STATE = "agent-state"
_AGENT_STATE_VERSION = 1
_NO_ADVICE = Advice()
InferenceObserver = Callable[[str, float], None]
"""Told the kind (``candle`` or ``predict``) and the seconds of each of the source's answers."""
_PartsKey = tuple[str | None, RiskOverrides]  # the mode and the overrides the sizer and the filter were built for


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """The agent's own settings: risk ``modes``, the candle ``window`` size, the source's ``state`` file
    (saved every ``checkpoint_every`` candles), for live feeds the ``wall_clock`` (epoch ms) with
    the ``staleness_ms`` beyond which a candle's price is too old to open a position on, and the
    ``advisor`` (the RL policy, ``agent.advisor``; None: the source alone decides)."""

    modes: Mapping[str, ModeRules] = field(default_factory=dict)
    window: int = 5000
    state: StateFile | None = None
    checkpoint_every: int = 100
    wall_clock: Callable[[], int] | None = None
    staleness_ms: int | None = None
    advisor: Advisor | None = None


class TradingAgent:
    """One series traded on one instrument; build it with ``start`` (which resumes from the journal)."""

    def __init__(
        self,
        engine: TradingEngine,
        instrument: Instrument,
        series: SeriesKey,
        source: SignalSource,
        *,
        sizing: SizingRules,
        filters: EntryFilter,
        options: AgentOptions | None = None,
        controls: AgentControls | None = None,
    ) -> None:
        options = options or AgentOptions()
        self.engine = engine
        self.instrument = instrument
        self.series = series
        self.source = source
        self.options = options
        self.controls = controls or AgentControls()
        self._base_sizing = sizing
        self._base_filter = filters
        self._window = CandleWindow(options.window)
        self._feed = engine.feed(instrument.id)
        self._resume_ts = engine.last_candle_ts(instrument.id)
        self._state_ts: int | None = None
        self._advisor_state_ts: int | None = None
        self._since_checkpoint = 0
        self._mode_parts: tuple[_PartsKey, PositionSizer, EntryFilter] | None = None
        self.candles = 0
        self.skipped = 0
        self.last_candle: Candle | None = None
        self.last_signal: Signal | None = None
        self._inference_observers: list[InferenceObserver] = []
        self._restore_state()

    @classmethod
    def start(
        cls,
        config: EngineConfig,
        instrument: Instrument,
        series: SeriesKey,
        source: SignalSource,
        *,
        journal: Journal,
        sizing: SizingRules,
        filters: EntryFilter,
        options: AgentOptions | None = None,
        publishers: Sequence[Publisher] = (),
        funding: FundingSeries | None = None,
        clock: Callable[[], int] | None = None,
    ) -> TradingAgent:
        """The agent of ``journal``'s session: a new one, or resumed where the journal stops.

        The controls and the last journaled signal come back with the engine. ``clock`` stamps
        ``ts_init`` (None: market time, as a replay must).
        """
        controls = AgentControls()
        signals: list[Signal] = []

        def observe(event: Event) -> None:
            controls.observe(event)
            if isinstance(event, SignalGenerated):
                signals[:] = [event.signal]

        engine = TradingEngine.rebuild(
            config,
            [instrument],
            journal=journal,
            publishers=publishers,
            funding={instrument.id: funding} if funding is not None else None,
            clock=clock,
            observe=observe,
        )
        agent = cls(
            engine, instrument, series, source, sizing=sizing, filters=filters, options=options, controls=controls
        )
        agent.last_signal = signals[-1] if signals else None
        return agent

    # --- reading ----------------------------------------------------------------------------------

    @property
    def mode(self) -> str | None:
        """The risk mode in force (None: the trading rules as loaded)."""
        return self.controls.mode

    @property
    def restored_ts(self) -> int | None:
        """Open time of the candle the source's saved state was restored at (None: it warmed up from candles)."""
        return self._state_ts

    @property
    def advisor_restored_ts(self) -> int | None:
        """Open time of the candle the advisor's saved state was restored at (None: it warmed up, or no advisor)."""
        return self._advisor_state_ts

    @property
    def resume_ts(self) -> int | None:
        """Open time of the last candle the journal had traded when this agent started (None: a new session)."""
        return self._resume_ts

    def stale(self) -> bool:
        """Whether the newest candle closed longer ago than the staleness limit (never in a replay)."""
        clock, limit = self.options.wall_clock, self.options.staleness_ms
        if clock is None or limit is None or self.last_candle is None:
            return False
        return clock() - self.last_candle.close_time(self.series.timeframe) > limit

    def status(self) -> AgentStatus:
        """What the agent is doing now, for the status view, the API and the bot."""
        return AgentStatus.of(self)

    @property
    def window_length(self) -> int:
        """Candles in the window now (without building the window's ``Bars``)."""
        return len(self._window)

    def bars(self) -> Bars:
        """The candle window (the newest last): what the rules, the filters and the stops read."""
        return self._window.bars()

    def predict(self) -> Signal | None:
        """The source's opinion at the newest close, asked again: nothing traded, journaled or taken in.

        None before the source's first opinion. The source's time is reported to the inference
        observers as ``predict``.
        """
        started = time.perf_counter()
        signal = self.source.predict(self._window.bars())
        self._observe_inference("predict", started)
        return signal

    def observe_inference(self, observer: InferenceObserver) -> None:
        """Call ``observer(kind, seconds)`` with the source's time of every candle (``candle``) and ``predict``."""
        self._inference_observers.append(observer)

    def _observe_inference(self, kind: str, started: float) -> None:
        if self._inference_observers:
            seconds = time.perf_counter() - started
            for observer in self._inference_observers:
                observer(kind, seconds)

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self, feed: MarketFeed, on_step: StepCallback | None = None) -> None:
        """Trade every candle ``feed`` yields until it ends (a replay) or the task is cancelled."""
        try:
            events = feed.events()
            try:
                async for event in events:
                    committed = self.on_candle(event)
                    if on_step is not None:
                        on_step(self, event, committed)
            finally:
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()
        except asyncio.CancelledError:
            self.checkpoint()
            raise
        self.checkpoint()

    def on_candle(self, event: CandleClosed) -> list[Event]:
        """Process one closed candle (see the module docstring); the events committed for it."""
        candle = event.candle
        if event.series != self.series:
            _log.warning("agent_other_series", series=str(event.series), expected=str(self.series))
            self.skipped += 1
            return []
        newest = self._window.last_ts
        if newest is not None and candle.ts <= newest:
            _log.warning("agent_candle_not_after_previous", ts=candle.ts, previous=newest)
            self.skipped += 1
            return []
        if self._resume_ts is not None and candle.ts <= self._resume_ts:
            self._learn(candle)
            return []
        self._window.append(candle)
        self.last_candle = candle
        bars = self._window.bars()
        relative, average, atr = self._window.volatility(bars)
        self._feed(candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume, relative, average)
        started = time.perf_counter()
        answer = self.source.on_candle(candle, bars)
        self._observe_inference("candle", started)
        self._decide(event, bars, answer, atr)
        committed = self.engine.commit()
        self.candles += 1
        self._since_checkpoint += 1
        if self._since_checkpoint >= self.options.checkpoint_every:
            self.checkpoint()
        return committed

    def warm(self, candle: Candle) -> None:
        """Learn from a candle of the history before a live feed, without trading it.

        Candles after the journal's resume point were missed while the agent was down: those are
        traded (``on_candle``; they are stale, so they open nothing).
        """
        newest = self._window.last_ts
        if newest is not None and candle.ts <= newest:
            return
        if self._resume_ts is None or candle.ts <= self._resume_ts:
            self._learn(candle)
        else:
            self.on_candle(
                CandleClosed(ts_event=candle.close_time(self.series.timeframe), series=self.series, candle=candle)
            )

    def _learn(self, candle: Candle) -> None:
        """The window, the source and the advisor take ``candle`` in (each only after its saved state)."""
        self._window.append(candle)
        self.last_candle = candle
        if self._state_ts is None or candle.ts > self._state_ts:
            self.source.warm(candle)
        advisor = self.options.advisor
        if advisor is not None and (self._advisor_state_ts is None or candle.ts > self._advisor_state_ts):
            advisor.warm(candle)

    def _decide(self, event: CandleClosed, bars: Bars, answer: SourceOutput, atr: float) -> None:
        engine, candle = self.engine, event.candle
        answer, advice = self._advice(candle, answer)
        if answer.signal is not None:
            engine.record(SignalGenerated, signal=answer.signal)
            self.last_signal = answer.signal
        if answer.anomaly_score is not None and answer.anomaly_threshold is not None:
            engine.report_anomaly(self.instrument.id, score=answer.anomaly_score, threshold=answer.anomaly_threshold)
        entry = answer.entry
        if entry and answer.signal is not None:
            reasons = self._refusals(bars, entry, answer, advice)
            if reasons:
                engine.record(SignalFiltered, signal=answer.signal, reasons=reasons)
                entry = 0
        if entry or answer.exit:
            _, sizer, _ = self._parts()
            decision = Decision(
                entry, answer.exit, candle.close, candle.ts, atr, answer.model_signal, size_factor=advice.size_factor
            )
            act(engine, self.instrument, decision, name=self.source.name, sizer=sizer, all_in=self.source.all_in)

    def _advice(self, candle: Candle, answer: SourceOutput) -> tuple[SourceOutput, Advice]:
        """The advisor's advice (it takes every candle in) and ``answer`` with its vote among the signal's votes."""
        advisor = self.options.advisor
        if advisor is None:
            return answer, _NO_ADVICE
        position = position_state(self.engine, self.instrument, candle.close) if answer.entry else FLAT
        advice = advisor.advise(candle, answer.entry, position)
        if advice.vote is None or answer.signal is None:
            return answer, advice
        signal = replace(answer.signal, model_votes={**answer.signal.model_votes, advisor.name: advice.vote})
        model_signal = signal if answer.model_signal is answer.signal else answer.model_signal
        return replace(answer, signal=signal, model_signal=model_signal), advice

    def _refusals(self, bars: Bars, entry: int, answer: SourceOutput, advice: Advice) -> tuple[str, ...]:
        _, _, entry_filter = self._parts()
        confidence = None if answer.model_signal is None else answer.model_signal.confidence
        reasons = list(entry_filter.refusals(bars, entry, confidence))
        if advice.refusal is not None:
            reasons.append(advice.refusal)
        if self.stale():
            reasons.append("stale_price")
        if self.controls.paused:
            reasons.append("paused")
        return tuple(reasons)

    def _parts(self) -> tuple[_PartsKey, PositionSizer, EntryFilter]:
        """The sizer and the filter of the mode and overrides in force (rebuilt when either changes)."""
        key = (self.controls.mode, self.controls.risk)
        if self._mode_parts is None or self._mode_parts[0] != key:
            sizing, confidence = self.entry_rules()
            entry_filter = self._base_filter
            if confidence != entry_filter.rules.min_confidence:
                entry_filter = entry_filter.with_rules(replace(entry_filter.rules, min_confidence=confidence))
            self._mode_parts = (key, make_sizer(sizing), entry_filter)
        return self._mode_parts

    def entry_rules(self, risk: RiskOverrides | None = None) -> tuple[SizingRules, float]:
        """Sizing and minimum confidence of new entries: the mode's, with ``risk`` (default: the overrides in force)."""
        mode = self.controls.mode
        chosen = self.options.modes.get(mode) if mode is not None else None
        sizing = self._base_sizing if chosen is None else chosen.sizing
        confidence = self._base_filter.rules.min_confidence if chosen is None else chosen.min_confidence
        return (self.controls.risk if risk is None else risk).apply(sizing, confidence)

    # --- controls ---------------------------------------------------------------------------------

    def pause(self, reason: str = "paused by request") -> None:
        """No new entries from now on; positions, stops and targets are kept."""
        self._control(AgentCommand.PAUSE, None, reason)

    def resume(self, reason: str = "resumed by request") -> None:
        """Entries again; an emergency stop's breaker is reset."""
        if EMERGENCY_BREAKER in self.engine.tripped_breakers:
            self.engine.reset_breaker(EMERGENCY_BREAKER, reason)
        self._control(AgentCommand.RESUME, None, reason)

    def set_mode(self, mode: str, reason: str = "mode set by request") -> None:
        """Switch to the risk mode ``mode`` (one of the configured modes)."""
        modes = self.options.modes
        if mode not in modes:
            raise EngineError(f"unknown mode {mode!r}: choose from {', '.join(modes) or 'none configured'}")
        self._control(AgentCommand.SET_MODE, mode, reason)

    def set_risk(self, overrides: RiskOverrides, reason: str = "risk parameters set by request") -> None:
        """Override the sizing and minimum confidence of new entries, on top of the mode (replaces earlier overrides).

        Checked before it is journaled: an override that makes invalid sizing raises ``RiskError``.
        """
        self.entry_rules(overrides)
        self._control(AgentCommand.SET_RISK, overrides.to_json(), reason)

    def set_alerts(self, preferences: AlertPreferences, reason: str = "alert preferences set by request") -> None:
        """What the agent announces to people from now on."""
        self._control(AgentCommand.SET_ALERTS, preferences.to_json(), reason)

    def emergency_stop(self, reason: str = "emergency stop") -> None:
        """Close every position at the next open, cancel entries, trip the ``emergency_stop`` breaker, pause."""
        self.engine.flatten(reason)
        if EMERGENCY_BREAKER not in self.engine.tripped_breakers:
            self.engine.trip_breaker(EMERGENCY_BREAKER, reason)
        self._control(AgentCommand.EMERGENCY_STOP, None, reason)

    def manual_order(self, side: Side, contracts: int, *, reduce_only: bool = False) -> Order:
        """A person's market order, filled at the next open like the agent's own, through the risk gate.

        Journaled like every order; returned as the engine holds it (``REJECTED`` with the reason
        when the gate refuses it). Its client order id is ``manual-<n>`` with ``n`` the engine's
        event count, so a restarted agent never reuses one.
        """
        intent = OrderIntent(
            instrument=self.instrument.id,
            side=side,
            contracts=contracts,
            reduce_only=reduce_only,
            role=OrderRole.EXIT if reduce_only else OrderRole.ENTRY,
            client_order_id=ClientOrderId(f"manual-{self.engine.sequence}"),
        )
        order = self.engine.submit(intent)
        self.engine.commit()
        _log.info("agent_manual_order", side=side.value, contracts=contracts, status=order.status.value)
        return order

    def _control(self, command: AgentCommand, value: str | None, reason: str) -> None:
        self.engine.record(AgentControlled, command=command, value=value, reason=reason)
        for event in self.engine.commit():
            self.controls.observe(event)
        _log.info("agent_control", command=command.value, value=value, reason=reason)

    # --- state ------------------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Save the source's (and the advisor's) state as of the newest traded candle (nothing for a rule alone).

        Without an advisor the file holds the source's blob; with one, a tagged tuple of both blobs.
        """
        self._since_checkpoint = 0
        state = self.options.state
        if state is None or self.last_candle is None:
            return
        blob = self.source.save_state()
        advisor = self.options.advisor
        if advisor is not None:
            both = (_AGENT_STATE, _AGENT_STATE_VERSION, blob, advisor.save_state())
            blob = pickle.dumps(both, protocol=pickle.HIGHEST_PROTOCOL)
        if blob is not None:
            state.save(self.last_candle.ts, blob)

    def _restore_state(self) -> None:
        state = self.options.state
        if state is None:
            return
        saved = state.load()
        if saved is None or self._resume_ts is None or saved[0] > self._resume_ts:
            return  # a new session, or a state ahead of the journal: the source warms up from the candles
        ts, blob = saved
        advisor = self.options.advisor
        if advisor is None:
            if self._restored(lambda: self.source.restore_state(blob)):
                self._state_ts = ts
            return
        parts = _agent_state(blob)
        if parts is None:
            _log.warning("agent_state_not_restored", reason="the saved state was not written with an advisor")
            return
        source_blob, advisor_blob = parts
        if source_blob is not None and self._restored(lambda: self.source.restore_state(source_blob)):
            self._state_ts = ts
        if self._restored(lambda: advisor.restore_state(advisor_blob)):
            self._advisor_state_ts = ts

    @staticmethod
    def _restored(restore: Callable[[], None]) -> bool:
        try:
            restore()
        except (ValueError, EngineError) as exc:
            _log.warning("agent_state_not_restored", reason=str(exc))
            return False
        return True


def _agent_state(blob: bytes) -> tuple[bytes | None, bytes] | None:
    """The source's and the advisor's blobs of a state ``checkpoint`` saved with an advisor (None: not one)."""
    try:
        saved = pickle.loads(blob)
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError):
        return None
    if not (isinstance(saved, tuple) and len(saved) == 4 and saved[:2] == (_AGENT_STATE, _AGENT_STATE_VERSION)):
        return None
    source_blob, advisor_blob = saved[2], saved[3]
    if not (source_blob is None or isinstance(source_blob, bytes)) or not isinstance(advisor_blob, bytes):
        return None
    return source_blob, advisor_blob
