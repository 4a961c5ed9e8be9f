"""The PyTorch variational autoencoder behind ``models/anomaly.py``.

Imported only when a detector is fitted, loaded, scored or exported (torch's import is slow). The
network reads raw feature rows ``(n, n_features)``, standardises them with the scaler fitted on the
training rows (buffers, so the scaler is in ``model.pt`` and inside the exported ONNX graph), and
``forward`` maps each row to its anomaly score without sampling: the reconstruction of the encoder
mean, mean squared error in standardised units, plus ``beta`` times the KL divergence of the
encoder's Gaussian from the unit prior divided by the number of features. ``beta`` is a buffer too,
so the exported graph needs no parameter beside the rows.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["VAENetwork"]


class VAENetwork(nn.Module):
    """Standardise raw rows, encode them to a Gaussian over ``latent`` dimensions, decode back."""

    scaler_mean: Tensor
    scaler_std: Tensor
    beta: Tensor

    def __init__(self, n_features: int, hidden: int, latent: int, beta: float) -> None:
        super().__init__()
        self.register_buffer("scaler_mean", torch.zeros(n_features))
        self.register_buffer("scaler_std", torch.ones(n_features))
        self.register_buffer("beta", torch.tensor(float(beta)))
        self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.mean = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_features)
        )

    def standardise(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` per feature, with the scaler fitted on the training rows."""
        scaled: Tensor = (x - self.scaler_mean) / self.scaler_std
        return scaled

    def encode(self, scaled: Tensor) -> tuple[Tensor, Tensor]:
        """The encoder's mean and log-variance for standardised rows."""
        hidden = self.encoder(scaled)
        return self.mean(hidden), self.log_var(hidden)

    def row_loss(self, scaled: Tensor, mean: Tensor, log_var: Tensor, z: Tensor) -> Tensor:
        """Per row: mean squared reconstruction error of ``decoder(z)`` plus ``beta`` times the KL term per feature."""
        error = (self.decoder(z) - scaled).pow(2).mean(dim=1)
        kl = -0.5 * (1.0 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)
        loss: Tensor = error + self.beta * kl / scaled.shape[1]
        return loss

    def sampled_loss(self, x: Tensor) -> Tensor:
        """The training loss per raw row: ``z`` sampled from the encoder's Gaussian (reparameterised)."""
        scaled = self.standardise(x)
        mean, log_var = self.encode(scaled)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        return self.row_loss(scaled, mean, log_var, z)

    def forward(self, x: Tensor) -> Tensor:
        """The anomaly score per raw row, deterministic: ``z`` is the encoder mean (the exported graph)."""
        scaled = self.standardise(x)
        mean, log_var = self.encode(scaled)
        return self.row_loss(scaled, mean, log_var, mean)
