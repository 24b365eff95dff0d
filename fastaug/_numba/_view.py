"""The Numba twin of csrc/include/fastaug/image_view.hpp (and of the capsule's to_view): a batch seen as
a flat buffer plus element strides, so that one compiled kernel serves every layout (contiguous, sliced,
transposed, negative strides) instead of one specialisation per numpy layout.

Kernels take the buffer and its Layout as two separate arguments: Numba loses writes made inside a
prange body through an array stored in a tuple, so arrays never travel inside the NamedTuple."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._check import fail


class Layout(NamedTuple):
    """ImageView without its data pointer: where pixel (0, 0, 0, 0) is in the buffer and the strides."""

    off: int  # element index of pixel (0, 0, 0, 0) in the flat buffer
    n: int
    h: int
    w: int
    c: int
    sn: int  # element strides, possibly negative
    sh: int
    sw: int
    sc: int


def check_rank(ndim: int, name: str) -> None:
    if ndim not in (2, 3, 4):
        fail(name, ": expected rank 2, 3 or 4, got rank ", ndim)


def batch_dims(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shape and strides of rank 2 (H, W), 3 (H, W, C) or 4 seen as (N, H, W, C), as as_batch's views."""
    if len(shape) == 2:
        return (1, *shape, 1), (0, *strides, 0)
    if len(shape) == 3:
        return (1, *shape), (0, *strides)
    return tuple(shape), tuple(strides)


def as_batch(arr: np.ndarray, name: str) -> np.ndarray:
    """(H, W), (H, W, C) or (N, H, W, C) -> an (N, H, W, C) view, as the capsule's to_view reads ranks."""
    if not isinstance(arr, np.ndarray):
        fail(name, ": expected a numpy array, got ", type(arr).__name__)
    check_rank(arr.ndim, name)
    if arr.ndim == 2:
        return arr[None, :, :, None]
    if arr.ndim == 3:
        return arr[None]
    return arr


def layout_of(shape: tuple[int, ...], strides: list[int]) -> tuple[Layout, int, int]:
    """The Layout of a (N, H, W, C) array of these element strides within the flat buffer that spans its
    memory, then the element offsets (from pixel (0, 0, 0, 0), lo <= 0 <= hi) of that buffer's first and
    last elements. Shared with the CUDA fallback, which builds the same flat buffer over device memory."""
    # The lowest address is the last index along each axis of negative stride.
    lo = sum(s * (m - 1) for s, m in zip(strides, shape, strict=True) if s < 0)
    hi = sum(s * (m - 1) for s, m in zip(strides, shape, strict=True) if s > 0)
    return Layout(-lo, *shape, *strides), lo, hi


def as_view(arr: np.ndarray, name: str, writable: bool = False) -> tuple[np.ndarray, Layout]:
    """The flat 1-D buffer spanning arr's memory and the Layout that addresses arr's pixels in it.

    Inputs (writable=False) always get a read-only buffer: one Numba type whatever the caller's flags
    (no second compilation for read-only arrays), and a kernel that wrote to its source would not compile."""
    if writable and not arr.flags.writeable:
        fail(name, ": the output array is read-only")
    size = arr.itemsize
    if any(s % size for s in arr.strides) or arr.ctypes.data % size:
        fail(name, ": data is not aligned to its element size")
    strides = [s // size for s in arr.strides]
    if arr.size == 0:  # nothing will be read or written: any buffer of the right dtype will do
        return np.empty(0, arr.dtype), Layout(0, *arr.shape, *strides)
    layout, lo, hi = layout_of(arr.shape, strides)
    first = arr[tuple(slice(m - 1, m) if s < 0 else slice(0, 1) for s, m in zip(strides, arr.shape, strict=True))]
    buf = np.lib.stride_tricks.as_strided(first, shape=(hi - lo + 1,), strides=(size,), writeable=writable)
    return buf, layout


def ragged_layouts(addresses: Sequence[int], layouts: Sequence[Layout], itemsize: int) -> tuple[int, np.ndarray]:
    """For images whose flat buffers start at these addresses (bytes; each buffer's own Layout), the index of
    the lowest address and the (N, 9) int64 Layouts of the images in one flat buffer starting there (each
    one image: n = 1, sn = 0)."""
    low = int(np.argmin(addresses))
    rows = np.empty((len(layouts), 9), np.int64)
    for i, (a, v) in enumerate(zip(addresses, layouts, strict=True)):
        rows[i] = (v.off + (a - addresses[low]) // itemsize, 1, v.h, v.w, v.c, 0, v.sh, v.sw, v.sc)
    return low, rows


def ragged_span(rows: np.ndarray) -> int:
    """Elements of the flat buffer that a ragged batch's Layouts reach (one past the highest element)."""
    hi = sum(np.maximum(rows[:, k], 0) * np.maximum(rows[:, m] - 1, 0) for k, m in ((6, 2), (7, 3), (8, 4)))
    return int((rows[:, 0] + hi).max()) + 1


def as_ragged(arrays: Sequence[np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, H_i, W_i, C) one-image arrays (as_batch's views) as one read-only flat buffer and their (N, 9)
    Layouts (see the module docstring). The caller keeps the arrays alive while the buffer is used."""
    views = [as_view(a, f"{name}[{i}]") for i, a in enumerate(arrays)]
    low, rows = ragged_layouts([b.ctypes.data for b, _ in views], [v for _, v in views], arrays[0].itemsize)
    base = views[low][0]
    size = base.itemsize
    return np.lib.stride_tricks.as_strided(base, shape=(ragged_span(rows),), strides=(size,), writeable=False), rows


def sample_layout(s, n):  # type: ignore[no-untyped-def]
    """Image n of a kernel's source as (its Layout, the buffer index of its pixel (0, 0, 0)): of a batch
    (Layout s) or of a ragged batch ((N, 9) Layouts s). Inside Numba kernels (CPU and CUDA) the overload
    below picks the form at compile time; this Python body is what the CUDA simulator runs."""
    if isinstance(s, Layout):
        return s, s.off + n * s.sn
    v = Layout(*(int(s[n, k]) for k in range(9)))  # an (N, 9) array (under the simulator, a device array)
    return v, v.off


@overload(sample_layout, jit_options={"cache": True})
def _sample_layout(s, n):  # type: ignore[no-untyped-def]
    if isinstance(s, types.Array):
        return lambda s, n: (
            Layout(s[n, 0], s[n, 1], s[n, 2], s[n, 3], s[n, 4], s[n, 5], s[n, 6], s[n, 7], s[n, 8]),
            s[n, 0],
        )
    return lambda s, n: (s, s.off + n * s.sn)


@numba.njit(cache=True)
def index(v: Layout, n: int, y: int, x: int, c: int) -> int:
    """Position of pixel (n, y, x, c) in the buffer of v."""
    return v.off + n * v.sn + y * v.sh + x * v.sw + c * v.sc


@numba.njit(cache=True)
def rows_dense(v: Layout) -> bool:
    """Each row's W*C values are contiguous (channels-last, packed pixels): rows can be walked linearly
    (ImageView::rows_dense)."""
    return v.sc == 1 and v.sw == v.c


@numba.njit(cache=True, inline="always")
def dense_row(buf: np.ndarray, v: Layout, n: int, y: int) -> np.ndarray:
    """Row y of image n of a rows_dense view as a 1-D slice of its W*C values, for loops that LLVM
    vectorises. Numba wraps a negative signed index with a select per access that keeps a loop scalar;
    LLVM removes it only for indices it can prove non-negative: a loop counter over the slice, but not an
    offset into the flat buffer, nor x * C + c or a reversed index (those loops index with np.uint64,
    which Numba does not wrap)."""
    start = index(v, n, y, 0, 0)
    return buf[start : start + v.w * v.c]


@numba.njit(cache=True, inline="always")
def store_values(dst: np.ndarray, d: Layout, n: int, y: int, values: np.ndarray) -> None:
    """Row y of image n of any layout from W*C channels-last values already in dst's type (what a kernel
    that writes dense rows in place does for other layouts)."""
    start = index(d, n, y, 0, 0)
    for x in range(d.w):
        for c in range(d.c):
            dst[start + x * d.sw + c * d.sc] = values[x * d.c + c]
