"""The paper-trading agent end to end (issue 8): decision latency, replay throughput, resident memory.

The agent is wired as ``trading-agent paper`` wires it (``config/``: engine, sizing, filters on
1h/4h/1d, risk modes, a state file checkpointed every 100 candles) on real BTC/USDT 1h candles
(``../shared/data``; a seeded synthetic market when absent). Its two sources: the built-in
sma-cross rule, and an ensemble of every model kind (lgbm, xgb, catboost, rf at their default
sizes; lstm, transformer, tcn, gru at their default architecture; stacking and Platt calibration;
the VAE anomaly detector) over the default features of 1h, 4h and 1d (543 columns), served by
ONNX Runtime. The ensemble is trained minimally (sequence models 1 epoch, VAE 2 epochs, 3,000
rows): the figures are the cost of inference, not the quality of a model. It gets a stand-in
out-of-sample Sharpe equal to the rules' ``min_sharpe_ratio`` so its entries reach the risk gate.

1. **Latency**: wall time of ``TradingAgent.on_candle`` per closed candle (window, features of
   every timeframe, the ensemble, filters, risk gate, engine, journal commit), after the agent
   has warmed up on the preceding candles, with an in-memory journal and with a SQLite file.
   Goal: p99 <= 20 ms.
2. **Throughput**: ``await agent.run(ReplayFeed({series: frame}))`` as fast as possible, SQLite journal.
3. **Memory**: peak RSS of ``python -m trading_agent run --replay FILE`` (the agent with the API)
   with the bundle registered as the series' production model in a throw-away MLflow registry, so
   ``run`` trades the full ensemble (and ``paper --strategy sma-cross`` beside it, for the baseline). Goal:
   <= 1 GB. Read with ``wait4`` from a small launcher process: a child forked from this big process
   would report this process's RSS too.

``python -m benchmarks agent``. ``AGENT_BENCH=latency,replay,memory`` picks parts;
``AGENT_BENCH_CANDLES`` (timed candles per latency run, 2500), ``AGENT_BENCH_REPLAY`` (2000),
``AGENT_BENCH_RSS_CANDLES`` (8000: the 1d features need ~4,800 candles before the first
prediction), ``AGENT_BENCH_TREES`` (trees per tree model; default: their defaults) and
``AGENT_BENCH_HIGHER`` (the bundle's higher timeframes, ``4h,1d``; empty for 1h only) shrink it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.agent_setup import (
    SERIES,
    Wiring,
    bench_candles,
    free_port,
    machine,
    register_production,
    run_env,
    train_bundle,
    write_replay_csv,
)
from trading_agent.agent import SignalSource, TradingAgent
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.frames import candles_from_frame
from trading_agent.domain import Candle, CandleClosed, Event, RiskRejected, SignalFiltered, Timeframe
from trading_agent.engine import MemoryJournal
from trading_agent.engine.journal import Journal
from trading_agent.storage import SqlJournal, create_database_engine

__all__ = ["main"]

GOAL_P99_MS, GOAL_RSS_MB = 20.0, 1024.0
TRAIN_CANDLES, TRAIN_ROWS, WARM_CANDLES, UNTIMED_CALLS = 10_000, 4_000, 5_000, 50
RULE, ENSEMBLE = "sma-cross", "ensemble"
SHOWN_EVENTS = ("SignalGenerated", "SignalFiltered", "RiskApproved", "RiskRejected", "OrderFilled")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _higher() -> list[Timeframe]:
    text = os.environ.get("AGENT_BENCH_HIGHER", "4h,1d")
    return [Timeframe.parse(tf) for tf in text.split(",") if tf.strip()]


class _LastInference:
    """The source's time on the newest candle, in ms (the agent's own inference observer reports it)."""

    def __init__(self) -> None:
        self.ms = 0.0

    def __call__(self, kind: str, seconds: float) -> None:
        if kind == "candle":
            self.ms = seconds * 1000


class _TimedJournal:
    """A journal that adds up how long its ``append`` calls took (ns) until ``take`` is called."""

    def __init__(self, inner: Journal) -> None:
        self.inner = inner
        self.spent_ns = 0

    def append(self, events: Sequence[Event]) -> int:
        started = time.perf_counter_ns()
        try:
            return self.inner.append(events)
        finally:
            self.spent_ns += time.perf_counter_ns() - started

    def read(self) -> Iterator[Event]:
        return self.inner.read()

    def take(self) -> int:
        spent, self.spent_ns = self.spent_ns, 0
        return spent


def _journal(kind: str, tmp: Path, session: str) -> Journal:
    if kind == "memory":
        return MemoryJournal()
    return SqlJournal(create_database_engine(f"sqlite:///{tmp / session}.db"), session)


def _closed(candle: Candle) -> CandleClosed:
    return CandleClosed(ts_event=candle.close_time(SERIES.timeframe), series=SERIES, candle=candle)


def _tally(events: Counter[str], committed: Sequence[Event]) -> None:
    for event in committed:
        events[type(event).__name__] += 1
        if isinstance(event, SignalFiltered):
            events.update(f"refused: {reason}" for reason in event.reasons)
        elif isinstance(event, RiskRejected):
            events.update(f"rejected: {violation.split(':')[0]}" for violation in event.violations)


def _describe(events: Counter[str]) -> str:
    outcomes = sorted(key for key in events if key.startswith(("refused", "rejected")))
    return ", ".join(f"{events[name]} {name}" for name in (*SHOWN_EVENTS, *outcomes))


def _latency(
    agent: TradingAgent, journal: _TimedJournal, warm: Sequence[Candle], timed: Sequence[Candle]
) -> tuple[np.ndarray, Counter[str]]:
    """Per timed candle, milliseconds of ``on_candle``, of the source and of the journal within it; the events."""
    source = _LastInference()
    agent.observe_inference(source)
    for candle in warm:
        agent.warm(candle)
    journal.take()
    rows, events = [], Counter[str]()
    for i, candle in enumerate(timed):
        started = time.perf_counter_ns()
        committed = agent.on_candle(_closed(candle))
        elapsed = time.perf_counter_ns() - started
        spent = journal.take()
        if i >= UNTIMED_CALLS:
            rows.append((elapsed / 1e6, source.ms, spent / 1e6))
            _tally(events, committed)
    return np.asarray(rows), events


def _latency_part(
    console: Console, wiring: Wiring, sources: Mapping[str, Callable[[], SignalSource]], *,
    timed: Sequence[Candle], warm: Sequence[Candle], tmp: Path,
) -> None:  # fmt: skip
    table = _table(
        f"on_candle latency (ms), {len(timed) - UNTIMED_CALLS:,} candles after {len(warm):,} warm-up "
        f"+ {UNTIMED_CALLS} untimed",
        ("source", "journal", "p50", "p99", "max", "src p50", "src p99", "jnl p50", "jnl p99", "p99<=20"),
    )
    counts = []
    for label, make in sources.items():
        for kind in ("memory", "sqlite"):
            session = f"lat-{kind}-{label}"
            journal = _TimedJournal(_journal(kind, tmp, session))
            agent = wiring.agent(
                make(), journal, session=session, state=tmp / f"{session}.state", model_sharpe=_sharpe(wiring, label)
            )
            ms, events = _latency(agent, journal, warm, timed)
            p50, p99, worst = np.percentile(ms[:, 0], [50, 99, 100])
            (s50, j50), (s99, j99) = np.percentile(ms[:, 1:], [50, 99], axis=0)
            met = "met" if p99 <= GOAL_P99_MS else "MISSED"
            cells = (p50, p99, worst, s50, s99, j50, j99)
            table.add_row(label, kind, *(f"{value:.2f}" for value in cells), met)
            counts.append(f"{label}, {kind}: {_describe(events)}")
    console.print(table)
    console.print(
        "src = the source inside on_candle (the rule over the window, or the signal engine: streaming features of "
        "every timeframe + ONNX ensemble + VAE); jnl = the journal append of the candle's step; the rest is window, "
        "filters, risk gate, engine and checkpoints (every 100 candles).",
        highlight=False,
    )
    console.print("events committed over the timed candles:\n  " + "\n  ".join(counts), highlight=False)


def _sharpe(wiring: Wiring, label: str) -> float | None:
    """The model Sharpe the entry filter sees: none for the rule, the rules' minimum as a stand-in for the ensemble."""
    return None if label == RULE else wiring.rules.signal_filters.min_sharpe_ratio


def _replay_part(
    summary: Table, wiring: Wiring, sources: Mapping[str, Callable[[], SignalSource]], *,
    frame: pd.DataFrame, warm: Sequence[Candle], tmp: Path,
) -> None:  # fmt: skip
    for label, make in sources.items():
        session = f"replay-{label}"
        agent = wiring.agent(
            make(), _journal("sqlite", tmp, session), session=session, state=tmp / f"{session}.state",
            model_sharpe=_sharpe(wiring, label),
        )  # fmt: skip
        for candle in warm:
            agent.warm(candle)
        began = time.perf_counter()
        asyncio.run(agent.run(ReplayFeed({SERIES: frame})))
        rate = agent.candles / (time.perf_counter() - began)
        summary.add_row(f"replay (agent.run), {label}, SQLite, {agent.candles:,} candles", f"{rate:,.0f}/s", "", "")


def _load() -> str:
    one, five, _ = os.getloadavg()
    busy = " [red](something else is running: the figures will be pessimistic)[/]" if one > 0.7 else ""
    return f"load average before the run {one:.2f} (1 min), {five:.2f} (5 min){busy}"


_LAUNCHER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"exit": os.waitstatus_to_exitcode(status), "peak_kb": usage.ru_maxrss}, out)
"""
"""Runs the command and reports its exit code and peak RSS. A child's ``ru_maxrss`` also counts the RSS
of the process it was forked from (Linux carries the old address space's high-water mark across
``exec``), so the command is started from this small launcher, not from the benchmark's big process."""


def _peak_rss_mb() -> float:
    """This process's peak RSS in MB since its ``exec`` (``VmHWM``; ``ru_maxrss`` would include the parent's)."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def _paper_rss(tmp: Path, csv: Path, candles: int, strategy: str, tracking_uri: str) -> dict[str, Any]:
    """Peak RSS (MB) and wall time of the ``paper`` command replaying ``csv`` in a child process."""
    run_dir = tmp / f"run-{strategy}"
    run_dir.mkdir()
    env = run_env(run_dir, tracking_uri)
    command = [sys.executable, "-m", "trading_agent"]
    if strategy == "ensemble":  # `run`: the agent with the registry's production ensemble, and the API
        command += ["run", "--replay", str(csv), "--last", str(candles), "--session", "bench-run"]
        command += ["--port", str(free_port())]
    else:
        command += ["paper", "--replay", str(csv), "--last", str(candles), "--strategy", strategy]
        command += ["--session", f"bench-{strategy}"]
    log, result_file = run_dir / "output.log", run_dir / "rusage.json"
    began = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(result_file), *command],
            cwd=run_dir, env=env, stdout=out, stderr=subprocess.STDOUT, check=True,
        )  # fmt: skip
    wall = time.perf_counter() - began
    usage = json.loads(result_file.read_text())
    lines = log.read_text().splitlines()
    summary = next((line for line in reversed(lines) if line.startswith("Paper session")), None)
    return {
        "command": " ".join(["python", *command[1:]]),
        "exit": usage["exit"],
        "peak_mb": usage["peak_kb"] / 1024,
        "wall_s": wall,
        "summary": summary,
        "tail": "\n".join(lines[-15:]),
    }


def _rss_child(bundle: Path, csv: Path, tmp: Path) -> None:
    """Fallback child: build the agent in process as the service does, replay ``csv``, print peak RSS."""
    wiring = Wiring()
    frame = pd.read_csv(csv)
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
    agent = wiring.agent(
        wiring.ensemble_source(bundle),
        _journal("sqlite", tmp, "rss-child"),
        session="rss-child",
        state=tmp / "rss-child.state",
        model_sharpe=wiring.rules.signal_filters.min_sharpe_ratio,
    )
    asyncio.run(agent.run(ReplayFeed({SERIES: frame})))
    print(json.dumps({"peak_mb": _peak_rss_mb(), "candles": agent.candles}))


def _fallback_rss(bundle: Path, csv: Path, tmp: Path) -> float:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_agent", "rss-child", str(bundle), str(csv), str(tmp)],
        capture_output=True, text=True, check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    return float(json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"])


def _memory_part(
    console: Console, summary: Table, bundle: Path, *, tmp: Path, n_candles: int, stand_in_sharpe: float
) -> None:
    from trading_agent.services.ensemble_strategy import model_name

    replay_dir = tmp / "replay"
    replay_dir.mkdir()
    csv = replay_dir / "binance_BTCUSDT_1h.csv"
    write_replay_csv(bench_candles(n_candles)[0], csv)
    tracking_uri = f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}"
    name = model_name(SERIES)
    version = register_production(bundle, tracking_uri, name, stand_in_sharpe=stand_in_sharpe)
    console.print(f"registered {name} v{version} as production in {tracking_uri}", highlight=False)
    for strategy in ("sma-cross", "ensemble"):
        result = _paper_rss(tmp, csv, n_candles, strategy, tracking_uri)
        console.print(f"$ {result['command']}\n  exit {result['exit']}: {result['summary']}", highlight=False)
        goal, met = ("", "")
        if result["exit"] != 0 or result["summary"] is None:
            console.print(f"[red]the paper command failed[/]:\n{result['tail']}", highlight=False)
            if strategy != "ensemble":
                continue
            peak, what = _fallback_rss(bundle, csv, tmp), "peak RSS, agent built in a child process (fallback)"
        else:
            peak = result["peak_mb"]
            shown = "`run` (production ensemble + API)" if strategy == "ensemble" else f"`paper --strategy {strategy}`"
            what = f"peak RSS, {shown}, {n_candles:,} candles ({result['wall_s']:.0f} s)"
        if strategy == "ensemble":
            goal, met = f"{GOAL_RSS_MB:,.0f} MB", "met" if peak <= GOAL_RSS_MB else "MISSED"
        summary.add_row(what, f"{peak:,.0f} MB", goal, met)


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def main() -> None:
    """Train the bundle, then run the parts chosen by ``AGENT_BENCH`` and print them beside their goals."""
    parts = os.environ.get("AGENT_BENCH", "latency,replay,memory").split(",")
    n_timed, n_replay = _env_int("AGENT_BENCH_CANDLES", 2_500), _env_int("AGENT_BENCH_REPLAY", 2_000)
    trees = os.environ.get("AGENT_BENCH_TREES")
    higher = _higher()
    console = Console()
    console.width = max(console.width, 120)
    console.print(f"machine: {machine()}; {_load()}.", highlight=False)
    console.print("Run nothing else heavy meanwhile: the figures assume an idle machine.")
    frame, data_label = bench_candles(TRAIN_CANDLES + max(n_timed + UNTIMED_CALLS, n_replay))
    wiring = Wiring()
    warm = candles_from_frame(frame.iloc[TRAIN_CANDLES - WARM_CANDLES : TRAIN_CANDLES])
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp_name:
        tmp = Path(tmp_name)
        console.print(f"{data_label}: training every model kind minimally (to time inference, not to trade well) …")
        built = train_bundle(
            frame.iloc[:TRAIN_CANDLES], tmp / "bundle", higher=higher, train_rows=TRAIN_ROWS,
            trees=None if trees is None else int(trees),
        )  # fmt: skip
        console.print(
            f"bundle: {', '.join(built.models)} + {built.meta} + Platt + VAE anomaly detector; {built.n_features} "
            f"features (1h{''.join('+' + tf.value for tf in higher)}); {built.train_rows:,} training rows; trained "
            f"in {built.seconds:.0f} s. The ensemble gets a stand-in model Sharpe of "
            f"{wiring.rules.signal_filters.min_sharpe_ratio} (the rules' minimum) so its entries reach the risk gate.",
            highlight=False,
        )
        sources: dict[str, Callable[[], SignalSource]] = {
            RULE: wiring.rule_source,
            ENSEMBLE: lambda: wiring.ensemble_source(built.path),
        }
        summary = _table("Agent: throughput and memory", ("measure", "value", "goal", "met"))
        if "latency" in parts:
            timed = candles_from_frame(frame.iloc[TRAIN_CANDLES : TRAIN_CANDLES + UNTIMED_CALLS + n_timed])
            _latency_part(console, wiring, sources, timed=timed, warm=warm, tmp=tmp)
        if "replay" in parts:
            replayed = frame.iloc[TRAIN_CANDLES : TRAIN_CANDLES + n_replay]
            _replay_part(summary, wiring, sources, frame=replayed, warm=warm, tmp=tmp)
        if "memory" in parts:
            sharpe = wiring.rules.signal_filters.min_sharpe_ratio
            n_rss = _env_int("AGENT_BENCH_RSS_CANDLES", 8_000)
            _memory_part(console, summary, built.path, tmp=tmp, n_candles=n_rss, stand_in_sharpe=sharpe)
        if summary.row_count:
            console.print(summary)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "rss-child":
        _rss_child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
