"""A generator of synthetic log-return paths for the Monte Carlo: a conditional VAE over volatility and shocks.

Why: the stationary bootstrap (``backtest.montecarlo``) can only replay the past in new orders; a
generator trained on real returns draws paths that never happened yet keep the stylised facts of
the real data — fat tails, volatility clustering, returns that are nearly uncorrelated. A VAE
over raw return windows does not: returns are mostly noise at a scale that changes by 10x across
regimes, so a decoder fitted to them produces thin-tailed, homoscedastic noise. Hence:

1. **Factor the returns** ``r_t = sigma_{t-1} x e_t``: ``sigma`` is the exponentially weighted trailing
   volatility (half-life ``vol_halflife`` steps; known before ``r_t``), ``e_t`` the shock. A window step is
   the pair ``(log sigma_{t-1}, e_t)``, both standardised with their training mean and std.
2. **A conditional VAE per window** (``scenario_network.ScenarioVAE``): ``window`` steps generated
   given the ``window`` steps just before. The volatility channel is Gaussian around a smooth
   decoded path; the shock channel is Student-t with learned degrees of freedom.
3. **Long paths by chaining**: each window is conditioned on the previous *generated* window, so
   the volatility level carries across the joins (chaining independent windows would reset it and
   break the clustering every ``window`` steps). The first window's condition is a real window drawn
   from a bank of training windows (``bank_size``), so paths start in real market states. The
   standardised log volatility is kept within the training range widened by ``vol_margin`` standard
   deviations, so an unlucky chain cannot drift to volatilities never seen.

``fit(returns)`` takes one time-ordered series of log returns (early stopping on its last
``early_stopping_fraction``, as ``sequence.early_stopping_split``); ``sample(n_paths, n_steps, seed)``
returns ``(n_paths, n_steps)`` float64 log returns; the same seed gives the same paths (torch's
global RNG is restored afterwards). ``save(dir)`` writes ``model.pt`` and ``generator.json``;
``load(dir)`` reads them. ``backtest.stylised_facts`` measures how well the paths match
(docs/backtest.md, "Scenario generation").
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt

from trading_agent.models.base import ModelInputError, library_version
from trading_agent.models.sequence import _check_finite, _reproducible, early_stopping_split

if TYPE_CHECKING:
    from trading_agent.models.scenario_network import ScenarioVAE

__all__ = ["DEFAULT_PARAMS", "ScenarioGenerator", "ScenarioMetadata", "volatility_and_shocks"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_PARAMS: dict[str, Any] = {
    "window": 48,
    "vol_halflife": 24.0,
    "latent": 16,
    "hidden": 128,
    "beta": 1.0,
    "epochs": 15,
    "batch_size": 256,
    "lr": 1e-3,
    "patience": 5,
    "early_stopping_fraction": 0.1,
    "stride": 1,
    "bank_size": 2048,
    "vol_margin": 0.5,
    "seed": 0,
}
"""The generator's parameters and their defaults (one fit on 56,000 hourly returns takes about a minute on a CPU)."""

NATIVE_FILE = "model.pt"
GENERATOR_FILE = "generator.json"
FAMILY = "scenario_cvae"
_GRAD_CLIP = 1.0
_MIN_VOL = 1e-12


@dataclass(frozen=True, slots=True)
class ScenarioMetadata:
    """What a fitted generator is: its parameters, the volatility range it saw and the libraries that fitted it."""

    params: dict[str, Any]
    vol_bounds: tuple[float, float]
    n_returns: int
    library_versions: dict[str, str] = field(default_factory=dict)
    family: str = FAMILY

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScenarioMetadata:
        """The inverse of ``to_json``."""
        low, high = data["vol_bounds"]
        return cls(
            params=dict(data["params"]),
            vol_bounds=(float(low), float(high)),
            n_returns=int(data["n_returns"]),
            library_versions=dict(data.get("library_versions", {})),
            family=str(data.get("family", FAMILY)),
        )


def volatility_and_shocks(returns: npt.ArrayLike, halflife: float) -> tuple[FloatArray, FloatArray]:
    """``(log sigma_{t-1}, r_t / sigma_{t-1})`` for every return but the first: the factorisation the generator models.

    ``sigma_t^2`` is the exponentially weighted mean of ``r^2`` up to ``t`` (half-life ``halflife`` steps),
    started at the mean ``r^2`` of the first ``4 x halflife`` returns; drop a warm-up before using it.
    """
    r = np.asarray(returns, dtype=np.float64)
    decay = 0.5 ** (1.0 / halflife)
    variance = np.empty_like(r)
    level = float(np.mean(r[: max(1, int(4 * halflife))] ** 2)) or _MIN_VOL
    for t, value in enumerate(r**2):
        level = decay * level + (1.0 - decay) * value
        variance[t] = level
    sigma = np.sqrt(np.maximum(variance, _MIN_VOL))
    return np.log(sigma[:-1]), r[1:] / sigma[:-1]


def _check_params(params: dict[str, Any]) -> None:
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise ModelInputError(f"unknown scenario generator parameters: {', '.join(sorted(unknown))}")
    for key in ("window", "latent", "hidden", "epochs", "batch_size", "patience", "stride", "bank_size"):
        if int(params[key]) < 1:
            raise ModelInputError(f"{key} must be at least 1, got {params[key]}")
    if float(params["vol_halflife"]) <= 0 or float(params["lr"]) <= 0 or float(params["beta"]) < 0:
        raise ModelInputError("vol_halflife and lr must be > 0 and beta >= 0")


class ScenarioGenerator:
    """Synthetic log-return paths from a conditional VAE over (log volatility, shock) windows (module docstring)."""

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = {**DEFAULT_PARAMS, **params}
        _check_params(self.params)
        self.history_: list[tuple[int, float, float | None]] = []
        self.best_epoch_: int | None = None
        self._network: ScenarioVAE | None = None
        self._metadata: ScenarioMetadata | None = None

    @property
    def metadata(self) -> ScenarioMetadata:
        """Parameters, volatility bounds and library versions; ``ModelInputError`` before ``fit``."""
        if self._metadata is None:
            raise ModelInputError("the scenario generator is not fitted yet")
        return self._metadata

    @property
    def network(self) -> ScenarioVAE:
        """The fitted torch network; ``ModelInputError`` before ``fit``."""
        if self._network is None:
            raise ModelInputError("the scenario generator is not fitted yet")
        return self._network

    # -- fit and sample -----------------------------------------------------------------------------

    def fit(self, returns: npt.ArrayLike) -> Self:
        """Fit on one time-ordered series of log returns (finite, at least ``8 x window`` after the warm-up)."""
        r = np.asarray(returns, dtype=np.float64)
        if r.ndim != 1:
            raise ModelInputError(f"returns must be one-dimensional, got shape {r.shape}")
        _check_finite(r, "scenario generator fit")
        window, halflife = int(self.params["window"]), float(self.params["vol_halflife"])
        warmup = int(4 * halflife)
        log_vol, shock = volatility_and_shocks(r, halflife)
        steps = np.stack([log_vol, shock], axis=1)[warmup:]
        if len(steps) < 8 * window:
            raise ModelInputError(f"fit needs at least {8 * window + warmup + 1} returns, got {len(r)}")
        n_train_steps, hold_start = early_stopping_split(
            len(steps), 2 * window, float(self.params["early_stopping_fraction"])
        )
        mean, std = steps[:n_train_steps].mean(axis=0), steps[:n_train_steps].std(axis=0)
        std[std < _MIN_VOL] = 1.0
        scaled = ((steps - mean) / std).astype(np.float32)
        train = _pairs(scaled[:n_train_steps], window, int(self.params["stride"]))
        holdout = _pairs(scaled[hold_start:], window, window) if len(steps) - hold_start >= 2 * window else None
        low, high = float(scaled[:n_train_steps, 0].min()), float(scaled[:n_train_steps, 0].max())
        with _reproducible(int(self.params["seed"])):
            network = self._new_network()
            _fill_buffers(network, mean, std, train[1], int(self.params["seed"]))
            self._train(network, train, holdout)
        self._network = network
        margin = float(self.params["vol_margin"])
        self._metadata = ScenarioMetadata(
            params=dict(self.params),
            vol_bounds=(low - margin, high + margin),
            n_returns=len(r),
            library_versions={d: library_version(d) for d in ("torch", "numpy")},
        )
        return self

    def sample(self, n_paths: int, n_steps: int, seed: int) -> FloatArray:
        """``(n_paths, n_steps)`` synthetic log returns; the same ``seed`` gives the same paths."""
        import torch

        if isinstance(n_paths, bool) or int(n_paths) < 1 or isinstance(n_steps, bool) or int(n_steps) < 1:
            raise ModelInputError(f"n_paths and n_steps must be integers >= 1, got {n_paths!r}, {n_steps!r}")
        network = self.network.eval()
        window = network.window
        low, high = self.metadata.vol_bounds
        windows = []
        with _reproducible(int(seed)), torch.no_grad():
            pick = torch.randint(0, network.start_bank.shape[0], (int(n_paths),))
            condition = network.start_bank[pick]
            for _ in range(-(-int(n_steps) // window)):
                generated = network.sample_next(condition)
                generated[..., 0] = generated[..., 0].clamp(low, high)
                windows.append(generated)
                condition = generated
        scaled = torch.cat(windows, dim=1)[:, : int(n_steps)].double().numpy()
        mean, std = (b.double().numpy() for b in (network.scaler_mean, network.scaler_std))
        log_vol, shock = (scaled[..., c] * std[c] + mean[c] for c in range(2))
        paths: FloatArray = np.exp(log_vol) * shock
        return paths

    # -- save and load ------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write ``model.pt`` (state dict: weights, scaler, start bank) and ``generator.json`` into ``path``."""
        import torch

        path = Path(path)
        metadata = self.metadata
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.network.state_dict(), path / NATIVE_FILE)
        (path / GENERATOR_FILE).write_text(json.dumps(metadata.to_json(), indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a generator written by ``save`` (on the CPU); ``ModelInputError`` when a file is missing."""
        import torch

        path = Path(path)
        for name in (GENERATOR_FILE, NATIVE_FILE):
            if not (path / name).is_file():
                raise ModelInputError(f"{path} is not a saved scenario generator: {name} is missing")
        metadata = ScenarioMetadata.from_json(json.loads((path / GENERATOR_FILE).read_text(encoding="utf-8")))
        if metadata.family != FAMILY:
            raise ModelInputError(f"{path} holds a {metadata.family} model, not a {FAMILY} one")
        generator = cls(**metadata.params)
        network = generator._new_network()
        network.load_state_dict(torch.load(path / NATIVE_FILE, map_location="cpu", weights_only=True))
        generator._network = network.eval()
        generator._metadata = metadata
        return generator

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fitted={self._metadata is not None})"

    # -- internals ----------------------------------------------------------------------------------

    def _new_network(self) -> ScenarioVAE:
        from trading_agent.models.scenario_network import ScenarioVAE

        p = self.params
        return ScenarioVAE(int(p["window"]), int(p["hidden"]), int(p["latent"]), float(p["beta"]), int(p["bank_size"]))

    def _train(
        self, network: ScenarioVAE, train: tuple[np.ndarray, np.ndarray], holdout: tuple[np.ndarray, np.ndarray] | None
    ) -> None:
        import torch

        windows, conditions = (torch.from_numpy(a) for a in train)
        held = None if holdout is None else tuple(torch.from_numpy(a) for a in holdout)
        optimizer = torch.optim.Adam(network.parameters(), lr=float(self.params["lr"]))
        batch_size, patience = int(self.params["batch_size"]), int(self.params["patience"])
        best_loss, best_state, stale = float("inf"), copy.deepcopy(network.state_dict()), 0
        self.history_, self.best_epoch_ = [], None
        for epoch in range(1, int(self.params["epochs"]) + 1):
            network.train()
            order = torch.randperm(len(windows))
            total = 0.0
            for start in range(0, len(windows), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = network.loss(windows[batch], conditions[batch]).mean()
                loss.backward()  # type: ignore[no-untyped-call]
                torch.nn.utils.clip_grad_norm_(network.parameters(), _GRAD_CLIP)
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            hold_loss = None
            if held is not None:
                network.eval()
                with torch.no_grad():
                    hold_loss = float(network.loss(*held).mean())
            self.history_.append((epoch, total / len(windows), hold_loss))
            if hold_loss is None:
                continue
            if hold_loss < best_loss:
                best_loss, best_state, stale, self.best_epoch_ = (
                    hold_loss,
                    copy.deepcopy(network.state_dict()),
                    0,
                    epoch,
                )
            else:
                stale += 1
                if stale >= patience:
                    break
        if held is not None:
            network.load_state_dict(best_state)
        network.eval()


def _pairs(steps: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(window, the window just before it) for every start ``window, window + stride, ...`` that fits."""
    starts = np.arange(window, len(steps) - window + 1, stride)
    offsets = np.arange(window)
    following = np.ascontiguousarray(steps[starts[:, None] + offsets])
    previous = np.ascontiguousarray(steps[starts[:, None] - window + offsets])
    return following, previous


def _fill_buffers(network: ScenarioVAE, mean: np.ndarray, std: np.ndarray, conditions: np.ndarray, seed: int) -> None:
    """Store the scaler and a seeded random bank of real training windows to start sampled paths from."""
    import torch

    network.scaler_mean.copy_(torch.from_numpy(mean.astype(np.float32)))
    network.scaler_std.copy_(torch.from_numpy(std.astype(np.float32)))
    bank = network.start_bank.shape[0]
    pick = np.random.default_rng(seed).choice(len(conditions), size=bank, replace=len(conditions) < bank)
    network.start_bank.copy_(torch.from_numpy(conditions[np.sort(pick)]))
