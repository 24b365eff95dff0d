"""warp_affine and warp_perspective on CUDA: the twin of fastaug._numba.warp (checks and inverse maps on
the host by its warp_plan; warp_pixel and saturate are its own helpers, run as device functions). A ragged
batch (a list of device arrays of different sizes) is one launch over one flat buffer spanning the images
with a Layout per image (_device.as_ragged), as the CPU fallback does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from numba import cuda, float32

from .._numba._check import check_list
from .._numba._common import saturate as _saturate
from .._numba._view import index as _index
from .._numba._view import sample_layout as _sample_layout
from .._numba.warp import warp_pixel as _warp_pixel
from .._numba.warp import warp_plan
from ._device import as_batch, as_ragged, device, kernel, launch_pixels, pair, thread_pixel, upload

warp_pixel = device(_warp_pixel)
saturate = device(_saturate)
index = device(_index)
sample_layout = device(_sample_layout)


@kernel
def warp_kernel(src, s, dst, d, minv, interp, border, perspective, fill):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels; s is the source's Layout, or the (N, 9) Layouts
    of a ragged batch."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    wy = cuda.local.array(4, float32)
    wx = cuda.local.array(4, float32)
    acc = cuda.local.array(4, float32)
    sv, base = sample_layout(s, n)
    warp_pixel(src, sv, base, minv[n], x, y, interp, border, perspective, fill, wy, wx, acc)
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = saturate(acc[c], dst)


def _warp(
    src: Any, dst: Any, M: Any, interp: int, border: int, fill: Sequence[float], perspective: bool, stream: Any
) -> None:
    if isinstance(src, (list, tuple)):  # a ragged batch
        images = check_list([as_batch(x, f"img[{i}]") for i, x in enumerate(src)], "img", "cuda")
        d = as_batch(dst, "out", writable=True)
        plan = warp_plan(images, d, M, interp, border, fill, perspective)
        if plan is None:
            return
        buf, rows = as_ragged(images)
        (layouts,) = upload(stream, rows)
    else:
        s, d = pair(src, dst)
        plan = warp_plan(s, d, M, interp, border, fill, perspective)
        if plan is None:
            return
        buf, layouts = s.buf, s.layout
    minv, fillf = upload(stream, *plan)
    launch_pixels(
        warp_kernel,
        d.size // d.shape[3],
        stream,
        buf,
        layouts,
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
    """cv2.warpAffine on device arrays: M is 6 doubles per sample (forward, src -> dst). src: a batch, or a
    list of images of different sizes warped into the dense dst."""
    _warp(src, dst, M, interp, border, fill, False, stream)


def warp_perspective(
    src: Any, dst: Any, H: Any, interp: int, border: int, fill: Sequence[float], *, stream: Any = 0
) -> None:
    """cv2.warpPerspective on device arrays: H is 9 doubles per sample (forward, src -> dst). src: a batch,
    or a list of images of different sizes."""
    _warp(src, dst, H, interp, border, fill, True, stream)
