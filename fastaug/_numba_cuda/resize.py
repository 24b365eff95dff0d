"""resize on CUDA: the twin of fastaug._numba.resize (tables built on the host by its resize_plan;
resize_pixel and saturate run as device functions)."""

from __future__ import annotations

from typing import Any

from numba import cuda, float32

from .._numba.resize import resize_pixel as _resize_pixel, resize_plan
from .._numba._common import saturate as _saturate
from .._numba._view import index as _index
from ._device import thread_pixel, device, kernel, launch_pixels, pair, upload

resize_pixel = device(_resize_pixel)
saturate = device(_saturate)
index = device(_index)


@kernel
def resize_kernel(src, s, dst, d, iy, wy, ix, wx):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    acc = cuda.local.array(4, float32)
    resize_pixel(src, s, s.off + n * s.sn, iy[y], wy[y], ix[x], wx[x], acc)
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


def resize(src: Any, dst: Any, interp: int, *, stream: Any = 0) -> None:
    """cv2.resize to dst's H x W on device arrays: nearest, linear, cubic or area."""
    s, d = pair(src, dst)
    tables = resize_plan(s, d, interp)
    if tables is None:
        return
    launch_pixels(resize_kernel, d.size // d.shape[3], stream, s.buf, s.layout, d.buf, d.layout,
                  *upload(stream, *tables))
