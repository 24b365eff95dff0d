"""Argument checks of the Numba backend: the twins of csrc/common/check.hpp, dispatch.hpp's check_border
and module.cpp's params(), raising the same messages (naming the argument) as a ValueError subclass, as
the native module's fastaug::Error arrives in Python."""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from .._errors import ArgumentError

DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))
# normalize's outputs: float32, float16, or bfloat16 as its uint16 bit patterns (see _common.F16, BF16).
FLOAT_OUT = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.uint16): 2}


def _part(p: Any) -> str:
    # C++ streams doubles with 6 significant digits and no trailing ".0".
    return format(p, "g") if isinstance(p, (float, np.floating)) else str(p)


def fail(*parts: Any) -> NoReturn:
    raise ArgumentError("".join(_part(p) for p in parts))


def shape_str(a: np.ndarray) -> str:
    return "(" + ", ".join(str(int(s)) for s in a.shape) + ")"


def check_image(a: np.ndarray, name: str, float_out: bool = False) -> None:
    """check.hpp's check_image; float_out: a float32, float16 or bfloat16 (uint16 bits) output."""
    c = a.shape[3]
    if c not in (1, 3, 4):
        fail(name, ": expected 1, 3 or 4 channels, got ", c)
    if float_out and a.dtype not in FLOAT_OUT:
        fail(name, ": expected dtype float32, float16 or bfloat16, got ", a.dtype)
    if not float_out and a.dtype not in DTYPES:
        fail(name, ": expected dtype uint8 or float32, got ", a.dtype)


def check_pair(src: np.ndarray, dst: np.ndarray, float_out: bool = False) -> None:
    check_image(src, "src")
    check_image(dst, "dst", float_out)


def check_ragged(src: list[Any], dst: Any) -> None:
    """check.hpp's check_pair for a ragged batch: every image (named src[i]), and dst (a batch, or a list of
    images named dst[i])."""
    for i, image in enumerate(src):
        check_image(image, f"src[{i}]")
    for i, image in enumerate(dst) if isinstance(dst, list) else [(-1, dst)]:
        check_image(image, "dst" if i < 0 else f"dst[{i}]")


def check_list(images: list[Any], name: str, device: str) -> list[Any]:
    """The binding's ConsumedList (capsule.cpp): a non-empty list of single (1, H, W, C) images that share
    dtype, channel count and device with the first; returns the list."""
    if not images:
        fail(name, ": expected a non-empty list of images")

    def kind(a: Any) -> str:
        return f"dtype {np.dtype(a.dtype)}, {a.shape[3]} channels on {device}"

    for i, a in enumerate(images):
        if a.shape[0] != 1:
            fail(name, "[", i, "]: expected one image, (H, W) or (H, W, C), got ", a.shape[0], " images")
        if kind(a) != kind(images[0]):
            fail(name, "[", i, "]: expected ", kind(images[0]), " like ", name, "[0], got ", kind(a))
    return images


def check_shape(a: np.ndarray, name: str, n: int, h: int, w: int, c: int) -> None:
    if a.shape != (n, h, w, c):
        fail(name, ": expected shape (", n, ", ", h, ", ", w, ", ", c, "), got ", shape_str(a))


def check_dtype(a: np.ndarray, name: str, dtype: Any) -> None:
    if a.dtype != np.dtype(dtype):
        fail(name, ": expected dtype ", np.dtype(dtype), ", got ", a.dtype)


def check_border(border: int) -> None:
    if not 0 <= border <= 4:
        fail("border: expected one of constant, replicate, reflect, wrap, reflect101, got code ", border)


def params(values: Any, count: int, name: str, dtype: Any) -> np.ndarray:
    """module.cpp's params(): a flat contiguous array of `dtype` with exactly `count` values. Always a fresh
    (writable) copy, so that kernels see one array type whatever the caller passed."""
    arr = np.array(values, dtype=dtype).reshape(-1)
    if arr.size != count:
        fail(name, ": expected ", count, " values, got ", arr.size)
    return arr


def fill_f32(fill: Any) -> np.ndarray:
    """The 4 border values as float32 (static_cast<float> of the doubles; no fill means zeros)."""
    if fill is None:
        return np.zeros(4, np.float32)
    arr = np.asarray(fill, dtype=np.float64).reshape(-1)
    if arr.size != 4:
        fail("fill: expected 4 values, got ", arr.size)
    return arr.astype(np.float32)
