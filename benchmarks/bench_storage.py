"""Candle storage: 1M one-minute candles into and out of SQLite and PostgreSQL, ours vs pandas.

Ours is :class:`trading_agent.storage.SqlCandleStore` (``executemany`` upsert on SQLite, binary
COPY on PostgreSQL; binary COPY / raw cursor reads). The reference is what most code does:
``DataFrame.to_sql`` into a table with the same schema and primary key, and ``pandas.read_sql``
turned into the same frame shape. Every run makes its own SQLite file and its own PostgreSQL
database (``CREATE DATABASE bench_<random>`` through ``TRADING_AGENT_BENCH_POSTGRES_DSN``, default
``postgresql://postgres@127.0.0.1:5432/test``) and removes them afterwards; without a reachable
PostgreSQL server its rows are skipped.

Goals: import >= 100k candles/s on SQLite and >= 250k/s on PostgreSQL; load 1M candles into a
DataFrame in <= 1 s on each.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, MetaData, text

from trading_agent.domain import SeriesKey
from trading_agent.storage import SqlCandleStore, create_database_engine
from trading_agent.storage.tables import CandleRow

ROWS = 1_000_000
SEED = 20_240_601
SERIES = SeriesKey.of("bench", "BTCUSD", "1m")
ADMIN_DSN = os.environ.get("TRADING_AGENT_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IMPORT_GOALS = {"SQLite": 100_000, "PostgreSQL": 250_000}
LOAD_GOAL_S = 1.0
REFERENCE_TABLE = "reference_candles"


@dataclass(frozen=True, slots=True)
class Result:
    """One measured operation, ours and (where there is one) the reference's."""

    backend: str
    operation: str
    ours_s: float
    reference_s: float | None
    goal: str
    met: bool


def synthetic_candles(n: int, seed: int) -> pd.DataFrame:
    """``n`` consistent one-minute candles from a seeded geometric random walk."""
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 8e-4, n)))
    open_ = np.concatenate(([30_000.0], close[:-1]))
    wick = np.abs(rng.normal(0.0, 4e-4, n)) * close
    ts = 1_600_000_000_000 + 60_000 * np.arange(n, dtype="int64")
    index = pd.DatetimeIndex(ts.view("datetime64[ms]"), name="time").tz_localize("UTC")
    columns = {
        "open": open_,
        "high": np.maximum(open_, close) + wick,
        "low": np.minimum(open_, close) - wick,
        "close": close,
        "volume": rng.gamma(2.0, 5.0, n),
    }
    return pd.DataFrame(columns, index=index)


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def reference_load(engine: Engine) -> pd.DataFrame:
    """``pandas.read_sql`` of the reference table, shaped like our frames."""
    query = text(
        f"SELECT ts, open, high, low, close, volume FROM {REFERENCE_TABLE} "
        "WHERE exchange = :exchange AND symbol = :symbol AND timeframe = :timeframe ORDER BY ts"
    )
    params = {"exchange": SERIES.instrument.venue, "symbol": SERIES.instrument.symbol, "timeframe": "1m"}
    frame = pd.read_sql(query, engine, params=params)
    ts = frame.pop("ts").to_numpy(dtype="int64")
    frame.index = pd.DatetimeIndex(ts.view("datetime64[ms]"), name="time").tz_localize("UTC")
    return frame


def bench_backend(backend: str, url: str, frame: pd.DataFrame) -> list[Result]:
    """Import, re-import and load with our store and with pandas on one database."""
    engine = create_database_engine(url)
    try:
        store = SqlCandleStore(engine)
        reference_table = CandleRow.__table__.to_metadata(MetaData(), name=REFERENCE_TABLE)
        for constraint in reference_table.constraints:  # same schema, constraint names of its own
            constraint.name = f"{REFERENCE_TABLE}_{constraint.name}"
        reference_table.create(engine)
        reference_rows = frame.reset_index(drop=True).assign(
            exchange=SERIES.instrument.venue,
            symbol=SERIES.instrument.symbol,
            timeframe="1m",
            ts=frame.index.as_unit("ms").asi8,
        )

        ours_import = timed(lambda: store.upsert_candles(SERIES, frame))
        reference_import = timed(
            lambda: reference_rows.to_sql(REFERENCE_TABLE, engine, if_exists="append", index=False)
        )
        ours_reimport = timed(lambda: store.upsert_candles(SERIES, frame))
        loaded: list[pd.DataFrame] = []
        ours_load = timed(lambda: loaded.append(store.load_candles(SERIES)))
        reference_load_s = timed(lambda: loaded.append(reference_load(engine)))
        for result in loaded:
            pd.testing.assert_frame_equal(result, frame)
    finally:
        engine.dispose()

    goal_rate = IMPORT_GOALS[backend]
    rate = len(frame) / ours_import
    return [
        Result(backend, "import", ours_import, reference_import, f">= {goal_rate:,}/s", rate >= goal_rate),
        Result(backend, "re-import (unchanged)", ours_reimport, None, "", True),
        Result(backend, "load", ours_load, reference_load_s, f"<= {LOAD_GOAL_S:g} s", ours_load <= LOAD_GOAL_S),
    ]


@contextmanager
def postgres_database(console: Console) -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run (``None`` when the server is unreachable)."""
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        console.print(f"[yellow]PostgreSQL unreachable at {ADMIN_DSN} ({exc}): skipping its rows[/]")
        yield None
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render(results: list[Result]) -> Table:
    """The results as a rich table: times, throughputs and ours/reference speed."""
    title = f"Candle storage: {ROWS:,} one-minute candles (seed {SEED}); reference = pandas to_sql / read_sql"
    table = Table(title=title)
    for column in ("backend", "operation", "ours", "ours rows/s", "reference", "ref rows/s", "ours/ref speed"):
        table.add_column(column, justify="left" if column in ("backend", "operation") else "right")
    table.add_column("goal")
    for result in results:
        reference = result.reference_s
        table.add_row(
            result.backend,
            result.operation,
            f"{result.ours_s:.2f} s",
            f"{ROWS / result.ours_s:,.0f}",
            "—" if reference is None else f"{reference:.2f} s",
            "—" if reference is None else f"{ROWS / reference:,.0f}",
            "—" if reference is None else f"{reference / result.ours_s:.1f}×",
            f"{result.goal} {'[green]met[/]' if result.met else '[red]missed[/]'}" if result.goal else "",
        )
    return table


def main() -> None:
    """Run the storage benchmark on SQLite and (when reachable) PostgreSQL and print the table."""
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=130)
    frame = synthetic_candles(ROWS, SEED)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench_storage_") as directory:
        results += bench_backend("SQLite", f"sqlite:///{Path(directory) / 'bench.db'}", frame)
    with postgres_database(console) as url:
        if url is not None:
            results += bench_backend("PostgreSQL", url, frame)
    console.print(render(results))


if __name__ == "__main__":
    main()
