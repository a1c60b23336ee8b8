"""The data sets of the notebooks, all available offline.

``load_dataset(name)`` returns an ``ImageDataset`` (uint8 images and integer labels):

- ``"mnist_subset"``: 5,000 MNIST digits, 500 per class, shipped in ``data/`` and checked
  against ``data/SHA256SUMS`` on every load;
- ``"digits"``: scikit-learn's bundled 1,797 8x8 digits, rescaled from 0..16 to 0..255;
- ``"mnist"``, ``"fashion_mnist"``: the full sets, once fetched by ``aelib.download.download``.

``swiss_roll``, ``s_curve`` and ``factor_images`` generate toy data whose true, low-dimensional
coordinates are known, for the manifold notebook.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits, make_s_curve, make_swiss_roll
from sklearn.model_selection import train_test_split

from aelib._checks import array, choice, describe, instance, integer, optional, real, seed, validate
from aelib.paths import data_dir

DATASETS = ("mnist_subset", "digits", "mnist", "fashion_mnist")
SUBSET_FILE = "mnist_subset.npz"
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FACTOR_KINDS = ("blob", "bar")
_FOLDER = instance((str, Path), "a folder path (str or Path)")


class DataIntegrityError(ValueError):
    """A bundled file is missing from, or does not match, ``data/SHA256SUMS``."""


@dataclass(frozen=True)
class ImageDataset:
    """Grey-level images, uint8 (n, height, width) with 0 = black, and int64 labels (n,) in
    [0, len(class_names))."""

    images: np.ndarray
    labels: np.ndarray
    name: str
    class_names: tuple[str, ...] = field(default=DIGIT_NAMES)

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != np.uint8 or images.ndim != 3:
            raise TypeError(f"images must be a uint8 array (n, h, w), got {describe(images)}")
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) of one image."""
        return self.images.shape[1], self.images.shape[2]

    def to_tensor(self) -> torch.Tensor:
        """Images as float32 in [0, 1], flattened: (n, height * width)."""
        flat = self.images.reshape(len(self), -1).astype(np.float32) / 255.0
        return torch.from_numpy(flat)

    @validate(indices=array(kinds="iu", what="integer", nonempty=False, tensors=True))
    def subset(self, indices: np.ndarray) -> ImageDataset:
        """The images at ``indices`` (an integer array), in that order."""
        return ImageDataset(self.images[indices], self.labels[indices], self.name,
                            self.class_names)

    @validate(seed=seed)
    def binarized(self, seed: int = 0) -> ImageDataset:
        """Each pixel white (255) with probability grey / 255, the same for a seed."""
        # So that a Bernoulli decoder's -log p(x | z) is a true negative log-likelihood.
        draws = np.random.default_rng(seed).random(self.images.shape)       # (n, h, w)
        images = np.where(draws < self.images / 255.0, 255, 0).astype(np.uint8)
        return ImageDataset(images, self.labels, f"{self.name} (binarised)", self.class_names)

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
        """A stratified (train, test) split; the same seed always gives the same split."""
        train_idx, test_idx = stratified_split(self.labels, test_fraction, seed)
        return self.subset(train_idx), self.subset(test_idx)


def _labels(value: Any, name: str, _: Any = None) -> np.ndarray:
    labels = np.asarray(value)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D integer array, got {describe(labels)}")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"{name}: class {classes[counts.argmin()]} has 1 sample, need at least 2")
    return labels


@validate(labels=_labels, test_fraction=real(0.0, 1.0, open_low=True, open_high=True), seed=seed)
def stratified_split(labels: np.ndarray, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), every class split in the same proportion: labels (n,) -> two
    index arrays, each shuffled by ``seed`` (``train_test_split(stratify=labels)``)."""
    n_classes = len(np.unique(labels))
    n_test = min(max(round(test_fraction * len(labels)), n_classes), len(labels) - n_classes)
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=n_test,
                                           stratify=labels, random_state=seed, shuffle=True)
    return train_idx, test_idx


@validate(root=_FOLDER)
def read_checksums(root: str | Path) -> dict[str, str]:
    """``root/SHA256SUMS``, as ``sha256sum`` writes it, as {file name: hex digest}."""
    sums = Path(root) / "SHA256SUMS"
    if not sums.is_file():
        raise DataIntegrityError(f"checksum list {sums} is missing")
    table = {}
    for number, line in enumerate(sums.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or re.fullmatch(r"[0-9a-f]{64}", parts[0].lower()) is None:
            raise DataIntegrityError(f"{sums} line {number} is not '<64 hex digits>  <file "
                                     f"name>': {line!r}")
        table[parts[1].strip().lstrip("*")] = parts[0].lower()
    return table


def _file_name(value: Any, name: str, _: Any = None) -> str:
    if not isinstance(value, str) or not value or Path(value).name != value:
        raise ValueError(f"{name} must be the plain name of a file, got {value!r}")
    return value


@validate(file_name=_file_name, root=optional(_FOLDER))
def verified_path(file_name: str, root: str | Path | None = None) -> Path:
    """The path of a bundled file in ``root`` (default ``data_dir()``), once its SHA-256
    matches ``SHA256SUMS``."""
    root = Path(root) if root is not None else data_dir()
    path = root / file_name
    if not path.is_file():
        raise FileNotFoundError(f"bundled data file {path} is missing; restore it with "
                                f"`git checkout -- data/{file_name}`")
    expected = read_checksums(root).get(file_name)
    if expected is None:
        raise DataIntegrityError(f"{file_name} has no line in {root / 'SHA256SUMS'}")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise DataIntegrityError(
            f"{path} is corrupted: its SHA-256 is {actual}, expected {expected}; restore it "
            f"with `git checkout -- data/{file_name}` or rebuild it with "
            "data/build_mnist_subset.py")
    return path


def _split(value: Any, name: str, args: Mapping[str, Any]) -> str | None:
    if value is not None and args["name"] not in ("mnist", "fashion_mnist"):
        raise ValueError(f"{name} applies to 'mnist' and 'fashion_mnist' only; use dataset.split()")
    return optional(choice("train", "test"))(value, name)


@validate(name=choice(*DATASETS), split=_split)
def load_dataset(name: str = "mnist_subset", *, root: str | Path | None = None,
                 split: str | None = None) -> ImageDataset:
    """One of ``DATASETS``, from ``root`` (default ``data/`` beside the package); ``split``
    ("train" or "test") for the downloaded sets, which return both by default."""
    if name == "mnist_subset":
        with np.load(verified_path(SUBSET_FILE, root), allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
        return ImageDataset(images, labels.astype(np.int64), "mnist_subset")
    if name == "digits":
        bunch = load_digits()
        images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
        return ImageDataset(images, bunch.target.astype(np.int64), "digits")
    from aelib.download import load_idx_dataset  # a layer above data: import on use

    splits = ("train", "test") if split is None else (split,)
    parts = [load_idx_dataset(name, split=s, root=root) for s in splits]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    return ImageDataset(images, labels, name,
                        FASHION_NAMES if name == "fashion_mnist" else DIGIT_NAMES)


@validate(n=integer(2), noise=real(0.0), seed=seed)
def swiss_roll(n: int = 1500, *, noise: float = 0.0,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on a rolled-up sheet in 3-D: X (n, 3) and the position along the roll t (n,)."""
    return make_swiss_roll(n, noise=noise, random_state=seed)


@validate(n=integer(2), noise=real(0.0), seed=seed)
def s_curve(n: int = 1500, *, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on an S-shaped sheet in 3-D: X (n, 3) and the position along the S t (n,)."""
    return make_s_curve(n, noise=noise, random_state=seed)


@validate(n=integer(1), kind=choice(*FACTOR_KINDS), size=integer(8, 256), seed=seed)
def factor_images(n: int = 2000, *, kind: str = "blob", size: int = 28,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images drawn from two known factors: uint8 images (n, size, size), factors (n, 2).

    blob: a round Gaussian blob at (x, y) in pixels; bar: a bar through the centre line at
    (angle in [0, pi), horizontal offset in pixels). Factors are uniform in a range that keeps
    the shape inside the frame; edges are anti-aliased, so near factors give near images."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    rows, cols = rows[None], cols[None]
    if kind == "blob":
        radius = size / 10.0
        factors = rng.uniform(2 * radius, size - 2 * radius, size=(n, 2))
        x, y = factors[:, 0, None, None], factors[:, 1, None, None]
        intensity = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2.0 * radius**2))
    else:
        half_length, half_width = 0.3 * size, size / 28.0 * 1.5
        angle = rng.uniform(0.0, np.pi, size=n)
        offset = rng.uniform(-0.2 * size, 0.2 * size, size=n)
        factors = np.stack([angle, offset], axis=1)
        cx = (size / 2.0 + offset)[:, None, None]
        cy = size / 2.0
        ux, uy = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        along = (cols - cx) * ux + (rows - cy) * uy
        across = -(cols - cx) * uy + (rows - cy) * ux
        # Distance outside the bar's rectangle, softened over one pixel.
        outside = np.hypot(np.clip(np.abs(along) - half_length, 0, None),
                           np.clip(np.abs(across) - half_width, 0, None))
        intensity = np.clip(1.0 - outside, 0.0, 1.0)
    images = np.round(255.0 * intensity).astype(np.uint8)
    return images, factors
