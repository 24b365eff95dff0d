"""resize on CUDA: the twin of fastaug._numba.resize (method and tables built on the host by its
resize_plan; its per-pixel formulas run as device functions)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda, float32

from .._numba._check import check_list, fail
from .._numba.resize import ragged_resize_plan, resize_plan
from .._numba.resize import resize_output_pixel as _resize_output_pixel
from ._device import as_batch, device, kernel, launch_pixels, pair, thread_pixel, upload

resize_output_pixel = device(_resize_output_pixel)


@kernel
def resize_kernel(src, s, dst, d, kind, u8, fy, fx, iy, wy, qy, ix, wx, qx):  # type: ignore[no-untyped-def]
    """One thread per output pixel (n, y, x), all channels."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    acc = cuda.local.array(4, float32)
    part = cuda.local.array(4, float32)
    resize_output_pixel(src, s, dst, d, n, y, x, kind, u8, fy, fx, iy, wy, qy, ix, wx, qx, acc, part)


def resize(src: Any, dst: Any, interp: int, *, stream: Any = 0) -> None:
    """cv2.resize to dst's H x W on device arrays: nearest, linear, cubic or area. src and dst may be lists of
    images (ragged batches, one output per image): every image is checked, then each resized in turn (one
    launch each)."""
    if isinstance(src, (list, tuple)):
        images = check_list([as_batch(x, f"img[{i}]") for i, x in enumerate(src)], "img", "cuda")
        if not isinstance(dst, (list, tuple)):
            fail("out: expected a list of output images for a list of images")
        outs = check_list([as_batch(x, f"out[{i}]", writable=True) for i, x in enumerate(dst)], "out", "cuda")
        ragged_resize_plan(images, outs, interp)
        for a, b in zip(src, dst, strict=True):
            resize(a, b, interp, stream=stream)
        return
    s, d = pair(src, dst)
    plan = resize_plan(s, d, interp)
    if plan is None:
        return
    m, tables = plan
    launch_pixels(
        resize_kernel,
        d.size // d.shape[3],
        stream,
        s.buf,
        s.layout,
        d.buf,
        d.layout,
        m.kind,
        s.dtype == np.uint8,
        m.fy,
        m.fx,
        *upload(stream, *tables),
    )
