"""The vectorized backtester's numba kernel: one pass over per-candle arrays, no Python objects.

The pure-array layer under ``vectorized`` (vectorbt's ``nb.py`` convention). Every per-candle input
is a 1-D array of length ``n``, oldest candle first:

- ``ts`` (int64, open times in ms) and ``open_``, ``high``, ``low``, ``close``, ``volume`` (float64);
- ``volatility`` (float64): the relative volatility that prices the slippage of fills on candle
  ``i`` (the one known at the previous close, else the candle's own range);
- ``entries`` (int8: +1 long, -1 short, 0) and ``exits`` (bool), decided at each close;
- ``distance`` (float64): the stop distance measured at each close, NaN where none can be.

``funding_rates`` (float64) holds one rate per settlement of the grid ``first_settlement_ms + k x
funding_interval_ms`` from the first candle's open to the last candle's close. The scalars come in
one ``KernelParams``. ``backtest_signals_nb`` returns the equity and the position flag at each
close, the closed trades (``TRADE_DTYPE`` records, oldest first), how many entries the gate's
margin check refused, and a status: ``OK``, or why the run left the model (``LIQUIDATION_REACHED``,
``ORDER_WHILE_RETRYING``) and at which candle; the outputs are then valid only before that candle.

The rules are the event engine's; ``vectorized`` lists them. This module re-implements the
engine's ``Decimal`` arithmetic in floats, which a compiled loop cannot avoid. Where floats and
decimals could part is rounding, to the tick or to the fee precision: candle prices are snapped
to the tick exactly (a double compares with a short decimal, the half tick, exactly as its
shortest repr does), and every other rounding takes a float within ``TOL`` (relative) of a rounding
boundary as on it, which is where the engine's exact arithmetic lands when its inputs are short
decimals (ticks, fee rates, percents, two-decimal candles). The agreement test with the event
engine guards every rule.
"""

# ruff: noqa: PLR0917 (numba kernels take positional arguments: nopython mode has no keyword-only parameters)
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "ALL_IN",
    "EXIT",
    "FIXED",
    "KELLY",
    "LIQUIDATION_REACHED",
    "OK",
    "ORDER_WHILE_RETRYING",
    "REVERSAL",
    "STOP_LOSS",
    "TAKE_PROFIT",
    "TIME_EXIT",
    "TOL",
    "TRADE_DTYPE",
    "TRAILING_STOP",
    "KernelParams",
    "backtest_signals_nb",
    "ceil_tol_nb",
    "floor_tol_nb",
    "snap_to_tick_nb",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(function: _F) -> _F:
    """``numba.njit(cache=True)``, keeping the function's signature for mypy (numba has no type hints)."""
    return cast(_F, njit(cache=True)(function))


TOL = 1e-13
"""Relative distance within which a float counts as on a rounding boundary."""


def _code(value: int) -> int:
    """A numpy int (numba would compile a function once per literal Python int passed to it)."""
    return cast(int, np.int64(value))


# A trade's exit reason, in the order of ``vectorized.EXIT_REASONS``:
STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, TIME_EXIT, EXIT, REVERSAL = (_code(code) for code in range(6))
# The run's status: inside the model, or left it at ``status_index``:
OK, LIQUIDATION_REACHED, ORDER_WHILE_RETRYING = (_code(code) for code in range(3))
# Sizing: a share of equity (clamped), fractional Kelly (clamped), buy-hold's share (not clamped):
FIXED, KELLY, ALL_IN = (_code(code) for code in range(3))

_NONE = -1  # no stop, no target, no settlement due
_NO_ORDER, _EXIT_ORDER, _ENTRY_ORDER = 0, 1, 2
_LAST = 2**62  # a sequence number after every order's

TRADE_DTYPE = np.dtype(
    [
        ("entry_ts", np.int64),
        ("exit_ts", np.int64),
        ("entry_index", np.int64),
        ("exit_index", np.int64),
        ("side", np.int8),
        ("contracts", np.int64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("pnl", np.float64),
        ("fees", np.float64),
        ("funding", np.float64),
        ("reason", np.int8),
    ]
)
"""A closed round trip: its fill candles (open times, indices), side (+1 long, -1 short), prices, net pnl, costs."""

STATE_DTYPE = np.dtype(
    [
        ("side", np.int64),  # the position: +1 long, -1 short, 0 flat
        ("contracts", np.int64),
        ("entry_k", np.int64),  # entry price, in ticks
        ("margin", np.float64),
        ("ts_opened", np.int64),
        ("entry_index", np.int64),
        ("trip_fees", np.float64),
        ("trip_funding", np.float64),
        ("seq", np.int64),  # orders placed so far: the order they act in at an open
        ("stop_k", np.int64),  # the position's stop (stop-loss or trailing), in ticks
        ("stop_reason", np.int64),
        ("stop_seq", np.int64),
        ("target_k", np.int64),
        ("target_seq", np.int64),
        ("time_exit", np.bool_),  # a time exit waits for the next open
        ("time_seq", np.int64),
        ("order", np.int64),  # the strategy's market order waiting for the next open
        ("order_seq", np.int64),
        ("order_side", np.int64),
        ("order_contracts", np.int64),
        ("order_distance", np.float64),
        ("order_refusals", np.int64),
        ("realized", np.float64),  # the account: realised PnL before costs; fees and funding paid
        ("fees", np.float64),
        ("funding", np.float64),
        ("settlement", np.int64),  # the next funding settlement the position pays (index)
        ("n_trades", np.int64),
        ("n_wins", np.int64),
        ("sum_wins", np.float64),
        ("sum_losses", np.float64),
        ("rejected", np.int64),
        ("status", np.int64),
        ("status_index", np.int64),
    ]
)


class KernelParams(NamedTuple):
    """Every scalar the kernel obeys, turned into floats and ints (``vectorized`` builds it)."""

    tick: float
    tick_num: int  # tick = tick_num / tick_den, exactly
    tick_den: int
    contract_value: float
    min_size: int
    maintenance_margin: float
    maintenance_margin_scaling: float  # per USD of position value above max_leverage_notional
    max_leverage_notional: float  # inf: flat margins
    price_band: float  # 0: none; else taker fills stay within reference x (1 +- band)
    taker_rate: float  # fee rates, GST included
    maker_rate: float
    fee_scale: float  # 1 / fee precision
    fixed_bps: float
    impact_coefficient: float
    max_slippage_bps: float
    guard: bool  # the max-slippage guard on entry fills
    guard_num: int  # max_slippage_percent = guard_num / guard_den, exactly
    guard_den: int
    max_retries: int  # refusals after which a refused entry is canceled (0: at the first)
    initial_balance: float
    risk_reward: float  # 0: no take-profit
    trailing: bool
    activation_long: float  # 1 + trailing_activation_percent / 100
    activation_short: float  # 1 - trailing_activation_percent / 100
    trail_long: float  # 1 - trailing_percent / 100
    trail_short: float  # 1 + trailing_percent / 100
    time_exit: bool
    max_holding_ms: int
    timeframe_ms: int
    first_settlement_ms: int
    funding_interval_ms: int
    sizing: int
    fraction: float  # FIXED and ALL_IN: the share of equity; KELLY: its fallback (risk_per_trade)
    kelly_fraction: float
    kelly_cap: float
    kelly_min_trades: int
    min_notional: float
    max_notional: float


# --- rounding -------------------------------------------------------------------------------------


@_compiled
def ceil_tol_nb(y: float) -> int:
    """``ceil(y)``, a ``y`` within ``TOL`` (relative) above an integer taken as that integer."""
    return math.ceil(y - TOL * abs(y))


@_compiled
def floor_tol_nb(y: float) -> int:
    """``floor(y)``, a ``y`` within ``TOL`` (relative) below an integer taken as that integer."""
    return math.floor(y + TOL * abs(y))


@_compiled
def _half_tick_nb(k: int, num: int, den: int) -> float:
    return float((2 * k + 1) * num) / float(2 * den)


@_compiled
def snap_to_tick_nb(price: float, tick: float, num: int, den: int) -> int:
    """Ticks (of ``num / den``) of the tick nearest ``Decimal(repr(price))``, ties to even, exactly."""
    k = math.floor(price / tick + 0.5)
    above, below = _half_tick_nb(k, num, den), _half_tick_nb(k - 1, num, den)  # the ties around k
    while price > above:
        k, below, above = k + 1, above, _half_tick_nb(k + 1, num, den)
    while price < below:
        k, above, below = k - 1, below, _half_tick_nb(k - 2, num, den)
    if k % 2 == 1 and price == above:
        k += 1
    elif k % 2 == 1 and price == below:
        k -= 1
    return k


@_compiled
def _nearest_nb(base: int, offset: float) -> int:
    whole = math.floor(offset)
    rest = offset - whole
    low = base + int(whole)
    if abs(rest - 0.5) <= TOL * max(abs(offset), 1.0):
        return low if low % 2 == 0 else low + 1
    return low if rest < 0.5 else low + 1


# --- costs ----------------------------------------------------------------------------------------

_Bar = tuple[int, int, int, int, int, float, float]
"""One candle as the fills see it: index, open time, open, low and high in ticks, volume, volatility."""


@_compiled
def _slippage_nb(contracts: int, bar: _Bar, p: KernelParams) -> float:
    volume, volatility = bar[5], bar[6]
    participation = 1.0 if volume <= 0 else min(contracts * p.contract_value / volume, 1.0)
    raw = p.fixed_bps / 10_000.0 + p.impact_coefficient * volatility * math.sqrt(participation)
    return min(raw, p.max_slippage_bps / 10_000.0)


@_compiled
def _taker_nb(reference: int, side: int, fraction: float, bar: _Bar, p: KernelParams) -> int:
    slip = ceil_tol_nb(reference * fraction)  # reference x (1 +- f) rounded against the trader
    if p.price_band > 0:
        slip = min(slip, floor_tol_nb(reference * p.price_band))  # the band's edge, rounded inward
    if side > 0:
        return min(reference + slip, bar[4])
    return max(reference - slip, bar[3])


@_compiled
def _fee_nb(contracts: int, price: float, rate: float, p: KernelParams) -> float:
    return ceil_tol_nb(contracts * p.contract_value * price * rate * p.fee_scale) / p.fee_scale


# --- the account and the position ----------------------------------------------------------------


@_compiled
def _balance_nb(s: np.void, p: KernelParams) -> float:
    return float(p.initial_balance + s["realized"] - s["fees"] - s["funding"])


@_compiled
def _equity_nb(s: np.void, price: float, p: KernelParams) -> float:
    equity = _balance_nb(s, p)
    if s["side"] != 0:
        equity += s["side"] * s["contracts"] * p.contract_value * (price - s["entry_k"] * p.tick)
    return equity


@_compiled
def _next_seq_nb(s: np.void) -> int:
    s["seq"] += 1
    return int(s["seq"])


@_compiled
def _leave_nb(s: np.void, status: int, i: int) -> None:
    s["status"] = status
    s["status_index"] = i


@_compiled
def _liquidation_reached_nb(s: np.void, low_k: int, high_k: int, p: KernelParams) -> bool:
    # within a tick of the liquidation price: (q cv E -+ M) / (q cv (1 -+ mm)), for any margin M
    # (funding may overdraw it: a position in profit lives on, with its liquidation beyond the entry)
    # with mm the fraction for the position's value at entry (it grows above max_leverage_notional)
    size = s["contracts"] * p.contract_value
    entry = s["entry_k"] * p.tick
    mm = p.maintenance_margin + p.maintenance_margin_scaling * max(0.0, size * entry - p.max_leverage_notional)
    if s["side"] > 0:
        return bool((low_k - 1) * p.tick <= (size * entry - s["margin"]) / (size * (1.0 - mm)))
    return bool((high_k + 1) * p.tick >= (size * entry + s["margin"]) / (size * (1.0 + mm)))


@_compiled
def _close_nb(
    s: np.void, trades: npt.NDArray[np.void], bar: _Bar, price_k: int, fee: float, reason: int, p: KernelParams
) -> None:
    side, contracts = s["side"], s["contracts"]
    gross = side * contracts * p.contract_value * ((price_k - s["entry_k"]) * p.tick)
    s["realized"] += gross
    s["fees"] += fee
    trip_fees = s["trip_fees"] + fee
    pnl = gross - trip_fees - s["trip_funding"]
    trade = trades[s["n_trades"]]
    trade["entry_ts"] = s["ts_opened"]
    trade["exit_ts"] = bar[1]
    trade["entry_index"] = s["entry_index"]
    trade["exit_index"] = bar[0]
    trade["side"] = side
    trade["contracts"] = contracts
    trade["entry_price"] = s["entry_k"] * p.tick
    trade["exit_price"] = price_k * p.tick
    trade["pnl"] = pnl
    trade["fees"] = trip_fees
    trade["funding"] = s["trip_funding"]
    trade["reason"] = reason
    s["n_trades"] += 1
    if pnl > 0:
        s["n_wins"] += 1
        s["sum_wins"] += pnl
    else:
        s["sum_losses"] += pnl
    s["side"] = 0
    s["contracts"] = 0
    s["margin"] = 0.0
    s["stop_k"] = _NONE  # a flat position cancels its exits
    s["target_k"] = _NONE
    s["time_exit"] = False
    s["settlement"] = _NONE


@_compiled
def _open_nb(s: np.void, bar: _Bar, side: int, contracts: int, price_k: int, fee: float, p: KernelParams) -> None:
    s["side"] = side
    s["contracts"] = contracts
    s["entry_k"] = price_k
    s["margin"] = contracts * p.contract_value * (price_k * p.tick)  # leverage 1
    s["entry_index"] = bar[0]
    s["ts_opened"] = bar[1]
    s["fees"] += fee
    s["trip_fees"] = fee
    s["trip_funding"] = 0.0
    first_due = bar[1] + p.timeframe_ms  # settlements inside the fill's candle came before the fill
    s["settlement"] = -((p.first_settlement_ms - first_due) // p.funding_interval_ms)
    s["stop_reason"] = STOP_LOSS
    distance = s["order_distance"]
    if not distance > 0:
        return
    offset = distance / p.tick
    if side > 0:
        s["stop_k"] = max(min(_nearest_nb(price_k, -offset), price_k - 1), 1)
    else:
        s["stop_k"] = max(_nearest_nb(price_k, offset), price_k + 1)
    s["stop_seq"] = _next_seq_nb(s)
    if p.risk_reward > 0:
        reach = distance * p.risk_reward / p.tick
        if side > 0:
            s["target_k"] = max(_nearest_nb(price_k, reach), price_k + 1)
        else:
            s["target_k"] = max(min(_nearest_nb(price_k, -reach), price_k - 1), 1)
        s["target_seq"] = _next_seq_nb(s)


# --- fills ---------------------------------------------------------------------------------------


@_compiled
def _fill_close_nb(
    s: np.void, trades: npt.NDArray[np.void], bar: _Bar, reference: int, reason: int, p: KernelParams
) -> None:
    price_k = _taker_nb(reference, -s["side"], _slippage_nb(s["contracts"], bar, p), bar, p)
    _close_nb(s, trades, bar, price_k, _fee_nb(s["contracts"], price_k * p.tick, p.taker_rate, p), reason, p)


@_compiled
def _fill_entry_nb(s: np.void, trades: npt.NDArray[np.void], bar: _Bar, p: KernelParams) -> bool:
    # True: the slippage guard refused it; a fill whose margin and fee the balance cannot carry is canceled
    open_k = bar[2]
    side, contracts = s["order_side"], s["order_contracts"]
    price_k = _taker_nb(open_k, side, _slippage_nb(contracts, bar, p), bar, p)
    if p.guard and side * (price_k - open_k) * 100 * p.guard_den > p.guard_num * open_k:
        return True
    price = price_k * p.tick
    fee = _fee_nb(contracts, price, p.taker_rate, p)
    held = s["contracts"]
    closed = min(contracts, held)
    available = _balance_nb(s, p) - s["margin"]
    if closed > 0:
        available += s["margin"] * closed / held
        available += s["side"] * closed * p.contract_value * ((price_k - s["entry_k"]) * p.tick)
    added = contracts - closed
    if added > 0 and added * p.contract_value * price + fee > available:
        return False
    close_fee = 0.0
    if closed > 0:
        close_fee = fee if closed == contracts else fee * closed / contracts
        _close_nb(s, trades, bar, price_k, close_fee, REVERSAL, p)
    if added > 0:
        _open_nb(s, bar, side, added, price_k, fee - close_fee, p)
    return False


@_compiled
def _strategy_order_nb(s: np.void, trades: npt.NDArray[np.void], bar: _Bar, p: KernelParams) -> None:
    if s["order"] == _EXIT_ORDER:  # reduce-only: fills against the position, else is canceled
        s["order"] = _NO_ORDER
        if s["side"] == -s["order_side"]:
            _fill_close_nb(s, trades, bar, bar[2], EXIT, p)
        return
    if not _fill_entry_nb(s, trades, bar, p):
        s["order"] = _NO_ORDER
        return
    s["order_refusals"] += 1  # refused: it waits for the next open, until out of retries
    if s["order_refusals"] > p.max_retries:
        s["order"] = _NO_ORDER


# --- one candle ------------------------------------------------------------------------------------


@_compiled
def _settle_funding_nb(
    s: np.void, i: int, ts: int, open_price: float, rates: npt.NDArray[np.float64], p: KernelParams
) -> None:
    end = ts + p.timeframe_ms  # settlements due before the close, at the open, on the position held before
    while s["side"] != 0 and 0 <= s["settlement"] < rates.size:
        if p.first_settlement_ms + s["settlement"] * p.funding_interval_ms >= end:
            return
        paid = s["side"] * s["contracts"] * p.contract_value * open_price * rates[s["settlement"]]
        s["funding"] += paid
        s["trip_funding"] += paid
        s["margin"] -= paid
        s["settlement"] += 1
        open_k = snap_to_tick_nb(open_price, p.tick, p.tick_num, p.tick_den)
        if _liquidation_reached_nb(s, open_k, open_k, p):  # the engine liquidates at this settlement
            _leave_nb(s, LIQUIDATION_REACHED, i)
            return


@_compiled
def _at_open_nb(s: np.void, trades: npt.NDArray[np.void], bar: _Bar, p: KernelParams) -> None:
    # every order that acts at the open, in the order it was placed; then a new stop already through it
    open_k = bar[2]
    side, stop_k, target_k = s["side"], s["stop_k"], s["target_k"]
    if side != 0 and _liquidation_reached_nb(s, open_k, open_k, p):
        _leave_nb(s, LIQUIDATION_REACHED, bar[0])
        return
    stop = s["stop_seq"] if side != 0 and stop_k != _NONE and (open_k - stop_k) * side <= 0 else _LAST
    target = s["target_seq"] if side != 0 and target_k != _NONE and (open_k - target_k) * side >= 0 else _LAST
    timed = s["time_seq"] if s["time_exit"] else _LAST
    order = s["order_seq"] if s["order"] != _NO_ORDER else _LAST
    first = min(stop, target, timed, order)
    while first != _LAST:
        if first == stop:
            stop = _LAST
            if s["stop_k"] != _NONE and s["stop_seq"] == first:  # not canceled by an earlier fill
                _fill_close_nb(s, trades, bar, open_k, s["stop_reason"], p)
        elif first == target:
            target = _LAST
            if s["target_k"] != _NONE and s["target_seq"] == first:  # taker, never worse than the limit
                price_k = _taker_nb(open_k, -side, _slippage_nb(s["contracts"], bar, p), bar, p)
                price_k = max(price_k, target_k) if side > 0 else min(price_k, target_k)
                fee = _fee_nb(s["contracts"], price_k * p.tick, p.taker_rate, p)
                _close_nb(s, trades, bar, price_k, fee, TAKE_PROFIT, p)
        elif first == timed:
            timed = _LAST
            if s["time_exit"]:
                _fill_close_nb(s, trades, bar, open_k, TIME_EXIT, p)
        else:
            order = _LAST
            _strategy_order_nb(s, trades, bar, p)
        first = min(stop, target, timed, order)
    side, stop_k = s["side"], s["stop_k"]
    if side != 0 and stop_k != _NONE and (open_k - stop_k) * side <= 0:
        _fill_close_nb(s, trades, bar, open_k, s["stop_reason"], p)


@_compiled
def _intrabar_nb(s: np.void, trades: npt.NDArray[np.void], bar: _Bar, p: KernelParams) -> None:
    # to the adverse extreme first (the stop), then to the other one (the target, a maker fill)
    low_k, high_k = bar[3], bar[4]
    side, stop_k, target_k = s["side"], s["stop_k"], s["target_k"]
    if _liquidation_reached_nb(s, low_k, high_k, p):
        _leave_nb(s, LIQUIDATION_REACHED, bar[0])
    elif stop_k != _NONE and (low_k <= stop_k if side > 0 else high_k >= stop_k):
        _fill_close_nb(s, trades, bar, stop_k, s["stop_reason"], p)
    elif target_k != _NONE and (high_k >= target_k if side > 0 else low_k <= target_k):
        _close_nb(s, trades, bar, target_k, _fee_nb(s["contracts"], target_k * p.tick, p.maker_rate, p), TAKE_PROFIT, p)


@_compiled
def _trail_nb(s: np.void, extreme: float, p: KernelParams) -> None:
    entry = s["entry_k"] * p.tick
    stop_k = s["stop_k"]
    if s["side"] > 0:
        activation = entry * p.activation_long
        if extreme < activation - TOL * activation:
            return
        candidate = floor_tol_nb(extreme * p.trail_long / p.tick)
        if candidate <= 0 or (stop_k != _NONE and candidate <= stop_k):
            return
    else:
        activation = entry * p.activation_short
        if extreme > activation + TOL * activation:
            return
        candidate = ceil_tol_nb(extreme * p.trail_short / p.tick)
        if stop_k != _NONE and candidate >= stop_k:
            return
    if stop_k == _NONE:  # a new order; an amended one keeps its place
        s["stop_seq"] = _next_seq_nb(s)
    s["stop_k"] = candidate
    s["stop_reason"] = TRAILING_STOP


@_compiled
def _kelly_nb(s: np.void, p: KernelParams) -> float:
    # KellySizer.fraction over the trades closed so far
    trades, wins = s["n_trades"], s["n_wins"]
    if trades < p.kelly_min_trades:
        return p.fraction
    losses = trades - wins
    if losses == 0:
        return p.kelly_cap
    avg_win = s["sum_wins"] / wins if wins else 0.0
    avg_loss = s["sum_losses"] / losses
    if avg_loss == 0 or avg_win == 0:
        return 0.0
    win_rate = wins / trades
    full = win_rate - (1.0 - win_rate) / (avg_win / abs(avg_loss))
    return float(max(0.0, min(full * p.kelly_fraction, p.kelly_cap)))


@_compiled
def _contracts_nb(s: np.void, price: float, p: KernelParams) -> int:
    equity = _equity_nb(s, price, p)
    if p.sizing == ALL_IN:
        notional = floor_tol_nb(equity * p.fraction * 100.0) / 100.0
    else:
        fraction = _kelly_nb(s, p) if p.sizing == KELLY else p.fraction
        if equity <= 0 or fraction <= 0:
            return 0
        notional = floor_tol_nb(equity * round(fraction, 12) * 100.0) / 100.0
        if notional > 0:
            notional = min(max(notional, p.min_notional), p.max_notional)
    if notional <= 0:
        return 0
    contracts = floor_tol_nb(notional / (p.contract_value * price))
    return contracts if contracts >= p.min_size else 0


@_compiled
def _act_nb(s: np.void, i: int, price: float, signal: tuple[int, bool, float], p: KernelParams) -> None:
    entry, exit_now, distance = signal
    side = s["side"]
    if entry == 0 and not (exit_now and side != 0):
        return
    if entry == 0:
        order, order_side, contracts = _EXIT_ORDER, -side, s["contracts"]
    else:
        if entry == side:
            return  # no pyramiding
        new = _contracts_nb(s, price, p)
        order, order_side, contracts = _ENTRY_ORDER, entry, new + s["contracts"]
        if contracts <= 0:
            return
        if new > 0:  # the gate: margin and taker fee of the new exposure against the balance available
            required = new * p.contract_value * price + _fee_nb(contracts, price, p.taker_rate, p)
            if required > _balance_nb(s, p) - s["margin"]:
                s["rejected"] += 1
                return
    if s["order"] != _NO_ORDER:  # a refused entry still waits for its retry: two orders are outside the model
        _leave_nb(s, ORDER_WHILE_RETRYING, i)
        return
    s["order"] = order
    s["order_seq"] = _next_seq_nb(s)
    s["order_side"] = order_side
    s["order_contracts"] = contracts
    s["order_distance"] = distance
    s["order_refusals"] = 0


@_compiled
def backtest_signals_nb(
    ts: npt.NDArray[np.int64],
    open_: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
    volatility: npt.NDArray[np.float64],
    entries: npt.NDArray[np.int8],
    exits: npt.NDArray[np.bool_],
    distance: npt.NDArray[np.float64],
    funding_rates: npt.NDArray[np.float64],
    p: KernelParams,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.void], int, int, int]:
    """Run the signals over the candles: ``(equity, in_position, trades, rejected, status, status_index)``."""
    n = ts.size
    equity = np.full(n, np.nan)
    in_position = np.zeros(n, dtype=np.bool_)
    capacity = 1  # every trade is opened by one entry signal
    for signal in entries:
        capacity += signal != 0
    trades = np.empty(capacity, dtype=TRADE_DTYPE)
    s = np.zeros(1, dtype=STATE_DTYPE)[0]
    s["stop_k"] = _NONE
    s["target_k"] = _NONE
    s["settlement"] = _NONE
    for i in range(n):
        if s["side"] != 0:
            _settle_funding_nb(s, i, ts[i], open_[i], funding_rates, p)
        if s["status"] == OK and (s["side"] != 0 or s["order"] != _NO_ORDER):
            bar = (
                i,
                int(ts[i]),
                snap_to_tick_nb(open_[i], p.tick, p.tick_num, p.tick_den),
                snap_to_tick_nb(low[i], p.tick, p.tick_num, p.tick_den),
                snap_to_tick_nb(high[i], p.tick, p.tick_num, p.tick_den),
                volume[i],
                volatility[i],
            )
            _at_open_nb(s, trades, bar, p)
            if s["status"] == OK and s["side"] != 0:
                _intrabar_nb(s, trades, bar, p)
            if s["status"] == OK and s["side"] != 0:  # the close: trail, time out
                if p.trailing:
                    _trail_nb(s, high[i] if s["side"] > 0 else low[i], p)
                if p.time_exit and not s["time_exit"] and s["ts_opened"] + p.max_holding_ms <= ts[i] + p.timeframe_ms:
                    s["time_exit"] = True
                    s["time_seq"] = _next_seq_nb(s)
        if s["status"] == OK and (entries[i] != 0 or exits[i]):
            _act_nb(s, i, close[i], (int(entries[i]), bool(exits[i]), distance[i]), p)
        if s["status"] != OK:
            break
        equity[i] = _equity_nb(s, close[i], p)
        in_position[i] = s["side"] != 0
    return equity, in_position, trades[: s["n_trades"]].copy(), s["rejected"], s["status"], s["status_index"]
