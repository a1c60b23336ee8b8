"""Training: one loop for every model, checkpoints, and a cache of trained models.

``fit`` trains in place and returns a ``History``. The data stay in one tensor: each epoch
shuffles an index permutation drawn from a seeded ``torch.Generator`` and slices batches out
of it, so there is no per-image Python work and the same seed repeats the same run bit for
bit on the CPU.

``train_or_load`` wraps ``fit`` with a cache on disk (``aelib.paths.cache_dir()``), keyed by
everything that determines the result, so that notebooks 04, 05 and 06 share trained models.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from aelib._checks import check_float, check_int
from aelib._files import atomic_write
from aelib.models import LatentModel, LossTerms, ModelConfig, build_model
from aelib.paths import cache_dir as default_cache_dir

CHECKPOINT_FORMAT = "aelib-checkpoint"
CHECKPOINT_VERSION = 1
# Bump when fit() changes in a way that changes its results: old cache entries then miss.
TRAINING_RECIPE_VERSION = 1
# Images per forward pass when measuring a loss without gradients.
EVAL_BATCH_SIZE = 1000

Corruption = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite; ``epoch`` and ``batch`` count from 1."""

    def __init__(self, epoch: int, batch: int, detail: str) -> None:
        super().__init__(f"the loss is not finite at epoch {epoch}, batch {batch}: {detail}. "
                         "Try a smaller learning rate, or check the data and the model.")
        self.epoch = epoch
        self.batch = batch


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, not an aelib checkpoint, or inconsistent."""


# --------------------------------------------------------------------------- history


@dataclass
class History:
    """Per-epoch losses in nats per image, as plain lists (one entry per epoch).

    ``train_*`` average the batch losses seen during the epoch; ``val_*`` are measured on the
    validation set after the epoch (empty without one). ``seconds`` is the wall time of each
    epoch; it is left out of ``==``, so two runs from one seed compare equal.
    """

    train_loss: list[float] = field(default_factory=list)
    train_reconstruction: list[float] = field(default_factory=list)
    train_kl: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_reconstruction: list[float] = field(default_factory=list)
    val_kl: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list, compare=False)

    @property
    def epochs(self) -> int:
        """How many epochs were trained."""
        return len(self.train_loss)

    def to_dict(self) -> dict[str, list[float]]:
        """{field name: list of floats}."""
        return {f.name: [float(v) for v in getattr(self, f.name)] for f in fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> History:
        """The inverse of ``to_dict``."""
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"values has unknown History fields {unknown}")
        lists = {}
        for name, seq in values.items():
            if not isinstance(seq, (list, tuple)):
                raise TypeError(f"values[{name!r}] must be a list of numbers, got {seq!r}")
            lists[name] = [check_float(v, f"values[{name!r}]") for v in seq]
        return cls(**lists)


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class GaussianNoise:
    """A corruption for denoising autoencoders: x + std * eps, clipped to [0, 1] by default.

    Call it as ``noise(x, generator)``; it is plain data, so ``train_or_load`` can cache
    models trained with it.
    """

    std: float
    clip: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "std", check_float(self.std, "std", minimum=0.0))
        if not isinstance(self.clip, bool):
            raise TypeError(f"clip must be True or False, got {self.clip!r}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noisy = x + self.std * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return noisy.clamp(0.0, 1.0) if self.clip else noisy

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "gaussian_noise", "std": self.std, "clip": self.clip}


def _check_model(model: Any) -> LatentModel:
    if not isinstance(model, LatentModel):
        raise TypeError(f"model must be an aelib Autoencoder or VAE (see "
                        f"aelib.models.build_model), got {type(model).__name__}")
    return model


def evaluate_loss(model: LatentModel, x: torch.Tensor, *, batch_size: int = EVAL_BATCH_SIZE,
                  seed: int = 0) -> dict[str, float]:
    """The loss terms averaged over all images of ``x`` (n, input_dim), in eval mode and
    without gradients: {"total", "reconstruction", "kl"} in nats per image.

    For a VAE the loss is random; ``seed`` fixes the noise, so the same model on the same
    data always gets the same number.
    """
    model = _check_model(model)
    x = model.check_input(x)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    return _evaluate_loss(model, x, batch_size, seed)


def _evaluate_loss(model: LatentModel, x: torch.Tensor, batch_size: int,
                   seed: int) -> dict[str, float]:
    """``evaluate_loss`` on checked arguments: ``fit`` checks its validation set once instead
    of once per epoch (the check reads every value four times)."""
    generator = torch.Generator().manual_seed(seed)
    sums = torch.zeros(3, dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                batch = x[start:start + batch_size]
                terms = model._loss(batch, None, generator)
                sums += torch.stack(list(terms)).double() * len(batch)
    finally:
        model.train(was_training)
    means = (sums / len(x)).tolist()
    return dict(zip(LossTerms._fields, means, strict=True))


def fit(model: LatentModel, train_x: torch.Tensor, val_x: torch.Tensor | None = None, *,
        epochs: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
        progress: bool = True, corrupt: Corruption | None = None,
        callback: Callable[[int, History], bool | None] | None = None) -> History:
    """Train ``model`` in place with Adam on ``train_x`` (n, input_dim); return its History.

    epochs: passes over the data. batch_size, lr: Adam's batch size and learning rate.
    seed: seeds the shuffling and the VAE's sampling noise (the initial weights come from
        ``build_model(config, seed=...)``); the same seed gives the same History on the CPU.
    progress: show a tqdm progress bar with the epoch and the losses.
    corrupt: optional ``corrupt(x, generator) -> noisy x`` (e.g. ``GaussianNoise(0.3)``); the
        model then learns to reconstruct the clean batch from the noisy one (denoising AE).
    callback: called as ``callback(epoch, history)`` after every epoch (epoch counts from 1);
        returning True stops training early.

    Raises ``NonFiniteLossError`` (a ValueError) naming the epoch and batch if the loss stops
    being finite.
    """
    model = _check_model(model)
    train_x = model.check_input(train_x, "train_x")
    if val_x is not None:
        val_x = model.check_input(val_x, "val_x")
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_float(lr, "lr", minimum=0.0, open_low=True)
    seed = check_int(seed, "seed", minimum=0)
    if corrupt is not None and not callable(corrupt):
        raise TypeError(f"corrupt must be a callable (x, generator) -> x, got {corrupt!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable (epoch, history), got {callback!r}")

    generator = torch.Generator().manual_seed(seed)
    # The fused Adam kernel updates every parameter in one pass; the default for-loop Adam
    # costs ~7x more per step on this model (see benchmarks/README.md).
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    history = History()
    was_training = model.training
    n = len(train_x)
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress)
    try:
        for epoch in bar:
            started = time.perf_counter()
            model.train()
            sums = torch.zeros(3, dtype=torch.float64)
            order = torch.randperm(n, generator=generator)
            for batch, start in enumerate(range(0, n, batch_size), start=1):
                clean = train_x[order[start:start + batch_size]]
                if corrupt is None:
                    inputs, target = clean, None
                else:
                    inputs = model.check_input(corrupt(clean, generator), "corrupt(x)")
                    target = clean
                # train_x was checked once above, so skip the per-call checks of model.loss.
                terms = model._loss(inputs, target, generator)
                if not bool(torch.isfinite(terms.total)):
                    raise NonFiniteLossError(epoch, batch, f"loss = {terms.total.item()}")
                optimizer.zero_grad(set_to_none=True)
                terms.total.backward()
                optimizer.step()
                sums += torch.stack([t.detach() for t in terms]).double() * len(clean)
            train = (sums / n).tolist()
            history.train_loss.append(train[0])
            history.train_reconstruction.append(train[1])
            history.train_kl.append(train[2])
            postfix = {"loss": f"{train[0]:.2f}"}
            if val_x is not None:
                val = _evaluate_loss(model, val_x, EVAL_BATCH_SIZE, seed)
                history.val_loss.append(val["total"])
                history.val_reconstruction.append(val["reconstruction"])
                history.val_kl.append(val["kl"])
                postfix["val"] = f"{val['total']:.2f}"
            history.seconds.append(time.perf_counter() - started)
            bar.set_postfix(postfix)
            if callback is not None and callback(epoch, history):
                break
    finally:
        bar.close()
        model.train(was_training)
    return history


# --------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | Path, model: LatentModel, history: History | None = None, *,
                    metadata: Mapping[str, Any] | None = None) -> Path:
    """Write the model's weights, its config and its history to ``path`` atomically.

    Everything but the weights is stored as plain values, so ``load_checkpoint`` can read it
    with ``torch.load(weights_only=True)``. ``metadata``: optional plain values kept beside.
    """
    model = _check_model(model)
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history must be a History or None, got {type(history).__name__}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping or None, got {type(metadata).__name__}")
    for key, value in (metadata or {}).items():
        _check_plain(value, f"metadata[{key!r}]")
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": None if history is None else history.to_dict(),
        "metadata": dict(metadata or {}),
    }
    with atomic_write(path) as handle:
        torch.save(payload, handle)
    return path


def _check_plain(value: Any, name: str) -> None:
    """Refuse anything ``torch.load(weights_only=True)`` could not read back: only None,
    bool, int, float, str, and lists, tuples and str-keyed dicts of those."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{name}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name} must have string keys, got {key!r}")
            _check_plain(item, f"{name}[{key!r}]")
        return
    raise TypeError(f"{name} must be a plain value (None, bool, int, float, str, or a list or "
                    f"dict of those), got {type(value).__name__}")


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's payload, with its format checked; CheckpointError otherwise."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only load failed" not in str(err).lower():
            raise CheckpointError(f"{path} is not a readable checkpoint (damaged or not "
                                  f"written by torch.save): UnpicklingError: {err}") from err
        # Name the offending global only: torch's advice would be to trust the file.
        found = re.search(r"GLOBAL (\S+)", str(err))
        detail = f" It refers to {found.group(1)}." if found else ""
        raise CheckpointError(f"{path} is not a readable checkpoint: it holds pickled Python "
                              "objects besides tensors and plain values, and loading those "
                              "could run arbitrary code, so aelib refuses them "
                              f"(weights_only=True).{detail}") from err
    except Exception as err:  # torch raises many types for a damaged or foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint (damaged or not written by "
                              f"torch.save): {type(err).__name__}: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an aelib checkpoint (no "
                              f"'format': {CHECKPOINT_FORMAT!r} entry)")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload.get('version')!r}; "
                              f"this aelib reads version {CHECKPOINT_VERSION}")
    return payload


def load_checkpoint(path: str | Path) -> tuple[LatentModel, History | None]:
    """(model, history) from a file written by ``save_checkpoint``; the model is in eval mode.

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` (a ValueError)
    naming the file when it is damaged, foreign, or its config does not fit its weights.
    """
    path = Path(path)
    return _from_payload(path, _read_checkpoint(path))


def _from_payload(path: Path, payload: dict[str, Any]) -> tuple[LatentModel, History | None]:
    try:
        config = ModelConfig.from_dict(payload["config"])
        model = build_model(config)
        model.load_state_dict(payload["state_dict"], strict=True)
        history = None if payload["history"] is None else History.from_dict(payload["history"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: its config does not match its weights, or an entry is "
                              f"damaged: {type(err).__name__}: {err}") from err
    model.eval()
    return model, history


# --------------------------------------------------------------------------- cache


def data_fingerprint(x: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes: equal only for identical data."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    digest = hashlib.sha256(f"{x.dtype}{tuple(x.shape)}".encode())
    digest.update(x.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def cache_key(config: ModelConfig, train_x: torch.Tensor, val_x: torch.Tensor | None, *,
              epochs: int, batch_size: int, lr: float, seed: int,
              corrupt: GaussianNoise | None = None) -> tuple[str, dict[str, Any]]:
    """(hex key, the plain-value description it hashes) of one training run."""
    description = {
        "recipe": TRAINING_RECIPE_VERSION,
        "config": config.to_dict(),
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
        "corrupt": None if corrupt is None else corrupt.to_dict(),
        "train_data": data_fingerprint(train_x),
        "val_data": None if val_x is None else data_fingerprint(val_x),
    }
    text = json.dumps(description, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest(), description


def train_or_load(config: ModelConfig, train_x: torch.Tensor, val_x: torch.Tensor | None = None,
                  *, epochs: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                  corrupt: GaussianNoise | None = None, cache_dir: str | Path | None = None,
                  progress: bool = True) -> tuple[LatentModel, History]:
    """A model trained as ``fit`` would train ``build_model(config, seed=seed)``, from the cache
    when this exact run was done before; the model is returned in eval mode.

    The cache key covers the config, every training setting, the seed and a SHA-256 of the
    data, so any change trains a new model. A damaged cache entry is reported with a warning
    and trained again. ``cache_dir`` defaults to ``aelib.paths.cache_dir()``.
    """
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
    if corrupt is not None and not isinstance(corrupt, GaussianNoise):
        raise TypeError("corrupt must be a GaussianNoise (or None) so the cache can key on it; "
                        f"got {type(corrupt).__name__}; call fit() directly for other "
                        "corruptions")
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_float(lr, "lr", minimum=0.0, open_low=True)
    seed = check_int(seed, "seed", minimum=0)
    model = build_model(config, seed=seed)
    train_x = model.check_input(train_x, "train_x")
    if val_x is not None:
        val_x = model.check_input(val_x, "val_x")

    key, description = cache_key(config, train_x, val_x, epochs=epochs, batch_size=batch_size,
                                 lr=lr, seed=seed, corrupt=corrupt)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{config.kind}-{config.likelihood}-z{config.latent_dim}-{key[:16]}.pt"
    if path.exists():
        try:
            payload = _read_checkpoint(path)
            if payload.get("metadata", {}).get("cache_key") != key:
                raise CheckpointError(f"{path} was saved for a different training run")
            cached, history = _from_payload(path, payload)
            if history is not None:
                return cached, history
            raise CheckpointError(f"{path} has no training history")
        except (CheckpointError, OSError) as err:
            warnings.warn(f"ignoring the damaged cache entry {path} and training again: {err}",
                          RuntimeWarning, stacklevel=2)

    history = fit(model, train_x, val_x, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                  progress=progress, corrupt=corrupt)
    save_checkpoint(path, model, history, metadata={"cache_key": key, "run": description})
    model.eval()
    return model, history


