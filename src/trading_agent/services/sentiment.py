"""Sentiment scores for the feature rows: the headlines file a model was trained with, read and scored once.

Training and ``backtest --strategy ensemble`` both need the same scores, so a model's ``sent_*``
features are recomputed from the file its bundle names (``info.sentiment``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trading_agent.data.sentiment import HeadlinesFile
from trading_agent.services.errors import service_errors

__all__ = ["headline_scores", "sentiment_info"]


def headline_scores(headlines: Path | None) -> pd.DataFrame | None:
    """The VADER scores of every headline in the CSV ``headlines`` (None: no sentiment features).

    A missing or malformed file is a ``ServiceError`` naming the file (and the line).
    """
    if headlines is None:
        return None
    with service_errors():
        return HeadlinesFile(headlines).read()


def sentiment_info(headlines: Path | None, windows: tuple[int, ...]) -> dict[str, Any] | None:
    """What a bundle records of its sentiment features, for ``headline_scores`` to recompute them."""
    return None if headlines is None else {"headlines": str(Path(headlines).resolve()), "windows": list(windows)}
