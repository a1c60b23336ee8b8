"""The priors p(z) an adversarial autoencoder can match its codes to (Makhzani et al. 2016).

An AAE needs only *samples* of its prior: a discriminator learns to tell them from codes. So
any distribution one can draw from will do, even one without a tractable density:

    "gaussian"    N(0, I) in any number of dimensions, the VAE's prior
    "mixture"     2-D: COMPONENTS Gaussians whose means sit on a circle of radius RADIUS, each
                  stretched along its radius (standard deviations RADIAL_STD and
                  TANGENTIAL_STD), like petals
    "swiss_roll"  2-D: a spiral of SWISS_ROLL_TURNS turns whose radius grows from 0 to
                  SWISS_ROLL_RADIUS, blurred by SWISS_ROLL_NOISE; a point's position along it
                  is t = sqrt(v), v ~ U(0, 1), so that the ink is spread evenly along the arm

The two 2-D priors come in COMPONENTS parts: the mixture's components, and the roll cut into
COMPONENTS stretches of equal probability (v in [k / COMPONENTS, (k + 1) / COMPONENTS)). Given
labels y (n,), ``sample`` draws each point from its label's part; that is how the
label-incorporated AAE sends each digit to a part of its own. ``component_of`` says which part
a point belongs to. Shapes: z is (n, dim).
"""

from __future__ import annotations

import math

import torch

PRIORS = ("gaussian", "mixture", "swiss_roll")
COMPONENTS = 10           # parts of the "mixture" and "swiss_roll" priors
RADIUS = 3.0              # the mixture's means lie on this circle
RADIAL_STD = 0.6          # each component's spread along its radius ...
TANGENTIAL_STD = 0.2      # ... and across it
SWISS_ROLL_TURNS = 1.5
SWISS_ROLL_RADIUS = 4.0
SWISS_ROLL_NOISE = 0.15


def component_means() -> torch.Tensor:
    """The mixture's COMPONENTS means on the circle of radius RADIUS, component k at angle
    2 pi k / COMPONENTS: (COMPONENTS, 2)."""
    angles = 2 * math.pi * torch.arange(COMPONENTS, dtype=torch.float64) / COMPONENTS
    return RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)


def swiss_roll_curve(t: torch.Tensor) -> torch.Tensor:
    """The roll's centre line at positions t in [0, 1]: (n,) -> (n, 2)."""
    angle = 2 * math.pi * SWISS_ROLL_TURNS * t
    return SWISS_ROLL_RADIUS * t[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)


def sample(name: str, n: int, dim: int = 2, *, y: torch.Tensor | None = None,
           generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
           device: torch.device | str = "cpu") -> torch.Tensor:
    """n draws from prior ``name`` in ``dim`` dimensions: (n, dim). ``y`` (n,) in
    [0, COMPONENTS): draw each from its label's part (2-D priors only); None: from the whole
    prior. Checked by the model's config, not here."""
    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=dtype, device=device)

    if name == "gaussian":
        return normal(n, dim)
    if y is None:  # a part at random, each equally likely
        y = torch.randint(COMPONENTS, (n,), generator=generator, device=device)
    if name == "mixture":
        angle = (2 * math.pi / COMPONENTS) * y.to(dtype)                         # (n,)
        radial = torch.stack([angle.cos(), angle.sin()], dim=1)                  # (n, 2)
        tangential = torch.stack([-angle.sin(), angle.cos()], dim=1)
        spread = normal(n, 2) * torch.tensor([RADIAL_STD, TANGENTIAL_STD], dtype=dtype,
                                             device=device)
        return (RADIUS + spread[:, :1]) * radial + spread[:, 1:] * tangential
    # "swiss_roll": v uniform within the label's stretch, t = sqrt(v) along the spiral
    v = (y.to(dtype) + torch.rand(n, generator=generator, dtype=dtype, device=device)) / COMPONENTS
    return swiss_roll_curve(v.sqrt()) + SWISS_ROLL_NOISE * normal(n, 2)


def component_of(name: str, z: torch.Tensor) -> torch.Tensor:
    """The part of 2-D prior ``name`` each point belongs to: (n, 2) -> (n,) integers in
    [0, COMPONENTS). "mixture": the nearest component mean; "swiss_roll": the stretch of the
    nearest point of the centre line (found on a grid of 4,000 positions)."""
    z = z.detach().to("cpu", torch.float64)
    if name == "mixture":
        return torch.cdist(z, component_means()).argmin(dim=1)
    t = torch.linspace(0.0, 1.0, 4000, dtype=torch.float64)
    nearest = t[torch.cdist(z, swiss_roll_curve(t)).argmin(dim=1)]
    return (nearest.pow(2) * COMPONENTS).long().clamp(max=COMPONENTS - 1)  # v = t^2
