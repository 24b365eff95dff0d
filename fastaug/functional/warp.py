"""warp_affine, warp_perspective and affine_matrix (cv2.warpAffine / cv2.warpPerspective semantics)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend
from .._errors import ArgumentError
from .._interop import Image, output, ragged
from .._params import fill4, pair, per_sample
from .._types import Border, Interp, parse_enum

_WARP_INTERPS = (Interp.NEAREST, Interp.LINEAR, Interp.CUBIC)


def _warp(
    op: str,
    img: Any,
    matrix: Any,
    shape: tuple[int, int],
    name: str,
    size: Any,
    interp: str,
    border: str,
    fill: Any,
    out: Any,
    stream: Any = None,
) -> Any:
    images = ragged(img) if isinstance(img, (list, tuple)) else None
    src = images[0] if images else Image(img)
    n = len(images) if images else src.n
    mats = per_sample(matrix, n, name, shape)
    if images and size is None:
        raise ArgumentError("size: expected the output (height, width) for a list of images, got None")
    h, w = (src.h, src.w) if size is None else pair(size, "size")
    if h <= 0 or w <= 0:
        raise ArgumentError(f"size: expected a positive (height, width), got ({h}, {w})")
    dst = output(src, (n, h, w, src.c), src.dtype, out, shape=(n, h, w, src.c) if images else None)
    _backend.run(
        op,
        images or src,
        dst,
        mats,
        parse_enum(interp, Interp, "interp", _WARP_INTERPS),
        parse_enum(border, Border, "border"),
        fill4(fill, src.c),
        stream=stream,
    )
    return dst.result


def warp_affine(
    img: Any,
    M: Any,
    size: Any = None,
    interp: str = "linear",
    border: str = "constant",
    fill: Any = 0,
    *,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """Affine warp of each image, like ``cv2.warpAffine(img, M, (w, h), flags, borderMode, borderValue)``.

    M is (2, 3) or (N, 2, 3), forward (source -> destination pixel coordinates, pixel centres at integers).
    size is the output (height, width), default the input's. img may also be a list (or tuple) of N images
    of different sizes, (H, W) or (H, W, C), of one framework, dtype, channel count and device (a ragged
    batch): they are warped in one call into a dense (N, height, width, C) batch of that framework (size
    is then required); each result equals warping that image alone. interp: nearest, linear, cubic. border:
    constant (with ``fill``, a scalar or one value per channel), replicate, reflect, reflect101, wrap.
    Coordinates and weights are computed in float32 (as OpenCV 5's warp kernels); see the README for the
    measured difference to OpenCV.
    """
    return _warp("warp_affine", img, M, (2, 3), "M", size, interp, border, fill, out, stream)


def warp_perspective(
    img: Any,
    H: Any,
    size: Any = None,
    interp: str = "linear",
    border: str = "constant",
    fill: Any = 0,
    *,
    out: Any = None,
    stream: Any = None,
) -> Any:
    """Perspective warp, like ``cv2.warpPerspective``: H is (3, 3) or (N, 3, 3), forward. img: a batch, or a
    list of images of different sizes (a ragged batch, size required; see warp_affine)."""
    return _warp("warp_perspective", img, H, (3, 3), "H", size, interp, border, fill, out, stream)


def _shears(shear: Any, count: int) -> np.ndarray:
    """(count, 2) shear angles (x, y) from a scalar x-shear, an (x, y) pair, or one of either per sample.
    A length-2 sequence is always the (x, y) pair (as for translate and center)."""
    shape = np.shape(shear)
    if shape != (2,) and shape in ((), (count,)):
        sx = per_sample(shear, count, "shear")
        return np.stack([sx, np.zeros(count)], -1)
    if shape not in ((2,), (count, 2)):
        raise ArgumentError(
            f"shear: expected a scalar (x-shear), an (x, y) pair, or one of either per sample, "
            f"shape ({count},) or ({count}, 2), got shape {tuple(shape)}"
        )
    return per_sample(shear, count, "shear", (2,))


def affine_matrix(
    angle: Any = 0.0,
    translate: Any = (0.0, 0.0),
    scale: Any = 1.0,
    shear: Any = (0.0, 0.0),
    center: Any = (0.0, 0.0),
    n: int | None = None,
) -> np.ndarray:
    """Forward affine matrices (N, 2, 3) for warp_affine, one per sample.

    M = T(center + translate) . R(angle) . Sh(shear) . S(scale) . T(-center), with angle in degrees,
    counter-clockwise in the image as displayed (as ``cv2.getRotationMatrix2D``, which this equals when
    translate and shear are zero), translate (tx, ty) in pixels and center (x, y). shear is (x, y) in
    degrees, Sh = [[1, tan(x)], [tan(y), 1]] in pixel coordinates (y down): a positive x-shear shifts each
    point right by tan(x) times its y offset from center. A scalar shear s means (s, 0), an x-shear only
    (the reading torchvision and albumentations give a scalar); per sample, (N,) x-shears or (N, 2)
    pairs (a length-2 sequence is always one (x, y) pair, so 2 samples' x-shears are [(s0, 0), (s1, 0)]).
    Each argument is a scalar/pair for all samples or one per sample; n defaults to the longest.
    """
    lengths = [
        np.shape(v)[0] for v, k in ((angle, 0), (scale, 0), (translate, 1), (shear, 1), (center, 1)) if np.ndim(v) > k
    ]
    if np.ndim(shear) == 1 and np.shape(shear)[0] != 2:
        lengths.append(np.shape(shear)[0])  # per-sample x-shears
    count = n if n is not None else (max(lengths) if lengths else 1)
    a = np.deg2rad(per_sample(angle, count, "angle"))
    s = per_sample(scale, count, "scale")
    t = per_sample(translate, count, "translate", (2,))
    sh = np.deg2rad(_shears(shear, count))
    c = per_sample(center, count, "center", (2,))
    cos, sin = np.cos(a), np.sin(a)
    rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # y axis points down
    shear_m = np.stack(
        [np.stack([np.ones(count), np.tan(sh[:, 0])], -1), np.stack([np.tan(sh[:, 1]), np.ones(count)], -1)], -2
    )
    lin = rot @ shear_m * s[:, None, None]
    offset = c + t - np.einsum("nij,nj->ni", lin, c)
    return np.concatenate([lin, offset[:, :, None]], axis=2)
