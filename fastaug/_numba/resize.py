"""resize: the Numba twin of csrc/ops/resize.cpp (OpenCV's per-axis tables, built on the host in double)
and resize_pixel.hpp (the separable weighted sum)."""

from __future__ import annotations

import math

import numba
import numpy as np

from ._check import check_pair, fail, shape_str
from ._common import AREA, CUBIC, NEAREST, cubic_weights, f32, saturate
from ._parallel import launch
from ._view import Layout, as_batch, as_view, index

# ---- host side: the tables ----------------------------------------------------------------------------

def _clampi(v: int, n: int) -> int:
    return min(max(v, 0), n - 1)


def _area_down(src_len: int, dst_len: int, scale: float, add) -> int:  # type: ignore[no-untyped-def]
    """cv::computeResizeAreaTab: each output cell averages the source cells it covers, by coverage."""
    taps = int(math.ceil(scale)) + 1
    for d in range(dst_len):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, src_len - f1)
        s1, s2 = int(math.ceil(f1)), int(math.floor(f2))
        s2 = min(s2, src_len - 1)
        s1 = min(s1, s2)
        used = 0
        if s1 - f1 > 1e-3:
            add(s1 - 1, (s1 - f1) / cell)
            used += 1
        for s in range(s1, s2):
            add(s, 1.0 / cell)
            used += 1
        if f2 - s2 > 1e-3:
            add(s2, min(min(f2 - s2, 1.0), cell) / cell)
            used += 1
        while used < taps:
            add(s1, 0.0)
            used += 1
        if used > taps:
            fail("resize: internal area table overflow")
    return taps


def _linear(src_len: int, dst_len: int, scale: float, area: bool, add) -> int:  # type: ignore[no-untyped-def]
    """Linear taps; INTER_AREA on an enlarged axis uses OpenCV's bilinear variant of the fraction."""
    for d in range(dst_len):
        if area:
            s = int(math.floor(d * scale))
            f = (d + 1) - (s + 1) / scale
            f = 0.0 if f <= 0 else f - math.floor(f)
        else:
            c = (d + 0.5) * scale - 0.5
            s = int(math.floor(c))
            f = c - s
        if s < 0:
            s, f = 0, 0.0
        if s >= src_len - 1:
            s, f = src_len - 1, 0.0
        add(s, 1.0 - f)
        add(s + 1, f)
    return 2


def make_table(src_len: int, dst_len: int, interp: int, area_down: bool) -> tuple[np.ndarray, np.ndarray]:
    """(index int64, weight float32), each of shape (dst_len, taps): the taps of one axis."""
    scale = float(src_len) / float(dst_len)
    index: list[int] = []
    weight: list[float] = []

    def add(i: int, w: float) -> None:
        index.append(_clampi(i, src_len))
        weight.append(w)  # a double, rounded to float32 below as static_cast<float>

    if interp == NEAREST:
        taps = 1
        for d in range(dst_len):
            add(int(math.floor(d * scale)), 1.0)
    elif interp == CUBIC:
        taps = 4
        w4 = np.empty(4, np.float32)
        for d in range(dst_len):
            f = (d + 0.5) * scale - 0.5
            s = int(math.floor(f))
            cubic_weights(np.float32(f - s), w4)
            for k in range(4):
                add(s - 1 + k, float(w4[k]))
    elif interp == AREA and area_down:
        taps = _area_down(src_len, dst_len, scale, add)
    else:
        taps = _linear(src_len, dst_len, scale, interp == AREA, add)
    return (np.array(index, np.int64).reshape(dst_len, taps),
            np.array(weight, np.float64).astype(np.float32).reshape(dst_len, taps))


# ---- kernel -------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def resize_pixel(src: np.ndarray, s: Layout, base: int, iy: np.ndarray, wy: np.ndarray, ix: np.ndarray,
                 wx: np.ndarray, acc: np.ndarray) -> None:
    """acc[0:C] = sum_i sum_j (wy[i] * wx[j]) * src(iy[i], ix[j]): one output pixel's taps."""
    for c in range(s.c):
        acc[c] = f32(0.0)
    for i in range(iy.size):
        row = base + iy[i] * s.sh
        for j in range(ix.size):
            w = wy[i] * wx[j]
            p = row + ix[j] * s.sw
            for c in range(s.c):
                acc[c] += w * f32(src[p + c * s.sc])


@numba.njit(parallel=True, cache=True)
def resize_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, iy: np.ndarray, wy: np.ndarray,
                ix: np.ndarray, wx: np.ndarray) -> None:
    for r in numba.prange(d.n * d.h):
        n = r // d.h
        y = r % d.h
        acc = np.empty(4, np.float32)
        base = s.off + n * s.sn
        for x in range(d.w):
            resize_pixel(src, s, base, iy[y], wy[y], ix[x], wx[x], acc)
            for c in range(d.c):
                dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


# ---- front door ---------------------------------------------------------------------------------------


def resize_plan(src: np.ndarray, dst: np.ndarray, interp: int) -> tuple[np.ndarray, ...] | None:
    """The checks of a resize of (N, H, W, C) src into dst (device arrays too) and its tables
    (iy, wy, ix, wx); None when there is nothing to write."""
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
    area_down = interp == AREA and sh >= dh and sw >= dw
    return (*make_table(sh, dh, interp, area_down), *make_table(sw, dw, interp, area_down))


def resize(src: np.ndarray, dst: np.ndarray, interp: int) -> None:
    """cv2.resize to dst's H x W: nearest, linear, cubic or area."""
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    tables = resize_plan(src, dst, interp)
    if tables is not None:
        launch(resize_rows, sbuf, s, dbuf, d, *tables)
