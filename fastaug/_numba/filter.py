"""filter2d, sep_filter2d, gaussian_blur, box_blur and median_blur: the Numba twin of csrc/ops/filter.cpp
and filter_pixel.hpp.

As in C++, each worker takes a block of rows of one image, widens the source rows it needs into padded
float32 rows (border applied once per row), and correlates W*C contiguous floats. The order of every
float32 sum is the C++ one, so results are bit-identical."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._check import check_border, check_pair, fail, fill_f32, params, shape_str
from ._common import REPLICATE, f32, map_border, saturate
from ._parallel import BLOCK_ROWS, block_at, claim, launch, task_counter, workers
from ._view import Layout, as_batch, as_view, dense_row, index, rows_dense, store_values

# ---- host side: kernels (filter_pixel.hpp) ------------------------------------------------------------

# OpenCV's binomial tables (in 1/256), used for ksize <= 9 when sigma <= 0.
_TABLES = {
    1: [256],
    3: [64, 128, 64],
    5: [16, 64, 96, 64, 16],
    7: [8, 28, 56, 72, 56, 28, 8],
    9: [4, 13, 30, 51, 60, 51, 30, 13, 4],
}


def gaussian_kernel_double(ksize: int, sigma: float) -> list[float]:
    """cv::getGaussianKernel as OpenCV computes it (getGaussianKernelBitExact), in double: the tables, or
    exp(-x^2 / (2 sigma^2)) normalised so the centre is 1 / sum; ksize is odd. Mirrors the C++ step by
    step (sigma <= 0 -> fma(ksize, 0.15, 0.35), one rounding, as exact fractions; libm's exp)."""
    if sigma <= 0 and ksize in _TABLES:
        return [v / 256 for v in _TABLES[ksize]]
    if sigma <= 0:
        sigma = float(Fraction(ksize) * Fraction(0.15) + Fraction(0.35))
    scale = -0.125 / (sigma * sigma)  # x below is twice the offset from the centre
    half = (ksize - 1) // 2
    out = [0.0] * ksize
    total = 0.0
    for i in range(half):
        x = 1 - ksize + 2 * i
        out[i] = math.exp(float(x * x) * scale)
        total += out[i]
    mul = 1 / (total * 2 + 1)
    for i in range(half):
        out[i] = out[ksize - 1 - i] = out[i] * mul
    out[half] = mul
    return out


def gaussian_kernel(ksize: int, sigma: float) -> np.ndarray:
    """The float32 kernel: OpenCV's, rounded to float (cv::getGaussianKernel(..., CV_32F))."""
    return np.array(gaussian_kernel_double(ksize, sigma), np.float64).astype(np.float32)


def gaussian_kernel_q8(ksize: int, sigma: float) -> np.ndarray:
    """cv::GaussianBlur's uint8 kernel (filter_pixel.hpp): 8 fraction bits, rounded from the outside in
    with the error carried to the next tap, the centre taking the rest (sum 256)."""
    k = gaussian_kernel_double(ksize, sigma)
    out = np.empty(ksize, np.uint16)
    err, total = 0.0, 0
    for i in range(ksize // 2):
        v = k[i] * 256 + err
        r = round(v)  # ties to even, as cvRound
        err = v - r
        out[i] = out[ksize - 1 - i] = r
        total += r
    out[ksize // 2] = 256 - 2 * total
    return out


def deriv_kernel(order: int, ksize: int) -> np.ndarray:
    """cv::getDerivKernels' integer kernel of the given derivative order (ksize 1, 3, 5, 7, or -1 for
    Scharr) as float32; mirrors the C++ in-place recurrences exactly."""
    if ksize == -1:  # Scharr: smoothing [3, 10, 3], derivative [-1, 0, 1]
        return np.array([3, 10, 3] if order == 0 else [-1, 0, 1], np.float32)
    if ksize == 1 and order > 0:
        ksize = 3
    if ksize == 1:
        return np.ones(1, np.float32)
    k = [1] + [0] * 15
    for _ in range(ksize - order - 1):  # binomial smoothing of size ksize - order
        prev = k[0]
        for j in range(1, ksize + 1):
            cur = k[j] + k[j - 1]
            k[j - 1] = prev
            prev = cur
    for _ in range(order):  # then `order` finite differences
        prev = -k[0]
        for j in range(1, ksize + 1):
            cur = k[j - 1] - k[j]
            k[j - 1] = prev
            prev = cur
    return np.array(k[:ksize], np.float32)


# ---- row helpers --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def padded_row(
    src: np.ndarray, s: Layout, n: int, r: int, left: int, right: int, border: int, fill: np.ndarray, out: np.ndarray
) -> None:
    """Source row r of image n in out's dtype (float32, or uint16 for the uint8 Gaussian), padded by left /
    right pixels with the border (a row outside the image under CONSTANT is all fill). out holds
    (W + left + right) * C values; the conversions from uint8 and float32 are exact."""
    C, W = s.c, s.w
    ry = map_border(r, s.h, border)
    if ry < 0:
        for x in range(W + left + right):
            for c in range(C):
                out[x * C + c] = fill[c]
        return
    mid = out[left * C :]  # mid[0] is pixel 0; views indexed from 0 let Numba drop negative-index checks
    start = index(s, n, ry, 0, 0)
    if rows_dense(s):
        row = src[start : start + W * C]
        for i in range(W * C):
            mid[i] = row[i]
    else:
        for x in range(W):
            p = start + x * s.sw
            for c in range(C):
                mid[x * C + c] = src[p + c * s.sc]
    for x in range(-left, 0):
        sx = map_border(x, W, border)
        for c in range(C):
            out[(left + x) * C + c] = fill[c] if sx < 0 else mid[sx * C + c]
    for x in range(W, W + right):
        sx = map_border(x, W, border)
        for c in range(C):
            mid[x * C + c] = fill[c] if sx < 0 else mid[sx * C + c]


@numba.njit(cache=True)
def correlate_row(inp: np.ndarray, k: np.ndarray, step: int, length: int, out: np.ndarray) -> None:
    """out[i] = sum_j k[j] * inp[i + j * step] for i < length, summed in j order from 0."""
    for i in range(length):
        out[i] = f32(0.0)
    for j in range(k.size):
        kj = k[j]
        tap = inp[j * step : j * step + length]
        for i in range(length):
            out[i] += kj * tap[i]


@numba.njit(cache=True)
def store_row(dst: np.ndarray, d: Layout, n: int, y: int, acc: np.ndarray) -> None:
    start = index(d, n, y, 0, 0)
    if rows_dense(d):
        row = dst[start : start + d.w * d.c]
        for i in range(d.w * d.c):
            row[i] = saturate(acc[i], dst)
        return
    for x in range(d.w):
        p = start + x * d.sw
        for c in range(d.c):
            dst[p + c * d.sc] = saturate(acc[x * d.c + c], dst)


# ---- kernels ------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def sep_block(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    kx: np.ndarray,
    ky: np.ndarray,
    border: int,
    fill: np.ndarray,
    delta: float,
    pad: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
) -> None:
    """Rows [y0, y1) of image n: horizontal pass of every source row needed, then vertical pass (into the
    worker's buffers: (W + kw - 1) * C, (BLOCK_ROWS + kh - 1) * W * C and W * C floats)."""
    kw, kh = kx.size, ky.size
    ax, ay = kw // 2, kh // 2
    C = s.c
    length = s.w * C
    for r in range(y0 - ay, y1 + kh - 1 - ay):
        padded_row(src, s, n, r, ax, kw - 1 - ax, border, fill, pad)
        at = (r - y0 + ay) * length
        correlate_row(pad, kx, C, length, rows[at : at + length])
    for y in range(y0, y1):
        correlate_row(rows[(y - y0) * length :], ky, length, length, acc)
        for i in range(length):  # always, even delta = 0 (-0 + 0 = +0): the C++ does the same
            acc[i] += delta
        store_row(dst, d, n, y, acc)


@numba.njit(parallel=True, cache=True)
def sep_blocks(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    workers: int,
    kx: np.ndarray,
    ky: np.ndarray,
    border: int,
    fill: np.ndarray,
    delta: float,
) -> None:
    blocks = (s.h + BLOCK_ROWS - 1) // BLOCK_ROWS
    length = s.w * s.c
    counter = task_counter()
    for _ in numba.prange(workers):
        pad = np.empty((s.w + kx.shape[1] - 1) * s.c, np.float32)
        rows = np.empty((BLOCK_ROWS + ky.shape[1] - 1) * length, np.float32)
        acc = np.empty(length, np.float32)
        i = claim(counter)
        while i < s.n * blocks:
            n, y0, y1 = block_at(i, blocks, s.h)
            sep_block(src, s, dst, d, n, y0, y1, kx[n], ky[n], border, fill, delta, pad, rows, acc)
            i = claim(counter)


@numba.njit(cache=True, inline="always")
def round_q16(acc: int) -> int:
    """filter_pixel.hpp's round_q16: the uint8 Gaussian's sum (16 fraction bits) rounded half up."""
    return (acc + 32768) >> 16


# The uint8 Gaussian in OpenCV's fixed point (gaussian_kernel_q8): integer sums are exact, so these give the
# C++ bits whatever their order. The explicit uint16 casts let LLVM keep the lanes 16 bits wide.


@numba.njit(cache=True)
def q8_row_pass(inp: np.ndarray, k: np.ndarray, step: int, length: int, out: np.ndarray) -> None:
    """out[i] = sum_j k[j] * inp[i + j * step] (<= 255 * 256: the kernel sums to 256), using the kernel's
    symmetry: one multiply per pair of taps."""
    half = k.size // 2
    centre = inp[half * step : half * step + length]
    kc = k[half]
    for i in range(length):
        out[i] = np.uint16(kc * centre[i])
    for j in range(half):
        a = inp[j * step : j * step + length]
        b = inp[(k.size - 1 - j) * step : (k.size - 1 - j) * step + length]
        kj = k[j]
        for i in range(length):
            out[i] = np.uint16(out[i] + kj * (a[i] + b[i]))


@numba.njit(cache=True)
def q8_column_pass(
    rows: np.ndarray, k: np.ndarray, step: int, length: int, hi: np.ndarray, lo: np.ndarray, out: np.ndarray
) -> None:
    """out[i] = round_q16(sum_j k[j] * rows[i + j * step]), in 16-bit lanes as the C++ does: the high and
    low bytes of the row sums summed apart, then (hi + (lo >> 8) + 128) >> 8; pairs of taps share a
    multiply, and the centre tap's pass writes out."""
    half = k.size // 2
    for i in range(length):
        hi[i] = 0
        lo[i] = 0
    for j in range(half):
        a = rows[j * step : j * step + length]
        b = rows[(k.size - 1 - j) * step : (k.size - 1 - j) * step + length]
        kj = k[j]
        for i in range(length):
            hi[i] = np.uint16(hi[i] + kj * ((a[i] >> 8) + (b[i] >> 8)))
            lo[i] = np.uint16(lo[i] + kj * ((a[i] & 255) + (b[i] & 255)))
    centre = rows[half * step : half * step + length]
    kc = k[half]
    for i in range(length):
        high = np.uint16(hi[i] + kc * (centre[i] >> 8))
        low = np.uint16(lo[i] + kc * (centre[i] & 255))
        out[i] = np.uint8((high + (low >> 8) + 128) >> 8)


@numba.njit(cache=True)
def gaussian_q8_block(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    kx: np.ndarray,
    ky: np.ndarray,
    border: int,
    zero_fill: np.ndarray,
    pad: np.ndarray,
    rows: np.ndarray,
    hi: np.ndarray,
    lo: np.ndarray,
    buf: np.ndarray,
) -> None:
    """Rows [y0, y1) of image n: horizontal pass of every source row needed, then vertical pass (into the
    worker's buffers, sized as sep_block's)."""
    kw, kh = kx.size, ky.size
    ax, ay = kw // 2, kh // 2
    C = s.c
    length = s.w * C
    for r in range(y0 - ay, y1 + kh - 1 - ay):
        padded_row(src, s, n, r, ax, kw - 1 - ax, border, zero_fill, pad)
        at = (r - y0 + ay) * length
        q8_row_pass(pad, kx, C, length, rows[at : at + length])
    for y in range(y0, y1):
        start = index(d, n, y, 0, 0)
        dense = rows_dense(d)
        out = dst[start : start + length] if dense else buf
        q8_column_pass(rows[(y - y0) * length :], ky, length, length, hi, lo, out)
        if not dense:
            store_values(dst, d, n, y, buf)


@numba.njit(parallel=True, cache=True)
def gaussian_q8_blocks(
    src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, workers: int, kx: np.ndarray, ky: np.ndarray, border: int
) -> None:
    blocks = (s.h + BLOCK_ROWS - 1) // BLOCK_ROWS
    length = s.w * s.c
    counter = task_counter()
    for _ in numba.prange(workers):
        zero_fill = np.zeros(4, np.uint16)  # cv::GaussianBlur's constant border is 0
        pad = np.empty((s.w + kx.shape[1] - 1) * s.c, np.uint16)
        rows = np.empty((BLOCK_ROWS + ky.shape[1] - 1) * length, np.uint16)
        hi = np.empty(length, np.uint16)
        lo = np.empty(length, np.uint16)
        buf = np.empty(length, np.uint8)
        i = claim(counter)
        while i < s.n * blocks:
            n, y0, y1 = block_at(i, blocks, s.h)
            gaussian_q8_block(src, s, dst, d, n, y0, y1, kx[n], ky[n], border, zero_fill, pad, rows, hi, lo, buf)
            i = claim(counter)


@numba.njit(cache=True)
def filter2d_block(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    k: np.ndarray,
    border: int,
    fill: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
    off: np.ndarray,
    coef: np.ndarray,
) -> None:
    """Rows [y0, y1) of image n: cv::filter2D's sum of the kernel's non-zero taps in row-major order, one
    accumulator from 0 (the worker's buffers: (BLOCK_ROWS + kh - 1) padded rows, W * C floats, and room for
    kh * kw taps)."""
    kh, kw = k.shape
    ax, ay = kw // 2, kh // 2
    C = s.c
    length = s.w * C
    plen = (s.w + kw - 1) * C
    taps = 0
    for r in range(kh):
        for j in range(kw):
            if k[r, j] != f32(0.0):
                off[taps] = r * plen + j * C
                coef[taps] = k[r, j]
                taps += 1
    for r in range(y0 - ay, y1 + kh - 1 - ay):
        at = (r - y0 + ay) * plen
        padded_row(src, s, n, r, ax, kw - 1 - ax, border, fill, rows[at : at + plen])
    for y in range(y0, y1):
        window = rows[(y - y0) * plen :]
        acc[:] = f32(0.0)
        for t in range(taps):
            kt = coef[t]
            tap = window[off[t] : off[t] + length]
            for i in range(length):
                acc[i] += kt * tap[i]
        store_row(dst, d, n, y, acc)


@numba.njit(parallel=True, cache=True)
def filter2d_blocks(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    workers: int,
    kernel: np.ndarray,
    border: int,
    fill: np.ndarray,
) -> None:
    blocks = (s.h + BLOCK_ROWS - 1) // BLOCK_ROWS
    kh, kw = kernel.shape[1], kernel.shape[2]
    length = s.w * s.c
    counter = task_counter()
    for _ in numba.prange(workers):
        rows = np.empty((BLOCK_ROWS + kh - 1) * (s.w + kw - 1) * s.c, np.float32)
        acc = np.empty(length, np.float32)
        off = np.empty(kh * kw, np.int64)
        coef = np.empty(kh * kw, np.float32)
        i = claim(counter)
        while i < s.n * blocks:
            n, y0, y1 = block_at(i, blocks, s.h)
            filter2d_block(src, s, dst, d, n, y0, y1, kernel[n], border, fill, rows, acc, off, coef)
            i = claim(counter)


@numba.njit(cache=True, inline="always")
def median_of(v: np.ndarray, n: int):  # type: ignore[no-untyped-def]
    """Median of v[0:n] (n odd), reordering v: selection of the lower half (NaN handling as C++'s <)."""
    mid = n // 2
    for i in range(mid + 1):
        best = i
        for j in range(i + 1, n):
            if v[j] < v[best]:
                best = j
        t = v[i]
        v[i] = v[best]
        v[best] = t
    return v[mid]


@numba.njit(cache=True, inline="always")
def median_window(src: np.ndarray, s: Layout, n: int, y: int, x: int, c: int, a: int, v: np.ndarray) -> int:
    """The (2a+1)^2 window around (y, x) of channel c (BORDER_REPLICATE) into v, row by row; its size."""
    m = 0
    for i in range(-a, a + 1):
        yy = map_border(y + i, s.h, REPLICATE)
        for j in range(-a, a + 1):
            xx = map_border(x + j, s.w, REPLICATE)
            v[m] = src[index(s, n, yy, xx, c)]
            m += 1
    return m


# The CPU median: as in filter.cpp, a selection network applied to many values at once (median_of stays
# for the CUDA twin, one thread per pixel). The median is exact, so both give the same values.


@functools.cache
def median_network(n: int) -> np.ndarray:
    """filter.cpp's median_network: Batcher's odd-even merge sort over the next power of two, keeping the
    comparators between real inputs and, walking backwards, those that reach the middle; (m, 2) pairs."""
    p2 = 1
    while p2 < n:
        p2 *= 2
    pairs = []
    p = 1
    while p < p2:
        k = p
        while k > 0:
            j = k % p
            while j + k < p2:
                for i in range(k):
                    if i + j + k >= p2:
                        break
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
                j += 2 * k
            k //= 2
        p *= 2
    needed = [False] * n
    needed[n // 2] = True
    kept = []
    for lo, hi in reversed(pairs):
        if needed[lo] or needed[hi]:
            kept.append((lo, hi))
            needed[lo] = needed[hi] = True
    return np.array(kept[::-1], np.int64)


def median_row(rows: np.ndarray, at: int, plen: int, C: int, out: np.ndarray, ksize: int) -> None:
    """out[i] = the median of the ksize x ksize window of values rows[at + r * plen + j * C + i] (padded
    source rows plen apart, pixels C apart), for every i of out: median_network(ksize^2) applied to the
    window as local values, each comparator C++'s y < x ? y : x (so NaN orders as there), for a literal
    ksize (3, 5 or 7). The overload below writes the network out as straight-line code, as filter.cpp's
    median_vectors expands it at compile time: the loop over i vectorises and the window stays in vector
    registers instead of memory."""
    raise NotImplementedError("median_row runs inside Numba kernels only")


@functools.cache
def median_row_impl(ksize: int):  # type: ignore[no-untyped-def]
    """median_row for one ksize, as Python source (values v0 ... v(ksize^2 - 1), row by row)."""
    count = ksize * ksize
    lines = ["def median_row_k(rows, at, plen, C, out, ksize):"]
    lines += [f"    o{k} = np.uint64({k // ksize} * plen + {k % ksize} * C)" for k in range(count)]
    lines += ["    base = np.uint64(at)", "    for i in range(out.size):", "        p = base + np.uint64(i)"]
    lines += [f"        v{k} = rows[p + o{k}]" for k in range(count)]
    for a, b in median_network(count):  # min(x, y) is y < x ? y : x and max(y, x) is y < x ? x : y (selects)
        lines.append(f"        v{a}, v{b} = min(v{a}, v{b}), max(v{b}, v{a})")
    lines.append(f"        out[i] = v{count // 2}")
    scope = {"np": np}
    exec("\n".join(lines), scope)
    return scope["median_row_k"]


@overload(median_row)
def _median_row(rows, at, plen, C, out, ksize):  # type: ignore[no-untyped-def]
    if isinstance(ksize, types.IntegerLiteral):
        return median_row_impl(ksize.literal_value)
    return None


@numba.njit(cache=True, inline="always")
def median_block(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    ksize: int,
    rows: np.ndarray,
    obuf: np.ndarray,
) -> None:
    """Rows [y0, y1) of image n: the block's source rows padded by replicating the edge pixels (OpenCV's
    median border), then each output row's medians, written straight into dense output rows (the worker's
    buffers: (BLOCK_ROWS + ksize - 1) padded rows, and a row of output for other layouts). ksize is a
    constant (median_blocks_3, _5, _7), which median_row sees as a literal."""
    a = ksize // 2
    plen = (s.w + 2 * a) * s.c
    unused = np.zeros(4, rows.dtype)  # REPLICATE reads no fill
    for r in range(y0 - a, y1 + a):
        at = (r - y0 + a) * plen
        padded_row(src, s, n, r, a, a, REPLICATE, unused, rows[at : at + plen])
    dense = rows_dense(d)
    for y in range(y0, y1):
        out = dense_row(dst, d, n, y) if dense else obuf
        median_row(rows, (y - y0) * plen, plen, s.c, out, ksize)
        if not dense:
            store_values(dst, d, n, y, obuf)


@numba.njit(cache=True, inline="always")
def median_blocks(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, workers: int, ksize: int) -> None:
    """The blocks of median_blur, claimed on demand; inlined into one kernel per ksize below, where ksize is a
    constant that median_row sees as a literal."""
    blocks = (s.h + BLOCK_ROWS - 1) // BLOCK_ROWS
    counter = task_counter()
    for _ in numba.prange(workers):
        rows = np.empty((BLOCK_ROWS + ksize - 1) * (s.w + ksize - 1) * s.c, src.dtype)
        obuf = np.empty(d.w * d.c, dst.dtype)
        i = claim(counter)
        while i < s.n * blocks:
            n, y0, y1 = block_at(i, blocks, s.h)
            median_block(src, s, dst, d, n, y0, y1, ksize, rows, obuf)
            i = claim(counter)


# One kernel per ksize, so that a call compiles only the network it runs. (numba.literally did this with one
# kernel, but then every call first retried type inference without the literal: 30-50 ms a call.)
@numba.njit(parallel=True, cache=True)
def median_blocks_3(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, workers: int) -> None:
    median_blocks(src, s, dst, d, workers, 3)


@numba.njit(parallel=True, cache=True)
def median_blocks_5(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, workers: int) -> None:
    median_blocks(src, s, dst, d, workers, 5)


@numba.njit(parallel=True, cache=True)
def median_blocks_7(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, workers: int) -> None:
    median_blocks(src, s, dst, d, workers, 7)


MEDIAN_KERNELS = {3: median_blocks_3, 5: median_blocks_5, 7: median_blocks_7}


# ---- front doors --------------------------------------------------------------------------------------


def _images(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    as_view(src, "img")  # the capsule's checks (alignment, read-only output) come first, as in module.cpp
    as_view(dst, "out", writable=True)
    return src, dst


def check_filter_pair(src: np.ndarray, dst: np.ndarray, any_float_dst: bool) -> None:
    check_pair(src, dst)
    if dst.shape != src.shape:
        fail("dst: expected shape ", shape_str(src), " like src, got ", shape_str(dst))
    if not (dst.dtype == src.dtype or (any_float_dst and dst.dtype == np.float32)):
        fail("dst: expected dtype ", src.dtype, " or float32" if any_float_dst else "", ", got ", dst.dtype)


def check_ksize(k: int, name: str, odd: bool) -> None:
    if not (0 < k <= 255 and (not odd or k % 2 == 1)):
        fail(name, ": expected ", "an odd" if odd else "a", " size between 1 and 255, got ", k)


def run_sep_filter(
    src: np.ndarray,
    dst: np.ndarray,
    kx: np.ndarray,
    ky: np.ndarray,
    border: int,
    fill: Sequence[float] | None,
    delta: float,
) -> None:
    """Shared by sep_filter2d, gaussian_blur, box_blur and sobel once their (N, kw) / (N, kh) float32
    kernels are built."""
    fillf = fill_f32(fill)
    if dst.size == 0:
        return
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    launch(sep_blocks, sbuf, s, dbuf, d, workers(), kx, ky, int(border), fillf, np.float32(delta))


def sep_filter2d_kernels(
    src: np.ndarray, dst: np.ndarray, kx: np.ndarray, kw: int, ky: np.ndarray, kh: int, border: int
) -> tuple[np.ndarray, np.ndarray]:
    """The checks of sep_filter2d on (N, H, W, C) arrays (device arrays too), and its (N, kw) / (N, kh)
    float32 kernels."""
    N = src.shape[0]
    kx, ky = np.asarray(kx), np.asarray(ky)
    kx = params(kx, N * kw, "kx", np.float32).reshape(N, kw)
    ky = params(ky, N * kh, "ky", np.float32).reshape(N, kh)
    check_filter_pair(src, dst, True)
    check_border(border)
    check_ksize(kw, "kx", False)
    check_ksize(kh, "ky", False)
    return kx, ky


def sep_filter2d(
    src: np.ndarray,
    dst: np.ndarray,
    kx: np.ndarray,
    kw: int,
    ky: np.ndarray,
    kh: int,
    border: int,
    fill: Sequence[float],
    delta: float,
) -> None:
    """cv2.sepFilter2D: kx is kw floats and ky kh floats per sample; out = correlation + delta. dst may be
    float32 when src is uint8."""
    src, dst = _images(src, dst)
    kx, ky = sep_filter2d_kernels(src, dst, kx, kw, ky, kh, border)
    run_sep_filter(src, dst, kx, ky, border, fill, delta)


def filter2d_kernel(src: np.ndarray, dst: np.ndarray, kernel: np.ndarray, kh: int, kw: int, border: int) -> np.ndarray:
    """The checks of filter2d on (N, H, W, C) arrays (device arrays too), and its (N, kh, kw) float32
    kernels."""
    N = src.shape[0]
    kernel = params(kernel, N * kh * kw, "kernel", np.float32)
    check_filter_pair(src, dst, False)
    check_border(border)
    check_ksize(kh, "kernel height", False)
    check_ksize(kw, "kernel width", False)
    return kernel.reshape(N, kh, kw)


def filter2d(
    src: np.ndarray, dst: np.ndarray, kernel: np.ndarray, kh: int, kw: int, border: int, fill: Sequence[float]
) -> None:
    """cv2.filter2D (correlation, anchor at the kernel centre): kernel is kh*kw floats per sample."""
    src, dst = _images(src, dst)
    kernel = filter2d_kernel(src, dst, kernel, kh, kw, border)
    fillf = fill_f32(fill)
    if dst.size == 0:
        return
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    launch(filter2d_blocks, sbuf, s, dbuf, d, workers(), kernel, int(border), fillf)


def gaussian_kernels(
    src: np.ndarray, dst: np.ndarray, kh: int, kw: int, sigma: np.ndarray, border: int
) -> tuple[np.ndarray, np.ndarray]:
    """The checks of gaussian_blur on (N, H, W, C) arrays (device arrays too), and its (N, kw) / (N, kh)
    kernels: uint16 in 8 fraction bits for uint8 images (OpenCV's fixed-point path), float32 otherwise."""
    N = src.shape[0]
    sigma = params(sigma, N * 2, "sigma", np.float64)
    check_filter_pair(src, dst, False)
    check_border(border)
    check_ksize(kh, "ksize height", True)
    check_ksize(kw, "ksize width", True)
    make, dtype = (gaussian_kernel_q8, np.uint16) if src.dtype == np.uint8 else (gaussian_kernel, np.float32)
    kx, ky = np.empty((N, kw), dtype), np.empty((N, kh), dtype)
    for n in range(N):
        sx = float(sigma[2 * n])
        sy = float(sigma[2 * n + 1]) if sigma[2 * n + 1] > 0 else sx
        if not (math.isfinite(sx) and math.isfinite(sy)):
            fail("sigma: expected finite values, got (", sx, ", ", sy, ") for sample ", n)
        kx[n] = make(kw, sx)
        ky[n] = make(kh, sy)
    return kx, ky


def gaussian_blur(src: np.ndarray, dst: np.ndarray, kh: int, kw: int, sigma: np.ndarray, border: int) -> None:
    """cv2.GaussianBlur: sigma is (sigma_x, sigma_y) per sample (sigma_y <= 0 means sigma_x); odd ksize.
    uint8 goes through OpenCV's fixed-point path (bit-exact), float32 through the float separable filter."""
    src, dst = _images(src, dst)
    kx, ky = gaussian_kernels(src, dst, kh, kw, sigma, border)
    if src.dtype != np.uint8:
        return run_sep_filter(src, dst, kx, ky, border, None, 0.0)
    if dst.size == 0:
        return
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    launch(gaussian_q8_blocks, sbuf, s, dbuf, d, workers(), kx, ky, int(border))


def check_box(src: np.ndarray, dst: np.ndarray, kh: int, kw: int, border: int) -> bool:
    """The checks of box_blur on (N, H, W, C) arrays (device arrays too); False when nothing to write."""
    check_filter_pair(src, dst, False)
    check_border(border)
    check_ksize(kh, "ksize height", False)
    check_ksize(kw, "ksize width", False)
    return dst.size != 0


@numba.njit(cache=True, inline="always")
def box_value(total, inv, u8: bool):  # type: ignore[no-untyped-def]
    """box_value (filter_pixel.hpp) before its conversion to the output type (saturate: round half to
    even): an exact integer sum scaled in float32 (uint8), or a double sum scaled in double (float32)."""
    if u8:
        return f32(f32(total) * f32(inv))
    return f32(total * inv)


@numba.njit(cache=True, inline="always")
def box_pixel(src: np.ndarray, s: Layout, n: int, y: int, x: int, c: int, kh: int, kw: int, border: int, inv, u8: bool):  # type: ignore[no-untyped-def]
    """One output value by direct sums, row by row (the CUDA kernel; the same sums as box_block's). The
    sums run in float64, exact for uint8 (integers far below 2**53) and OpenCV's sum type for float32."""
    ay, ax = kh // 2, kw // 2
    total = 0.0
    for i in range(kh):
        ry = map_border(y + i - ay, s.h, border)
        row = 0.0
        for j in range(kw):
            cx = -1 if ry < 0 else map_border(x + j - ax, s.w, border)
            if cx >= 0:
                row += np.float64(src[index(s, n, ry, cx, c)])
        total += row
    return box_value(total, inv, u8)


@numba.njit(cache=True, inline="always")
def box_row_sums(pad: np.ndarray, step: int, length: int, kw: int, out: np.ndarray) -> None:
    """out[i] = pad[i] + pad[i + step] + ... (kw taps, in tap order: box_block's sums), with kw a constant at
    each call and unsigned indices (see _view.dense_row)."""
    for i in range(length):
        v = out.dtype.type(pad[i])
        for j in range(1, kw):
            v += pad[np.uint64(i + j * step)]
        out[i] = v


@numba.njit(cache=True)
def box_block(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y0: int,
    y1: int,
    kh: int,
    kw: int,
    border: int,
    inv,
    u8: bool,
    zero: np.ndarray,
    pad: np.ndarray,
    rows: np.ndarray,
    acc: np.ndarray,
    obuf: np.ndarray,
) -> None:  # type: ignore[no-untyped-def]
    """box_cpu on rows [y0, y1) of image n: every needed source row's horizontal window sums (box_row_pass),
    then the column sums (box_column_u8: running, exact integers; box_column_f32: direct, in row order).
    The worker's buffers have box_cpu's types: pad the source's (uint8, or float64 for float32 images),
    rows uint16 or int32 and acc uint16 or int32 for uint8 (each wide enough for its sums, and stores wrap
    as the C++ static_casts do), float64 otherwise; obuf a row of the output's type."""
    ax, ay = kw // 2, kh // 2
    length = s.w * s.c
    step = s.c
    for r in range(y0 - ay, y1 + kh - 1 - ay):
        padded_row(src, s, n, r, ax, kw - 1 - ax, border, zero, pad)
        at = (r - y0 + ay) * length
        out = rows[at : at + length]
        if kw == 3:  # the common sizes with a constant tap count: one pass that vectorises
            box_row_sums(pad, step, length, 3, out)
        elif kw == 5:
            box_row_sums(pad, step, length, 5, out)
        else:
            for i in range(length):
                out[i] = pad[i]
            for j in range(1, kw):
                tap = pad[j * step : j * step + length]
                for i in range(length):
                    out[i] = out[i] + tap[i]
    dense = rows_dense(d)
    if u8:
        acc[:] = 0
        for j in range(kh - 1):
            row = rows[j * length : (j + 1) * length]
            for i in range(length):
                acc[i] = acc[i] + row[i]
    for y in range(y0, y1):
        o = dense_row(dst, d, n, y) if dense else obuf
        if u8:
            enter = rows[(y - y0 + kh - 1) * length : (y - y0 + kh) * length]
            leave = rows[(y - y0) * length : (y - y0 + 1) * length]
            for i in range(length):  # one pass: the row entering the window, the output, the row leaving
                total = acc[i] + enter[i]
                o[i] = saturate(box_value(total, inv, u8), o)
                acc[i] = total - leave[i]
        else:
            acc[:] = 0.0
            for j in range(kh):
                row = rows[(y - y0 + j) * length : (y - y0 + j + 1) * length]
                for i in range(length):
                    acc[i] += row[i]
            for i in range(length):
                o[i] = saturate(box_value(acc[i], inv, u8), o)
        if not dense:
            store_values(dst, d, n, y, obuf)


@numba.njit(parallel=True, cache=True)
def box_blocks(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    kh: int,
    kw: int,
    border: int,
    inv,
    u8: bool,
    pads: np.ndarray,
    rows: np.ndarray,
    accs: np.ndarray,
    obuf: np.ndarray,
) -> None:  # type: ignore[no-untyped-def]
    """Worker t claims blocks (parallel_blocks' dynamic schedule) and runs them with its own buffers pads[t],
    rows[t], accs[t], obuf[t] (allocated by the caller, which knows their types)."""
    workers = pads.shape[0]
    blocks = (s.h + BLOCK_ROWS - 1) // BLOCK_ROWS
    counter = task_counter()
    for t in numba.prange(workers):
        zero = np.zeros(4, pads.dtype)  # cv2.blur's constant border reads 0
        i = claim(counter)
        while i < s.n * blocks:
            n, y0, y1 = block_at(i, blocks, s.h)
            box_block(src, s, dst, d, n, y0, y1, kh, kw, border, inv, u8, zero, pads[t], rows[t], accs[t], obuf[t])
            i = claim(counter)


def box_scale(u8: bool, kh: int, kw: int) -> float:
    """box_inv_area: 1 / (kh * kw) in float32 for uint8, in double for float32."""
    return np.float32(1.0) / np.float32(kh * kw) if u8 else 1.0 / (kh * kw)


def box_blur(src: np.ndarray, dst: np.ndarray, kh: int, kw: int, border: int) -> None:
    """cv2.blur: exact window sums (running integer column sums for uint8, double sums for float32)."""
    src, dst = _images(src, dst)
    if not check_box(src, dst, kh, kw, border):
        return
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    u8 = src.dtype == np.uint8
    w, length = workers(), d.w * d.c
    if u8:  # box_blur's choice of sum types: 16 bits while the sums fit
        pad, row_sum = np.uint8, np.uint16 if kw <= 257 else np.int32
        col_sum = np.uint16 if kh * kw <= 257 else np.int32
    else:
        pad = row_sum = col_sum = np.float64
    launch(
        box_blocks,
        sbuf,
        s,
        dbuf,
        d,
        int(kh),
        int(kw),
        int(border),
        box_scale(u8, kh, kw),
        u8,
        np.empty((w, (s.w + kw - 1) * s.c), pad),
        np.empty((w, (BLOCK_ROWS + kh - 1) * length), row_sum),
        np.empty((w, length), col_sum),
        np.empty((w, length), dst.dtype),
    )


def check_median(src: np.ndarray, dst: np.ndarray, ksize: int) -> bool:
    """The checks of median_blur on (N, H, W, C) arrays (device arrays too); False when nothing to write."""
    check_filter_pair(src, dst, False)
    if ksize not in (3, 5, 7):
        fail("ksize: expected 3, 5 or 7, got ", ksize)
    return dst.size != 0


def median_blur(src: np.ndarray, dst: np.ndarray, ksize: int) -> None:
    """cv2.medianBlur: ksize 3, 5 or 7, BORDER_REPLICATE."""
    src, dst = _images(src, dst)
    if not check_median(src, dst, ksize):
        return
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    launch(MEDIAN_KERNELS[int(ksize)], sbuf, s, dbuf, d, workers())
