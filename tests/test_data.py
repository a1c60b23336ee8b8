"""aelib.data: the bundled subset, splits, toy manifolds and factor images."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from aelib import data


def test_bundled_subset_is_mnist_shaped_and_balanced():
    ds = data.load_dataset("mnist_subset")
    assert ds.images.shape == (5000, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64
    assert np.bincount(ds.labels).tolist() == [500] * 10
    assert ds.images.max() == 255 and ds.images.min() == 0
    assert ds.image_shape == (28, 28) and len(ds) == 5000


def test_data_is_found_from_the_package_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AELIB_DATA_DIR", raising=False)
    assert len(data.load_dataset("mnist_subset")) == 5000


def test_to_tensor_flattens_and_scales():
    ds = data.load_dataset("mnist_subset").subset(np.arange(10))
    x = ds.to_tensor()
    assert x.shape == (10, 784) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert torch.equal(x[3].reshape(28, 28) * 255, torch.from_numpy(ds.images[3]).float())


def test_corrupted_bundled_file_is_refused_by_name(data_root):
    path = data_root / "mnist_subset.npz"
    raw = bytearray(path.read_bytes())
    raw[1000] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataIntegrityError, match="mnist_subset.npz is corrupted"):
        data.load_dataset("mnist_subset", root=data_root)


def test_missing_bundled_file_says_how_to_restore(data_root):
    (data_root / "mnist_subset.npz").unlink()
    with pytest.raises(FileNotFoundError, match="git checkout"):
        data.load_dataset("mnist_subset", root=data_root)


def test_missing_checksum_line_or_list_is_refused(data_root):
    (data_root / "SHA256SUMS").write_text("")
    with pytest.raises(data.DataIntegrityError, match="no line"):
        data.load_dataset("mnist_subset", root=data_root)
    (data_root / "SHA256SUMS").unlink()
    with pytest.raises(data.DataIntegrityError, match="SHA256SUMS"):
        data.load_dataset("mnist_subset", root=data_root)


def test_environment_variable_moves_the_data_folder(data_root, monkeypatch):
    monkeypatch.setenv("AELIB_DATA_DIR", str(data_root))
    (data_root / "mnist_subset.npz").unlink()
    with pytest.raises(FileNotFoundError, match=str(data_root)):
        data.load_dataset("mnist_subset")


def test_data_dir_is_beside_the_package_unless_the_variable_moves_it(tmp_path, monkeypatch):
    monkeypatch.delenv("AELIB_DATA_DIR", raising=False)
    assert data.data_dir() == Path(data.__file__).resolve().parents[1] / "data"
    monkeypatch.setenv("AELIB_DATA_DIR", str(tmp_path))
    assert data.data_dir() == tmp_path


def test_read_checksums_parses_sha256sum_lines(data_root):
    digest = hashlib.sha256((data_root / "mnist_subset.npz").read_bytes()).hexdigest()
    (data_root / "SHA256SUMS").write_text(f"{digest.upper()}  mnist_subset.npz\n\n"
                                          f"{'0' * 64} *binary-mode.bin\n")
    assert data.read_checksums(str(data_root)) == {"mnist_subset.npz": digest,
                                                   "binary-mode.bin": "0" * 64}
    assert data.verified_path("mnist_subset.npz", data_root) == data_root / "mnist_subset.npz"


@pytest.mark.parametrize("line", ["mnist_subset.npz", "abc123  mnist_subset.npz",
                                  f"{'g' * 64}  mnist_subset.npz"])
def test_read_checksums_refuses_a_malformed_line_by_number(data_root, line):
    (data_root / "SHA256SUMS").write_text(f"{'0' * 64}  other.bin\n{line}\n")
    with pytest.raises(data.DataIntegrityError, match="SHA256SUMS line 2 is not"):
        data.read_checksums(data_root)


@pytest.mark.parametrize(("call", "error", "pattern"), [
    (lambda root: data.read_checksums(5), TypeError, "root must be a folder path"),
    (lambda root: data.verified_path("../mnist_subset.npz", root), ValueError,
     "file_name must be the plain name"),
    (lambda root: data.verified_path("", root), ValueError, "file_name must be the plain name"),
    (lambda root: data.verified_path(b"mnist_subset.npz", root), ValueError,
     "file_name must be the plain name"),
    (lambda root: data.verified_path("mnist_subset.npz", 3.5), TypeError,
     "root must be a folder path"),
])
def test_checksum_helpers_refuse_bad_arguments_by_name(data_root, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(data_root)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="name must be one of .*mnist_subset"):
        data.load_dataset("cifar10")


def test_split_argument_only_for_downloaded_sets():
    with pytest.raises(ValueError, match="split"):
        data.load_dataset("mnist_subset", split="train")
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_dataset("mnist", split="validation")


def test_full_mnist_not_downloaded_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist_subset"):
        data.load_dataset("mnist", root=tmp_path)


def test_digits_are_rescaled_to_bytes():
    ds = data.load_dataset("digits")
    assert ds.images.shape == (1797, 8, 8) and ds.images.dtype == np.uint8
    assert ds.images.max() == 255 and set(np.unique(ds.labels)) == set(range(10))


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_split_is_stratified_disjoint_and_complete(fraction):
    labels = data.load_dataset("mnist_subset").labels
    train, test = data.stratified_split(labels, fraction, seed=3)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    assert np.bincount(labels[test]).tolist() == [round(500 * fraction)] * 10


def test_split_order_is_shuffled_so_the_first_images_are_not_all_one_class():
    train, test = data.load_dataset("mnist_subset").split(0.2, seed=0)
    assert len(np.unique(test.labels[:20])) >= 5 and len(np.unique(train.labels[:20])) >= 5


def test_binarized_images_are_coin_flips_with_the_grey_level_as_probability():
    grey = data.load_dataset("mnist_subset")
    binary = grey.binarized(seed=0)
    assert set(np.unique(binary.images)) == {0, 255}
    assert np.array_equal(binary.labels, grey.labels) and "binarised" in binary.name
    assert np.array_equal(binary.images, grey.binarized(seed=0).images)
    assert not np.array_equal(binary.images, grey.binarized(seed=1).images)
    assert (binary.images[grey.images == 0] == 0).all()
    assert (binary.images[grey.images == 255] == 255).all()
    p = grey.images / 255.0
    assert abs((binary.images / 255.0).mean() - p.mean()) < 0.002


def test_split_repeats_with_a_seed_and_changes_with_another():
    labels = np.repeat(np.arange(3), 20)
    a = data.stratified_split(labels, 0.25, seed=0)[1]
    b = data.stratified_split(labels, 0.25, seed=0)[1]
    c = data.stratified_split(labels, 0.25, seed=1)[1]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_dataset_split_returns_datasets():
    train, test = data.load_dataset("digits").split(0.2, seed=0)
    assert len(train) + len(test) == 1797 and train.name == "digits"
    assert set(np.unique(test.labels)) == set(range(10))


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan")])
def test_split_rejects_fractions_outside_the_open_interval(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        data.stratified_split(np.repeat(np.arange(2), 5), fraction)


def test_split_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        data.stratified_split(np.array([0.5, 1.5]), 0.5)
    with pytest.raises(ValueError, match="has 1 sample, need at least 2"):
        data.stratified_split(np.array([0, 0, 1]), 0.5)
    with pytest.raises(TypeError, match="seed"):
        data.stratified_split(np.array([0, 0, 1, 1]), 0.5, seed=1.5)


def test_image_dataset_checks_its_arrays():
    with pytest.raises(TypeError, match="uint8"):
        data.ImageDataset(np.zeros((2, 4, 4)), np.zeros(2, dtype=np.int64), "x")
    with pytest.raises(ValueError, match="labels"):
        data.ImageDataset(np.zeros((2, 4, 4), np.uint8), np.zeros(3, dtype=np.int64), "x")
    with pytest.raises(TypeError, match="indices"):
        data.load_dataset("digits").subset(np.array([0.0, 1.0]))


@pytest.mark.parametrize("make", [data.swiss_roll, data.s_curve])
def test_toy_manifolds_are_3d_with_an_intrinsic_coordinate(make):
    X, t = make(300, noise=0.1, seed=1)
    assert X.shape == (300, 3) and t.shape == (300,)
    X2, _ = make(300, noise=0.1, seed=1)
    assert np.array_equal(X, X2)
    with pytest.raises(ValueError, match="n must be"):
        make(1)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=-1.0)


@pytest.mark.parametrize("kind", data.FACTOR_KINDS)
def test_factor_images_are_deterministic_and_depend_on_their_factors(kind):
    images, factors = data.factor_images(200, kind=kind, seed=4)
    assert images.shape == (200, 28, 28) and images.dtype == np.uint8
    assert factors.shape == (200, 2)
    again, _ = data.factor_images(200, kind=kind, seed=4)
    assert np.array_equal(images, again)
    # The brightest pixels move with the first factor (x position, or angle).
    assert images.max() >= 250 and len({im.tobytes() for im in images}) == 200
    # Near factors give near images: each image's nearest neighbour in factor space is
    # closer in pixel space than a random other image, on average.
    flat = images.reshape(200, -1).astype(float)
    f = factors / factors.std(axis=0)
    d_f = np.linalg.norm(f[:, None] - f[None], axis=-1) + np.eye(200) * 1e9
    nearest = d_f.argmin(axis=1)
    near = np.linalg.norm(flat - flat[nearest], axis=1).mean()
    far = np.linalg.norm(flat - flat[np.roll(np.arange(200), 1)], axis=1).mean()
    assert near < 0.7 * far


def test_blob_centre_matches_its_factor():
    images, factors = data.factor_images(20, kind="blob", seed=0)
    for image, (x, y) in zip(images, factors, strict=True):
        row, col = np.unravel_index(image.argmax(), image.shape)
        assert abs(col + 0.5 - x) <= 1.0 and abs(row + 0.5 - y) <= 1.0


def test_factor_images_reject_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        data.factor_images(10, kind="square")
    with pytest.raises(ValueError, match="size"):
        data.factor_images(10, size=4)
    with pytest.raises(ValueError, match="n must be"):
        data.factor_images(0)
