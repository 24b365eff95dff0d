"""flip, rotate90, crop and tiles on CUDA: the twin of fastaug._numba.copy (index maps built and checked on
the host by its *_maps / check_maps; the source walk by its row_start / pixel_step)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._numba._view import index as _index
from .._numba.copy import check_maps, crop_maps, flip_maps, rotate90_maps, tiles_maps
from .._numba.copy import pixel_step as _pixel_step
from .._numba.copy import row_start as _row_start
from ._device import DeviceBatch, device, kernel, launch_pixels, pair, thread_pixel, upload

row_start = device(_row_start)
pixel_step = device(_pixel_step)
index = device(_index)


@kernel
def copy_kernel(src, s, dst, d, maps):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    m = maps[n]
    p = row_start(s, m, y) + x * pixel_step(s, m)
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = src[p + c * s.sc]


def _copy(s: DeviceBatch, d: DeviceBatch, maps: np.ndarray, arg: str, stream: Any) -> None:
    if check_maps(s, d, maps, arg):
        (dmaps,) = upload(stream, maps)
        launch_pixels(copy_kernel, d.size // d.shape[3], stream, s.buf, s.layout, d.buf, d.layout, dmaps)


def flip(src: Any, dst: Any, codes: Any, *, stream: Any = 0) -> None:
    """cv2.flip per sample on device arrays: 0 reverses the rows, 1 the columns, -1 both."""
    s, d = pair(src, dst)
    _copy(s, d, flip_maps(s, d, codes), "axis", stream)


def rotate90(src: Any, dst: Any, k: Any, *, stream: Any = 0) -> None:
    """np.rot90 on device arrays: k quarter turns counter-clockwise per sample."""
    s, d = pair(src, dst)
    _copy(s, d, rotate90_maps(s, d, k), "k", stream)


def crop(src: Any, dst: Any, top_left: Any, *, stream: Any = 0) -> None:
    """Crops of dst's H x W at (top, left) per sample on device arrays."""
    s, d = pair(src, dst)
    _copy(s, d, crop_maps(s, d, top_left), "boxes", stream)


def tiles(src: Any, dst: Any, stride_y: int, stride_x: int, *, stream: Any = 0) -> None:
    """Each image cut into dst-sized tiles at the given stride (row-major, image-major), device arrays."""
    s, d = pair(src, dst)
    _copy(s, d, tiles_maps(s, d, stride_y, stride_x), "tile", stream)
