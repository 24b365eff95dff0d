"""equalize, to_gray, threshold, invert, normalize, lut, color_transform, channel_mean, hue_shift."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output
from .._params import numbers, per_sample
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
    matrix: Any = None,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """The fused last step: (img / max_pixel_value - mean) / std, NCHW (default) or NHWC.

    mean and std are per channel (or scalars) in [0, 1] units, as albumentations.Normalize and
    torchvision's Normalize after ToTensor; max_pixel_value defaults to 255 for uint8 and 1 for float32.
    A 2-D or 3-D input gives a (C, H, W) / (H, W, C) output (a 2-D input is treated as C = 1).

    dtype: "float32", or the training tensor in half precision written in the same pass, "float16" (numpy,
    torch, CuPy) or "bfloat16" (torch only: NumPy and CuPy have no bfloat16): the float32 result rounded to
    nearest even, the bits of ``result.astype(np.float16)`` and ``result.to(torch.bfloat16)``.

    matrix: a colour matrix applied first in the same pass, as color_transform takes it ((C, C + 1), (C, C),
    or (N, C, C + 1) / (N, C, C) one per image): the bits of ``normalize(color_transform(img, matrix), ...)``
    (for uint8 the colour values rounded and saturated to uint8 as color_transform stores them), without the
    intermediate image. ColorJitter's matrix and Normalize in one pass."""
    src = Image(img)
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ArgumentError(f"dtype: expected 'float32', 'float16' or 'bfloat16', got {dtype!r}")
    if dtype == "bfloat16" and src.framework != "torch" and out is None:
        raise ArgumentError(
            f"dtype: bfloat16 needs a torch tensor ({src.framework} has no bfloat16 dtype): pass img as a torch "
            "tensor, or use dtype='float16'"
        )
    if layout not in ("NCHW", "NHWC"):
        raise ArgumentError(f"layout: expected 'NCHW' or 'NHWC', got {layout!r}")
    mean_c = per_sample(mean, src.c, "mean") if np.ndim(mean) == 0 else np.asarray(mean, np.float64).ravel()
    std_c = per_sample(std, src.c, "std") if np.ndim(std) == 0 else np.asarray(std, np.float64).ravel()
    for name, v in (("mean", mean_c), ("std", std_c)):
        if v.shape != (src.c,) or not np.isfinite(v).all():
            raise ArgumentError(f"{name}: expected a scalar or {src.c} finite values (one per channel), got {v}")
    if (std_c == 0).any():
        raise ArgumentError(f"std: expected non-zero values, got {std_c}")
    matrices = None if matrix is None else _color_matrices(matrix, src.n, src.c)
    scale = 1.0 / (max_pixel_value if max_pixel_value else (255.0 if src.dtype == "uint8" else 1.0))
    nhwc = src.user_shape(src.n, src.h, src.w, src.c)
    if layout == "NHWC":
        dst = output(src, (src.n, src.h, src.w, src.c), dtype, out, shape=nhwc)
    else:
        chw = (src.c, src.h, src.w) if len(nhwc) < 4 else (src.n, src.c, src.h, src.w)
        dst = output(src, (src.n, src.h, src.w, src.c), dtype, out, shape=chw, view=_to_channels_last)
    _backend.run("normalize", src, dst, mean_c, std_c, scale, matrices, stream=stream)
    return dst.result


def _lut_tables(table: Any, n: int, c: int) -> np.ndarray:
    """The (N, C, 256) uint8 tables of lut from (256,), (N, 256) or (N, C, 256), N = 1 broadcasting."""
    t = numbers(table, "table")
    if t.shape == (256,):
        t = t[None, None]
    elif t.ndim == 2 and t.shape[1] == 256 and t.shape[0] in (1, n):
        t = t[:, None]
    elif not (t.ndim == 3 and t.shape[1:] == (c, 256) and t.shape[0] in (1, n)):
        raise ArgumentError(
            f"table: expected shape (256,) for every image and channel, ({n}, 256) per image or ({n}, {c}, 256) "
            f"per image and channel (a leading 1 for every image), got shape {t.shape}"
        )
    if t.dtype != np.uint8:
        bad = ~np.isfinite(t) | (t != np.round(t)) | (t < 0) | (t > 255) if t.dtype.kind == "f" else (t < 0) | (t > 255)
        if bad.any():
            raise ArgumentError(f"table: expected integer values in 0..255 (uint8), got {t[bad].ravel()[:3]}")
    return np.ascontiguousarray(np.broadcast_to(t, (n, c, 256)), dtype=np.uint8)


def lut(img: Any, table: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Look-up table of each uint8 image, like ``cv2.LUT(img, table)`` (bit-exact): out = table[c][img].

    table: 256 values in 0..255 (uint8, or integers), shape (256,) for every image and channel, (N, 256)
    per image, or (N, C, 256) per image and channel; a leading N of 1 stands for every image. The building
    block of gamma, solarize and posterize (one table per sample)."""
    src = Image(img)
    if src.dtype != "uint8":
        raise ArgumentError(f"img: lut expects uint8 images, got {src.dtype}")
    tables = _lut_tables(table, src.n, src.c)
    dst = output(src, (src.n, src.h, src.w, src.c), "uint8", out)
    _backend.run("lut", src, dst, tables, stream=stream)
    return dst.result


def _color_matrices(matrix: Any, n: int, c: int) -> np.ndarray:
    """(N, C, C + 1) float64 matrices from (C, C + 1) or (C, C) for every image, or (N, ...) per image."""
    m = numbers(matrix, "matrix")
    if m.shape not in ((c, c + 1), (c, c), (n, c, c + 1), (n, c, c)):
        raise ArgumentError(
            f"matrix: expected shape ({c}, {c + 1}) or ({c}, {c}) for every image, or ({n}, {c}, {c + 1}) or "
            f"({n}, {c}, {c}) one per image ({c} channels), got shape {m.shape}"
        )
    if m.shape[-1] == c:  # no offset column: offset 0, as cv2.transform
        m = np.concatenate([m, np.zeros((*m.shape[:-1], 1), m.dtype)], axis=-1)
    return per_sample(m, n, "matrix", (c, c + 1))


def color_transform(img: Any, matrix: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Per-pixel colour matrix, like ``cv2.transform(img, matrix)`` with a square matrix plus offset:
    out[c] = sum_k matrix[c, k] * img[k] + matrix[c, C], saturated and rounded to nearest for uint8, as is
    for float32 (no clamp, as cv2.transform).

    matrix: (C, C + 1), or (C, C) with offset 0, for every image, or (N, C, C + 1) / (N, C, C) one per
    image; C = 1, 3 or 4 as the image. uint8 is bit-exact with OpenCV 5 on x86 (the measured case: its
    builds with AVX2 and FMA): the same choice of arithmetic per matrix (a diagonal matrix or C = 1:
    fma(m[c, c], v, offset), with off-diagonal entries within FLT_EPSILON of 0 ignored as OpenCV ignores
    them; C = 3 with |m[:, 0:2]| < 32 and |m[:, 2:4]| < 8192: OpenCV's 10-bit fixed point; otherwise its
    float chain with FMA). float32 takes the same float formulas (OpenCV's differ by up to a few ulp).
    The colour step of ColorJitter (brightness, contrast, saturation, hue as one matrix per sample)."""
    src = Image(img)
    matrices = _color_matrices(matrix, src.n, src.c)
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("color_transform", src, dst, matrices, stream=stream)
    return dst.result


def channel_mean(img: Any, *, stream: Any = None) -> np.ndarray:
    """The mean of each channel of each image, like ``cv2.mean(img)`` per image: a NumPy float64 array of
    shape (N, C) (N = 1 for a single image).

    uint8: exact integer sums times 1 / (H * W), cv2.mean's bits. float32: double sums in one fixed order on
    every backend (all give the same bits; within 1e-15 of NumPy's float64 mean, while cv2.mean's own
    single-channel float sums are off by up to about 1e-10). A CUDA image is reduced on its device and the
    (N, C) values are copied back: the call waits for the stream (the one fastaug operator that does)."""
    src = Image(img)
    result = np.empty((src.n, src.c), np.float64)
    _backend.reduce("channel_mean", src, result, stream=stream)
    return result


def hue_shift(img: Any, hue: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Hue rotation of each image, like torchvision's ``adjust_hue(img, hue)`` (transforms.v2.functional,
    0.29) per sample: RGB -> HSV, H + hue modulo 1, HSV -> RGB, in torchvision's float32 operations and
    their order (bit-exact with torchvision on its CPU).

    hue: a fraction of a turn in [-0.5, 0.5], a scalar or one per sample (1/3 takes red to green). RGB and
    RGBA (alpha passes through); a one-channel image is returned unchanged (copied), as torchvision returns
    a grey image. float32 images in [0, 1]; uint8 images go through torchvision's conversions, x / 255 in
    (as x * float32(1 / 255)) and trunc(x * 255.999) out, so hue 0 returns the image. The hue step of
    ColorJitter."""
    src = Image(img)
    shifts = per_sample(hue, src.n, "hue")
    outside = ~((shifts >= -0.5) & (shifts <= 0.5))
    if outside.any():
        raise ArgumentError(f"hue: expected values in [-0.5, 0.5] (a fraction of a turn), got {shifts[outside][:3]}")
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("hue_shift", src, dst, shifts, stream=stream)
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
