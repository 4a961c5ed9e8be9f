from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd
from trading_agent.domain import FundingRate, PositionSide
from trading_agent.engine.funding import (
    FundingInputError,
    FundingSeries,
    funding_payment,
    funding_times,
    next_funding_time,
    rate_at,
)

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
D = Decimal
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# 2024-06-30 00:00:00 UTC
DAY0 = 1_719_705_600_000

BTC = btcusd()


def test_long_pays_positive_rate_short_receives() -> None:
    # 100 contracts x 0.001 x 60,000 = 6,000 USD notional; 0.01% -> 0.60 USD
    assert funding_payment(LONG, 100, D(60000), D("0.0001"), BTC) == D("-0.6")
    assert funding_payment(SHORT, 100, D(60000), D("0.0001"), BTC) == D("0.6")


def test_negative_rate_reverses_the_flow() -> None:
    assert funding_payment(LONG, 100, D(60000), D("-0.0003"), BTC) == D("1.8")
    assert funding_payment(SHORT, 100, D(60000), D("-0.0003"), BTC) == D("-1.8")
    assert funding_payment(LONG, 100, D(60000), D(0), BTC) == 0


def test_funding_uses_the_mark_price_given() -> None:
    assert funding_payment(LONG, 1, D(50000), D("0.001"), BTC) == D("-0.05")


@pytest.mark.parametrize(
    ("contracts", "mark", "rate"),
    [(0, D(1), D(0)), (-1, D(1), D(0)), (1, D(0), D(0)), (1, D("NaN"), D(0)), (1, D(1), D("NaN"))],
)
def test_funding_payment_rejects_bad_input(contracts: int, mark: Decimal, rate: Decimal) -> None:
    with pytest.raises(FundingInputError):
        funding_payment(LONG, contracts, mark, rate, BTC)


def test_eight_hour_grid_across_a_day() -> None:
    assert funding_times(DAY0, DAY0 + DAY_MS) == [DAY0, DAY0 + 8 * HOUR_MS, DAY0 + 16 * HOUR_MS]
    # half-open: starting one ms later drops 00:00, ending at the next midnight excludes it
    assert funding_times(DAY0 + 1, DAY0 + DAY_MS + 1) == [DAY0 + 8 * HOUR_MS, DAY0 + 16 * HOUR_MS, DAY0 + DAY_MS]
    assert funding_times(DAY0 + HOUR_MS, DAY0 + 2 * HOUR_MS) == []
    assert funding_times(DAY0, DAY0) == []


def test_grid_anchor_and_interval_are_parameters() -> None:
    # a grid at 04/12/20 UTC
    anchor = 4 * HOUR_MS
    assert funding_times(DAY0, DAY0 + DAY_MS, anchor_ms=anchor) == [
        DAY0 + 4 * HOUR_MS,
        DAY0 + 12 * HOUR_MS,
        DAY0 + 20 * HOUR_MS,
    ]
    assert len(funding_times(DAY0, DAY0 + DAY_MS, interval_s=3600)) == 24
    # an anchor in the future works the same
    assert funding_times(DAY0, DAY0 + DAY_MS, anchor_ms=DAY0 + 100 * DAY_MS) == funding_times(DAY0, DAY0 + DAY_MS)


def test_next_funding_time() -> None:
    assert next_funding_time(DAY0) == DAY0
    assert next_funding_time(DAY0 + 1) == DAY0 + 8 * HOUR_MS
    assert next_funding_time(DAY0 - 1) == DAY0
    assert next_funding_time(-1) == 0


def test_grid_rejects_bad_input() -> None:
    with pytest.raises(FundingInputError):
        funding_times(DAY0, DAY0 - 1)
    with pytest.raises(FundingInputError):
        funding_times(DAY0, DAY0 + DAY_MS, interval_s=0)


def test_rate_at_exact_settlement_else_default() -> None:
    series = FundingSeries(
        np.array([DAY0, DAY0 + 8 * HOUR_MS], dtype=np.int64),
        np.array([0.0001, -0.00025]),
        default_rate=D("0.00005"),
    )
    assert rate_at(DAY0, series) == D("0.0001")
    assert rate_at(DAY0 + 8 * HOUR_MS, series) == D("-0.00025")
    assert rate_at(DAY0 + 16 * HOUR_MS, series) == D("0.00005")  # after the end
    assert rate_at(DAY0 - 8 * HOUR_MS, series) == D("0.00005")  # before the start
    assert rate_at(DAY0 + 1, series) == D("0.00005")  # between settlements


def test_series_from_domain_rates_and_constant() -> None:
    series = FundingSeries.from_rates([FundingRate(DAY0, 0.0003), FundingRate(DAY0 + 8 * HOUR_MS, -0.003)])
    assert rate_at(DAY0 + 8 * HOUR_MS, series) == D("-0.003")
    assert rate_at(DAY0 + 16 * HOUR_MS, series) == D(0)
    assert rate_at(DAY0, FundingSeries.constant(D("0.0001"))) == D("0.0001")


def test_series_is_validated_and_read_only() -> None:
    with pytest.raises(FundingInputError, match="increasing"):
        FundingSeries(np.array([2, 1]), np.array([0.0, 0.0]))
    with pytest.raises(FundingInputError, match="increasing"):
        FundingSeries(np.array([1, 1]), np.array([0.0, 0.0]))
    with pytest.raises(FundingInputError, match="equal length"):
        FundingSeries(np.array([1, 2]), np.array([0.0]))
    with pytest.raises(FundingInputError, match="finite"):
        FundingSeries(np.array([1]), np.array([np.nan]))
    source = np.array([1, 2], dtype=np.int64)
    series = FundingSeries(source, np.array([0.1, 0.2]))
    source[0] = 5
    assert int(series.timestamps[0]) == 1
    with pytest.raises(ValueError, match="read-only"):
        series.timestamps[0] = 7


@given(
    contracts=st.integers(min_value=1, max_value=229_167),
    mark=st.decimals(min_value=D(1), max_value=D(500000), places=1),
    rate=st.decimals(min_value=D("-0.003"), max_value=D("0.003"), places=6),
)
def test_longs_pay_what_shorts_receive(contracts: int, mark: Decimal, rate: Decimal) -> None:
    long_flow = funding_payment(LONG, contracts, mark, rate, BTC)
    short_flow = funding_payment(SHORT, contracts, mark, rate, BTC)
    assert long_flow + short_flow == 0
    if rate > 0:
        assert long_flow < 0 < short_flow


@given(
    start=st.integers(min_value=0, max_value=4_000_000_000_000),
    span=st.integers(min_value=0, max_value=30 * DAY_MS),
    cut=st.integers(min_value=0, max_value=30 * DAY_MS),
)
def test_windows_split_the_grid_without_overlap(start: int, span: int, cut: int) -> None:
    end = start + span
    middle = start + min(cut, span)
    whole = funding_times(start, end)
    assert funding_times(start, middle) + funding_times(middle, end) == whole
    assert all(t % (8 * HOUR_MS) == 0 and start <= t < end for t in whole)
