"""equalize, to_gray, threshold, invert, normalize, lut, color_transform, channel_mean and hue_shift: the Numba
twin of csrc/ops/intensity.cpp and intensity_pixel.hpp."""

from __future__ import annotations

import math
import struct
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._check import FLOAT_OUT, check_dtype, check_image, check_pair, check_shape, fail, params
from ._common import f32, saturate, store_float
from ._parallel import launch, workers
from ._view import Layout, as_batch, as_view, dense_row, index, rows_dense

BINARY, BINARY_INV, TRUNC, TOZERO, TOZERO_INV = 0, 1, 2, 3, 4

# ---- per-pixel maths (intensity_pixel.hpp) ------------------------------------------------------------


@numba.njit(cache=True)
def equalize_lut(hist: np.ndarray, total: int, lut: np.ndarray) -> None:
    """cv::equalizeHist's LUT from a 256-bin histogram of `total` pixels."""
    i = 0
    while i < 255 and hist[i] == 0:
        i += 1
    if hist[i] == total:  # one grey level: OpenCV sets the whole image to it
        lut[:] = i
        return
    scale = f32(255.0) / f32(total - hist[i])
    acc = 0
    lut[: i + 1] = 0
    for j in range(i + 1, 256):
        acc += hist[j]
        lut[j] = saturate(f32(acc) * scale, lut)


@numba.njit(cache=True, inline="always")
def gray_u8(r, g, b):  # type: ignore[no-untyped-def]
    """cv::cvtColor RGB2GRAY of one uint8 pixel, in OpenCV 5's 15-bit fixed point."""
    return np.uint8((np.int32(r) * 9798 + np.int32(g) * 19235 + np.int32(b) * 3735 + (1 << 14)) >> 15)


@numba.njit(cache=True, inline="always")
def gray_f32(r, g, b):  # type: ignore[no-untyped-def]
    """cv::cvtColor RGB2GRAY of one float32 pixel."""
    return r * f32(0.299) + g * f32(0.587) + b * f32(0.114)


def gray_pixel(r, g, b):  # type: ignore[no-untyped-def]
    """gray_u8 or gray_f32 by the pixel's dtype: chosen at compile time by the overload below inside Numba
    kernels (CPU and CUDA); this Python body is what the CUDA simulator runs."""
    return gray_u8(r, g, b) if isinstance(r, np.uint8) else gray_f32(r, g, b)


@overload(gray_pixel, jit_options={"cache": True})
def _gray_pixel(r, g, b):  # type: ignore[no-untyped-def]
    if r == types.uint8:
        return lambda r, g, b: gray_u8(r, g, b)
    return lambda r, g, b: gray_f32(r, g, b)


@numba.njit(cache=True, inline="always")
def invert_u8(v):  # type: ignore[no-untyped-def]
    return np.uint8(255 - np.int32(v))


@numba.njit(cache=True, inline="always")
def invert_f32(v):  # type: ignore[no-untyped-def]
    return f32(1.0) - v


def invert_pixel(v):  # type: ignore[no-untyped-def]
    """255 - v for uint8, 1 - v for float32 (Python body for the CUDA simulator, as gray_pixel)."""
    return invert_u8(v) if isinstance(v, np.uint8) else invert_f32(v)


@overload(invert_pixel, jit_options={"cache": True})
def _invert_pixel(v):  # type: ignore[no-untyped-def]
    if v == types.uint8:
        return lambda v: invert_u8(v)
    return lambda v: invert_f32(v)


@numba.njit(cache=True, inline="always")
def threshold_select(v, above: bool, cut, maxval, mode: int):  # type: ignore[no-untyped-def]
    """cv::threshold's result for a value v that is (above) or is not above the threshold; cut is the
    threshold in v's type (TRUNC's output). The literal 0s type the result wider than v (int64 or
    float64): the caller's store converts it back exactly."""
    if mode == BINARY:
        return maxval if above else 0
    if mode == BINARY_INV:
        return 0 if above else maxval
    if mode == TRUNC:
        return cut if above else v
    if mode == TOZERO:
        return v if above else 0
    return 0 if above else v


@numba.njit(cache=True)
def threshold_pixel(v, thresh: float, maxval, mode: int):  # type: ignore[no-untyped-def]
    """cv::threshold on one value (uint8: thresh already floored, maxval rounded), compared as float32.
    Every result is v, maxval, 0 or the integral thresh: the store converts it back exactly."""
    fv = f32(v)
    return threshold_select(fv, fv > thresh, thresh, f32(maxval), mode)


@numba.njit(cache=True, inline="always")
def threshold_value(v, thresh: float, maxval, mode: int, wrap_negative: bool):  # type: ignore[no-untyped-def]
    """threshold_pixel, then uint8 TRUNC with thresh -1 (wrap_negative): 0 as OpenCV (saturate_cast in C++)
    instead of a negative value."""
    r = threshold_pixel(v, thresh, maxval, mode)
    return f32(0.0) if wrap_negative and r < f32(0.0) else r


@numba.njit(cache=True)
def normalize_pixel(v: float, a: float, b: float) -> float:
    """(v * scale - mean) / std as v * a + b with a = scale / std, b = -mean / std."""
    return v * a + b


@numba.njit(cache=True, inline="always")
def lut_pixel(table: np.ndarray, c: int, v: int) -> np.uint8:
    """One sample's (C, 256) tables applied to value v of channel c."""
    return table[c, v]


@intrinsic
def _llvm_fma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """LLVM's fma of three float32 (one rounding), on the CPU and on CUDA (NVVM lowers it to fma.rn.f32)."""
    if not (a == types.float32 and b == types.float32 and c == types.float32):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        f = ir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f, [f, f, f]), "llvm.fma.f32")
        return builder.call(fn, args)

    return types.float32(types.float32, types.float32, types.float32), codegen


def fma32(a, b, c):  # type: ignore[no-untyped-def]
    """a * b + c of float32 values rounded once (intensity_pixel.hpp's fma32). Inside Numba kernels (CPU and
    CUDA) the overload below calls LLVM's fma; this Python body, which the CUDA simulator runs, computes it
    exactly in double: a * b is exact there, the sum is rounded to odd (TwoSum tells whether it was exact),
    and a value rounded to odd with 29 bits to spare rounds to float32 as the exact value would."""
    p = float(a) * float(b)
    z = float(c)
    s = p + z
    if math.isfinite(s):
        bb = s - p
        e = (p - (s - bb)) + (z - bb)  # s + e == p + z exactly
        if e != 0.0 and struct.unpack("<q", struct.pack("<d", s))[0] & 1 == 0:
            s = math.nextafter(s, math.inf if e > 0 else -math.inf)
    with np.errstate(over="ignore"):
        return np.float32(s)


@overload(fma32, jit_options={"cache": True})
def _fma32(a, b, c):  # type: ignore[no-untyped-def]
    return lambda a, b, c: _llvm_fma(f32(a), f32(b), f32(c))


# color_transform's kinds of sample (ColorKind): a diagonal matrix (or C = 1), OpenCV's 10-bit fixed point,
# the float chain.
DIAG, FIXED, FULL = 0, 1, 2
MEAN_LANES_U8, MEAN_LANES_F32 = 16, 8  # intensity_pixel.hpp's kMeanLanesU8, kMeanLanesF32


@numba.njit(cache=True, inline="always")
def color_channel(m: np.ndarray, q: np.ndarray, kind: int, v0, v1, v2, v3, c: int, C: int):  # type: ignore[no-untyped-def]
    """Output channel c of color_transform for a pixel of C values (v0 .. v3; those past C unused) under one
    sample's prepared matrix: m (4, 5) float32, q (3, 4) int32 and its kind. A float32 to saturate; the
    fixed point's result is already an integer in 0..255."""
    if kind == FIXED:
        acc = np.int64(q[c, 0]) * np.int64(v0) + np.int64(q[c, 1]) * np.int64(v1)
        acc += np.int64(q[c, 2]) * np.int64(v2) + np.int64(q[c, 3])
        acc = (acc + 2147483648) % 4294967296 - 2147483648  # int32 that wraps, as OpenCV's vector code
        r = acc >> 10
        return f32(0 if r < 0 else (255 if r > 255 else r))
    if kind == DIAG or C == 1:
        v = v0 if c == 0 else (v1 if c == 1 else (v2 if c == 2 else v3))
        return fma32(m[c, c], f32(v), m[c, C])
    acc = fma32(m[c, 0], f32(v0), m[c, 1] * f32(v1))
    if C > 2:
        acc = fma32(m[c, 2], f32(v2), acc)
    if C > 3:
        acc = fma32(m[c, 3], f32(v3), acc)
    return acc + m[c, C]


@numba.njit(cache=True, inline="always")
def mean_row(
    src: np.ndarray, start: int, w: int, sw: int, sc: int, C: int, L: int, lanes: np.ndarray, sums: np.ndarray
) -> None:
    """channel_mean's row: pixel x into lane x % L of its channel (lanes: L * C values, uint32 or float64),
    then each channel's lanes added in lane order into sums[0:C] (int64 or float64: its type is the sums')."""
    for j in range(L * C):
        lanes[j] = 0
    if sw == C and sc == 1:  # dense pixels: lane j % (L * C) of the row's flat values, a loop that vectorises
        span, full = L * C, (w // L) * L * C  # with unsigned indices (see _view.dense_row)
        for base in range(0, full, span):
            p = np.uint64(start + base)
            for j in range(span):
                lanes[j] += src[p + np.uint64(j)]
        p = np.uint64(start + full)
        for j in range(w * C - full):  # the last w % L pixels, into the first lanes (as below)
            lanes[j] += src[p + np.uint64(j)]
    else:
        x = 0
        while x + L <= w:
            for lane in range(L):
                for c in range(C):
                    lanes[lane * C + c] += src[start + (x + lane) * sw + c * sc]
            x += L
        lane = 0
        while lane < L and x + lane < w:
            for c in range(C):
                lanes[lane * C + c] += src[start + (x + lane) * sw + c * sc]
            lane += 1
    for c in range(C):
        sums[c] = lanes[c]
        for k in range(1, L):
            sums[c] += lanes[k * C + c]


@numba.njit(cache=True, inline="always")
def hue_rgb(r, g, b, hue):  # type: ignore[no-untyped-def]
    """intensity_pixel.hpp's hue_rgb: torchvision's adjust_hue of one pixel of float32 values, in its float32
    operations and order (see there), returned as (r, g, b)."""
    rg_max = r if r > g else g
    mx = rg_max if rg_max > b else b
    rg_min = r if r < g else g
    mn = rg_min if rg_min < b else b
    grey = mx == mn
    span = mx - mn
    s = span / (f32(1.0) if grey else mx)
    div = f32(1.0) if grey else span
    rc, gc, bc = (mx - r) / div, (mx - g) / div, (mx - b) / div
    h = bc - gc if mx == r else ((rc + f32(2.0)) - bc if mx == g else (gc + f32(4.0)) - rc)
    h = h * f32(1.0 / 6.0) + f32(1.0)
    h = h - f32(1.0) if h >= f32(1.0) else h  # fmod(h, 1) of h in [5/6, 11/6)
    h = h + hue
    h = h + f32(1.0) if h < f32(0.0) else (h - f32(1.0) if h >= f32(1.0) else h)  # torch.remainder(h, 1)
    h6 = h * f32(6.0)
    fi = np.floor(h6)
    f = h6 - fi
    i = int(fi)
    i = i - 6 if i >= 6 else i
    sf = s * f
    one_s = f32(1.0) - s
    v = mx
    p = unit(one_s * v)
    q = unit((f32(1.0) - sf) * v)
    t = unit((sf + one_s) * v)
    ro = v if (i == 0 or i == 5) else (q if i == 1 else (t if i == 4 else p))
    go = v if (i == 1 or i == 2) else (t if i == 0 else (q if i == 3 else p))
    bo = v if (i == 3 or i == 4) else (t if i == 2 else (q if i == 5 else p))
    return ro, go, bo


@numba.njit(cache=True, inline="always")
def unit(x):  # type: ignore[no-untyped-def]
    """x clamped to [0, 1]."""
    return f32(0.0) if x < f32(0.0) else (f32(1.0) if x > f32(1.0) else x)


def hue_scales(dtype: np.dtype) -> tuple[np.float32, np.float32]:
    """intensity_pixel.hpp's hue_load and hue_store as two factors: uint8 in as v * float32(1 / 255), out as
    v * float32(255 + 1 - 1e-3) stored into the uint8 array (the conversion truncates, as torchvision's
    .to(uint8)); float32 as is (v * 1 is v)."""
    if dtype == np.uint8:
        return f32(1.0 / 255.0), f32(255.0 + 1.0 - 1e-3)
    return f32(1.0), f32(1.0)


@numba.njit(cache=True, inline="always")
def hue_pixel(
    src: np.ndarray, a: int, sc: int, dst: np.ndarray, o: int, osc: int, C: int, hue: float, load: float, store: float
) -> None:
    """intensity_pixel.hpp's hue_pixel: the pixel at buffer index a of src (channel stride sc) into o of dst
    (osc); RGB through hue_rgb, alpha copied, one channel copied; load and store from hue_scales."""
    if C == 1:
        dst[o] = src[a]
        return
    r, g, b = hue_rgb(f32(src[a]) * load, f32(src[a + sc]) * load, f32(src[a + 2 * sc]) * load, hue)
    dst[o] = r * store
    dst[o + osc] = g * store
    dst[o + 2 * osc] = b * store
    if C == 4:
        dst[o + 3 * osc] = src[a + 3 * sc]


# ---- kernels ------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def equalize_image(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, n: int, C: int) -> None:
    """One image: the C histograms in one pass over its pixels, then the C LUTs applied in one pass. C is
    a constant at each call (equalize_images branches on it), so dense rows index with literal strides."""
    hist = np.zeros((C, 256), np.int32)
    for y in range(s.h):
        if rows_dense(s):
            row = dense_row(src, s, n, y)
            for x in range(s.w):
                for c in range(C):
                    hist[c, row[x * C + c]] += 1
        else:
            for x in range(s.w):
                for c in range(C):
                    hist[c, src[index(s, n, y, x, c)]] += 1
    lut = np.empty((C, 256), np.uint8)
    for c in range(C):
        equalize_lut(hist[c], s.h * s.w, lut[c])
    dense = rows_dense(s) and rows_dense(d)
    for y in range(s.h):
        if dense:
            inp = dense_row(src, s, n, y)
            out = dense_row(dst, d, n, y)
            for x in range(s.w):
                for c in range(C):
                    out[x * C + c] = lut[c, inp[x * C + c]]
        else:
            for x in range(s.w):
                for c in range(C):
                    dst[index(d, n, y, x, c)] = lut[c, src[index(s, n, y, x, c)]]


@numba.njit(parallel=True, cache=True)
def equalize_images(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout) -> None:
    for n in numba.prange(s.n):
        if s.c == 1:
            equalize_image(src, s, dst, d, n, 1)
        elif s.c == 3:
            equalize_image(src, s, dst, d, n, 3)
        else:
            equalize_image(src, s, dst, d, n, 4)


@numba.njit(cache=True, inline="always")
def gray_row(inp: np.ndarray, out: np.ndarray, w: int, C: int) -> None:
    """A dense row of grey values. C is a constant at each call (gray_rows branches on it) and the indices
    unsigned (see _view.dense_row), so that the loop over pixels vectorises."""
    for x in range(w):
        p = np.uint64(x * C)
        if C == 1:
            out[x] = inp[p]
        else:
            out[x] = gray_pixel(inp[p], inp[p + np.uint64(1)], inp[p + np.uint64(2)])


@numba.njit(parallel=True, cache=True)
def gray_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout) -> None:
    dense = rows_dense(s) and d.sw == 1
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        if dense:
            inp = dense_row(src, s, n, y)
            out = dense_row(dst, d, n, y)
            if s.c == 1:
                gray_row(inp, out, s.w, 1)
            elif s.c == 3:
                gray_row(inp, out, s.w, 3)
            else:
                gray_row(inp, out, s.w, 4)
            continue
        for x in range(s.w):
            p = index(s, n, y, x, 0)
            if s.c == 1:
                dst[index(d, n, y, x, 0)] = src[p]
            else:
                dst[index(d, n, y, x, 0)] = gray_pixel(src[p], src[p + s.sc], src[p + 2 * s.sc])


@numba.njit(parallel=True, cache=True)
def threshold_rows(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    cut: np.ndarray,
    every: np.ndarray,
    maxval: np.ndarray,
    mode: int,
) -> None:
    """threshold_select per value with v > cut[n] in the values' type (uint8: 8-bit lanes) or every[n];
    the mode's branches are loop-invariant, and LLVM unswitches them out of the dense loop."""
    dense = rows_dense(s) and rows_dense(d)
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        k, all_above, mx = cut[n], every[n], maxval[n]
        if dense:
            inp = dense_row(src, s, n, y)
            out = dense_row(dst, d, n, y)
            for i in range(inp.size):
                v = inp[i]
                out[i] = threshold_select(v, all_above | (v > k), k, mx, mode)
            continue
        for x in range(s.w):
            for c in range(s.c):
                v = src[index(s, n, y, x, c)]
                dst[index(d, n, y, x, c)] = threshold_select(v, all_above | (v > k), k, mx, mode)


@numba.njit(parallel=True, cache=True)
def invert_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout) -> None:
    dense = rows_dense(s) and rows_dense(d)
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        if dense:
            inp = dense_row(src, s, n, y)
            out = dense_row(dst, d, n, y)
            for i in range(inp.size):
                out[i] = invert_pixel(inp[i])
            continue
        for x in range(s.w):
            for c in range(s.c):
                dst[index(d, n, y, x, c)] = invert_pixel(src[index(s, n, y, x, c)])


@numba.njit(cache=True, inline="always")
def normalize_row(
    inp: np.ndarray,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y: int,
    a: np.ndarray,
    b: np.ndarray,
    fmt: int,
    C: int,
    planar: bool,
) -> None:
    """Row y of image n from a dense source row, one channel at a time: channel c's values go to dst from
    pixel (n, y, 0, c) every value (planar rows, d.sw == 1: NCHW) or every C values (dense rows), as fmt
    (store_float). C and planar are constants at each call (normalize_channels) and the indices unsigned
    (see _view.dense_row), so that the loops vectorise."""
    step = 1 if planar else C
    for c in range(C):
        start = index(d, n, y, 0, c)
        out = dst[start : start + (d.w - 1) * step + 1]
        ac, bc = a[c], b[c]
        for x in range(d.w):
            store_float(out, np.uint64(x * step), normalize_pixel(f32(inp[np.uint64(x * C + c)]), ac, bc), fmt)


@numba.njit(cache=True, inline="always")
def normalize_channels(
    inp: np.ndarray, dst: np.ndarray, d: Layout, n: int, y: int, a: np.ndarray, b: np.ndarray, fmt: int, planar: bool
) -> None:
    if d.c == 1:
        normalize_row(inp, dst, d, n, y, a, b, fmt, 1, planar)
    elif d.c == 3:
        normalize_row(inp, dst, d, n, y, a, b, fmt, 3, planar)
    else:
        normalize_row(inp, dst, d, n, y, a, b, fmt, 4, planar)


@numba.njit(parallel=True, cache=True)
def normalize_rows(
    src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, a: np.ndarray, b: np.ndarray, fmt: int
) -> None:
    dense = rows_dense(s) and (rows_dense(d) or d.sw == 1)
    planar = not rows_dense(d)
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        if dense:
            if planar:
                normalize_channels(dense_row(src, s, n, y), dst, d, n, y, a, b, fmt, True)
            else:
                normalize_channels(dense_row(src, s, n, y), dst, d, n, y, a, b, fmt, False)
            continue
        for x in range(s.w):
            for c in range(s.c):
                store_float(dst, index(d, n, y, x, c), normalize_pixel(f32(src[index(s, n, y, x, c)]), a[c], b[c]), fmt)


@numba.njit(parallel=True, cache=True)
def lut_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, table: np.ndarray) -> None:
    dense = rows_dense(s) and rows_dense(d)
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        t = table[n]
        if dense:
            inp = dense_row(src, s, n, y)
            out = dense_row(dst, d, n, y)
            for x in range(s.w):
                for c in range(s.c):
                    i = np.uint64(x * s.c + c)
                    out[i] = lut_pixel(t, c, inp[i])
            continue
        for x in range(s.w):
            for c in range(s.c):
                dst[index(d, n, y, x, c)] = lut_pixel(t, c, src[index(s, n, y, x, c)])


@numba.njit(cache=True, inline="always")
def pixel_values(src: np.ndarray, a: int, sc: int, C: int):  # type: ignore[no-untyped-def]
    """The C values of the pixel at buffer index a, as four (those past C repeat the first)."""
    v1 = src[a + sc * (1 if C > 1 else 0)]
    v2 = src[a + sc * (2 if C > 2 else 0)]
    return src[a], v1, v2, src[a + sc * (3 if C > 3 else 0)]


@numba.njit(cache=True, inline="always")
def color_row(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, n: int, y: int, m, q, kind: int, C: int) -> None:  # type: ignore[no-untyped-def]
    """Row y of image n of color_transform under sample n's m, q and kind; C and kind are constants at each
    call (color_rows branches on them), so that the pixel loop has no branch and vectorises."""
    p, o = index(s, n, y, 0, 0), index(d, n, y, 0, 0)
    if rows_dense(s) and rows_dense(d):  # unsigned indices (see _view.dense_row)
        inp, out = dense_row(src, s, n, y), dense_row(dst, d, n, y)
        one, two, three = np.uint64(1 if C > 1 else 0), np.uint64(2 if C > 2 else 0), np.uint64(3 if C > 3 else 0)
        for x in range(s.w):
            i = np.uint64(x * C)
            v0, v1, v2, v3 = inp[i], inp[i + one], inp[i + two], inp[i + three]
            for c in range(C):
                out[i + np.uint64(c)] = saturate(color_channel(m, q, kind, v0, v1, v2, v3, c, C), dst)
        return
    for x in range(s.w):
        v0, v1, v2, v3 = pixel_values(src, p + x * s.sw, s.sc, C)
        for c in range(C):
            dst[o + x * d.sw + c * d.sc] = saturate(color_channel(m, q, kind, v0, v1, v2, v3, c, C), dst)


@numba.njit(cache=True, inline="always")
def color_row_kinds(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, n: int, y: int, m, q, kind, C: int) -> None:  # type: ignore[no-untyped-def]
    """color_row with sample n's kind as a constant in each branch."""
    if kind[n] == FIXED:
        color_row(src, s, dst, d, n, y, m[n], q[n], FIXED, C)
    elif kind[n] == DIAG:
        color_row(src, s, dst, d, n, y, m[n], q[n], DIAG, C)
    else:
        color_row(src, s, dst, d, n, y, m[n], q[n], FULL, C)


@numba.njit(parallel=True, cache=True)
def color_rows(
    src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, m: np.ndarray, q: np.ndarray, kind: np.ndarray
) -> None:
    for r in numba.prange(s.n * s.h):
        n, y = r // s.h, r % s.h
        if s.c == 3:
            color_row_kinds(src, s, dst, d, n, y, m, q, kind, 3)
        elif s.c == 1:
            color_row_kinds(src, s, dst, d, n, y, m, q, kind, 1)
        else:
            color_row_kinds(src, s, dst, d, n, y, m, q, kind, 4)


@numba.njit(cache=True, inline="always")
def color_normalize_row(
    src: np.ndarray,
    p: int,
    ssw: int,
    ssc: int,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y: int,
    m: np.ndarray,
    q: np.ndarray,
    kind: int,
    a: np.ndarray,
    b: np.ndarray,
    fmt: int,
    C: int,
) -> None:
    """Row y of image n of normalize with color_transform in front: color_row's values, saturated to the
    source's dtype as color_transform stores them, through normalize_pixel into dst as fmt (store_float)."""
    for x in range(d.w):
        v0, v1, v2, v3 = pixel_values(src, p + x * ssw, ssc, C)
        for c in range(C):
            v = saturate(color_channel(m, q, kind, v0, v1, v2, v3, c, C), src)
            store_float(dst, index(d, n, y, x, c), normalize_pixel(f32(v), a[c], b[c]), fmt)


@numba.njit(parallel=True, cache=True)
def color_normalize_rows(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    a: np.ndarray,
    b: np.ndarray,
    fmt: int,
    m: np.ndarray,
    q: np.ndarray,
    kind: np.ndarray,
) -> None:
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        p = index(s, n, y, 0, 0)
        if s.c == 3:
            color_normalize_row(src, p, s.sw, s.sc, dst, d, n, y, m[n], q[n], kind[n], a, b, fmt, 3)
        elif s.c == 1:
            color_normalize_row(src, p, s.sw, s.sc, dst, d, n, y, m[n], q[n], kind[n], a, b, fmt, 1)
        else:
            color_normalize_row(src, p, s.sw, s.sc, dst, d, n, y, m[n], q[n], kind[n], a, b, fmt, 4)


@numba.njit(cache=True, inline="always")
def hue_row(
    src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, n: int, y: int, hue: float, scales: tuple, C: int
) -> None:
    """Row y of image n of hue_shift; C is a constant at each call (hue_rows branches on it)."""
    p, o = index(s, n, y, 0, 0), index(d, n, y, 0, 0)
    for x in range(s.w):
        hue_pixel(src, p + x * s.sw, s.sc, dst, o + x * d.sw, d.sc, C, hue, scales[0], scales[1])


@numba.njit(parallel=True, cache=True)
def hue_rows(
    src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, hue: np.ndarray, load: float, store: float
) -> None:
    for r in numba.prange(s.n * s.h):
        n, y = r // s.h, r % s.h
        if s.c == 3:
            hue_row(src, s, dst, d, n, y, hue[n], (load, store), 3)
        elif s.c == 1:
            hue_row(src, s, dst, d, n, y, hue[n], (load, store), 1)
        else:
            hue_row(src, s, dst, d, n, y, hue[n], (load, store), 4)


@numba.njit(parallel=True, cache=True)
def mean_rows(src: np.ndarray, s: Layout, L: int, lanes: np.ndarray, rows: np.ndarray) -> None:
    """The row sums of every image into rows (N * H, C); lanes: one (L * C) scratch row per worker."""
    workers = lanes.shape[0]
    for t in numba.prange(workers):
        for r in range(t, s.n * s.h, workers):
            mean_row(src, index(s, r // s.h, r % s.h, 0, 0), s.w, s.sw, s.sc, s.c, L, lanes[t], rows[r])


def mean_fold(rows: np.ndarray, n: int, h: int, w: int) -> np.ndarray:
    """Each image's row sums added in row order (N, C) (float64 or int64), times 1 / (H * W), as float64."""
    c = rows.shape[1]
    sums = np.zeros((n, c), rows.dtype)
    per_image = rows.reshape(n, h, c)
    for y in range(h):  # in row order (numpy's sum of an axis would add pairwise)
        sums += per_image[:, y]
    scale = 1.0 / (h * w) if h * w > 0 else 0.0
    return sums.astype(np.float64) * scale


# ---- front doors --------------------------------------------------------------------------------------


def _views(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, Layout, np.ndarray, Layout]:
    """The (N, H, W, C) arrays, then each one's flat buffer and Layout."""
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    return src, dst, sbuf, s, dbuf, d


def check_same(src: np.ndarray, dst: np.ndarray) -> None:
    check_pair(src, dst)
    check_shape(dst, "dst", *src.shape)
    check_dtype(dst, "dst", src.dtype)


def check_equalize(src: np.ndarray, dst: np.ndarray) -> bool:
    """The checks of equalize on (N, H, W, C) arrays (device arrays too); False when nothing to write."""
    check_same(src, dst)
    check_dtype(src, "img", np.uint8)
    if dst.size == 0:
        return False
    if src.shape[1] * src.shape[2] >= 1 << 31:
        fail("img: images above 2^31 pixels are not supported")
    return True


def equalize(src: np.ndarray, dst: np.ndarray) -> None:
    """cv2.equalizeHist per image and per channel; uint8 only."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    if check_equalize(src, dst):
        launch(equalize_images, sbuf, s, dbuf, d)


def check_to_gray(src: np.ndarray, dst: np.ndarray) -> bool:
    """The checks of to_gray (device arrays too); False when nothing to write."""
    n, h, w, _ = src.shape
    check_pair(src, dst)
    check_shape(dst, "dst", n, h, w, 1)
    check_dtype(dst, "dst", src.dtype)
    return dst.size != 0


def to_gray(src: np.ndarray, dst: np.ndarray) -> None:
    """cv2.cvtColor RGB2GRAY / RGBA2GRAY (one channel is copied); dst has one channel."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    if check_to_gray(src, dst):
        launch(gray_rows, sbuf, s, dbuf, d)


def threshold_plan(
    src: np.ndarray, dst: np.ndarray, thresh: np.ndarray, maxval: np.ndarray, mode: int
) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The checks of threshold (device arrays too) and its per-sample float32 thresh and maxval, and
    whether negative results wrap to 0; None when nothing to write."""
    N = src.shape[0]
    thresh = params(thresh, N, "thresh", np.float64)
    maxval = params(maxval, N, "maxval", np.float64)
    check_same(src, dst)
    if not 0 <= mode <= 4:
        fail("mode: expected binary, binary_inv, trunc, tozero or tozero_inv, got code ", mode)
    u8 = src.dtype == np.uint8
    for n in range(N):
        if math.isnan(thresh[n]) or math.isnan(maxval[n]):
            fail("thresh, maxval: NaN for sample ", n)
    if u8:  # as OpenCV on uint8: thresh floored and clamped to the range, maxval rounded and saturated
        t = np.minimum(np.maximum(np.floor(thresh), -1.0), 255.0).astype(np.float32)
        mx = np.clip(np.rint(np.minimum(np.maximum(maxval, -1.0), 256.0).astype(np.float32)), 0, 255)
    else:
        t = thresh.astype(np.float32)
        mx = maxval.astype(np.float32)
    if dst.size == 0:
        return None
    return t, mx.astype(np.float32), bool(u8 and mode == TRUNC)


def threshold(src: np.ndarray, dst: np.ndarray, thresh: np.ndarray, maxval: np.ndarray, mode: int) -> None:
    """cv2.threshold with one thresh and maxval per sample."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    plan = threshold_plan(src, dst, thresh, maxval, mode)
    if plan is not None:
        # As the C++, uint8 compares in 8-bit lanes: thresh is a floored integer in [-1, 255], so
        # v > thresh is v > max(thresh, 0) or, for -1, always true (float32: cut is thresh, every false).
        t, mx, _ = plan
        u8 = src.dtype == np.uint8
        cut = (np.maximum(t, 0) if u8 else t).astype(src.dtype)
        launch(threshold_rows, sbuf, s, dbuf, d, cut, u8 & (t < 0), mx.astype(src.dtype), int(mode))


def invert(src: np.ndarray, dst: np.ndarray) -> None:
    """255 - x for uint8 (cv2.bitwise_not), 1 - x for float32."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    check_same(src, dst)
    if dst.size == 0:
        return
    launch(invert_rows, sbuf, s, dbuf, d)


def normalize_plan(
    src: np.ndarray, dst: np.ndarray, mean: np.ndarray, std: np.ndarray, scale: float, matrix: np.ndarray | None = None
) -> tuple[Any, ...] | None:
    """The checks of normalize (device arrays too), its per-channel float32 a = scale / std and
    b = -mean / std, and dst's format (_common.F32, F16 or BF16: float32, float16, or bfloat16 as uint16 bit
    patterns), then with a matrix color_transform's prepared matrices (m, q, kind); None when nothing to write."""
    n, h, w, c = src.shape
    mean = params(mean, c, "mean", np.float64)
    std = params(std, c, "std", np.float64)
    check_pair(src, dst, float_out=True)
    check_shape(dst, "dst", n, h, w, c)
    a, b = np.empty(c, np.float32), np.empty(c, np.float32)
    for k in range(c):
        m, sd = float(mean[k]), float(std[k])
        if not (math.isfinite(m) and math.isfinite(sd) and sd != 0.0):
            fail(
                "std: expected finite, non-zero values (and finite mean), got mean ",
                m,
                ", std ",
                sd,
                " for channel ",
                k,
            )
        a[k] = np.float32(scale / sd)
        b[k] = np.float32(-m / sd)
    colour: tuple[np.ndarray, ...] = ()
    if matrix is not None:
        matrix = params(matrix, n * c * (c + 1), "matrix", np.float64)
        colour = color_matrices(matrix, n, c, src.dtype == np.uint8)
    if dst.size == 0:
        return None
    return (a, b, FLOAT_OUT[np.dtype(dst.dtype)], *colour)


def normalize(
    src: np.ndarray, dst: np.ndarray, mean: np.ndarray, std: np.ndarray, scale: float, matrix: np.ndarray | None = None
) -> None:
    """dst = (src * scale - mean[c]) / std[c] into a dst of any layout; mean and std per channel. dst is
    float32, float16, or uint16: the bit patterns of bfloat16 (NumPy has no bfloat16). A matrix (N * C * (C + 1)
    doubles) puts color_transform in front, in the same pass."""
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    plan = normalize_plan(src, dst, mean, std, scale, matrix)
    if plan is not None:
        sbuf, s = as_view(src, "img")
        dbuf, d = as_view(dst.view(np.uint16) if dst.dtype == np.float16 else dst, "out", writable=True)
        launch(color_normalize_rows if matrix is not None else normalize_rows, sbuf, s, dbuf, d, *plan)


def lut(src: np.ndarray, dst: np.ndarray, table: np.ndarray) -> None:
    """cv2.LUT per image and channel; table is N * C * 256 uint8 values. uint8 only."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    tables = lut_plan(src, dst, table)
    if tables is not None:
        launch(lut_rows, sbuf, s, dbuf, d, tables)


def lut_plan(src: np.ndarray, dst: np.ndarray, table: np.ndarray) -> np.ndarray | None:
    """The checks of lut (device arrays too) and its (N, C, 256) tables; None when nothing to write."""
    n, _, _, c = src.shape
    tables = params(table, n * c * 256, "table", np.uint8).reshape(n, c, 256)
    check_same(src, dst)
    check_dtype(src, "img", np.uint8)
    if dst.size == 0:
        return None
    return tables


def color_matrices(matrix: np.ndarray, n: int, C: int, u8: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """intensity.cpp's color_matrix for every sample: m (N, 4, 5) float32, q (N, 3, 4) int32, kind (N,)."""
    mats = params(matrix, n * C * (C + 1), "matrix", np.float64).reshape(n, C, C + 1)
    m = np.zeros((n, 4, 5), np.float32)
    q = np.zeros((n, 3, 4), np.int32)
    kind = np.zeros(n, np.int32)
    for k in range(n):
        with np.errstate(over="ignore"):
            mf = mats[k].astype(np.float32)
        for c in range(C):
            for j in range(C + 1):
                v = float(mats[k, c, j])
                if not (math.isfinite(v) and math.isfinite(mf[c, j])):
                    fail(
                        "matrix: entry [",
                        c,
                        ", ",
                        j,
                        "] of sample ",
                        k,
                        " is ",
                        v,
                        "; expected a finite value ",
                        "within the float32 range",
                    )
        m[k, :C, : C + 1] = mf
        off = mf[:, :C][~np.eye(C, dtype=bool)]
        if not (np.abs(off.astype(np.float64)) > np.finfo(np.float32).eps).any():
            kind[k] = DIAG
        elif (
            u8
            and C == 3
            and (np.abs(mf[:, :2]) < np.float32(32)).all()
            and (np.abs(mf[:, 2:4]) < np.float32(8192)).all()
        ):
            kind[k] = FIXED
            scaled = np.rint(mf[:, :4] * np.float32(1024)).astype(np.int64)  # cvRound: nearest, ties to even
            scaled[:, :2] = np.clip(scaled[:, :2], -32768, 32767)
            scaled[:, 3] += 512
            q[k] = scaled
        else:
            kind[k] = FULL
    return m, q, kind


def color_transform_plan(
    src: np.ndarray, dst: np.ndarray, matrix: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The checks of color_transform (device arrays too) and its prepared matrices; None when nothing to write."""
    n, _, _, c = src.shape
    matrix = params(matrix, n * c * (c + 1), "matrix", np.float64)
    check_same(src, dst)
    plan = color_matrices(matrix, n, c, src.dtype == np.uint8)
    if dst.size == 0:
        return None
    return plan


def color_transform(src: np.ndarray, dst: np.ndarray, matrix: np.ndarray) -> None:
    """cv2.transform with a C x (C + 1) matrix per sample (N * C * (C + 1) doubles), OpenCV's arithmetic."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    plan = color_transform_plan(src, dst, matrix)
    if plan is not None:
        launch(color_rows, sbuf, s, dbuf, d, *plan)


def check_channel_mean(src: np.ndarray, out: np.ndarray) -> None:
    check_image(src, "img")
    if not (isinstance(out, np.ndarray) and out.dtype == np.float64 and out.size == src.shape[0] * src.shape[3]):
        fail("out: expected a writable array of ", src.shape[0] * src.shape[3], " float64 values")


def channel_mean(src: np.ndarray, out: np.ndarray) -> None:
    """cv2.mean per image and channel into out (N * C float64 values, host memory)."""
    src = as_batch(src, "img")
    sbuf, s = as_view(src, "img")
    check_channel_mean(src, out)
    if s.n == 0:
        return
    u8 = src.dtype == np.uint8
    L = MEAN_LANES_U8 if u8 else MEAN_LANES_F32
    lanes = np.empty((workers(), L * s.c), np.uint32 if u8 else np.float64)
    rows = np.empty((s.n * s.h, s.c), np.int64 if u8 else np.float64)
    launch(mean_rows, sbuf, s, L, lanes, rows)
    out.reshape(s.n, s.c)[...] = mean_fold(rows, s.n, s.h, s.w)


def hue_shift_plan(src: np.ndarray, dst: np.ndarray, hue: np.ndarray) -> np.ndarray | None:
    """The checks of hue_shift (device arrays too) and its per-sample float32 shifts; None when nothing to
    write."""
    n = src.shape[0]
    hue = params(hue, n, "hue", np.float64)
    check_same(src, dst)
    for k in range(n):
        if not -0.5 <= hue[k] <= 0.5:
            fail("hue: expected values in [-0.5, 0.5] (a fraction of a turn), got ", float(hue[k]), " for sample ", k)
    if dst.size == 0:
        return None
    return hue.astype(np.float32)


def hue_shift(src: np.ndarray, dst: np.ndarray, hue: np.ndarray) -> None:
    """torchvision's adjust_hue with one shift per sample (N doubles in [-0.5, 0.5]); alpha and C = 1 copied."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    shifts = hue_shift_plan(src, dst, hue)
    if shifts is not None:
        launch(hue_rows, sbuf, s, dbuf, d, shifts, *hue_scales(src.dtype))
