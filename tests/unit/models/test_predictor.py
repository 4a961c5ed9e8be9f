import numpy as np

from tests.testkit.models import fitted
from trading_agent.models.calibration import Calibrator
from trading_agent.models.ensemble import Stacking
from trading_agent.models.onnx_export import to_onnx
from trading_agent.models.onnx_runtime import OnnxModel
from trading_agent.models.predictor import EnsemblePredictor, probability_up


def test_the_ensemble_is_its_parts_in_order_and_onnx_serves_the_same() -> None:
    lgbm, X, y = fitted("lgbm", "binary")
    rf, _, _ = fitted("rf", "binary")
    base = {"lgbm": lgbm, "rf": rf}
    P = np.column_stack([probability_up(m, X) for m in base.values()])
    meta = Stacking().fit(P[:250], y[:250])
    calibrator = Calibrator.fit(meta.combine(P[250:]), y[250:])
    output = EnsemblePredictor(base, meta, calibrator).predict(X)
    np.testing.assert_allclose(output.prediction, calibrator.apply(meta.combine(P)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(output.votes["rf"], P[:, 1], rtol=1e-12)  # the forest sums its trees in parallel
    assert np.all(output.confidence >= 0.5) and np.all(output.confidence <= 1.0)
    assert np.mean((output.prediction > 0.5) == y) > 0.75  # it learned the rule (chance is 0.5)
    onnx = {name: OnnxModel(to_onnx(model), model.metadata) for name, model in base.items()}
    served = EnsemblePredictor(onnx, meta, calibrator).predict(X)
    np.testing.assert_allclose(served.prediction, output.prediction, atol=1e-4)
