"""equalize, to_gray, threshold, invert, normalize, lut, color_transform, channel_mean and hue_shift on CUDA:
the twin of fastaug._numba.intensity (checks and per-sample values by its check_* / *_plan; the per-pixel
functions run as device functions).

equalize runs one block of 256 threads per (image, channel) plane: a shared-memory histogram filled with
atomics, the LUT built by one thread with the CPU's equalize_lut, then every thread maps its pixels.
Nothing goes through the host, but channel_mean's N x C means (the call waits for them).

channel_mean sums in the order of the CPU (mean_row's lanes, then the rows in order) with float64 lanes for
uint8 as well: integer sums are exact in float64, so the means are the CPU's bits."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda, float64, int32, uint8

from .._numba._common import f32
from .._numba._common import saturate as _saturate
from .._numba._common import store_float as _store_float
from .._numba._view import index as _index
from .._numba.intensity import (
    MEAN_LANES_F32,
    MEAN_LANES_U8,
    check_channel_mean,
    check_equalize,
    check_same,
    check_to_gray,
    color_transform_plan,
    hue_scales,
    hue_shift_plan,
    lut_plan,
    normalize_plan,
    threshold_plan,
)
from .._numba.intensity import color_channel as _color_channel
from .._numba.intensity import equalize_lut as _equalize_lut
from .._numba.intensity import gray_pixel as _gray_pixel
from .._numba.intensity import hue_pixel as _hue_pixel
from .._numba.intensity import invert_pixel as _invert_pixel
from .._numba.intensity import lut_pixel as _lut_pixel
from .._numba.intensity import mean_row as _mean_row
from .._numba.intensity import normalize_pixel as _normalize_pixel
from .._numba.intensity import pixel_values as _pixel_values
from .._numba.intensity import threshold_value as _threshold_value
from ._device import as_batch, device, kernel, launch, launch_pixels, pair, thread_pixel, upload

equalize_lut = device(_equalize_lut)
gray_pixel = device(_gray_pixel)
invert_pixel = device(_invert_pixel)
normalize_pixel = device(_normalize_pixel)
store_float = device(_store_float)
threshold_value = device(_threshold_value)
index = device(_index)
lut_pixel = device(_lut_pixel)
color_channel = device(_color_channel)
pixel_values = device(_pixel_values)
saturate = device(_saturate)
mean_row = device(_mean_row)
hue_pixel = device(_hue_pixel)

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
def normalize_kernel(src, s, dst, d, a, b, fmt):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        store_float(dst, index(d, n, y, x, c), normalize_pixel(f32(src[index(s, n, y, x, c)]), a[c], b[c]), fmt)


@kernel
def color_normalize_kernel(src, s, dst, d, a, b, fmt, m, q, kind):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    v0, v1, v2, v3 = pixel_values(src, index(s, n, y, x, 0), s.sc, s.c)
    for c in range(d.c):
        v = saturate(color_channel(m[n], q[n], kind[n], v0, v1, v2, v3, c, d.c), src)
        store_float(dst, index(d, n, y, x, c), normalize_pixel(f32(v), a[c], b[c]), fmt)


@kernel
def lut_kernel(src, s, dst, d, table):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = lut_pixel(table[n], c, src[index(s, n, y, x, c)])


@kernel
def color_kernel(src, s, dst, d, m, q, kind):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    v0, v1, v2, v3 = pixel_values(src, index(s, n, y, x, 0), s.sc, s.c)
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = saturate(color_channel(m[n], q[n], kind[n], v0, v1, v2, v3, c, d.c), dst)


@kernel
def mean_rows_kernel(src, s, L, rows):  # type: ignore[no-untyped-def]
    """One thread per row (n, y): its channels' sums into rows[n * H + y]."""
    r = cuda.grid(1)
    if r >= s.n * s.h:
        return
    lanes = cuda.local.array(64, float64)  # L * C <= 16 * 4
    mean_row(src, index(s, r // s.h, r % s.h, 0, 0), s.w, s.sw, s.sc, s.c, L, lanes, rows[r])


@kernel
def mean_fold_kernel(rows, h, C, scale, means):  # type: ignore[no-untyped-def]
    """One thread per (image, channel): its row sums in row order, times scale."""
    i = cuda.grid(1)
    if i >= means.size:
        return
    img = i // C
    acc = 0.0
    for y in range(h):
        acc += rows[img * h + y, i % C]
    means[img, i % C] = acc * scale


@kernel
def hue_kernel(src, s, dst, d, hue, load, store):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    hue_pixel(src, index(s, n, y, x, 0), s.sc, dst, index(d, n, y, x, 0), d.sc, d.c, hue[n], load, store)


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


def normalize(src: Any, dst: Any, mean: Any, std: Any, scale: float, matrix: Any = None, *, stream: Any = 0) -> None:
    """dst = (src * scale - mean[c]) / std[c] into a device array of any layout: float32, float16, or uint16
    (the bit patterns of bfloat16), as fastaug._numba.normalize; a matrix puts color_transform in front."""
    s, d = pair(src, dst)
    plan = normalize_plan(s, d, mean, std, scale, matrix)
    if plan is not None:
        a, b, fmt, *colour = plan
        out = d.buf.view(np.uint16) if d.dtype == np.float16 else d.buf
        args = (s.buf, s.layout, out, d.layout, *upload(stream, a, b), fmt)
        if colour:
            launch_pixels(color_normalize_kernel, _pixels(d), stream, *args, *upload(stream, *colour))
        else:
            launch_pixels(normalize_kernel, _pixels(d), stream, *args)


def lut(src: Any, dst: Any, table: Any, *, stream: Any = 0) -> None:
    """cv2.LUT per image and channel on device arrays; table is N * C * 256 uint8 values."""
    s, d = pair(src, dst)
    tables = lut_plan(s, d, table)
    if tables is not None:
        launch_pixels(lut_kernel, _pixels(d), stream, s.buf, s.layout, d.buf, d.layout, *upload(stream, tables))


def color_transform(src: Any, dst: Any, matrix: Any, *, stream: Any = 0) -> None:
    """cv2.transform with a C x (C + 1) matrix per sample, on device arrays."""
    s, d = pair(src, dst)
    plan = color_transform_plan(s, d, matrix)
    if plan is not None:
        launch_pixels(color_kernel, _pixels(d), stream, s.buf, s.layout, d.buf, d.layout, *upload(stream, *plan))


def channel_mean(src: Any, out: np.ndarray, *, stream: Any = 0) -> None:
    """cv2.mean per image and channel of a device array into out (N * C float64 values, host memory); waits
    for the stream."""
    s = as_batch(src, "img")
    check_channel_mean(s, out)
    n, h, w, c = s.shape
    if n * h == 0:
        out[...] = 0.0  # cv2.mean of an empty image
        return
    L = MEAN_LANES_U8 if s.dtype == np.uint8 else MEAN_LANES_F32
    rows = cuda.device_array((n * h, c), np.float64, stream=stream)
    means = cuda.device_array((n, c), np.float64, stream=stream)
    launch_pixels(mean_rows_kernel, n * h, stream, s.buf, s.layout, L, rows)
    launch_pixels(mean_fold_kernel, n * c, stream, rows, h, c, 1.0 / (h * w) if w else 0.0, means)
    out.reshape(n, c)[...] = means.copy_to_host(stream=stream)
    if stream:
        stream.synchronize()


def hue_shift(src: Any, dst: Any, hue: Any, *, stream: Any = 0) -> None:
    """torchvision's adjust_hue with one shift per sample, on device arrays."""
    s, d = pair(src, dst)
    shifts = hue_shift_plan(s, d, hue)
    if shifts is not None:
        args = (s.buf, s.layout, d.buf, d.layout, *upload(stream, shifts), *hue_scales(s.dtype))
        launch_pixels(hue_kernel, _pixels(d), stream, *args)
