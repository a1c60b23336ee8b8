"""Autoencoders and variational autoencoders, built from one plain-value description.

An ``Autoencoder`` and a ``VAE`` made from the same ``ModelConfig`` share everything but what
makes them different: the same MLP sizes and activation, the same decoder, the same
likelihood p(x | z). The VAE encoder's last layer is twice as wide, because it outputs the
mean and the log-variance of q(z | x) instead of a single code.

Shapes used throughout: ``x`` is (n, input_dim), ``z`` is (n, latent_dim).

    encoder   x --MLP(input_dim, *hidden, latent_dim or 2 * latent_dim)--> code
    decoder   z --MLP(latent_dim, *reversed(hidden), input_dim)--> logits (Bernoulli) or mean
                                                                    (Gaussian) of p(x | z)

The losses are the negative log-likelihoods of ``aelib.likelihood``, in nats per image. Like
any ``nn.Module.forward`` the methods check nothing: ``fit`` and co. check data on entry.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from aelib import likelihood
from aelib._checks import (
    choice,
    instance,
    integer,
    optional,
    real,
    seed,
    torch_device,
    validate,
    validate_fields,
)

KINDS = ("ae", "vae")
LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU,
               "leaky_relu": lambda: nn.LeakyReLU(0.01)}


# --------------------------------------------------------------------------- configuration


def _widths(value: Any, name: str, _: Any = None) -> tuple[int, ...]:
    value = instance((list, tuple), "a sequence of layer widths")(value, name)
    return tuple(integer(1)(width, f"{name}[{i}]") for i, width in enumerate(value))


def _sigma(value: Any, name: str, _: Any = None) -> float | str:
    if isinstance(value, str) and value != "learned":
        raise ValueError(f"{name} must be a positive number or 'learned', got {value!r}")
    return value if value == "learned" else real(0.0, open_low=True)(value, name)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a model, as plain Python values."""

    kind: str = "ae"                  # "ae" (deterministic code) or "vae" (q(z | x) = Gaussian)
    input_dim: int = 784              # pixels per image (784 for 28x28)
    hidden: tuple[int, ...] = (400,)  # encoder widths, reversed in the decoder; () = linear
    latent_dim: int = 2               # size of the code z
    likelihood: str = "bernoulli"     # decoder outputs logits (BCE loss) or "gaussian" means
    sigma: float | str = 1.0          # the Gaussian's sigma, or "learned": one per pixel
    beta: float = 1.0                 # weight of the VAE's KL term (1 = the ELBO)
    activation: str = "relu"          # one of ACTIVATIONS
    min_sigma: float = 0.01           # a learned sigma stays above it, so -log p stays finite

    def __post_init__(self) -> None:
        validate_fields(self, kind=choice(*KINDS), input_dim=integer(1), hidden=_widths,
                        latent_dim=integer(1), likelihood=choice(*LIKELIHOODS),
                        activation=choice(*ACTIVATIONS), sigma=_sigma, beta=real(0.0),
                        min_sigma=real(0.0, 1.0, open_low=True, open_high=True))
        if self.likelihood == "bernoulli" and self.sigma != 1.0:
            raise ValueError(f"sigma applies to likelihood='gaussian' only, got {self.sigma!r}")
        if self.kind == "ae" and self.beta != 1.0:
            raise ValueError(f"beta weights the KL term of a VAE; an AE needs 1.0, got {self.beta}")

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed, e.g. ``config.replace(kind="vae")``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (str, int, float, list), ready for JSON or a checkpoint."""
        return {**dataclasses.asdict(self), "hidden": list(self.hidden)}

    @classmethod
    @validate(values=instance(Mapping, "a mapping"))
    def from_dict(cls, values: Mapping[str, Any]) -> ModelConfig:
        """The inverse of ``to_dict``; missing fields take their defaults."""
        for key in values:
            choice(*(f.name for f in dataclasses.fields(cls)))(key, "each key of values")
        return cls(**values)


# --------------------------------------------------------------------------- building blocks


def mlp(sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers of the given widths, ``activation`` between them (not after the last):
    ``mlp([784, 400, 20])`` maps (n, 784) -> (n, 20) through one hidden layer of 400 units."""
    layers: list[nn.Module] = [nn.Linear(sizes[0], sizes[1])]
    for n_in, n_out in zip(sizes[1:], sizes[2:], strict=False):
        layers += [ACTIVATIONS[activation](), nn.Linear(n_in, n_out)]
    return nn.Sequential(*layers)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z ~ N(mu, diag(exp(logvar))) drawn as mu + sigma * eps; (n, d), (n, d) -> (n, d)."""
    # The randomness sits in eps, which does not depend on the parameters, so gradients flow
    # from z back to mu and logvar: the reparameterisation trick.
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) in closed form; (n, d), (n, d) -> (n,)."""
    # Per dimension: 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2).
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class LossTerms(NamedTuple):
    """Scalar tensors, batch means in nats per image: total = reconstruction + beta * kl."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor  # 0 for an autoencoder


# --------------------------------------------------------------------------- models


class LatentModel(nn.Module):
    """The base of ``Autoencoder`` and ``VAE``: config, decoder and likelihood p(x | z)."""

    config: ModelConfig

    def __init__(self, config: ModelConfig, kind: str, encoder_width: int) -> None:
        if config.kind != kind:
            raise ValueError(f"config.kind must be {kind!r}, got {config.kind!r}")
        super().__init__()
        self.config = config
        self.encoder = mlp([config.input_dim, *config.hidden, encoder_width], config.activation)
        self.decoder = mlp([config.latent_dim, *reversed(config.hidden), config.input_dim],
                           config.activation)
        if config.likelihood == "gaussian" and config.sigma == "learned":
            # sigma = min_sigma + softplus(raw) > min_sigma, starting at sigma = 1.
            start = math.log(math.expm1(1.0 - config.min_sigma))
            self.raw_sigma = nn.Parameter(torch.full((config.input_dim,), start))
        else:
            self.register_parameter("raw_sigma", None)

    @property
    def device(self) -> torch.device:
        """Where the weights are (``model.to(device)`` moves them); inputs must be there too."""
        return self.decoder[0].weight.device

    def sigma(self) -> float | torch.Tensor:
        """The Gaussian decoder's sigma: the fixed float, or the learned (input_dim,) tensor."""
        if self.config.likelihood != "gaussian":
            raise ValueError("sigma: this model has a Bernoulli likelihood, which has no sigma")
        if self.raw_sigma is None:
            return float(self.config.sigma)
        return self.config.min_sigma + F.softplus(self.raw_sigma)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z), what a notebook displays; (n, latent_dim) -> (n, input_dim)."""
        output = self.decoder(z)
        return torch.sigmoid(output) if self.config.likelihood == "bernoulli" else output

    def reconstruction_nll(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """-log p(x | z) per image, summed over pixels; (n, input_dim), (n, latent_dim) -> (n,)."""
        output = self.decoder(z)
        # __wrapped__: unchecked, as fit and co. check the data once on entry, not every batch.
        if self.config.likelihood == "bernoulli":
            return likelihood.bernoulli_nll.__wrapped__(x, output)
        return likelihood.gaussian_nll.__wrapped__(x, output, self.sigma())

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(embed(x)), the model's reconstruction of x; (n, input_dim) -> (n, input_dim)."""
        return self.decode(self.embed(x))


class Autoencoder(LatentModel):
    """A deterministic autoencoder: z = encoder(x), loss = -log p(x | z). It has no prior over
    codes, so nothing to sample new images from."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, "ae", encoder_width=config.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code z = h(x); (n, input_dim) -> (n, latent_dim)."""
        return self.encoder(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Same as ``encode``."""
        return self.encode(x)

    def loss(self, x: torch.Tensor, *, target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """Batch mean of -log p(target | encode(x)); x, target (n, input_dim), target = x by
        default (a noisy x and a clean target: a denoising AE). ``generator`` is not used."""
        target = x if target is None else target
        reconstruction = self.reconstruction_nll(target, self.encoder(x)).mean()
        kl = torch.zeros((), dtype=reconstruction.dtype, device=reconstruction.device)
        return LossTerms(reconstruction, reconstruction, kl)


class VAE(LatentModel):
    """A variational autoencoder: q(z | x) = N(mu(x), diag(exp(logvar(x)))), p(z) = N(0, I).
    The loss is the negative ELBO: E_q[-log p(x | z)] (one reparameterised sample) plus
    beta * KL(q(z | x) || p(z)); with beta = 1 it bounds -log p(x) from above."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, "vae", encoder_width=2 * config.latent_dim)  # mu and logvar

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x); (n, input_dim) -> two (n, latent_dim)."""
        return self.encoder(x).chunk(2, dim=1)

    def loss(self, x: torch.Tensor, *, target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """Batch mean of -log p(target | z) + beta * KL, z ~ q(z | x) drawn with ``generator``;
        x, target (n, input_dim), target = x by default."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        reconstruction = self.reconstruction_nll(x if target is None else target, z).mean()
        kl = gaussian_kl(mu, logvar).mean()
        return LossTerms(reconstruction + self.config.beta * kl, reconstruction, kl)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu(x); (n, input_dim) -> (n, latent_dim)."""
        return self.encode(x)[0]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images decode(z), z ~ N(0, I), without gradients; -> (n, input_dim)."""
        z = torch.randn((n, self.config.latent_dim), generator=generator,
                        dtype=self.decoder[0].weight.dtype, device=self.device)
        return self.decode(z)


@validate(config=instance(ModelConfig, "a ModelConfig (from_dict builds one)"), seed=optional(seed),
          device=torch_device)
def build_model(config: ModelConfig, *, seed: int | None = None,
                device: str | torch.device = "cpu") -> Autoencoder | VAE:
    """The ``Autoencoder`` or ``VAE`` that ``config`` describes, on ``device``; it keeps
    ``config``. Its initial weights depend on ``seed`` alone (drawn on the CPU, so they are the
    same on every device), or come from the global RNG if it is None."""
    cls = VAE if config.kind == "vae" else Autoencoder
    if seed is None:
        return cls(config).to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(config).to(device)


# --------------------------------------------------------------------------- gradient estimators

_ESTIMATOR_CHECKS = {"f": instance(Callable, "a callable mapping a tensor to one of its shape"),
                     "mu": real(), "sigma": real(0.0, open_low=True), "n_samples": integer(1),
                     "n_repeats": integer(1), "seed": seed}


def _apply(f: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """f(z), refused unless it is a tensor of the shape of z."""
    values = f(z)
    if not isinstance(values, torch.Tensor) or values.shape != z.shape:
        raise ValueError(f"f must return a tensor of the shape of its input {tuple(z.shape)}, "
                         f"got {getattr(values, 'shape', type(values).__name__)}")
    return values


@validate(**_ESTIMATOR_CHECKS)
def pathwise_gradient(f: Callable[[torch.Tensor], torch.Tensor], mu: float, sigma: float, *,
                      n_samples: int, n_repeats: int = 1, seed: int = 0) -> torch.Tensor:
    """``n_repeats`` pathwise estimates of d/dmu E[f(z)], z ~ N(mu, sigma^2); -> (n_repeats,).
    Each averages d f(mu + sigma * eps) / d mu over ``n_samples`` eps ~ N(0, 1) by autograd,
    so ``f`` must be differentiable (element-wise torch operations on float64)."""
    eps = torch.randn((n_repeats, n_samples), generator=torch.Generator().manual_seed(seed),
                      dtype=torch.float64)
    mu_t = torch.full((n_repeats, 1), mu, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(_apply(f, mu_t + sigma * eps).mean(dim=1).sum(), mu_t)
    return grad[:, 0].detach()


@validate(**_ESTIMATOR_CHECKS)
def score_function_gradient(f: Callable[[torch.Tensor], torch.Tensor], mu: float,
                            sigma: float, *, n_samples: int, n_repeats: int = 1,
                            seed: int = 0) -> torch.Tensor:
    """``n_repeats`` score-function (REINFORCE) estimates of d/dmu E[f(z)]; -> (n_repeats,).
    Each averages f(z) * d log N(z; mu, sigma^2) / d mu = f(z) * (z - mu) / sigma^2: only values
    of ``f`` are needed. The same ``seed`` draws the same eps as ``pathwise_gradient``."""
    eps = torch.randn((n_repeats, n_samples), generator=torch.Generator().manual_seed(seed),
                      dtype=torch.float64)
    z = mu + sigma * eps
    with torch.no_grad():
        values = _apply(f, z)
    return (values * (z - mu) / sigma**2).mean(dim=1)
