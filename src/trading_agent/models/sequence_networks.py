"""The PyTorch networks behind ``models/sequence.py``: four encoders and the wrapper they share.

Imported only when a sequence model is built, fitted, loaded or exported, so that code paths that
never touch a deep model do not pay torch's import time. Every network reads raw windows
``(n, window, n_features)``; ``SequenceNetwork`` standardises them with the scaler fitted on the
training samples (stored as buffers, so it is in ``model.pt`` and inside the exported ONNX graph),
runs the encoder and maps its summary of the window to class logits.

Causality: a window ends at the decision row, so no encoder sees a later row. The transformer and
the TCN are also causal *inside* the window: the output at step ``t`` depends on steps ``<= t`` only
(a causal attention mask; convolutions padded on the left only). ``step_logits`` runs them over a
sequence of any length and returns the output at every step, which the tests use to prove it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "BiGRUEncoder",
    "CausalTransformerEncoder",
    "Encoder",
    "LSTMAttentionEncoder",
    "ProbabilityNetwork",
    "SequenceNetwork",
    "TCNEncoder",
    "build_encoder",
]


class Encoder(nn.Module):
    """A network from windows ``(n, T, n_features)`` to one vector of ``out_features`` per window."""

    out_features: int


class LSTMAttentionEncoder(Encoder):
    """An LSTM whose step outputs are pooled by learned attention weights over the window's steps."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.score = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        steps: Tensor = self.lstm(x)[0]
        weights = torch.softmax(self.score(steps), dim=1)
        return (weights * steps).sum(dim=1)


class BiGRUEncoder(Encoder):
    """A bidirectional GRU over the past window: the forward state at the last step and the backward
    state after reading the window back to its first step (both see only rows up to the decision row)."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(
            n_features, hidden, layers, batch_first=True, bidirectional=True, dropout=dropout if layers > 1 else 0.0
        )
        self.out_features = 2 * hidden

    def forward(self, x: Tensor) -> Tensor:
        _, last = self.gru(x)
        return torch.cat([last[-2], last[-1]], dim=1)


def _positional_encoding(length: int, width: int, like: Tensor) -> Tensor:
    position = torch.arange(length, dtype=like.dtype, device=like.device).unsqueeze(1)
    rate = torch.exp(torch.arange(0, width, 2, dtype=like.dtype, device=like.device) * (-math.log(10_000.0) / width))
    encoding = torch.zeros(length, width, dtype=like.dtype, device=like.device)
    encoding[:, 0::2] = torch.sin(position * rate)
    encoding[:, 1::2] = torch.cos(position * rate[: width // 2])
    return encoding


class CausalTransformerEncoder(Encoder):
    """A Transformer encoder with sinusoidal positions and a causal mask: step ``t`` attends to ``<= t``."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float, heads: int) -> None:
        super().__init__()
        self.project = nn.Linear(n_features, hidden)
        layer = nn.TransformerEncoderLayer(
            hidden, heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.out_features = hidden

    def steps(self, x: Tensor) -> Tensor:
        """The encoding at every step, ``(n, T, hidden)``; step ``t`` depends on input steps ``<= t`` only."""
        length = x.shape[1]
        h = self.project(x) + _positional_encoding(length, self.out_features, x)
        mask = torch.triu(torch.full((length, length), float("-inf"), device=x.device), diagonal=1)
        encoded: Tensor = self.norm(self.encoder(h, mask=mask))
        return encoded

    def forward(self, x: Tensor) -> Tensor:
        return self.steps(x)[:, -1]


class _CausalConv(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.left = (kernel - 1) * dilation
        self.conv = nn.Conv1d(channels_in, channels_out, kernel, dilation=dilation)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.conv(nn.functional.pad(x, (self.left, 0)))
        return out


class _ResidualBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _CausalConv(channels_in, channels_out, kernel, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
            _CausalConv(channels_out, channels_out, kernel, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.skip = nn.Conv1d(channels_in, channels_out, 1) if channels_in != channels_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = torch.relu(self.body(x) + self.skip(x))
        return out


class TCNEncoder(Encoder):
    """A temporal CNN: residual blocks of dilated causal convolutions (dilation 1, 2, 4, ...; left padding only)."""

    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float, kernel: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *(_ResidualBlock(n_features if i == 0 else hidden, hidden, kernel, 2**i, dropout) for i in range(layers))
        )
        self.out_features = hidden

    def steps(self, x: Tensor) -> Tensor:
        """The encoding at every step, ``(n, T, hidden)``; step ``t`` depends on input steps ``<= t`` only."""
        encoded: Tensor = self.blocks(x.transpose(1, 2)).transpose(1, 2)
        return encoded

    def forward(self, x: Tensor) -> Tensor:
        return self.steps(x)[:, -1]


def build_encoder(architecture: str, n_features: int, params: dict[str, Any]) -> Encoder:
    """The encoder for ``architecture`` ("lstm", "transformer", "tcn", "gru") with the model's params."""
    hidden, layers, dropout = int(params["hidden"]), int(params["layers"]), float(params["dropout"])
    if architecture == "lstm":
        return LSTMAttentionEncoder(n_features, hidden, layers, dropout)
    if architecture == "gru":
        return BiGRUEncoder(n_features, hidden, layers, dropout)
    if architecture == "transformer":
        return CausalTransformerEncoder(n_features, hidden, layers, dropout, int(params["heads"]))
    if architecture == "tcn":
        return TCNEncoder(n_features, hidden, layers, dropout, int(params["kernel_size"]))
    raise ValueError(f"unknown sequence architecture {architecture!r}")


class SequenceNetwork(nn.Module):
    """Standardise raw windows with the stored training scaler, encode them, map to class logits."""

    scaler_mean: Tensor
    scaler_std: Tensor

    def __init__(self, encoder: Encoder, n_features: int, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("scaler_mean", torch.zeros(n_features))
        self.register_buffer("scaler_std", torch.ones(n_features))
        self.encoder = encoder
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(encoder.out_features, n_classes))

    @property
    def device(self) -> torch.device:
        """Where the network's tensors live."""
        return self.scaler_mean.device

    def standardise(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` per feature, with the scaler fitted on the training samples."""
        scaled: Tensor = (x - self.scaler_mean) / self.scaler_std
        return scaled

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.head(self.encoder(self.standardise(x)))
        return logits

    def probabilities(self, x: Tensor) -> Tensor:
        """The class probabilities (softmax of the logits)."""
        return torch.softmax(self.forward(x), dim=-1)

    def step_logits(self, x: Tensor) -> Tensor:
        """The logits at every step of a sequence of any length, ``(n, T, n_classes)`` (causal encoders only)."""
        steps = getattr(self.encoder, "steps", None)
        if steps is None:
            raise TypeError(f"{type(self.encoder).__name__} has no per-step output")
        logits: Tensor = self.head(steps(self.standardise(x)))
        return logits


class ProbabilityNetwork(nn.Module):
    """The exported graph: raw windows in, class probabilities out (softmax inside)."""

    def __init__(self, network: SequenceNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: Tensor) -> Tensor:
        return self.network.probabilities(x)
