"""equalize, to_gray, threshold, invert, normalize."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output
from .._params import per_sample
from .._types import ThresholdMode, parse_enum


def equalize(img: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Histogram equalisation of each image and channel, like ``cv2.equalizeHist`` (uint8 only; its
    formula, bit-exact: lut[j] = round((cdf[j] - cdf[first]) * 255 / (total - hist[first])))."""
    src = Image(img)
    if src.dtype != "uint8":
        raise ArgumentError(f"img: equalize expects uint8 images, got {src.dtype}")
    dst = output(src, (src.n, src.h, src.w, src.c), "uint8", out)
    _backend.run("equalize", src, dst, stream=stream)
    return dst.result


def to_gray(img: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Luma of RGB(A) images, like ``cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`` (0.299 R + 0.587 G + 0.114 B;
    uint8 in OpenCV 5's 15-bit fixed point, bit-exact). Output keeps the rank with C = 1."""
    src = Image(img)
    dst = output(
        src,
        (src.n, src.h, src.w, 1),
        src.dtype,
        out,
        shape=src.user_shape(src.n, src.h, src.w, 1) if src.ndim != 2 else (src.h, src.w),
    )
    _backend.run("to_gray", src, dst, stream=stream)
    return dst.result


def threshold(
    img: Any, thresh: Any, maxval: Any = 255, mode: str = "binary", *, out: Any = None, stream: Any = None
) -> Any:
    """Thresholding, like ``cv2.threshold(img, thresh, maxval, type)[1]`` (the binarisation augmentation).

    mode: binary, binary_inv, trunc, tozero, tozero_inv. thresh and maxval: scalars or one per sample.
    For uint8, thresh is floored and maxval rounded, as OpenCV does."""
    src = Image(img)
    t = per_sample(thresh, src.n, "thresh")
    m = per_sample(maxval, src.n, "maxval")
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("threshold", src, dst, t, m, parse_enum(mode, ThresholdMode, "mode"), stream=stream)
    return dst.result


def invert(img: Any, *, out: Any = None, stream: Any = None) -> Any:
    """255 - x for uint8 (``cv2.bitwise_not``), 1 - x for float32 images in [0, 1]."""
    src = Image(img)
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("invert", src, dst, stream=stream)
    return dst.result


def normalize(
    img: Any,
    mean: Any,
    std: Any,
    layout: str = "NCHW",
    dtype: str = "float32",
    max_pixel_value: float | None = None,
    *,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """The fused last step: (img / max_pixel_value - mean) / std as float32, NCHW (default) or NHWC.

    mean and std are per channel (or scalars) in [0, 1] units, as albumentations.Normalize and
    torchvision's Normalize after ToTensor; max_pixel_value defaults to 255 for uint8 and 1 for float32.
    A 2-D or 3-D input gives a (C, H, W) / (H, W, C) output (a 2-D input is treated as C = 1)."""
    src = Image(img)
    if dtype != "float32":
        raise ArgumentError(f"dtype: expected 'float32', got {dtype!r}")
    if layout not in ("NCHW", "NHWC"):
        raise ArgumentError(f"layout: expected 'NCHW' or 'NHWC', got {layout!r}")
    mean_c = per_sample(mean, src.c, "mean") if np.ndim(mean) == 0 else np.asarray(mean, np.float64).ravel()
    std_c = per_sample(std, src.c, "std") if np.ndim(std) == 0 else np.asarray(std, np.float64).ravel()
    for name, v in (("mean", mean_c), ("std", std_c)):
        if v.shape != (src.c,) or not np.isfinite(v).all():
            raise ArgumentError(f"{name}: expected a scalar or {src.c} finite values (one per channel), got {v}")
    if (std_c == 0).any():
        raise ArgumentError(f"std: expected non-zero values, got {std_c}")
    scale = 1.0 / (max_pixel_value if max_pixel_value else (255.0 if src.dtype == "uint8" else 1.0))
    nhwc = src.user_shape(src.n, src.h, src.w, src.c)
    if layout == "NHWC":
        dst = output(src, (src.n, src.h, src.w, src.c), "float32", out, shape=nhwc)
    else:
        chw = (src.c, src.h, src.w) if len(nhwc) < 4 else (src.n, src.c, src.h, src.w)
        dst = output(src, (src.n, src.h, src.w, src.c), "float32", out, shape=chw, view=_to_channels_last)
    _backend.run("normalize", src, dst, mean_c, std_c, scale, stream=stream)
    return dst.result


def _to_channels_last(arr: Any) -> Any:
    """A channels-last view (no copy) of a (C, H, W) or (N, C, H, W) array of any framework."""
    axes = (1, 2, 0) if arr.ndim == 3 else (0, 2, 3, 1)
    if hasattr(arr, "permute"):
        return arr.permute(*axes)
    try:
        return arr.transpose(axes)
    except NotImplementedError:  # numba-cuda device arrays transpose in 2-D only: the same view by hand
        from numba.cuda.cudadrv.devicearray import DeviceNDArray

        return DeviceNDArray(
            tuple(arr.shape[a] for a in axes),
            tuple(arr.strides[a] for a in axes),
            arr.dtype,
            stream=arr.stream,
            gpu_data=arr.gpu_data,
        )
