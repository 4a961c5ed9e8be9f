"""Writing files that appear only when complete: tables (.parquet, .csv or .csv.gz) and text reports."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from trading_agent.services.errors import ServiceError

__all__ = ["check_table_path", "write_table", "write_text"]

_WRITERS = {".parquet": "parquet", ".csv": "csv", ".gz": "csv"}


@contextmanager
def _atomic(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out``, renamed over it when the block succeeds and removed in any case."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        Path(tmp).replace(out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_table_path(out: Path) -> None:
    """Refuse an output type ``write_table`` cannot write (before any work is done)."""
    if out.suffix.lower() not in _WRITERS:
        raise ServiceError(f"{out}: unsupported output type: use .parquet, .csv or .csv.gz")


def write_table(frame: pd.DataFrame, out: Path) -> None:
    """Write ``frame`` beside ``out`` and rename it into place: no partial file is ever seen."""
    check_table_path(out)
    suffix = out.suffix.lower()
    with _atomic(out) as tmp:
        if _WRITERS[suffix] == "parquet":
            frame.to_parquet(tmp)
        else:
            frame.to_csv(tmp, compression="gzip" if suffix == ".gz" else None)


def write_text(text: str, out: Path) -> None:
    """Write ``text`` (UTF-8) beside ``out`` and rename it into place."""
    with _atomic(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
