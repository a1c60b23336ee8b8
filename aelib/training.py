"""Training: one loop for every model, checkpoints, and a cache of trained models.

``fit`` trains in place and returns a ``History``. Each epoch slices batches out of the one
data tensor along an index permutation drawn from a seeded ``torch.Generator``: no per-image
Python work, and the same seed repeats the same run bit for bit on the CPU. Adam's learning
rate follows a one-cycle schedule over all the epochs asked for: a warm-up to ``lr``, then a
decay to almost nothing (``make_optimizer``). ``train_or_load``
wraps ``fit`` with a cache on disk (``aelib.paths.cache_dir()``) keyed by everything that
determines the result, so that notebooks 04, 05 and 06 share trained models.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from aelib._checks import (
    choice,
    images_for,
    instance,
    integer,
    labels_for,
    optional,
    real,
    torch_device,
    validate,
    validate_fields,
)
from aelib.models import LatentModel, LossTerms, ModelConfig, build_model
from aelib.paths import atomic_write, locked
from aelib.paths import cache_dir as default_cache_dir

CHECKPOINT_FORMAT = "aelib-checkpoint"
CHECKPOINT_VERSION = 1
TRAINING_RECIPE_VERSION = 3  # bump when fit()'s results change: old cache entries then miss
BATCH_SIZE = 128  # fit's default recipe: one-cycle Adam with this batch size and peak rate,
LEARNING_RATE = 1e-2  # chosen by benchmarks/bench_training.py --sweep (see its README)
SCHEDULE = "one_cycle"  # warm-up, then decay (make_optimizer); "constant" is the other choice
SCHEDULES = (SCHEDULE, "constant")
CPU = torch.device("cpu")
EVAL_BATCH_SIZE = 1000  # images per forward pass when measuring a loss without gradients

Corruption = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
MODEL = instance(LatentModel, "an aelib Autoencoder or VAE (see aelib.models.build_model)")
TRAIN_IMAGES = images_for("model", labels="train_y")
VAL_IMAGES = images_for("model", labels="val_y")


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
    """Per-epoch losses in nats per image, one entry per epoch; ``val_*`` (empty without a
    validation set) are measured after each epoch. ``seconds`` is left out of ``==``."""

    train_loss: list[float] = field(default_factory=list)
    train_reconstruction: list[float] = field(default_factory=list)
    train_kl: list[float] = field(default_factory=list)
    train_penalty: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_reconstruction: list[float] = field(default_factory=list)
    val_kl: list[float] = field(default_factory=list)
    val_penalty: list[float] = field(default_factory=list)
    train_discriminator: list[float] = field(default_factory=list)   # an AAE's (see LossTerms)
    train_generator: list[float] = field(default_factory=list)
    val_discriminator: list[float] = field(default_factory=list)
    val_generator: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list, compare=False)

    @property
    def epochs(self) -> int:
        """How many epochs were trained."""
        return len(self.train_loss)

    def append(self, split: str, terms: Mapping[str, float]) -> None:
        """Add one epoch's mean ``LossTerms`` ({field: value}) to the lists of ``split``
        ("train" or "val"); the "total" goes to ``{split}_loss``."""
        for name, value in terms.items():
            getattr(self, f"{split}_{'loss' if name == 'total' else name}").append(value)

    def to_dict(self) -> dict[str, list[float]]:
        """{field name: list of floats}."""
        return {f.name: [float(v) for v in getattr(self, f.name)] for f in fields(self)}

    @classmethod
    @validate(values=instance(Mapping, "a mapping"))
    def from_dict(cls, values: Mapping[str, Any]) -> History:
        """The inverse of ``to_dict``."""
        if unknown := sorted(set(values) - {f.name for f in fields(cls)}):
            raise ValueError(f"values has unknown History fields {unknown}")
        lists = {}
        for name, seq in values.items():
            seq = instance((list, tuple), "a list of numbers")(seq, f"values[{name!r}]")
            lists[name] = [real()(v, f"values[{name!r}]") for v in seq]
        return cls(**lists)


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class GaussianNoise:
    """A corruption for denoising autoencoders: ``noise(x, generator)`` = x + std * eps,
    clipped to [0, 1] by default; plain data, so ``train_or_load`` can cache on it."""

    std: float
    clip: bool = True

    def __post_init__(self) -> None:
        validate_fields(self, std=real(0.0), clip=instance(bool, "True or False"))

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noisy = x + self.std * torch.randn(x.shape, generator=generator, dtype=x.dtype,
                                           device=x.device)
        return noisy.clamp(0.0, 1.0) if self.clip else noisy

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "gaussian_noise", "std": self.std, "clip": self.clip}


@dataclass(frozen=True)
class MaskingNoise:
    """Zero-masking, the corruption of Vincent et al. (2008): ``noise(x, generator)`` sets a
    random ``fraction`` of each image's pixels to 0 (each pixel independently, with that
    probability); plain data, so ``train_or_load`` can cache on it."""

    fraction: float

    def __post_init__(self) -> None:
        validate_fields(self, fraction=real(0.0, 1.0))

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= self.fraction
        return x * keep

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "masking_noise", "fraction": self.fraction}


@dataclass(frozen=True)
class RandomShift:
    """Data augmentation as a corruption: ``shift(x, generator)`` moves each square image of
    x (n, side * side) by a random whole number of pixels, rows and columns each by an offset
    drawn uniformly from [-pixels, pixels], fills what comes in with 0, and then applies
    ``then`` (a GaussianNoise or MaskingNoise) if given. As the input of ``fit(corrupt=...)``
    with a clean, unshifted target, the model must see through small moves of the digit.
    Plain data, so ``train_or_load`` can cache on it."""

    pixels: int
    then: GaussianNoise | MaskingNoise | None = None

    def __post_init__(self) -> None:
        validate_fields(self, pixels=integer(0), then=optional(instance(
            (GaussianNoise, MaskingNoise), "a GaussianNoise or MaskingNoise")))

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, dim = x.shape
        side = math.isqrt(dim)
        if side * side != dim:
            raise ValueError(f"RandomShift needs square images: x has {dim} pixels per row, "
                             "not a square number")
        offsets = torch.randint(-self.pixels, self.pixels + 1, (n, 2), generator=generator,
                                device=x.device)                                   # (n, 2)
        padded = F.pad(x.view(n, side, side), [self.pixels] * 4)   # (n, side + 2p, side + 2p)
        grid = torch.arange(side, device=x.device) + self.pixels                   # (side,)
        rows = (grid - offsets[:, :1])[:, :, None]     # (n, side, 1): row r shows r - dy
        cols = (grid - offsets[:, 1:])[:, None, :]     # (n, 1, side)
        shifted = padded[torch.arange(n, device=x.device)[:, None, None], rows, cols]
        shifted = shifted.reshape(n, dim)
        return shifted if self.then is None else self.then(shifted, generator)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "random_shift", "pixels": self.pixels,
                "then": None if self.then is None else self.then.to_dict()}


CORRUPTIONS = (GaussianNoise, MaskingNoise, RandomShift)


@validate(model=MODEL, x=images_for("model", labels="y"),
          y=labels_for("model", "x", training=True), batch_size=integer(1), seed=integer(0))
def evaluate_loss(model: LatentModel, x: torch.Tensor, y: torch.Tensor | None = None, *,
                  batch_size: int = EVAL_BATCH_SIZE, seed: int = 0) -> dict[str, float]:
    """Loss terms averaged over all of x (n, input_dim), in eval mode without gradients, on
    the model's device: {"total", "reconstruction", "kl", "penalty", "discriminator",
    "generator"} (``LossTerms``) in nats per image. y (n,): the labels, for a model conditioned
    on them or an AAE with prior_labels. ``seed`` fixes the noise of a VAE, of a stochastic
    penalty, or of an AAE's prior draws."""
    generator = torch.Generator(model.device).manual_seed(seed)
    sums = torch.zeros(len(LossTerms._fields), dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                batch = x[start:start + batch_size].to(model.device)
                labels = None if y is None else y[start:start + batch_size].to(model.device)
                terms = model.loss(batch, y=labels, generator=generator)
                sums += torch.stack(list(terms)).cpu().double() * len(batch)  # MPS has no fp64
    finally:
        model.train(was_training)
    means = (sums / len(x)).tolist()
    return dict(zip(LossTerms._fields, means, strict=True))


Step = tuple[str, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]


def _train_epoch(model: LatentModel, train_x: torch.Tensor, train_y: torch.Tensor | None,
                 steps: list[Step], batch_size: int, generator: torch.Generator,
                 corrupt: Corruption | None, epoch: int) -> dict[str, float]:
    """One pass over train_x (n, input_dim) (and its labels train_y (n,) or None) in shuffled
    batches, each taking the model's ``steps`` (phase, optimizer, scheduler) in turn; the mean
    loss terms, as measured by each batch's first step."""
    model.train()
    sums = torch.zeros(len(LossTerms._fields), dtype=torch.float64)
    order = torch.randperm(len(train_x), generator=generator, device=train_x.device)
    for batch, start in enumerate(range(0, len(train_x), batch_size), start=1):
        rows = order[start:start + batch_size]
        clean = train_x[rows]
        labels = None if train_y is None else train_y[rows]
        inputs, target = clean, None
        if corrupt is not None:  # the user's corrupt(x) is checked on each of its batches
            inputs = TRAIN_IMAGES(corrupt(clean, generator), "corrupt(x)", {"model": model})
            target = clean
        for step, (phase, optimizer, scheduler) in enumerate(steps):
            # Each step sees the weights the previous one left (an AAE's three phases); the
            # first computes every term, for the record, the others only their own.
            if step == 0:
                terms = model.loss(inputs, y=labels, target=target, generator=generator)
                loss = getattr(terms, phase)
            else:
                loss = model.phase_loss(phase, inputs, y=labels, target=target,
                                        generator=generator)
            if not bool(torch.isfinite(loss)):
                raise NonFiniteLossError(epoch, batch, f"{phase} loss = {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if step == 0:
                sums += torch.stack([t.detach() for t in terms]).cpu().double() * len(clean)
    return dict(zip(LossTerms._fields, (sums / len(train_x)).tolist(), strict=True))


def make_optimizer(parameters: list[torch.nn.Parameter], *, lr: float, schedule: str,
                   total_steps: int
                   ) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LRScheduler | None]:
    """(Adam over ``parameters``, its learning-rate scheduler or None): what ``fit`` steps
    after every batch, one pair per phase of the model (``model.phases()``).
    "one_cycle" is torch's OneCycleLR with its defaults: the rate rises from lr / 25 to ``lr``
    over the first 30 % of the ``total_steps`` and falls to ~0 by the last along a cosine, as
    Adam's beta1 moves from 0.95 to 0.85 and back; "constant" keeps ``lr`` throughout."""
    # The fused Adam kernel updates every parameter in one pass; the default for-loop Adam
    # costs ~7x more per step on this model (see benchmarks/README.md).
    optimizer = torch.optim.Adam(parameters, lr=lr, fused=True)
    if schedule == "constant":
        return optimizer, None
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=total_steps)


@validate(model=MODEL, train_x=TRAIN_IMAGES, val_x=optional(VAL_IMAGES),
          train_y=labels_for("model", "train_x", training=True),
          val_y=labels_for("model", "val_x", training=True), epochs=integer(1),
          batch_size=integer(1), lr=real(0.0, open_low=True), schedule=choice(*SCHEDULES),
          seed=integer(0),
          corrupt=optional(instance(Callable, "a callable (x, generator) -> x")),
          callback=optional(instance(Callable, "a callable (epoch, history)")),
          device=optional(torch_device))
def fit(model: LatentModel, train_x: torch.Tensor, val_x: torch.Tensor | None = None, *,
        train_y: torch.Tensor | None = None, val_y: torch.Tensor | None = None, epochs: int,
        batch_size: int = BATCH_SIZE, lr: float = LEARNING_RATE, schedule: str = SCHEDULE,
        seed: int = 0, progress: bool = True, corrupt: Corruption | None = None,
        callback: Callable[[int, History], bool | None] | None = None,
        device: str | torch.device | None = None) -> History:
    """Train ``model`` in place with Adam on train_x (n, input_dim); return its History.
    train_y, val_y (n,): the labels of train_x and val_x, for a model conditioned on them
    (``ModelConfig.n_classes``) or an AAE whose discriminator reads them (``prior_labels``),
    and only then. Each batch takes one optimiser step per phase of the model
    (``model.phases()``): one for an AE or a VAE, three for an AAE.
    lr: the peak learning rate of ``schedule`` (see ``make_optimizer``), which spans all
    ``epochs``. seed: the shuffling and the VAE's noise; the same seed gives the same History
    on the CPU. corrupt: ``corrupt(x, generator) -> noisy x`` (e.g. ``GaussianNoise(0.3)``,
    ``MaskingNoise(0.5)``) trains a denoising AE. callback: ``callback(epoch, history)`` after
    each epoch; True stops.
    device: where to train ("cuda", "mps"); the model is moved there and stays. None: where
    the model is (the CPU unless moved). The data are copied there once, whole. The random
    draws come from a generator on that device: the same seed repeats a run on the same device.
    A loss that stops being finite raises ``NonFiniteLossError`` naming the epoch and batch."""
    if device is not None:
        model.to(device)
    train_x = train_x.to(model.device)
    val_x = None if val_x is None else val_x.to(model.device)
    train_y = None if train_y is None else train_y.to(model.device)
    val_y = None if val_y is None else val_y.to(model.device)
    generator = torch.Generator(model.device).manual_seed(seed)
    batches = epochs * -(-len(train_x) // batch_size)
    steps = [(phase, *make_optimizer(parameters, lr=lr, schedule=schedule, total_steps=batches))
             for phase, parameters in model.phases().items()]
    history = History()
    was_training = model.training
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress)
    try:
        for epoch in bar:
            started = time.perf_counter()
            train = _train_epoch(model, train_x, train_y, steps, batch_size, generator,
                                 corrupt, epoch)
            history.append("train", train)
            postfix = {"loss": f"{train['total']:.2f}"}
            if val_x is not None:  # checked once above, so measured without the checks
                val = evaluate_loss.__wrapped__(model, val_x, val_y, seed=seed)
                history.append("val", val)
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


def _metadata(value: Any, name: str, _: Any = None) -> dict[str, Any]:
    """Plain values only (what JSON holds), which ``torch.load(weights_only=True)`` reads."""
    value = dict(instance(Mapping, "a mapping or None")(value, name))
    for key, item in value.items():
        try:
            json.dumps(item)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}[{key!r}] must be a plain value (None, bool, int, float, "
                            f"str, or a list or dict of those), got {type(item).__name__}") from err
    return value


@validate(model=MODEL, history=optional(instance(History, "a History or None")),
          metadata=optional(_metadata))
def save_checkpoint(path: str | Path, model: LatentModel, history: History | None = None, *,
                    metadata: Mapping[str, Any] | None = None) -> Path:
    """Write the model's weights, config, history and plain ``metadata`` to ``path``
    atomically; all but the weights as plain values, for ``torch.load(weights_only=True)``."""
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": None if history is None else history.to_dict(),
        "metadata": metadata or {},
    }
    with atomic_write(path) as handle:
        torch.save(payload, handle)
    return path


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's payload, with its format checked; CheckpointError otherwise."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged or foreign file
        if "weights only load failed" in str(err).lower():
            # Name the offending global only: torch's advice would be to trust the file.
            found = re.search(r"GLOBAL (\S+)", str(err))
            raise CheckpointError(f"{path} is not a readable checkpoint: it holds pickled Python "
                                  "objects besides tensors and plain values, which could run code "
                                  "when loaded, so aelib refuses them (weights_only=True)."
                                  + (f" It refers to {found.group(1)}." if found else "")) from err
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
    """(model in eval mode, history) from a file written by ``save_checkpoint``;
    ``CheckpointError`` names a damaged or foreign file, or a config that misfits its weights."""
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


@validate(x=instance(torch.Tensor, "a torch.Tensor"))
def data_fingerprint(x: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes: equal only for identical data."""
    digest = hashlib.sha256(f"{x.dtype}{tuple(x.shape)}".encode())
    digest.update(x.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def cache_key(config: ModelConfig, train_x: torch.Tensor, val_x: torch.Tensor | None, *,
              epochs: int, batch_size: int, lr: float, schedule: str, seed: int,
              corrupt: GaussianNoise | MaskingNoise | RandomShift | None = None,
              device: torch.device = CPU, train_y: torch.Tensor | None = None,
              val_y: torch.Tensor | None = None) -> tuple[str, dict[str, Any]]:
    """(hex key, the plain-value description it hashes) of one training run. The device type
    is part of it: a GPU rounds differently, so its run is not the CPU's run. Labels enter
    it only when given, so a model without them keeps its key."""
    description = {
        "recipe": TRAINING_RECIPE_VERSION,
        "config": config.to_dict(),
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "schedule": schedule,
        "seed": seed, "device": device.type,
        "corrupt": None if corrupt is None else corrupt.to_dict(),
        "train_data": data_fingerprint(train_x),
        "val_data": None if val_x is None else data_fingerprint(val_x),
    }
    if train_y is not None:
        description["train_labels"] = data_fingerprint(train_y)
        description["val_labels"] = None if val_y is None else data_fingerprint(val_y)
    text = json.dumps(description, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest(), description


@validate(config=instance(ModelConfig, "a ModelConfig"), epochs=integer(1), batch_size=integer(1),
          lr=real(0.0, open_low=True), schedule=choice(*SCHEDULES), seed=integer(0),
          corrupt=optional(instance(CORRUPTIONS, "a GaussianNoise, MaskingNoise or RandomShift, "
                                                 "which the cache can key on")),
          device=torch_device)
def train_or_load(config: ModelConfig, train_x: torch.Tensor, val_x: torch.Tensor | None = None,
                  *, train_y: torch.Tensor | None = None, val_y: torch.Tensor | None = None,
                  epochs: int, batch_size: int = BATCH_SIZE, lr: float = LEARNING_RATE,
                  schedule: str = SCHEDULE, seed: int = 0,
                  corrupt: GaussianNoise | MaskingNoise | RandomShift | None = None,
                  cache_dir: str | Path | None = None,
                  progress: bool = True,
                  device: str | torch.device = "cpu") -> tuple[LatentModel, History]:
    """``build_model(config, seed=seed, device=device)`` trained by ``fit``, or loaded from the
    cache when this exact run (config, settings, seed, device type, SHA-256 of the data and of
    the labels train_y, val_y of a conditional model) was
    done before; in eval mode, on ``device``. A damaged entry is trained again. For other
    corruptions than GaussianNoise, MaskingNoise and RandomShift, call ``fit``."""
    model = build_model.__wrapped__(config, seed=seed, device=device)
    args = {"model": model, "train_x": train_x, "val_x": val_x}
    train_x = TRAIN_IMAGES(train_x, "train_x", args)
    val_x = optional(VAL_IMAGES)(val_x, "val_x", args)
    train_y = labels_for("model", "train_x", training=True)(train_y, "train_y", args)
    val_y = labels_for("model", "val_x", training=True)(val_y, "val_y", args)
    key, description = cache_key(config, train_x, val_x, epochs=epochs, batch_size=batch_size,
                                 lr=lr, schedule=schedule, seed=seed, corrupt=corrupt,
                                 device=device, train_y=train_y, val_y=val_y)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{config.kind}-{config.likelihood}-z{config.latent_dim}-{key[:16]}.pt"
    # Two kernels asking for one run (make run executes notebooks side by side) train it
    # once: the second waits here, then loads what the first saved.
    with locked(path):
        if path.exists():
            try:
                payload = _read_checkpoint(path)
                if payload.get("metadata", {}).get("cache_key") != key:
                    raise CheckpointError(f"{path} was saved for a different training run")
                cached, history = _from_payload(path, payload)
                if history is not None:
                    return cached.to(device), history
                raise CheckpointError(f"{path} has no training history")
            except (CheckpointError, OSError) as err:
                warnings.warn(f"ignoring the damaged cache entry {path} and training again: "
                              f"{err}", RuntimeWarning, stacklevel=3)  # train_or_load's caller

        # The data and settings were checked above: train without checking them again.
        history = fit.__wrapped__(model, train_x, val_x, train_y=train_y, val_y=val_y,
                                  epochs=epochs, batch_size=batch_size, lr=lr, schedule=schedule,
                                  seed=seed, progress=progress, corrupt=corrupt)
        save_checkpoint(path, model, history, metadata={"cache_key": key, "run": description})
        model.eval()
        return model, history
