"""Autoencoders and variational autoencoders, built from one plain-value description.

An ``Autoencoder`` and a ``VAE`` made from the same ``ModelConfig`` share everything but what
makes them different: the same MLP sizes and activation, the same decoder, the same
likelihood p(x | z). The VAE encoder's last layer is twice as wide, because it outputs the
mean and the log-variance of q(z | x) instead of a single code.

Shapes used throughout: ``x`` is (n, input_dim), ``z`` is (n, latent_dim).

    encoder   x --MLP(input_dim, *hidden, latent_dim or 2 * latent_dim)--> code
    decoder   z --MLP(latent_dim, *reversed(hidden), input_dim)--> logits (Bernoulli) or mean
                                                                    (Gaussian) of p(x | z)

The losses are the negative log-likelihoods of ``aelib.likelihood``, summed over the pixels
of an image and averaged over the images of a batch: "nats per image". Here they are computed
with torch's fused kernels and without re-checking their arguments (the public methods check
once, on entry; ``fit`` checks the whole data set once): on a training step those checks and
the unfused formulas cost about a quarter of the time. The tests pin both versions together.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from aelib._checks import check_choice, check_float, check_int, check_tensor
from aelib.likelihood import LOG_2PI

KINDS = ("ae", "vae")
LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "tanh", "elu", "leaky_relu")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a model, as plain Python values.

    kind: ``"ae"`` (deterministic code) or ``"vae"`` (Gaussian q(z | x), standard normal prior).
    input_dim: pixels per image (784 for 28x28).
    hidden: widths of the encoder's hidden layers; the decoder uses them in reverse. ``()``
        gives a linear encoder and decoder (the linear autoencoder that PCA is the optimum of).
    latent_dim: size of the code z, at least 1.
    likelihood: ``"bernoulli"`` (decoder outputs logits, loss = binary cross-entropy) or
        ``"gaussian"`` (decoder outputs the mean, loss = scaled squared error + constant).
    sigma: the Gaussian's standard deviation, a positive float, or ``"learned"`` for one learned
        sigma per pixel, kept above ``min_sigma`` so the likelihood cannot run off to infinity.
        Bernoulli models leave it at 1.0.
    beta: weight of the KL term in the VAE loss (1.0 = the ELBO). AEs leave it at 1.0.
    activation: the nonlinearity between layers, one of ``ACTIVATIONS``.
    min_sigma: lower bound of a learned sigma, in (0, 1).
    """

    kind: str = "ae"
    input_dim: int = 784
    hidden: tuple[int, ...] = (400,)
    latent_dim: int = 2
    likelihood: str = "bernoulli"
    sigma: float | str = 1.0
    beta: float = 1.0
    activation: str = "relu"
    min_sigma: float = 0.01

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", KINDS)
        set_ = object.__setattr__  # the dataclass is frozen; normalise values once, here
        set_(self, "input_dim", check_int(self.input_dim, "input_dim", minimum=1))
        if isinstance(self.hidden, (str, bytes)) or not isinstance(self.hidden, Sequence):
            raise TypeError(f"hidden must be a sequence of layer widths, got {self.hidden!r}")
        set_(self, "hidden", tuple(check_int(h, f"hidden[{i}]", minimum=1)
                                   for i, h in enumerate(self.hidden)))
        set_(self, "latent_dim", check_int(self.latent_dim, "latent_dim", minimum=1))
        check_choice(self.likelihood, "likelihood", LIKELIHOODS)
        check_choice(self.activation, "activation", ACTIVATIONS)
        set_(self, "min_sigma", check_float(self.min_sigma, "min_sigma", minimum=0.0,
                                            maximum=1.0, open_low=True, open_high=True))
        if self.sigma != "learned":
            if isinstance(self.sigma, str):
                raise ValueError(f"sigma must be a positive number or 'learned', "
                                 f"got {self.sigma!r}")
            set_(self, "sigma", check_float(self.sigma, "sigma", minimum=0.0, open_low=True))
        if self.likelihood == "bernoulli" and self.sigma != 1.0:
            raise ValueError(f"sigma applies to the Gaussian likelihood only; leave it at 1.0 "
                             f"with likelihood='bernoulli', got sigma={self.sigma!r}")
        set_(self, "beta", check_float(self.beta, "beta", minimum=0.0))
        if self.kind == "ae" and self.beta != 1.0:
            raise ValueError(f"beta weights the KL term of a VAE; leave it at 1.0 with "
                             f"kind='ae', got beta={self.beta}")

    @property
    def learned_sigma(self) -> bool:
        """True when the Gaussian decoder learns its own per-pixel sigma."""
        return self.sigma == "learned"

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed, e.g. ``config.replace(kind="vae")``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (str, int, float, list), ready for JSON or a checkpoint."""
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelConfig:
        """The inverse of ``to_dict``; missing fields take their defaults."""
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"values has unknown ModelConfig fields {unknown}; "
                             f"known fields are {sorted(known)}")
        return cls(**values)


# --------------------------------------------------------------------------- building blocks


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "elu":
        return nn.ELU()
    return nn.LeakyReLU(0.01)


def mlp(sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers of the given widths with ``activation`` between them (not after the last).

    ``mlp([784, 400, 20])`` maps (n, 784) -> (n, 20) through one hidden layer of 400 units.
    """
    sizes = [check_int(s, "sizes", minimum=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    check_choice(activation, "activation", ACTIVATIONS)
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        if i > 0:
            layers.append(_activation(activation))
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
    return nn.Sequential(*layers)


def _check_gaussian(mu: Any, logvar: Any) -> None:
    check_tensor(mu, "mu", ndim=2)
    check_tensor(logvar, "logvar", ndim=2)
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, "
                         f"got {tuple(mu.shape)} and {tuple(logvar.shape)}")


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw z ~ N(mu, diag(exp(logvar))) as z = mu + sigma * eps with eps ~ N(0, I).

    The randomness sits in eps, which does not depend on the parameters, so gradients flow
    from z back to mu and logvar: the reparameterisation trick. ``mu``, ``logvar``: (n, d);
    returns (n, d).
    """
    _check_gaussian(mu, logvar)
    return _reparameterize(mu, logvar, generator)


def _reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                    generator: torch.Generator | None) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) per sample, in closed form; shape (n,).

    Per dimension: 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2). ``mu``, ``logvar``: (n, d).
    """
    _check_gaussian(mu, logvar)
    return _gaussian_kl(mu, logvar)


def _gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class LossTerms(NamedTuple):
    """Scalar tensors, each a mean over the batch of per-image values (nats per image).

    ``total`` = ``reconstruction`` + beta * ``kl``; ``kl`` is 0 for an autoencoder.
    """

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor


# --------------------------------------------------------------------------- models


class LatentModel(nn.Module):
    """The base of ``Autoencoder`` and ``VAE``: config, decoder, likelihood, input checks."""

    config: ModelConfig

    def __init__(self, config: ModelConfig, encoder_width: int) -> None:
        super().__init__()
        self.config = config
        self.encoder = mlp([config.input_dim, *config.hidden, encoder_width], config.activation)
        self.decoder = mlp([config.latent_dim, *reversed(config.hidden), config.input_dim],
                           config.activation)
        if config.likelihood == "gaussian" and config.learned_sigma:
            # sigma = min_sigma + softplus(raw) > min_sigma, starting at sigma = 1.
            start = math.log(math.expm1(1.0 - config.min_sigma))
            self.raw_sigma = nn.Parameter(torch.full((config.input_dim,), start))
        else:
            self.register_parameter("raw_sigma", None)

    # -- checks
    def check_input(self, x: Any, name: str = "x") -> torch.Tensor:
        """Refuse anything but a finite (n, input_dim) tensor of the model's dtype, with values
        in [0, 1] for a Bernoulli likelihood."""
        check_tensor(x, name, ndim=2)
        if x.shape[1] != self.config.input_dim:
            raise ValueError(f"{name} must have input_dim = {self.config.input_dim} columns, "
                             f"got shape {tuple(x.shape)}")
        dtype = self.decoder[-1].weight.dtype
        if x.dtype != dtype:
            raise TypeError(f"{name} must have the model's dtype {dtype}, got {x.dtype}; "
                            f"convert it with {name}.to({dtype})")
        if self.config.likelihood == "bernoulli" and bool((x < 0).any() or (x > 1).any()):
            raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli likelihood, got values "
                             f"from {x.min().item():.3g} to {x.max().item():.3g}")
        return x

    def _check_code(self, z: Any, name: str = "z") -> torch.Tensor:
        check_tensor(z, name, ndim=2)
        if z.shape[1] != self.config.latent_dim:
            raise ValueError(f"{name} must have latent_dim = {self.config.latent_dim} columns, "
                             f"got shape {tuple(z.shape)}")
        return z

    # -- decoder side, the same for AE and VAE. Public methods check their arguments once;
    # -- the underscored helpers they share trust theirs.
    def sigma(self) -> float | torch.Tensor:
        """The Gaussian decoder's sigma: the fixed float, or the learned (input_dim,) tensor."""
        if self.config.likelihood != "gaussian":
            raise ValueError("sigma: this model has a Bernoulli likelihood, which has no sigma")
        if self.raw_sigma is None:
            return float(self.config.sigma)
        return self.config.min_sigma + F.softplus(self.raw_sigma)

    def decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        """The raw parameters of p(x | z): logits (Bernoulli) or mean (Gaussian); (n, input_dim)."""
        return self.decoder(self._check_code(z))

    def _mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output) if self.config.likelihood == "bernoulli" else output

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z) in data space, (n, input_dim): what a notebook displays."""
        return self._mean(self.decoder_output(z))

    def _nll(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """-log p(x | decoder output) per image, (n,): ``likelihood.bernoulli_nll`` or
        ``likelihood.gaussian_nll``, on arguments the caller has checked."""
        if self.config.likelihood == "bernoulli":
            per_pixel = F.binary_cross_entropy_with_logits(output, x, reduction="none")
        else:
            sigma = self.sigma()
            log_sigma = torch.log(sigma) if isinstance(sigma, torch.Tensor) else math.log(sigma)
            per_pixel = (x - output) ** 2 / (2.0 * sigma**2) + log_sigma + 0.5 * LOG_2PI
        return per_pixel.sum(dim=1)

    def reconstruction_nll(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """-log p(x | z) per image, summed over pixels, shape (n,).

        ``x``: (n, input_dim) images; ``z``: (n, latent_dim) codes, one per image.
        """
        self.check_input(x)
        self._check_code(z)
        if len(x) != len(z):
            raise ValueError(f"x and z must have the same length, got {len(x)} and {len(z)}")
        return self._nll(x, self.decoder(z))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """One code per image, (n, latent_dim): the AE's code or the VAE's posterior mean."""
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(embed(x)): the model's reconstruction of ``x``, (n, input_dim)."""
        return self._mean(self.decoder(self.embed(x)))

    def _target(self, x: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor | None:
        """Check a denoising target against ``x`` (already checked); None stays None."""
        if target is None:
            return None
        self.check_input(target, "target")
        if target.shape != x.shape:
            raise ValueError(f"target must have the shape of x {tuple(x.shape)}, "
                             f"got {tuple(target.shape)}")
        return target


class Autoencoder(LatentModel):
    """A deterministic autoencoder: z = encoder(x), loss = -log p(x | z).

    It models p(x | g(h(x))), the likelihood of an image given its own code; there is no
    prior over codes, so nothing to sample new images from.
    """

    def __init__(self, config: ModelConfig) -> None:
        if config.kind != "ae":
            raise ValueError(f"config.kind must be 'ae' for an Autoencoder, got {config.kind!r}")
        super().__init__(config, encoder_width=config.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code z = h(x), (n, latent_dim)."""
        return self.encoder(self.check_input(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Same as ``encode``."""
        return self.encode(x)

    def loss(self, x: torch.Tensor, *, target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """Mean over the batch of -log p(target | encode(x)); ``target`` defaults to ``x``.

        Pass a corrupted ``x`` and the clean ``target`` to train a denoising autoencoder.
        ``generator`` is accepted for symmetry with the VAE and not used.
        """
        return self._loss(self.check_input(x), self._target(x, target), generator)

    def _loss(self, x: torch.Tensor, target: torch.Tensor | None,
              generator: torch.Generator | None) -> LossTerms:
        """``loss`` on checked arguments. ``fit`` calls it once per batch, after checking the
        whole data set once; a NaN in the network's outputs then shows up in the loss."""
        target = x if target is None else target
        reconstruction = self._nll(target, self.decoder(self.encoder(x))).mean()
        kl = torch.zeros((), dtype=reconstruction.dtype)
        return LossTerms(reconstruction, reconstruction, kl)


class VAE(LatentModel):
    """A variational autoencoder: q(z | x) = N(mu(x), diag(exp(logvar(x)))), p(z) = N(0, I).

    The loss is the negative ELBO: E_q[-log p(x | z)] (one reparameterised sample) plus
    beta * KL(q(z | x) || p(z)); with beta = 1 it bounds -log p(x) from above.
    """

    def __init__(self, config: ModelConfig) -> None:
        if config.kind != "vae":
            raise ValueError(f"config.kind must be 'vae' for a VAE, got {config.kind!r}")
        super().__init__(config, encoder_width=2 * config.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x), each (n, latent_dim)."""
        mu, logvar = self.encoder(self.check_input(x)).chunk(2, dim=1)
        return mu, logvar

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu(x), (n, latent_dim)."""
        return self.encode(x)[0]

    def loss(self, x: torch.Tensor, *, target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """Mean over the batch of -log p(target | z) + beta * KL, with z ~ q(z | x).

        ``generator`` draws the noise of the reparameterisation (global RNG if None).
        """
        return self._loss(self.check_input(x), self._target(x, target), generator)

    def _loss(self, x: torch.Tensor, target: torch.Tensor | None,
              generator: torch.Generator | None) -> LossTerms:
        """``loss`` on checked arguments. ``fit`` calls it once per batch, after checking the
        whole data set once; a NaN in the network's outputs then shows up in the loss."""
        target = x if target is None else target
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = _reparameterize(mu, logvar, generator)
        reconstruction = self._nll(target, self.decoder(z)).mean()
        kl = _gaussian_kl(mu, logvar).mean()
        return LossTerms(reconstruction + self.config.beta * kl, reconstruction, kl)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images, (n, input_dim): decode(z) with z ~ N(0, I), without gradients."""
        n = check_int(n, "n", minimum=1)
        weight = self.decoder[0].weight
        z = torch.randn((n, self.config.latent_dim), generator=generator, dtype=weight.dtype,
                        device=weight.device)
        return self._mean(self.decoder(z))


def build_model(config: ModelConfig, *, seed: int | None = None) -> Autoencoder | VAE:
    """The ``Autoencoder`` or ``VAE`` that ``config`` describes; it keeps ``config``.

    With a ``seed`` the initial weights depend on it alone (the global torch RNG is left as
    it was); without one they come from the global RNG.
    """
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig (ModelConfig.from_dict builds one from a "
                        f"dict), got {type(config).__name__}")
    cls = VAE if config.kind == "vae" else Autoencoder
    if seed is None:
        return cls(config)
    seed = check_int(seed, "seed", minimum=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(config)


# --------------------------------------------------------------------------- gradient estimators


def _gradient_draws(f: Any, mu: Any, sigma: Any, n_samples: Any, n_repeats: Any,
                    generator: torch.Generator | None) -> tuple[float, float, torch.Tensor]:
    """Check the arguments shared by the two estimators; return (mu, sigma, eps) with eps of
    shape (n_repeats, n_samples), float64."""
    if not callable(f):
        raise TypeError(f"f must be a callable mapping a tensor to a tensor of the same shape, "
                        f"got {type(f).__name__}")
    mu = check_float(mu, "mu")
    sigma = check_float(sigma, "sigma", minimum=0.0, open_low=True)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_repeats = check_int(n_repeats, "n_repeats", minimum=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, "
                        f"got {type(generator).__name__}")
    eps = torch.randn((n_repeats, n_samples), generator=generator, dtype=torch.float64)
    return mu, sigma, eps


def _apply(f: Any, z: torch.Tensor) -> torch.Tensor:
    values = f(z)
    if not isinstance(values, torch.Tensor) or values.shape != z.shape:
        raise ValueError(f"f must return a tensor of the shape of its input {tuple(z.shape)}, "
                         f"got {getattr(values, 'shape', type(values).__name__)}")
    return values


def pathwise_gradient(f: Any, mu: float, sigma: float, *, n_samples: int, n_repeats: int = 1,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Pathwise (reparameterised) estimates of d/dmu E[f(z)], z ~ N(mu, sigma^2); shape
    (n_repeats,).

    Each of the ``n_repeats`` independent estimates writes z = mu + sigma * eps for
    ``n_samples`` draws eps ~ N(0, 1) and averages d f(z) / d mu, found by autograd: it needs
    the derivative of ``f``. ``f`` maps a float64 tensor to one of the same shape, element by
    element, with torch operations. The noise is the (n_repeats, n_samples) tensor
    ``torch.randn(..., generator=generator, dtype=torch.float64)``, drawn exactly as
    ``score_function_gradient`` draws it, so one seed gives both estimators the same noise.
    """
    mu, sigma, eps = _gradient_draws(f, mu, sigma, n_samples, n_repeats, generator)
    mu_t = torch.full((eps.shape[0], 1), mu, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        values = _apply(f, mu_t + sigma * eps)
        (grad,) = torch.autograd.grad(values.mean(dim=1).sum(), mu_t)
    return grad[:, 0].detach()


def score_function_gradient(f: Any, mu: float, sigma: float, *, n_samples: int,
                            n_repeats: int = 1,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Score-function (REINFORCE) estimates of d/dmu E[f(z)], z ~ N(mu, sigma^2); shape
    (n_repeats,).

    Each estimate averages f(z) * d log N(z; mu, sigma^2) / d mu = f(z) * (z - mu) / sigma^2
    over ``n_samples`` draws z: it needs only values of ``f``, never its derivative. Same
    arguments and the same noise as ``pathwise_gradient``.
    """
    mu, sigma, eps = _gradient_draws(f, mu, sigma, n_samples, n_repeats, generator)
    z = mu + sigma * eps
    with torch.no_grad():
        values = _apply(f, z)
    return (values * (z - mu) / sigma**2).mean(dim=1)
