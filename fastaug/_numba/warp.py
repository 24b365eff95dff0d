"""warp_affine and warp_perspective: the Numba twin of csrc/ops/warp.cpp and warp_pixel.hpp. The source is a
batch, or a ragged batch (a list of images of different sizes: one flat buffer and a Layout per image, see
_view.py); the kernels take either through sample_layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._check import (
    check_border,
    check_dtype,
    check_image,
    check_list,
    check_pair,
    check_ragged,
    check_shape,
    fail,
    fill_f32,
    params,
    shape_str,
)
from ._common import (
    CONSTANT,
    LINEAR,
    REFLECT,
    REPLICATE,
    WRAP,
    clamp_coord,
    f32,
    load_word,
    map_border,
    sample,
    saturate,
    window,
    word_channel,
)
from ._parallel import claim_run, launch, row_run, task_counter, workers
from ._view import Layout, as_batch, as_ragged, as_view, dense_row, index, rows_dense, sample_layout, store_values

# ---- host side: the inverse maps ----------------------------------------------------------------------


def inverse_maps(M: np.ndarray, n: int, perspective: bool, name: str) -> np.ndarray:
    """Forward matrices (6 or 9 doubles per sample) -> (n, 9) float32 inverse maps (dst -> src): warp.cpp's
    invert3x3 of each sample, in double with its operation order (elementwise over the samples: the same
    IEEE operations, without a Python loop that cost about 5% of the native warp of 64 images); the first
    sample with a non-finite entry, or a singular matrix or one whose float32 inverse overflows, is named."""
    size = 9 if perspective else 6
    m = np.zeros((n, 9))
    m[:, 8] = 1.0
    m[:, :size] = np.asarray(M, np.float64).reshape(-1)[: n * size].reshape(n, size)
    a, b, c, d, e, f, g, h, i = m.T
    with np.errstate(all="ignore"):
        det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
        r = 1.0 / det
        cofactors = (
            (e * i - f * h, c * h - b * i, b * f - c * e),
            (f * g - d * i, a * i - c * g, c * d - a * f),
            (d * h - e * g, b * g - a * h, a * e - b * d),
        )
        inv = np.stack([v * r for row in cofactors for v in row], axis=1).astype(np.float32)
    entries_finite = np.isfinite(m).all(axis=1)
    invertible = np.isfinite(det) & (det != 0.0) & np.isfinite(inv).all(axis=1)
    bad = ~(entries_finite & invertible)
    if bad.any():
        k = int(np.argmax(bad))
        if not entries_finite[k]:
            fail(name, ": matrix of sample ", k, " has a non-finite entry")
        fail(name, ": matrix of sample ", k, " is singular (not invertible)")
    return np.ascontiguousarray(inv)


# ---- kernel -------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def warp_coord(m: np.ndarray, x: int, y: int, perspective: bool) -> tuple[float, float, float]:
    """warp_pixel.hpp's warp_coord: where dst pixel (x, y) samples the source under the inverse map m, (sx, sy),
    and the map's perspective denominator w (1 for an affine map)."""
    fx = f32(x)
    fy = f32(y)
    sx = m[0] * fx + m[1] * fy + m[2]
    sy = m[3] * fx + m[4] * fy + m[5]
    w = f32(1.0)
    if perspective:
        w = m[6] * fx + m[7] * fy + m[8]
        r = f32(1.0) / w if w != f32(0.0) else f32(0.0)  # as OpenCV: a point at infinity samples (0, 0)
        sx *= r
        sy *= r
    return sx, sy, w


@numba.njit(cache=True, inline="always")
def warp_pixel(
    src: np.ndarray,
    s: Layout,
    base: int,
    m: np.ndarray,
    x: int,
    y: int,
    interp: int,
    border: int,
    perspective: bool,
    fill: np.ndarray,
    wy: np.ndarray,
    wx: np.ndarray,
    acc: np.ndarray,
) -> None:
    """Samples the source point of dst pixel (y, x) under the inverse map m into acc[0:C]."""
    sx, sy, _ = warp_coord(m, x, y, perspective)
    sample(src, s, base, sy, sx, interp, border, fill, wy, wx, acc)


@numba.njit(parallel=True, cache=True)
def warp_rows(
    src: np.ndarray,
    s: Layout | np.ndarray,
    dst: np.ndarray,
    d: Layout,
    minv: np.ndarray,
    interp: int,
    border: int,
    perspective: bool,
    fill: np.ndarray,
) -> None:
    for r in numba.prange(d.n * d.h):
        n = r // d.h
        y = r % d.h
        wy = np.empty(4, np.float32)
        wx = np.empty(4, np.float32)
        acc = np.empty(4, np.float32)
        sv, base = sample_layout(s, n)
        m = minv[n]
        for x in range(d.w):
            warp_pixel(src, sv, base, m, x, y, interp, border, perspective, fill, wy, wx, acc)
            for c in range(d.c):
                dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


# The bilinear CPU rows (warp_u8_row_avx2's role): per output row, pass 1 plans every pixel in a
# branch-free loop that LLVM vectorises, pass 2 sums the four taps of the pixels that pass 1 mapped (a
# constant border's taps outside the image as the fill), and the rest take warp_pixel. Every value is the
# same float operations as warp_pixel + sample + accumulate_taps, in the same order, so the bits are
# warp_rows'. Pass 1's code of a pixel: the taps mapped, with bit k set where tap k (00, 01, 10, 11) is the
# fill, or ELSEWHERE (a NaN coordinate, or a tap beyond one reflection of the image): the general sampler.
ELSEWHERE = -1


@numba.njit(cache=True, inline="always")
def border_map(n: int, border: int) -> tuple[int, int, int, int, int, int]:
    """map_lanes' formulas for an axis of n pixels as numbers (sb, ab, sa, aa, lo, hi): tap i maps to
    sb * i + ab below 0, to sa * i + aa above n - 1 and to itself between, which is map_border(i, n, border)
    for lo <= i <= hi, within one reflection (or wrap) of the image; under CONSTANT the image itself (the
    taps outside read the fill). Numbers, not branches on the border, so that pass 1 vectorises for any
    border with one compiled copy."""
    far = 1 << 30  # beyond every clamped coordinate (2^22)
    if border == CONSTANT:
        return 1, 0, 1, 0, 0, n - 1
    if border == REPLICATE:
        return 0, 0, 0, n - 1, -far, far
    if border == REFLECT:  # -1 - i below, 2n - 1 - i above
        return -1, -1, -1, 2 * n - 1, -n, 2 * n - 1
    if border == WRAP:  # i + n below, i - n above
        return 1, n, 1, -n, -n, 2 * n - 1
    if n == 1:  # REFLECT101 of one pixel: always 0
        return 0, 0, 0, 0, -far, far
    return -1, 0, -1, 2 * n - 2, 1 - n, 2 * n - 2  # REFLECT101: -i below, 2n - 2 - i above


@numba.njit(cache=True, inline="always")
def map_tap(i, n, p):  # type: ignore[no-untyped-def]
    """Tap i of an axis of n pixels mapped by border_map's numbers p, and whether p's formulas hold for it."""
    sb, ab, sa, aa, lo, hi = p
    v = np.int32(sb * i + ab) if i < 0 else (np.int32(sa * i + aa) if i > np.int32(n - 1) else i)
    return v, (i >= np.int32(lo)) & (i <= np.int32(hi))  # int32 compares: 8 lanes a vector, not 64-bit ones


@numba.njit(cache=True, inline="always")
def linear_row_plan(
    xs: np.ndarray,
    m: np.ndarray,
    fy: float,
    s: Layout,
    border: int,
    perspective: bool,
    code: np.ndarray,
    offs: np.ndarray,
    weights: np.ndarray,
) -> None:
    """Pass 1 of a bilinear row: for each dst pixel, its code, the buffer offsets (from the image's pixel
    (0, 0)) of its four taps (offs: 00, 01, 10, 11, where map_tap maps them; 0 for a tap that the code
    flags, so that every offset points into the image and pass 2 reads any of them without a branch), and
    the four weights (w00, w01, w10, w11): each the same float operations as warp_pixel + sample +
    accumulate_taps (m[1] * fy is the same product hoisted)."""
    one = f32(1.0)
    m0, m2, m3, m5, m6, m8 = m[0], m[2], m[3], m[5], m[6], m[8]  # locals: the stores below could alias m
    t1 = m[1] * fy
    t4 = m[4] * fy
    t7 = m[7] * fy
    h, w, sh, sw = np.int32(s.h), np.int32(s.w), np.int32(s.sh), np.int32(s.sw)
    px, py = border_map(w, border), border_map(h, border)
    constant = border == CONSTANT
    p00, p01, p10, p11 = offs[0], offs[1], offs[2], offs[3]
    w00, w01, w10, w11 = weights[0], weights[1], weights[2], weights[3]
    for x in range(xs.size):
        sx = m0 * xs[x] + t1 + m2
        sy = m3 * xs[x] + t4 + m5
        if perspective:
            wz = m6 * xs[x] + t7 + m8
            wz = one / wz if wz != f32(0.0) else f32(0.0)  # as OpenCV: a point at infinity samples (0, 0)
            sx *= wz
            sy *= wz
        sx = clamp_coord(sx)
        sy = clamp_coord(sy)
        finite = (sx == sx) & (sy == sy)
        ix = np.int32(sx if finite else f32(0.0))  # NaN -> int is undefined in LLVM: never convert it
        iy = np.int32(sy if finite else f32(0.0))
        x0 = np.int32(ix - np.int32(1) if f32(ix) > sx else ix)  # fast_floor
        y0 = np.int32(iy - np.int32(1) if f32(iy) > sy else iy)
        xa, oka = map_tap(x0, w, px)
        xb, okb = map_tap(np.int32(x0 + np.int32(1)), w, px)
        ya, oya = map_tap(y0, h, py)
        yb, oyb = map_tap(np.int32(y0 + np.int32(1)), h, py)
        # bit k: tap k (00, 01, 10, 11) is outside what map_tap maps; the fill under a constant border
        in00, in01, in10, in11 = oya & oka, oya & okb, oyb & oka, oyb & okb
        bits = (1 - np.int32(in00)) | ((1 - np.int32(in01)) << 1)
        bits |= ((1 - np.int32(in10)) << 2) | ((1 - np.int32(in11)) << 3)
        code[x] = np.int32(bits if finite & (constant | (bits == 0)) else ELSEWHERE)
        ra, rb, ca, cb = np.int32(ya * sh), np.int32(yb * sh), np.int32(xa * sw), np.int32(xb * sw)
        p00[x] = np.int32(ra + ca) if in00 else np.int32(0)
        p01[x] = np.int32(ra + cb) if in01 else np.int32(0)
        p10[x] = np.int32(rb + ca) if in10 else np.int32(0)
        p11[x] = np.int32(rb + cb) if in11 else np.int32(0)
        tx = sx - f32(x0)
        ty = sy - f32(y0)
        w00[x] = (one - ty) * (one - tx)
        w01[x] = (one - ty) * tx
        w10[x] = ty * (one - tx)
        w11[x] = ty * tx


@numba.njit(cache=True, inline="always")
def linear_row_taps(
    src: np.ndarray,
    base: int,
    out: np.ndarray,
    code: np.ndarray,
    offs: np.ndarray,
    weights: np.ndarray,
    taps: np.ndarray,
    C: int,
    cs: int,
) -> None:
    """Pass 2 of any source: the four taps of every pixel that pass 1 mapped, summed in accumulate_taps'
    order into out (C values a pixel). C and the channel step cs are literals for dense rows; buffer
    indices of taps are never negative, so unsigned (see _view.dense_row). In two loops, so that the sums
    vectorise: the taps of every pixel copied into taps (4, W * C) (a tap that pass 1 flags copies pixel
    (0, 0): linear_row_fill or warp_pixel redoes its pixel), then the sums of every pixel from the copies."""
    o00, o01, o10, o11 = offs[0], offs[1], offs[2], offs[3]
    t00, t01, t10, t11 = taps[0], taps[1], taps[2], taps[3]
    for x in range(code.size):
        p00, p01, p10, p11 = base + o00[x], base + o01[x], base + o10[x], base + o11[x]
        for c in range(C):
            i = np.uint64(x * C + c)
            t00[i] = src[np.uint64(p00 + c * cs)]
            t01[i] = src[np.uint64(p01 + c * cs)]
            t10[i] = src[np.uint64(p10 + c * cs)]
            t11[i] = src[np.uint64(p11 + c * cs)]
    w00, w01, w10, w11 = weights[0], weights[1], weights[2], weights[3]
    for x in range(code.size):
        a0, a1, a2, a3 = w00[x], w01[x], w10[x], w11[x]  # locals: the stores to out could alias them
        for c in range(C):
            i = np.uint64(x * C + c)
            a = f32(0.0) + a0 * f32(t00[i])
            a += a1 * f32(t01[i])
            a += a2 * f32(t10[i])
            a += a3 * f32(t11[i])
            out[i] = saturate(a, out)


@numba.njit(cache=True, inline="always")
def linear_row_fill(
    src: np.ndarray,
    base: int,
    out: np.ndarray,
    code: np.ndarray,
    offs: np.ndarray,
    weights: np.ndarray,
    fill: np.ndarray,
    C: int,
    cs: int,
) -> None:
    """The pixels with a tap outside that pass 1 mapped (a constant border), again, the fill for those taps."""
    o00, o01, o10, o11 = offs[0], offs[1], offs[2], offs[3]
    w00, w01, w10, w11 = weights[0], weights[1], weights[2], weights[3]
    for x in range(code.size):
        k = code[x]
        if k <= 0:  # done, or ELSEWHERE
            continue
        a0, a1, a2, a3 = w00[x], w01[x], w10[x], w11[x]
        p00, p01, p10, p11 = base + o00[x], base + o01[x], base + o10[x], base + o11[x]
        for c in range(C):
            a = f32(0.0) + a0 * (fill[c] if k & 1 else f32(src[np.uint64(p00 + c * cs)]))
            a += a1 * (fill[c] if k & 2 else f32(src[np.uint64(p01 + c * cs)]))
            a += a2 * (fill[c] if k & 4 else f32(src[np.uint64(p10 + c * cs)]))
            a += a3 * (fill[c] if k & 8 else f32(src[np.uint64(p11 + c * cs)]))
            out[np.uint64(x * C + c)] = saturate(a, out)


@numba.njit(cache=True, inline="always")
def tap_word(word: np.uint32, outside: int, fill_word: np.uint32) -> np.uint32:
    """A tap's pixel as a word, or fill_word where pass 1 flags the tap (outside a constant border)."""
    return fill_word if outside else word


@numba.njit(cache=True, inline="always")
def linear_row_words(
    src: np.ndarray,
    base: int,
    out: np.ndarray,
    code: np.ndarray,
    offs: np.ndarray,
    weights: np.ndarray,
    fill_word: int,
    words: np.ndarray,
    C: int,
) -> None:
    """Pass 2 of a uint8 source of dense rows whose last pixel leaves 4 bytes to its buffer's end (C <= 4):
    the four taps of every pixel as words (load_word: one load a tap instead of C) into words (4, W), then
    the sums of every pixel from them, in accumulate_taps' order, the taps that pass 1 flags as fill_word
    (the fill's bytes, when it has whole bytes; otherwise linear_row_fill redoes those pixels). The loads
    are a loop of their own, so that the sums vectorise (LLVM does not gather on this CPU's tuning)."""
    o00, o01, o10, o11 = offs[0], offs[1], offs[2], offs[3]
    q00, q01, q10, q11 = words[0], words[1], words[2], words[3]
    for x in range(code.size):
        q00[x] = load_word(src, base + o00[x])
        q01[x] = load_word(src, base + o01[x])
        q10[x] = load_word(src, base + o10[x])
        q11[x] = load_word(src, base + o11[x])
    w00, w01, w10, w11 = weights[0], weights[1], weights[2], weights[3]
    fw = np.uint32(max(fill_word, 0))
    for x in range(code.size):
        a0, a1, a2, a3 = w00[x], w01[x], w10[x], w11[x]
        k = code[x]
        v00, v01 = tap_word(q00[x], k & 1, fw), tap_word(q01[x], k & 2, fw)
        v10, v11 = tap_word(q10[x], k & 4, fw), tap_word(q11[x], k & 8, fw)
        for c in range(C):
            a = f32(0.0) + a0 * f32(word_channel(v00, c))
            a += a1 * f32(word_channel(v01, c))
            a += a2 * f32(word_channel(v10, c))
            a += a3 * f32(word_channel(v11, c))
            out[np.uint64(x * C + c)] = saturate(a, out)


def row_words(src, s, base, out, code, offs, weights, fill_word, words):  # type: ignore[no-untyped-def]
    """linear_row_words with a literal channel count where it applies (a uint8 source of dense rows whose
    words stay inside its buffer) and True; False, nothing done, otherwise. Chosen by src's type at compile
    time by the overload below."""
    raise NotImplementedError("row_words runs inside Numba kernels only")


@overload(row_words, jit_options={"cache": True})
def _row_words(src, s, base, out, code, offs, weights, fill_word, words):  # type: ignore[no-untyped-def]
    if src.dtype != types.uint8:
        return lambda src, s, base, out, code, offs, weights, fill_word, words: False

    def words_u8(src, s, base, out, code, offs, weights, fill_word, words):  # type: ignore[no-untyped-def]
        last = base + max(0, (s.h - 1) * s.sh) + (s.w - 1) * s.c  # the highest pixel of dense rows
        if not rows_dense(s) or last + 4 > src.size:
            return False
        if s.c == 3:
            linear_row_words(src, base, out, code, offs, weights, fill_word, words, 3)
        elif s.c == 1:
            linear_row_words(src, base, out, code, offs, weights, fill_word, words, 1)
        else:
            linear_row_words(src, base, out, code, offs, weights, fill_word, words, 4)
        return True

    return words_u8


@numba.njit(cache=True, inline="always")
def linear_row(
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    n: int,
    y: int,
    m: np.ndarray,
    border: int,
    perspective: bool,
    fill: np.ndarray,
    fill_word: int,
    xs: np.ndarray,
    code: np.ndarray,
    offs: np.ndarray,
    weights: np.ndarray,
    taps: np.ndarray,
    words: np.ndarray,
    obuf: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Output row y of image n: pass 1, pass 2 (by words for uint8 pixels, else specialised by channel
    count), the fill's pixels, then warp_pixel for the ELSEWHERE pixels (the worker's buffers: code, offs
    (4, W), weights (4, W), taps (4, W * C values of src's type), words (4, W), obuf (W * C values of dst's
    type) and scratch (3, 4) floats)."""
    linear_row_plan(xs, m, f32(y), s, border, perspective, code, offs, weights)
    dense = rows_dense(d)
    out = dense_row(dst, d, n, y) if dense else obuf
    base = s.off + n * s.sn
    by_words = row_words(src, s, base, out, code, offs, weights, fill_word, words)
    if by_words:
        pass
    elif not rows_dense(s):
        linear_row_taps(src, base, out, code, offs, weights, taps, s.c, s.sc)
    elif s.c == 3:
        linear_row_taps(src, base, out, code, offs, weights, taps, 3, 1)
    elif s.c == 1:
        linear_row_taps(src, base, out, code, offs, weights, taps, 1, 1)
    else:
        linear_row_taps(src, base, out, code, offs, weights, taps, 4, 1)
    if not by_words or fill_word < 0:  # the fill's values, unless pass 2 took them as words
        linear_row_fill(src, base, out, code, offs, weights, fill, s.c, s.sc)
    for x in range(d.w):  # NaN, or a tap beyond one reflection: the general sampler
        if code[x] == ELSEWHERE:
            warp_pixel(src, s, base, m, x, y, LINEAR, border, perspective, fill, scratch[0], scratch[1], scratch[2])
            for c in range(d.c):
                out[x * d.c + c] = saturate(scratch[2, c], out)
    if not dense:
        store_values(dst, d, n, y, obuf)


@numba.njit(cache=True, error_model="numpy")
def linear_rows(
    src: np.ndarray,
    s: Layout | np.ndarray,
    dst: np.ndarray,
    d: Layout,
    first: int,
    last: int,
    minv: np.ndarray,
    border: int,
    perspective: bool,
    fill: np.ndarray,
    fill_word: int,
    xs: np.ndarray,
    code: np.ndarray,
    offs: np.ndarray,
    weights: np.ndarray,
    taps: np.ndarray,
    words: np.ndarray,
    obuf: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """linear_row on rows [first, last) of the batch (row r: image r // H, row r % H). A function of its own,
    not inlined: Numba's compile time of a parallel loop grows fast with the code inlined into its body;
    called once a run of rows, not once a row: a call passes each array with atomic reference counting,
    on objects that every worker shares. The numpy error model: 1 / wz is guarded, so no division-by-zero
    check is needed."""
    for r in range(first, last):
        n = r // d.h
        linear_row(
            src, sample_layout(s, n)[0], dst, d, n, r % d.h, minv[n], border, perspective, fill, fill_word,
            xs, code, offs, weights, taps, words, obuf, scratch,
        )  # fmt: skip


@numba.njit(parallel=True, cache=True)
def warp_linear_rows(
    src: np.ndarray,
    s: Layout | np.ndarray,
    dst: np.ndarray,
    d: Layout,
    workers: int,
    minv: np.ndarray,
    border: int,
    perspective: bool,
    fill: np.ndarray,
    fill_word: int,
) -> None:
    """warp_rows for bilinear sampling of images whose values are within 2^31 of each other (pass 1's tap
    offsets are int32, which it needs to vectorise well), a row at a time (linear_row); each worker, with
    its own buffers, claims runs of rows (linear_rows) until none are left (as parallel.hpp's
    parallel_rows)."""
    xs = np.arange(d.w).astype(np.float32)
    total = d.n * d.h
    run = row_run(total, workers)
    counter = task_counter()
    for _ in numba.prange(workers):
        code = np.empty(d.w, np.int32)
        offs = np.empty((4, d.w), np.int32)
        weights = np.empty((4, d.w), np.float32)
        taps = np.empty((4, d.w * d.c), src.dtype)
        words = np.empty((4, d.w), np.uint32)
        obuf = np.empty(d.w * d.c, dst.dtype)
        scratch = np.empty((3, 4), np.float32)
        first, last = claim_run(counter, run, total)
        while first < last:
            linear_rows(
                src, s, dst, d, first, last, minv, border, perspective, fill, fill_word,
                xs, code, offs, weights, taps, words, obuf, scratch,
            )  # fmt: skip
            first, last = claim_run(counter, run, total)


# ---- front doors --------------------------------------------------------------------------------------


Source = np.ndarray | list[np.ndarray]  # a batch, or a ragged batch: a list of (1, H, W, C) images


def warp_plan(
    src: Source, dst: np.ndarray, M: np.ndarray, interp: int, border: int, fill: Sequence[float], perspective: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """The checks of a warp of (N, H, W, C) src, or of a list of N (1, H, W, C) images (a ragged batch), into
    dst (anything with .shape, .dtype and .size: the CUDA fallback passes device arrays) and its (N, 9)
    float32 inverse maps and 4 fill values; None when there is nothing to write."""
    name = "H" if perspective else "M"
    ragged = isinstance(src, list)
    first = src[0] if ragged else src
    n, c = (len(src) if ragged else first.shape[0]), first.shape[3]
    M = params(M, n * (9 if perspective else 6), name, np.float64)
    if ragged:
        check_ragged(src, dst)
    else:
        check_pair(src, dst)
    if dst.shape[0] != n or dst.shape[3] != c or dst.dtype != first.dtype:
        fail(
            "dst: expected ",
            n,
            " images of ",
            c,
            " channels and dtype ",
            first.dtype,
            " like src, got shape ",
            shape_str(dst),
            " ",
            dst.dtype,
        )
    check_border(border)
    if interp not in (0, 1, 2):
        fail("interp: expected nearest, linear or cubic, got code ", interp)
    minv = inverse_maps(M, n, perspective, name)
    fillf = fill_f32(fill)
    if dst.size == 0:
        return None
    for i, image in enumerate(src if ragged else [src]):
        if image.shape[1] <= 0 or image.shape[2] <= 0:
            fail("src[" + str(i) + "]" if ragged else "src", ": cannot warp an empty image of shape ", shape_str(image))
    return minv, fillf


def fill_word(fill: np.ndarray, c: int) -> int:
    """The fill's c values as the bytes of a load_word word, or -1 where one is not a whole byte (warp_avx2's
    masked gathers take the same test)."""
    values = [float(v) for v in fill[:c]]
    if not all(0 <= v <= 255 and v == int(v) for v in values):
        return -1
    return sum(int(v) << (8 * k) for k, v in enumerate(values))


def _warp(
    src: Source, dst: np.ndarray, M: np.ndarray, interp: int, border: int, fill: Sequence[float], perspective: bool
) -> None:
    if isinstance(src, (list, tuple)):  # a ragged batch: a list of images
        src = check_list([as_batch(x, f"img[{i}]") for i, x in enumerate(src)], "img", "cpu")
    else:
        src = as_batch(src, "img")
    dst = as_batch(dst, "out")
    dbuf, d = as_view(dst, "out", writable=True)
    plan = warp_plan(src, dst, M, interp, border, fill, perspective)
    if plan is None:
        return
    images = src if isinstance(src, list) else [src]
    sbuf, s = as_ragged(images, "img") if isinstance(src, list) else as_view(src, "img")
    # bilinear rows take int32 tap offsets (pass 1 vectorises with them): every image within 2^31 values
    reach = [
        sum(abs(st) // x.itemsize * (m - 1) for st, m in zip(x.strides[1:], x.shape[1:], strict=True)) for x in images
    ]
    if interp == LINEAR and max(reach) < 2**31:
        word = fill_word(plan[1], images[0].shape[3]) if border == CONSTANT else 0
        launch(warp_linear_rows, sbuf, s, dbuf, d, workers(), plan[0], int(border), perspective, plan[1], word)
    else:
        launch(warp_rows, sbuf, s, dbuf, d, plan[0], int(interp), int(border), perspective, plan[1])


def warp_affine(src: Source, dst: np.ndarray, M: np.ndarray, interp: int, border: int, fill: Sequence[float]) -> None:
    """cv2.warpAffine: M is 6 doubles per sample (forward, src -> dst), inverted here. src: a batch, or a list
    of images of different sizes (a ragged batch) warped into the dense dst."""
    _warp(src, dst, M, interp, border, fill, perspective=False)


def warp_perspective(
    src: Source, dst: np.ndarray, H: np.ndarray, interp: int, border: int, fill: Sequence[float]
) -> None:
    """cv2.warpPerspective: H is 9 doubles per sample (forward, src -> dst), inverted here. src: a batch, or a
    list of images of different sizes."""
    _warp(src, dst, H, interp, border, fill, perspective=True)


# ---- backward -----------------------------------------------------------------------------------------
# The twin of warp.cpp's warp_backward and warp_pixel.hpp's warp_backward_pixel (see their comments): the same
# tasks (sample n, chunk k of its output rows), the same order of every sum, so the same bits whatever the
# thread count.


@numba.njit(cache=True, inline="always")
def backward_taps(
    m: np.ndarray,
    x: int,
    y: int,
    interp: int,
    border: int,
    perspective: bool,
    h: int,
    w: int,
    wy: np.ndarray,
    wx: np.ndarray,
    yy: np.ndarray,
    xx: np.ndarray,
) -> tuple[int, float, float, float]:
    """warp_backward_pixel's window of dst pixel (x, y): its weights into wy, wx, its border-mapped tap rows and
    columns into yy, xx (-1: the constant border's fill); returns (k, sx, sy, w), k = 0 for NaN coordinates."""
    sx, sy, wz = warp_coord(m, x, y, perspective)
    if not (sx == sx and sy == sy):
        return 0, sx, sy, wz
    y0, x0, k = window(sy, sx, interp, wy, wx)
    for i in range(k):
        yy[i] = map_border(y0 + i, h, border)
        xx[i] = map_border(x0 + i, w, border)
    return k, sx, sy, wz


@numba.njit(cache=True, inline="always")
def tap_value(src: np.ndarray, s: Layout, base: int, yy: int, xx: int, c: int, fill: np.ndarray) -> float:
    if yy < 0 or xx < 0:
        return fill[c]
    return f32(src[base + yy * s.sh + xx * s.sw + c * s.sc])


@numba.njit(cache=True, inline="always")
def backward_matrix(
    src: np.ndarray,
    s: Layout,
    base: int,
    g: np.ndarray,
    wy: np.ndarray,
    wx: np.ndarray,
    yy: np.ndarray,
    xx: np.ndarray,
    fill: np.ndarray,
    sx: float,
    sy: float,
    wz: float,
    x: int,
    y: int,
    perspective: bool,
    dm: np.ndarray,
) -> None:
    """warp_backward_pixel's matrix gradient (bilinear windows): dL/dm of dst pixel (x, y) added to dm[0:9] (the
    pixel's coordinate gradient in float32, summed in double)."""
    if perspective and wz == f32(0.0):
        return
    fgx = f32(0.0)
    fgy = f32(0.0)
    for c in range(s.c):
        v00 = tap_value(src, s, base, yy[0], xx[0], c, fill)
        v01 = tap_value(src, s, base, yy[0], xx[1], c, fill)
        v10 = tap_value(src, s, base, yy[1], xx[0], c, fill)
        v11 = tap_value(src, s, base, yy[1], xx[1], c, fill)
        fgx += g[c] * (wy[0] * (v01 - v00) + wy[1] * (v11 - v10))
        fgy += g[c] * (wx[0] * (v10 - v00) + wx[1] * (v11 - v01))
    gx = np.float64(fgx)
    gy = np.float64(fgy)
    if clamp_coord(sx) != sx:
        gx = 0.0
    if clamp_coord(sy) != sy:
        gy = 0.0
    r = 1.0 / np.float64(wz) if perspective else 1.0
    ax = gx * r
    ay = gy * r
    fx = np.float64(x)
    fy = np.float64(y)
    dm[0] += ax * fx
    dm[1] += ax * fy
    dm[2] += ax
    dm[3] += ay * fx
    dm[4] += ay * fy
    dm[5] += ay
    if perspective:
        t = -(ax * np.float64(sx) + ay * np.float64(sy))
        dm[6] += t * fx
        dm[7] += t * fy
        dm[8] += t


@numba.njit(cache=True)
def backward_rows(
    grad: np.ndarray,
    gl: Layout,
    src: np.ndarray,
    s: Layout,
    out: np.ndarray,
    obase: int,
    osh: int,
    osw: int,
    osc: int,
    scatter: bool,
    n: int,
    y0: int,
    y1: int,
    m: np.ndarray,
    interp: int,
    border: int,
    perspective: bool,
    fill: np.ndarray,
    matrix: bool,
    dm: np.ndarray,
) -> None:
    """Rows [y0, y1) of sample n's output gradient, in order: the image gradient scattered into out (from its
    pixel (0, 0) at obase, strides osh, osw, osc) when scatter, the matrix gradient summed into dm when matrix.
    A function of its own (not inlined into the parallel loop: compile time)."""
    wy = np.empty(4, np.float32)
    wx = np.empty(4, np.float32)
    yy = np.empty(4, np.int64)
    xx = np.empty(4, np.int64)
    g = np.empty(4, np.float32)
    base = s.off + n * s.sn
    for y in range(y0, y1):
        for x in range(gl.w):
            p = gl.off + n * gl.sn + y * gl.sh + x * gl.sw
            for c in range(gl.c):
                g[c] = grad[p + c * gl.sc]
            k, sx, sy, wz = backward_taps(m, x, y, interp, border, perspective, s.h, s.w, wy, wx, yy, xx)
            if scatter:
                for i in range(k):
                    if yy[i] < 0:
                        continue
                    for j in range(k):
                        if xx[j] < 0:
                            continue
                        wgt = wy[i] * wx[j]
                        q = obase + yy[i] * osh + xx[j] * osw
                        for c in range(gl.c):
                            out[q + c * osc] += wgt * g[c]
            if matrix and k == 2:
                backward_matrix(src, s, base, g, wy, wx, yy, xx, fill, sx, sy, wz, x, y, perspective, dm)


@numba.njit(parallel=True, cache=True)
def warp_backward_tasks(
    grad: np.ndarray,
    gl: Layout,
    src: np.ndarray,
    s: Layout,
    dst: np.ndarray,
    d: Layout,
    scatter: bool,
    priv: np.ndarray,
    partial: np.ndarray,
    minv: np.ndarray,
    interp: int,
    border: int,
    perspective: bool,
    fill: np.ndarray,
    chunks: int,
    matrix: bool,
) -> None:
    """Task t = (sample n, chunk k): chunk k of n's output rows into dst's image n (k = 0, zeroed first) or into
    its private image in priv (k > 0), its matrix gradient into partial[t]. s carries the source's size (H, W)."""
    rows = (gl.h + chunks - 1) // chunks
    values = s.h * s.w * s.c
    for t in numba.prange(gl.n * chunks):
        n = t // chunks
        k = t % chunks
        y0 = k * rows
        y1 = min(gl.h, y0 + rows)
        dm = np.zeros(9)
        first = scatter and k == 0  # chunk 0 scatters into dst itself, the others into their private image
        if first:
            for y in range(d.h):
                for x in range(d.w):
                    for c in range(d.c):
                        dst[d.off + n * d.sn + y * d.sh + x * d.sw + c * d.sc] = f32(0.0)
        pbase = (n * (chunks - 1) + k - 1) * values if scatter and not first else 0
        if scatter and not first:
            priv[pbase : pbase + values] = f32(0.0)
        out = dst if first else priv
        obase, osh, osw, osc = (d.off + n * d.sn, d.sh, d.sw, d.sc) if first else (pbase, s.w * s.c, s.c, 1)
        backward_rows(
            grad, gl, src, s, out, obase, osh, osw, osc, scatter, n, y0, y1, minv[n], interp, border, perspective,
            fill, matrix, dm,
        )  # fmt: skip
        for j in range(9):
            partial[t, j] = dm[j]


@numba.njit(parallel=True, cache=True)
def add_private(dst: np.ndarray, d: Layout, priv: np.ndarray, chunks: int) -> None:
    """The private images of chunks 1.. added to dst in chunk order (row-parallel: one fixed order a value)."""
    values = d.h * d.w * d.c
    for r in numba.prange(d.n * d.h):
        n = r // d.h
        y = r % d.h
        o = d.off + n * d.sn + y * d.sh
        for k in range(1, chunks):
            p = (n * (chunks - 1) + k - 1) * values + y * d.w * d.c
            for x in range(d.w):
                for c in range(d.c):
                    dst[o + x * d.sw + c * d.sc] += priv[p + x * d.c + c]


def backward_chunks(n: int, rows: int, image_values: int) -> int:
    """warp.cpp's backward_chunks: tasks per sample, from the shapes alone (never the thread count)."""
    if n <= 0 or n >= 16 or rows < 64:
        return 1
    budget = (16 << 20) // 4 // max(1, n * image_values)
    return max(1, min((16 + n - 1) // n, rows // 32, 1 + budget))


def backward_plan(
    srcs: list[Any],
    dst: Any,
    M: Any,
    interp: int,
    border: int,
    fill: Sequence[float],
    grad_inv: Any,
    need_img: bool,
    perspective: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """warp.cpp's warp_backward checks (the same order and messages) of srcs = [grad] or [grad, src], dst (the
    image gradient, with need_img) and grad_inv (None, or 9 float64 values per sample), on anything with .shape,
    .dtype and .size (the CUDA fallback passes device batches); returns the (N, 9) float32 inverse maps and the 4
    float32 fill values."""
    op = "warp_perspective_backward" if perspective else "warp_affine_backward"
    if not isinstance(srcs, list) or len(srcs) not in (1, 2):
        fail("img: expected a list [grad] or [grad, img] of capsules")
    grad = srcs[0]
    src = srcs[1] if len(srcs) == 2 else None
    n = grad.shape[0]
    if grad_inv is not None and (grad_inv.dtype != np.float64 or not grad_inv.flags.c_contiguous):
        fail("grad_inv: expected a C-contiguous float64 NumPy array")
    if grad_inv is not None and (grad_inv.size != n * 9 or not grad_inv.flags.writeable):
        fail("grad_inv: expected a writable array of ", n * 9, " float64 values, got ", grad_inv.size)
    name = "H" if perspective else "M"
    M = params(M, n * (9 if perspective else 6), name, np.float64)
    check_image(grad, "grad")
    check_dtype(grad, "grad", np.float32)
    if not need_img and grad_inv is None:
        fail(op, ": nothing to compute: neither grad_src nor grad_inv was given")
    if src is None and grad_inv is not None:
        fail("src: the forward's input is needed for the matrix gradient (grad_inv), got null")
    for v, what in ((src, "src"), (dst if need_img else None, "grad_src")):
        if v is None:
            continue
        check_image(v, what)
        check_dtype(v, what, np.float32)
        if v.shape[0] != n or v.shape[3] != grad.shape[3]:
            fail(what, ": expected ", n, " images of ", grad.shape[3], " channels like grad, got shape ", shape_str(v))
    if src is not None and need_img:
        check_shape(dst, "grad_src", *src.shape)
    check_border(border)
    if interp not in (0, 1):
        fail("interp: expected nearest or linear (the backward of a warp has no cubic), got code ", interp)
    minv = inverse_maps(M, n, perspective, name)
    ref = src if src is not None else dst
    if n and (ref.shape[1] <= 0 or ref.shape[2] <= 0):
        fail("src" if src is not None else "grad_src", ": cannot be an empty image, got shape ", shape_str(ref))
    return minv, fill_f32(fill)


def _warp_backward(
    srcs: list[np.ndarray],
    dst: np.ndarray,
    M: np.ndarray,
    interp: int,
    border: int,
    fill: Sequence[float],
    grad_inv: np.ndarray | None,
    need_img: bool,
    *,
    perspective: bool,
) -> None:
    srcs = [as_batch(a, "grad" if i == 0 else "img") for i, a in enumerate(srcs)] if isinstance(srcs, list) else srcs
    dst = as_batch(dst, "out")
    minv, fillf = backward_plan(srcs, dst, M, interp, border, fill, grad_inv, need_img, perspective)
    grad = srcs[0]
    if grad.shape[0] == 0:
        return
    gbuf, gl = as_view(grad, "grad")
    if len(srcs) == 2:
        sbuf, s = as_view(srcs[1], "img")
    else:  # only the image gradient: the source's size comes from it, its values are never read
        sbuf, _ = as_view(np.zeros((1, 1, 1, 1), np.float32), "img")
        s = Layout(0, *dst.shape, 0, 0, 0, 0)
    dbuf, d = as_view(dst, "out", writable=True)
    chunks = backward_chunks(grad.shape[0], grad.shape[1], s.h * s.w * s.c)
    priv = np.empty((grad.shape[0] * (chunks - 1) * s.h * s.w * s.c) if need_img else 0, np.float32)
    partial = np.empty((grad.shape[0] * chunks, 9))
    args = (minv, int(interp), int(border), perspective, fillf, chunks, grad_inv is not None)
    launch(warp_backward_tasks, gbuf, gl, sbuf, s, dbuf, d, need_img, priv, partial, *args)
    if need_img and chunks > 1:
        launch(add_private, dbuf, d, priv, chunks)
    if grad_inv is not None:
        flat = grad_inv.reshape(-1, 9)
        for k in range(grad.shape[0]):  # each sample's chunks in chunk order
            total = np.zeros(9)
            for j in range(chunks):
                total += partial[k * chunks + j]
            flat[k] = total


def warp_affine_backward(*args: Any) -> None:
    """warp_affine's backward (fastaug.functional.warp.warp_backward), arguments (srcs, dst, M, interp, border,
    fill, grad_inv, need_img): srcs = [grad] or [grad, the forward's input]; dst the image gradient (written with
    need_img); grad_inv None or 9 float64 values per sample (M as the forward's)."""
    _warp_backward(*args, perspective=False)


def warp_perspective_backward(*args: Any) -> None:
    """warp_perspective's backward; arguments as warp_affine_backward's (H for M)."""
    _warp_backward(*args, perspective=True)
