"""resize (cv2.resize semantics)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output, ragged
from .._params import pair
from .._types import Interp, parse_enum


def resize(img: Any, size: Any, interp: str = "linear", *, out: Any = None, stream: Any = None) -> Any:
    """Resizes every image to size = (height, width), like ``cv2.resize(img, (w, h), interpolation=...)``.

    interp: nearest (INTER_NEAREST: floor(dst * scale)), linear (half-pixel centres, no antialiasing),
    cubic (A = -0.75), area (INTER_AREA: exact pixel-area averaging when shrinking, OpenCV's bilinear
    variant when enlarging). Weights are float32; OpenCV uses 11-bit fixed point for uint8 linear, so
    results can differ from it by one grey level.

    img may also be a list (or tuple) of images of different sizes, (H, W) or (H, W, C), of one framework,
    dtype, channel count and device (a ragged batch): size is then one (height, width) for every image or
    one per image ((N, 2)), the result is the list of the resized images (each of its image's rank and
    framework; out= a list of them), and every image is resized in one call, each result equal to resizing
    that image alone.
    """
    code = parse_enum(interp, Interp, "interp")
    if isinstance(img, (list, tuple)):
        return _resize_ragged(ragged(img), size, code, out, stream)
    src = Image(img)
    h, w = _size(size)
    dst = output(src, (src.n, h, w, src.c), src.dtype, out)
    _backend.run("resize", src, dst, code, stream=stream)
    return dst.result


def _size(size: Any, name: str = "size") -> tuple[int, int]:
    h, w = pair(size, name)
    if h <= 0 or w <= 0:
        raise ArgumentError(f"{name}: expected a positive (height, width), got ({h}, {w})")
    return h, w


def _resize_ragged(images: list[Image], size: Any, code: int, out: Any, stream: Any) -> list[Any]:
    """A list of images to a list of images of the given sizes (one pair for all, or one per image), in one
    call. Each output keeps its image's rank; out, if given, is the list of outputs."""
    n = len(images)
    if np.ndim(size) == 2:
        if np.shape(size)[0] != n:
            raise ArgumentError(
                f"size: expected one (height, width) for every image or one per image ({n}), got {np.shape(size)[0]}"
            )
        sizes = [_size(s, f"size[{i}]") for i, s in enumerate(size)]
    else:
        sizes = [_size(size)] * n
    if out is not None and (not isinstance(out, (list, tuple)) or len(out) != n):
        raise ArgumentError(f"out: expected a list of {n} arrays (one per image), got {type(out).__name__}")
    dsts = [
        output(src, (1, h, w, src.c), src.dtype, None if out is None else out[i], shape=src.user_shape(1, h, w, src.c))
        for i, (src, (h, w)) in enumerate(zip(images, sizes, strict=True))
    ]
    _backend.run("resize", images, dsts, code, stream=stream)
    return [d.result for d in dsts]
