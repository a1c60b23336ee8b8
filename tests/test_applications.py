"""aelib.evaluation's functions for notebook 10 (retrieval, anomaly detection, learning from few
labels, compression), each checked against values worked out by hand or computed another way,
and each refusing bad input with its exact message."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from aelib.evaluation import (
    PROBE_C,
    PROBE_MAX_ITER,
    anomaly_auroc,
    anomaly_roc,
    elbo,
    few_label_accuracy,
    knn_accuracy,
    labelled_subset,
    nearest_neighbors,
    precision_at_k,
    quantize_codes,
    rate_and_distortion,
)
from aelib.models import ModelConfig, build_model

RNG = np.random.default_rng(0)
POINTS = RNG.standard_normal((20, 3))            # continuous: no two distances are equal
LABELS = np.repeat(np.arange(4), 5)              # 4 classes of 5
D = 6
VAE = build_model(ModelConfig(kind="vae", input_dim=D, hidden=(5,), latent_dim=2), seed=0)
AE = build_model(ModelConfig(kind="ae", input_dim=D, hidden=(5,), latent_dim=2), seed=0)
CVAE = build_model(VAE.config.replace(n_classes=3), seed=0)
X = torch.rand(9, D, generator=torch.Generator().manual_seed(1))


def exactly(message: str) -> str:
    """A pytest ``match`` pattern for this whole message and nothing else."""
    return f"^{re.escape(message)}$"


# --------------------------------------------------------------------------- retrieval


def brute_force_neighbours(queries: np.ndarray, database: np.ndarray, k: int) -> np.ndarray:
    distances = ((queries[:, None, :] - database[None, :, :]) ** 2).sum(axis=2)   # (m, n)
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def test_nearest_neighbors_are_the_brute_force_ones_nearest_first():
    queries, database = POINTS[:7], POINTS[7:]
    found = nearest_neighbors(queries, database, k=4)
    assert found.dtype == np.int64 and found.shape == (7, 4)
    np.testing.assert_array_equal(found, brute_force_neighbours(queries, database, 4))


def test_nearest_neighbors_takes_tensors():
    found = nearest_neighbors(torch.from_numpy(POINTS[:3]).float(), torch.from_numpy(POINTS),
                              k=1)
    np.testing.assert_array_equal(found[:, 0], [0, 1, 2])       # each query finds itself


def test_precision_at_k_by_hand():
    # On a line: class 0 at 0, 1, 2 and class 1 at 10, 11, 12. The query at 5.9 (class 0) has
    # 2 (3.9 away), 10 (4.1) and 1 (4.9) as its three nearest: two of them of class 0.
    database = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    database_labels = np.array([0, 0, 0, 1, 1, 1])
    queries, query_labels = np.array([[0.1], [10.5], [5.9]]), np.array([0, 1, 0])
    value = precision_at_k(queries, query_labels, database, database_labels, k=3)
    assert value == pytest.approx((1 + 1 + 2 / 3) / 3)
    assert isinstance(value, float)


def test_precision_at_k_matches_a_double_loop():
    queries, database = POINTS[:8], POINTS[8:]
    query_labels, database_labels = LABELS[:8], LABELS[8:]
    for k in (1, 3, 12):
        distances = [[math.dist(q, p) for p in database] for q in queries]
        shares = []
        for q, row in enumerate(distances):
            nearest = sorted(range(len(database)), key=row.__getitem__)[:k]
            shares.append(sum(database_labels[j] == query_labels[q] for j in nearest) / k)
        assert precision_at_k(queries, query_labels, database, database_labels, k=k) == \
            pytest.approx(np.mean(shares))


def test_precision_at_k_over_the_whole_database_is_each_label_share():
    queries, database = POINTS[:4], POINTS[4:]
    query_labels, database_labels = np.array([0, 1, 1, 3]), LABELS[4:]
    expected = np.mean([np.mean(database_labels == label) for label in query_labels])
    assert precision_at_k(queries, query_labels, database, database_labels,
                          k=len(database)) == pytest.approx(expected)


def test_a_query_inside_the_database_finds_itself():
    assert precision_at_k(POINTS, LABELS, POINTS, LABELS, k=1) == 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: nearest_neighbors(POINTS, POINTS[:, :2]), ValueError,
     "database must have 3 columns like queries, got shape (20, 2)"),
    (lambda: nearest_neighbors(POINTS, POINTS[:5], k=6), ValueError, "k must be <= 5, got 6"),
    (lambda: nearest_neighbors(POINTS[0], POINTS), ValueError,
     "queries must have 2 dimensions, got shape (3,)"),
    (lambda: nearest_neighbors(np.full((2, 3), np.nan), POINTS), ValueError,
     "queries must not contain NaN or infinity"),
    (lambda: precision_at_k(POINTS[:4], LABELS[:3], POINTS, LABELS), ValueError,
     "queries and query_labels must have the same length, got 4 and 3"),
    (lambda: precision_at_k(POINTS, LABELS, POINTS, LABELS * 1.0), TypeError,
     "database_labels must hold integer values, got dtype float64"),
    (lambda: precision_at_k(POINTS, LABELS, POINTS, LABELS, k=0), ValueError,
     "k must be >= 1, got 0"),
    (lambda: precision_at_k(POINTS, LABELS, POINTS, LABELS, k=2.0), TypeError,
     "k must be an integer, got float 2.0"),
])
def test_retrieval_refuses_bad_input(call, error, message):
    with pytest.raises(error, match=exactly(message)):
        call()


# --------------------------------------------------------------------------- anomaly scores


def pairwise_auroc(scores: np.ndarray, flags: np.ndarray) -> float:
    """The share of (anomaly, normal) pairs in which the anomaly scores higher, ties half."""
    wins = [1.0 if a > b else 0.5 if a == b else 0.0
            for a, b in itertools.product(scores[flags == 1], scores[flags == 0])]
    return float(np.mean(wins))


def test_auroc_known_answer():
    # Anomalies 0.35 and 0.8 against normal 0.1 and 0.4: three of the four pairs are right.
    assert anomaly_auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_auroc_is_the_share_of_correctly_ordered_pairs_with_ties():
    scores = RNG.integers(0, 5, size=40).astype(float)           # many ties
    flags = np.r_[np.zeros(25, dtype=int), np.ones(15, dtype=int)]
    assert anomaly_auroc(scores, flags) == pytest.approx(pairwise_auroc(scores, flags))


def test_auroc_of_the_negated_score_is_one_minus_it_and_flags_may_be_bools():
    scores = torch.from_numpy(RNG.standard_normal(30))
    flags = np.arange(30) % 3 == 0
    value = anomaly_auroc(scores, flags)
    assert anomaly_auroc(-scores, flags) == pytest.approx(1 - value)
    assert anomaly_auroc(scores, flags.astype(np.int64)) == value


def test_perfect_and_reversed_scores():
    assert anomaly_auroc([1.0, 2.0, 3.0, 4.0], [0, 0, 1, 1]) == 1.0
    assert anomaly_auroc([4.0, 3.0, 2.0, 1.0], [0, 0, 1, 1]) == 0.0


def test_roc_runs_from_corner_to_corner_and_its_area_is_the_auroc():
    scores = RNG.standard_normal(50) + np.r_[np.zeros(30), np.ones(20)]
    flags = np.r_[np.zeros(30, dtype=int), np.ones(20, dtype=int)]
    false_positive, true_positive = anomaly_roc(scores, flags)
    assert (false_positive[0], true_positive[0]) == (0.0, 0.0)
    assert (false_positive[-1], true_positive[-1]) == (1.0, 1.0)
    assert np.all(np.diff(false_positive) >= 0) and np.all(np.diff(true_positive) >= 0)
    area = np.sum(np.diff(false_positive) * (true_positive[1:] + true_positive[:-1]) / 2)
    assert area == pytest.approx(anomaly_auroc(scores, flags))


def test_roc_of_separated_scores_reaches_the_top_left_corner():
    false_positive, true_positive = anomaly_roc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1])
    assert any(f == 0.0 and t == 1.0 for f, t in zip(false_positive, true_positive,
                                                      strict=True))


@pytest.mark.parametrize("function", [anomaly_auroc, anomaly_roc])
@pytest.mark.parametrize("scores, flags, error, message", [
    ([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0], ValueError,
     "is_anomaly must mark at least one anomaly (1) and one normal input (0), got 0 anomalies "
     "among 4 inputs"),
    ([0.1, 0.2, 0.3], [True, True, True], ValueError,
     "is_anomaly must mark at least one anomaly (1) and one normal input (0), got 3 anomalies "
     "among 3 inputs"),
    ([0.1, 0.2, 0.3], [0, 1, 2], ValueError,
     "is_anomaly must hold only 0 and 1 (or False and True), got the values [0, 1, 2]"),
    ([0.1, 0.2, 0.3], [0.0, 1.0, 1.0], TypeError,
     "is_anomaly must hold boolean or 0/1 values, got dtype float64"),
    ([0.1, 0.2, 0.3, 0.4], [0, 1, 1], ValueError,
     "scores and is_anomaly must have the same length, got 4 and 3"),
    ([0.1, float("nan"), 0.3], [0, 1, 1], ValueError, "scores must not contain NaN or infinity"),
    ([0.1, -float("inf"), 0.3], [0, 1, 1], ValueError,
     "scores must not contain NaN or infinity"),
    ([[0.1, 0.2]], [0, 1], ValueError, "scores must have 1 dimensions, got shape (1, 2)"),
    (["a", "b"], [0, 1], TypeError, "scores must hold numeric values, got dtype <U1"),
])
def test_anomaly_scores_refuse_bad_input(function, scores, flags, error, message):
    with pytest.raises(error, match=exactly(message)):
        function(scores, flags)


# --------------------------------------------------------------------------- few labels


def test_labelled_subset_is_stratified_and_repeatable():
    labels = np.repeat(np.arange(10), 40)[RNG.permutation(400)]        # shuffled, 40 per class
    for n_labels in (10, 100, 400):
        kept = labelled_subset(labels, n_labels=n_labels, seed=3)
        assert kept.dtype == np.int64 and len(kept) == n_labels == len(set(kept.tolist()))
        counts = np.bincount(labels[kept], minlength=10)
        assert (counts == n_labels // 10).all()
        np.testing.assert_array_equal(kept, labelled_subset(labels, n_labels=n_labels, seed=3))
    ten = labelled_subset(labels, n_labels=10, seed=3)
    np.testing.assert_array_equal(labels[ten], np.arange(10))         # one per digit, in order
    others = {tuple(labelled_subset(labels, n_labels=10, seed=s)) for s in range(5)}
    assert len(others) == 5                                           # seeds draw differently


def test_labelled_subset_draws_what_knn_accuracy_draws():
    train, test = POINTS, RNG.standard_normal((15, 3))
    test_labels = RNG.integers(0, 4, size=15)
    for seed in range(4):
        kept = labelled_subset(LABELS, n_labels=8, seed=seed)
        by_hand = KNeighborsClassifier(n_neighbors=1).fit(train[kept], LABELS[kept])
        assert knn_accuracy(train, LABELS, test, test_labels, labels_per_class=2, k=1,
                            seed=seed) == by_hand.score(test, test_labels)


def clusters(n_per_class: int, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three noisy clusters in 5-D: points (3 n, 5), labels (3 n,)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 5) * 3.0
    labels = np.repeat(np.arange(3), n_per_class)
    return centres[labels] + spread * rng.standard_normal((len(labels), 5)), labels


def test_few_label_accuracy_matches_a_logistic_regression_fitted_by_hand():
    train, train_labels = clusters(30, 2.5, seed=0)
    test, test_labels = clusters(50, 2.5, seed=1)
    for n_labels in (3, 12, 60):
        kept = labelled_subset(train_labels, n_labels=n_labels, seed=2)
        mean, spread = train.mean(axis=0), np.sqrt(train.var(axis=0).mean())
        classifier = LogisticRegression(C=PROBE_C, max_iter=PROBE_MAX_ITER).fit(
            (train[kept] - mean) / spread, train_labels[kept])
        expected = classifier.score((test - mean) / spread, test_labels)
        assert few_label_accuracy(train, train_labels, test, test_labels, n_labels=n_labels,
                                  seed=2) == pytest.approx(expected)


def test_few_label_accuracy_does_not_depend_on_the_features_units():
    train, train_labels = clusters(30, 2.5, seed=0)
    test, test_labels = clusters(50, 2.5, seed=1)
    shift = np.arange(5.0)

    def raw(scale: float) -> float:    # without the rescaling, the units change the answer
        kept = labelled_subset(train_labels, n_labels=6, seed=0)
        return LogisticRegression(C=PROBE_C, max_iter=PROBE_MAX_ITER).fit(
            scale * train[kept], train_labels[kept]).score(scale * test, test_labels)

    assert raw(0.01) != raw(100.0)
    accuracies = {few_label_accuracy(scale * train + shift, train_labels, scale * test + shift,
                                     test_labels, n_labels=6, seed=0)
                  for scale in (0.01, 1.0, 100.0)}
    assert len(accuracies) == 1


def test_few_label_accuracy_reads_separated_classes_and_not_random_labels():
    train, train_labels = clusters(30, 0.1, seed=0)
    test, test_labels = clusters(50, 0.1, seed=1)
    assert few_label_accuracy(train, train_labels, test, test_labels, n_labels=3) == 1.0
    shuffled = np.random.default_rng(5).permutation(test_labels)
    assert few_label_accuracy(train, train_labels, test, shuffled, n_labels=3) < 0.6


def test_few_label_accuracy_repeats_for_a_seed_and_takes_tensors():
    train, train_labels = clusters(30, 2.5, seed=0)
    test, test_labels = clusters(50, 2.5, seed=1)
    once = few_label_accuracy(train, train_labels, test, test_labels, n_labels=3, seed=7)
    again = few_label_accuracy(torch.from_numpy(train).float(), torch.from_numpy(train_labels),
                               torch.from_numpy(test).float(), test_labels, n_labels=3, seed=7)
    assert once == pytest.approx(again)
    draws = {few_label_accuracy(train, train_labels, test, test_labels, n_labels=3, seed=s)
             for s in range(6)}
    assert len(draws) > 1                        # which three images are labelled matters


@pytest.mark.parametrize("call, error, message", [
    (lambda: labelled_subset(LABELS, n_labels=6), ValueError,
     "n_labels must be a multiple of the 4 classes in labels (as many labels per class), got 6"),
    (lambda: labelled_subset(LABELS, n_labels=24), ValueError,
     "n_labels must be <= 20 (the smallest class in labels has 5 examples), got 24"),
    (lambda: labelled_subset(np.r_[LABELS, 3], n_labels=24), ValueError,
     "n_labels must be <= 20 (the smallest class in labels has 5 examples), got 24"),
    (lambda: labelled_subset(np.zeros(5, dtype=int), n_labels=1), ValueError,
     "labels must hold at least two classes, got only class 0"),
    (lambda: labelled_subset(LABELS, n_labels=0), ValueError, "n_labels must be >= 1, got 0"),
    (lambda: labelled_subset(LABELS, n_labels=True), TypeError,
     "n_labels must be an integer, got bool True"),
    (lambda: labelled_subset(LABELS, n_labels=4, seed=-1), ValueError,
     "seed must be >= 0, got -1"),
    (lambda: labelled_subset(LABELS * 0.5, n_labels=4), TypeError,
     "labels must hold integer values, got dtype float64"),
    (lambda: few_label_accuracy(POINTS, LABELS, POINTS[:, :2], LABELS, n_labels=4), ValueError,
     "test_features must have 3 columns like train_features, got shape (20, 2)"),
    (lambda: few_label_accuracy(POINTS, LABELS[:-1], POINTS, LABELS, n_labels=4), ValueError,
     "train_features and train_labels must have the same length, got 20 and 19"),
    (lambda: few_label_accuracy(POINTS, LABELS, POINTS, LABELS[:5], n_labels=4), ValueError,
     "test_features and test_labels must have the same length, got 20 and 5"),
    (lambda: few_label_accuracy(POINTS, LABELS, POINTS, LABELS, n_labels=10), ValueError,
     "n_labels must be a multiple of the 4 classes in train_labels (as many labels per class), "
     "got 10"),
    (lambda: few_label_accuracy(np.full((20, 3), np.inf), LABELS, POINTS, LABELS, n_labels=4),
     ValueError, "train_features must not contain NaN or infinity"),
])
def test_few_labels_refuse_bad_input(call, error, message):
    with pytest.raises(error, match=exactly(message)):
        call()


# --------------------------------------------------------------------------- compression


def test_rate_plus_distortion_is_minus_the_elbo():
    for n_samples in (1, 4):
        rate, distortion = rate_and_distortion(VAE, X, n_samples=n_samples, batch_size=4,
                                               seed=3)
        assert rate.shape == distortion.shape == (len(X),)
        torch.testing.assert_close(rate + distortion,
                                   -elbo(VAE, X, n_samples=n_samples, batch_size=4, seed=3))


def test_rate_and_distortion_of_a_conditional_vae():
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    rate, distortion = rate_and_distortion(CVAE, X, y, n_samples=2, seed=1)
    torch.testing.assert_close(rate + distortion, -elbo(CVAE, X, y, n_samples=2, seed=1))


def test_rate_is_the_exact_kl_and_only_the_distortion_is_random():
    with torch.no_grad():
        mu, logvar = VAE.encode(X)
    by_hand = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=1)
    rates, distortions = zip(*(rate_and_distortion(VAE, X, seed=s) for s in (0, 1)),
                             strict=True)
    torch.testing.assert_close(rates[0], by_hand)
    torch.testing.assert_close(rates[0], rates[1])
    assert not torch.equal(distortions[0], distortions[1])
    assert (rates[0] >= 0).all() and (distortions[0] >= 0).all()   # a KL; a Bernoulli -log p


def test_quantize_codes_by_hand():
    reference = np.array([[0.0, 5.0], [4.0, 5.0]])   # column 0 spans [0, 4]; column 1 is 5
    codes = np.array([[-1.0, 5.0], [0.5, 7.0], [2.0, 5.0], [3.9, 5.0], [10.0, 5.0]])
    one_bit = quantize_codes(codes, reference, bits=1)      # bins [0, 2), [2, 4]: centres 1, 3
    assert one_bit.dtype == torch.float32
    np.testing.assert_allclose(one_bit.numpy(), [[1, 5], [1, 5], [3, 5], [3, 5], [3, 5]])
    two_bits = quantize_codes(np.array([[0.2, 5.0], [1.0, 5.0], [2.99, 5.0], [4.0, 5.0]]),
                              reference, bits=2)            # centres 0.5, 1.5, 2.5, 3.5
    np.testing.assert_allclose(two_bits.numpy()[:, 0], [0.5, 1.5, 2.5, 3.5])


def test_quantize_codes_error_halves_with_every_bit():
    reference = torch.from_numpy(RNG.uniform(-3, 3, size=(200, 4)))
    low, high = reference.min(dim=0).values, reference.max(dim=0).values
    for bits in (1, 3, 8):
        quantized = quantize_codes(reference, reference, bits=bits).double()
        error = (quantized - reference).abs()
        assert (error <= (high - low) / 2 ** (bits + 1) + 1e-6).all()
        levels = {len(torch.unique(quantized[:, j])) for j in range(4)}
        assert max(levels) <= 2**bits


@pytest.mark.parametrize("call, error, message", [
    (lambda: rate_and_distortion(AE, X), TypeError, "vae must be an aelib VAE, got Autoencoder"),
    (lambda: rate_and_distortion(VAE, X[:, :4]), ValueError,
     "x must have input_dim = 6 columns, got shape (9, 4)"),
    (lambda: rate_and_distortion(VAE, X, n_samples=0), ValueError,
     "n_samples must be >= 1, got 0"),
    (lambda: rate_and_distortion(CVAE, X), ValueError,
     "y is needed: vae takes labels in [0, 2], as it is conditioned on them (n_classes = 3)"),
    (lambda: rate_and_distortion(VAE, X.numpy()), TypeError,
     "x must be a torch.Tensor, got an array of shape (9, 6) and dtype float32"),
    (lambda: quantize_codes(POINTS, POINTS, bits=0), ValueError, "bits must be >= 1, got 0"),
    (lambda: quantize_codes(POINTS, POINTS, bits=17), ValueError, "bits must be <= 16, got 17"),
    (lambda: quantize_codes(POINTS, POINTS[:, :2], bits=4), ValueError,
     "reference must have 3 columns like codes, got shape (20, 2)"),
    (lambda: quantize_codes(np.full((2, 3), np.nan), POINTS, bits=4), ValueError,
     "codes must not contain NaN or infinity"),
])
def test_compression_refuses_bad_input(call, error, message):
    with pytest.raises(error, match=exactly(message)):
        call()
