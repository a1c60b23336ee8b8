"""Argument checks shared by every module.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong
value) with a message that names the argument and says what was expected, and returns the
value so that checks read as assignments: ``x = check_tensor(x, "x", ndim=2)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

#: A SHA-256 digest as ``sha256sum`` prints it: 64 lower-case hexadecimal digits.
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


def check_int(value: Any, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An integer (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(value: Any, name: str, *, minimum: float | None = None,
                maximum: float | None = None, open_low: bool = False,
                open_high: bool = False) -> float:
    """A finite real number in a closed (or, on request, open) interval."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (open_low and value == minimum)):
        op = ">" if open_low else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (open_high and value == maximum)):
        op = "<" if open_high else "<="
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of names."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _check_shape(shape: tuple[int, ...], name: str, ndim: int | tuple[int, ...] | None,
                 nonempty: bool) -> None:
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if len(shape) not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {shape}")
    if nonempty and any(s == 0 for s in shape):
        raise ValueError(f"{name} must not be empty, got shape {shape}")


def check_tensor(value: Any, name: str, *, ndim: int | tuple[int, ...] | None = None,
                 floating: bool = True, finite: bool = True,
                 nonempty: bool = True) -> torch.Tensor:
    """A torch tensor, by default floating point, finite and non-empty."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(value)}")
    _check_shape(tuple(value.shape), name, ndim, nonempty)
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must not contain NaN or infinity")
    return value


def check_array(value: Any, name: str, *, ndim: int | tuple[int, ...] | None = None,
                finite: bool = True, nonempty: bool = True) -> np.ndarray:
    """A numeric numpy array (lists are converted), finite and non-empty by default."""
    if isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a numpy array, got {_describe(value)}; "
                        "call .numpy() on it first")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    _check_shape(array.shape, name, ndim, nonempty)
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{name} must not contain NaN or infinity")
    return array


def check_same_length(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Two batches that must pair up sample by sample."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, "
                         f"got {len(a)} and {len(b)}")


def check_extent(extent: object) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) as floats, with x_min < x_max and y_min < y_max."""
    if not isinstance(extent, (tuple, list, np.ndarray)) or len(extent) != 4:
        raise ValueError(f"extent must be (x_min, x_max, y_min, y_max), got {extent!r}")
    x_min, x_max, y_min, y_max = (check_float(v, f"extent[{i}]") for i, v in enumerate(extent))
    if x_max <= x_min or y_max <= y_min:
        raise ValueError(f"extent must have x_min < x_max and y_min < y_max, got {extent!r}")
    return x_min, x_max, y_min, y_max
