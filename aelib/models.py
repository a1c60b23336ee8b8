"""Autoencoders and variational autoencoders, built from one plain-value description.

An ``Autoencoder`` and a ``VAE`` made from the same ``ModelConfig`` share everything but what
makes them different: the same layers and activation, the same decoder, the same likelihood
p(x | z). The VAE encoder's last layer is twice as wide, because it outputs the mean and the
log-variance of q(z | x) instead of a single code.

Shapes used throughout: ``x`` is (n, input_dim), ``z`` is (n, latent_dim).

    encoder   x --MLP(input_dim, *hidden, latent_dim or 2 * latent_dim)--> code
    decoder   z --MLP(latent_dim, *reversed(hidden), input_dim)--> logits (Bernoulli) or mean
                                                                    (Gaussian) of p(x | z)

With ``architecture="conv"`` the widths in ``hidden`` are channels instead: each encoder layer
is a 4x4 convolution of stride 2 that halves the image's side, a linear layer makes the code,
and the decoder mirrors it with transposed convolutions (``conv_encoder``, ``conv_decoder``).
Inputs and outputs stay flat, (n, input_dim), so every model takes the same data.

An autoencoder's loss may add a penalty weighted by ``penalty_weight`` (lambda):

    "contractive"             ||J(x)||_F^2, J = dh/dx the encoder's Jacobian (Rifai et al.),
                              exact, by autograd (``jacobian``)
    "stochastic_contractive"  ||h(x + eps) - h(x)||^2 / s^2, eps ~ N(0, s^2 I), s = penalty_noise
    "sparse"                  ||h(x)||_1, the L1 norm of the code

With ``n_classes > 0`` the model is conditional (a CVAE, Sohn et al. 2015; Kingma et al.'s M2
with the labels observed): the one-hot label y (n, n_classes) joins the encoder's input and the
decoder's code, so q(z | x, y) and p(x | z, y). Every method then takes the integer labels
``y`` (n,) beside x or z.

With ``kind="aae"`` the model is an adversarial autoencoder (Makhzani et al. 2016): an
autoencoder plus a discriminator on z that pulls the codes towards ``prior`` (any distribution
of ``aelib.priors`` one can draw from), trained in three steps per batch (``phases``).

Dividing the stochastic penalty by s^2 makes it estimate the contractive one for small s
(first-order Taylor: h(x + eps) - h(x) ~ J eps, and E||J eps||^2 = s^2 ||J||_F^2), so one lambda
means the same for both.

The losses are the negative log-likelihoods of ``aelib.likelihood``, in nats per image. Like
any ``nn.Module.forward`` the methods check nothing: ``fit`` and co. check data on entry.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from aelib import likelihood, priors
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

KINDS = ("ae", "vae", "aae")
LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")
PENALTIES = ("none", "contractive", "stochastic_contractive", "sparse")
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
    architecture: str = "mlp"         # "mlp", or "conv": hidden = channels of stride-2 convs
    penalty: str = "none"             # an AE's regulariser, one of PENALTIES (see above)
    penalty_weight: float = 0.0       # lambda: loss = reconstruction + lambda * penalty
    penalty_noise: float = 0.1        # s, the input noise of "stochastic_contractive"
    n_classes: int = 0                # > 0: conditioned on a one-hot label (a CVAE), 0: not
    prior: str = "gaussian"           # p(z), one of priors.PRIORS; only an AAE's may differ
    prior_labels: bool = False        # an AAE whose discriminator sees the label (see AAE)
    discriminator_hidden: tuple[int, ...] = (128, 128)  # an AAE's discriminator's widths

    def __post_init__(self) -> None:
        validate_fields(self, kind=choice(*KINDS), input_dim=integer(1), hidden=_widths,
                        latent_dim=integer(1), likelihood=choice(*LIKELIHOODS),
                        activation=choice(*ACTIVATIONS), sigma=_sigma, beta=real(0.0),
                        min_sigma=real(0.0, 1.0, open_low=True, open_high=True),
                        architecture=choice(*ARCHITECTURES), penalty=choice(*PENALTIES),
                        penalty_weight=real(0.0), penalty_noise=real(0.0, open_low=True),
                        n_classes=integer(0), prior=choice(*priors.PRIORS),
                        prior_labels=instance(bool, "True or False"),
                        discriminator_hidden=_widths)
        if self.likelihood == "bernoulli" and self.sigma != 1.0:
            raise ValueError(f"sigma applies to likelihood='gaussian' only, got {self.sigma!r}")
        if self.kind != "vae" and self.beta != 1.0:
            raise ValueError(f"beta weights the KL term of a VAE; an AE needs 1.0, got {self.beta}")
        if self.kind != "ae" and self.penalty != "none":
            raise ValueError(f"penalty regularises an autoencoder (kind='ae'); a VAE has its KL "
                             f"term and an AAE its discriminator instead, got "
                             f"penalty={self.penalty!r}")
        if self.penalty == "none" and self.penalty_weight != 0.0:
            raise ValueError(f"penalty_weight weights a penalty; with penalty='none' it must be "
                             f"0.0, got {self.penalty_weight}")
        if self.penalty != "stochastic_contractive" and self.penalty_noise != 0.1:
            raise ValueError(f"penalty_noise applies to penalty='stochastic_contractive' only, "
                             f"got {self.penalty_noise}")
        if self.architecture == "conv":
            self.image_side()  # raises unless the images fit the convolutions
        if self.n_classes and (self.architecture != "mlp" or self.penalty != "none"
                               or self.kind == "aae"):
            raise ValueError(f"n_classes (a model conditioned on labels) needs kind 'ae' or "
                             f"'vae', architecture='mlp' and penalty='none', got {self.kind!r}, "
                             f"{self.architecture!r} and {self.penalty!r} (an AAE takes labels "
                             f"through prior_labels)")
        self._check_adversarial()

    def _check_adversarial(self) -> None:
        """The fields that only an adversarial autoencoder (kind="aae") uses."""
        if self.kind != "aae" and (self.prior != "gaussian" or self.prior_labels
                                   or self.discriminator_hidden != (128, 128)):
            raise ValueError(f"prior, prior_labels and discriminator_hidden describe an "
                             f"adversarial autoencoder (kind='aae'); a {self.kind!r} needs their "
                             f"defaults, got {self.prior!r}, {self.prior_labels} and "
                             f"{self.discriminator_hidden}")
        if self.prior != "gaussian" and self.latent_dim != 2:
            raise ValueError(f"prior={self.prior!r} is a 2-D distribution: it needs "
                             f"latent_dim=2, got {self.latent_dim}")
        if self.prior_labels and self.prior == "gaussian":
            raise ValueError("prior_labels sends each label to its own part of the prior, so it "
                             "needs prior='mixture' or 'swiss_roll', got 'gaussian'")

    def label_classes(self, *, training: bool = False) -> int:
        """How many classes the labels a model takes run over, 0 if it takes none: a CVAE's
        n_classes; with ``training``, also an AAE's with prior_labels (its discriminator sees
        the labels while it trains; the encoder and decoder never do)."""
        if training and self.prior_labels:
            return priors.COMPONENTS
        return self.n_classes

    def image_side(self) -> int:
        """The side of the square images a "conv" model reads: input_dim = side * side, and the
        side halves at each of the len(hidden) convolutions, so 2 ** len(hidden) divides it."""
        side = math.isqrt(self.input_dim)
        if side * side != self.input_dim:
            raise ValueError(f"architecture='conv' needs square images: input_dim must be a "
                             f"square number (784 = 28 x 28), got {self.input_dim}")
        if not self.hidden or side % 2 ** len(self.hidden):
            raise ValueError(f"architecture='conv' halves the image side once per entry of "
                             f"hidden (channels), so hidden must be non-empty and the side "
                             f"{side} a multiple of 2 ** len(hidden); got hidden={self.hidden}")
        return side

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed, e.g. ``config.replace(kind="vae")``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (str, int, float, list), ready for JSON or a checkpoint."""
        return {**dataclasses.asdict(self), "hidden": list(self.hidden),
                "discriminator_hidden": list(self.discriminator_hidden)}

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


def one_hot(y: torch.Tensor, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """Integer labels y (n,) as one-hot rows (n, n_classes) of ``dtype``. Built by comparison,
    not ``F.one_hot``, so that it also works inside ``torch.func.vmap`` (``jacobian``)."""
    return (y[:, None] == torch.arange(n_classes, device=y.device)).to(dtype)


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


def conv_encoder(side: int, channels: Sequence[int], out_width: int,
                 activation: str = "relu") -> nn.Sequential:
    """(n, side * side) -> (n, out_width): 4x4 convolutions of stride 2 with ``channels``
    output channels each, every one halving the side, then a linear layer. With side 28 and
    channels (16, 32): (n, 1, 28, 28) -> (n, 16, 14, 14) -> (n, 32, 7, 7) -> (n, out_width)."""
    layers: list[nn.Module] = [nn.Unflatten(1, (1, side, side))]
    for n_in, n_out in zip((1, *channels), channels, strict=False):
        layers += [nn.Conv2d(n_in, n_out, kernel_size=4, stride=2, padding=1),
                   ACTIVATIONS[activation]()]
    last = side // 2 ** len(channels)
    layers += [nn.Flatten(), nn.Linear(channels[-1] * last * last, out_width)]
    return nn.Sequential(*layers)


def conv_decoder(side: int, channels: Sequence[int], latent_dim: int,
                 activation: str = "relu") -> nn.Sequential:
    """The mirror of ``conv_encoder``: (n, latent_dim) -> (n, side * side) through a linear
    layer and 4x4 transposed convolutions of stride 2, each doubling the side; no activation
    after the last (it outputs logits or means)."""
    last = side // 2 ** len(channels)
    widths = list(reversed(channels))
    layers: list[nn.Module] = [nn.Linear(latent_dim, widths[0] * last * last),
                               ACTIVATIONS[activation](), nn.Unflatten(1, (widths[0], last, last))]
    for i, (n_in, n_out) in enumerate(zip(widths, [*widths[1:], 1], strict=True)):
        layers.append(nn.ConvTranspose2d(n_in, n_out, kernel_size=4, stride=2, padding=1))
        if i < len(widths) - 1:
            layers.append(ACTIVATIONS[activation]())
    layers.append(nn.Flatten())
    return nn.Sequential(*layers)


def jacobian(f: Callable[..., torch.Tensor], x: torch.Tensor, *rest: torch.Tensor,
             forward: bool = False) -> torch.Tensor:
    """The Jacobian of a batched map f(x, *rest): (n, a) -> (n, b) with respect to x, at every
    row of x: (n, b, a); ``rest`` (labels, say) are batched alongside and held fixed.
    Exact, by autograd, batched over rows by ``vmap``: reverse mode (``torch.func.jacrev``, one
    vector-Jacobian product per output) by default, cheap when b is small, as for an encoder;
    ``forward=True`` uses forward mode (``jacfwd``, one per input), cheap when a is small, as
    for a decoder. The result stays differentiable, so a loss can penalise it; it is computed
    even under ``torch.no_grad``."""
    transform = torch.func.jacfwd if forward else torch.func.jacrev
    with warnings.catch_warnings():  # torch's forward-mode rules still use torch.jit.script
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        per_row = transform(lambda row, *r: f(row[None], *(t[None] for t in r))[0])
        return torch.func.vmap(per_row)(x, *rest)


class LossTerms(NamedTuple):
    """Scalar tensors, batch means in nats per image:
    total = reconstruction + beta * kl (a VAE) or reconstruction + lambda * penalty (an AE);
    an AAE's total is its reconstruction, as its other two terms are the two sides of a game
    (see ``AdversarialAutoencoder``)."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor             # 0 but for a VAE
    penalty: torch.Tensor        # 0 but for an autoencoder with a penalty
    discriminator: torch.Tensor  # an AAE's: -log D(prior draw) - log(1 - D(code)); 0 otherwise
    generator: torch.Tensor      # an AAE's: -log D(code), the encoder's side; 0 otherwise


def _zero(like: torch.Tensor) -> torch.Tensor:
    return torch.zeros((), dtype=like.dtype, device=like.device)


# --------------------------------------------------------------------------- models


class LatentModel(nn.Module):
    """The base of ``Autoencoder`` and ``VAE``: config, decoder and likelihood p(x | z)."""

    config: ModelConfig

    def __init__(self, config: ModelConfig, kind: str, encoder_width: int) -> None:
        if config.kind != kind:
            raise ValueError(f"config.kind must be {kind!r}, got {config.kind!r}")
        super().__init__()
        self.config = config
        labels = config.n_classes  # a conditional model reads the one-hot label too
        if config.architecture == "conv":
            side = config.image_side()
            self.encoder = conv_encoder(side, config.hidden, encoder_width, config.activation)
            self.decoder = conv_decoder(side, config.hidden, config.latent_dim,
                                        config.activation)
        else:
            self.encoder = mlp([config.input_dim + labels, *config.hidden, encoder_width],
                               config.activation)
            self.decoder = mlp([config.latent_dim + labels, *reversed(config.hidden),
                                config.input_dim], config.activation)
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

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype (float32 unless converted); inputs must have it too."""
        return self.decoder[0].weight.dtype

    def sigma(self) -> float | torch.Tensor:
        """The Gaussian decoder's sigma: the fixed float, or the learned (input_dim,) tensor."""
        if self.config.likelihood != "gaussian":
            raise ValueError("sigma: this model has a Bernoulli likelihood, which has no sigma")
        if self.raw_sigma is None:
            return float(self.config.sigma)
        return self.config.min_sigma + F.softplus(self.raw_sigma)

    def phases(self) -> dict[str, list[nn.Parameter]]:
        """What ``fit`` does with every batch, in order: {LossTerms field: the parameters a step
        on it updates}. One step on "total" with all of them, but for an AAE."""
        return {"total": list(self.parameters())}

    def phase_loss(self, phase: str, x: torch.Tensor, *, y: torch.Tensor | None = None,
                   target: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """The batch loss that a step of ``phase`` (a key of ``phases()``) descends: the field
        ``phase`` of ``loss`` (same arguments), computed with only what that step needs."""
        return getattr(self.loss(x, y=y, target=target, generator=generator), phase)

    def with_label(self, v: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """v (n, w) with the one-hot labels y (n,) appended: (n, w + n_classes); v itself for
        a model that is not conditional (then y is None)."""
        if not self.config.n_classes:
            return v
        return torch.cat([v, one_hot(y, self.config.n_classes, v.dtype)], dim=1)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of p(x | z) (or p(x | z, y)), what a notebook displays;
        (n, latent_dim) -> (n, input_dim)."""
        output = self.decoder(self.with_label(z, y))
        return torch.sigmoid(output) if self.config.likelihood == "bernoulli" else output

    def reconstruction_nll(self, x: torch.Tensor, z: torch.Tensor,
                           y: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(x | z) (or p(x | z, y)) per image, summed over pixels;
        (n, input_dim), (n, latent_dim) -> (n,)."""
        output = self.decoder(self.with_label(z, y))
        # __wrapped__: unchecked, as fit and co. check the data once on entry, not every batch.
        if self.config.likelihood == "bernoulli":
            return likelihood.bernoulli_nll.__wrapped__(x, output)
        return likelihood.gaussian_nll.__wrapped__(x, output, self.sigma())

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """decode(embed(x)), the model's reconstruction of x; (n, input_dim) -> (n, input_dim)."""
        return self.decode(self.embed(x, y), y)

    def encoder_jacobian(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """d embed / dx at every image: (n, input_dim) -> (n, latent_dim, input_dim). Row k is
        the direction in image space along which code unit k changes fastest."""
        return jacobian(self.embed, x, *(() if y is None else (y,)))

    def decoder_jacobian(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """d decode / dz at every code: (n, latent_dim) -> (n, input_dim, latent_dim).
        Column k is the image-space direction that code unit k draws along."""
        return jacobian(self.decode, z, *(() if y is None else (y,)), forward=True)


class Autoencoder(LatentModel):
    """A deterministic autoencoder: z = encoder(x), loss = -log p(x | z). It has no prior over
    codes, so nothing to sample new images from."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, "ae", encoder_width=config.latent_dim)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The code z = h(x) (or h(x, y)); (n, input_dim) -> (n, latent_dim)."""
        return self.encoder(self.with_label(x, y))

    def embed(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Same as ``encode``."""
        return self.encode(x, y)

    def penalty(self, x: torch.Tensor, z: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """The config's penalty per image, at x (n, input_dim) with codes z = encode(x)
        (n, latent_dim): (n,). Zeros for penalty="none". ``generator`` draws the noise of
        "stochastic_contractive"."""
        kind = self.config.penalty
        if kind == "contractive" and isinstance(self.encoder[0], nn.Linear):
            # An MLP: x enters through a = W1 x + b1 only, so J = P W1 with P = dh/da, a
            # (latent_dim, hidden) Jacobian far cheaper than J itself, and
            # ||J||_F^2 = trace(P W1 W1^T P^T): exact, at a fraction of the cost.
            first = self.encoder[0]
            p = jacobian(self.encoder[1:], first(x))                         # (n, d, hidden)
            return ((p @ (first.weight @ first.weight.T)) * p).sum(dim=(1, 2))
        if kind == "contractive":
            return self.encoder_jacobian(x).pow(2).sum(dim=(1, 2))           # ||J||_F^2
        if kind == "stochastic_contractive":
            s = self.config.penalty_noise
            eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            return (self.encoder(x + s * eps) - z).pow(2).sum(dim=1) / s**2  # ~ ||J||_F^2
        if kind == "sparse":
            return z.abs().sum(dim=1)                                        # ||z||_1
        return torch.zeros(len(x), dtype=z.dtype, device=z.device)

    def loss(self, x: torch.Tensor, *, y: torch.Tensor | None = None,
             target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """Batch mean of -log p(target | encode(x)) + lambda * penalty(x); x, target
        (n, input_dim), target = x by default (a noisy x and a clean target: a denoising AE);
        y (n,) the labels of a conditional model. ``generator`` draws the noise of a
        stochastic penalty."""
        target = x if target is None else target
        z = self.encode(x, y)
        reconstruction = self.reconstruction_nll(target, z, y).mean()
        penalty = self.penalty(x, z, generator).mean()
        total = reconstruction
        if self.config.penalty != "none":
            total = reconstruction + self.config.penalty_weight * penalty
        zero = _zero(total)
        return LossTerms(total, reconstruction, zero, penalty, zero, zero)


class VAE(LatentModel):
    """A variational autoencoder: q(z | x) = N(mu(x), diag(exp(logvar(x)))), p(z) = N(0, I).
    The loss is the negative ELBO: E_q[-log p(x | z)] (one reparameterised sample) plus
    beta * KL(q(z | x) || p(z)); with beta = 1 it bounds -log p(x) from above."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, "vae", encoder_width=2 * config.latent_dim)  # mu and logvar

    def encode(self, x: torch.Tensor,
               y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x) (or q(z | x, y)); (n, input_dim) -> two (n, latent_dim)."""
        return self.encoder(self.with_label(x, y)).chunk(2, dim=1)

    def loss(self, x: torch.Tensor, *, y: torch.Tensor | None = None,
             target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """Batch mean of -log p(target | z) + beta * KL, z ~ q(z | x) drawn with ``generator``;
        x, target (n, input_dim), target = x by default; y (n,) the labels of a conditional
        model (a CVAE: -log p(target | z, y) and KL(q(z | x, y) || p(z)))."""
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar, generator)
        reconstruction = self.reconstruction_nll(x if target is None else target, z, y).mean()
        kl = gaussian_kl(mu, logvar).mean()
        zero = _zero(kl)
        return LossTerms(reconstruction + self.config.beta * kl, reconstruction, kl, zero, zero,
                         zero)

    def embed(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The posterior mean mu(x) (or mu(x, y)); (n, input_dim) -> (n, latent_dim)."""
        return self.encode(x, y)[0]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               y: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` new images decode(z, y), z ~ N(0, I), without gradients; -> (n, input_dim).
        A conditional model needs the n labels y (n,) to draw them from."""
        z = torch.randn((n, self.config.latent_dim), generator=generator,
                        dtype=self.dtype, device=self.device)
        return self.decode(z, y)


class AdversarialAutoencoder(Autoencoder):
    """An adversarial autoencoder (Makhzani et al. 2016): a deterministic autoencoder whose
    codes are pushed towards a prior p(z) (``config.prior``, see ``aelib.priors``) by a
    discriminator D(z) in (0, 1), an MLP (``discriminator_hidden``) trained to tell draws of
    p(z) (D -> 1) from codes (D -> 0). ``fit`` takes the paper's three steps on every batch
    (``phases``):

        reconstruction  encoder and decoder  on  -log p(x | z), z = encode(x)
        discriminator   discriminator        on  -log D(z') - log(1 - D(z)),  z' ~ p(z)
        generator       encoder              on  -log D(z): make the codes pass as draws of p(z)

    With ``prior_labels`` the discriminator also reads the one-hot label, and the prior draws
    z' of a batch come from the parts of the prior that its labels name: the only way to pass
    is then for each digit's codes to fill its own part. Only training needs the labels."""

    def __init__(self, config: ModelConfig) -> None:
        LatentModel.__init__(self, config, "aae", encoder_width=config.latent_dim)
        extra = priors.COMPONENTS if config.prior_labels else 0
        self.discriminator = mlp([config.latent_dim + extra, *config.discriminator_hidden, 1],
                                 config.activation)

    def phases(self) -> dict[str, list[nn.Parameter]]:
        """The three steps of every batch, in the paper's order (see the class)."""
        autoencoder = [*self.encoder.parameters(), *self.decoder.parameters()]
        if self.raw_sigma is not None:
            autoencoder.append(self.raw_sigma)
        return {"reconstruction": autoencoder,
                "discriminator": list(self.discriminator.parameters()),
                "generator": list(self.encoder.parameters())}

    def discriminate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's logit that z came from the prior (given the labels y with prior_labels):
        (n, latent_dim) -> (n,); D(z) = sigmoid(logit)."""
        if self.config.prior_labels:
            z = torch.cat([z, one_hot(y, priors.COMPONENTS, z.dtype)], dim=1)
        return self.discriminator(z)[:, 0]

    def sample_prior(self, n: int, generator: torch.Generator | None = None,
                     y: torch.Tensor | None = None) -> torch.Tensor:
        """n draws of p(z), each from the part its label y (n,) names if given: (n, latent_dim)."""
        return priors.sample(self.config.prior, n, self.config.latent_dim, y=y,
                             generator=generator, dtype=self.dtype, device=self.device)

    def loss(self, x: torch.Tensor, *, y: torch.Tensor | None = None,
             target: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> LossTerms:
        """The three terms (batch means) of the class docstring, at x (n, input_dim); y (n,)
        the labels, needed with prior_labels; ``generator`` draws the prior samples."""
        z = self.encode(x)
        reconstruction = self.reconstruction_nll(x if target is None else target, z).mean()
        zero = _zero(reconstruction)
        return LossTerms(reconstruction, reconstruction, zero, zero,
                         self._discriminator_term(z.detach(), y, generator),
                         self._generator_term(z, y))

    def phase_loss(self, phase: str, x: torch.Tensor, *, y: torch.Tensor | None = None,
                   target: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """The term ``phase`` of ``loss``: the discriminator's and the generator's steps skip
        the decoder, and only the discriminator's draws from the prior."""
        if phase == "discriminator":
            with torch.no_grad():   # this step trains D alone
                z = self.encode(x)
            return self._discriminator_term(z, y, generator)
        if phase == "generator":
            return self._generator_term(self.encode(x), y)
        return super().phase_loss(phase, x, y=y, target=target, generator=generator)

    # -log sigmoid(a) = softplus(-a) and -log(1 - sigmoid(a)) = softplus(a), stably.
    def _discriminator_term(self, z: torch.Tensor, y: torch.Tensor | None,
                            generator: torch.Generator | None) -> torch.Tensor:
        """-log D(z') - log(1 - D(z)), batch means, z' ~ p(z) drawn with ``generator``; z
        (n, latent_dim) must carry no gradient to the encoder (this term trains D alone)."""
        real = self.discriminate(self.sample_prior(len(z), generator, y), y)   # logits, (n,)
        return F.softplus(-real).mean() + F.softplus(self.discriminate(z, y)).mean()

    def _generator_term(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """-log D(z), the batch mean: small when the codes z (n, latent_dim) pass as p(z)."""
        return F.softplus(-self.discriminate(z, y)).mean()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               y: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` new images decode(z), z ~ p(z) (from the parts labels y (n,) name, if given),
        without gradients; -> (n, input_dim)."""
        return self.decode(self.sample_prior(n, generator, y))


@validate(config=instance(ModelConfig, "a ModelConfig (from_dict builds one)"), seed=optional(seed),
          device=torch_device)
def build_model(config: ModelConfig, *, seed: int | None = None,
                device: str | torch.device = "cpu") -> Autoencoder | VAE:
    """The ``Autoencoder``, ``VAE`` or ``AdversarialAutoencoder`` that ``config`` describes,
    on ``device``; it keeps
    ``config``. Its initial weights depend on ``seed`` alone (drawn on the CPU, so they are the
    same on every device), or come from the global RNG if it is None."""
    cls = {"ae": Autoencoder, "vae": VAE, "aae": AdversarialAutoencoder}[config.kind]
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
