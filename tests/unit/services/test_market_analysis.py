"""``services.market_analysis.market_analysis`` on real BTC/USDT hourly candles.

ADX, +DI, -DI and NATR against TA-Lib called here; the trend labels against the documented
thresholds; realised volatility by hand; no look-ahead (candles after the newest one change nothing);
an empty window is a ``ServiceError``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import talib

from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.features import Bars
from trading_agent.services.errors import ServiceError
from trading_agent.services.market_analysis import MarketAnalysis, market_analysis

pytestmark = pytest.mark.real_data

WINDOW = 600
SERIES = "binance:BTCUSDT:1h"


@pytest.fixture(scope="module")
def real_window(btc_1h_path: Path) -> Bars:
    """The last 800 real hourly candles (600 analysed, 200 more for the look-ahead checks)."""
    frame = read_candle_file(btc_1h_path, Timeframe.H1).iloc[-(WINDOW + 200) :]
    return Bars.from_frame(frame)


def analyse(bars: Bars) -> MarketAnalysis:
    return market_analysis("BTCUSDT", SERIES, Timeframe.H1, bars)


def test_trend_indicators_are_ta_libs_at_the_newest_candle(real_window: Bars) -> None:
    bars = real_window.head(WINDOW)
    result = analyse(bars)
    args = (bars.high, bars.low, bars.close)
    assert result.adx == pytest.approx(float(talib.ADX(*args, timeperiod=14)[-1]), rel=1e-12)
    assert result.plus_di == pytest.approx(float(talib.PLUS_DI(*args, timeperiod=14)[-1]), rel=1e-12)
    assert result.minus_di == pytest.approx(float(talib.MINUS_DI(*args, timeperiod=14)[-1]), rel=1e-12)
    assert result.natr_percent == pytest.approx(float(talib.NATR(*args, timeperiod=14)[-1]), rel=1e-12)
    sign = math.copysign(1.0, result.plus_di - result.minus_di)  # type: ignore[operator]
    assert result.trend_score == pytest.approx(sign * result.adx / 100, rel=1e-12)  # type: ignore[operator]
    assert result.candles == WINDOW and result.close == float(bars.close[-1])
    assert int(result.candle.timestamp() * 1000) == int(bars.ts[-1])
    assert result.symbol == "BTCUSDT" and result.series == SERIES


def test_natr_relative_is_natr_over_its_100_candle_mean(real_window: Bars) -> None:
    bars = real_window.head(WINDOW)
    natr = talib.NATR(bars.high, bars.low, bars.close, timeperiod=14)
    relative = natr[-1] / natr[-100:].mean()
    result = analyse(bars)
    assert result.natr_relative == pytest.approx(relative, rel=1e-9)
    expected = "low" if relative < 0.8 else "high" if relative > 1.25 else "normal"
    assert result.volatility_regime == expected


def test_realised_volatility_is_the_std_of_the_last_100_log_returns_annualised_24_7(real_window: Bars) -> None:
    bars = real_window.head(WINDOW)
    log_returns = np.diff(np.log(bars.close[-101:]))
    assert log_returns.size == 100
    expected = float(np.std(log_returns, ddof=1)) * math.sqrt(24 * 365)
    assert analyse(bars).realised_volatility_annual == pytest.approx(expected, rel=1e-12)


def test_realised_volatility_needs_more_than_100_candles(real_window: Bars) -> None:
    assert analyse(real_window.head(100)).realised_volatility_annual is None
    assert analyse(real_window.head(101)).realised_volatility_annual is not None


def test_trend_labels_follow_the_documented_adx_thresholds(real_window: Bars) -> None:
    seen: set[str] = set()
    for k in range(60, WINDOW + 1, 9):
        result = analyse(real_window.head(k))
        adx, plus_di, minus_di = result.adx, result.plus_di, result.minus_di
        assert adx is not None and plus_di is not None and minus_di is not None
        expected_strength = "none" if adx < 20 else "strong" if adx > 40 else "trending"
        assert result.trend_strength == expected_strength, (k, adx)
        if expected_strength == "none":
            assert result.trend == "none"
        else:
            assert result.trend == ("up" if plus_di > minus_di else "down"), (k, plus_di, minus_di)
        words = "no trend" if result.trend == "none" else result.trend
        assert result.regime.startswith(("strong " if expected_strength == "strong" else "") + words)
        assert result.regime.endswith(f"{result.volatility_regime} volatility")
        seen.add(result.trend_strength)
    assert {"none", "trending"} <= seen  # the real window crosses the 20 threshold both ways


def test_too_short_a_window_has_undefined_indicators_and_no_trend(real_window: Bars) -> None:
    result = analyse(real_window.head(10))
    assert result.adx is None and result.plus_di is None and result.minus_di is None and result.natr_percent is None
    assert result.trend == "none" and result.trend_strength == "none" and result.volatility_regime == "unknown"
    assert result.model_dump_json()  # serialisable: None, not NaN


def test_no_look_ahead_truncating_a_longer_input_gives_the_same_analysis(real_window: Bars) -> None:
    k = WINDOW
    at_k = analyse(real_window.head(k))
    longer = real_window.head(k + 200)
    assert analyse(longer) != at_k  # the longer input is really different at its own newest candle
    assert analyse(longer.head(k)) == at_k


def test_no_look_ahead_arbitrary_later_candles_change_nothing_at_k(real_window: Bars) -> None:
    k = WINDOW - 150
    rng = np.random.default_rng(7)
    later = len(real_window) - k
    close = real_window.close[k - 1] * np.exp(np.cumsum(rng.normal(0, 0.05, later)))
    high = close * (1 + rng.uniform(0, 0.1, later))
    low = close * (1 - rng.uniform(0, 0.1, later))
    altered = Bars(
        real_window.ts.copy(),
        np.concatenate((real_window.open[:k], close)),
        np.concatenate((real_window.high[:k], high)),
        np.concatenate((real_window.low[:k], low)),
        np.concatenate((real_window.close[:k], close)),
        np.concatenate((real_window.volume[:k], rng.uniform(0, 1e6, later))),
    )
    assert analyse(altered) != analyse(real_window)
    assert analyse(altered.head(k)) == analyse(real_window.head(k))


def test_an_empty_window_is_a_service_error(real_window: Bars) -> None:
    with pytest.raises(ServiceError, match="no candles yet"):
        analyse(real_window.head(0))
