"""Argument checks, declared once at each public entry point.

    @validate(model=instance(LatentModel, "an aelib Autoencoder or VAE"),
              train_x=images_for("model"), epochs=integer(1), lr=positive)
    def fit(model, train_x, *, epochs, lr=1e-3): ...

A check takes (value, argument name, all bound arguments) and returns the value to pass on (an
``int`` for a numpy integer, an array for a list). It raises TypeError for the wrong kind of
object and ValueError for a wrong value, naming the argument and what was expected. A bound may
be a function of the other arguments. Past the decorator the code trusts its arguments.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import torch

Check = Callable[[Any, str, Mapping[str, Any]], Any]
F = TypeVar("F", bound=Callable[..., Any])


def validate(**checks: Check) -> Callable[[F], F]:
    """Decorate a function so that the named arguments pass their checks on every call."""
    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, check in checks.items():
                bound.arguments[name] = check(bound.arguments[name], name, bound.arguments)
            return func(*bound.args, **bound.kwargs)
        return checked  # type: ignore[return-value]
    return decorate


def validate_fields(obj: Any, **checks: Check) -> None:
    """``validate`` for the fields of a frozen dataclass, called from ``__post_init__``."""
    for name, check in checks.items():
        object.__setattr__(obj, name, check(getattr(obj, name), name, vars(obj)))


def describe(value: Any) -> str:
    """How a message names an unexpected value: its type, and shape and dtype for arrays."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        kind = "a tensor" if isinstance(value, torch.Tensor) else "an array"
        return f"{kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


def _bounded(value: Any, name: str, args: Any, low: Any, high: Any, open_low: bool = False,
             open_high: bool = False) -> Any:
    low, high = (b(args) if callable(b) else b for b in (low, high))
    if low is not None and (value < low or open_low and value == low):
        raise ValueError(f"{name} must be {'>' if open_low else '>='} {low}, got {value}")
    if high is not None and (value > high or open_high and value == high):
        raise ValueError(f"{name} must be {'<' if open_high else '<='} {high}, got {value}")
    return value


def integer(low: Any = None, high: Any = None) -> Check:
    """An integer (not a bool) in [low, high]."""
    def check(value: Any, name: str, args: Any = None) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {describe(value)}")
        return _bounded(int(value), name, args, low, high)
    return check


def real(low: Any = None, high: Any = None, *, open_low: bool = False,
         open_high: bool = False) -> Check:
    """A finite number in [low, high]; ``open_low``/``open_high`` leave an end out."""
    def check(value: Any, name: str, args: Any = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name} must be a number, got {describe(value)}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        return _bounded(float(value), name, args, low, high, open_low, open_high)
    return check


def choice(*options: str) -> Check:
    """One of a fixed set of names."""
    def check(value: Any, name: str, _: Any = None) -> str:
        if value not in options:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; "
                             f"got {value!r}")
        return value
    return check


def instance(cls: type | tuple[type, ...], what: str) -> Check:
    """An instance of ``cls``, described to the user as ``what``."""
    def check(value: Any, name: str, _: Any = None) -> Any:
        if not isinstance(value, cls):
            raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
        return value
    return check


def optional(inner: Check) -> Check:
    """None, or a value that passes ``inner``."""
    return lambda value, name, args=None: None if value is None else inner(value, name, args)


def torch_device(value: Any, name: str, _: Any = None) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or 'mps' (or such a torch.device) that this machine has."""
    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name} must be a device name such as 'cpu', 'cuda' or 'mps', "
                        f"got {describe(value)}")
    try:
        found = torch.device(value)
    except RuntimeError:
        found = None
    if found is None or found.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {value!r}")
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": torch.backends.mps.is_available()}[found.type]
    if not available or found.type == "cuda" and (found.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"{name} is {value!r}, but this machine has no such device "
                         f"(torch {torch.__version__}); use 'cpu'")
    return found


seed = integer(0)
positive = real(0.0, open_low=True)
fraction = real(0.0, 1.0)


def _shape(shape: tuple[int, ...], name: str, ndim: Any, nonempty: bool, min_rows: int) -> None:
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and len(shape) not in allowed:
        raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                         f"got shape {shape}")
    if nonempty and 0 in shape:
        raise ValueError(f"{name} must not be empty, got shape {shape}")
    if shape and shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got shape {shape}")


def tensor(ndim: Any = None, *, floating: bool = True, finite: bool = True,
           unit: bool = False, like: str | None = None) -> Check:
    """A non-empty torch tensor, by default floating point and finite; ``unit``: in [0, 1];
    ``like``: of the same shape as that argument."""
    def check(value: Any, name: str, args: Any = None) -> torch.Tensor:
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {describe(value)}")
        _shape(tuple(value.shape), name, ndim, True, 0)
        if floating and not value.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
        if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} must not contain NaN or infinity")
        if unit and bool((value < 0).any() or (value > 1).any()):
            raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli likelihood, got values "
                             f"from {value.min().item():.3g} to {value.max().item():.3g}")
        if like is not None and value.shape != args[like].shape:
            raise ValueError(f"{like} and {name} must have the same shape, "
                             f"got {tuple(args[like].shape)} and {tuple(value.shape)}")
        return value
    return check


def array(ndim: Any = None, *, kinds: str = "biuf", what: str = "numeric",
          min_rows: int = 0, like: str | None = None, tensors: bool = False,
          nonempty: bool = True) -> Check:
    """A finite numpy array (lists are converted; tensors too if ``tensors``) of a dtype kind in
    ``kinds``; ``like``: with as many columns as that argument."""
    def check(value: Any, name: str, args: Any = None) -> np.ndarray:
        if isinstance(value, torch.Tensor):
            if not tensors:
                raise TypeError(f"{name} must be a numpy array, got {describe(value)}; "
                                "call .numpy() on it first")
            value = value.detach().cpu().numpy()
        result = np.asarray(value)
        if result.dtype.kind not in kinds:
            raise TypeError(f"{name} must hold {what} values, got dtype {result.dtype}")
        _shape(result.shape, name, ndim, nonempty, min_rows)
        if result.dtype.kind == "f" and not np.isfinite(result).all():
            raise ValueError(f"{name} must not contain NaN or infinity")
        if like is not None and result.shape[1] != args[like].shape[1]:
            raise ValueError(f"{name} must have {args[like].shape[1]} columns like {like}, "
                             f"got shape {result.shape}")
        return result
    return check


def same_length(other: str, inner: Check) -> Check:
    """A batch (after ``inner``) with one entry per entry of the argument ``other``."""
    def check(value: Any, name: str, args: Mapping[str, Any]) -> Any:
        value = inner(value, name, args)
        if len(value) != len(args[other]):
            raise ValueError(f"{other} and {name} must have the same length, "
                             f"got {len(args[other])} and {len(value)}")
        return value
    return check


def _unconditional(config: Any, model: str, labels: str | None) -> None:
    """Refuse a model conditioned on labels where the function takes none."""
    if config.n_classes and labels is None:
        raise ValueError(f"{model} is conditioned on labels (n_classes = {config.n_classes}), "
                         "and this function takes none: it handles models with n_classes = 0")


def images_for(model: str = "model", *, labels: str | None = None) -> Check:
    """Images the model in argument ``model`` takes: a finite (n, input_dim) tensor of its
    dtype, in [0, 1] for a Bernoulli likelihood. Without a ``labels`` argument to go with
    them, a model conditioned on labels is refused."""
    def check(value: Any, name: str, args: Mapping[str, Any]) -> torch.Tensor:
        config, dtype = args[model].config, args[model].dtype
        _unconditional(config, model, labels)
        value = tensor(2, unit=config.likelihood == "bernoulli")(value, name)
        if value.shape[1] != config.input_dim:
            raise ValueError(f"{name} must have input_dim = {config.input_dim} columns, "
                             f"got shape {tuple(value.shape)}")
        if value.dtype != dtype:
            raise TypeError(f"{name} must have the model's dtype {dtype}, got {value.dtype}; "
                            f"convert it with {name}.to({dtype})")
        return value
    return check


def labels_for(model: str = "model", rows: str = "x", *, training: bool = False) -> Check:
    """The labels of the images in argument ``rows``: None for a model that takes none; for
    one with n_classes > 0 (or, with ``training``, an AAE with prior_labels: see
    ``ModelConfig.label_classes``), integers (n,) in [0, n_classes), a tensor or array, one
    per row of ``rows`` (None there too: no labels needed). Returns int64 tensors."""
    def check(value: Any, name: str, args: Mapping[str, Any]) -> torch.Tensor | None:
        config = args[model].config
        n_classes = config.label_classes(training=training)
        if args[rows] is None and value is None:
            return None
        if not n_classes:
            if value is not None:
                raise ValueError(f"{name} gives labels, but {model} is not conditioned on "
                                 "labels (n_classes = 0): leave it None")
            return None
        if value is None:
            why = ("its discriminator reads them (prior_labels=True)" if config.prior_labels
                   else f"it is conditioned on them (n_classes = {n_classes})")
            raise ValueError(f"{name} is needed: {model} takes labels in [0, {n_classes - 1}], "
                             f"as {why}")
        value = torch.as_tensor(array(1, kinds="iu", what="integer", tensors=True)(value, name))
        if len(value) != len(args[rows]):
            raise ValueError(f"{rows} and {name} must have the same length, "
                             f"got {len(args[rows])} and {len(value)}")
        if len(value) and (value.min() < 0 or value.max() >= n_classes):
            raise ValueError(f"{name} must lie in [0, {n_classes - 1}] (n_classes = "
                             f"{n_classes}), got values from {int(value.min())} to "
                             f"{int(value.max())}")
        return value.long()
    return check


def codes_for(model: str = "model", *, numpy: bool = False,
              labels: str | None = None) -> Check:
    """Codes the model in argument ``model`` decodes: a finite (n, latent_dim) tensor (or
    array). Without a ``labels`` argument, a model conditioned on labels is refused."""
    def check(value: Any, name: str, args: Mapping[str, Any]) -> Any:
        _unconditional(args[model].config, model, labels)
        latent_dim = args[model].config.latent_dim
        value = (array if numpy else tensor)(2)(value, name)
        if value.shape[1] != latent_dim:
            raise ValueError(f"{name} must have latent_dim = {latent_dim} columns, "
                             f"got shape {tuple(value.shape)}")
        return value
    return check


def extent(value: Any, name: str, _: Any = None) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) as floats, with x_min < x_max and y_min < y_max."""
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 4:
        raise ValueError(f"{name} must be (x_min, x_max, y_min, y_max), got {value!r}")
    x_min, x_max, y_min, y_max = (real()(v, f"{name}[{i}]") for i, v in enumerate(value))
    if x_max <= x_min or y_max <= y_min:
        raise ValueError(f"{name} must have x_min < x_max and y_min < y_max, got {value!r}")
    return x_min, x_max, y_min, y_max
