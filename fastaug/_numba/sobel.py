"""sobel (cv2.Sobel with a float32 dst, through the separable filter) and edges (the fused 3x3 gradient
magnitude): the Numba twin of csrc/ops/sobel.cpp and sobel_pixel.hpp."""

from __future__ import annotations

import math

import numba
import numpy as np

from ._check import check_border, check_dtype, check_pair, check_shape, fail
from ._common import REFLECT101, f32, map_border, saturate
from ._parallel import launch
from ._view import Layout, as_batch, as_view, index
from .filter import deriv_kernel, run_sep_filter


def sobel_kernels(
    src: np.ndarray, dst: np.ndarray, dx: int, dy: int, ksize: int, scale: float, delta: float, border: int
) -> tuple[np.ndarray, np.ndarray]:
    """The checks of sobel on (N, H, W, C) arrays (device arrays too), and its (N, k) float32 kernels."""
    N, H, W, C = src.shape
    check_pair(src, dst)
    check_shape(dst, "dst", N, H, W, C)
    check_dtype(dst, "dst", np.float32)
    check_border(border)
    if ksize not in (-1, 1, 3, 5, 7):
        fail("ksize: expected 1, 3, 5, 7 or -1 (Scharr), got ", ksize)
    if not (dx >= 0 and dy >= 0 and dx + dy > 0):
        fail("dx, dy: expected non-negative orders with dx + dy > 0, got (", dx, ", ", dy, ")")
    if ksize == -1:
        if dx + dy != 1:
            fail("dx, dy: Scharr (ksize=-1) takes one first derivative, got (", dx, ", ", dy, ")")
    elif not (dx < max(ksize, 3) and dy < max(ksize, 3)):
        fail("dx, dy: orders must be below ksize ", max(ksize, 3), ", got (", dx, ", ", dy, ")")
    if not (math.isfinite(scale) and math.isfinite(delta)):
        fail("scale, delta: expected finite values")
    kx1, ky1 = deriv_kernel(dx, ksize), deriv_kernel(dy, ksize)
    if scale != 1.0:  # as cv::Sobel: the scale goes into the smoothing kernel when dx == 0, else into ky
        k = kx1 if dx == 0 else ky1
        k[:] = (k.astype(np.float64) * scale).astype(np.float32)  # float * double, then static_cast<float>
    return np.tile(kx1, (N, 1)), np.tile(ky1, (N, 1))  # one copy per sample, as run_sep_filter takes


def sobel(
    src: np.ndarray, dst: np.ndarray, dx: int, dy: int, ksize: int, scale: float, delta: float, border: int
) -> None:
    """cv2.Sobel(ddepth=CV_32F): ksize 1, 3, 5, 7 or -1 (Scharr); dst is float32."""
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    as_view(src, "img")  # the capsule's checks come first, as in module.cpp
    as_view(dst, "out", writable=True)
    kx, ky = sobel_kernels(src, dst, dx, dy, ksize, scale, delta, border)
    run_sep_filter(src, dst, kx, ky, border, None, delta)


@numba.njit(cache=True, inline="always")
def tap(src: np.ndarray, s: Layout, n: int, y: int, x: int) -> int:
    """Pixel (y, x) of image n under BORDER_REFLECT_101, as an int."""
    return np.int64(src[index(s, n, map_border(y, s.h, REFLECT101), map_border(x, s.w, REFLECT101), 0)])


@numba.njit(cache=True, inline="always")
def edge_pixel(src: np.ndarray, s: Layout, n: int, y: int, x: int) -> np.uint8:
    """saturate(sqrt(gx^2 + gy^2)) of the 3x3 Sobel derivatives at (y, x), in ints as C++."""
    v00, v01, v02 = tap(src, s, n, y - 1, x - 1), tap(src, s, n, y - 1, x), tap(src, s, n, y - 1, x + 1)
    v10, v12 = tap(src, s, n, y, x - 1), tap(src, s, n, y, x + 1)
    v20, v21, v22 = tap(src, s, n, y + 1, x - 1), tap(src, s, n, y + 1, x), tap(src, s, n, y + 1, x + 1)
    gx = (v02 - v00) + 2 * (v12 - v10) + (v22 - v20)
    gy = (v20 - v00) + 2 * (v21 - v01) + (v22 - v02)
    return saturate(math.sqrt(f32(gx * gx + gy * gy)), src)  # uint8, like dst


@numba.njit(parallel=True, cache=True)
def edges_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout) -> None:
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        for x in range(s.w):
            dst[index(d, n, y, x, 0)] = edge_pixel(src, s, n, y, x)


def check_edges(src: np.ndarray, dst: np.ndarray) -> bool:
    """The checks of edges on (N, H, W, C) arrays (device arrays too); False when nothing to write."""
    n, h, w, c = src.shape
    check_pair(src, dst)
    if c != 1 or src.dtype != np.uint8:
        fail("img: edges expects a one-channel uint8 image, got ", c, " channel(s) of ", src.dtype)
    check_shape(dst, "dst", n, h, w, 1)
    check_dtype(dst, "dst", np.uint8)
    return dst.size != 0


def edges(src: np.ndarray, dst: np.ndarray) -> None:
    """Edge magnitude of a one-channel uint8 image, uint8 out."""
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    if check_edges(src, dst):
        launch(edges_rows, sbuf, s, dbuf, d)
