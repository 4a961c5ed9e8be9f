"""The ``data`` commands end to end: real files, real SQLite and PostgreSQL, the real entry point."""

import time
from pathlib import Path

import pytest

from tests.testkit.cli import run_cli

IMPORT_1H = ("--exchange", "binance", "--symbol", "BTCUSDT", "--timeframe", "1h")


def _rows(cwd: Path, db: list[str]) -> dict[str, int]:
    listing = run_cli(*db, "data", "list", "--json", cwd=cwd)
    assert listing.code == 0, listing.stderr
    return {f"{s['exchange']}:{s['symbol']}:{s['timeframe']}": s["rows"] for s in listing.json()}


@pytest.mark.real_data
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_import_twice_changes_nothing_and_check_reports_the_real_gaps(
    backend: str, btc_1h_path: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = [] if backend == "sqlite" else ["--database-url", request.getfixturevalue("postgres_url")]
    first = run_cli(*db, "data", "import", str(btc_1h_path), *IMPORT_1H, "--json", cwd=tmp_path)
    assert first.code == 0, first.stderr
    assert first.json()["rows_read"] == 56_830
    assert first.json()["rows_after"] == 56_830
    second = run_cli(*db, "data", "import", str(btc_1h_path), *IMPORT_1H, "--json", cwd=tmp_path)
    assert second.code == 0, second.stderr
    assert second.json()["rows_added"] == 0
    assert _rows(tmp_path, db)["binance:BTCUSDT:1h"] == 56_830
    if backend == "sqlite":
        assert (tmp_path / "var" / "trading_agent.db").is_file()

    check = run_cli(*db, "data", "check", "-e", "binance", "-s", "BTCUSDT", "-t", "1h", "--json", cwd=tmp_path)
    assert check.code == 0, check.stderr
    gaps = next(c for c in check.json()["checks"] if c["name"] == "missing_candles")
    assert gaps["metrics"]["gap_events"] == 27
    assert gaps["metrics"]["missing_candles"] == 122
    assert gaps["rows_added"] == 0  # default policy: never invent prices


@pytest.mark.real_data
def test_check_table_and_strict_exit_code(btc_1h_path: Path, tmp_path: Path) -> None:
    result = run_cli("data", "check", str(btc_1h_path), "-t", "1h", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "missing_candles" in result.stdout
    assert "2018-02-08" in result.stdout  # the longest real gap is shown as an example
    strict = run_cli("data", "check", str(btc_1h_path), "-t", "1h", "--strict", cwd=tmp_path)
    assert strict.code == 3


def test_bad_file_names_file_and_line_and_leaves_the_store_unchanged(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("timestamp,open,high,low,close,volume\n1514764800000,10,12,9,11,5\n1514768400000,11,12,10,11,5\n")
    assert run_cli("data", "import", str(good), *IMPORT_1H, cwd=tmp_path).code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n"
        "1514764800000,99,99,99,99,99\n"  # would overwrite the stored candle if the import were not atomic
        "1514768400000,10,12,9,11,5\n"
        "1514772000000,10,8,9,11,5\n"
    )
    result = run_cli("data", "import", str(bad), *IMPORT_1H, cwd=tmp_path)
    assert result.code == 1
    assert f"{bad}, line 4: high is below low" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert _rows(tmp_path, [])["binance:BTCUSDT:1h"] == 2
    check = run_cli("data", "check", "-e", "binance", "-s", "BTCUSDT", "-t", "1h", "--json", cwd=tmp_path)
    assert check.json()["rows_in"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("data", "import", "x.csv", "-e", "b", "-s", "S", "-t", "7m"), "unknown timeframe '7m'"),
        (("data", "import", "missing.csv", "-e", "b", "-s", "S", "-t", "1h"), "missing.csv: file not found"),
        (("data", "check", "-e", "b", "-s", "S"), "no candles stored for b:S:1h"),
        (("--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/nodb", "data", "list"), "127.0.0.1:1"),
        (("--database-url", "nosuchdb://x", "data", "list"), "nosuchdb"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_download_fails_fast_without_network(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli("data", "download", "--symbol", "BTCUSD", "--timeframe", "1h", "--days", "730", cwd=tmp_path)
    assert result.code == 1
    assert "delta.invalid" in result.stderr
    assert time.monotonic() - started < 20


@pytest.mark.real_data
def test_resample_stores_a_higher_timeframe_and_readers_resample_on_the_fly(btc_1h_path: Path, tmp_path: Path) -> None:
    assert run_cli("data", "import", str(btc_1h_path), *IMPORT_1H, cwd=tmp_path).code == 0
    result = run_cli(
        "data", "resample", "-e", "binance", "-s", "BTCUSDT", "-t", "1h", "--to", "4h", "--json", cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert result.json()["rows_out"] > 14_000
    assert _rows(tmp_path, [])["binance:BTCUSDT:4h"] == result.json()["rows_out"]
    on_the_fly = run_cli("data", "check", "-e", "binance", "-s", "BTCUSDT", "-t", "1d", "--json", cwd=tmp_path)
    assert on_the_fly.code == 0, on_the_fly.stderr
    assert on_the_fly.json()["timeframe"] == "1d"
    assert 2300 < on_the_fly.json()["rows_in"] < 2400  # 2018-01-01 .. 2024-06-30 in days


@pytest.mark.real_data
def test_funding_import(funding_path: Path, tmp_path: Path) -> None:
    result = run_cli(
        "data",
        "import",
        str(funding_path),
        "-e",
        "binanceusdm",
        "-s",
        "BTCUSDT",
        "--kind",
        "funding",
        "--json",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    assert result.json()["rows_after"] == 5267
    listing = run_cli("data", "list", "--json", cwd=tmp_path).json()
    assert [s["kind"] for s in listing] == ["funding"]
