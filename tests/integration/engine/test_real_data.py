"""The engine on real data: Binance BTCUSDT perpetual candles and their real 8-hourly funding rates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.testkit.engine import config
from tests.testkit.instruments import BTCUSD_ID, btcusd
from tests.testkit.services import shared_data_file
from trading_agent.data.files import read_candle_file, read_funding_file
from trading_agent.domain import Candle, FundingApplied, OrderIntent, Side, Timeframe
from trading_agent.engine.costs import SlippageModel
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.funding import FundingSeries
from trading_agent.engine.journal import MemoryJournal

START, END = 1_704_067_200_000, 1_711_929_600_000  # 2024-01-01 .. 2024-04-01 UTC
CONTRACTS = 50


@pytest.fixture(scope="module")
def perpetual_path() -> Path:
    """Real Binance BTCUSDT perpetual 1h candles (../shared/data)."""
    return shared_data_file("binanceusdm_BTCUSDT_1h.csv.gz")


@pytest.mark.real_data
def test_a_long_held_through_a_quarter_pays_the_real_funding_settlement_by_settlement(
    perpetual_path: Path, funding_path: Path
) -> None:
    frame = read_candle_file(perpetual_path, Timeframe.H1)
    stamps = frame.index.as_unit("ms").asi8
    window = frame[(stamps >= START) & (stamps < END)]
    funding = read_funding_file(funding_path)
    funding_ts = funding.index.as_unit("ms").asi8
    series = FundingSeries(timestamps=funding_ts, rates=funding["funding_rate"].to_numpy())
    journal = MemoryJournal()
    engine = TradingEngine(
        config(slippage=SlippageModel(fixed_bps=0, impact_coefficient=0)),
        [btcusd()],
        journal=journal,
        funding={BTCUSD_ID: series},
    )
    candles = [
        Candle(int(ts), float(row.open), float(row.high), float(row.low), float(row.close), float(row.volume))
        for ts, row in zip(window.index.as_unit("ms").asi8, window.itertuples(), strict=True)
    ]
    engine.on_candle(BTCUSD_ID, candles[0])
    engine.submit(OrderIntent(instrument=BTCUSD_ID, side=Side.BUY, contracts=CONTRACTS))
    for bar in candles[1:]:
        engine.on_candle(BTCUSD_ID, bar)
        engine.commit()
    paid = [event for event in journal.events if isinstance(event, FundingApplied)]
    # the long opened at the open of the second candle (01:00): the first settlement it pays is 08:00
    rates = dict(zip(funding_ts.tolist(), funding["funding_rate"].tolist(), strict=True))
    opens = {bar.ts: bar.open for bar in candles}
    due = [ts for ts in rates if candles[1].ts < ts <= candles[-1].ts]
    assert len(due) == 3 * 91 - 1 and [event.ts_event for event in paid] == due
    for event in paid:
        expected = (
            CONTRACTS * Decimal("0.001") * Decimal(repr(opens[event.ts_event])) * Decimal(repr(rates[event.ts_event]))
        )
        assert event.amount == expected
    state = engine.portfolio_state()
    total = sum((event.amount for event in paid), Decimal(0))
    assert state.funding == total and total > 0  # early 2024: longs paid on balance
    assert state.equity == state.cash + state.unrealized_pnl - state.fees - state.funding
