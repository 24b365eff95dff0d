"""resize: the Numba twin of csrc/ops/resize.cpp and resize_pixel.hpp: cv::resize's method for the case
(resize_method), its per-axis tables (built on the host, as axis_taps computes them), and the per-pixel
formula of each method (separable float sums, fixed-point linear, integer-factor area)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ._check import check_pair, fail, shape_str
from ._common import AREA, CUBIC, LINEAR, NEAREST, cubic_weights, f32, saturate, saturate_u8
from ._parallel import launch
from ._view import Layout, as_batch, as_view, index

SEPARABLE, FIXED_LINEAR, AREA_FAST = 0, 1, 2  # resize_pixel.hpp's ResizeKind


class ResizeMethod(NamedTuple):
    interp: int
    area_down: bool
    kind: int
    fy: int = 1
    fx: int = 1


# ---- host side: the method and the tables -------------------------------------------------------------


def resize_scale(src_len: int, dst_len: int) -> float:
    """Source coordinates per destination pixel, as cv::resize computes them: 1 / (dst / src)."""
    return 1.0 / (float(dst_len) / float(src_len))


def integer_factor(src_len: int, dst_len: int) -> int:
    scale = resize_scale(src_len, dst_len)
    i = int(math.floor(scale + 0.5))
    return i if abs(scale - i) < 2.220446049250313e-16 else 0


def resize_method(src_h: int, src_w: int, dst_h: int, dst_w: int, interp: int, uint8: bool) -> ResizeMethod:
    area_down = interp == AREA and src_h >= dst_h and src_w >= dst_w
    if area_down:
        fy, fx = integer_factor(src_h, dst_h), integer_factor(src_w, dst_w)
        if fy > 0 and fx > 0:
            return ResizeMethod(interp, True, AREA_FAST, fy, fx)
        return ResizeMethod(interp, True, SEPARABLE)
    if uint8 and interp in (LINEAR, AREA):
        return ResizeMethod(interp, False, FIXED_LINEAR)
    return ResizeMethod(interp, False, SEPARABLE)


def _area_down(src_len: int, dst_len: int, scale: float, add) -> int:  # type: ignore[no-untyped-def]
    """cv::computeResizeAreaTab: each output cell averages the source cells it covers, by coverage."""
    taps = int(math.ceil(src_len / dst_len)) + 1
    for d in range(dst_len):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, src_len - f1)
        s1, s2 = int(math.ceil(f1)), int(math.floor(f2))
        s2 = min(s2, src_len - 1)
        s1 = min(s1, s2)
        used = 0
        if s1 - f1 > 1e-3:
            add(s1 - 1, f32((s1 - f1) / cell))
            used += 1
        for s in range(s1, s2):
            add(s, f32(1.0 / cell))
            used += 1
        if f2 - s2 > 1e-3:
            add(s2, f32(min(min(f2 - s2, 1.0), cell) / cell))
            used += 1
        while used < taps:
            add(s1, f32(0.0))
            used += 1
        if used > taps:
            fail("resize: internal area table overflow")
    return taps


def _linear(src_len: int, dst_len: int, scale: float, area: bool, fixed: bool, columns: bool, add) -> int:  # type: ignore[no-untyped-def]
    """Linear taps, or INTER_AREA's variant on an enlarged axis. The fixed-point path takes the fraction in
    float32, the float path in double; only columns pin the taps at the edges (axis_taps)."""
    inv = float(dst_len) / float(src_len)
    for d in range(dst_len):
        if fixed and area:
            s = int(math.floor(d * scale))
            f = f32((d + 1) - (s + 1) * inv)
            f = f32(0.0) if f <= 0 else f32(f - f32(math.floor(f)))
        elif fixed:
            f = f32((d + 0.5) * scale - 0.5)
            s = int(math.floor(f))
            f = f32(f - f32(s))
        elif area:
            s = int(math.floor(d * scale))
            f = (d + 1) - (s + 1) * inv
            f = 0.0 if f <= 0 else f - math.floor(f)
        else:
            f = (d + 0.5) * scale - 0.5
            s = int(math.floor(f))
            f = f - s
        if columns and s < 0:
            s, f = 0, 0.0
        if columns and s >= src_len - 1:
            s, f = src_len - 1, 0.0
        add(s, f32(f32(1.0) - f32(f)) if fixed else f32(1.0 - f))
        add(s + 1, f32(f))
    return 2


def resize_q11(w: np.ndarray) -> np.ndarray:
    """saturate_cast<short>(w * 2048): OpenCV's fixed-point weights (float product, rounded half to even)."""
    return np.clip(np.rint((w * f32(2048.0)).astype(np.float32)), -32768, 32767).astype(np.int32)


def make_table(src_len: int, dst_len: int, m: ResizeMethod, columns: bool) -> tuple[np.ndarray, ...]:
    """(index int64, weight float32, q int32), each of shape (dst_len, taps): the taps of one axis."""
    interp = m.interp
    scale = resize_scale(src_len, dst_len)
    index: list[int] = []
    weight: list[np.float32] = []

    def add(i: int, w: np.float32) -> None:
        index.append(min(max(i, 0), src_len - 1))
        weight.append(w)

    if interp == NEAREST:
        taps = 1
        for d in range(dst_len):
            add(int(math.floor(d * scale)), f32(1.0))
    elif interp == CUBIC:
        taps = 4
        w4 = np.empty(4, np.float32)
        for d in range(dst_len):
            f = (d + 0.5) * scale - 0.5
            s = int(math.floor(f))
            cubic_weights(f32(f - s), w4)
            for k in range(4):
                add(s - 1 + k, w4[k])
    elif m.area_down:
        taps = _area_down(src_len, dst_len, scale, add)
    else:
        taps = _linear(src_len, dst_len, scale, interp == AREA, m.kind == FIXED_LINEAR, columns, add)
    w = np.array(weight, np.float32).reshape(dst_len, taps)
    return np.array(index, np.int64).reshape(dst_len, taps), w, resize_q11(w)


# ---- per-pixel formulas (resize_pixel.hpp) --------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def resize_separable_pixel(src: np.ndarray, s: Layout, base: int, iy: np.ndarray, wy: np.ndarray, ix: np.ndarray,
                           wx: np.ndarray, acc: np.ndarray, part: np.ndarray) -> None:
    """acc[0:C] = sum_i wy[i] * (sum_j wx[j] * src(iy[i], ix[j])), in this order."""
    for c in range(s.c):
        acc[c] = f32(0.0)
    for i in range(iy.size):
        row = base + iy[i] * s.sh
        for c in range(s.c):
            part[c] = f32(0.0)
        for j in range(ix.size):
            w = wx[j]
            p = row + ix[j] * s.sw
            for c in range(s.c):
                part[c] += w * f32(src[p + c * s.sc])
        for c in range(s.c):
            acc[c] += wy[i] * part[c]


@numba.njit(cache=True, inline="always")
def resize_q_out(r0: int, r1: int, b0: int, b1: int) -> np.uint8:
    """Two fixed-point row sums combined as OpenCV's VResizeLinear for uint8."""
    v = (((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16) + 2) >> 2
    return np.uint8(min(max(v, 0), 255))


@numba.njit(cache=True, inline="always")
def resize_fixed_value(src: np.ndarray, s: Layout, base: int, iy: np.ndarray, qy: np.ndarray, ix: np.ndarray,
                       qx: np.ndarray, c: int) -> np.uint8:
    r0 = base + iy[0] * s.sh + c * s.sc
    r1 = base + iy[1] * s.sh + c * s.sc
    x0, x1 = ix[0] * s.sw, ix[1] * s.sw
    h0 = np.int32(src[r0 + x0]) * qx[0] + np.int32(src[r0 + x1]) * qx[1]
    h1 = np.int32(src[r1 + x0]) * qx[0] + np.int32(src[r1 + x1]) * qx[1]
    return resize_q_out(h0, h1, qy[0], qy[1])


@numba.njit(cache=True, inline="always")
def area_fast_value(src: np.ndarray, s: Layout, base: int, fy: int, fx: int, y: int, x: int, c: int, u8: bool) -> float:
    """The fy x fx block average (resize_area_fast_pixel): exact integer sums for uint8, rounded half up
    for 2x2 and through float * (1 / area) otherwise; float sums row by row."""
    inv_area = f32(1.0) / f32(fy * fx)
    p = base + y * fy * s.sh + x * fx * s.sw + c * s.sc
    if u8:
        total = 0
        for i in range(fy):
            for j in range(fx):
                total += np.int64(src[p + i * s.sh + j * s.sw])
        if fy == 2 and fx == 2:
            return f32((total + 2) >> 2)
        return f32(saturate_u8(f32(total) * inv_area))
    fsum = f32(0.0)
    for i in range(fy):
        for j in range(fx):
            fsum += f32(src[p + i * s.sh + j * s.sw])
    return fsum * inv_area


# ---- kernel -------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def resize_output_pixel(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, n: int, y: int, x: int, kind: int,
                        u8: bool, fy: int, fx: int, iy: np.ndarray, wy: np.ndarray, qy: np.ndarray, ix: np.ndarray,
                        wx: np.ndarray, qx: np.ndarray, acc: np.ndarray, part: np.ndarray) -> None:
    """Output pixel (n, y, x), every channel, by the method's formula (acc, part: 4 floats of scratch)."""
    base = s.off + n * s.sn
    if kind == AREA_FAST:
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = saturate(area_fast_value(src, s, base, fy, fx, y, x, c, u8), dst)
    elif kind == FIXED_LINEAR:
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = resize_fixed_value(src, s, base, iy[y], qy[y], ix[x], qx[x], c)
    else:
        resize_separable_pixel(src, s, base, iy[y], wy[y], ix[x], wx[x], acc, part)
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


@numba.njit(parallel=True, cache=True)
def resize_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, kind: int, u8: bool, fy: int, fx: int,
                iy: np.ndarray, wy: np.ndarray, qy: np.ndarray, ix: np.ndarray, wx: np.ndarray, qx: np.ndarray) -> None:
    for r in numba.prange(d.n * d.h):
        n = r // d.h
        y = r % d.h
        acc = np.empty(4, np.float32)
        part = np.empty(4, np.float32)
        for x in range(d.w):
            resize_output_pixel(src, s, dst, d, n, y, x, kind, u8, fy, fx, iy, wy, qy, ix, wx, qx, acc, part)


# ---- front door ---------------------------------------------------------------------------------------


def resize_plan(src: np.ndarray, dst: np.ndarray, interp: int) -> tuple[ResizeMethod, tuple[np.ndarray, ...]] | None:
    """The checks of a resize of (N, H, W, C) src into dst (device arrays too), the method and its tables
    (iy, wy, qy, ix, wx, qx); None when there is nothing to write."""
    sn, sh, sw, sc = src.shape
    dn, dh, dw, dc = dst.shape
    check_pair(src, dst)
    if dn != sn or dc != sc or dst.dtype != src.dtype:
        fail("dst: expected ", sn, " images of ", sc, " channels and dtype ", src.dtype, ", got shape ",
             shape_str(dst), " ", dst.dtype)
    if not 0 <= interp <= 3:
        fail("interp: expected nearest, linear, cubic or area, got code ", interp)
    if dh <= 0 or dw <= 0:
        fail("size: expected a positive height and width, got ", dh, "x", dw)
    if dst.size == 0:
        return None
    if sh <= 0 or sw <= 0:
        fail("img: cannot resize an empty image of shape ", shape_str(src))
    m = resize_method(sh, sw, dh, dw, interp, src.dtype == np.uint8)
    return m, (*make_table(sh, dh, m, False), *make_table(sw, dw, m, True))


def resize(src: np.ndarray, dst: np.ndarray, interp: int) -> None:
    """cv2.resize to dst's H x W: nearest, linear, cubic or area."""
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    plan = resize_plan(src, dst, interp)
    if plan is not None:
        m, tables = plan
        launch(resize_rows, sbuf, s, dbuf, d, m.kind, src.dtype == np.uint8, m.fy, m.fx, *tables)
