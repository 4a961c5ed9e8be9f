from datetime import UTC, datetime

import pytest

from trading_agent.domain import Timeframe, UnknownTimeframeError


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_parse_accepts_every_blueprint_timeframe() -> None:
    names = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "1d", "3d", "1w"]
    assert [Timeframe.parse(n).value for n in names] == names


def test_parse_rejects_unknown_and_names_the_allowed_values() -> None:
    with pytest.raises(UnknownTimeframeError, match=r"unknown timeframe '7m'.*1m, 3m"):
        Timeframe.parse("7m")


def test_weeks_start_on_monday_utc() -> None:
    wednesday = _ms(2024, 6, 12, 15, 30)
    assert Timeframe.W1.bucket_start(wednesday) == _ms(2024, 6, 10)
    assert Timeframe.W1.is_aligned(_ms(2024, 6, 10))
    assert not Timeframe.W1.is_aligned(_ms(2024, 6, 9))


def test_three_day_buckets_are_epoch_aligned() -> None:
    start = Timeframe.D3.bucket_start(_ms(2024, 1, 2))
    assert start % Timeframe.D3.ms == 0
    assert start <= _ms(2024, 1, 2) < start + Timeframe.D3.ms


@pytest.mark.parametrize(
    ("small", "big", "expected"),
    [
        ("1m", "1h", True),
        ("1h", "1w", True),
        ("1d", "1w", True),
        ("3d", "1w", False),
        ("4h", "6h", False),
        ("1h", "1m", False),
        ("2h", "6h", True),
        ("1w", "1w", True),
        ("1m", "1m", True),
    ],
)
def test_divides(small: str, big: str, expected: bool) -> None:
    assert Timeframe.parse(small).divides(Timeframe.parse(big)) is expected
