"""``make bench``: run every ``benchmarks/bench_*.py`` module's ``main()`` in turn.

Each benchmark compares our implementation with the reference library in the same run and prints
the ratio. ``python -m benchmarks storage`` runs only ``bench_storage``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(selected: list[str]) -> None:
    """Run the named benchmarks (all when none are named)."""
    names = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
    unknown = sorted(set(selected) - set(names))
    if unknown:
        sys.exit(f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(names)}")
    for name in selected or names:
        print(f"\n=== bench_{name} ===", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
