"""equalize, to_gray, threshold, invert and normalize on CUDA: the twin of fastaug._numba.intensity (checks
and per-sample values by its check_* / *_plan; the per-pixel functions run as device functions).

equalize runs one block of 256 threads per (image, channel) plane: a shared-memory histogram filled with
atomics, the LUT built by one thread with the CPU's equalize_lut, then every thread maps its pixels.
Nothing goes through the host."""

from __future__ import annotations

from typing import Any

from numba import cuda, int32, uint8

from .._numba._common import f32
from .._numba._view import index as _index
from .._numba.intensity import check_equalize, check_same, check_to_gray, normalize_plan, threshold_plan
from .._numba.intensity import equalize_lut as _equalize_lut
from .._numba.intensity import gray_pixel as _gray_pixel
from .._numba.intensity import invert_pixel as _invert_pixel
from .._numba.intensity import normalize_pixel as _normalize_pixel
from .._numba.intensity import threshold_value as _threshold_value
from ._device import device, kernel, launch, launch_pixels, pair, thread_pixel, upload

equalize_lut = device(_equalize_lut)
gray_pixel = device(_gray_pixel)
invert_pixel = device(_invert_pixel)
normalize_pixel = device(_normalize_pixel)
threshold_value = device(_threshold_value)
index = device(_index)

BINS = 256  # also the block size of equalize


@kernel
def equalize_kernel(src, s, dst, d):  # type: ignore[no-untyped-def]
    """Block b equalizes plane (n, c) = divmod(b, C)."""
    n = cuda.blockIdx.x // s.c
    c = cuda.blockIdx.x % s.c
    t = cuda.threadIdx.x
    hist = cuda.shared.array(BINS, int32)
    lut = cuda.shared.array(BINS, uint8)
    hist[t] = 0
    cuda.syncthreads()
    total = s.h * s.w
    for p in range(t, total, BINS):
        cuda.atomic.add(hist, src[index(s, n, p // s.w, p % s.w, c)], 1)
    cuda.syncthreads()
    if t == 0:
        equalize_lut(hist, total, lut)
    cuda.syncthreads()
    for p in range(t, total, BINS):
        y = p // s.w
        x = p % s.w
        dst[index(d, n, y, x, c)] = lut[src[index(s, n, y, x, c)]]


@kernel
def gray_kernel(src, s, dst, d):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    p = index(s, n, y, x, 0)
    if s.c == 1:
        dst[index(d, n, y, x, 0)] = src[p]
    else:
        dst[index(d, n, y, x, 0)] = gray_pixel(src[p], src[p + s.sc], src[p + 2 * s.sc])


@kernel
def threshold_kernel(src, s, dst, d, thresh, maxval, mode, wrap_negative):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = threshold_value(
            src[index(s, n, y, x, c)], thresh[n], maxval[n], mode, wrap_negative
        )


@kernel
def invert_kernel(src, s, dst, d):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = invert_pixel(src[index(s, n, y, x, c)])


@kernel
def normalize_kernel(src, s, dst, d, a, b):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = normalize_pixel(f32(src[index(s, n, y, x, c)]), a[c], b[c])


def _pixels(d: Any) -> int:
    return d.size // d.shape[3]


def equalize(src: Any, dst: Any, *, stream: Any = 0) -> None:
    """cv2.equalizeHist per image and per channel on device arrays; uint8 only."""
    s, d = pair(src, dst)
    if check_equalize(s, d):
        launch(equalize_kernel, s.shape[0] * s.shape[3], BINS, stream, s.buf, s.layout, d.buf, d.layout)


def to_gray(src: Any, dst: Any, *, stream: Any = 0) -> None:
    """cv2.cvtColor RGB2GRAY / RGBA2GRAY on device arrays (one channel is copied)."""
    s, d = pair(src, dst)
    if check_to_gray(s, d):
        launch_pixels(gray_kernel, _pixels(d), stream, s.buf, s.layout, d.buf, d.layout)


def threshold(src: Any, dst: Any, thresh: Any, maxval: Any, mode: int, *, stream: Any = 0) -> None:
    """cv2.threshold with one thresh and maxval per sample, on device arrays."""
    s, d = pair(src, dst)
    plan = threshold_plan(s, d, thresh, maxval, mode)
    if plan is not None:
        dt, dm = upload(stream, plan[0], plan[1])
        launch_pixels(
            threshold_kernel, _pixels(d), stream, s.buf, s.layout, d.buf, d.layout, dt, dm, int(mode), plan[2]
        )


def invert(src: Any, dst: Any, *, stream: Any = 0) -> None:
    """255 - x for uint8, 1 - x for float32, on device arrays."""
    s, d = pair(src, dst)
    check_same(s, d)
    if d.size:
        launch_pixels(invert_kernel, _pixels(d), stream, s.buf, s.layout, d.buf, d.layout)


def normalize(src: Any, dst: Any, mean: Any, std: Any, scale: float, *, stream: Any = 0) -> None:
    """dst = (src * scale - mean[c]) / std[c] into a float32 device array of any layout."""
    s, d = pair(src, dst)
    plan = normalize_plan(s, d, mean, std, scale)
    if plan is not None:
        launch_pixels(normalize_kernel, _pixels(d), stream, s.buf, s.layout, d.buf, d.layout, *upload(stream, *plan))
