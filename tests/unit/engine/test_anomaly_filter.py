"""The engine's anomaly filter: MarketAnomaly on each change of the flag; halve and block new exposure."""

from __future__ import annotations

import pytest

from tests.testkit.engine import buy, engine, flat, of_type, sell
from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.domain import AnomalyAction, MarketAnomaly, OrderStatus, PositionSide, RiskApproved, RiskRejected
from trading_agent.engine import MemoryJournal, TradingEngine
from trading_agent.engine.engine import EngineError
from trading_agent.risk.anomaly import AnomalyRules


def _engine(action: AnomalyAction, journal: MemoryJournal | None = None) -> TradingEngine:
    trading = engine(journal, anomaly=AnomalyRules(action=action))
    trading.on_candle(BTCUSD_ID, flat(0, 60_000.0))
    return trading


def _fill(trading: TradingEngine, index: int) -> None:
    trading.on_candle(BTCUSD_ID, flat(index, 60_000.0))
    trading.commit()


def test_an_event_is_journaled_only_when_the_flag_changes() -> None:
    journal = MemoryJournal()
    trading = _engine(AnomalyAction.HALVE, journal)
    flags = [trading.report_anomaly(BTCUSD_ID, score=s, threshold=1.0) for s in (0.5, 2.0, 3.0, 0.9, 0.1)]
    trading.commit()
    assert flags == [False, True, True, False, False]
    events = of_type(journal.events, MarketAnomaly)
    assert [(e.active, e.score, e.action) for e in events] == [
        (True, 2.0, AnomalyAction.HALVE),
        (False, 0.9, AnomalyAction.HALVE),
    ]


def test_halve_halves_an_entry_and_records_the_size_asked_for() -> None:
    journal = MemoryJournal()
    trading = _engine(AnomalyAction.HALVE, journal)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    order = trading.submit(buy(10))
    _fill(trading, 1)
    position = trading.position(BTCUSD_ID)
    assert order.intent.contracts == 5
    assert position is not None and position.contracts == 5
    (approved,) = of_type(journal.events, RiskApproved)
    assert approved.requested_contracts == 10


def test_halve_keeps_the_closing_part_of_a_reversal_whole() -> None:
    trading = _engine(AnomalyAction.HALVE)
    trading.submit(buy(10))
    _fill(trading, 1)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    order = trading.submit(sell(20))  # close 10, open 10 short: the short is halved
    _fill(trading, 2)
    position = trading.position(BTCUSD_ID)
    assert order.intent.contracts == 15
    assert position is not None and (position.side, position.contracts) == (PositionSide.SHORT, 5)


def test_orders_that_only_reduce_are_never_touched() -> None:
    trading = _engine(AnomalyAction.BLOCK)
    trading.submit(buy(10))
    _fill(trading, 1)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    order = trading.submit(sell(10, reduce_only=True))
    _fill(trading, 2)
    assert order.status is not OrderStatus.REJECTED
    assert trading.position(BTCUSD_ID) is None


def test_block_refuses_entries_with_the_anomaly_violation_until_the_flag_clears() -> None:
    journal = MemoryJournal()
    trading = _engine(AnomalyAction.BLOCK, journal)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    refused = trading.submit(buy(10))
    trading.commit()
    assert refused.status is OrderStatus.REJECTED
    assert "anomalous" in (refused.reject_reason or "")
    assert of_type(journal.events, RiskRejected)[-1].violations == ("anomaly",)
    trading.report_anomaly(BTCUSD_ID, score=0.5, threshold=1.0)
    assert trading.submit(buy(10)).status is not OrderStatus.REJECTED


def test_halving_a_single_contract_is_refused() -> None:
    trading = _engine(AnomalyAction.HALVE)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    order = trading.submit(buy(1))
    assert order.status is OrderStatus.REJECTED
    assert "leaves none" in (order.reject_reason or "")


def test_off_ignores_the_flag() -> None:
    trading = _engine(AnomalyAction.OFF)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    assert trading.submit(buy(10)).intent.contracts == 10


def test_resubmitting_a_halved_order_with_its_client_id_is_idempotent() -> None:
    trading = _engine(AnomalyAction.HALVE)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    intent = buy(10, client_order_id="entry-1")
    first = trading.submit(intent)
    assert trading.submit(intent) == first


def test_a_rebuilt_engine_keeps_the_flag_and_the_requested_sizes() -> None:
    journal = MemoryJournal()
    trading = _engine(AnomalyAction.HALVE, journal)
    trading.report_anomaly(BTCUSD_ID, score=2.0, threshold=1.0)
    trading.submit(buy(10, client_order_id="entry-1"))
    _fill(trading, 1)
    rebuilt = TradingEngine.rebuild(trading.config, [btcusd()], journal=journal)
    assert rebuilt.snapshot() == trading.snapshot()
    assert rebuilt.submit(buy(4)).intent.contracts == 2


@pytest.mark.parametrize("score", [float("nan"), float("inf")])
def test_a_score_that_is_not_finite_is_an_error(score: float) -> None:
    trading = _engine(AnomalyAction.HALVE)
    with pytest.raises(EngineError, match="finite"):
        trading.report_anomaly(BTCUSD_ID, score=score, threshold=1.0)
