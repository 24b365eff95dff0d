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


_BACKWARD_INTERPS = (Interp.NEAREST, Interp.LINEAR)
_BACKWARD_OPS = {"warp_affine": ((2, 3), "M"), "warp_perspective": ((3, 3), "H")}


def warp_backward(
    op: str,
    grad: Any,
    img: Any,
    M: Any,
    interp: str = "linear",
    border: str = "constant",
    fill: Any = 0,
    *,
    need_img: bool = True,
    need_matrix: bool = True,
    out: Any = None,
    stream: Any = None,
) -> tuple[Any, Any]:
    """The backward (adjoint) of ``warp_affine`` / ``warp_perspective`` on float32 images, for autograd (private).

    op: 'warp_affine' or 'warp_perspective'; M: the forward's matrix ((2, 3) / (N, 2, 3), or (3, 3) / (N, 3, 3)),
    forward, as the forward got it; img: the forward's input, (N, H, W, C) float32 (needed for the matrix
    gradient; with need_matrix=False it may be None when out= gives the image gradient's shape); grad: dL/d(output),
    (N, h, w, C) float32 of img's framework and device, any strides (an NCHW tensor permuted to NHWC is read in
    place). interp: 'nearest' or 'linear'; border and fill as the forward's.

    Returns (grad_img, grad_inv):
    - grad_img: dL/d(img), (N, H, W, C) float32 of the caller's framework (into out= if given), or None with
      need_img=False: the exact adjoint (transpose) of the forward warp's linear map in the image, for the float32
      coordinates and weights the forward computes (a constant border's taps outside take nothing; the other
      borders add to the border-mapped source pixel).
    - grad_inv: dL/dMinv, an (N, 3, 3) float64 NumPy array, or None with need_matrix=False. Minv is the inverse
      (dst -> src) map the kernels sample with: source point (sx, sy) = (u / w, v / w) with (u, v, w) = Minv @
      (x, y, 1) (w = 1 for affine maps, whose last row of grad_inv is 0). Bilinear: the interpolant's derivative
      (constant-border taps count as fill); nearest: 0. dL/dM of the forward matrix is -Minv^T @ grad_inv @
      Minv^T (warp_backward_matrix; its first two rows for an affine M).

    On the CPU the results are the same bits on every run and with any thread count; on CUDA the image gradient is
    scattered with atomic adds (float sums in no fixed order), and with need_matrix the call waits for the stream
    (grad_inv is copied to the host)."""
    if op not in _BACKWARD_OPS:
        raise ArgumentError(f"op: expected 'warp_affine' or 'warp_perspective', got {op!r}")
    shape, name = _BACKWARD_OPS[op]
    g = Image(grad, "grad", ("float32",))
    src = Image(img, "img", ("float32",)) if img is not None else None
    if src is None and need_matrix:
        raise ArgumentError("img: the forward's input is needed for the matrix gradient (need_matrix=True), got None")
    if src is None and need_img and out is None:
        raise ArgumentError("img: expected the forward's input (or out=, for the image gradient's shape), got None")
    ref = src or Image(out, "out", ("float32",))
    if (ref.framework, ref.device) != (g.framework, g.device):
        raise ArgumentError(
            f"grad: expected a {ref.framework} array on {ref.device} like img, got a {g.framework} array on {g.device}"
        )
    if (ref.n, ref.c) != (g.n, g.c):
        raise ArgumentError(
            f"grad: expected the forward's output shape (N, h, w, C) with N = {ref.n}, C = {ref.c} like img, "
            f"got shape {g.shape}"
        )
    mats = per_sample(M, g.n, name, shape)
    codes = (parse_enum(interp, Interp, "interp", _BACKWARD_INTERPS), parse_enum(border, Border, "border"))
    fills = fill4(fill, g.c)
    if not need_img and not need_matrix:
        return None, None
    shape4 = (g.n, ref.h, ref.w, g.c)
    dst = output(ref, shape4, "float32", out) if need_img else output(g, (0, 1, 1, g.c), "float32")
    grad_inv = np.zeros((g.n, 3, 3)) if need_matrix else None
    _backend.run(
        f"{op}_backward", [g, src] if src else [g], dst, mats, *codes, fills, grad_inv, need_img, stream=stream
    )
    return (dst.result if need_img else None), grad_inv


def warp_backward_matrix(op: str, M: Any, grad_inv: np.ndarray) -> np.ndarray:
    """dL/dM of the forward matrix M from warp_backward's grad_inv = dL/dMinv (Minv = M^-1, with M's last row
    (0, 0, 1) for an affine map): -Minv^T @ grad_inv @ Minv^T, in M's shape ((2, 3) / (N, 2, 3) or (3, 3) /
    (N, 3, 3); a single M shared by the batch gets the sum over the samples)."""
    if op not in _BACKWARD_OPS:
        raise ArgumentError(f"op: expected 'warp_affine' or 'warp_perspective', got {op!r}")
    shape, name = _BACKWARD_OPS[op]
    grad_inv = np.asarray(grad_inv, dtype=np.float64)
    if grad_inv.ndim != 3 or grad_inv.shape[1:] != (3, 3):
        raise ArgumentError(f"grad_inv: expected shape (N, 3, 3), got shape {grad_inv.shape}")
    mats = per_sample(M, grad_inv.shape[0], name, shape)
    full = (
        np.concatenate([mats, np.broadcast_to([[[0.0, 0.0, 1.0]]], (len(mats), 1, 3))], 1) if shape == (2, 3) else mats
    )
    inv_t = np.swapaxes(np.linalg.inv(full), 1, 2)
    grad = -(inv_t @ grad_inv @ inv_t)[:, : shape[0]]
    return grad.sum(0) if np.ndim(M) == 2 else grad


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
