"""sobel (cv2.Sobel to float32) and edges (the edge-detection augmentation)."""

from __future__ import annotations

from typing import Any

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output
from .._types import Border, parse_enum
from .intensity import to_gray


def sobel(
    img: Any,
    dx: int = 1,
    dy: int = 0,
    ksize: int = 3,
    scale: float = 1.0,
    delta: float = 0.0,
    border: str = "reflect101",
    *,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """Image derivative, like ``cv2.Sobel(img, cv2.CV_32F, dx, dy, ksize=ksize, scale=scale, delta=delta,
    borderType=...)``. Always returns float32, unnormalised (as OpenCV; divide by 8 for kornia's
    normalised 3x3 Sobel). ksize: 1, 3, 5, 7, or -1 for the 3x3 Scharr kernel."""
    src = Image(img)
    if ksize not in (-1, 1, 3, 5, 7):
        raise ArgumentError(f"ksize: expected 1, 3, 5, 7 or -1 (Scharr), got {ksize!r}")
    if not (isinstance(dx, int) and isinstance(dy, int) and dx >= 0 and dy >= 0 and dx + dy > 0):
        raise ArgumentError(f"dx, dy: expected non-negative int orders with dx + dy > 0, got ({dx!r}, {dy!r})")
    dst = output(src, (src.n, src.h, src.w, src.c), "float32", out)
    _backend.run(
        "sobel",
        src,
        dst,
        dx,
        dy,
        int(ksize),
        float(scale),
        float(delta),
        parse_enum(border, Border, "border"),
        stream=stream,
    )
    return dst.result


def edges(img: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Edge magnitude of the grey image as uint8: ``saturate(sqrt(gx**2 + gy**2))`` where gx, gy are
    ``cv2.Sobel(to_gray(img), CV_32F, 1, 0)`` and ``(0, 1)`` (3x3, BORDER_REFLECT_101). Output has C = 1."""
    src = Image(img)
    if src.dtype != "uint8":
        raise ArgumentError(f"img: edges expects uint8 images, got {src.dtype}")
    gray = Image(to_gray(img, stream=stream) if src.c != 1 else img)
    dst = output(gray, (gray.n, gray.h, gray.w, 1), "uint8", out)
    _backend.run("edges", gray, dst, stream=stream)
    return dst.result
