"""Deep sequence classifiers in PyTorch behind the one ``Model`` protocol.

Four architectures — an LSTM with attention pooling, a causal Transformer encoder, a temporal CNN
and a bidirectional GRU over the past window — share one base class (``SequenceModel``) that does
everything but building the network: input checks, label encoding (``metadata.classes`` keeps the
original sorted labels, the network sees ``0..k-1``), the standardisation scaler, the training loop,
metadata and the save/load directory layout (``model.pt``: the network's ``state_dict``, the
scaler's mean and std included as buffers; plus ``metadata.json``). The networks themselves live in
``sequence_networks.py``; torch is imported only when a model is fitted, loaded or served, so code
that never touches a deep model does not pay for it.

Input is ``X`` of shape ``(n, window, n_features)`` (``models.base.windows`` builds it); sample ``i``
ends at its decision row and sees nothing later. Training, in ``fit``:

- standardisation per feature (mean and std over every row of the *training* windows only), stored
  with the network and applied inside it, so the exported ONNX graph takes the same raw windows;
- early stopping on a time-ordered hold-out: the last ``early_stopping_fraction`` of the samples
  (they arrive in time order), less its first ``window`` samples so that no hold-out window shares
  a row with a training window; the best epoch's weights (lowest hold-out loss) are restored;
- a cross-entropy loss weighted by balanced class weights times ``sample_weight``; AdamW; gradient
  norm clipping; a fixed seed and deterministic algorithms (the global RNG and determinism flag are
  restored afterwards);
- optional training-data augmentation (``augmentation``: a ``models.augmentation.Augmentation`` or its
  dict form, ``None`` by default = off): in every epoch, ``copies`` freshly augmented copies of the
  training windows (transformed in standardised units, labels and weights repeated) join the
  originals. The hold-out and ``predict_proba`` never see an augmented window. The params keep the
  dict form, so ``metadata.json`` and ``load`` round-trip it.

``SEQUENCE_MODELS`` and ``make_sequence_model`` build a model from a short key ("lstm",
"transformer", "tcn", "gru").
"""

from __future__ import annotations

import copy
from abc import ABC
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from trading_agent.models.augmentation import Augmentation, augment
from trading_agent.models.base import (
    InputKind,
    ModelInputError,
    NativeModelBase,
    check_fit_inputs,
    check_predict_input,
    encode_labels,
    feature_names_for,
    read_model_dir,
)

if TYPE_CHECKING:
    import torch

    from trading_agent.models.sequence_networks import SequenceNetwork

__all__ = [
    "COMMON_PARAMS",
    "SEQUENCE_MODELS",
    "BiGRUModel",
    "LSTMAttentionModel",
    "ProgressCallback",
    "SequenceModel",
    "TCNModel",
    "TransformerModel",
    "early_stopping_split",
    "make_sequence_model",
]

ProgressCallback = Callable[[int, float, float | None], None]
"""Called after every epoch with the epoch (from 1), the training loss and the hold-out loss (or None)."""

COMMON_PARAMS: dict[str, Any] = {
    "window": 32,
    "hidden": 32,
    "layers": 2,
    "dropout": 0.1,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "epochs": 30,
    "batch_size": 256,
    "patience": 5,
    "early_stopping_fraction": 0.15,
    "grad_clip": 1.0,
    "seed": 0,
    "device": "cpu",
    "augmentation": None,
}
"""The training parameters every sequence model takes (small enough to train on a CPU)."""

_PREDICT_CHUNK = 4096
_MIN_STD = 1e-8


@contextmanager
def _reproducible(seed: int) -> Iterator[None]:
    """Seed torch and turn on deterministic algorithms; restore the global RNG and flags afterwards."""
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _check_finite(X: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(X)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ModelInputError(f"{name}: X holds {bad} NaN or infinite values; fill or drop them first")


def early_stopping_split(n: int, window: int, fraction: float) -> tuple[int, int]:
    """How ``n`` time-ordered windows split for early stopping: ``(n_train, hold_start)``.

    Samples ``0 .. n_train - 1`` train; ``hold_start .. n - 1`` are the hold-out. The hold-out is the last
    ``fraction`` of the samples less its first ``window`` samples, so no hold-out window shares a row with
    a training window. ``hold_start == n`` means no hold-out (too few samples, or ``fraction == 0``):
    the model then trains every epoch and keeps the last weights.
    """
    if not 0.0 <= fraction < 1.0:
        raise ModelInputError(f"early_stopping_fraction must be in [0, 1), got {fraction}")
    n_tail = int(n * fraction)
    hold_start = n - n_tail + window
    if n_tail == 0 or hold_start >= n:
        return n, n
    return n - n_tail, hold_start


class SequenceModel(NativeModelBase, ABC):
    """The shared half of every sequence model: checks, labels, scaler, training loop, metadata, save/load.

    Subclasses set ``family``, ``architecture`` (the encoder ``sequence_networks.build_encoder``
    builds) and ``default_params`` (their own parameters on top of ``COMMON_PARAMS``).
    ``progress``, when given, is called after every epoch (see ``ProgressCallback``).
    """

    family: ClassVar[str]
    architecture: ClassVar[str]
    default_params: ClassVar[dict[str, Any]] = {}
    distributions: ClassVar[tuple[str, ...]] = ("torch",)
    native_file: ClassVar[str] = "model.pt"
    input_kind: ClassVar[InputKind] = InputKind.SEQUENCE

    def __init__(self, name: str | None = None, progress: ProgressCallback | None = None, **params: Any) -> None:
        super().__init__(name, {**COMMON_PARAMS, **self.default_params, **params})
        if int(self.params["window"]) < 1:
            raise ModelInputError(f"window must be at least 1, got {self.params['window']}")
        augmentation = Augmentation.from_value(self.params["augmentation"])
        self.params["augmentation"] = None if augmentation is None else augmentation.to_dict()
        self.progress = progress
        self.history_: list[tuple[int, float, float | None]] = []
        self.best_epoch_: int | None = None
        self._network: SequenceNetwork | None = None

    # -- the protocol -------------------------------------------------------------------------------

    @property
    def network(self) -> SequenceNetwork:
        """The fitted torch network (raw windows in, logits out); ``ModelInputError`` before ``fit``."""
        return self._fitted(self._network)

    @property
    def window(self) -> int:
        """The number of rows per sample."""
        return int(self.params["window"])

    @property
    def augmentation(self) -> Augmentation | None:
        """The training-data augmentation (``None``: off)."""
        return Augmentation.from_value(self.params["augmentation"])

    @property
    def scaler(self) -> tuple[np.ndarray, np.ndarray]:
        """The standardisation fitted on the training samples: mean and std per feature (float64)."""
        network = self.network
        return (
            network.scaler_mean.detach().cpu().numpy().astype(np.float64),
            network.scaler_std.detach().cpu().numpy().astype(np.float64),
        )

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> Self:
        """Fit on time-ordered windows ``X`` ``(n, window, n_features)`` and integer labels ``y``; returns self."""
        X, labels, weights = check_fit_inputs(X, y, sample_weight, input_kind=InputKind.SEQUENCE)
        if X.shape[1] != self.window:
            raise ModelInputError(f"{self.name} has window {self.window}, got windows of {X.shape[1]} steps")
        _check_finite(X, self.name)
        names = feature_names_for(feature_names, X.shape[2])
        classes, encoded = encode_labels(labels)
        weights = np.ones(len(X)) if weights is None else weights
        n_train, hold_start = early_stopping_split(len(X), self.window, float(self.params["early_stopping_fraction"]))
        with _reproducible(int(self.params["seed"])):
            network = self._new_network(X.shape[2], len(classes))
            self._fit_scaler(network, X[:n_train])
            self._train(network, X, encoded, weights, n_train=n_train, hold_start=hold_start, n_classes=len(classes))
        self._network = network
        self._metadata = self._new_metadata(InputKind.SEQUENCE, names, classes, window=self.window)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities as float64, shape ``(n, len(classes))``, columns in ``metadata.classes`` order."""
        import torch

        X = check_predict_input(X, self.metadata)
        _check_finite(X, self.name)
        network = self.network
        network.eval()
        device = network.device
        parts = []
        with torch.no_grad():
            for start in range(0, len(X), _PREDICT_CHUNK):
                chunk = torch.from_numpy(np.ascontiguousarray(X[start : start + _PREDICT_CHUNK])).to(device)
                parts.append(network.probabilities(chunk).cpu().numpy())
        n_classes = len(self.metadata.classes)
        proba = np.concatenate(parts).astype(np.float64) if parts else np.empty((0, n_classes))
        normalized: np.ndarray = proba / proba.sum(axis=1, keepdims=True)
        return normalized

    def _save_native(self, file: Path) -> None:
        """``model.pt``: the network's state dict, the scaler's buffers included."""
        import torch

        torch.save(self.network.state_dict(), file)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by ``save`` (on the CPU unless its params ask for an available GPU)."""
        import torch

        path = Path(path)
        metadata = read_model_dir(path, cls.family, cls.native_file)
        model = cls(name=metadata.name, **metadata.params)
        network = model._new_network(len(metadata.feature_names), len(metadata.classes))
        state = torch.load(path / cls.native_file, map_location=network.device, weights_only=True)
        network.load_state_dict(state)
        network.eval()
        model._network = network
        model._metadata = metadata
        return model

    # -- training -----------------------------------------------------------------------------------

    def _device(self) -> torch.device:
        import torch

        wanted = str(self.params["device"])
        return torch.device("cuda" if wanted == "cuda" and torch.cuda.is_available() else "cpu")

    def _new_network(self, n_features: int, n_classes: int) -> SequenceNetwork:
        from trading_agent.models.sequence_networks import SequenceNetwork, build_encoder

        encoder = build_encoder(self.architecture, n_features, self.params)
        network = SequenceNetwork(encoder, n_features, n_classes, float(self.params["dropout"]))
        return network.to(self._device())

    def _fit_scaler(self, network: SequenceNetwork, X_train: np.ndarray) -> None:
        import torch

        rows = X_train.reshape(-1, X_train.shape[2]).astype(np.float64)
        std = rows.std(axis=0)
        std[std < _MIN_STD] = 1.0
        network.scaler_mean.copy_(torch.from_numpy(rows.mean(axis=0).astype(np.float32)))
        network.scaler_std.copy_(torch.from_numpy(std.astype(np.float32)))

    def _train(
        self,
        network: SequenceNetwork,
        X: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray,
        *,
        n_train: int,
        hold_start: int,
        n_classes: int,
    ) -> None:
        import torch

        device = network.device
        counts = np.bincount(y[:n_train], minlength=n_classes).astype(np.float64)
        balanced = np.divide(n_train, n_classes * counts, out=np.zeros(n_classes), where=counts > 0)
        class_weight = torch.tensor(balanced, dtype=torch.float32, device=device)

        def tensors(rows: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return (
                torch.from_numpy(np.ascontiguousarray(X[rows])).to(device),
                torch.from_numpy(y[rows].astype(np.int64)).to(device),
                torch.from_numpy(weights[rows].astype(np.float32)).to(device),
            )

        def loss_of(xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
            per_sample = torch.nn.functional.cross_entropy(network(xb), yb, reduction="none")
            return (per_sample * class_weight[yb] * wb).sum() / wb.sum().clamp_min(1e-12)

        X_train, y_train, w_train = tensors(slice(0, n_train))
        augmented = _AugmentedEpochs.of(self.augmentation, network, X[:n_train], n_train)
        holdout = tensors(slice(hold_start, len(X))) if hold_start < len(X) else None
        optimizer = torch.optim.AdamW(
            network.parameters(), lr=float(self.params["lr"]), weight_decay=float(self.params["weight_decay"])
        )
        batch_size, patience = int(self.params["batch_size"]), int(self.params["patience"])
        best_loss, best_state, stale = float("inf"), copy.deepcopy(network.state_dict()), 0
        self.history_, self.best_epoch_ = [], None
        for epoch in range(1, int(self.params["epochs"]) + 1):
            network.train()
            X_epoch, y_epoch, w_epoch = (X_train, y_train, w_train)
            if augmented is not None:
                X_epoch, y_epoch, w_epoch = augmented.epoch(epoch, X_train, y_train, w_train)
            n_epoch = len(X_epoch)
            order = torch.randperm(n_epoch, device=device)
            total = 0.0
            for start in range(0, n_epoch, batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_of(X_epoch[batch], y_epoch[batch], w_epoch[batch])
                loss.backward()  # type: ignore[no-untyped-call]
                torch.nn.utils.clip_grad_norm_(network.parameters(), float(self.params["grad_clip"]))
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            train_loss = total / n_epoch
            hold_loss = None
            if holdout is not None:
                network.eval()
                with torch.no_grad():
                    hold_loss = float(loss_of(*holdout))
            self.history_.append((epoch, train_loss, hold_loss))
            if self.progress is not None:
                self.progress(epoch, train_loss, hold_loss)
            if hold_loss is None:
                continue
            if hold_loss < best_loss:
                best_loss, best_state, stale = hold_loss, copy.deepcopy(network.state_dict()), 0
                self.best_epoch_ = epoch
            else:
                stale += 1
                if stale >= patience:
                    break
        if holdout is not None:
            network.load_state_dict(best_state)
        network.eval()


class _AugmentedEpochs:
    """The training windows of every epoch when augmentation is on: originals plus freshly augmented copies."""

    def __init__(self, config: Augmentation, mean: np.ndarray, std: np.ndarray, X_train: np.ndarray) -> None:
        self.config = config
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        self.standardised = (X_train - self.mean) / self.std

    @classmethod
    def of(
        cls, config: Augmentation | None, network: SequenceNetwork, X_train: np.ndarray, n_train: int
    ) -> _AugmentedEpochs | None:
        """The augmenter for ``config``, or None when it is off (then training is exactly as without it)."""
        if config is None or not config.enabled or n_train == 0:
            return None
        mean, std = (b.detach().cpu().numpy() for b in (network.scaler_mean, network.scaler_std))
        return cls(config, mean, std, X_train)

    def epoch(
        self, epoch: int, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``X, y, w`` followed by ``copies`` augmented copies of ``X`` (raw units) with their labels and weights."""
        import torch

        rng = np.random.default_rng([self.config.seed, epoch])
        copies = [
            torch.from_numpy(np.ascontiguousarray(augment(self.standardised, self.config, rng) * self.std + self.mean))
            for _ in range(self.config.copies)
        ]
        repeat = self.config.copies + 1
        return torch.cat([X, *(c.to(X.device) for c in copies)]), y.repeat(repeat), w.repeat(repeat)


class LSTMAttentionModel(SequenceModel):
    """An LSTM over the window whose step outputs are pooled by learned attention weights."""

    family = "lstm_attention"
    architecture = "lstm"


class TransformerModel(SequenceModel):
    """A Transformer encoder with positional encoding and a causal mask; the output is the last step's."""

    family = "transformer"
    architecture = "transformer"
    default_params: ClassVar[dict[str, Any]] = {"heads": 4}


class TCNModel(SequenceModel):
    """A temporal CNN: residual blocks of dilated causal convolutions; the output is the last step's.

    Four blocks of kernel 3 (dilations 1, 2, 4, 8) see 61 steps, more than the default window of 32.
    """

    family = "tcn"
    architecture = "tcn"
    default_params: ClassVar[dict[str, Any]] = {"layers": 4, "kernel_size": 3}


class BiGRUModel(SequenceModel):
    """A bidirectional GRU over the past window (which ends at the decision row, so both directions see the past)."""

    family = "bigru"
    architecture = "gru"


SEQUENCE_MODELS: dict[str, type[SequenceModel]] = {
    "lstm": LSTMAttentionModel,
    "transformer": TransformerModel,
    "tcn": TCNModel,
    "gru": BiGRUModel,
}


def make_sequence_model(key: str, **params: Any) -> SequenceModel:
    """A new, unfitted sequence model for ``key`` ("lstm", "transformer", "tcn", "gru"); ``params`` override defaults.

    ``name`` and ``progress`` may be passed among ``params``. Raises ``ValueError`` for an unknown key.
    """
    try:
        cls = SEQUENCE_MODELS[key]
    except KeyError:
        raise ValueError(f"unknown sequence model {key!r}; known: {', '.join(sorted(SEQUENCE_MODELS))}") from None
    return cls(**params)
