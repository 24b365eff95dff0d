"""flip, rotate90, crop and tiles: the Numba twin of csrc/ops/copy.cpp and copy_pixel.hpp. Each op builds
one integer index map per output image, then one shared copy loop runs:
    dst(n, y, x) = src(src_n, y0 + yy*y + yx*x, x0 + xy*y + xx*x)."""

from __future__ import annotations

import numba
import numpy as np

from ._check import check_pair, check_shape, fail, params
from ._parallel import launch
from ._view import Layout, as_batch, as_view, dense_row, index, rows_dense

# Columns of an index map row (copy_pixel.hpp's IndexMap).
SRC_N, Y0, X0, YY, YX, XY, XX = range(7)


@numba.njit(cache=True)
def row_start(s: Layout, m: np.ndarray, y: int) -> int:
    """Buffer index of the source pixel of output pixel (y, 0) under the index map m."""
    return s.off + m[SRC_N] * s.sn + (m[Y0] + m[YY] * y) * s.sh + (m[X0] + m[XY] * y) * s.sw


@numba.njit(cache=True)
def pixel_step(s: Layout, m: np.ndarray) -> int:
    """Buffer step between the source pixels of output pixels (y, x) and (y, x + 1)."""
    return m[YX] * s.sh + m[XX] * s.sw


@numba.njit(cache=True, inline="always")
def reverse_pixels(inp: np.ndarray, out: np.ndarray, w: int, C: int) -> None:
    """A dense row's w pixels in reverse order (flip's horizontal mirror). C is a constant at each call
    (copy_rows branches on it) and the output index unsigned (see _view.dense_row), so that the loop
    vectorises into reversing shuffles. The source is walked forwards (read backwards, the hardware
    prefetchers did not follow: half a copy's speed on AMD Zen), the output backwards."""
    for i in range(w):
        q = np.uint64((w - 1 - i) * C)
        for c in range(C):
            out[q + np.uint64(c)] = inp[i * C + c]


@numba.njit(parallel=True, cache=True)
def copy_rows(src: np.ndarray, s: Layout, dst: np.ndarray, d: Layout, maps: np.ndarray) -> None:
    dense = rows_dense(s) and rows_dense(d)
    length = d.w * d.c
    for r in numba.prange(d.n * d.h):
        n = r // d.h
        y = r % d.h
        m = maps[n]
        # Walk the source from the map's point for (y, 0) by a fixed step per output pixel.
        p = row_start(s, m, y)
        step = pixel_step(s, m)
        if dense and step == d.c:  # consecutive source pixels: one copy of the row
            dense_row(dst, d, n, y)[:] = src[p : p + length]
            continue
        if dense and step == -d.c:  # the same pixels, mirrored
            inp = src[p - length + d.c : p + d.c]
            out = dense_row(dst, d, n, y)
            if d.c == 1:
                reverse_pixels(inp, out, d.w, 1)
            elif d.c == 3:
                reverse_pixels(inp, out, d.w, 3)
            else:
                reverse_pixels(inp, out, d.w, 4)
            continue
        for x in range(d.w):
            for c in range(d.c):
                dst[index(d, n, y, x, c)] = src[p + c * s.sc]
            p += step


def check_maps(src: np.ndarray, dst: np.ndarray, maps: np.ndarray, arg: str) -> bool:
    """Validates that every map's corners stay inside src (maps are affine, so the whole box does);
    False when there is nothing to copy. All corners at once: a loop over them costs more than the copy
    of a small batch."""
    sn, sh, sw, _ = src.shape
    dn, dh, dw, _ = dst.shape
    if dn > 0 and dh > 0 and dw > 0:
        m = maps[:dn, :, None]
        ys, xs = np.array([0, 0, dh - 1, dh - 1]), np.array([0, dw - 1, 0, dw - 1])  # the C++ order
        sy = m[:, Y0] + m[:, YY] * ys + m[:, YX] * xs
        sx = m[:, X0] + m[:, XY] * ys + m[:, XX] * xs
        inside = (0 <= m[:, SRC_N]) & (m[:, SRC_N] < sn) & (0 <= sy) & (sy < sh) & (0 <= sx) & (sx < sw)
        if not inside.all():
            n, k = np.argwhere(~inside)[0]
            fail(
                arg,
                ": sample ",
                int(n),
                " reaches pixel (",
                int(sy[n, k]),
                ", ",
                int(sx[n, k]),
                ") outside the ",
                sh,
                "x",
                sw,
                " image",
            )
    return dst.size != 0


def copy(src: np.ndarray, dst: np.ndarray, maps: np.ndarray, arg: str) -> None:
    sbuf, s = as_view(src, "img")
    dbuf, d = as_view(dst, "out", writable=True)
    if check_maps(src, dst, maps, arg):
        launch(copy_rows, sbuf, s, dbuf, d, maps)


def check_same_kind(src: np.ndarray, dst: np.ndarray) -> None:
    check_pair(src, dst)
    if dst.shape[3] != src.shape[3] or dst.dtype != src.dtype:
        fail("dst: expected ", src.shape[3], " channels of ", src.dtype, ", got ", dst.shape[3], " of ", dst.dtype)


def _batches(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    src, dst = as_batch(src, "img"), as_batch(dst, "out")
    as_view(dst, "out", writable=True)  # the capsule's checks come first, as in module.cpp
    return src, dst


def flip_maps(src: np.ndarray, dst: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The checks and index maps of flip on (N, H, W, C) arrays (device arrays too)."""
    N, H, W, C = src.shape
    codes = params(codes, N, "axis", np.int32)
    check_same_kind(src, dst)
    check_shape(dst, "dst", N, H, W, C)
    maps = np.empty((N, 7), np.int64)
    for n in range(N):
        code = int(codes[n])
        if code not in (0, 1, -1):
            fail("axis: expected 0 (vertical), 1 (horizontal) or -1 (both) as cv2.flip, got ", code, " for sample ", n)
        rows, cols = code in (0, -1), code in (1, -1)
        maps[n] = (n, H - 1 if rows else 0, W - 1 if cols else 0, -1 if rows else 1, 0, 0, -1 if cols else 1)
    return maps


def flip(src: np.ndarray, dst: np.ndarray, codes: np.ndarray) -> None:
    """cv2.flip per sample: 0 reverses the rows, 1 the columns, -1 both."""
    src, dst = _batches(src, dst)
    copy(src, dst, flip_maps(src, dst, codes), "axis")


def rotate90_maps(src: np.ndarray, dst: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The checks and index maps of rotate90 on (N, H, W, C) arrays (device arrays too)."""
    N, H, W, _ = src.shape
    k = params(k, N, "k", np.int32)
    check_same_kind(src, dst)
    dh, dw = dst.shape[1], dst.shape[2]
    maps = np.empty((N, 7), np.int64)
    for n in range(N):
        q = int(k[n]) % 4  # Python's % is already the C++ ((k % 4) + 4) % 4
        odd = q % 2 == 1
        if dh != (W if odd else H) or dw != (H if odd else W):
            fail(
                "k: sample ",
                n,
                " turns by ",
                int(k[n]),
                " quarter(s), which gives ",
                W if odd else H,
                "x",
                H if odd else W,
                ", but the output is ",
                dh,
                "x",
                dw,
            )
        maps[n] = [
            (n, 0, 0, 1, 0, 0, 1),
            (n, 0, W - 1, 0, 1, -1, 0),
            (n, H - 1, W - 1, -1, 0, 0, -1),
            (n, H - 1, 0, 0, -1, 1, 0),
        ][q]
    if dst.shape[0] != N:
        fail("dst: expected ", N, " images, got ", dst.shape[0])
    return maps


def rotate90(src: np.ndarray, dst: np.ndarray, k: np.ndarray) -> None:
    """np.rot90: k quarter turns counter-clockwise per sample; every k must give dst's shape."""
    src, dst = _batches(src, dst)
    copy(src, dst, rotate90_maps(src, dst, k), "k")


def crop_maps(src: np.ndarray, dst: np.ndarray, top_left: np.ndarray) -> np.ndarray:
    """The checks and index maps of crop on (N, H, W, C) arrays (device arrays too)."""
    N = src.shape[0]
    top_left = params(top_left, N * 2, "boxes", np.int64)
    check_same_kind(src, dst)
    if dst.shape[0] != N:
        fail("dst: expected ", N, " images, got ", dst.shape[0])
    maps = np.zeros((N, 7), np.int64)
    maps[:, SRC_N] = np.arange(N)
    maps[:, Y0], maps[:, X0] = top_left[0::2], top_left[1::2]
    maps[:, YY] = maps[:, XX] = 1
    return maps


def crop(src: np.ndarray, dst: np.ndarray, top_left: np.ndarray) -> None:
    """Crops of dst's H x W at (top, left) per sample (2 int64 each); boxes must lie inside src."""
    src, dst = _batches(src, dst)
    copy(src, dst, crop_maps(src, dst, top_left), "boxes")


def tiles_maps(src: np.ndarray, dst: np.ndarray, stride_y: int, stride_x: int) -> np.ndarray:
    """The checks and index maps of tiles on (N, H, W, C) arrays (device arrays too)."""
    N, H, W, _ = src.shape
    check_same_kind(src, dst)
    if stride_y <= 0 or stride_x <= 0:
        fail("stride: expected positive values, got (", stride_y, ", ", stride_x, ")")
    th, tw = dst.shape[1], dst.shape[2]
    if not (0 < th <= H and 0 < tw <= W):
        fail("tile: expected a size between 1x1 and the image's ", H, "x", W, ", got ", th, "x", tw)
    ty, tx = (H - th) // stride_y + 1, (W - tw) // stride_x + 1
    if dst.shape[0] != N * ty * tx:
        fail("dst: expected ", N * ty * tx, " tiles, got ", dst.shape[0])
    t = np.arange(dst.shape[0], dtype=np.int64)
    r = t % (ty * tx)
    maps = np.zeros((dst.shape[0], 7), np.int64)
    maps[:, SRC_N] = t // (ty * tx)
    maps[:, Y0], maps[:, X0] = (r // tx) * stride_y, (r % tx) * stride_x
    maps[:, YY] = maps[:, XX] = 1
    return maps


def tiles(src: np.ndarray, dst: np.ndarray, stride_y: int, stride_x: int) -> None:
    """Each image cut into dst-sized tiles at the given stride (row-major, image-major)."""
    src, dst = _batches(src, dst)
    copy(src, dst, tiles_maps(src, dst, stride_y, stride_x), "tile")
