"""Backtesting and analytics; the package namespace exports the metrics (``trading_agent.backtest.metrics``).

Modules: ``strategies`` (built-in strategies as signals), ``event_runner`` (signals through the
trading engine, risk manager and costs on), ``metrics`` (every metric, one typed result),
``walkforward`` (rolling or anchored windows, grid or Optuna search, stitched out-of-sample
equity), ``montecarlo`` (trade and block bootstraps, percentile bands, ruin).

Imports the domain, engine, features and risk packages (and numpy, pandas, scikit-learn), never
config, data, storage, services or an interface: an import-linter contract enforces it.
"""

from trading_agent.backtest.metrics import *  # noqa: F403
from trading_agent.backtest.metrics import __all__ as _metrics_all

__all__ = [*_metrics_all]  # noqa: PLE0604
