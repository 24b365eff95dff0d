"""resize on CUDA: the twin of fastaug._numba.resize (method and tables built on the host by its
resize_plan; its per-pixel formulas run as device functions)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda, float32

from .._numba.resize import AREA_FAST, FIXED_LINEAR
from .._numba.resize import area_fast_value as _area_fast_value
from .._numba.resize import resize_fixed_value as _resize_fixed_value
from .._numba.resize import resize_plan
from .._numba.resize import resize_separable_pixel as _resize_separable_pixel
from .._numba._common import saturate as _saturate
from .._numba._view import index as _index
from ._device import device, kernel, launch_pixels, pair, thread_pixel, upload

resize_separable_pixel = device(_resize_separable_pixel)
resize_fixed_value = device(_resize_fixed_value)
area_fast_value = device(_area_fast_value)
saturate = device(_saturate)
index = device(_index)


@kernel
def resize_kernel(src, s, dst, d, kind, u8, fy, fx, iy, wy, qy, ix, wx, qx):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    base = s.off + n * s.sn
    if kind == AREA_FAST:
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = saturate(area_fast_value(src, s, base, fy, fx, y, x, c, u8), dst)
    elif kind == FIXED_LINEAR:
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = resize_fixed_value(src, s, base, iy[y], qy[y], ix[x], qx[x], c)
    else:
        acc = cuda.local.array(4, float32)
        part = cuda.local.array(4, float32)
        resize_separable_pixel(src, s, base, iy[y], wy[y], ix[x], wx[x], acc, part)
        for c in range(d.c):
            dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


def resize(src: Any, dst: Any, interp: int, *, stream: Any = 0) -> None:
    """cv2.resize to dst's H x W on device arrays: nearest, linear, cubic or area."""
    s, d = pair(src, dst)
    plan = resize_plan(s, d, interp)
    if plan is None:
        return
    m, tables = plan
    launch_pixels(resize_kernel, d.size // d.shape[3], stream, s.buf, s.layout, d.buf, d.layout, m.kind,
                  s.dtype == np.uint8, m.fy, m.fx, *upload(stream, *tables))
