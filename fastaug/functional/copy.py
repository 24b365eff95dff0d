"""flip, rotate90, crop and tiles: exact copies through integer index maps (csrc/ops/copy.cpp)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output
from .._params import pair, per_sample

_FLIP_CODES = {"horizontal": 1, "vertical": 0, "both": -1}
_FLIP_ACCEPTED = "'horizontal' (1), 'vertical' (0), 'both' (-1), or those cv2.flip codes"


def _flip_code(a: Any) -> Any:
    """A flip name as its cv2.flip code; anything else unchanged (per_sample checks it)."""
    if not isinstance(a, str):
        return a
    code = _FLIP_CODES.get(a.lower())
    if code is None:
        raise ArgumentError(f"axis: unknown flip {a!r}; expected {_FLIP_ACCEPTED}")
    return code


def flip(img: Any, axis: Any = 1, *, out: Any = None, stream: Any = None) -> Any:
    """Flips like ``cv2.flip(img, flipCode)``: axis "horizontal" or 1 mirrors left-right (the columns, as
    ``np.fliplr``), "vertical" or 0 upside down (the rows, ``np.flipud``), "both" or -1 both. A scalar,
    or one per sample (random flips), names and codes mixed as you like."""
    src = Image(img)
    if isinstance(axis, np.ndarray) and axis.dtype.kind in "UO":
        axis = axis.tolist()
    if isinstance(axis, (list, tuple)):
        axis = [_flip_code(a) for a in axis]
    codes = per_sample(_flip_code(axis), src.n, "axis", dtype=np.int32)
    if not np.isin(codes, (0, 1, -1)).all():
        raise ArgumentError(f"axis: expected {_FLIP_ACCEPTED}, got {np.unique(codes)}")
    dst = output(src, (src.n, src.h, src.w, src.c), src.dtype, out)
    _backend.run("flip", src, dst, codes, stream=stream)
    return dst.result


def rotate90(img: Any, k: Any = 1, *, out: Any = None, stream: Any = None) -> Any:
    """Rotates by k quarter turns counter-clockwise, like ``np.rot90(img, k)`` on each image
    (k=1 is ``cv2.ROTATE_90_COUNTERCLOCKWISE``). Per-sample k must all give the same output shape.

    An odd turn gives (N, W, H, C), an empty batch included when k is a scalar; an empty batch with an
    empty per-sample k (no turn known) keeps (0, H, W, C)."""
    src = Image(img)
    ks = per_sample(k, src.n, "k", dtype=np.int32)
    odd = ks % 2 == 1
    if src.h != src.w and src.n > 0 and odd.any() != odd.all():
        raise ArgumentError("k: on non-square images all samples must turn an even or all an odd number of times")
    # ks is empty for an empty batch: a scalar k still says which way the shape turns.
    swap = bool(odd.any()) if np.ndim(k) else bool(per_sample(k, 1, "k", dtype=np.int32)[0] % 2 == 1)
    h, w = (src.w, src.h) if swap else (src.h, src.w)
    dst = output(src, (src.n, h, w, src.c), src.dtype, out)
    _backend.run("rotate90", src, dst, ks, stream=stream)
    return dst.result


def crop(img: Any, boxes: Any, *, out: Any = None, stream: Any = None) -> Any:
    """Crops a box (top, left, height, width) from each image, like ``img[top:top+h, left:left+w]``.

    boxes is (4,) or (N, 4); all boxes share one height and width (the batch output is (N, h, w, C)) and
    must lie inside the image."""
    src = Image(img)
    b = per_sample(boxes, src.n, "boxes", (4,), dtype=np.int64)
    if src.n and not ((b[:, 2] == b[0, 2]).all() and (b[:, 3] == b[0, 3]).all()):
        raise ArgumentError("boxes: every box must have the same height and width")
    h, w = (int(b[0, 2]), int(b[0, 3])) if src.n else (0, 0)
    if src.n and (h <= 0 or w <= 0):
        raise ArgumentError(f"boxes: expected a positive height and width, got ({h}, {w})")
    dst = output(src, (src.n, h, w, src.c), src.dtype, out)
    _backend.run("crop", src, dst, np.ascontiguousarray(b[:, :2]), stream=stream)
    return dst.result


def tiles(img: Any, tile: Any, stride: Any = None, *, out: Any = None, stream: Any = None) -> Any:
    """Cuts every image into tiles of size tile = (height, width) every stride = (sy, sx) pixels (default:
    the tile size, no overlap); tiles that would cross the border are dropped. Returns (N * T, th, tw, C)
    whatever the input's rank, image-major then row-major (the "data slicing" augmentation)."""
    src = Image(img)
    th, tw = pair(tile, "tile")
    sy, sx = pair(stride if stride is not None else (th, tw), "stride")
    if not (0 < th <= src.h and 0 < tw <= src.w):
        raise ArgumentError(f"tile: expected a size between 1x1 and the image's {src.h}x{src.w}, got {th}x{tw}")
    if sy <= 0 or sx <= 0:
        raise ArgumentError(f"stride: expected positive values, got ({sy}, {sx})")
    count = src.n * ((src.h - th) // sy + 1) * ((src.w - tw) // sx + 1)
    dst = output(src, (count, th, tw, src.c), src.dtype, out, shape=(count, th, tw, src.c))
    _backend.run("tiles", src, dst, sy, sx, stream=stream)
    return dst.result
