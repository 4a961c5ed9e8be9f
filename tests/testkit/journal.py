"""Journals written by a real engine on a database: round trips and signals, in named sessions.

Sessions, symbols and so every id are unique per call (``unique_name``), so tests sharing the run's
PostgreSQL database never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from tests.testkit.engine import H, config, flat
from tests.testkit.instruments import btcusd
from trading_agent.domain import (
    Direction,
    InstrumentId,
    OrderIntent,
    Side,
    Signal,
    SignalFiltered,
    SignalGenerated,
    Trade,
)
from trading_agent.engine.engine import TradingEngine
from trading_agent.storage import SqlJournal


def unique_name(prefix: str) -> str:
    """A session or symbol name no other test uses (fits the 24-character session column)."""
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


@dataclass(frozen=True)
class JournaledSession:
    """What :func:`trade_session` journaled: its trades, oldest first."""

    session: str
    instrument: InstrumentId
    trades: tuple[Trade, ...]


def trade_session(
    db: Engine, session: str, instrument: InstrumentId, prices: Sequence[float], *, first_candle: int = 0
) -> JournaledSession:
    """Run an engine journaling to ``db`` as ``session``: one long round trip per pair of ``prices``.

    Candle ``first_candle`` is flat at ``prices[0]``, candle ``first_candle + k + 1`` at
    ``prices[k]``; a market order placed before each of these fills at its open, buys and sells
    alternating, so trade ``j`` enters at ``prices[2j]``, exits at ``prices[2j + 1]`` and closes at
    ``(first_candle + 2j + 2) * H``. Each entry carries a signal (confidence 0.6), so its trade has
    a ``signal_confidence``.
    """
    if len(prices) % 2:
        raise ValueError("prices come in (entry, exit) pairs")
    engine = TradingEngine(config(session=session), [btcusd(id=instrument)], journal=SqlJournal(db, session))
    index = first_candle
    engine.on_candle(instrument, flat(index, prices[0]))
    engine.commit()
    for k, price in enumerate(prices):
        entry = k % 2 == 0
        signal = Signal(instrument=instrument, ts=index * H, direction=Direction.LONG, strength=0.5, confidence=0.6)
        intent = OrderIntent(
            instrument=instrument,
            side=Side.BUY if entry else Side.SELL,
            contracts=2,
            signal=signal if entry else None,
        )
        engine.submit(intent)
        engine.commit()
        index += 1
        engine.on_candle(instrument, flat(index, price))
        engine.commit()
    return JournaledSession(session, instrument, engine.trades)


def signal(instrument: InstrumentId, ts: int, confidence: float = 0.6) -> Signal:
    """A long signal with two model votes."""
    return Signal(
        instrument=instrument,
        ts=ts,
        direction=Direction.LONG,
        strength=0.4,
        confidence=confidence,
        model_votes={"lightgbm": 0.62, "lstm": 0.58},
        regime="trending",
    )


def journal_signals(
    db: Engine, session: str, signals: Sequence[tuple[Signal, tuple[str, ...]]]
) -> list[SignalGenerated | SignalFiltered]:
    """Append each signal as the agent journals it: ``SignalGenerated``, then ``SignalFiltered`` when it has reasons."""
    events: list[SignalGenerated | SignalFiltered] = []
    for number, (generated, reasons) in enumerate(signals, 1):
        events.append(SignalGenerated(ts_event=generated.ts, signal=generated, event_id=f"{session}:sig{number}"))
        if reasons:
            filtered = SignalFiltered(
                ts_event=generated.ts, signal=generated, reasons=reasons, event_id=f"{session}:flt{number}"
            )
            events.append(filtered)
    SqlJournal(db, session).append(events)
    return events
