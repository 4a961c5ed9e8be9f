"""The one rule for "beats buy-and-hold": a higher return AND a higher Sharpe, after costs; unknown never beats."""

from __future__ import annotations

from typing import Any

import pytest

from trading_agent.services.report_values import beats, verdict
from trading_agent.services.rl_training import RLTrainingReport
from trading_agent.services.training import TrainingReport

HOLD = {"total_return": -0.98, "sharpe_ratio": -0.17}


@pytest.mark.parametrize(
    ("ours", "expected"),
    [
        ({"total_return": -0.07, "sharpe_ratio": -0.1}, True),
        ({"total_return": -0.07, "sharpe_ratio": -1.66}, False),  # the 2026-12-04 evaluation: less lost, worse Sharpe
        ({"total_return": -0.99, "sharpe_ratio": 0.5}, False),
        ({"total_return": -0.98, "sharpe_ratio": 0.5}, False),  # a tie is not a win
        ({"total_return": 0.5, "sharpe_ratio": None}, False),  # an undefined Sharpe never beats
    ],
)
def test_beating_buy_and_hold_needs_both_a_higher_return_and_a_higher_sharpe(
    ours: dict[str, Any], expected: bool
) -> None:
    assert beats(ours, HOLD) is expected
    assert beats(ours, {"total_return": None, "sharpe_ratio": -9.0}) is False


def test_the_reports_say_which_rule_was_failed() -> None:
    assert verdict(True) == "beats buy-and-hold after costs"
    assert verdict(False).endswith("(that needs both a higher return and a higher Sharpe)")
    training = TrainingReport.model_construct(
        out_of_sample={"ensemble": {"total_return": -0.069, "sharpe_ratio": -1.657}, "buy-hold": HOLD}
    )
    assert not training.beats_buy_hold()
    assert training.versus_buy_hold() == (
        "The ensemble does NOT beat buy-and-hold after costs (that needs both a higher return and a higher "
        "Sharpe): return -6.90% vs -98.00%, Sharpe -1.66 vs -0.17."
    )
    summary = {"total_return": {"mean": 0.1, "std": 0.02}, "sharpe_ratio": {"mean": 0.4, "std": 0.1}}
    rl = RLTrainingReport.model_construct(algorithm="ppo", seeds=[0, 1], summary=summary, buy_hold=HOLD)
    assert rl.beats_buy_hold()
    assert rl.versus_buy_hold().startswith("Over 2 seeds, the PPO agent beats buy-and-hold after costs: return 10.00%")
