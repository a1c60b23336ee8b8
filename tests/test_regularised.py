"""Regularised autoencoders: the Jacobian, the contractive, stochastic contractive and sparse
penalties, zero-masking noise, and the convolutional architecture every kind can use."""

from __future__ import annotations

import json
import math

import pytest
import torch

from aelib.evaluation import encoder_jacobian, reconstruction_jacobian_norm
from aelib.models import (
    PENALTIES,
    ModelConfig,
    build_model,
    conv_decoder,
    conv_encoder,
    jacobian,
)
from aelib.training import (
    MaskingNoise,
    RandomShift,
    cache_key,
    fit,
    load_checkpoint,
    save_checkpoint,
)

D, SIDE, LATENT = 64, 8, 3


def config(**changes) -> ModelConfig:
    return ModelConfig(**{"kind": "ae", "input_dim": D, "hidden": (16,), "latent_dim": LATENT,
                          "activation": "tanh", **changes})


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, D, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- the Jacobian


def test_jacobian_of_a_one_hidden_layer_encoder_is_its_closed_form():
    # h(x) = W2 tanh(W1 x + b1) + b2  =>  dh/dx = W2 diag(1 - tanh^2(W1 x + b1)) W1.
    model = build_model(config(), seed=0).double()
    x = images().double()
    (w1, b1), (w2, _) = ((m.weight, m.bias) for m in model.encoder if hasattr(m, "weight"))
    slope = 1 - torch.tanh(x @ w1.T + b1) ** 2                        # (n, hidden)
    closed = torch.einsum("kh,nh,hi->nki", w2, slope, w1)             # (n, latent, D)
    torch.testing.assert_close(model.encoder_jacobian(x), closed)
    # The contractive penalty is its squared Frobenius norm, image by image.
    cae = build_model(config(penalty="contractive", penalty_weight=1.0), seed=0).double()
    torch.testing.assert_close(cae.penalty(x, cae.encode(x)), closed.pow(2).sum(dim=(1, 2)))


@pytest.mark.parametrize(("architecture", "hidden"), [("mlp", ()), ("mlp", (16,)),
                                                    ("mlp", (16, 8)), ("conv", (4, 8))])
def test_contractive_penalty_is_the_squared_norm_of_the_whole_jacobian(architecture, hidden):
    # For an MLP the penalty is computed from dh/da at the first layer's output a = W1 x + b1;
    # it must equal ||dh/dx||_F^2 from the whole Jacobian, whatever the depth.
    model = build_model(config(architecture=architecture, hidden=hidden, penalty="contractive",
                               penalty_weight=1.0), seed=4).double()
    x = images().double()
    torch.testing.assert_close(model.penalty(x, model.encode(x)),
                               model.encoder_jacobian(x).pow(2).sum(dim=(1, 2)))


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_jacobian_matches_central_differences(architecture):
    hidden = (4, 8) if architecture == "conv" else (16,)
    model = build_model(config(architecture=architecture, hidden=hidden), seed=1).double()
    x, step = images(3).double(), 1e-6
    numeric = torch.stack([(model.embed(x + step * e) - model.embed(x - step * e)) / (2 * step)
                           for e in torch.eye(D, dtype=torch.float64)], dim=2)  # (n, latent, D)
    torch.testing.assert_close(model.encoder_jacobian(x), numeric, rtol=1e-6, atol=1e-8)


def test_decoder_jacobian_and_the_reconstruction_norm_without_the_d_by_d_product():
    model = build_model(config(), seed=2).double()
    x = images(4).double()
    dec = model.decoder_jacobian(model.embed(x))                       # forward mode
    assert dec.shape == (4, D, LATENT)
    torch.testing.assert_close(dec, jacobian(model.decode, model.embed(x)))  # = reverse mode
    full = jacobian(model.reconstruct, x)                              # (n, D, D), the long way
    torch.testing.assert_close(full, dec @ model.encoder_jacobian(x))  # the chain rule
    model = model.float()
    torch.testing.assert_close(reconstruction_jacobian_norm(model, x.float(), batch_size=3),
                               torch.linalg.matrix_norm(full).float(), rtol=1e-4, atol=1e-6)


def test_encoder_jacobian_works_under_no_grad_in_batches_and_leaves_the_model_alone():
    model = build_model(config(kind="vae"), seed=0)
    x = images(7)
    with torch.no_grad():
        whole = encoder_jacobian(model, x)
    torch.testing.assert_close(encoder_jacobian(model, x, batch_size=2), whole)
    assert whole.shape == (7, LATENT, D) and not whole.requires_grad
    assert model.training and all(p.grad is None for p in model.parameters())
    # A VAE's code is the posterior mean: its Jacobian is that of mu(x).
    torch.testing.assert_close(whole, jacobian(lambda v: model.encode(v)[0], x))


# --------------------------------------------------------------------------- penalties


def test_stochastic_penalty_tends_to_the_contractive_one_as_the_noise_shrinks():
    # E||h(x + s eps) - h(x)||^2 / s^2 = ||J||_F^2 + O(s^2): the two agree to first order.
    x = images(2).double()
    exact = build_model(config(), seed=3).double().encoder_jacobian(x).pow(2).sum(dim=(1, 2))
    repeats = 20_000
    errors = []
    for s in (0.3, 0.03):
        model = build_model(config(penalty="stochastic_contractive", penalty_weight=1.0,
                                   penalty_noise=s), seed=3).double()
        xs = x.repeat(repeats, 1)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            draws = model.penalty(xs, model.encode(xs), generator).view(repeats, 2)
        estimate, stderr = draws.mean(dim=0), draws.std(dim=0) / math.sqrt(repeats)
        errors.append((estimate - exact).abs() / exact)
        if s == 0.03:  # small noise: equal up to the Monte Carlo error
            assert torch.all((estimate - exact).abs() < 4 * stderr + 1e-3 * exact)
    assert torch.all(errors[0] > 3 * errors[1])  # the gap closes as the noise shrinks


@pytest.mark.parametrize(("architecture", "hidden"), [("mlp", (16,)), ("conv", (4, 8))])
def test_each_penalty_enters_the_loss_with_its_weight_and_trains(architecture, hidden):
    x = images(8)
    for kind in PENALTIES[1:]:
        model = build_model(config(penalty=kind, penalty_weight=0.25, architecture=architecture,
                                   hidden=hidden), seed=0)
        terms = model.loss(x, generator=torch.Generator().manual_seed(0))
        assert terms.penalty.item() > 0 and terms.kl.item() == 0
        torch.testing.assert_close(terms.total, terms.reconstruction + 0.25 * terms.penalty)
        if kind == "sparse":
            torch.testing.assert_close(terms.penalty, model.encode(x).abs().sum(dim=1).mean())
        # The penalty alone moves the encoder: its gradient reaches the first layer.
        terms.penalty.backward()
        first = next(m for m in model.encoder if hasattr(m, "weight"))
        assert first.weight.grad.abs().sum() > 0


def test_a_weighted_penalty_lowers_what_it_penalises():
    x = torch.sigmoid(3 * torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
                      @ torch.randn(2, D, generator=torch.Generator().manual_seed(1)))
    norms = {}
    for weight in (0.0, 1.0):
        model = build_model(config(penalty="contractive", penalty_weight=weight), seed=0)
        fit(model, x, epochs=20, batch_size=50, progress=False)
        norms[weight] = encoder_jacobian(model, x).pow(2).sum(dim=(1, 2)).mean().item()
    assert norms[1.0] < 0.5 * norms[0.0]


def test_no_penalty_leaves_the_loss_exactly_the_reconstruction():
    model = build_model(config(), seed=0)
    terms = model.loss(images())
    assert torch.equal(terms.total, terms.reconstruction) and terms.penalty.item() == 0.0


# --------------------------------------------------------------------------- masking noise


def test_masking_noise_zeroes_a_fraction_of_pixels_repeatably():
    x = torch.rand(400, D) + 0.5                          # no pixel is zero before masking
    masked = MaskingNoise(0.3)(x, torch.Generator().manual_seed(0))
    zeroed = (masked == 0).float().mean().item()
    assert abs(zeroed - 0.3) < 0.01                       # 25,600 pixels: 4 standard errors
    assert torch.equal(masked[masked != 0], x[masked != 0])  # the rest are untouched
    assert torch.equal(masked, MaskingNoise(0.3)(x, torch.Generator().manual_seed(0)))
    assert torch.equal(MaskingNoise(0.0)(x), x) and not MaskingNoise(1.0)(x).any()
    assert MaskingNoise(0.5).to_dict() == {"kind": "masking_noise", "fraction": 0.5}


def test_masking_noise_trains_a_denoising_autoencoder_and_keys_the_cache():
    model = build_model(config(), seed=0)
    history = fit(model, images(40), epochs=2, batch_size=10, corrupt=MaskingNoise(0.5),
                  progress=False)
    assert history.epochs == 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "schedule": "constant", "seed": 0}
    keys = {cache_key(config(), images(), None, corrupt=corrupt, **settings)[0]
            for corrupt in (None, MaskingNoise(0.25), MaskingNoise(0.5))}
    assert len(keys) == 3


# --------------------------------------------------------------------------- random shifts


def test_random_shift_moves_each_image_by_at_most_its_pixels():
    # Digits with an empty border of 2 pixels: a shift by up to 2 loses no ink, so each
    # shifted image is its original rolled by some (dy, dx) with |dy|, |dx| <= 2.
    x = torch.zeros(300, 10, 10)
    x[:, 2:8, 2:8] = torch.rand(300, 6, 6) + 0.1
    x = x.reshape(300, 100)
    shifted = RandomShift(2)(x, torch.Generator().manual_seed(0))
    moves = []
    for original, moved in zip(x.view(-1, 10, 10), shifted.view(-1, 10, 10), strict=True):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(torch.roll(original, (dy, dx), (0, 1)), moved)]
        assert len(found) == 1
        moves.append(found[0])
    assert len(set(moves)) == 25                  # every offset occurs among 300 images
    assert torch.equal(shifted, RandomShift(2)(x, torch.Generator().manual_seed(0)))
    assert torch.equal(RandomShift(0)(x), x)
    # Ink shifted past the edge is lost and the gap is filled with 0, not wrapped around.
    edge = torch.zeros(1, 9)
    edge[0, 2] = 1.0                               # top right corner of a 3 x 3 image
    ink = RandomShift(5)(edge.expand(200, 9), torch.Generator().manual_seed(0)).sum(1)
    assert (ink == 0).any() and ink.le(1).all()


def test_random_shift_then_masks_and_keys_the_cache():
    x = torch.rand(50, 100) + 0.5
    both = RandomShift(1, MaskingNoise(0.5))(x, torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(both, MaskingNoise(0.5)(RandomShift(1)(x, generator), generator))
    assert RandomShift(1, MaskingNoise(0.5)).to_dict() == {
        "kind": "random_shift", "pixels": 1,
        "then": {"kind": "masking_noise", "fraction": 0.5}}
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "schedule": "constant", "seed": 0}
    keys = {cache_key(config(), images(), None, corrupt=corrupt, **settings)[0]
            for corrupt in (MaskingNoise(0.5), RandomShift(1), RandomShift(2),
                            RandomShift(1, MaskingNoise(0.5)))}
    assert len(keys) == 4


# --------------------------------------------------------------------------- convolutions


def test_conv_blocks_halve_and_double_the_side():
    encoder = conv_encoder(SIDE, (4, 8), out_width=5)
    decoder = conv_decoder(SIDE, (4, 8), latent_dim=5)
    x = images(2)
    assert encoder[:3](x).shape == (2, 4, 4, 4) and encoder(x).shape == (2, 5)
    assert decoder(encoder(x)).shape == (2, D)
    assert not isinstance(decoder[-2], torch.nn.ReLU)      # logits: nothing after the last layer


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_every_kind_takes_the_conv_architecture(kind, tmp_path):
    cfg = config(kind=kind, architecture="conv", hidden=(4, 8))
    model = build_model(cfg, seed=0)
    x = images(5)
    assert model.embed(x).shape == (5, LATENT) and model.reconstruct(x).shape == (5, D)
    history = fit(model, x, epochs=3, batch_size=5, progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "conv.pt", model, history))
    torch.testing.assert_close(loaded.reconstruct(x), model.eval().reconstruct(x))


def test_conv_shares_weights_across_the_image_so_it_has_fewer_parameters():
    count = {arch: sum(p.numel() for p in build_model(
        ModelConfig(architecture=arch, hidden=hidden, latent_dim=16)).encoder.parameters())
        for arch, hidden in (("mlp", (128,)), ("conv", (16, 32)))}
    # Two 4x4 convolutions have 16 * 17 + 32 * (16 * 16 + 1) weights; the linear layer from
    # 32 x 7 x 7 features to the code has the most.
    assert count["conv"] == (16 * 16 + 16) + (32 * 16 * 16 + 32) + (32 * 49 * 16 + 16)
    assert count["conv"] < count["mlp"] / 3
