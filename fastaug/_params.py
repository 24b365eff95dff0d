"""Validation and expansion of per-sample parameters: a scalar (or one value of the stated shape) for
every sample, or one per sample. Always returns a C-contiguous host array of shape (n, *shape)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import ArgumentError, ArgumentTypeError


def numbers(value: Any, name: str) -> np.ndarray:
    """value as a numeric (or bool) array; a clear ArgumentTypeError for anything else."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ArgumentTypeError(f"{name}: expected a number or an array, got {type(value).__name__}") from e
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ArgumentTypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
    return arr


def per_sample(
    value: Any, n: int, name: str, shape: tuple[int, ...] = (), dtype: Any = np.float64, finite: bool = True
) -> np.ndarray:
    arr = numbers(value, name)
    one = "a scalar" if not shape else f"shape {shape}"
    if arr.shape == shape:
        arr = np.broadcast_to(arr, (n, *shape))
    elif arr.shape != (n, *shape):
        raise ArgumentError(f"{name}: expected {one} or one per sample, shape {(n, *shape)}, got shape {arr.shape}")
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ArgumentError(f"{name}: expected finite values, got {arr[~np.isfinite(arr)].ravel()[:3]}")
    if (
        np.issubdtype(np.dtype(dtype), np.integer)
        and np.issubdtype(arr.dtype, np.floating)
        and (arr != np.round(arr)).any()
    ):  # an integer parameter: 1.5 is a mistake, not 1
        raise ArgumentError(f"{name}: expected integers, got {arr[arr != np.round(arr)].ravel()[:3]}")
    return np.ascontiguousarray(arr, dtype=dtype)


def pair(value: Any, name: str, kind: str = "size") -> tuple[int, int]:
    """An int or a (height, width) pair of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if (
        isinstance(value, (tuple, list, np.ndarray))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise ArgumentTypeError(f"{name}: expected an int or a ({kind} height, {kind} width) pair of ints, got {value!r}")


def fill4(fill: Any, channels: int) -> tuple[float, float, float, float]:
    """The border value: a scalar for every channel, or one per channel (as cv2's borderValue)."""
    arr = np.asarray(fill, dtype=np.float64).ravel() if not isinstance(fill, (int, float)) else np.array([fill], float)
    if arr.size == 1:
        arr = np.repeat(arr, 4)
    elif arr.size == channels:
        arr = np.concatenate([arr, np.zeros(4 - channels)])
    else:
        raise ArgumentError(f"fill: expected a scalar or {channels} values (one per channel), got {arr.size} values")
    if not np.isfinite(arr).all():
        raise ArgumentError("fill: expected finite values")
    return tuple(float(v) for v in arr)  # type: ignore[return-value]
