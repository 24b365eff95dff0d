"""warp_affine and warp_perspective on CUDA: the twin of fastaug._numba.warp (checks and inverse maps on
the host by its warp_plan; warp_pixel and saturate are its own helpers, run as device functions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from numba import cuda, float32

from .._numba._common import saturate as _saturate
from .._numba._view import index as _index
from .._numba.warp import warp_pixel as _warp_pixel
from .._numba.warp import warp_plan
from ._device import device, kernel, launch_pixels, pair, thread_pixel, upload

warp_pixel = device(_warp_pixel)
saturate = device(_saturate)
index = device(_index)


@kernel
def warp_kernel(src, s, dst, d, minv, interp, border, perspective, fill):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    wy = cuda.local.array(4, float32)
    wx = cuda.local.array(4, float32)
    acc = cuda.local.array(4, float32)
    warp_pixel(src, s, s.off + n * s.sn, minv[n], x, y, interp, border, perspective, fill, wy, wx, acc)
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


def _warp(
    src: Any, dst: Any, M: Any, interp: int, border: int, fill: Sequence[float], perspective: bool, stream: Any
) -> None:
    s, d = pair(src, dst)
    plan = warp_plan(s, d, M, interp, border, fill, perspective)
    if plan is None:
        return
    minv, fillf = upload(stream, *plan)
    launch_pixels(
        warp_kernel,
        d.size // d.shape[3],
        stream,
        s.buf,
        s.layout,
        d.buf,
        d.layout,
        minv,
        int(interp),
        int(border),
        perspective,
        fillf,
    )


def warp_affine(
    src: Any, dst: Any, M: Any, interp: int, border: int, fill: Sequence[float], *, stream: Any = 0
) -> None:
    """cv2.warpAffine on device arrays: M is 6 doubles per sample (forward, src -> dst)."""
    _warp(src, dst, M, interp, border, fill, False, stream)


def warp_perspective(
    src: Any, dst: Any, H: Any, interp: int, border: int, fill: Sequence[float], *, stream: Any = 0
) -> None:
    """cv2.warpPerspective on device arrays: H is 9 doubles per sample (forward, src -> dst)."""
    _warp(src, dst, H, interp, border, fill, True, stream)
