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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from aelib._checks import SHA256_PATTERN, check_choice, check_float, check_int
from aelib.paths import data_dir

DATASETS = ("mnist_subset", "digits", "mnist", "fashion_mnist")
SUBSET_FILE = "mnist_subset.npz"
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class DataIntegrityError(ValueError):
    """A bundled file is missing from, or does not match, ``data/SHA256SUMS``."""


@dataclass(frozen=True)
class ImageDataset:
    """Grey-level images with integer class labels.

    ``images``: uint8, shape (n, height, width), 0 = black, 255 = white.
    ``labels``: int64, shape (n,), values in [0, len(class_names)).
    """

    images: np.ndarray
    labels: np.ndarray
    name: str
    class_names: tuple[str, ...] = field(default=DIGIT_NAMES)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 3:
            raise TypeError(f"images must be a uint8 array of shape (n, height, width), got "
                            f"dtype {self.images.dtype} and shape {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},), "
                             f"got {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) of one image."""
        return self.images.shape[1], self.images.shape[2]

    def to_tensor(self) -> torch.Tensor:
        """Images as float32, flattened and scaled to [0, 1]: shape (n, height * width)."""
        flat = self.images.reshape(len(self), -1).astype(np.float32) / 255.0
        return torch.from_numpy(flat)

    def subset(self, indices: np.ndarray) -> ImageDataset:
        """The images at ``indices`` (an integer array), in that order."""
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"indices must be an integer array, got dtype {indices.dtype}")
        return ImageDataset(self.images[indices], self.labels[indices], self.name,
                            self.class_names)

    def binarized(self, seed: int = 0) -> ImageDataset:
        """A stochastic binarisation: each pixel is white (255) with probability grey / 255.

        This is how the literature turns grey MNIST into binary images, for which a Bernoulli
        decoder's -log p(x | z) is a true negative log-likelihood. The same ``seed`` always
        gives the same images; the order and the labels stay those of ``self``.
        """
        seed = check_int(seed, "seed", minimum=0)
        draws = np.random.default_rng(seed).random(self.images.shape)       # (n, h, w)
        images = np.where(draws < self.images / 255.0, 255, 0).astype(np.uint8)
        return ImageDataset(images, self.labels, f"{self.name} (binarised)", self.class_names)

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[ImageDataset,
                                                                        ImageDataset]:
        """A stratified (train, test) split; the same seed always gives the same split."""
        train_idx, test_idx = stratified_split(self.labels, test_fraction, seed)
        return self.subset(train_idx), self.subset(test_idx)


def stratified_split(labels: np.ndarray, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with every class split in the same proportion.

    ``labels``: integer array of shape (n,). Both index arrays come in an order shuffled by
    ``seed`` (scikit-learn's ``train_test_split(stratify=labels)``), so the first images of a
    split are a random sample of every class rather than the zeros of a sorted file.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty 1-D integer array, got dtype "
                         f"{labels.dtype} and shape {labels.shape}")
    test_fraction = check_float(test_fraction, "test_fraction", minimum=0.0, maximum=1.0,
                                open_low=True, open_high=True)
    seed = check_int(seed, "seed", minimum=0)
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"labels: class {classes[counts.argmin()]} has {counts.min()} sample; "
                         "a stratified split needs at least 2 per class")
    n_test = min(max(round(test_fraction * len(labels)), len(classes)),
                 len(labels) - len(classes))
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=n_test,
                                           stratify=labels, random_state=seed, shuffle=True)
    return train_idx, test_idx


def read_checksums(root: str | Path) -> dict[str, str]:
    """``root/SHA256SUMS`` (the format ``sha256sum`` writes) as {file name: hex digest}."""
    if not isinstance(root, (str, Path)):
        raise TypeError(f"root must be a folder path (str or Path), got {type(root).__name__}")
    sums = Path(root) / "SHA256SUMS"
    if not sums.is_file():
        raise DataIntegrityError(f"checksum list {sums} is missing")
    table = {}
    for number, line in enumerate(sums.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or SHA256_PATTERN.fullmatch(parts[0].lower()) is None:
            raise DataIntegrityError(f"{sums} line {number} is not '<64 hex digits>  <file "
                                     f"name>': {line!r}")
        table[parts[1].strip().lstrip("*")] = parts[0].lower()
    return table


def verified_path(file_name: str, root: str | Path | None = None) -> Path:
    """The path of a bundled file, after checking its SHA-256 against ``SHA256SUMS``.

    file_name: a file in the data folder, e.g. ``"mnist_subset.npz"``; root: that folder
    (default ``aelib.paths.data_dir()``).
    """
    if not isinstance(file_name, str) or not file_name or Path(file_name).name != file_name:
        raise ValueError(f"file_name must be the plain name of a file in the data folder, "
                         f"got {file_name!r}")
    if root is not None and not isinstance(root, (str, Path)):
        raise TypeError(f"root must be a folder path (str or Path) or None, "
                        f"got {type(root).__name__}")
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


def _load_subset(root: str | Path | None) -> ImageDataset:
    path = verified_path(SUBSET_FILE, root)
    with np.load(path, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    return ImageDataset(images, labels.astype(np.int64), "mnist_subset")


def _load_digits() -> ImageDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return ImageDataset(images, bunch.target.astype(np.int64), "digits")


def _load_downloaded(name: str, root: str | Path | None, split: str | None) -> ImageDataset:
    from aelib.download import load_idx_dataset

    splits = ("train", "test") if split is None else (split,)
    parts = [load_idx_dataset(name, split=s, root=root) for s in splits]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    names = FASHION_NAMES if name == "fashion_mnist" else DIGIT_NAMES
    return ImageDataset(images, labels, name, names)


def load_dataset(name: str = "mnist_subset", *, root: str | Path | None = None,
                 split: str | None = None) -> ImageDataset:
    """Load one of ``DATASETS`` by name.

    ``root``: the data folder (default: ``data/`` beside the package). ``split``: for the
    downloaded sets only, ``"train"`` or ``"test"`` for the official split; ``None`` returns
    both, training images first.
    """
    check_choice(name, "name", DATASETS)
    if split is not None:
        if name not in ("mnist", "fashion_mnist"):
            raise ValueError(f"split applies to 'mnist' and 'fashion_mnist' only; {name!r} "
                             "has no official split, use ImageDataset.split()")
        check_choice(split, "split", ("train", "test"))
    if name == "mnist_subset":
        return _load_subset(root)
    if name == "digits":
        return _load_digits()
    return _load_downloaded(name, root, split)


def swiss_roll(n: int = 1500, *, noise: float = 0.0,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on a rolled-up sheet in 3-D: X (n, 3) and the position along the roll t (n,)."""
    from sklearn.datasets import make_swiss_roll

    n = check_int(n, "n", minimum=2)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)
    return make_swiss_roll(n, noise=noise, random_state=seed)


def s_curve(n: int = 1500, *, noise: float = 0.0,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on an S-shaped sheet in 3-D: X (n, 3) and the position along the S t (n,)."""
    from sklearn.datasets import make_s_curve

    n = check_int(n, "n", minimum=2)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)
    return make_s_curve(n, noise=noise, random_state=seed)


FACTOR_KINDS = ("blob", "bar")


def factor_images(n: int = 2000, *, kind: str = "blob", size: int = 28,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images drawn from two known factors: uint8 images (n, size, size), factors (n, 2).

    ``kind="blob"``: a round Gaussian blob; factors = (x, y) of its centre, in pixels.
    ``kind="bar"``: a bar through the image centre line; factors = (angle in radians in
    [0, pi), horizontal offset of its centre in pixels). Factors are drawn uniformly from a
    range that keeps the shape inside the frame. Edges are anti-aliased, so nearby factors
    give nearby images.
    """
    n = check_int(n, "n", minimum=1)
    check_choice(kind, "kind", FACTOR_KINDS)
    size = check_int(size, "size", minimum=8, maximum=256)
    seed = check_int(seed, "seed", minimum=0)
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
