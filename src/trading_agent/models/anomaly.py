"""A variational autoencoder that scores how unusual a feature row is, to flag market anomalies.

Why: a model trained on ordinary hours says nothing useful about hours unlike any it has seen (a
crash, an exchange outage, a liquidation cascade). ``VAEAnomalyDetector`` learns, without labels,
what ordinary feature rows look like; a row it reconstructs badly, or can only encode far from the
prior, scores high. The risk side can then shrink or block trading on flagged rows (not done here).

- ``fit(X)``: ``X`` float32 ``(n, n_features)`` in time order, no NaN or infinite values
  (``ModelInputError`` otherwise). The rows are standardised with the mean and std of the training
  part (the hold-out excluded), stored as buffers of the network so the scaler travels with
  ``model.pt`` and sits inside the ONNX graph. Early stopping holds out the time-ordered last
  ``early_stopping_fraction`` of the rows (``sequence.early_stopping_split``) and restores the best
  epoch's weights. Adam, gradient-norm clipping at 1.0, a fixed seed and deterministic algorithms
  (``sequence``'s ``_reproducible``: the global RNG is restored afterwards).
- ``score(X)``: per row, the mean squared reconstruction error (standardised units) of the decoded
  encoder mean plus ``beta`` times the KL divergence of the encoder's Gaussian from ``N(0, I)`` per
  feature (divided by ``n_features``, so both terms are per-feature: the negative ELBO per feature; a
  KL summed over the latent against a per-feature error collapsed the posterior). No sampling, so
  scores are reproducible and the scoring graph exports to ONNX (``to_onnx``).
- The threshold is the ``percentile`` of the scores of the rows ``fit`` saw; ``is_anomaly`` is
  ``score > threshold``, so about ``100 - percentile`` % of ordinary rows are flagged.
- ``save(dir)`` writes ``model.pt`` (the state dict) and ``detector.json`` (params, threshold,
  feature names, library versions); ``load(dir)`` reads them back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from trading_agent.models.base import ModelInputError, feature_names_for, library_version
from trading_agent.models.sequence import _check_finite, _reproducible, early_stopping_split

if TYPE_CHECKING:
    from trading_agent.models.anomaly_network import VAENetwork

__all__ = ["DEFAULT_PARAMS", "DETECTOR_FILE", "NATIVE_FILE", "AnomalyMetadata", "VAEAnomalyDetector", "to_onnx"]

DEFAULT_PARAMS: dict[str, Any] = {
    "latent": 8,
    "hidden": 64,
    "epochs": 40,
    "batch_size": 256,
    "lr": 1e-3,
    "beta": 1.0,
    "percentile": 99.0,
    "seed": 0,
    "early_stopping_fraction": 0.15,
    "patience": 5,
}
"""The detector's parameters and their defaults (small enough to train on a CPU in seconds)."""

NATIVE_FILE = "model.pt"
DETECTOR_FILE = "detector.json"
FAMILY = "vae_anomaly"
OUTPUT_NAME = "score"
_GRAD_CLIP = 1.0
_SCORE_CHUNK = 8192
_MIN_STD = 1e-8


@dataclass(frozen=True, slots=True)
class AnomalyMetadata:
    """What a fitted detector is: its inputs, threshold, parameters and the libraries that fitted it."""

    feature_names: tuple[str, ...]
    threshold: float
    params: dict[str, Any] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=dict)
    family: str = FAMILY

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnomalyMetadata:
        """The inverse of ``to_json``."""
        return cls(
            feature_names=tuple(data["feature_names"]),
            threshold=float(data["threshold"]),
            params=dict(data.get("params", {})),
            library_versions=dict(data.get("library_versions", {})),
            family=str(data.get("family", FAMILY)),
        )


def _check_params(params: dict[str, Any]) -> None:
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise ModelInputError(f"unknown detector parameters: {', '.join(sorted(unknown))}")
    for key in ("latent", "hidden", "epochs", "batch_size", "patience"):
        if int(params[key]) < 1:
            raise ModelInputError(f"{key} must be at least 1, got {params[key]}")
    if not 0.0 < float(params["percentile"]) < 100.0:
        raise ModelInputError(f"percentile must be in (0, 100), got {params['percentile']}")
    if float(params["beta"]) < 0.0 or float(params["lr"]) <= 0.0:
        raise ModelInputError(f"beta must be >= 0 and lr > 0, got beta={params['beta']}, lr={params['lr']}")


class VAEAnomalyDetector:
    """A VAE over standardised feature rows; high ``score`` = unusual row; ``is_anomaly`` above the threshold.

    Parameters are those of ``DEFAULT_PARAMS``; unknown ones or out-of-range values are a ``ModelInputError``.
    """

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = {**DEFAULT_PARAMS, **params}
        _check_params(self.params)
        self.history_: list[tuple[int, float, float | None]] = []
        self.best_epoch_: int | None = None
        self._network: VAENetwork | None = None
        self._metadata: AnomalyMetadata | None = None

    # -- fitted state -------------------------------------------------------------------------------

    @property
    def metadata(self) -> AnomalyMetadata:
        """Feature names, threshold, params and library versions; ``ModelInputError`` before ``fit``."""
        if self._metadata is None:
            raise ModelInputError("the anomaly detector is not fitted yet")
        return self._metadata

    @property
    def network(self) -> VAENetwork:
        """The fitted torch network (raw rows in); ``ModelInputError`` before ``fit``."""
        if self._network is None:
            raise ModelInputError("the anomaly detector is not fitted yet")
        return self._network

    @property
    def threshold(self) -> float:
        """The score above which a row is an anomaly: the ``percentile`` of the training rows' scores."""
        return self.metadata.threshold

    @property
    def scaler(self) -> tuple[np.ndarray, np.ndarray]:
        """The standardisation fitted on the training rows: mean and std per feature (float64)."""
        network = self.network
        mean, std = (
            buffer.detach().cpu().numpy().astype(np.float64) for buffer in (network.scaler_mean, network.scaler_std)
        )
        return mean, std

    # -- fit and score ------------------------------------------------------------------------------

    def fit(self, X: np.ndarray, feature_names: Sequence[str] | None = None) -> Self:
        """Fit on time-ordered rows ``X`` ``(n, n_features)`` (no labels) and set the threshold; returns self."""
        X = self._rows(X, "fit")
        if len(X) < 2:
            raise ModelInputError(f"fit needs at least 2 rows, got {len(X)}")
        names = feature_names_for(feature_names, X.shape[1])
        n_train, hold_start = early_stopping_split(len(X), 0, float(self.params["early_stopping_fraction"]))
        with _reproducible(int(self.params["seed"])):
            network = self._new_network(X.shape[1])
            _fit_scaler(network, X[:n_train])
            self._train(network, X, n_train=n_train, hold_start=hold_start)
        self._network = network
        threshold = float(np.percentile(self._score(X), float(self.params["percentile"])))
        self._metadata = AnomalyMetadata(
            feature_names=names,
            threshold=threshold,
            params=dict(self.params),
            library_versions={d: library_version(d) for d in ("torch", "numpy")},
        )
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        """The anomaly score per row (float64, ``(n,)``): reconstruction MSE + beta x KL / n_features (encoder mean)."""
        X = self._rows(X, "score")
        n_features = len(self.metadata.feature_names)
        if X.shape[1] != n_features:
            raise ModelInputError(f"the detector was fitted on {n_features} features, got X of shape {X.shape}")
        return self._score(X)

    def is_anomaly(self, X: np.ndarray) -> np.ndarray:
        """``score(X) > threshold`` per row (bool)."""
        flagged: np.ndarray = self.score(X) > self.threshold
        return flagged

    # -- save and load ------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write ``model.pt`` (the state dict, scaler included) and ``detector.json`` into ``path`` (created)."""
        import torch

        path = Path(path)
        metadata = self.metadata
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.network.state_dict(), path / NATIVE_FILE)
        text = json.dumps(metadata.to_json(), indent=2, sort_keys=True)
        (path / DETECTOR_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a detector written by ``save`` (on the CPU); ``ModelInputError`` when a file is missing."""
        import torch

        path = Path(path)
        for name in (DETECTOR_FILE, NATIVE_FILE):
            if not (path / name).is_file():
                raise ModelInputError(f"{path} is not a saved anomaly detector: {name} is missing")
        metadata = AnomalyMetadata.from_json(json.loads((path / DETECTOR_FILE).read_text(encoding="utf-8")))
        if metadata.family != FAMILY:
            raise ModelInputError(f"{path} holds a {metadata.family} model, not a {FAMILY} one")
        detector = cls(**metadata.params)
        network = detector._new_network(len(metadata.feature_names))
        network.load_state_dict(torch.load(path / NATIVE_FILE, map_location="cpu", weights_only=True))
        network.eval()
        detector._network = network
        detector._metadata = metadata
        return detector

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fitted={self._metadata is not None})"

    # -- internals ----------------------------------------------------------------------------------

    @staticmethod
    def _rows(X: np.ndarray, what: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ModelInputError(f"{what}: X must be 2-D (rows x features), got shape {X.shape}")
        if X.shape[1] == 0:
            raise ModelInputError(f"{what}: X has no features")
        _check_finite(X, f"anomaly detector {what}")
        return X

    def _new_network(self, n_features: int) -> VAENetwork:
        from trading_agent.models.anomaly_network import VAENetwork

        p = self.params
        return VAENetwork(n_features, int(p["hidden"]), int(p["latent"]), float(p["beta"]))

    def _score(self, X: np.ndarray) -> np.ndarray:
        import torch

        network = self.network
        network.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(X), _SCORE_CHUNK):
                chunk = torch.from_numpy(np.ascontiguousarray(X[start : start + _SCORE_CHUNK]))
                parts.append(network(chunk).numpy())
        return np.concatenate(parts).astype(np.float64) if parts else np.empty(0)

    def _train(self, network: VAENetwork, X: np.ndarray, *, n_train: int, hold_start: int) -> None:
        import torch

        X_train = torch.from_numpy(np.ascontiguousarray(X[:n_train]))
        holdout = torch.from_numpy(np.ascontiguousarray(X[hold_start:])) if hold_start < len(X) else None
        optimizer = torch.optim.Adam(network.parameters(), lr=float(self.params["lr"]))
        best = _BestWeights(network, int(self.params["patience"])) if holdout is not None else None
        batch_size = int(self.params["batch_size"])
        self.history_, self.best_epoch_ = [], None
        for epoch in range(1, int(self.params["epochs"]) + 1):
            network.train()
            order = torch.randperm(n_train)
            total = 0.0
            for start in range(0, n_train, batch_size):
                batch = X_train[order[start : start + batch_size]]
                optimizer.zero_grad()
                loss = network.sampled_loss(batch).mean()
                loss.backward()  # type: ignore[no-untyped-call]
                torch.nn.utils.clip_grad_norm_(network.parameters(), _GRAD_CLIP)
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            hold_loss = None
            if holdout is not None:
                network.eval()
                with torch.no_grad():
                    hold_loss = float(network(holdout).mean())
            self.history_.append((epoch, total / n_train, hold_loss))
            if best is not None and hold_loss is not None and best.stop_after(epoch, hold_loss):
                break
        if best is not None:
            best.restore()
            self.best_epoch_ = best.epoch
        network.eval()


class _BestWeights:
    """Early stopping: keeps the weights of the epoch with the lowest hold-out loss, counts the stale epochs."""

    def __init__(self, network: VAENetwork, patience: int) -> None:
        self.network, self.patience = network, patience
        self.loss, self.epoch, self.stale = float("inf"), 0, 0
        self.state = copy.deepcopy(network.state_dict())

    def stop_after(self, epoch: int, loss: float) -> bool:
        """Record ``epoch``'s hold-out loss; True when ``patience`` epochs in a row did not improve on the best."""
        if loss < self.loss:
            self.loss, self.epoch, self.stale = loss, epoch, 0
            self.state = copy.deepcopy(self.network.state_dict())
            return False
        self.stale += 1
        return self.stale >= self.patience

    def restore(self) -> None:
        """Put the best epoch's weights back into the network."""
        self.network.load_state_dict(self.state)


def _fit_scaler(network: VAENetwork, rows: np.ndarray) -> None:
    """Store the mean and std per feature of ``rows`` in the network (a constant feature gets std 1)."""
    import torch

    rows64 = rows.astype(np.float64)
    std = rows64.std(axis=0)
    std[std < _MIN_STD] = 1.0
    network.scaler_mean.copy_(torch.from_numpy(rows64.mean(axis=0).astype(np.float32)))
    network.scaler_std.copy_(torch.from_numpy(std.astype(np.float32)))


def to_onnx(detector: VAEAnomalyDetector) -> bytes:
    """The ONNX bytes of a fitted detector: float32 ``input`` ``[batch, n_features]`` (raw rows, the scaler
    inside the graph) to ``score`` ``[batch]``, the same anomaly score as ``detector.score``."""
    import torch

    from trading_agent.models.onnx_export import torch_to_onnx

    graph = detector.network.cpu().eval()
    return torch_to_onnx(graph, torch.zeros(1, len(detector.metadata.feature_names)), OUTPUT_NAME)
