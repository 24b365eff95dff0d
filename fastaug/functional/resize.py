"""resize (cv2.resize semantics)."""

from __future__ import annotations

from typing import Any

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output
from .._params import pair
from .._types import Interp, parse_enum


def resize(img: Any, size: Any, interp: str = "linear", *, out: Any = None, stream: Any = None) -> Any:
    """Resizes every image to size = (height, width), like ``cv2.resize(img, (w, h), interpolation=...)``.

    interp: nearest (INTER_NEAREST: floor(dst * scale)), linear (half-pixel centres, no antialiasing),
    cubic (A = -0.75), area (INTER_AREA: exact pixel-area averaging when shrinking, OpenCV's bilinear
    variant when enlarging). Weights are float32; OpenCV uses 11-bit fixed point for uint8 linear, so
    results can differ from it by one grey level.
    """
    src = Image(img)
    h, w = pair(size, "size")
    if h <= 0 or w <= 0:
        raise ArgumentError(f"size: expected a positive (height, width), got ({h}, {w})")
    dst = output(src, (src.n, h, w, src.c), src.dtype, out)
    _backend.run("resize", src, dst, parse_enum(interp, Interp, "interp"), stream=stream)
    return dst.result
