"""``trading-agent features`` end to end."""

from pathlib import Path

import pandas as pd
import pytest

from tests.testkit.cli import run_cli
from trading_agent.features import feature_specs


def test_list_prints_the_registry(tmp_path: Path) -> None:
    result = run_cli("features", "list", "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    listed = result.json()
    assert [f["name"] for f in listed] == [s.name for s in feature_specs()]
    assert len(listed) >= 100
    assert {"name", "group", "warmup", "description", "params"} <= set(listed[0])
    unknown = run_cli("features", "list", "--feature-set", "nope", cwd=tmp_path)
    assert unknown.code == 1
    assert "unknown feature set 'nope'" in unknown.stderr


@pytest.mark.real_data
def test_compute_writes_a_complete_file_or_nothing(btc_1h_path: Path, tmp_path: Path) -> None:
    imported = run_cli("data", "import", str(btc_1h_path), "-e", "binance", "-s", "BTCUSDT", "-t", "1h", cwd=tmp_path)
    assert imported.code == 0, imported.stderr
    out = tmp_path / "out" / "features.parquet"
    result = run_cli("features", "compute", "-e", "binance", "-s", "BTCUSDT", "-t", "1h", "--higher", "4h",
                     "--out", str(out), "--json", cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.stderr
    features = pd.read_parquet(out)
    assert len(features) == 56_830
    assert features.shape[1] == 2 * len(feature_specs())
    assert result.json()["columns"] == features.shape[1]
    bad = run_cli("features", "compute", "-e", "binance", "-s", "BTCUSDT", "--out", str(tmp_path / "f.txt"),
                  cwd=tmp_path)  # fmt: skip
    assert bad.code == 1
    assert "unsupported output type" in bad.stderr
    assert not (tmp_path / "f.txt").exists()
    assert [p.name for p in out.parent.iterdir()] == ["features.parquet"]  # no temporary file left behind
