"""warp_affine and warp_perspective: the Numba twin of csrc/ops/warp.cpp and warp_pixel.hpp."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

from ._check import check_border, check_pair, fail, fill_f32, params, shape_str
from ._common import CONSTANT, LINEAR, clamp_coord, f32, fast_floor, sample, saturate
from ._parallel import launch
from ._view import Layout, as_batch, as_view, index

# ---- host side: the inverse maps ----------------------------------------------------------------------


def invert3x3(m: Sequence[float]) -> np.ndarray | None:
    """Inverse of the row-major 3x3 m, computed in double as C++ does (same operation order), as float32;
    None if singular or not finite."""
    a, b, c, d, e, f, g, h, i = (float(v) for v in m)
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if not math.isfinite(det) or det == 0.0:
        return None
    r = 1.0 / det
    out = [(e * i - f * h) * r, (c * h - b * i) * r, (b * f - c * e) * r,
           (f * g - d * i) * r, (a * i - c * g) * r, (c * d - a * f) * r,
           (d * h - e * g) * r, (b * g - a * h) * r, (a * e - b * d) * r]
    with np.errstate(over="ignore"):
        inv = np.array(out, dtype=np.float64).astype(np.float32)
    return inv if np.isfinite(inv).all() else None  # nearly singular: the float inverse overflows


def inverse_maps(M: np.ndarray, n: int, perspective: bool, name: str) -> np.ndarray:
    """Forward matrices (6 or 9 doubles per sample) -> (n, 9) float32 inverse maps (dst -> src)."""
    size = 9 if perspective else 6
    inv = np.empty((n, 9), np.float32)
    for k in range(n):
        m = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
        for j in range(size):
            m[j] = float(M[k * size + j])
            if not math.isfinite(m[j]):
                fail(name, ": matrix of sample ", k, " has a non-finite entry")
        mi = invert3x3(m)
        if mi is None:
            fail(name, ": matrix of sample ", k, " is singular (not invertible)")
        inv[k] = mi
    return inv


# ---- kernel -------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def warp_pixel(src: np.ndarray, s: Layout, base: int, m: np.ndarray, x: int, y: int, interp: int, border: int,
               perspective: bool, fill: np.ndarray, wy: np.ndarray, wx: np.ndarray, acc: np.ndarray) -> None:
    """Samples the source point of dst pixel (y, x) under the inverse map m into acc[0:C]."""
    fx = f32(x)
    fy = f32(y)
    sx = m[0] * fx + m[1] * fy + m[2]
    sy = m[3] * fx + m[4] * fy + m[5]
    if perspective:
        wz = m[6] * fx + m[7] * fy + m[8]
        wz = f32(1.0) / wz if wz != f32(0.0) else f32(0.0)  # as OpenCV: a point at infinity samples (0, 0)
        sx *= wz
        sy *= wz
    sample(src, s, base, sy, sx, interp, border, fill, wy, wx, acc)


@numba.njit(parallel=True, cache=True)
def warp_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, minv: np.ndarray, interp: int, border: int,
              perspective: bool, fill: np.ndarray) -> None:
    for r in numba.prange(d.n * d.h):
        n = r // d.h
        y = r % d.h
        wy = np.empty(4, np.float32)
        wx = np.empty(4, np.float32)
        acc = np.empty(4, np.float32)
        base = s.off + n * s.sn
        m = minv[n]
        for x in range(d.w):
            warp_pixel(src, s, base, m, x, y, interp, border, perspective, fill, wy, wx, acc)
            for c in range(d.c):
                dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


@numba.njit(parallel=True, cache=True)
def warp_affine_linear_dense(src4: np.ndarray, src: np.ndarray, s: Layout, dst4: np.ndarray, minv: np.ndarray,
                             border: int, fill: np.ndarray) -> None:
    """warp_rows for the hot case, bilinear affine on C-contiguous (N, H, W, C) arrays: the interior taps
    indexed directly (Numba's 4-D indexing compiles to tighter code than the strided flat buffer), the
    same float operations in the same order as sample + accumulate_taps; other pixels take warp_pixel."""
    n_img, h, w, ch = dst4.shape
    for r in numba.prange(n_img * h):
        n = r // h
        y = r % h
        wy = np.empty(4, np.float32)
        wx = np.empty(4, np.float32)
        acc = np.empty(4, np.float32)
        base = s.off + n * s.sn
        m = minv[n]
        img = src4[n]
        for x in range(w):
            fx = f32(x)
            fy = f32(y)
            sx = clamp_coord(m[0] * fx + m[1] * fy + m[2])
            sy = clamp_coord(m[3] * fx + m[4] * fy + m[5])
            x0 = fast_floor(sx)
            y0 = fast_floor(sy)
            inside = x0 >= 0 and y0 >= 0 and x0 + 2 <= s.w and y0 + 2 <= s.h
            outside = border == CONSTANT and (x0 + 2 <= 0 or y0 + 2 <= 0 or x0 >= s.w or y0 >= s.h)
            if sx == sx and sy == sy and (inside or outside):
                tx = sx - f32(x0)
                ty = sy - f32(y0)
                w00 = (f32(1.0) - ty) * (f32(1.0) - tx)
                w01 = (f32(1.0) - ty) * tx
                w10 = ty * (f32(1.0) - tx)
                w11 = ty * tx
                for c in range(ch):
                    if inside:
                        a = f32(0.0) + w00 * f32(img[y0, x0, c])
                        a += w01 * f32(img[y0, x0 + 1, c])
                        a += w10 * f32(img[y0 + 1, x0, c])
                        a += w11 * f32(img[y0 + 1, x0 + 1, c])
                    else:  # every tap is the fill
                        a = f32(0.0) + w00 * fill[c]
                        a += w01 * fill[c]
                        a += w10 * fill[c]
                        a += w11 * fill[c]
                    dst4[n, y, x, c] = saturate(a, dst4)
            else:
                warp_pixel(src, s, base, m, x, y, LINEAR, border, False, fill, wy, wx, acc)
                for c in range(ch):
                    dst4[n, y, x, c] = saturate(acc[c], dst4)


# ---- front doors --------------------------------------------------------------------------------------


def warp_plan(src: np.ndarray, dst: np.ndarray, M: np.ndarray, interp: int, border: int, fill: Sequence[float],
              perspective: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The checks of a warp of (N, H, W, C) src into dst (anything with .shape, .dtype and .size: the CUDA
    fallback passes device arrays) and its (N, 9) float32 inverse maps and 4 fill values; None when there
    is nothing to write."""
    name = "H" if perspective else "M"
    n, h, w, c = src.shape
    M = params(M, n * (9 if perspective else 6), name, np.float64)
    check_pair(src, dst)
    if dst.shape[0] != n or dst.shape[3] != c or dst.dtype != src.dtype:
        fail("dst: expected ", n, " images of ", c, " channels and dtype ", src.dtype, " like src, got shape ",
             shape_str(dst), " ", dst.dtype)
    check_border(border)
    if interp not in (0, 1, 2):
        fail("interp: expected nearest, linear or cubic, got code ", interp)
    minv = inverse_maps(M, n, perspective, name)
    fillf = fill_f32(fill)
    if dst.size == 0:
        return None
    if h <= 0 or w <= 0:
        fail("src: cannot warp an empty image of shape ", shape_str(src))
    return minv, fillf


def _warp(src: np.ndarray, dst: np.ndarray, M: np.ndarray, interp: int, border: int, fill: Sequence[float],
          perspective: bool) -> None:
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    plan = warp_plan(src, dst, M, interp, border, fill, perspective)
    if plan is None:
        return
    if interp == LINEAR and not perspective and src.flags.c_contiguous and dst.flags.c_contiguous:
        launch(warp_affine_linear_dense, src, sbuf, s, dst, plan[0], int(border), plan[1])
    else:
        launch(warp_rows, sbuf, s, dbuf, d, plan[0], int(interp), int(border), perspective, plan[1])


def warp_affine(src: np.ndarray, dst: np.ndarray, M: np.ndarray, interp: int, border: int,
                fill: Sequence[float]) -> None:
    """cv2.warpAffine: M is 6 doubles per sample (forward, src -> dst), inverted here."""
    _warp(src, dst, M, interp, border, fill, perspective=False)


def warp_perspective(src: np.ndarray, dst: np.ndarray, H: np.ndarray, interp: int, border: int,
                     fill: Sequence[float]) -> None:
    """cv2.warpPerspective: H is 9 doubles per sample (forward, src -> dst), inverted here."""
    _warp(src, dst, H, interp, border, fill, perspective=True)
