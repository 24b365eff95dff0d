"""equalize, to_gray, threshold, invert and normalize: the Numba twin of csrc/ops/intensity.cpp and
intensity_pixel.hpp."""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._check import check_dtype, check_pair, check_shape, fail, params
from ._common import f32, saturate
from ._parallel import launch
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
    inp: np.ndarray, dst: np.ndarray, d: Layout, n: int, y: int, a: np.ndarray, b: np.ndarray, C: int, planar: bool
) -> None:
    """Row y of image n from a dense source row, one channel at a time: channel c's values go to dst from
    pixel (n, y, 0, c) every value (planar rows, d.sw == 1: NCHW) or every C values (dense rows). C and
    planar are constants at each call (normalize_channels) and the indices unsigned (see
    _view.dense_row), so that the loops vectorise."""
    step = 1 if planar else C
    for c in range(C):
        start = index(d, n, y, 0, c)
        out = dst[start : start + (d.w - 1) * step + 1]
        ac, bc = a[c], b[c]
        for x in range(d.w):
            out[np.uint64(x * step)] = normalize_pixel(f32(inp[np.uint64(x * C + c)]), ac, bc)


@numba.njit(cache=True, inline="always")
def normalize_channels(
    inp: np.ndarray, dst: np.ndarray, d: Layout, n: int, y: int, a: np.ndarray, b: np.ndarray, planar: bool
) -> None:
    if d.c == 1:
        normalize_row(inp, dst, d, n, y, a, b, 1, planar)
    elif d.c == 3:
        normalize_row(inp, dst, d, n, y, a, b, 3, planar)
    else:
        normalize_row(inp, dst, d, n, y, a, b, 4, planar)


@numba.njit(parallel=True, cache=True)
def normalize_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, a: np.ndarray, b: np.ndarray) -> None:
    dense = rows_dense(s) and (rows_dense(d) or d.sw == 1)
    planar = not rows_dense(d)
    for r in numba.prange(s.n * s.h):
        n = r // s.h
        y = r % s.h
        if dense:
            if planar:
                normalize_channels(dense_row(src, s, n, y), dst, d, n, y, a, b, True)
            else:
                normalize_channels(dense_row(src, s, n, y), dst, d, n, y, a, b, False)
            continue
        for x in range(s.w):
            for c in range(s.c):
                dst[index(d, n, y, x, c)] = normalize_pixel(f32(src[index(s, n, y, x, c)]), a[c], b[c])


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
    src: np.ndarray, dst: np.ndarray, mean: np.ndarray, std: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The checks of normalize (device arrays too) and its per-channel float32 a = scale / std and
    b = -mean / std; None when nothing to write."""
    n, h, w, c = src.shape
    mean = params(mean, c, "mean", np.float64)
    std = params(std, c, "std", np.float64)
    check_pair(src, dst)
    check_shape(dst, "dst", n, h, w, c)
    check_dtype(dst, "dst", np.float32)
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
    if dst.size == 0:
        return None
    return a, b


def normalize(src: np.ndarray, dst: np.ndarray, mean: np.ndarray, std: np.ndarray, scale: float) -> None:
    """dst = (src * scale - mean[c]) / std[c] into a float32 dst of any layout; mean and std per channel."""
    src, dst, sbuf, s, dbuf, d = _views(src, dst)
    plan = normalize_plan(src, dst, mean, std, scale)
    if plan is not None:
        launch(normalize_rows, sbuf, s, dbuf, d, *plan)
