"""Export a fitted model to ONNX bytes: float32 input "input" of shape ``[None, n_features]`` (tree
models) or ``[None, window, n_features]`` (sequence models, raw windows: the scaler is inside the
graph), probabilities as a plain ``(n, n_classes)`` tensor (no ZipMap), columns in ``metadata.classes``
order.

LightGBM and XGBoost go through onnxmltools, the random forest through skl2onnx, CatBoost through its
own ``save_model(format="onnx")`` (its input is then renamed to "input" and its ZipMap removed), the
PyTorch sequence models through ``torch.onnx.export`` (the TorchScript exporter, opset 17, softmax
inside the graph). ``quantize`` shrinks an export to int8 weights (dynamic quantisation).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

from trading_agent.models.base import Model
from trading_agent.models.sequence import SequenceModel
from trading_agent.models.trees import CatBoostModel, LightGBMModel, RandomForestModel, TreeModel, XGBoostModel

if TYPE_CHECKING:
    import torch

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "quantize", "to_onnx", "torch_to_onnx"]

INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
TARGET_OPSET = 15
SEQUENCE_OPSET = 17


def _rename_input(model: onnx.ModelProto, new: str) -> onnx.ModelProto:
    """Rename the graph's single input to ``new`` everywhere it is read."""
    old = model.graph.input[0].name
    model.graph.input[0].name = new
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
    return model


def _drop_zipmap(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace a ZipMap output (a sequence of maps) by the probability tensor feeding it."""
    for node in list(model.graph.node):
        if node.op_type != "ZipMap":
            continue
        tensor, output = node.input[0], node.output[0]
        model.graph.node.remove(node)
        for out in list(model.graph.output):
            if out.name == output:
                model.graph.output.remove(out)
                model.graph.output.append(
                    onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, [None, None])
                )
    return model


def torch_to_onnx(graph: torch.nn.Module, example: torch.Tensor, output_name: str = OUTPUT_NAME) -> bytes:
    """The ONNX bytes of a torch module in eval mode (TorchScript exporter, opset 17): one float32 input
    "input" shaped like ``example`` and one output ``output_name``, both with a dynamic batch axis."""
    import torch

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and RNN batch-size notices
        file = Path(tmp) / "model.onnx"
        torch.onnx.export(
            graph,
            (example,),
            file,
            input_names=[INPUT_NAME],
            output_names=[output_name],
            dynamic_axes={INPUT_NAME: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=SEQUENCE_OPSET,
            dynamo=False,
        )
        return file.read_bytes()


def _sequence_to_onnx(model: SequenceModel) -> bytes:
    import torch

    from trading_agent.models.sequence_networks import ProbabilityNetwork

    metadata = model.metadata
    graph = ProbabilityNetwork(model.network).cpu().eval()
    return torch_to_onnx(graph, torch.zeros(1, metadata.window, len(metadata.feature_names)))


def quantize(onnx_bytes: bytes) -> bytes:
    """The model with its weights dynamically quantised to int8 (activations quantised per call).

    Smaller and often faster on a CPU, at a small accuracy cost: measure it (``tests/unit/models/test_sequence.py``
    bounds the probability gap of the sequence models). Weights are unsigned 8-bit (U8U8): signed weights
    (U8S8) saturate on x86 CPUs with AVX2 but without VNNI (ONNX Runtime's documented caveat), which on
    an AVX2-only EPYC gave the LSTM a mean probability gap of 0.035 (0.0023 on the machine it was measured
    on); 7-bit ``reduce_range`` fixed the LSTM but left a Transformer window 0.53 off.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # the quantiser logs advice and skipped tensors on the root logger
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source, target = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
            source.write_bytes(onnx_bytes)
            quantize_dynamic(source, target, weight_type=QuantType.QUInt8)
            return target.read_bytes()
    finally:
        logging.disable(previous)


def to_onnx(model: Model) -> bytes:
    """The ONNX bytes of a fitted tree or sequence model; ``TypeError`` for an unsupported model."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    if isinstance(model, SequenceModel):
        return _sequence_to_onnx(model)
    if not isinstance(model, TreeModel):
        raise TypeError(f"no ONNX export for {type(model).__name__}")
    n_features = len(model.metadata.feature_names)
    initial_types = [(INPUT_NAME, FloatTensorType([None, n_features]))]
    if isinstance(model, LightGBMModel):
        import onnxmltools

        proto = onnxmltools.convert_lightgbm(
            model.estimator, initial_types=initial_types, zipmap=False, target_opset=TARGET_OPSET
        )
    elif isinstance(model, XGBoostModel):
        import onnxmltools

        proto = onnxmltools.convert_xgboost(model.estimator, initial_types=initial_types, target_opset=TARGET_OPSET)
    elif isinstance(model, RandomForestModel):
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType as SklFloatTensorType

        proto = convert_sklearn(
            model.estimator,
            initial_types=[(INPUT_NAME, SklFloatTensorType([None, n_features]))],
            options={id(model.estimator): {"zipmap": False}},
            target_opset=TARGET_OPSET,
        )
    elif isinstance(model, CatBoostModel):
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "model.onnx"
            model.estimator.save_model(str(file), format="onnx")
            proto = _drop_zipmap(_rename_input(onnx.load(str(file)), INPUT_NAME))
    else:
        raise TypeError(f"no ONNX export for {type(model).__name__}")
    return bytes(proto.SerializeToString())
