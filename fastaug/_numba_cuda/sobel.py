"""sobel (through the CUDA separable filter) and edges on CUDA: the twin of fastaug._numba.sobel (checks and
derivative kernels by its sobel_kernels / check_edges; edge_pixel runs as a device function)."""

from __future__ import annotations

from typing import Any

from .._numba._view import index as _index
from .._numba.sobel import check_edges, sobel_kernels
from .._numba.sobel import edge_pixel as _edge_pixel
from ._device import device, kernel, launch_pixels, pair, thread_pixel
from .filter import run_sep_filter

edge_pixel = device(_edge_pixel)
index = device(_index)


def sobel(
    src: Any, dst: Any, dx: int, dy: int, ksize: int, scale: float, delta: float, border: int, *, stream: Any = 0
) -> None:
    """cv2.Sobel(ddepth=CV_32F) on device arrays: ksize 1, 3, 5, 7 or -1 (Scharr); dst is float32."""
    s, d = pair(src, dst)
    kx, ky = sobel_kernels(s, d, dx, dy, ksize, scale, delta, border)
    run_sep_filter(s, d, kx, ky, border, None, delta, stream)


@kernel
def edges_kernel(src, s, dst, d):  # type: ignore[no-untyped-def]
    n, y, x = thread_pixel(d)
    if n < 0:
        return
    dst[index(d, n, y, x, 0)] = edge_pixel(src, s, n, y, x)


def edges(src: Any, dst: Any, *, stream: Any = 0) -> None:
    """Edge magnitude of a one-channel uint8 image on device arrays, uint8 out."""
    s, d = pair(src, dst)
    if check_edges(s, d):
        launch_pixels(edges_kernel, d.size, stream, s.buf, s.layout, d.buf, d.layout)
