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


FILL_ONLY, ELSEWHERE = -2, -1  # pass 1's codes for pixels whose taps are not all inside


@numba.njit(cache=True, inline="always")
def linear_row_plan(xs: np.ndarray, m: np.ndarray, fy: float, sw: int, sh: int, ch: int, constant: bool,
                    offs: np.ndarray, w00: np.ndarray, w01: np.ndarray, w10: np.ndarray, w11: np.ndarray) -> None:
    """Pass 1 of a bilinear affine row: for each dst pixel, the offset in its image of the top-left source
    tap when all four taps are inside, FILL_ONLY when all four are outside under a constant border, else
    ELSEWHERE (a NaN coordinate is neither), and the four weights: each the same float operations as
    warp_pixel + sample + accumulate_taps (m[1] * fy is the same product hoisted). Branch-free 32-bit
    arithmetic, so that LLVM vectorises it."""
    one = f32(1.0)
    m0, m2, m3, m5 = m[0], m[2], m[3], m[5]  # locals: the stores below could alias m for all LLVM knows
    t1 = m[1] * fy
    t4 = m[4] * fy
    for x in range(xs.size):
        sx = clamp_coord(m0 * xs[x] + t1 + m2)
        sy = clamp_coord(m3 * xs[x] + t4 + m5)
        finite = (sx == sx) & (sy == sy)
        ix = np.int32(sx if finite else f32(0.0))  # NaN -> int is undefined in LLVM: never convert it
        iy = np.int32(sy if finite else f32(0.0))
        x0 = np.int32(ix - np.int32(1) if f32(ix) > sx else ix)  # fast_floor
        y0 = np.int32(iy - np.int32(1) if f32(iy) > sy else iy)
        inside = finite & (x0 >= 0) & (y0 >= 0) & (x0 < sw - 1) & (y0 < sh - 1)
        outside = constant & finite & ((x0 < -1) | (y0 < -1) | (x0 >= sw) | (y0 >= sh))
        tx = sx - f32(x0)
        ty = sy - f32(y0)
        w00[x] = (one - ty) * (one - tx)
        w01[x] = (one - ty) * tx
        w10[x] = ty * (one - tx)
        w11[x] = ty * tx
        code = FILL_ONLY if outside else ELSEWHERE
        offs[x] = np.int32((y0 * sw + x0) * ch) if inside else np.int32(code)


@numba.njit(cache=True, inline="always")
def linear_row_taps(img: np.ndarray, orow: np.ndarray, offs: np.ndarray, w00: np.ndarray, w01: np.ndarray,
                    w10: np.ndarray, w11: np.ndarray, fill: np.ndarray, row_len: int, ch: int) -> None:
    """Pass 2: the four taps of every inside pixel, or four times the fill, summed in accumulate_taps'
    order. The call sites pass ch as a literal for 1, 3 and 4 channels, so the channel loop unrolls;
    unsigned offsets spare Numba's negative-index checks."""
    for x in range(offs.size):
        if offs[x] == FILL_ONLY:
            for c in range(ch):
                a = f32(0.0) + w00[x] * fill[c]
                a += w01[x] * fill[c]
                a += w10[x] * fill[c]
                a += w11[x] * fill[c]
                orow[x * ch + c] = saturate(a, orow)
        if offs[x] < 0:
            continue
        p = np.uint64(offs[x])
        q = p + np.uint64(row_len)
        o = np.uint64(x * ch)
        for c in range(ch):
            a = f32(0.0) + w00[x] * f32(img[p + c])
            a += w01[x] * f32(img[p + ch + c])
            a += w10[x] * f32(img[q + c])
            a += w11[x] * f32(img[q + ch + c])
            orow[o + c] = saturate(a, orow)


@numba.njit(parallel=True, cache=True)
def warp_affine_linear_dense(src4: np.ndarray, src: np.ndarray, s: Layout, dst4: np.ndarray, minv: np.ndarray,
                             border: int, fill: np.ndarray) -> None:
    """warp_rows for the hot case, bilinear affine on C-contiguous (N, H, W, C) arrays whose images hold
    < 2^31 values: per row, pass 1 (vectorised) plans every pixel, pass 2 samples those whose four taps
    are inside or all outside under a constant border (the fill), and the rest take warp_pixel. The bits
    are warp_rows'."""
    n_img, h, w, ch = dst4.shape
    sh, sw = src4.shape[1], src4.shape[2]
    size, row_len = sh * sw * ch, sw * ch
    flat = src4.reshape(-1)
    out = dst4.reshape(-1)
    xs = np.arange(w).astype(np.float32)
    for r in numba.prange(n_img * h):
        n = r // h
        y = r % h
        m = minv[n]
        fy = f32(y)
        offs = np.empty(w, np.int32)
        w00 = np.empty(w, np.float32)
        w01 = np.empty(w, np.float32)
        w10 = np.empty(w, np.float32)
        w11 = np.empty(w, np.float32)
        linear_row_plan(xs, m, fy, np.int32(sw), np.int32(sh), np.int32(ch), border == CONSTANT, offs, w00, w01,
                        w10, w11)
        img = flat[n * size:(n + 1) * size]
        orow = out[(n * h + y) * w * ch:(n * h + y + 1) * w * ch]
        if ch == 3:
            linear_row_taps(img, orow, offs, w00, w01, w10, w11, fill, row_len, 3)
        elif ch == 1:
            linear_row_taps(img, orow, offs, w00, w01, w10, w11, fill, row_len, 1)
        else:
            linear_row_taps(img, orow, offs, w00, w01, w10, w11, fill, row_len, 4)
        wy = np.empty(4, np.float32)
        wx = np.empty(4, np.float32)
        acc = np.empty(4, np.float32)
        for x in range(w):  # partly inside, NaN, or another border: the general sampler
            if offs[x] == ELSEWHERE:
                warp_pixel(src, s, s.off + n * s.sn, m, x, y, LINEAR, border, False, fill, wy, wx, acc)
                for c in range(ch):
                    orow[x * ch + c] = saturate(acc[c], orow)


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
    n, h, w, c = src.shape
    if (interp == LINEAR and not perspective and src.flags.c_contiguous and dst.flags.c_contiguous
            and h * w * c < 2**31):
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
