"""The PyTorch conditional VAE behind ``models/scenario.py``: one window of (log volatility, shock) pairs.

Imported only when a generator is fitted, loaded or sampled (torch's import is slow). A window is
``(n, window, 2)`` standardised steps: channel 0 the log of the trailing volatility that scales the
step's return, channel 1 the return divided by it (the shock). The condition is the window just
before, flattened, so chained windows continue the previous one instead of restarting.

- Encoder: an MLP of (window, condition) to a Gaussian over ``latent`` dimensions.
- Decoder: an MLP of (latent, condition) to a location and a log-scale per step and channel. The
  volatility channel is Gaussian; the shock channel is Student-t with one learned number of degrees of
  freedom (``2 + softplus``, so the variance exists): hourly shocks are fat-tailed even after the
  volatility is divided out, and a Gaussian decoder would thin them.
- Loss per window: the negative log-likelihood plus ``beta`` x KL, both divided by the values per
  window. The scaler (mean and std of both channels) and the bank of real starting windows are
  buffers, so ``model.pt`` holds everything sampling needs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ScenarioVAE"]

CHANNELS = 2
_LOG_SCALE_BOUNDS = (-7.0, 3.0)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out)
    )


class ScenarioVAE(nn.Module):
    """A conditional VAE over standardised (log volatility, shock) windows, conditioned on the previous window."""

    scaler_mean: Tensor
    scaler_std: Tensor
    start_bank: Tensor
    beta: Tensor

    def __init__(self, window: int, hidden: int, latent: int, beta: float, bank_size: int) -> None:
        super().__init__()
        self.window, self.latent = window, latent
        width = window * CHANNELS
        self.register_buffer("scaler_mean", torch.zeros(CHANNELS))
        self.register_buffer("scaler_std", torch.ones(CHANNELS))
        self.register_buffer("start_bank", torch.zeros(bank_size, window, CHANNELS))
        self.register_buffer("beta", torch.tensor(float(beta)))
        self.encoder = _mlp(2 * width, hidden, 2 * latent)
        self.decoder = _mlp(latent + width, hidden, 2 * width)
        self.raw_df = nn.Parameter(torch.tensor(2.0))

    @property
    def degrees_of_freedom(self) -> Tensor:
        """The shock channel's Student-t degrees of freedom (above 2)."""
        return 2.0 + nn.functional.softplus(self.raw_df)

    def decode(self, z: Tensor, condition: Tensor) -> tuple[Tensor, Tensor]:
        """Location and log-scale ``(n, window, 2)`` of the next window given latent ``z`` and the previous window."""
        out = self.decoder(torch.cat([z, condition.flatten(1)], dim=1)).view(-1, self.window, 2 * CHANNELS)
        location, log_scale = out[..., :CHANNELS], out[..., CHANNELS:].clamp(*_LOG_SCALE_BOUNDS)
        return location, log_scale

    def loss(self, window: Tensor, condition: Tensor) -> Tensor:
        """The per-window training loss (negative ELBO per value), ``z`` sampled from the encoder (reparameterised)."""
        encoded = self.encoder(torch.cat([window.flatten(1), condition.flatten(1)], dim=1))
        mean, log_var = encoded[:, : self.latent], encoded[:, self.latent :].clamp(-10.0, 10.0)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        location, log_scale = self.decode(z, condition)
        scale = log_scale.exp()
        gaussian = torch.distributions.Normal(location[..., 0], scale[..., 0]).log_prob(window[..., 0])  # type: ignore[no-untyped-call]
        student = torch.distributions.StudentT(self.degrees_of_freedom, location[..., 1], scale[..., 1])
        log_likelihood = gaussian.sum(dim=1) + student.log_prob(window[..., 1]).sum(dim=1)  # type: ignore[no-untyped-call]
        kl = -0.5 * (1.0 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)
        values = self.window * CHANNELS
        result: Tensor = (-log_likelihood + self.beta * kl) / values
        return result

    @torch.no_grad()
    def sample_next(self, condition: Tensor) -> Tensor:
        """One window ``(n, window, 2)`` after each previous window in ``condition`` (uses torch's global RNG)."""
        z = torch.randn(condition.shape[0], self.latent)
        location, log_scale = self.decode(z, condition)
        scale = log_scale.exp()
        volatility = location[..., 0] + scale[..., 0] * torch.randn_like(scale[..., 0])
        shock = torch.distributions.StudentT(self.degrees_of_freedom, location[..., 1], scale[..., 1]).sample()
        return torch.stack([volatility, shock], dim=-1)
