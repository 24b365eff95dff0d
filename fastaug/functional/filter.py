"""filter2d, sep_filter2d, gaussian_blur, box_blur, median_blur (cv2 semantics; correlation, anchor at
the kernel centre)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend
from .._errors import ArgumentError, ArgumentTypeError
from .._interop import Image, output
from .._params import fill4, pair, per_sample
from .._types import Border, parse_enum


def _kernel(kernel: Any, n: int, name: str, ndim: int) -> np.ndarray:
    k = np.asarray(kernel)
    if k.dtype == object or not np.issubdtype(k.dtype, np.number):
        raise ArgumentTypeError(f"{name}: expected a numeric array, got dtype {k.dtype}")
    if k.ndim not in (ndim, ndim + 1) or k.size == 0:
        raise ArgumentError(f"{name}: expected a non-empty {ndim}-D kernel or one per sample, got shape {k.shape}")
    shape = k.shape[-ndim:]
    if max(shape) > 255:
        raise ArgumentError(f"{name}: kernels are limited to 255 taps a side, got shape {k.shape}")
    return per_sample(k, n, name, shape, dtype=np.float32)


def filter2d(
    img: Any, kernel: Any, border: str = "reflect101", fill: Any = 0, *, out: Any = None, stream: Any = None
) -> Any:
    """Correlates each image with a kernel, like ``cv2.filter2D(img, -1, kernel, borderType=...)``.

    kernel is (kh, kw) or one per sample (N, kh, kw), anchored at (kh // 2, kw // 2). Accumulates in
    float32 and rounds to the input dtype."""
    src = Image(img)
    k = _kernel(kernel, src.n, "kernel", 2)
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run(
        "filter2d",
        src,
        dst,
        k,
        k.shape[1],
        k.shape[2],
        parse_enum(border, Border, "border"),
        fill4(fill, src.c),
        stream=stream,
    )
    return dst.result


def sep_filter2d(
    img: Any,
    kx: Any,
    ky: Any,
    border: str = "reflect101",
    fill: Any = 0,
    delta: float = 0.0,
    dtype: str | None = None,
    *,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """Separable correlation, like ``cv2.sepFilter2D(img, ddepth, kx, ky, delta=delta, borderType=...)``:
    rows with kx, then columns with ky (1-D, or one per sample). dtype: None (the input's) or 'float32'."""
    src = Image(img)
    x = _kernel(kx, src.n, "kx", 1)
    y = _kernel(ky, src.n, "ky", 1)
    out_dtype = dtype or src.dtype
    if out_dtype not in (src.dtype, "float32"):
        raise ArgumentError(f"dtype: expected None, {src.dtype!r} or 'float32', got {dtype!r}")
    dst = output(src, (src.n, src.h, src.w, src.c), out_dtype, out)
    _backend.run(
        "sep_filter2d",
        src,
        dst,
        x,
        x.shape[1],
        y,
        y.shape[1],
        parse_enum(border, Border, "border"),
        fill4(fill, src.c),
        float(delta),
        stream=stream,
    )
    return dst.result


def _ksize(ksize: Any, odd: bool) -> tuple[int, int]:
    kh, kw = pair(ksize, "ksize", "kernel")
    for k in (kh, kw):
        if k <= 0 or (odd and k % 2 == 0) or k > 255:
            raise ArgumentError(f"ksize: expected {'odd ' if odd else ''}sizes between 1 and 255, got ({kh}, {kw})")
    return kh, kw


def _sigmas(value: Any, src: Image, name: str, hint: str = "") -> np.ndarray:
    """A scalar sigma or one per sample, as (n,) float64."""
    n = src.n
    try:
        shape = np.shape(value)
    except ValueError:  # ragged: per_sample names the argument and the type
        shape = ()
    if shape not in ((), (n,)):
        got = f"{shape[0]} values" if len(shape) == 1 else f"shape {tuple(shape)}"
        images = f"a batch of {n}" if src.ndim == 4 else "one image"
        raise ArgumentError(f"{name}: got {got} for {images}; expected a scalar or one value per sample{hint}")
    return per_sample(value, n, name)


def gaussian_blur(
    img: Any,
    ksize: Any,
    sigma: Any = 0.0,
    border: str = "reflect101",
    *,
    sigma_y: Any = None,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """Gaussian blur, like ``cv2.GaussianBlur(img, (kw, kh), sigmaX, sigmaY=sigmaY)``.

    ksize: odd int or (height, width). sigma (along x) and sigma_y: each a scalar or one value per sample,
    (N,); sigma_y=None (or <= 0, as OpenCV's sigmaY=0) is sigma. A sigma <= 0 is computed from its side
    of ksize as OpenCV does (0.3 * ((k - 1) / 2 - 1) + 0.8), and ksize <= 9 with sigma <= 0 takes
    OpenCV's binomial tables. The constant border reads 0.

    uint8 follows OpenCV's fixed-point path (kernels with 8 fraction bits summing to 256, integer row and
    column sums, rounded half up): bit-exact with cv2.GaussianBlur. float32 uses cv2.getGaussianKernel's
    float32 kernel, summed in float32 (within 1e-5 of OpenCV)."""
    src = Image(img)
    kh, kw = _ksize(ksize, odd=True)
    sx = _sigmas(sigma, src, "sigma", "; for separate x and y sigmas pass sigma_y=...")
    sy = sx if sigma_y is None else _sigmas(sigma_y, src, "sigma_y")
    sig = np.ascontiguousarray(np.stack([sx, sy], axis=-1))
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("gaussian_blur", src, dst, kh, kw, sig, parse_enum(border, Border, "border"), stream=stream)
    return dst.result


def box_blur(img: Any, ksize: Any, border: str = "reflect101", *, out: Any = None, stream: Any = None) -> Any:
    """Normalised box filter, like ``cv2.blur(img, (kw, kh), borderType=...)``; ksize an int or (h, w)."""
    src = Image(img)
    kh, kw = _ksize(ksize, odd=False)
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("box_blur", src, dst, kh, kw, parse_enum(border, Border, "border"), stream=stream)
    return dst.result


def median_blur(img: Any, ksize: int, *, out: Any = None, stream: Any = None) -> Any:
    """Median filter, like ``cv2.medianBlur(img, ksize)``: ksize 3, 5 or 7, BORDER_REPLICATE. Exact."""
    src = Image(img)
    if ksize not in (3, 5, 7) or isinstance(ksize, bool):
        raise ArgumentError(f"ksize: expected 3, 5 or 7, got {ksize!r}")
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("median_blur", src, dst, int(ksize), stream=stream)
    return dst.result
