"""A long simulated trading session that can be killed at any moment and restarted: the crash test's child.

``python -m tests.testkit.crash_session DATABASE_URL`` rebuilds the engine from the journal in
the database, resumes after the last candle it committed, and trades the rest of a seeded
synthetic market with an SMA cross (2 x ATR stops, 2R targets, trailing and time exits, funding)
sized by the risk manager, committing after every candle. Everything it decides depends only on
the candles and the engine's state, so a run killed and restarted any number of times must end
with the journal of a run that never stopped. It prints ``resumed <candle index>`` on start.
"""

from __future__ import annotations

import sys
from decimal import Decimal

import numpy as np

from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Candle, ClientOrderId, OrderIntent, Side, Timeframe
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.exits import ExitRules, stop_distance
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.sizing import FixedFractionalSizer, SizingContext, SizingRules, contracts_for_notional
from trading_agent.storage import SqlJournal, create_database_engine

CANDLES = 4000
SESSION = "crash"
CONFIG = EngineConfig(
    session=SESSION,
    timeframe=Timeframe.H1,
    default_funding_rate=Decimal("0.0001"),
    limits=RiskLimits(max_leverage=3, min_time_between_trades_s=3600, max_consecutive_losses=1000),
    breakers=BreakerRules(max_consecutive_losses=1000),
    exits=ExitRules(trailing_activation_percent=1.5, trailing_percent=1.0, max_holding_period_s=36 * 3600),
)
SIZER = FixedFractionalSizer(SizingRules(risk_per_trade=0.05, max_position_size=Decimal(2400)))


def market() -> tuple[list[Candle], list[int], list[float]]:
    """The candles, the SMA(8)/SMA(21) cross at each close (+1, -1, 0) and the ATR(14) known at it."""
    frame = SyntheticMarket(seed=7, timeframe=Timeframe.H1).generate(CANDLES)
    ts = frame.index.as_unit("ms").asi8
    candles = [
        Candle(int(t), float(o), float(h), float(low), float(c), float(v))
        for t, o, h, low, c, v in zip(
            ts, *(frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume")), strict=True
        )
    ]
    close = frame["close"].to_numpy()
    fast = np.convolve(close, np.ones(8) / 8)[: len(close)]
    slow = np.convolve(close, np.ones(21) / 21)[: len(close)]
    above = fast > slow
    signal = [0] * len(close)
    for i in range(22, len(close)):
        if above[i] != above[i - 1]:
            signal[i] = 1 if above[i] else -1
    true_range = np.maximum(frame["high"] - frame["low"], np.abs(frame["high"] - frame["close"].shift()))
    atr = true_range.rolling(14).mean().fillna(0).to_list()
    return candles, signal, atr


def run(url: str) -> None:
    """Resume the session stored at ``url`` and trade it to the end."""
    journal = SqlJournal(create_database_engine(url), session=SESSION)
    engine = TradingEngine.rebuild(CONFIG, [btcusd()], journal=journal)
    candles, signal, atr = market()
    last = engine.last_candle_ts(BTCUSD_ID)
    start = 0 if last is None else next(i for i, bar in enumerate(candles) if bar.ts == last) + 1
    print(f"resumed {start}", flush=True)
    for i in range(start, len(candles)):
        bar = candles[i]
        engine.on_candle(BTCUSD_ID, bar, volatility=atr[i] / bar.close or None, average_volatility=0.01)
        distance = stop_distance(CONFIG.exits, bar.close, atr=atr[i])
        if signal[i] and distance is not None:
            price = Decimal(repr(bar.close))
            contracts = contracts_for_notional(
                SIZER.size(engine.portfolio_state().equity, SizingContext()), btcusd(), price
            )
            position = engine.position(BTCUSD_ID)
            side = Side.BUY if signal[i] > 0 else Side.SELL
            if position is not None and position.side.value != ("long" if side is Side.BUY else "short"):
                contracts += position.contracts
            if contracts:
                engine.submit(
                    OrderIntent(
                        instrument=BTCUSD_ID,
                        side=side,
                        contracts=contracts,
                        stop_distance=distance,
                        leverage=Decimal(2),
                        client_order_id=ClientOrderId(f"sma-{bar.ts}"),
                    )
                )
        engine.commit()
    print("done", flush=True)


if __name__ == "__main__":
    run(sys.argv[1])
