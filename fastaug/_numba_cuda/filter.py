"""filter2d, sep_filter2d, gaussian_blur, box_blur and median_blur on CUDA: the twin of
fastaug._numba.filter (checks and kernels built on the host by its *_kernels / check_median; map_border,
median_of and saturate run as device functions).

The CPU widens each source row once into a padded float32 row and correlates whole rows; here one thread
computes one output pixel, so it applies the border per tap (row_taps). The float32 sums run in the same
order (per kernel row: 0 + k[0] * p0 + k[1] * p1 ..., then over the rows from 0, then + delta), so the
bits are the CPU's. Direct 2-D sums cost kh * kw taps per pixel, which is fine for a fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import cuda, float32

from .._numba._check import fill_f32
from .._numba._common import f32
from .._numba._common import map_border as _map_border
from .._numba._common import saturate as _saturate
from .._numba._view import index as _index
from .._numba.filter import box_pixel as _box_pixel
from .._numba.filter import box_scale, check_box, check_median, filter2d_kernel, gaussian_kernels, sep_filter2d_kernels
from .._numba.filter import median_of as _median_of
from .._numba.filter import median_window as _median_window
from .._numba.filter import round_q16 as _round_q16
from ._device import DeviceBatch, device, kernel, launch_pixels, pair, thread_pixel, upload

map_border = device(_map_border)
median_of = device(_median_of)
median_window = device(_median_window)
saturate = device(_saturate)
index = device(_index)
round_q16 = device(_round_q16)
box_pixel = device(_box_pixel)


@cuda.jit(device=True)
def row_taps(src, s, n, r, x0, c, k, border, fill):  # type: ignore[no-untyped-def]
    """sum_j k[j] * pixel(r, x0 + j, c) from 0 in j order, each tap mapped by the border (fill outside)."""
    ry = map_border(r, s.h, border)
    acc = f32(0.0)
    for j in range(k.size):
        sx = map_border(x0 + j, s.w, border)
        if ry < 0 or sx < 0:
            acc += k[j] * fill[c]
        else:
            acc += k[j] * f32(src[index(s, n, ry, sx, c)])
    return acc


@kernel
def sep_kernel(src, s, dst, d, kx, ky, border, fill, delta):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x): the horizontal pass of each of its kh source rows, weighted
    by ky, plus delta."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    kxn = kx[n]
    kyn = ky[n]
    ax = kxn.size // 2
    ay = kyn.size // 2
    for c in range(d.c):
        acc = f32(0.0)
        for r in range(kyn.size):
            acc += kyn[r] * row_taps(src, s, n, y - ay + r, x - ax, c, kxn, border, fill)
        acc += delta
        dst[index(d, n, y, x, c)] = saturate(acc, dst)


@kernel
def gaussian_q8_kernel(src, s, dst, d, kx, ky, border):  # type: ignore[no-untyped-def]
    """uint8 Gaussian in OpenCV's fixed point, one thread per output pixel (n, y, x): exact integer sums of
    kx * pixel per source row, then ky * row sum (a constant border reads 0). int() keeps the simulator's
    numpy scalars from wrapping at 16 bits."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    kxn = kx[n]
    kyn = ky[n]
    ax = kxn.size // 2
    ay = kyn.size // 2
    for c in range(d.c):
        acc = 0
        for r in range(kyn.size):
            ry = map_border(y - ay + r, s.h, border)
            if ry < 0:
                continue
            row = 0
            for j in range(kxn.size):
                sx = map_border(x - ax + j, s.w, border)
                if sx >= 0:
                    row += int(kxn[j]) * int(src[index(s, n, ry, sx, c)])
            acc += int(kyn[r]) * row
        dst[index(d, n, y, x, c)] = round_q16(acc)


@kernel
def filter2d_kernel_(src, s, dst, d, k, border, fill):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x): cv::filter2D's sum of the non-zero taps in row-major order."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    kn = k[n]
    ay = kn.shape[0] // 2
    ax = kn.shape[1] // 2
    for c in range(d.c):
        acc = f32(0.0)
        for r in range(kn.shape[0]):
            ry = map_border(y - ay + r, s.h, border)
            for j in range(kn.shape[1]):
                kv = kn[r, j]
                if kv != f32(0.0):
                    sx = map_border(x - ax + j, s.w, border)
                    acc += kv * (fill[c] if ry < 0 or sx < 0 else f32(src[index(s, n, ry, sx, c)]))
        dst[index(d, n, y, x, c)] = saturate(acc, dst)


@kernel
def median_kernel(src, s, dst, d, ksize):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x); the window is gathered into float32 (exact for uint8 too,
    and the comparisons order the values alike): a local array's dtype must be a compile-time constant."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    a = ksize // 2
    v = cuda.local.array(49, float32)
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = median_of(v, median_window(src, s, n, y, x, c, a, v))


def run_sep_filter(
    s: DeviceBatch,
    d: DeviceBatch,
    kx: np.ndarray,
    ky: np.ndarray,
    border: int,
    fill: Sequence[float] | None,
    delta: float,
    stream: Any,
) -> None:
    """The twin of fastaug._numba.filter.run_sep_filter: shared by sep_filter2d, gaussian_blur, box_blur and
    sobel once their (N, kw) / (N, kh) float32 kernels are built."""
    fillf = fill_f32(fill)
    if d.size == 0:
        return
    dkx, dky, dfill = upload(stream, kx, ky, fillf)
    launch_pixels(
        sep_kernel,
        d.size // d.shape[3],
        stream,
        s.buf,
        s.layout,
        d.buf,
        d.layout,
        dkx,
        dky,
        int(border),
        dfill,
        np.float32(delta),
    )


def sep_filter2d(
    src: Any,
    dst: Any,
    kx: Any,
    kw: int,
    ky: Any,
    kh: int,
    border: int,
    fill: Sequence[float],
    delta: float,
    *,
    stream: Any = 0,
) -> None:
    """cv2.sepFilter2D on device arrays; dst may be float32 when src is uint8."""
    s, d = pair(src, dst)
    kx, ky = sep_filter2d_kernels(s, d, kx, kw, ky, kh, border)
    run_sep_filter(s, d, kx, ky, border, fill, delta, stream)


def filter2d(
    src: Any, dst: Any, kernel: Any, kh: int, kw: int, border: int, fill: Sequence[float], *, stream: Any = 0
) -> None:
    """cv2.filter2D (correlation, anchor at the kernel centre) on device arrays."""
    s, d = pair(src, dst)
    k = filter2d_kernel(s, d, kernel, kh, kw, border)
    fillf = fill_f32(fill)
    if d.size == 0:
        return
    dk, dfill = upload(stream, k, fillf)
    launch_pixels(
        filter2d_kernel_, d.size // d.shape[3], stream, s.buf, s.layout, d.buf, d.layout, dk, int(border), dfill
    )


def gaussian_blur(src: Any, dst: Any, kh: int, kw: int, sigma: Any, border: int, *, stream: Any = 0) -> None:
    """cv2.GaussianBlur on device arrays: sigma is (sigma_x, sigma_y) per sample; uint8 in OpenCV's fixed
    point."""
    s, d = pair(src, dst)
    kx, ky = gaussian_kernels(s, d, kh, kw, sigma, border)
    if s.dtype != np.uint8:
        return run_sep_filter(s, d, kx, ky, border, None, 0.0, stream)
    if d.size == 0:
        return
    dkx, dky = upload(stream, kx, ky)
    launch_pixels(
        gaussian_q8_kernel, d.size // d.shape[3], stream, s.buf, s.layout, d.buf, d.layout, dkx, dky, int(border)
    )


@kernel
def box_kernel(src, s, dst, d, kh, kw, border, inv, u8):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels: box_pixel's direct sums."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = saturate(box_pixel(src, s, n, y, x, c, kh, kw, border, inv, u8), dst)


def box_blur(src: Any, dst: Any, kh: int, kw: int, border: int, *, stream: Any = 0) -> None:
    """cv2.blur on device arrays."""
    s, d = pair(src, dst)
    if not check_box(s, d, kh, kw, border):
        return
    u8 = s.dtype == np.uint8
    launch_pixels(
        box_kernel,
        d.size // d.shape[3],
        stream,
        s.buf,
        s.layout,
        d.buf,
        d.layout,
        int(kh),
        int(kw),
        int(border),
        box_scale(u8, kh, kw),
        u8,
    )


def median_blur(src: Any, dst: Any, ksize: int, *, stream: Any = 0) -> None:
    """cv2.medianBlur on device arrays: ksize 3, 5 or 7, BORDER_REPLICATE."""
    s, d = pair(src, dst)
    if check_median(s, d, ksize):
        launch_pixels(median_kernel, d.size // d.shape[3], stream, s.buf, s.layout, d.buf, d.layout, int(ksize))
