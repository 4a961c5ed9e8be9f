"""The anomaly filter's rules: what halve and block do to the contracts an order adds."""

from __future__ import annotations

import pytest

from trading_agent.domain import AnomalyAction
from trading_agent.risk.anomaly import AnomalyRules
from trading_agent.risk.errors import RiskError


@pytest.mark.parametrize(
    ("contracts", "added", "expected"), [(10, 10, 5), (7, 7, 3), (15, 5, 12), (4, 0, 4), (1, 1, 0)]
)
def test_halve_scales_only_the_added_contracts(contracts: int, added: int, expected: int) -> None:
    assert AnomalyRules(action=AnomalyAction.HALVE).scaled(contracts, added) == expected


def test_block_refuses_added_exposure_only() -> None:
    rules = AnomalyRules(action=AnomalyAction.BLOCK)
    assert rules.blocks(3)
    assert not rules.blocks(0)
    assert rules.scaled(10, 10) == 10


def test_off_changes_nothing() -> None:
    rules = AnomalyRules(action=AnomalyAction.OFF)
    assert rules.scaled(10, 10) == 10
    assert not rules.blocks(10)


@pytest.mark.parametrize("factor", [0.0, 1.0, -0.5, float("nan")])
def test_size_factor_must_be_a_proper_fraction(factor: float) -> None:
    with pytest.raises(RiskError, match="size_factor"):
        AnomalyRules(size_factor=factor)
