"""The vectorized backtester against the event engine on real BTC/USDT candles, with real funding rates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.instruments import btcusd
from tests.testkit.services import REPO_ROOT
from tests.unit.backtest.test_vectorized import assert_same_run
from trading_agent.backtest.event_runner import run_event_backtest
from trading_agent.backtest.strategies import make_strategy
from trading_agent.backtest.vectorized import run_vectorized_backtest, ungated_config
from trading_agent.config.trading_rules import load_trading_rules
from trading_agent.data.files import read_candle_file, read_funding_file
from trading_agent.domain import SizingMethod, Timeframe
from trading_agent.engine.funding import FundingSeries, funding_times
from trading_agent.features import Bars
from trading_agent.risk.sizing import SizingRules
from trading_agent.services.trading_setup import engine_config, sizing_rules

CANDLES = 5000  # 2023-12 .. 2024-06, real gaps included
RULES = load_trading_rules(REPO_ROOT / "config")
FIXED_TENTH = SizingRules(method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.1, max_position_size=Decimal(5000))


@pytest.fixture(scope="module")
def market(btc_1h_path: Path, funding_path: Path) -> tuple[Bars, FundingSeries]:
    """The last candles and the whole stored funding series."""
    bars = Bars.from_frame(read_candle_file(btc_1h_path, Timeframe.H1).iloc[-CANDLES:])
    frame = read_funding_file(funding_path)
    return bars, FundingSeries(frame.index.as_unit("ms").asi8, frame["funding_rate"].to_numpy())


def _before_a_funding_gap(bars: Bars, hour_ms: int) -> np.ndarray:
    """Closes followed by a gap with a settlement in it.

    The event runner's rebuilt curve books such a payment at the close before the gap; the engine
    (and the vectorized books) pay it at the open of the first candle after it. Elsewhere the
    curves agree, and from the next close on.
    """
    ts = bars.ts
    gapped = np.zeros(len(ts), dtype=bool)
    for i in np.flatnonzero(np.diff(ts) > hour_ms):
        gapped[i] = bool(funding_times(int(ts[i]) + hour_ms, int(ts[i + 1])))
    return gapped


@pytest.mark.real_data
@pytest.mark.parametrize("sizing", ["shipped (kelly)", "fixed 10%"])
@pytest.mark.parametrize(("name", "params"), [("sma-cross", {"fast": 20, "slow": 50}), ("rsi-reversion", {})])
def test_real_candles_and_funding_give_the_event_engines_trades(
    market: tuple[Bars, FundingSeries], sizing: str, name: str, params: dict[str, object]
) -> None:
    bars, funding = market
    config = ungated_config(engine_config(RULES, timeframe=Timeframe.H1, session="real"))
    rules = sizing_rules(RULES) if sizing.startswith("shipped") else FIXED_TENTH
    strategy = make_strategy(name, params)
    event = run_event_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=rules, funding=funding)
    vector = run_vectorized_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=rules, funding=funding)
    assert len(event.trades) >= 25
    assert_same_run(event, vector)
    assert float(np.abs(vector.trades["funding"]).sum()) > 0  # real rates were paid and received
    keep = ~_before_a_funding_gap(bars, Timeframe.H1.ms)
    np.testing.assert_allclose(vector.equity[keep], event.equity[keep], rtol=1e-9)
    np.testing.assert_array_equal(vector.in_position, event.in_position)
