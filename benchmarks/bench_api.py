"""The REST API under load from a second process (issue 9): latency of each route while the agent trades.

Goals: ``GET /api/v1/portfolio/status`` p95 <= 10 ms and ``POST /api/v1/predict`` p95 <= 25 ms at
200 requests/s on the loopback (the blueprint expected 10-20 ms and 100-150 ms).

Method. The real ``trading-agent run`` serves the API and trades in one process and one event
loop, as in production, with its own SQLite database, token (``TRADING_AGENT_API_TOKEN``) and
free loopback port. Its signals come from a bundle of every model kind (``agent_setup``, trained
as ``bench_agent`` trains it: 543 features of 1h, 4h and 1d, eight base models, stacking, Platt,
the VAE) registered as the series' production model in a throw-away MLflow registry. The
ensemble needs about 4,800 candles (the 1d features) before its first prediction and ``--speed``
is constant, so the session runs twice: ``run --no-api`` as fast as possible over the warm-up
candles (the journal and the source's state file keep where it stopped), then ``run --speed``
resuming it over the next candles (``--last``: the first run's candles are in the database too)
at ``BENCH_API_CANDLES_PER_S`` (1) candle a second, so the ensemble predicts on a candle every
second while the API is loaded (3,600x a live 1h agent; 10 is a stress case, in which a step
overlaps about 5-10% of the requests). Its candle window restarts empty, so for its first ~500
candles the multi-timeframe filter refuses entries; the models and the journal still run. The
per-client rate limit (100/minute by default) is raised out of the way
(``TRADING_AGENT_API_RATE_LIMIT``): still counted on every request, it refuses none.

Once ``/health`` answers and the agent has a last candle and a signal, locust (headless,
``benchmarks/locust_api.py``, ``FastHttpUser``) loads one route at a time from a second process:
``BENCH_API_USERS`` (20) users x ``BENCH_API_USER_RPS`` (10) requests/s each
(``constant_throughput``, each user at a random phase of its period, one keep-alive connection
each) for ``BENCH_API_SECONDS`` (20) s once all are spawned (``--reset-stats``). ``GET /health``
(no token, no rate limit, no model; it pings the journal) is the floor. Before each load, one
client in this process calls the route 200 times, one at a time: its latency without company.
``BENCH_API_ROUTES=health,status,predict`` picks the routes.

Caveats. Both processes share the machine's 2 cores: locust's numbers include the client's own
time (gevent, HTTP parsing) and its scheduling, and a request arriving while a candle is stepped
(about 5 ms with the ensemble and SQLite) waits for it. Locust rounds times under 100 ms to whole
milliseconds, so its percentiles have 1 ms resolution (the maximum does not). "server p95" is the
bucket of the API's own histogram (``/metrics``, from the request middleware's entry to its
response) the p95 falls in: without the client, the socket, and the wait for the event loop
before the request is read. Any answer but 200 is a failure, and a route with failures has no
valid figures. The CPU that other processes used during each route is printed: the machine is
shared, and with others busy the figures are upper bounds.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
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
from benchmarks.bench_agent import TRAIN_CANDLES, TRAIN_ROWS
from trading_agent.domain import Timeframe

__all__ = ["main"]

LOCUSTFILE = Path(__file__).with_name("locust_api.py")
SESSION, SYMBOL = "bench-api", "BTCUSD"
HIGHER = (Timeframe.H4, Timeframe.D1)
# named as in ../shared/data, which is how the replay knows its series
REPLAY_NAME = f"{SERIES.instrument.venue}_{SERIES.instrument.symbol}_{SERIES.timeframe.value}.csv"
MAX_WARM_CANDLES = 8_000
PREDICTING_WARM_CANDLES = 200  # candles the ensemble predicts in the warm-up run, after its own warm-up
READY_TIMEOUT_S, STOP_TIMEOUT_S = 180.0, 30.0
ONE_CLIENT_UNTIMED, ONE_CLIENT_CALLS = 20, 200
REQUESTS, INFERENCE = "trading_agent_api_request_duration_seconds", "trading_agent_model_inference_seconds"
RATE_LIMIT = "1000000/minute"  # the default 100/minute per client would refuse a load of 200/s

Histograms = dict[str, dict[frozenset[tuple[str, str]], dict[float, float]]]


@dataclass(frozen=True, slots=True)
class Route:
    """A route to load, its goal (None: no goal, a reference) and what the blueprint expected."""

    key: str
    method: str
    path: str
    body: Mapping[str, Any] | None = None
    auth: bool = True
    goal_p95_ms: float | None = None
    blueprint: str = ""


HEALTH = Route("health", "GET", "/health", auth=False, blueprint="floor")
STATUS = Route("status", "GET", "/api/v1/portfolio/status", goal_p95_ms=10.0, blueprint="10-20 ms")
PREDICT = Route("predict", "POST", "/api/v1/predict", body={"symbol": SYMBOL}, goal_p95_ms=25.0, blueprint="100-150 ms")
ROUTES = (HEALTH, STATUS, PREDICT)


@dataclass(frozen=True, slots=True)
class Load:
    """How hard and how long locust loads each route."""

    users: int
    user_rps: float
    seconds: int


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds of the agent, of the whole machine (busy, all cores) and wall seconds, at one instant."""

    agent_s: float
    machine_s: float
    wall_s: float

    @classmethod
    def now(cls, pid: int) -> Usage:
        """The counters now (``/proc``)."""
        tick = os.sysconf("SC_CLK_TCK")
        agent = sum(int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
        cpu = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
        return cls(agent / tick, busy / tick, time.monotonic())


@dataclass(frozen=True, slots=True)
class Outcome:
    """One route's figures (``stats`` is locust's row; None when the route was not loaded) and the load around it."""

    route: Route
    note: str
    stats: Mapping[str, str] | None = None
    errors: tuple[str, ...] = ()
    alone: tuple[float, float] | None = None
    server_p95: str = ""
    inference_p95: Mapping[str, str] = field(default_factory=dict)
    candles: int = 0
    agent_cpu: float = 0.0
    client_cpu: float = 0.0
    others_cpu: float = 0.0


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _call(base: str, route: Route, token: str) -> tuple[int, Any]:
    """One request of ``route`` from this process: the status code and the JSON body (None if not JSON)."""
    data = None if route.body is None else json.dumps(route.body).encode()
    request = urllib.request.Request(base + route.path, data=data, method=route.method)
    request.add_header("Content-Type", "application/json")
    if route.auth:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            code, text = response.status, response.read()
    except urllib.error.HTTPError as exc:
        code, text = exc.code, exc.read()
    try:
        return code, json.loads(text)
    except ValueError:
        return code, None


def _status(base: str, token: str) -> dict[str, Any]:
    code, body = _call(base, STATUS, token)
    if code != 200 or not isinstance(body, dict):
        raise RuntimeError(f"GET /api/v1/portfolio/status answered {code}: {body}")
    return body


def _tail(log: Path, lines: int = 25) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(agent: subprocess.Popen[bytes], base: str, token: str, log: Path) -> dict[str, Any]:
    """Wait for ``/health``, then for a last candle and (a while longer) a signal; the agent's status then."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if agent.poll() is not None:
            raise RuntimeError(f"`trading-agent run` exited with {agent.returncode} before serving:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not answer within {READY_TIMEOUT_S:.0f} s:\n{_tail(log)}")
        try:
            if _call(base, HEALTH, token)[0] == 200 and _status(base, token)["last_candle"] is not None:
                break
        except (OSError, RuntimeError):
            pass
        time.sleep(0.2)
    for _ in range(50):  # the restored ensemble signals from its first candle; give it 10 s
        status = _status(base, token)
        if status["last_signal"] is not None:
            break
        time.sleep(0.2)
    return status


def _one_client(base: str, route: Route, token: str) -> tuple[float, float]:
    """p50 and p95 (ms) of ``route`` called by one client, one request at a time over a keep-alive connection
    (``ONE_CLIENT_CALLS`` after ``ONE_CLIENT_UNTIMED``): its latency without concurrent requests."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if route.auth else {})
    body = None if route.body is None else json.dumps(route.body)
    times = []
    try:
        for i in range(ONE_CLIENT_UNTIMED + ONE_CLIENT_CALLS):
            started = time.perf_counter()
            connection.request(route.method, route.path, body=body, headers=headers)
            connection.getresponse().read()
            if i >= ONE_CLIENT_UNTIMED:
                times.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95)


def _histograms(base: str) -> Histograms:
    """The API's histograms now (``/metrics``): name -> labels (without ``le``) -> {upper bound s: cumulative count}."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    out: Histograms = {}
    for family in text_string_to_metric_families(text):
        if family.name in (REQUESTS, INFERENCE):
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    labels = frozenset((k, v) for k, v in sample.labels.items() if k != "le")
                    out.setdefault(family.name, {}).setdefault(labels, {})[float(sample.labels["le"])] = sample.value
    return out


def _p95_bucket(before: Histograms, after: Histograms, name: str, **labels: str) -> str:
    """The bucket of histogram ``name`` that the p95 of the observations between two scrapes fell in, over every
    series matching ``labels`` ("-" when none)."""
    counts: dict[float, float] = {}
    for key, buckets in after.get(name, {}).items():
        if set(labels.items()) <= key:
            for bound, value in buckets.items():
                counts[bound] = counts.get(bound, 0.0) + value - before.get(name, {}).get(key, {}).get(bound, 0.0)
    total = counts.get(float("inf"), 0.0)
    if not total:
        return "-"
    bounds = sorted(counts)
    bound = next(b for b in bounds if counts[b] >= 0.95 * total)
    if bound == float("inf"):
        return f"> {bounds[-2] * 1000:g} ms"
    lower = max((b for b in bounds if b < bound), default=0.0)
    return f"{lower * 1000:g}-{bound * 1000:g} ms"


def _locust(route: Route, base: str, token: str, load: Load, prefix: Path) -> tuple[dict[str, str] | None, list[str]]:
    """Run locust headless on ``route``; its stats row for the route (None if absent) and its failures."""
    env = os.environ | {
        "BENCH_API_METHOD": route.method,
        "BENCH_API_PATH": route.path,
        "BENCH_API_BODY": "" if route.body is None else json.dumps(route.body),
        "BENCH_API_TOKEN": token if route.auth else "",
        "BENCH_API_USER_RPS": str(load.user_rps),
        "PYTHONWARNINGS": "ignore",
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary", "--reset-stats",
        "--host", base, "--users", str(load.users), "--spawn-rate", str(load.users),
        "--run-time", f"{load.seconds + 1}s", "--csv", str(prefix), "--loglevel", "WARNING",
    ]  # fmt: skip
    with prefix.with_suffix(".log").open("w") as out:
        subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    stats_file, failures_file = Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv")
    if not stats_file.is_file():
        raise RuntimeError(f"locust wrote no {stats_file.name}:\n{_tail(prefix.with_suffix('.log'))}")
    with stats_file.open() as stats:
        row = next((r for r in csv.DictReader(stats) if r["Name"] == route.path), None)
    errors = []
    if failures_file.is_file():
        with failures_file.open() as failures:
            errors = [f"{r['Occurrences']} x {r['Error']}" for r in csv.DictReader(failures)]
    return row, errors


def _measure(route: Route, *, base: str, token: str, load: Load, agent: subprocess.Popen[bytes], tmp: Path) -> Outcome:
    """Probe ``route`` once (404: the route is missing, nothing loaded), then load it and read the figures."""
    code, body = _call(base, route, token)
    if code == 404:
        return Outcome(route, f"route missing (404: {body}): not measured")
    note = "" if code == 200 else f"probe answered HTTP {code}: {str(body)[:120]}"
    alone = _one_client(base, route, token)
    candles, histograms = _status(base, token)["candles_traded"], _histograms(base)
    client, before = os.times(), Usage.now(agent.pid)
    row, errors = _locust(route, base, token, load, tmp / f"locust-{route.key}")
    after, client_after = Usage.now(agent.pid), os.times()
    if agent.poll() is not None:
        return Outcome(route, f"the agent exited ({agent.returncode}) during the load", row, tuple(errors))
    wall = after.wall_s - before.wall_s
    agent_cpu = after.agent_s - before.agent_s
    client_cpu = (client_after.children_user + client_after.children_system) - (
        client.children_user + client.children_system
    )
    others = (after.machine_s - before.machine_s) - agent_cpu - client_cpu
    scraped = _histograms(base)
    return Outcome(
        route,
        note,
        row,
        tuple(errors),
        alone=alone,
        server_p95=_p95_bucket(histograms, scraped, REQUESTS, method=route.method, route=route.path),
        inference_p95={kind: _p95_bucket(histograms, scraped, INFERENCE, kind=kind) for kind in ("candle", "predict")},
        candles=_status(base, token)["candles_traded"] - candles,
        agent_cpu=agent_cpu / wall,
        client_cpu=client_cpu / wall,
        others_cpu=max(0.0, others) / wall,
    )


def _verdict(outcome: Outcome) -> str:
    row, goal = outcome.stats, outcome.route.goal_p95_ms
    if row is None:
        return "[yellow]not measured[/]"
    if int(row["Failure Count"]):
        return "[bold red]INVALID: failures[/]"
    if goal is None:
        return "-"
    return f"<= {goal:g}: " + ("met" if float(row["95%"]) <= goal else "[bold red]MISSED[/]")


def _report(console: Console, outcomes: list[Outcome], load: Load) -> None:
    table = Table(
        title=f"API under load: {load.users} users x {load.user_rps:g}/s, {load.seconds} s per route; ms; /v1 = /api/v1"
    )
    columns = (
        "route",
        "requests",
        "req/s",
        "failed",
        "p50",
        "p95",
        "p99",
        "max",
        "server p95",
        "1 client p50/p95",
        "goal p95",
    )
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for outcome in outcomes:
        route, row = outcome.route, outcome.stats
        name = f"{route.method} {route.path.replace('/api/v1', '/v1')}"
        if row is None:
            table.add_row(name, *("-",) * 9, _verdict(outcome))
            continue
        failures = int(row["Failure Count"])
        table.add_row(
            name, f"{int(row['Request Count']):,}", f"{float(row['Requests/s']):.1f}",
            f"[bold red]{failures:,}[/]" if failures else "0",
            row["50%"], row["95%"], row["99%"], f"{float(row['Max Response Time']):.0f}",
            outcome.server_p95, "-" if outcome.alone is None else "{:.1f} / {:.1f}".format(*outcome.alone),
            _verdict(outcome),
        )  # fmt: skip
    console.print(table)
    console.print(
        "p50-max: locust's, client side, whole ms; server p95: the bucket of the API's own request histogram; "
        "1 client: one request at a time from this process, before the load. Any answer but 200 is a failure.",
        highlight=False,
    )
    for outcome in outcomes:
        route = outcome.route
        if outcome.note:
            console.print(f"[bold]{route.method} {route.path}[/]: {outcome.note}", highlight=False)
        if outcome.errors:
            console.print(
                f"[bold red]{route.method} {route.path} FAILED REQUESTS, its figures are not valid:[/]\n  "
                + "\n  ".join(outcome.errors[:5]),
                highlight=False,
            )
        if outcome.stats is not None:
            inference = outcome.inference_p95
            console.print(
                f"{route.key}: {outcome.candles:,} candles stepped meanwhile (model p95: candle "
                f"{inference.get('candle', '-')}, predict {inference.get('predict', '-')}); CPU cores: agent "
                f"{outcome.agent_cpu:.2f}, locust {outcome.client_cpu:.2f}, others {outcome.others_cpu:.2f} of 2; "
                f"blueprint {route.blueprint}",
                highlight=False,
            )


def _stop(agent: subprocess.Popen[bytes]) -> None:
    """SIGTERM the agent, SIGKILL it if it has not exited within the timeout.

    Not SIGINT: a process started in the background of a non-interactive shell inherits SIGINT ignored,
    and then uvicorn's handler stops only the API while the replay goes on.
    """
    if agent.poll() is not None:
        return
    agent.terminate()
    try:
        agent.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        agent.kill()
        agent.wait()


def _agent_command(csv_file: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "trading_agent", "run", "--replay", str(csv_file), "--session", SESSION, *more]


def _warm_run(csv_file: Path, run_dir: Path, env: Mapping[str, str], out: TextIO) -> float:
    """The warm-up session, ``run --no-api`` as fast as possible; its wall seconds."""
    began = time.perf_counter()
    subprocess.run(
        _agent_command(csv_file, "--no-api"), cwd=run_dir, env=env, stdout=out, stderr=subprocess.STDOUT, check=True
    )
    return time.perf_counter() - began


def _prepare(console: Console, tmp: Path, n_load: int) -> tuple[dict[str, Path], str, int]:
    """Train and register the ensemble; write the warm-up and load replays. Their files, the registry's URI and
    the number of warm-up candles."""
    from trading_agent.services.ensemble_strategy import model_name

    wiring, name = Wiring(), model_name(SERIES)
    frame, label = bench_candles(TRAIN_CANDLES + MAX_WARM_CANDLES + n_load)
    console.print(f"{label}: training every model kind minimally (to time inference, not to trade well) …")
    built = train_bundle(frame.iloc[:TRAIN_CANDLES], tmp / "bundle", higher=HIGHER, train_rows=TRAIN_ROWS, trees=None)
    tracking_uri = f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}"
    sharpe = wiring.rules.signal_filters.min_sharpe_ratio
    version = register_production(built.path, tracking_uri, name, stand_in_sharpe=sharpe)
    console.print(
        f"bundle: {', '.join(built.models)} + {built.meta} + Platt + VAE, {built.n_features} features, trained "
        f"in {built.seconds:.0f} s; registered as {name} v{version} (production, stand-in Sharpe {sharpe})",
        highlight=False,
    )
    n_warm = min(wiring.ensemble_source(built.path).warmup + PREDICTING_WARM_CANDLES, MAX_WARM_CANDLES)
    replayed = frame.iloc[TRAIN_CANDLES:]
    files = {}
    for part, candles in (("warm", replayed.iloc[:n_warm]), ("load", replayed.iloc[n_warm : n_warm + n_load])):
        files[part] = tmp / "run" / part / REPLAY_NAME
        files[part].parent.mkdir(parents=True)
        write_replay_csv(candles, files[part])
    return files, tracking_uri, n_warm


def main() -> None:
    """Train and register the ensemble, warm a session up, serve it while it trades, load each route, report."""
    load = Load(
        _env_int("BENCH_API_USERS", 20), _env_float("BENCH_API_USER_RPS", 10.0), _env_int("BENCH_API_SECONDS", 20)
    )
    candles_per_s = _env_float("BENCH_API_CANDLES_PER_S", 1.0)
    chosen = os.environ.get("BENCH_API_ROUTES", ",".join(r.key for r in ROUTES)).split(",")
    routes = [r for r in ROUTES if r.key in chosen]
    console = Console()
    console.width = max(console.width, 140)
    one, five, _ = os.getloadavg()
    console.print(f"machine: {machine()}; load average {one:.2f} (1 min), {five:.2f} (5 min)", highlight=False)
    n_load = int(candles_per_s * (len(routes) * (load.seconds + 20) + READY_TIMEOUT_S))
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        files, tracking_uri, n_warm = _prepare(console, tmp, n_load)
        run_dir, token = tmp / "run", secrets.token_urlsafe(24)
        env = run_env(run_dir, tracking_uri) | {
            "TRADING_AGENT_API_TOKEN": token,
            "TRADING_AGENT_API_RATE_LIMIT": RATE_LIMIT,
        }
        log = run_dir / "run.log"
        with log.open("w") as out:
            seconds = _warm_run(files["warm"], run_dir, env, out)
            console.print(f"warm-up session: {n_warm:,} candles at full speed in {seconds:.0f} s", highlight=False)
            port = free_port()
            speed = str(candles_per_s * SERIES.timeframe.ms / 1000)
            command = _agent_command(files["load"], "--last", str(n_load), "--speed", speed, "--port", str(port))
            console.print(f"$ {' '.join(['python', *command[1:]])}", highlight=False)
            agent = subprocess.Popen(command, cwd=run_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            status = _wait_ready(agent, base, token, log)
            signal_note = (
                "a signal" if status["last_signal"] else "[bold red]NO SIGNAL (is the ensemble predicting?)[/]"
            )
            console.print(
                f"agent: {status['source']}, resumed and trading {candles_per_s:g} candles/s; last candle "
                f"{status['last_candle']}, {signal_note}",
                highlight=False,
            )
            outcomes = [_measure(r, base=base, token=token, load=load, agent=agent, tmp=tmp) for r in routes]
        finally:
            _stop(agent)
        one, five, _ = os.getloadavg()
        console.print(f"load average after the run {one:.2f} (1 min), {five:.2f} (5 min)", highlight=False)
        _report(console, outcomes, load)


if __name__ == "__main__":
    main()
