"""resize: the Numba twin of csrc/ops/resize.cpp and resize_pixel.hpp: cv::resize's method for the case
(resize_method), its per-axis tables (built on the host, as axis_taps computes them), and the per-pixel
formula of each method (separable float sums, fixed-point linear, integer-factor area)."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._check import check_list, check_pair, check_ragged, fail, shape_str
from ._common import AREA, CUBIC, LINEAR, NEAREST, cubic_weights, f32, saturate, saturate_u8
from ._parallel import BLOCK_ROWS, block_at, claim, launch, task_counter, workers
from ._view import Layout, as_batch, as_view, dense_row, index, rows_dense, store_values

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
    """(index int64, weight float32, q int32), each of shape (dst_len, taps): the taps of one axis. Copies of
    cached_table's: built in Python, a table costs about half the native resize of a 64-image batch."""
    return tuple(t.copy() for t in cached_table(src_len, dst_len, m, columns))


@functools.lru_cache(maxsize=64)
def cached_table(src_len: int, dst_len: int, m: ResizeMethod, columns: bool) -> tuple[np.ndarray, ...]:
    """make_table's tables, built once per axis and method (read-only: shared between calls)."""
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
    tables = (np.array(index, np.int64).reshape(dst_len, taps), w, resize_q11(w))
    for t in tables:
        t.flags.writeable = False
    return tables


# ---- per-pixel formulas (resize_pixel.hpp) --------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def resize_separable_pixel(
    src: np.ndarray,
    s: Layout,
    base: int,
    iy: np.ndarray,
    wy: np.ndarray,
    ix: np.ndarray,
    wx: np.ndarray,
    acc: np.ndarray,
    part: np.ndarray,
) -> None:
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
def resize_q_row(v0, v1, q0, q1):  # type: ignore[no-untyped-def]
    """Fixed-point linear: a row's horizontal sum (11 fraction bits) >> 4, which fits 16 bits."""
    return np.int16((np.int32(v0) * q0 + np.int32(v1) * q1) >> 4)


@numba.njit(cache=True, inline="always")
def resize_q_out(r0, r1, b0, b1) -> np.uint8:  # type: ignore[no-untyped-def]
    """Two rows' resize_q_row sums combined as OpenCV's VResizeLinear for uint8: the high halves of the
    16-bit products, rounded at the end. Every step fits 16 bits (the C++ holds them in int16), so wider
    integers give the same values, and the loop over a row vectorises without narrowing casts; each step
    is cast back to int32, as Numba widens integer maths to 64 bits (64-bit lanes: half the vector)."""
    h0 = np.int32(np.int32(b0) * np.int32(r0)) >> 16
    h1 = np.int32(np.int32(b1) * np.int32(r1)) >> 16
    v = np.int32(h0 + h1 + 2) >> 2
    return np.uint8(min(max(v, 0), 255))


@numba.njit(cache=True, inline="always")
def resize_fixed_value(
    src: np.ndarray, s: Layout, base: int, iy: np.ndarray, qy: np.ndarray, ix: np.ndarray, qx: np.ndarray, c: int
) -> np.uint8:
    r0 = base + iy[0] * s.sh + c * s.sc
    r1 = base + iy[1] * s.sh + c * s.sc
    x0, x1 = ix[0] * s.sw, ix[1] * s.sw
    h0 = resize_q_row(src[r0 + x0], src[r0 + x1], qx[0], qx[1])
    h1 = resize_q_row(src[r1 + x0], src[r1 + x1], qx[0], qx[1])
    return resize_q_out(h0, h1, qy[0], qy[1])


@numba.njit(cache=True, inline="always")
def area_fast_value(src: np.ndarray, p: int, sh: int, sw: int, fy: int, fx: int, u8: bool) -> float:
    """The average of the fy x fx block whose first value is at buffer index p, rows sh and pixels sw apart
    (resize_area_fast_pixel): exact integer sums for uint8, rounded half up for 2x2 and through
    float * (1 / area) otherwise; float sums row by row. The indices are valid, so never negative: unsigned
    (see _view.dense_row)."""
    inv_area = f32(1.0) / f32(fy * fx)
    if u8:
        total = 0
        for i in range(fy):
            for j in range(fx):
                total += np.int64(src[np.uint64(p + i * sh + j * sw)])
        if fy == 2 and fx == 2:
            return f32((total + 2) >> 2)
        return f32(saturate_u8(f32(total) * inv_area))
    fsum = f32(0.0)
    for i in range(fy):
        for j in range(fx):
            fsum += f32(src[np.uint64(p + i * sh + j * sw)])
    return fsum * inv_area


@numba.njit(cache=True, inline="always")
def resize_output_pixel(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y: int,
    x: int,
    kind: int,
    u8: bool,
    fy: int,
    fx: int,
    iy: np.ndarray,
    wy: np.ndarray,
    qy: np.ndarray,
    ix: np.ndarray,
    wx: np.ndarray,
    qx: np.ndarray,
    acc: np.ndarray,
    part: np.ndarray,
) -> None:
    """Output pixel (n, y, x), every channel, by the method's formula (acc, part: 4 floats of scratch): the
    CUDA kernel's; the CPU runs the same formulas a row or a block of rows at a time."""
    base = s.off + n * s.sn
    if kind == AREA_FAST:
        for c in range(d.c):
            p = base + y * fy * s.sh + x * fx * s.sw + c * s.sc
            dst[index(d, n, y, x, c)] = saturate(area_fast_value(src, p, s.sh, s.sw, fy, fx, u8), dst)
    elif kind == FIXED_LINEAR:
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = resize_fixed_value(src, s, base, iy[y], qy[y], ix[x], qx[x], c)
    else:
        resize_separable_pixel(src, s, base, iy[y], wy[y], ix[x], wx[x], acc, part)
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


# ---- CPU kernels (resize.cpp) ---------------------------------------------------------------------------
# Each *_block function below takes the channel count C and the source's pixel and channel steps xs, cs;
# the kernels call it with literals for dense rows (C = 1, 3, 4), so that LLVM unrolls the channel loops,
# and with the strides otherwise. Buffer indices of valid values are never negative: they are unsigned
# (see _view.dense_row), sparing Numba's negative-index checks.


@numba.njit(cache=True, inline="always")
def source_rows(iy: np.ndarray, y0: int, y1: int) -> tuple[int, int]:
    """The source rows [first, last] that output rows [y0, y1) read (tap indices grow with the output row)."""
    return iy[y0].min(), iy[y1 - 1].max()


# Fixed-point horizontal sums three channels at a time, as the C++ pairs channels in one pmaddwd: each
# source pixel's channels 3k..3k+2 sit in 21-bit lanes of one uint64 word (pack_row), so that one multiply
# per tap and word forms three sums. A lane's v0 * q0 + v1 * q1 is below 2^20 (values <= 255, weights in
# [0, 2048]: the fixed-point tables are linear weights), so no lane carries into the next, and the 16
# bits from 4 up of a lane are resize_q_row's int16 exactly.
LANE_BITS = 21


@numba.njit(cache=True, inline="always")
def pack_row(src: np.ndarray, start: int, xs: int, cs: int, w: int, C: int, packed: np.ndarray) -> None:
    """The w pixels of the source row whose pixel 0 is at buffer index start as (C + 2) // 3 words each."""
    words = (C + 2) // 3
    for x in range(w):
        for k in range(words):
            v = np.uint64(0)
            for lane in range(min(3, C - 3 * k)):
                value = np.uint64(src[np.uint64(start + x * xs + (3 * k + lane) * cs)])
                v |= value << np.uint64(LANE_BITS * lane)
            packed[np.uint64(x * words + k)] = v


@numba.njit(cache=True, inline="always")
def fixed_row(packed: np.ndarray, ix: np.ndarray, qx: np.ndarray, C: int, out: np.ndarray) -> None:
    """resize.cpp's fixed_row from a pack_row row: resize_q_row of every output value."""
    words = (C + 2) // 3
    for x in range(ix.shape[0]):
        p0 = np.uint64(ix[x, 0] * words)
        p1 = np.uint64(ix[x, 1] * words)
        q0 = np.uint64(qx[x, 0])
        q1 = np.uint64(qx[x, 1])
        for k in range(words):
            v = packed[p0 + np.uint64(k)] * q0 + packed[p1 + np.uint64(k)] * q1
            for lane in range(min(3, C - 3 * k)):
                out[np.uint64(x * C + 3 * k + lane)] = np.int16(v >> np.uint64(LANE_BITS * lane + 4))


@numba.njit(cache=True, inline="always")
def widen_row(src: np.ndarray, start: int, xs: int, cs: int, w: int, C: int, line: np.ndarray) -> None:
    """The w pixels of the source row whose pixel 0 is at buffer index start as dense float32 (exact)."""
    for x in range(w):
        for c in range(C):
            line[np.uint64(x * C + c)] = f32(src[np.uint64(start + x * xs + c * cs)])


@numba.njit(cache=True, inline="always")
def separable_row(line: np.ndarray, ix: np.ndarray, wx: np.ndarray, C: int, out: np.ndarray) -> None:
    """resize.cpp's separable_row from a widen_row row: each output value's sum_j wx[j] * value from 0, in
    tap order. Each pixel's C <= 4 sums are locals (channels beyond C fold away for a literal C), so a
    tap's index and weight are read once for all its channels."""
    for x in range(ix.shape[0]):
        p0 = p1 = p2 = p3 = f32(0.0)
        for j in range(ix.shape[1]):
            w = wx[x, j]
            q = np.uint64(ix[x, j] * C)
            p0 += w * line[q]
            if C > 1:
                p1 += w * line[q + np.uint64(1)]
            if C > 2:
                p2 += w * line[q + np.uint64(2)]
            if C > 3:
                p3 += w * line[q + np.uint64(3)]
        o = np.uint64(x * C)
        out[o] = p0
        if C > 1:
            out[o + np.uint64(1)] = p1
        if C > 2:
            out[o + np.uint64(2)] = p2
        if C > 3:
            out[o + np.uint64(3)] = p3


def horizontal_row(
    src: np.ndarray,
    start: int,
    xs: int,
    cs: int,
    w: int,
    C: int,
    ix: np.ndarray,
    wx: np.ndarray,
    line: np.ndarray,
    out: np.ndarray,
) -> None:
    """One source row's horizontal sums into out, by out's type (the C++ two_pass's A), chosen at compile
    time by the overload below: int16 fixed point (pack_row into line, fixed_row with wx the q table) or
    float (widen_row into line, separable_row)."""
    raise NotImplementedError("horizontal_row runs inside Numba kernels only")


@overload(horizontal_row, jit_options={"cache": True})
def _horizontal_row(src, start, xs, cs, w, C, ix, wx, line, out):  # type: ignore[no-untyped-def]
    if out.dtype == types.int16:

        def fixed(src, start, xs, cs, w, C, ix, wx, line, out):  # type: ignore[no-untyped-def]
            pack_row(src, start, xs, cs, w, C, line)
            fixed_row(line, ix, wx, C, out)

        return fixed

    def separable(src, start, xs, cs, w, C, ix, wx, line, out):  # type: ignore[no-untyped-def]
        widen_row(src, start, xs, cs, w, C, line)
        separable_row(line, ix, wx, C, out)

    return separable


def vertical_row(
    rows: np.ndarray, first: int, length: int, iy: np.ndarray, wy: np.ndarray, acc: np.ndarray, out: np.ndarray
) -> None:
    """One output row from the block's horizontal sums rows (source rows from first, length values each)
    and the row's taps iy, wy, by the sums' type: resize_q_out of two int16 rows (wy the q table), or
    vertical_separable's sum_k wy[k] * row_k from 0 (into acc), saturated."""
    raise NotImplementedError("vertical_row runs inside Numba kernels only")


@overload(vertical_row, jit_options={"cache": True})
def _vertical_row(rows, first, length, iy, wy, acc, out):  # type: ignore[no-untyped-def]
    if rows.dtype == types.int16:

        def fixed(rows, first, length, iy, wy, acc, out):  # type: ignore[no-untyped-def]
            r0 = rows[(iy[0] - first) * length :]
            r1 = rows[(iy[1] - first) * length :]
            b0, b1 = wy[0], wy[1]
            for i in range(length):
                out[i] = resize_q_out(r0[i], r1[i], b0, b1)

        return fixed

    def separable(rows, first, length, iy, wy, acc, out):  # type: ignore[no-untyped-def]
        acc[:] = f32(0.0)
        for k in range(iy.size):
            row = rows[(iy[k] - first) * length :]
            w = wy[k]
            for i in range(length):
                acc[i] += w * row[i]
        for i in range(length):
            out[i] = saturate(acc[i], out)

    return separable


@numba.njit(cache=True, inline="always")
def resize_block(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    iy: np.ndarray,
    wy: np.ndarray,
    ix: np.ndarray,
    wx: np.ndarray,
    line: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
    obuf: np.ndarray,
    C: int,
    xs: int,
    cs: int,
) -> None:
    """two_pass on rows [y0, y1) of image n: the horizontal sums of every source row the block reads, once
    each (into the worker's rows), then each output row from them."""
    first, last = source_rows(iy, y0, y1)
    length = d.w * C
    for r in range(first, last + 1):
        at = (r - first) * length
        horizontal_row(src, index(s, n, r, 0, 0), xs, cs, s.w, C, ix, wx, line, rows[at : at + length])
    dense = rows_dense(d)
    for y in range(y0, y1):
        out = dense_row(dst, d, n, y) if dense else obuf
        vertical_row(rows, first, length, iy[y], wy[y], acc, out)
        if not dense:
            store_values(dst, d, n, y, obuf)


@numba.njit(cache=True)
def resize_block_any(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    iy: np.ndarray,
    wy: np.ndarray,
    ix: np.ndarray,
    wx: np.ndarray,
    line: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
    obuf: np.ndarray,
) -> None:
    """resize_block with literal channel counts for dense source rows, the strides otherwise. Not inlined
    into the parallel loop: Numba's compile time of a parallel loop grows fast with the code in its body."""
    if not rows_dense(s):
        resize_block(src, s, dst, d, n, y0, y1, iy, wy, ix, wx, line, rows, acc, obuf, s.c, s.sw, s.sc)
    elif s.c == 3:
        resize_block(src, s, dst, d, n, y0, y1, iy, wy, ix, wx, line, rows, acc, obuf, 3, 3, 1)
    elif s.c == 1:
        resize_block(src, s, dst, d, n, y0, y1, iy, wy, ix, wx, line, rows, acc, obuf, 1, 1, 1)
    else:
        resize_block(src, s, dst, d, n, y0, y1, iy, wy, ix, wx, line, rows, acc, obuf, 4, 4, 1)


@numba.njit(parallel=True, cache=True)
def resize_blocks(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    line: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
    obuf: np.ndarray,
    iy: np.ndarray,
    wy: np.ndarray,
    ix: np.ndarray,
    wx: np.ndarray,
) -> None:
    """Worker t claims blocks of BLOCK_ROWS output rows until none is left (parallel_blocks' dynamic
    schedule) and resizes them with its buffers line[t], rows[t], acc[t], obuf[t]; the rows' type picks the
    sums (fixed point: int16 rows, uint64 lines, the q tables as weights; float: float32)."""
    workers = rows.shape[0]
    blocks = (d.h + BLOCK_ROWS - 1) // BLOCK_ROWS
    counter = task_counter()
    for t in numba.prange(workers):
        i = claim(counter)
        while i < d.n * blocks:
            n, y0, y1 = block_at(i, blocks, d.h)
            resize_block_any(src, s, dst, d, n, y0, y1, iy, wy, ix, wx, line[t], rows[t], acc[t], obuf[t])
            i = claim(counter)


@numba.njit(cache=True, inline="always")
def gather_row(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y: int,
    kind: int,
    u8: bool,
    fy: int,
    fx: int,
    iy: np.ndarray,
    ix: np.ndarray,
    C: int,
    xs: int,
    cs: int,
    dxs: int,
    dcs: int,
) -> None:
    """nearest_cpu / area_fast_cpu on output row y of image n: each output pixel is one source pixel, or the
    average of its fy x fx block (dxs, dcs: the output's pixel and channel steps)."""
    out = index(d, n, y, 0, 0)
    if kind == AREA_FAST:
        p = index(s, n, y * fy, 0, 0)
        for x in range(d.w):
            for c in range(C):
                v = area_fast_value(src, p + x * fx * xs + c * cs, s.sh, xs, fy, fx, u8)
                dst[np.uint64(out + x * dxs + c * dcs)] = saturate(v, dst)
        return
    row = index(s, n, iy[y, 0], 0, 0)
    for x in range(d.w):
        p = row + ix[x, 0] * xs
        for c in range(C):
            dst[np.uint64(out + x * dxs + c * dcs)] = src[np.uint64(p + c * cs)]


@numba.njit(cache=True)
def gather_row_any(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y: int,
    kind: int,
    u8: bool,
    fy: int,
    fx: int,
    iy: np.ndarray,
    ix: np.ndarray,
) -> None:
    """gather_row with literal channel counts for dense rows (see resize_block_any)."""
    if not (rows_dense(s) and rows_dense(d)):
        gather_row(src, s, dst, d, n, y, kind, u8, fy, fx, iy, ix, s.c, s.sw, s.sc, d.sw, d.sc)
    elif s.c == 3:
        gather_row(src, s, dst, d, n, y, kind, u8, fy, fx, iy, ix, 3, 3, 1, 3, 1)
    elif s.c == 1:
        gather_row(src, s, dst, d, n, y, kind, u8, fy, fx, iy, ix, 1, 1, 1, 1, 1)
    else:
        gather_row(src, s, dst, d, n, y, kind, u8, fy, fx, iy, ix, 4, 4, 1, 4, 1)


@numba.njit(parallel=True, cache=True)
def resize_gather_rows(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    kind: int,
    u8: bool,
    fy: int,
    fx: int,
    iy: np.ndarray,
    ix: np.ndarray,
) -> None:
    for r in numba.prange(d.n * d.h):
        gather_row_any(src, s, dst, d, r // d.h, r % d.h, kind, u8, fy, fx, iy, ix)


# ---- front door ---------------------------------------------------------------------------------------


def resize_plan(src: np.ndarray, dst: np.ndarray, interp: int) -> tuple[ResizeMethod, tuple[np.ndarray, ...]] | None:
    """The checks of a resize of (N, H, W, C) src into dst (device arrays too), the method and its tables
    (iy, wy, qy, ix, wx, qx); None when there is nothing to write."""
    sn, sh, sw, sc = src.shape
    dn, dh, dw, dc = dst.shape
    check_pair(src, dst)
    if dn != sn or dc != sc or dst.dtype != src.dtype:
        fail(
            "dst: expected ",
            sn,
            " images of ",
            sc,
            " channels and dtype ",
            src.dtype,
            ", got shape ",
            shape_str(dst),
            " ",
            dst.dtype,
        )
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


def ragged_resize_plan(src: list[Any], dst: list[Any], interp: int) -> None:
    """The checks of a resize of a list of (1, H, W, C) images into a list of outputs (resize.cpp's
    RaggedView overload; device arrays too), all made before any image is touched."""
    check_ragged(src, dst)
    n, c, dtype = len(src), src[0].shape[3], src[0].dtype
    if len(dst) != n or dst[0].shape[3] != c or dst[0].dtype != dtype:
        fail(
            "dst: expected ",
            n,
            " images of ",
            c,
            " channels and dtype ",
            dtype,
            ", got ",
            len(dst),
            " images of ",
            dst[0].shape[3],
            " channels and dtype ",
            dst[0].dtype,
        )
    if not 0 <= interp <= 3:
        fail("interp: expected nearest, linear, cubic or area, got code ", interp)
    for i, (a, b) in enumerate(zip(src, dst, strict=True)):
        if b.shape[1] <= 0 or b.shape[2] <= 0:
            fail("size: expected a positive height and width for image ", i, ", got ", b.shape[1], "x", b.shape[2])
        if a.shape[1] <= 0 or a.shape[2] <= 0:
            fail("src[", i, "]: cannot resize an empty image of shape ", shape_str(a))


def resize(src: np.ndarray | list[np.ndarray], dst: np.ndarray | list[np.ndarray], interp: int) -> None:
    """cv2.resize to dst's H x W: nearest, linear, cubic or area. src and dst may be lists of images (ragged
    batches, one output per image): every image is checked, then each resized in turn."""
    if isinstance(src, (list, tuple)):
        images = check_list([as_batch(x, f"img[{i}]") for i, x in enumerate(src)], "img", "cpu")
        if not isinstance(dst, (list, tuple)):
            fail("out: expected a list of output images for a list of images")
        outs = check_list([as_batch(x, f"out[{i}]") for i, x in enumerate(dst)], "out", "cpu")
        for i, b in enumerate(outs):
            if not b.flags.writeable:
                fail("out[", i, "]: the output array is read-only")
        ragged_resize_plan(images, outs, interp)
        for a, b in zip(images, outs, strict=True):
            resize(a, b, interp)
        return
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    plan = resize_plan(src, dst, interp)
    if plan is None:
        return
    m, (iy, wy, qy, ix, wx, qx) = plan
    u8 = src.dtype == np.uint8
    if m.kind == AREA_FAST or m.interp == NEAREST:
        launch(resize_gather_rows, sbuf, s, dbuf, d, m.kind, u8, m.fy, m.fx, iy, ix)
        return
    # each worker's buffers: the source rows of its largest block, and a row of output
    starts = np.arange(0, d.h, BLOCK_ROWS)
    ends = np.minimum(starts + BLOCK_ROWS, d.h) - 1
    span = int((iy[ends].max(axis=1) - iy[starts].min(axis=1)).max()) + 1
    w, length = workers(), d.w * d.c
    obuf = np.empty((w, length), dst.dtype)
    if m.kind == FIXED_LINEAR:
        if qx.min() < 0 or qx.max() > 2048:
            fail("resize: internal fixed-point weight out of [0, 2048]")  # pack_row's lanes would carry
        line = np.empty((w, s.w * ((s.c + 2) // 3)), np.uint64)
        rows = np.empty((w, span * length), np.int16)
        wy, wx = qy, qx
    else:
        line = np.empty((w, s.w * s.c), np.float32)
        rows = np.empty((w, span * length), np.float32)
    launch(resize_blocks, sbuf, s, dbuf, d, line, rows, np.empty((w, length), np.float32), obuf, iy, wy, ix, wx)
