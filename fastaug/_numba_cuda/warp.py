"""warp_affine and warp_perspective on CUDA: the twin of fastaug._numba.warp (checks and inverse maps on
the host by its warp_plan; warp_pixel and saturate are its own helpers, run as device functions). A ragged
batch (a list of device arrays of different sizes) is one launch over one flat buffer spanning the images
with a Layout per image (_device.as_ragged), as the CPU fallback does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import cuda, float32, float64, int64

from .._numba._check import check_list
from .._numba._common import saturate as _saturate
from .._numba._view import Layout
from .._numba._view import index as _index
from .._numba._view import sample_layout as _sample_layout
from .._numba.warp import backward_matrix as _backward_matrix
from .._numba.warp import backward_plan, warp_plan
from .._numba.warp import backward_taps as _backward_taps
from .._numba.warp import warp_pixel as _warp_pixel
from ._device import (
    THREADS,
    as_batch,
    as_ragged,
    blocks,
    device,
    kernel,
    launch,
    launch_pixels,
    pair,
    thread_pixel,
    upload,
)

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


# ---- backward -----------------------------------------------------------------------------------------

backward_taps = device(_backward_taps)
backward_matrix = device(_backward_matrix)


@kernel
def zero_kernel(dst, d):  # type: ignore[no-untyped-def]
    """Zeroes every value of Layout d (any strides): the image gradient before its scatter."""
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    for c in range(d.c):
        dst[index(d, n, y, x, c)] = float32(0.0)


@kernel
def warp_backward_kernel(grad, gl, src, s, dst, d, scatter, first, minv, interp, border, perspective, fill, matrix, dm):  # type: ignore[no-untyped-def]
    """One thread per output pixel, sample first + blockIdx.y (a block's threads share it): the image gradient
    scattered with atomic adds, the matrix gradient of the block's pixels summed in shared memory (a tree) and
    added to dm[n] with atomic adds."""
    t = cuda.threadIdx.x
    n = first + cuda.blockIdx.y
    i = cuda.blockIdx.x * cuda.blockDim.x + t
    part = cuda.shared.array((THREADS, 9), float64)
    acc = cuda.local.array(9, float64)
    for j in range(9):
        acc[j] = 0.0
    if i < gl.h * gl.w:
        y = i // gl.w
        x = i % gl.w
        wy = cuda.local.array(4, float32)
        wx = cuda.local.array(4, float32)
        yy = cuda.local.array(4, int64)
        xx = cuda.local.array(4, int64)
        g = cuda.local.array(4, float32)
        for c in range(gl.c):
            g[c] = grad[index(gl, n, y, x, c)]
        k, sx, sy, wz = backward_taps(minv[n], x, y, interp, border, perspective, s.h, s.w, wy, wx, yy, xx)
        if scatter:
            for a in range(k):
                for b in range(k):
                    if yy[a] >= 0 and xx[b] >= 0:
                        wgt = wy[a] * wx[b]
                        for c in range(gl.c):
                            cuda.atomic.add(dst, index(d, n, yy[a], xx[b], c), wgt * g[c])
        if matrix and k == 2:
            base = s.off + n * s.sn
            backward_matrix(src, s, base, g, wy, wx, yy, xx, fill, sx, sy, wz, x, y, perspective, acc)
    for j in range(9):
        part[t, j] = acc[j]
    cuda.syncthreads()
    stride = THREADS // 2
    while stride > 0:
        if t < stride:
            for j in range(9):
                part[t, j] += part[t + stride, j]
        cuda.syncthreads()
        stride //= 2
    if matrix and t < 9:
        cuda.atomic.add(dm, (n, t), part[0, t])


def _warp_backward(
    srcs: list[Any],
    dst: Any,
    M: Any,
    interp: int,
    border: int,
    fill: Sequence[float],
    grad_inv: np.ndarray | None,
    need_img: bool,
    *,
    perspective: bool,
    stream: Any,
) -> None:
    batches = [as_batch(a, "grad" if i == 0 else "img") for i, a in enumerate(srcs)] if isinstance(srcs, list) else srcs
    d = as_batch(dst, "out", writable=True)
    minv, fillf = backward_plan(batches, d, M, interp, border, fill, grad_inv, need_img, perspective)
    grad = batches[0]
    n = grad.shape[0]
    if n == 0:
        return
    if len(batches) == 2:
        sbuf, s = batches[1].buf, batches[1].layout
    else:  # only the image gradient: the source's size comes from it, its values are never read
        sbuf, s = cuda.device_array(1, np.float32), Layout(0, *d.shape, 0, 0, 0, 0)
    dmat, mdev, fdev = upload(stream, np.zeros((n, 9)), minv, fillf)
    if need_img:
        launch_pixels(zero_kernel, d.size // d.shape[3], stream, d.buf, d.layout)
    pixels = grad.shape[1] * grad.shape[2]
    for first in range(0, n if pixels else 0, 65535):  # the grid's y extent: 65535 samples a launch
        launch(
            warp_backward_kernel,
            (blocks(pixels), min(65535, n - first)),
            THREADS,
            stream,
            grad.buf,
            grad.layout,
            sbuf,
            s,
            d.buf,
            d.layout,
            need_img,
            first,
            mdev,
            int(interp),
            int(border),
            perspective,
            fdev,
            grad_inv is not None,
            dmat,
        )
    if grad_inv is not None:
        host = dmat.copy_to_host(stream=stream)
        if stream:
            stream.synchronize()  # the copy on a stream may still be under way
        grad_inv.reshape(-1, 9)[...] = host


def warp_affine_backward(*args: Any, stream: Any = 0) -> None:
    """warp_affine's backward on device arrays, arguments as fastaug._numba.warp.warp_affine_backward's; grad_inv,
    a host array, is copied back (the call then waits for the stream)."""
    _warp_backward(*args, perspective=False, stream=stream)


def warp_perspective_backward(*args: Any, stream: Any = 0) -> None:
    """warp_perspective's backward on device arrays; arguments as warp_affine_backward's."""
    _warp_backward(*args, perspective=True, stream=stream)
