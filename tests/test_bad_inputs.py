"""Bad inputs across aelib's public API: each is refused with the right error type and a
message that names the problem, and none leaves a file behind.

Every case runs in a sandbox folder (a damageable copy of ``data/``, an empty model cache, the
working directory) that is listed before the call and compared after it: a refused call must
leave no partial or temporary file and change no file there.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from aelib import configure_threads, i18n, seed_everything
from aelib.data import (
    DataIntegrityError,
    ImageDataset,
    factor_images,
    load_dataset,
    stratified_split,
    swiss_roll,
)
from aelib.dimensionality import (
    distance_ratio,
    kth_neighbor_distance,
    log_ball_volume,
    pairwise_distances,
    shell_fraction,
    uniform_cube,
)
from aelib.download import ChecksumError, DownloadError, download, fetch, read_idx
from aelib.evaluation import (
    aggregate_posterior_log_density,
    anomaly_auroc,
    anomaly_roc,
    digit_classifier,
    effective_sample_size,
    elbo,
    encode_dataset,
    encoder_jacobian,
    few_label_accuracy,
    grid_log_likelihood,
    importance_log_likelihood,
    knn_accuracy,
    labelled_subset,
    nearest_neighbors,
    precision_at_k,
    quantize_codes,
    rate_and_distortion,
    reconstruction_error,
    reconstruction_jacobian_norm,
    trustworthiness,
)
from aelib.exercises import Exercise, claim
from aelib.likelihood import bernoulli_nll, categorical_nll, gaussian_nll
from aelib.manifold import embed, geodesic_distances, interpolate, knn_graph
from aelib.models import ModelConfig, build_model
from aelib.plotting import panels, plot_curves, show_images, translate_figures
from aelib.training import (
    CheckpointError,
    History,
    MaskingNoise,
    RandomShift,
    fit,
    load_checkpoint,
    save_checkpoint,
    train_or_load,
)
from aelib.views import decode_points
from aelib.zoo import train_adversarial, train_wide_pair, wide_recipe

D = 16
AE_CONFIG = ModelConfig(kind="ae", input_dim=D, hidden=(8,), latent_dim=2)
VAE_CONFIG = AE_CONFIG.replace(kind="vae")
AE, VAE = build_model(AE_CONFIG, seed=0), build_model(VAE_CONFIG, seed=0)
CVAE = build_model(VAE_CONFIG.replace(n_classes=3), seed=0)  # conditioned on 3 labels
X = torch.rand(12, D, generator=torch.Generator().manual_seed(0))
NAN_X = X.clone()
NAN_X[3, 5] = float("nan")
INF_X = X.clone()
INF_X[0, 0] = float("inf")
POINTS = np.random.default_rng(0).random((20, 3))
LABELS = np.repeat(np.arange(4), 5)
GOOD_SHA = "0" * 64


@dataclass(frozen=True)
class Bad:
    """One bad input: ``call(sandbox)`` must raise ``error`` with a message matching
    ``match``. ``setup(sandbox)`` prepares damaged files before the sandbox is listed."""

    id: str
    call: Callable[[Path], object]
    error: type[BaseException]
    match: str
    setup: Callable[[Path], None] | None = None


# --------------------------------------------------------------------------- damaged files


def flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def write_checkpoint(sandbox: Path, change: Callable[[dict], object] | None = None) -> None:
    """A valid checkpoint at sandbox/model.pt, its payload edited by ``change``."""
    path = sandbox / "model.pt"
    save_checkpoint(path, AE, History(train_loss=[1.0]))
    if change is not None:
        payload = torch.load(path, weights_only=True)
        payload = change(payload) or payload
        torch.save(payload, path)


def truncate_checkpoint(sandbox: Path) -> None:
    write_checkpoint(sandbox)
    path = sandbox / "model.pt"
    path.write_bytes(path.read_bytes()[:300])


def _wrong_latent(payload: dict) -> None:
    payload["config"]["latent_dim"] = 3


def _wrong_version(payload: dict) -> None:
    payload["version"] = 99


def _foreign(payload: dict) -> dict:
    return {"weights": payload["state_dict"]}


def _no_config(payload: dict) -> None:
    del payload["config"]


def _bad_history(payload: dict) -> None:
    payload["history"] = {"train_loss": [float("nan")]}


def write_idx(sandbox: Path, name: str, raw: bytes, *, compress: bool = False) -> None:
    (sandbox / name).write_bytes(gzip.compress(raw, mtime=0) if compress else raw)


def idx_header(code: int, *sizes: int) -> bytes:
    return bytes([0, 0, code, len(sizes)]) + b"".join(s.to_bytes(4, "big") for s in sizes)


def fake_download(sandbox: Path) -> None:
    """A downloaded 'mnist' folder whose train images are the wrong file."""
    folder = sandbox / "data" / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(b"not the real file")


# --------------------------------------------------------------------------- the table

CASES: list[Bad] = [
    # ---- data: names, files, bundled data, splits, generators
    Bad("load_dataset-unknown-name", lambda s: load_dataset("cifar10", root=s / "data"),
        ValueError, r"name must be one of .*'cifar10'"),
    Bad("load_dataset-split-of-subset", lambda s: load_dataset("digits", split="train"),
        ValueError, r"split applies to 'mnist' and 'fashion_mnist' only"),
    Bad("load_dataset-unknown-split", lambda s: load_dataset("mnist", split="validation"),
        ValueError, r"split must be one of .*'validation'"),
    Bad("load_dataset-missing-data-folder",
        lambda s: load_dataset("mnist_subset", root=s / "nowhere"),
        FileNotFoundError, r"mnist_subset\.npz is missing"),
    Bad("load_dataset-corrupted-bundled-file",
        lambda s: load_dataset("mnist_subset", root=s / "data"),
        DataIntegrityError, r"mnist_subset\.npz is corrupted: its SHA-256 is",
        setup=lambda s: flip_a_byte(s / "data" / "mnist_subset.npz")),
    Bad("load_dataset-missing-checksum-list",
        lambda s: load_dataset("mnist_subset", root=s / "data"),
        DataIntegrityError, r"checksum list .*SHA256SUMS is missing",
        setup=lambda s: (s / "data" / "SHA256SUMS").unlink()),
    Bad("load_dataset-file-not-in-checksum-list",
        lambda s: load_dataset("mnist_subset", root=s / "data"),
        DataIntegrityError, r"mnist_subset\.npz has no line in",
        setup=lambda s: (s / "data" / "SHA256SUMS").write_text(f"{GOOD_SHA}  other.npz\n")),
    Bad("load_dataset-not-downloaded", lambda s: load_dataset("mnist", root=s / "data"),
        FileNotFoundError, r"'mnist' is not downloaded: .* missing"),
    Bad("load_dataset-damaged-download", lambda s: load_dataset("mnist", root=s / "data",
                                                                split="train"),
        ChecksumError, r"train-images-idx3-ubyte\.gz is damaged or not the expected file",
        setup=fake_download),
    Bad("binarized-negative-seed", lambda s: load_dataset("digits").binarized(seed=-1),
        ValueError, r"seed must be >= 0, got -1"),
    Bad("stratified_split-float-labels", lambda s: stratified_split(np.ones(10) * 0.5),
        ValueError, r"labels must be a non-empty 1-D integer array, got .*dtype float64"),
    Bad("stratified_split-empty-labels", lambda s: stratified_split(np.array([], dtype=int)),
        ValueError, r"labels must be a non-empty 1-D integer array.*shape \(0,\)"),
    Bad("stratified_split-fraction-1", lambda s: stratified_split(LABELS, test_fraction=1.0),
        ValueError, r"test_fraction must be < 1\.0"),
    Bad("stratified_split-singleton-class", lambda s: stratified_split(np.array([0, 0, 1])),
        ValueError, r"class 1 has 1 sample"),
    Bad("ImageDataset-float-images",
        lambda s: ImageDataset(np.zeros((2, 4, 4)), np.zeros(2, dtype=np.int64), "x"),
        TypeError, r"images must be a uint8 array .* got .*dtype float64"),
    Bad("ImageDataset-labels-wrong-length",
        lambda s: ImageDataset(np.zeros((2, 4, 4), np.uint8), np.zeros(3, np.int64), "x"),
        ValueError, r"labels must have shape \(2,\), got \(3,\)"),
    Bad("ImageDataset.subset-float-indices",
        lambda s: ImageDataset(np.zeros((2, 4, 4), np.uint8), np.zeros(2, np.int64),
                               "x").subset(np.array([0.0])),
        TypeError, r"indices must hold integer values, got dtype float64"),
    Bad("swiss_roll-one-point", lambda s: swiss_roll(1), ValueError, r"n must be >= 2, got 1"),
    Bad("swiss_roll-nan-noise", lambda s: swiss_roll(10, noise=float("nan")),
        ValueError, r"noise must be finite"),
    Bad("factor_images-unknown-kind", lambda s: factor_images(4, kind="star"),
        ValueError, r"kind must be one of 'blob', 'bar'; got 'star'"),
    Bad("factor_images-size-too-small", lambda s: factor_images(4, size=4),
        ValueError, r"size must be >= 8, got 4"),
    Bad("factor_images-float-count", lambda s: factor_images(2.5),
        TypeError, r"n must be an integer, got float 2\.5"),
    # ---- likelihood
    Bad("gaussian_nll-shape-mismatch", lambda s: gaussian_nll(X, X[:, :3]),
        ValueError, r"target and mean must have the same shape"),
    Bad("gaussian_nll-nan-target", lambda s: gaussian_nll(NAN_X, X),
        ValueError, r"target must not contain NaN or infinity"),
    Bad("gaussian_nll-zero-sigma", lambda s: gaussian_nll(X, X, 0.0),
        ValueError, r"sigma must be > 0\.0, got 0\.0"),
    Bad("gaussian_nll-negative-sigma-tensor", lambda s: gaussian_nll(X, X, -torch.ones(D)),
        ValueError, r"min\(sigma\) must be > 0\.0, got -1\.0"),
    Bad("gaussian_nll-sigma-wrong-shape", lambda s: gaussian_nll(X, X, torch.ones(3)),
        ValueError, r"sigma of shape \(3,\) does not broadcast to target"),
    Bad("gaussian_nll-empty", lambda s: gaussian_nll(torch.ones(0, D), torch.ones(0, D)),
        ValueError, r"target must not be empty, got shape \(0, 16\)"),
    Bad("bernoulli_nll-target-outside-0-1", lambda s: bernoulli_nll(X * 3, X),
        ValueError, r"target must lie in \[0, 1\]"),
    Bad("bernoulli_nll-numpy-array", lambda s: bernoulli_nll(X.numpy(), X),
        TypeError, r"target must be a torch\.Tensor, got an array"),
    Bad("bernoulli_nll-integer-logits",
        lambda s: bernoulli_nll(X, torch.ones(12, D, dtype=torch.int64)),
        TypeError, r"logits must be a floating-point tensor, got dtype torch\.int64"),
    Bad("categorical_nll-float-classes", lambda s: categorical_nll(torch.zeros(12), X),
        TypeError, r"target must hold integer class indices, got dtype torch\.float32"),
    Bad("categorical_nll-class-out-of-range",
        lambda s: categorical_nll(torch.full((12,), D), X),
        ValueError, r"target must be <= 15, got 16"),
    # ---- models
    Bad("ModelConfig-unknown-kind", lambda s: ModelConfig(kind="gan"),
        ValueError, r"kind must be one of 'ae', 'vae', 'aae'; got 'gan'"),
    Bad("ModelConfig-latent-0", lambda s: ModelConfig(latent_dim=0),
        ValueError, r"latent_dim must be >= 1, got 0"),
    Bad("ModelConfig-hidden-string", lambda s: ModelConfig(hidden="400"),
        TypeError, r"hidden must be a sequence of layer widths"),
    Bad("ModelConfig-negative-sigma", lambda s: ModelConfig(likelihood="gaussian", sigma=-1.0),
        ValueError, r"sigma must be > 0\.0, got -1\.0"),
    Bad("ModelConfig-unknown-sigma-name",
        lambda s: ModelConfig(likelihood="gaussian", sigma="learnt"),
        ValueError, r"sigma must be a positive number or 'learned', got 'learnt'"),
    Bad("ModelConfig-beta-on-ae", lambda s: ModelConfig(kind="ae", beta=4.0),
        ValueError, r"beta weights the KL term of a VAE"),
    Bad("ModelConfig-unknown-activation", lambda s: ModelConfig(activation="swish"),
        ValueError, r"activation must be one of .*'swish'"),
    Bad("ModelConfig-unknown-penalty", lambda s: ModelConfig(penalty="l2"),
        ValueError, r"penalty must be one of 'none', 'contractive', .*; got 'l2'"),
    Bad("ModelConfig-penalty-on-vae", lambda s: ModelConfig(kind="vae", penalty="sparse"),
        ValueError, r"penalty regularises an autoencoder \(kind='ae'\)"),
    Bad("ModelConfig-weight-without-penalty", lambda s: ModelConfig(penalty_weight=0.5),
        ValueError, r"with penalty='none' it must be 0\.0, got 0\.5"),
    Bad("ModelConfig-negative-penalty-weight",
        lambda s: ModelConfig(penalty="sparse", penalty_weight=-1.0),
        ValueError, r"penalty_weight must be >= 0\.0, got -1\.0"),
    Bad("ModelConfig-noise-without-stochastic-penalty",
        lambda s: ModelConfig(penalty="contractive", penalty_noise=0.3),
        ValueError, r"penalty_noise applies to penalty='stochastic_contractive' only"),
    Bad("ModelConfig-zero-penalty-noise",
        lambda s: ModelConfig(penalty="stochastic_contractive", penalty_noise=0.0),
        ValueError, r"penalty_noise must be > 0\.0, got 0\.0"),
    Bad("ModelConfig-conv-not-square", lambda s: ModelConfig(architecture="conv", input_dim=80),
        ValueError, r"input_dim must be a square number \(784 = 28 x 28\), got 80"),
    Bad("ModelConfig-conv-side-not-divisible",
        lambda s: ModelConfig(architecture="conv", hidden=(8, 8, 8)),
        ValueError, r"the side 28 a multiple of 2 \*\* len\(hidden\); got hidden=\(8, 8, 8\)"),
    Bad("ModelConfig-conv-no-layers", lambda s: ModelConfig(architecture="conv", hidden=()),
        ValueError, r"hidden must be non-empty"),
    Bad("ModelConfig-unknown-architecture", lambda s: ModelConfig(architecture="rnn"),
        ValueError, r"architecture must be one of 'mlp', 'conv'; got 'rnn'"),
    Bad("ModelConfig-unknown-prior", lambda s: ModelConfig(kind="aae", prior="circle"),
        ValueError, r"prior must be one of 'gaussian', 'mixture', 'swiss_roll'; got 'circle'"),
    Bad("ModelConfig-prior-on-a-vae", lambda s: ModelConfig(kind="vae", prior="mixture"),
        ValueError, r"prior, prior_labels and discriminator_hidden describe an adversarial "
        r"autoencoder"),
    Bad("ModelConfig-labelled-gaussian-prior",
        lambda s: ModelConfig(kind="aae", prior_labels=True),
        ValueError, r"prior_labels .* needs prior='mixture' or 'swiss_roll'"),
    Bad("ModelConfig-discriminator-width-0",
        lambda s: ModelConfig(kind="aae", discriminator_hidden=(8, 0)),
        ValueError, r"discriminator_hidden\[1\] must be >= 1, got 0"),
    Bad("train_adversarial-unknown-prior",
        lambda s: train_adversarial(torch.zeros(4, 784), prior="ring", fast=True,
                                    cache_dir=s / "cache"),
        ValueError, r"prior must be one of 'gaussian', 'mixture', 'swiss_roll'; got 'ring'"),
    Bad("train_wide_pair-flat-images",
        lambda s: train_wide_pair(torch.zeros(784), fast=True, cache_dir=s / "cache"),
        ValueError, r"train_x must have 2 dimensions"),
    Bad("wide_recipe-fast-not-a-bool", lambda s: wide_recipe(fast="yes"),
        TypeError, r"fast must be True or False, got str"),
    Bad("ModelConfig-labels-with-conv",
        lambda s: ModelConfig(architecture="conv", n_classes=10),
        ValueError, r"n_classes \(a model conditioned on labels\) needs kind 'ae' or 'vae', "
        r"architecture='mlp'"),
    Bad("fit-conditional-without-labels", lambda s: fit(CVAE, X, epochs=1, progress=False),
        ValueError, r"train_y is needed: model takes labels in \[0, 2\], as it is conditioned on "
        r"them \(n_classes = 3\)"),
    Bad("fit-label-out-of-range",
        lambda s: fit(CVAE, X, train_y=np.full(12, 3), epochs=1, progress=False),
        ValueError, r"train_y must lie in \[0, 2\] \(n_classes = 3\), got values from 3 to 3"),
    Bad("fit-labels-for-an-unconditional-model",
        lambda s: fit(VAE, X, train_y=np.zeros(12, np.int64), epochs=1, progress=False),
        ValueError, r"train_y gives labels, but model is not conditioned on labels"),
    Bad("encode_dataset-float-labels",
        lambda s: encode_dataset(CVAE, X, np.zeros(12)),
        TypeError, r"y must hold integer values, got dtype float64"),
    Bad("elbo-labels-of-another-length",
        lambda s: elbo(CVAE, X, np.zeros(5, np.int64)),
        ValueError, r"x and y must have the same length, got 12 and 5"),
    Bad("grid_log_likelihood-conditional-model", lambda s: grid_log_likelihood(CVAE, X),
        ValueError, r"vae is conditioned on labels \(n_classes = 3\), and this function takes "
                    r"none"),
    Bad("MaskingNoise-fraction-above-1", lambda s: MaskingNoise(1.5),
        ValueError, r"fraction must be <= 1\.0, got 1\.5"),
    Bad("RandomShift-negative-pixels", lambda s: RandomShift(-1),
        ValueError, r"pixels must be >= 0, got -1"),
    Bad("RandomShift-then-not-a-corruption", lambda s: RandomShift(1, then=lambda x, g: x),
        TypeError, r"then must be a GaussianNoise or MaskingNoise"),
    Bad("RandomShift-images-not-square", lambda s: RandomShift(1)(torch.zeros(2, 10)),
        ValueError, r"RandomShift needs square images: x has 10 pixels per row"),
    Bad("ModelConfig.from_dict-unknown-field", lambda s: ModelConfig.from_dict({"units": 3}),
        ValueError, r"each key of values must be one of 'kind', .*; got 'units'"),
    Bad("build_model-dict-config", lambda s: build_model({"kind": "ae"}),
        TypeError, r"config must be a ModelConfig"),
    # A model's own methods trust their input, like any nn.Module's forward; the checks on
    # images and codes sit in the functions a learner calls with a model.
    Bad("encode_dataset-wrong-width", lambda s: encode_dataset(AE, torch.rand(4, D + 1)),
        ValueError, r"x must have input_dim = 16 columns, got shape \(4, 17\)"),
    Bad("encode_dataset-float64", lambda s: encode_dataset(AE, X.double()),
        TypeError, r"x must have the model's dtype torch\.float32, got torch\.float64"),
    Bad("encode_dataset-one-image-1d", lambda s: encode_dataset(AE, X[0]),
        ValueError, r"x must have 2 dimensions, got shape \(16,\)"),
    Bad("encoder_jacobian-nan", lambda s: encoder_jacobian(AE, NAN_X),
        ValueError, r"x must not contain NaN or infinity"),
    Bad("reconstruction_jacobian_norm-wrong-width",
        lambda s: reconstruction_jacobian_norm(AE, torch.rand(4, D + 1)),
        ValueError, r"x must have input_dim = 16 columns, got shape \(4, 17\)"),
    Bad("encoder_jacobian-batch-0", lambda s: encoder_jacobian(AE, X, batch_size=0),
        ValueError, r"batch_size must be >= 1, got 0"),
    Bad("elbo-inf", lambda s: elbo(VAE, INF_X),
        ValueError, r"x must not contain NaN or infinity"),
    Bad("reconstruction_error-empty-batch",
        lambda s: reconstruction_error(AE, torch.ones(0, D)),
        ValueError, r"x must not be empty, got shape \(0, 16\)"),
    Bad("fit-pixels-above-1-bernoulli", lambda s: fit(AE, X * 255, epochs=1, progress=False),
        ValueError, r"train_x must lie in \[0, 1\] for a Bernoulli likelihood"),
    Bad("decode_points-wrong-latent-width", lambda s: decode_points(AE, np.zeros((3, 5))),
        ValueError, r"codes must have latent_dim = 2 columns"),
    # ---- training, checkpoints, cache
    Bad("fit-zero-epochs", lambda s: fit(AE, X, epochs=0, progress=False),
        ValueError, r"epochs must be >= 1, got 0"),
    Bad("fit-nan-learning-rate", lambda s: fit(AE, X, epochs=1, lr=float("nan")),
        ValueError, r"lr must be finite, got nan"),
    Bad("fit-bool-batch-size", lambda s: fit(AE, X, epochs=1, batch_size=True),
        TypeError, r"batch_size must be an integer, got bool"),
    Bad("fit-nan-data", lambda s: fit(AE, NAN_X, epochs=1, progress=False),
        ValueError, r"train_x must not contain NaN or infinity"),
    Bad("fit-not-a-model", lambda s: fit(torch.nn.Linear(2, 2), X, epochs=1),
        TypeError, r"model must be an aelib Autoencoder or VAE.* got Linear"),
    Bad("save_checkpoint-not-a-model", lambda s: save_checkpoint(s / "new" / "m.pt", "model"),
        TypeError, r"model must be an aelib Autoencoder or VAE.*got str"),
    Bad("save_checkpoint-history-dict",
        lambda s: save_checkpoint(s / "m.pt", AE, {"train_loss": [1.0]}),
        TypeError, r"history must be a History or None, got dict"),
    Bad("save_checkpoint-unpicklable-metadata",
        lambda s: save_checkpoint(s / "m.pt", AE, metadata={"f": lambda: 0}),
        TypeError, r"metadata\['f'\] must be a plain value .* got function"),
    Bad("load_checkpoint-missing-file", lambda s: load_checkpoint(s / "absent.pt"),
        FileNotFoundError, r"checkpoint .*absent\.pt does not exist"),
    Bad("load_checkpoint-truncated", lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"model\.pt is not a readable checkpoint", setup=truncate_checkpoint),
    Bad("load_checkpoint-text-file", lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"model\.pt is not a readable checkpoint",
        setup=lambda s: (s / "model.pt").write_text("weights: none\n")),
    Bad("load_checkpoint-foreign-torch-file", lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"model\.pt is not an aelib checkpoint",
        setup=lambda s: write_checkpoint(s, _foreign)),
    Bad("load_checkpoint-future-version", lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"model\.pt has checkpoint version 99",
        setup=lambda s: write_checkpoint(s, _wrong_version)),
    Bad("load_checkpoint-config-does-not-match-weights",
        lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"(?s)model\.pt: its config does not match its weights.*size mismatch",
        setup=lambda s: write_checkpoint(s, _wrong_latent)),
    Bad("load_checkpoint-no-config", lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"model\.pt: .*KeyError: 'config'",
        setup=lambda s: write_checkpoint(s, _no_config)),
    Bad("load_checkpoint-nan-history", lambda s: load_checkpoint(s / "model.pt"),
        CheckpointError, r"model\.pt: .*must be finite",
        setup=lambda s: write_checkpoint(s, _bad_history)),
    Bad("train_or_load-config-dict",
        lambda s: train_or_load(AE_CONFIG.to_dict(), X, epochs=1, cache_dir=s / "cache"),
        TypeError, r"config must be a ModelConfig, got dict"),
    Bad("train_or_load-data-of-another-width",
        lambda s: train_or_load(AE_CONFIG, torch.rand(5, 9), epochs=1, cache_dir=s / "cache"),
        ValueError, r"train_x must have input_dim = 16 columns"),
    Bad("train_or_load-uncacheable-corruption",
        lambda s: train_or_load(AE_CONFIG, X, epochs=1, corrupt=lambda x, g: x,
                                cache_dir=s / "cache"),
        TypeError, r"corrupt must be a GaussianNoise"),
    Bad("History.from_dict-unknown-field", lambda s: History.from_dict({"loss": [1.0]}),
        ValueError, r"unknown History fields \['loss'\]"),
    # ---- evaluation
    Bad("importance-prior-weight-above-1",
        lambda s: importance_log_likelihood(VAE, X, k=3, prior_weight=1.5),
        ValueError, r"prior_weight must be <= 1\.0, got 1\.5"),
    Bad("importance-zero-scale", lambda s: importance_log_likelihood(VAE, X, k=3, scale=0.0),
        ValueError, r"scale must be > 0\.0, got 0\.0"),
    Bad("grid-three-latent-dimensions",
        lambda s: grid_log_likelihood(build_model(VAE_CONFIG.replace(latent_dim=3)), X),
        ValueError, r"vae\.config\.latent_dim must be <= 2, got 3"),
    Bad("grid-step-above-limit", lambda s: grid_log_likelihood(VAE, X, limit=1.0, step=2.0),
        ValueError, r"step must be <= 1\.0, got 2\.0"),
    Bad("effective_sample_size-1d", lambda s: effective_sample_size(torch.zeros(5)),
        ValueError, r"log_weights must have 2 dimensions"),
    Bad("aggregate-posterior-wrong-width",
        lambda s: aggregate_posterior_log_density(VAE, X, torch.zeros(4, 3)),
        ValueError, r"z must have latent_dim = 2 columns, got shape \(4, 3\)"),
    Bad("digit_classifier-lengths-differ",
        lambda s: digit_classifier(np.zeros((4, 3)), np.zeros(5, dtype=int)),
        ValueError, r"x and labels must have the same length, got 4 and 5"),
    Bad("elbo-of-an-autoencoder", lambda s: elbo(AE, X),
        TypeError, r"vae must be an aelib VAE, got Autoencoder"),
    Bad("knn_accuracy-too-many-labels-per-class",
        lambda s: knn_accuracy(POINTS, LABELS, POINTS, LABELS, labels_per_class=6),
        ValueError, r"labels_per_class must be <= 5, got 6"),
    Bad("knn_accuracy-lengths-differ",
        lambda s: knn_accuracy(POINTS, LABELS[:-1], POINTS, LABELS, labels_per_class=1),
        ValueError, r"train_codes and train_labels must have the same length, got 20 and 19"),
    Bad("knn_accuracy-float-labels",
        lambda s: knn_accuracy(POINTS, LABELS * 1.0, POINTS, LABELS, labels_per_class=1),
        TypeError, r"train_labels must hold integer values"),
    Bad("trustworthiness-too-many-neighbours",
        lambda s: trustworthiness(POINTS, POINTS[:, :2], n_neighbors=10),
        ValueError, r"n_neighbors must be <= 9, got 10"),
    # ---- evaluation: retrieval (notebook 10)
    Bad("nearest_neighbors-database-of-another-width",
        lambda s: nearest_neighbors(POINTS, POINTS[:, :2]),
        ValueError, r"database must have 3 columns like queries, got shape \(20, 2\)"),
    Bad("nearest_neighbors-more-neighbours-than-the-database",
        lambda s: nearest_neighbors(POINTS, POINTS[:5], k=6),
        ValueError, r"k must be <= 5, got 6"),
    Bad("nearest_neighbors-nan-query", lambda s: nearest_neighbors(np.full((2, 3), np.nan), POINTS),
        ValueError, r"queries must not contain NaN or infinity"),
    Bad("precision_at_k-lengths-differ",
        lambda s: precision_at_k(POINTS[:4], LABELS[:3], POINTS, LABELS),
        ValueError, r"queries and query_labels must have the same length, got 4 and 3"),
    Bad("precision_at_k-float-labels",
        lambda s: precision_at_k(POINTS, LABELS, POINTS, LABELS * 1.0),
        TypeError, r"database_labels must hold integer values, got dtype float64"),
    Bad("precision_at_k-zero-neighbours",
        lambda s: precision_at_k(POINTS, LABELS, POINTS, LABELS, k=0),
        ValueError, r"k must be >= 1, got 0"),
    # ---- evaluation: anomaly scores (notebook 10)
    Bad("anomaly_auroc-one-class-only", lambda s: anomaly_auroc([0.1, 0.2, 0.3], [0, 0, 0]),
        ValueError, r"is_anomaly must mark at least one anomaly \(1\) and one normal input "
                    r"\(0\), got 0 anomalies among 3 inputs"),
    Bad("anomaly_auroc-flag-not-0-or-1", lambda s: anomaly_auroc([0.1, 0.2, 0.3], [0, 1, 2]),
        ValueError, r"is_anomaly must hold only 0 and 1 \(or False and True\), got the values "
                    r"\[0, 1, 2\]"),
    Bad("anomaly_auroc-float-flags", lambda s: anomaly_auroc([0.1, 0.2], [0.0, 1.0]),
        TypeError, r"is_anomaly must hold boolean or 0/1 values, got dtype float64"),
    Bad("anomaly_auroc-nan-score", lambda s: anomaly_auroc([0.1, float("nan")], [0, 1]),
        ValueError, r"scores must not contain NaN or infinity"),
    Bad("anomaly_auroc-lengths-differ", lambda s: anomaly_auroc([0.1, 0.2, 0.3, 0.4], [0, 1, 1]),
        ValueError, r"scores and is_anomaly must have the same length, got 4 and 3"),
    Bad("anomaly_roc-one-class-only", lambda s: anomaly_roc([0.1, 0.2], [True, True]),
        ValueError, r"is_anomaly must mark at least one anomaly \(1\) and one normal input "
                    r"\(0\), got 2 anomalies among 2 inputs"),
    # ---- evaluation: few labels (notebook 10)
    Bad("labelled_subset-not-a-multiple-of-the-classes",
        lambda s: labelled_subset(LABELS, n_labels=6),
        ValueError, r"n_labels must be a multiple of the 4 classes in labels \(as many labels "
                    r"per class\), got 6"),
    Bad("labelled_subset-more-than-the-smallest-class-allows",
        lambda s: labelled_subset(LABELS, n_labels=24),
        ValueError, r"n_labels must be <= 20 \(the smallest class in labels has 5 examples\), "
                    r"got 24"),
    Bad("labelled_subset-one-class", lambda s: labelled_subset(np.zeros(5, dtype=int), n_labels=1),
        ValueError, r"labels must hold at least two classes, got only class 0"),
    Bad("labelled_subset-bool-count", lambda s: labelled_subset(LABELS, n_labels=True),
        TypeError, r"n_labels must be an integer, got bool True"),
    Bad("few_label_accuracy-test-features-of-another-width",
        lambda s: few_label_accuracy(POINTS, LABELS, POINTS[:, :2], LABELS, n_labels=4),
        ValueError, r"test_features must have 3 columns like train_features, got shape "
                    r"\(20, 2\)"),
    Bad("few_label_accuracy-lengths-differ",
        lambda s: few_label_accuracy(POINTS, LABELS[:-1], POINTS, LABELS, n_labels=4),
        ValueError, r"train_features and train_labels must have the same length, got 20 and 19"),
    Bad("few_label_accuracy-not-a-multiple-of-the-classes",
        lambda s: few_label_accuracy(POINTS, LABELS, POINTS, LABELS, n_labels=10),
        ValueError, r"n_labels must be a multiple of the 4 classes in train_labels"),
    # ---- evaluation: compression (notebook 10)
    Bad("rate_and_distortion-of-an-autoencoder", lambda s: rate_and_distortion(AE, X),
        TypeError, r"vae must be an aelib VAE, got Autoencoder"),
    Bad("rate_and_distortion-conditional-without-labels", lambda s: rate_and_distortion(CVAE, X),
        ValueError, r"y is needed: vae takes labels in \[0, 2\]"),
    Bad("rate_and_distortion-zero-samples", lambda s: rate_and_distortion(VAE, X, n_samples=0),
        ValueError, r"n_samples must be >= 1, got 0"),
    Bad("quantize_codes-zero-bits", lambda s: quantize_codes(POINTS, POINTS, bits=0),
        ValueError, r"bits must be >= 1, got 0"),
    Bad("quantize_codes-reference-of-another-width",
        lambda s: quantize_codes(POINTS, POINTS[:, :2], bits=4),
        ValueError, r"reference must have 3 columns like codes, got shape \(20, 2\)"),
    # ---- dimensionality
    Bad("uniform_cube-zero-dimensions", lambda s: uniform_cube(5, 0),
        ValueError, r"dim must be >= 1, got 0"),
    Bad("distance_ratio-duplicate-points", lambda s: distance_ratio(np.zeros((3, 2))),
        ValueError, r"points must be distinct"),
    Bad("pairwise_distances-one-point", lambda s: pairwise_distances(np.zeros((1, 2))),
        ValueError, r"points must have at least 2 rows"),
    Bad("log_ball_volume-negative-radius", lambda s: log_ball_volume(3, -1.0),
        ValueError, r"radius must be > 0\.0, got -1\.0"),
    Bad("shell_fraction-epsilon-above-1", lambda s: shell_fraction(3, 1.5),
        ValueError, r"epsilon must be <= 1\.0, got 1\.5"),
    Bad("kth_neighbor_distance-k-too-large", lambda s: kth_neighbor_distance(POINTS, POINTS,
                                                                            k=21),
        ValueError, r"k must be <= 20, got 21"),
    # ---- manifold
    Bad("embed-unknown-method", lambda s: embed(POINTS, "umap"),
        ValueError, r"method must be one of .*'umap'"),
    Bad("embed-too-many-components", lambda s: embed(POINTS, "pca", n_components=4),
        ValueError, r"n_components must be <= 3, got 4"),
    Bad("embed-tensor-points", lambda s: embed(torch.from_numpy(POINTS), "pca"),
        TypeError, r"points must be a numpy array, got a tensor"),
    Bad("embed-nan-points", lambda s: embed(np.where(POINTS > 0.9, np.nan, POINTS), "pca"),
        ValueError, r"points must not contain NaN or infinity"),
    Bad("knn_graph-neighbours-exceed-points", lambda s: knn_graph(POINTS, n_neighbors=20),
        ValueError, r"n_neighbors must be <= 19, got 20"),
    Bad("geodesic_distances-source-out-of-range",
        lambda s: geodesic_distances(POINTS, n_neighbors=5, sources=np.array([25])),
        ValueError, r"sources must be <= 19, got 25"),
    Bad("interpolate-nan-tensor",
        lambda s: interpolate(torch.tensor([0.0, float("nan")]), torch.zeros(2), 3),
        ValueError, r"start must not contain NaN or infinity"),
    Bad("interpolate-one-step", lambda s: interpolate(np.zeros(2), np.ones(2), 1),
        ValueError, r"steps must be >= 2, got 1"),
    # ---- downloads and IDX files
    Bad("read_idx-missing-file", lambda s: read_idx(s / "absent.idx"),
        FileNotFoundError, r"absent\.idx"),
    Bad("read_idx-not-idx", lambda s: read_idx(s / "x.idx"),
        ValueError, r"x\.idx: not an IDX file",
        setup=lambda s: write_idx(s, "x.idx", b"PK\x03\x04 a zip file")),
    Bad("read_idx-truncated-data", lambda s: read_idx(s / "x.idx"),
        ValueError, r"x\.idx: truncated data, shape \(2, 3\) needs 6 bytes",
        setup=lambda s: write_idx(s, "x.idx", idx_header(0x08, 2, 3) + b"\x00" * 4)),
    Bad("read_idx-unknown-type-code", lambda s: read_idx(s / "x.idx"),
        ValueError, r"x\.idx: unsupported IDX type code 0x07",
        setup=lambda s: write_idx(s, "x.idx", idx_header(0x07, 1) + b"\x00")),
    Bad("read_idx-damaged-gzip", lambda s: read_idx(s / "x.gz"),
        ValueError, r"x\.gz: not a valid gzip file",
        setup=lambda s: (s / "x.gz").write_bytes(
            gzip.compress(idx_header(0x08, 64) + bytes(64), mtime=0)[:-6])),
    Bad("fetch-bad-checksum-text",
        lambda s: fetch("http://127.0.0.1:9/x.gz", s / "dl" / "x.gz", sha256="abc"),
        ValueError, r"sha256 must be 64 hexadecimal digits, got 'abc'"),
    Bad("fetch-unsupported-scheme",
        lambda s: fetch("ftp://127.0.0.1/x.gz", s / "dl" / "x.gz", sha256=GOOD_SHA),
        ValueError, r"url must .*http"),
    Bad("fetch-zero-timeout",
        lambda s: fetch("http://127.0.0.1:9/x.gz", s / "x.gz", sha256=GOOD_SHA, timeout=0),
        ValueError, r"timeout must be > 0\.0, got 0\.0"),
    Bad("fetch-nothing-listening",
        lambda s: fetch("http://127.0.0.1:9/x.gz", s / "x.gz", sha256=GOOD_SHA, timeout=5),
        DownloadError, r"could not download x\.gz from http://127\.0\.0\.1:9/x\.gz"),
    Bad("download-unknown-name", lambda s: download("cifar10", s / "data"),
        ValueError, r"name must be one of .*'cifar10'"),
    # ---- runtime, exercises, plotting
    Bad("seed_everything-negative", lambda s: seed_everything(-1),
        ValueError, r"seed must be >= 0, got -1"),
    Bad("seed_everything-too-large", lambda s: seed_everything(2**32),
        ValueError, r"seed must be <= 4294967295"),
    Bad("configure_threads-zero", lambda s: configure_threads(0),
        ValueError, r"max_threads must be >= 1, got 0"),
    Bad("exercise-negative-tolerance", lambda s: Exercise("q1", 1.0, rtol=-1.0),
        ValueError, r"rtol must be >= 0\.0, got -1\.0"),
    Bad("exercise-expected-none", lambda s: Exercise("q1", None),
        ValueError, r"q1: expected must be the right answer, not None"),
    Bad("claim-empty-statement", lambda s: claim(True, ""),
        TypeError, r"statement must be a non-empty string"),
    Bad("show_images-flat-non-square", lambda s: show_images(np.zeros((2, 10))),
        ValueError, r"images of shape \(2, 10\) is flat but 10 is not a square number"),
    Bad("plot_curves-empty-title",
        lambda s: plot_curves({"a": [1.0, 2.0]}, title=" ", xlabel="x", ylabel="y"),
        ValueError, r"title must not be empty"),
    Bad("panels-zero-columns", lambda s: panels(0), ValueError, r"ncols must be >= 1, got 0"),
    # ---- i18n: the Korean edition's figure text
    Bad("i18n-load-unknown-language-code", lambda s: i18n.load("korean", "04_autoencoder"),
        ValueError, r"language must be a code such as 'ko', got 'korean'"),
    Bad("i18n-load-missing-catalogue", lambda s: i18n.load("ko", "99_nothing"),
        FileNotFoundError, r"notebook '99_nothing' has no 'ko' catalogue"),
    Bad("i18n-translation-drops-a-field",
        lambda s: i18n.Catalogue({"rebuilt from {CODE_DIM} numbers": "재구성"}),
        ValueError, r"must have the fields \['CODE_DIM'\]"),
    Bad("translate_figures-not-a-catalogue", lambda s: translate_figures({"epoch": "에포크"}),
        TypeError, r"catalogue must be an aelib.i18n.Catalogue or None"),
]


def test_the_table_is_large_and_its_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "two cases share an id"
    assert len(CASES) >= 40


# --------------------------------------------------------------------------- the check


def listing(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``, hidden ones included: {relative path: digest}."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        found[key] = ("folder" if path.is_dir()
                      else hashlib.sha256(path.read_bytes()).hexdigest())
    return found


@pytest.fixture
def sandbox(tmp_path: Path, data_root: Path, monkeypatch) -> Path:
    """tmp_path holding data/ (a copy of the bundled data) and nothing else; the working
    directory, AELIB_DATA_DIR and AELIB_CACHE_DIR all point into it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AELIB_DATA_DIR", str(data_root))
    monkeypatch.setenv("AELIB_CACHE_DIR", str(tmp_path / "cache"))
    # No proxy: a fetch from 127.0.0.1 must not be sent anywhere else.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_by_name_and_leaves_no_file(case: Bad, sandbox: Path):
    if case.setup is not None:
        case.setup(sandbox)
    before = listing(sandbox)
    with pytest.raises(case.error, match=case.match):
        case.call(sandbox)
    after = listing(sandbox)
    added = sorted(set(after) - set(before))
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert not added and not changed, \
        f"{case.id} left files behind: added {added}, changed or removed {changed}"


def test_the_sandbox_sees_no_other_cache_or_data(sandbox: Path):
    assert os.environ["AELIB_CACHE_DIR"].startswith(str(sandbox))
    assert os.environ["AELIB_DATA_DIR"].startswith(str(sandbox))
