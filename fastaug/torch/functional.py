"""Differentiable fastaug operators for PyTorch: torch tensors in, torch tensors out, gradients through
autograd, and each native call a torch custom operator (fastaug/torch/ops.py) that torch.compile traces
with fullgraph=True.

Images are 4-D float32 tensors in torch's layout, (N, C, H, W) (layout="NCHW", the default, as
torchvision and kornia), or (N, H, W, C) (layout="NHWC"); C = 1, 3 or 4. An NCHW tensor is read by the
channels-last native kernels through its strides (a permuted view, no copy), and the result is allocated
once in the input's layout and written in place. uint8 images are accepted where the core operator takes
them (no gradient). Per-sample parameters (matrices, factors, sigmas, boxes) are a scalar for the batch or
a tensor with one value per sample; matrices and kernels are read on the host, so draw them on the CPU.

What is differentiable: every operator with respect to the image; the warps with respect to their
matrices too (linear and nearest interpolation); the colour operators with respect to their factors;
erase with respect to its fill value. Kernels, sigmas, mean and std are constants: a tensor that requires
grad there is refused rather than silently left without a gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .._errors import ArgumentError, ArgumentTypeError
from . import ops  # noqa: F401  (registers torch.ops.fastaug.*)

__all__ = [
    "box_blur",
    "brightness",
    "contrast",
    "erase",
    "filter2d",
    "gamma",
    "gaussian_blur",
    "hue",
    "normalize",
    "resize",
    "saturation",
    "sep_filter2d",
    "sobel",
    "warp_affine",
    "warp_perspective",
]

_fa = torch.ops.fastaug
_BORDERS = ("constant", "replicate", "reflect", "reflect101", "wrap")
_ALIASES = {"reflect_101": "reflect101", "default": "reflect101", "bilinear": "linear", "bicubic": "cubic"}
# torchvision's rgb_to_grayscale weights for float images (adjust_contrast / adjust_saturation)
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


# ---------------------------------------------------------------------------------------------- checks
def _image(img: Any, layout: str, dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.uint8)) -> bool:
    """Validates img and layout; True for NCHW."""
    if layout not in ("NCHW", "NHWC"):
        raise ArgumentError(f"layout: expected 'NCHW' or 'NHWC', got {layout!r}")
    if not isinstance(img, Tensor):
        raise ArgumentTypeError(f"img: expected a torch tensor, got {type(img).__name__}")
    if img.dtype not in dtypes:
        names = " or ".join(str(d).replace("torch.", "") for d in dtypes)
        raise ArgumentTypeError(f"img: expected dtype {names}, got {str(img.dtype).replace('torch.', '')}")
    c = img.shape[1 if layout == "NCHW" else -1] if img.dim() == 4 else 0
    if img.dim() != 4 or c not in (1, 3, 4):
        want = "(N, C, H, W)" if layout == "NCHW" else "(N, H, W, C)"
        raise ArgumentError(
            f"img: expected a {layout} tensor {want} with C in {{1, 3, 4}}, got shape {tuple(img.shape)}"
        )
    return layout == "NCHW"


def _hw(img: Tensor, nchw: bool) -> tuple[int, int, int, int]:
    """(N, H, W, C)."""
    n, a, b, c = img.shape
    return (n, b, c, a) if nchw else (n, a, b, c)


def _choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    key = _ALIASES.get(value.lower(), value.lower()) if isinstance(value, str) else None
    if key not in allowed:
        raise ArgumentError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {value!r}")
    return key  # type: ignore[return-value]


def _size(size: Any, default: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return default
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(s, int) for s in size)):
        raise ArgumentTypeError(f"size: expected an int or a (height, width) pair of ints, got {size!r}")
    if size[0] <= 0 or size[1] <= 0:
        raise ArgumentError(f"size: expected a positive (height, width), got {tuple(size)}")
    return int(size[0]), int(size[1])


def _fill(fill: Any, c: int) -> list[float]:
    values = [float(fill)] if isinstance(fill, (int, float)) else [float(v) for v in fill]
    if len(values) not in (1, c) or not all(math.isfinite(v) for v in values):
        raise ArgumentError(f"fill: expected a finite scalar or {c} values (one per channel), got {fill!r}")
    return values


def _constant(value: Any, name: str, what: str) -> None:
    if isinstance(value, Tensor) and value.requires_grad and torch.is_grad_enabled():
        raise ArgumentError(f"{name}: gradients with respect to the {what} are not computed; pass {name}.detach()")


def _per_sample(value: Any, n: int, name: str, shape: tuple[int, ...] = (), dtype: Any = torch.float32) -> Tensor:
    """A scalar, one value (of `shape`) for every sample, or one per sample, as an (n, *shape) tensor that
    keeps its autograd history (expanded, not copied). A float tensor keeps its dtype."""
    t = value if isinstance(value, Tensor) else torch.tensor(value, dtype=dtype)
    if t.is_floating_point() != dtype.is_floating_point:
        t = t.to(dtype)
    if tuple(t.shape) in (shape, (1, *shape)):
        return t.reshape(shape).expand(n, *shape)
    if tuple(t.shape) != (n, *shape):
        one = "a scalar" if not shape else f"shape {shape}"
        raise ArgumentError(
            f"{name}: expected {one} or one per sample, shape {(n, *shape)}, got shape {tuple(t.shape)}"
        )
    return t


def _kernel(kernel: Any, n: int, name: str, ndim: int) -> Tensor:
    _constant(kernel, name, "kernel")
    k = kernel.detach() if isinstance(kernel, Tensor) else torch.as_tensor(kernel)
    if k.dim() not in (ndim, ndim + 1) or k.numel() == 0:
        raise ArgumentError(
            f"{name}: expected a non-empty {ndim}-D kernel or one per sample, got shape {tuple(k.shape)}"
        )
    k = k.to(torch.float32)
    return k.expand(n, *k.shape) if k.dim() == ndim else _per_sample(k, n, name, tuple(k.shape[1:]))


# ----------------------------------------------------------------------------------------------- warps
def _warp(
    op: str, img: Any, M: Any, name: str, rows: int, size: Any, interp: str, border: str, fill: Any, layout: str
) -> Tensor:
    nchw = _image(img, layout)
    n, h, w, c = _hw(img, nchw)
    interp = _choice(interp, "interp", ("nearest", "linear", "cubic"))
    border = _choice(border, "border", _BORDERS)
    m = _per_sample(M, n, name, (rows, 3), torch.float64)
    if not m.is_floating_point():
        raise ArgumentTypeError(f"{name}: expected a floating-point tensor, got {m.dtype}")
    grads = torch.is_grad_enabled() and (img.requires_grad or m.requires_grad)
    if grads and interp == "cubic":
        raise ArgumentError(
            "interp: the warp's gradient is computed for 'nearest' and 'linear' only; use one of them, or run a cubic "
            "warp without gradients (torch.no_grad() or detached inputs)"
        )
    if m.requires_grad and grads and img.dtype == torch.uint8:
        raise ArgumentError(f"{name}: a uint8 image has no gradient; convert img to float32 to differentiate {name}")
    height, width = _size(size, (h, w))
    return getattr(_fa, op)(img, m, height, width, interp, border, _fill(fill, c), nchw)


def warp_affine(
    img: Tensor,
    M: Any,
    size: Any = None,
    interp: str = "linear",
    border: str = "constant",
    fill: Any = 0,
    layout: str = "NCHW",
) -> Tensor:
    """fastaug.warp_affine on torch tensors, differentiable with respect to img and M.

    M: (2, 3) or (N, 2, 3), forward (source -> destination pixel coordinates, pixel centres at integers, as
    cv2.warpAffine), a float tensor (it may require grad) or an array. size: output (height, width), default
    the input's. interp: nearest, linear (cubic: forward only). border: constant (with fill), replicate,
    reflect, reflect101, wrap. The same pixels as fastaug.warp_affine.

    Gradients (native adjoint kernels): dL/dimg is the exact adjoint of the forward (each output pixel's
    gradient spread onto the taps it read, with their weights, through the border's index map); dL/dM
    follows from the gradient with respect to the inverse matrix the kernel samples with. With nearest
    interpolation dL/dM is zero (the output is piecewise constant in M)."""
    return _warp("warp_affine", img, M, "M", 2, size, interp, border, fill, layout)


def warp_perspective(
    img: Tensor,
    H: Any,
    size: Any = None,
    interp: str = "linear",
    border: str = "constant",
    fill: Any = 0,
    layout: str = "NCHW",
) -> Tensor:
    """fastaug.warp_perspective on torch tensors, differentiable with respect to img and H ((3, 3) or
    (N, 3, 3), forward); see warp_affine."""
    return _warp("warp_perspective", img, H, "H", 3, size, interp, border, fill, layout)


def resize(img: Tensor, size: Any, interp: str = "linear", layout: str = "NCHW") -> Tensor:
    """Resize to size = (height, width) as a warp, differentiable with respect to img.

    The warp samples source pixel (x + 0.5) * W_in / W_out - 0.5 (cv2.resize's pixel mapping; likewise
    for y) with the replicate border, so its gradient is the warp's adjoint. interp: nearest or linear.

    How its forward differs from fastaug.resize, measured on skimage's 512x512 astronaut (float32 in
    [0, 1]) resized to 256x256, 512x512, 300x200, 1024x700 and 129x1000:
    - linear: the same mapping and border as cv2's INTER_LINEAR (no antialiasing); the warp's float32
      coordinates and weights differ from the resize's by rounding only: max |difference| 3.7e-5 (0 at
      512x512, 6e-8 at 256x256).
    - nearest: the pixel nearest to the mapped centre (ties to even), i.e. torch's 'nearest-exact' (equal
      to F.interpolate(mode='nearest-exact') at 300x200 and 129x1000; 0.13% of values differ at 1024x700,
      where a coordinate lands within float32 rounding of a half). cv2's INTER_NEAREST (fastaug.resize)
      takes floor(x * W_in / W_out) instead, another pixel for many rows and columns: 81% of values differ
      at 300x200 (up to 0.96), none at exact 2x reductions.
    area and cubic are not offered: area is not a warp, and the warp's gradient has no cubic kernel."""
    nchw = _image(img, layout)
    n, h, w, _ = _hw(img, nchw)
    interp = _choice(interp, "interp", ("nearest", "linear"))
    height, width = _size(size, (h, w))
    sx, sy = w / width, h / height  # source pixels per destination pixel
    # destination = (source + 0.5) / s - 0.5: the forward matrix of source = (destination + 0.5) * s - 0.5
    m = torch.tensor([[1 / sx, 0.0, 0.5 / sx - 0.5], [0.0, 1 / sy, 0.5 / sy - 0.5]], dtype=torch.float64)
    return _fa.warp_affine(img, m.expand(n, 2, 3), height, width, interp, "replicate", [0.0], nchw)


# --------------------------------------------------------------------------------------------- filters
def filter2d(img: Tensor, kernel: Any, border: str = "reflect101", fill: Any = 0, layout: str = "NCHW") -> Tensor:
    """fastaug.filter2d (correlation, like cv2.filter2D; kernel (kh, kw) or (N, kh, kw), anchored at
    (kh // 2, kw // 2)), differentiable with respect to img. The gradient: the zero-padded output gradient
    correlated with the flipped kernel (the native filter2d), the padded ring then folded back onto the
    pixels the border copied it from."""
    nchw = _image(img, layout)
    n, _, _, c = _hw(img, nchw)
    k = _kernel(kernel, n, "kernel", 2)
    return _fa.filter2d(img, k, _choice(border, "border", _BORDERS), _fill(fill, c), nchw)


def sep_filter2d(
    img: Tensor,
    kx: Any,
    ky: Any,
    border: str = "reflect101",
    fill: Any = 0,
    delta: float = 0.0,
    layout: str = "NCHW",
) -> Tensor:
    """fastaug.sep_filter2d to float32 (rows with kx, then columns with ky; 1-D or one per sample),
    differentiable with respect to img (the adjoint through the native sep_filter2d, as filter2d's)."""
    nchw = _image(img, layout)
    n, _, _, c = _hw(img, nchw)
    x, y = _kernel(kx, n, "kx", 1), _kernel(ky, n, "ky", 1)
    return _fa.sep_filter2d(img, x, y, _choice(border, "border", _BORDERS), _fill(fill, c), float(delta), nchw)


def _ksize(ksize: Any, odd: bool) -> tuple[int, int]:
    kh, kw = _size(ksize, (0, 0))
    if any(k > 255 or (odd and k % 2 == 0) for k in (kh, kw)):
        raise ArgumentError(f"ksize: expected {'odd ' if odd else ''}sizes between 1 and 255, got ({kh}, {kw})")
    return kh, kw


def gaussian_blur(
    img: Tensor,
    ksize: Any,
    sigma: Any = 0.0,
    border: str = "reflect101",
    layout: str = "NCHW",
    *,
    sigma_y: Any = None,
) -> Tensor:
    """fastaug.gaussian_blur (cv2.GaussianBlur: ksize odd int or (height, width); sigma and sigma_y a
    scalar or one per sample, <= 0 computed from ksize), differentiable with respect to img. The gradient
    uses the very kernels the forward used (read from its response to an impulse) in the separable
    adjoint."""
    nchw = _image(img, layout)
    n = img.shape[0]
    kh, kw = _ksize(ksize, odd=True)
    _constant(sigma, "sigma", "sigma")
    _constant(sigma_y, "sigma_y", "sigma")
    sx = _sigmas(sigma, n, "sigma")
    sy = sx if sigma_y is None else _sigmas(sigma_y, n, "sigma_y")
    return _fa.gaussian_blur(img, kh, kw, torch.stack([sx, sy], -1), _choice(border, "border", _BORDERS), nchw)


def _sigmas(sigma: Any, n: int, name: str) -> Tensor:
    """(n,) float64 sigmas, detached: a constant (_constant has refused one that needs a gradient)."""
    value = sigma.detach() if isinstance(sigma, Tensor) else sigma
    return _per_sample(value, n, name, (), torch.float64).to(torch.float64)


def box_blur(img: Tensor, ksize: Any, border: str = "reflect101", layout: str = "NCHW") -> Tensor:
    """fastaug.box_blur (cv2.blur: the normalised box, ksize an int or (height, width)), differentiable
    with respect to img (the separable adjoint with the box's kernels)."""
    nchw = _image(img, layout)
    kh, kw = _ksize(ksize, odd=False)
    return _fa.box_blur(img, kh, kw, _choice(border, "border", _BORDERS), nchw)


def sobel(
    img: Tensor,
    dx: int = 1,
    dy: int = 0,
    ksize: int = 3,
    scale: float = 1.0,
    delta: float = 0.0,
    border: str = "reflect101",
    layout: str = "NCHW",
) -> Tensor:
    """fastaug.sobel (cv2.Sobel to float32, unnormalised; ksize 1, 3, 5, 7 or -1 for Scharr),
    differentiable with respect to img (the adjoint of the kernel read from the forward's impulse
    response)."""
    nchw = _image(img, layout)
    if ksize not in (-1, 1, 3, 5, 7):
        raise ArgumentError(f"ksize: expected 1, 3, 5, 7 or -1 (Scharr), got {ksize!r}")
    if not (isinstance(dx, int) and isinstance(dy, int) and dx >= 0 and dy >= 0 and dx + dy > 0):
        raise ArgumentError(f"dx, dy: expected non-negative int orders with dx + dy > 0, got ({dx!r}, {dy!r})")
    return _fa.sobel(img, dx, dy, int(ksize), float(scale), float(delta), _choice(border, "border", _BORDERS), nchw)


# ----------------------------------------------------------------------------------------------- colour
def _float_image(img: Any, layout: str) -> bool:
    return _image(img, layout, (torch.float32,))


def _apply(img: Tensor, lin: Tensor, offset: Tensor, nchw: bool, clamp: bool) -> Tensor:
    out = _fa.color_transform(img, lin, offset, nchw)
    return out.clamp(0.0, 1.0) if clamp else out


def _eye(n: int, c: int, like: Tensor) -> Tensor:
    return torch.eye(c, dtype=like.dtype, device=like.device).expand(n, c, c)


def _colour_mask(c: int, like: Tensor) -> Tensor:
    """(C,) 1 for the colour channels, 0 for alpha (the 4th): the adjustments leave alpha as it is."""
    return torch.tensor([1.0] * min(c, 3) + [0.0] * (c - 3), dtype=like.dtype, device=like.device)


def _unchanged(img: Tensor, f: Tensor, nchw: bool, clamp: bool) -> Tensor:
    """img through the identity matrix: a copy (clamped unless clamp=False), for one-channel images."""
    n, c = f.shape[0], _hw(img, nchw)[3]
    return _apply(img, _eye(n, c, f), f.new_zeros(n, c), nchw, clamp)


def _gray_weights(c: int, like: Tensor) -> Tensor:
    """(C,) weights of the grey value: torchvision's for RGB(A) (alpha weight 0), 1 for one channel."""
    w = GRAY_WEIGHTS + (0.0,) * (c - 3) if c >= 3 else (1.0,)
    return torch.tensor(w, dtype=like.dtype, device=like.device)


def _factor(value: Any, n: int, name: str) -> Tensor:
    return _per_sample(value, n, name)


def brightness(img: Tensor, factor: Any, layout: str = "NCHW", clamp: bool = True) -> Tensor:
    """torchvision's adjust_brightness on float images in [0, 1]: img * factor (factor a scalar or (N,),
    e.g. a tensor that requires grad), clamped to [0, 1] unless clamp=False (the clamp has zero gradient
    where it cuts; DiffAugment-style training usually wants clamp=False). Differentiable with respect to
    img and factor; alpha (RGBA) is scaled too, as torchvision does. The native color_transform."""
    nchw = _float_image(img, layout)
    n, _, _, c = _hw(img, nchw)
    f = _factor(factor, n, "factor")
    lin = f[:, None, None] * _eye(n, c, f)
    return _apply(img, lin, f.new_zeros(n, c), nchw, clamp)


def contrast(img: Tensor, factor: Any, layout: str = "NCHW", clamp: bool = True) -> Tensor:
    """torchvision's adjust_contrast on float images in [0, 1]: factor * img + (1 - factor) * m, m the
    mean of the image's grey values (0.2989 R + 0.587 G + 0.114 B; the image itself for one channel),
    clamped unless clamp=False. Differentiable with respect to img (including m's dependence on every
    pixel: m is a torch mean, so autograd sends its gradient back through it) and factor. The native
    color_transform with a per-sample matrix."""
    nchw = _float_image(img, layout)
    n, _, _, c = _hw(img, nchw)
    f = _factor(factor, n, "factor")
    means = img.mean((2, 3) if nchw else (1, 2))  # (N, C)
    m = (means * _gray_weights(c, img)).sum(1).to(f.dtype)
    lin = f[:, None, None] * _eye(n, c, f)
    offset = ((1 - f) * m)[:, None].expand(n, c)
    if c == 4:  # alpha is not blended towards the grey mean
        keep = _colour_mask(c, f)
        lin = lin + (1 - f)[:, None, None] * torch.diag(1 - keep)
        offset = offset * keep
    return _apply(img, lin, offset, nchw, clamp)


def saturation(img: Tensor, factor: Any, layout: str = "NCHW", clamp: bool = True) -> Tensor:
    """torchvision's adjust_saturation on float images in [0, 1]: factor * img + (1 - factor) * grey(img)
    per pixel, clamped unless clamp=False; a one-channel image is returned as is (copied), alpha passes
    through. Differentiable with respect to img and factor (the native color_transform)."""
    nchw = _float_image(img, layout)
    n, _, _, c = _hw(img, nchw)
    f = _factor(factor, n, "factor")
    if c == 1:
        return _unchanged(img, f, nchw, clamp)
    gray = torch.zeros(c, c, dtype=f.dtype, device=f.device)
    gray[:3] = _gray_weights(c, f)  # rows R, G, B: the grey value; alpha's row stays 0
    eye = torch.eye(c, dtype=f.dtype, device=f.device)
    keep = _colour_mask(c, f)
    blend = f[:, None, None] * eye * keep[:, None] + (1 - f)[:, None, None] * gray
    lin = blend + eye * (1 - keep)[:, None]
    return _apply(img, lin, f.new_zeros(n, c), nchw, clamp)


def hue(img: Tensor, factor: Any, layout: str = "NCHW", clamp: bool = True) -> Tensor:
    """Hue rotation by factor turns (factor in [-0.5, 0.5], a scalar or (N,)): RGB rotated by the angle
    2 pi factor about the grey axis (1, 1, 1) / sqrt(3), StyleGAN2-ADA's hue rotation (one colour matrix,
    differentiable everywhere, with respect to img and factor). factor 1/3 takes red to green as
    torchvision's adjust_hue does, and greys stay fixed, but it is not torchvision's HSV shift: that is
    piecewise in the colour (its gradient is zero or undefined at the kinks where the largest channel
    changes, and with respect to the factor it is zero wherever a channel saturates), while this keeps
    the luma-axis component and the chroma's length. Use fastaug.hue_shift (no gradient) for
    torchvision's pixels. Clamped to [0, 1] unless clamp=False (rotated colours can leave the cube);
    one channel: returned as is (copied); alpha passes through."""
    nchw = _float_image(img, layout)
    n, _, _, c = _hw(img, nchw)
    f = _factor(factor, n, "factor")
    if c == 1:
        return _unchanged(img, f, nchw, clamp)
    theta = 2 * math.pi * f
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    u = torch.full((3,), 1 / math.sqrt(3), dtype=f.dtype, device=f.device)
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], dtype=f.dtype, device=f.device)
    cross = cross / math.sqrt(3)  # [u]_x: the cross product with u
    eye3 = torch.eye(3, dtype=f.dtype, device=f.device)
    rot = cos * eye3 + sin * cross + (1 - cos) * torch.outer(u, u)  # Rodrigues' rotation formula
    if c == 4:
        rot = torch.nn.functional.pad(rot, (0, 1, 0, 1)) + torch.diag(1 - _colour_mask(c, f))  # alpha kept
    return _apply(img, rot, f.new_zeros(n, c), nchw, clamp)


def gamma(img: Tensor, gamma: Any, layout: str = "NCHW", clamp: bool = True) -> Tensor:
    """torchvision's adjust_gamma (gain 1) on float images in [0, 1]: img ** gamma (gamma > 0, a scalar
    or (N,)), clamped to [0, 1] unless clamp=False. Differentiable with respect to img and gamma (torch's
    pow: the image gradient gamma * x ** (gamma - 1) is infinite at x = 0 for gamma < 1, and the gamma
    gradient x ** gamma * log(x) is taken as 0 there). A torch elementwise operation, not a native
    kernel."""
    _float_image(img, layout)
    g = _factor(gamma, img.shape[0], "gamma").to(img.dtype)
    out = img.pow(g[:, None, None, None])
    return out.clamp(0.0, 1.0) if clamp else out


def erase(img: Tensor, boxes: Any, value: Any = 0.0, layout: str = "NCHW") -> Tensor:
    """RandomErasing / DiffAugment's cutout: each image's pixels inside its box set to value.

    boxes: (4,) for every image or (N, 4) integer (x0, y0, x1, y1), the half-open pixel rectangle
    [x0, x1) x [y0, y1), clipped to the image (a box may hang over the edges, as DiffAugment's cutout).
    value: a scalar, (N,) one per image, or (N, C) one per image and channel (it may require grad).
    Differentiable with respect to img (the gradient is zero inside the box) and value. A masked torch
    select (torch.where over a mask built from the boxes by broadcasting), not a native kernel."""
    nchw = _image(img, layout)
    n, h, w, c = _hw(img, nchw)
    b = boxes if isinstance(boxes, Tensor) else torch.as_tensor(boxes)
    if b.is_floating_point() or b.dtype == torch.bool:
        raise ArgumentTypeError(f"boxes: expected integer (x0, y0, x1, y1) boxes, got dtype {b.dtype}")
    b = _per_sample(b, n, "boxes", (4,), torch.int64).to(img.device)
    ys = torch.arange(h, device=img.device)
    xs = torch.arange(w, device=img.device)
    in_y = (ys >= b[:, 1:2]) & (ys < b[:, 3:4])  # (N, H)
    in_x = (xs >= b[:, 0:1]) & (xs < b[:, 2:3])  # (N, W)
    mask = in_y[:, :, None] & in_x[:, None, :]
    v = value if isinstance(value, Tensor) else torch.tensor(value, dtype=img.dtype)
    v = v.to(device=img.device, dtype=img.dtype)
    if v.dim() == 2:
        if tuple(v.shape) != (n, c):
            raise ArgumentError(f"value: expected a scalar, (N,) or (N, C) = {(n, c)}, got shape {tuple(v.shape)}")
    else:
        v = _per_sample(v, n, "value")[:, None]
    if nchw:
        return torch.where(mask[:, None], v[:, :, None, None], img)
    return torch.where(mask[..., None], v[:, None, None, :], img)


def normalize(
    img: Tensor,
    mean: Any,
    std: Any,
    layout: str = "NCHW",
    max_pixel_value: float | None = None,
    out_layout: str | None = None,
) -> Tensor:
    """fastaug.normalize: (img / max_pixel_value - mean) / std per channel (mean and std in [0, 1] units;
    max_pixel_value 255 for uint8, 1 for float32), float32, written in out_layout (default: the input's;
    a uint8 NHWC batch to an NCHW training tensor in one pass). Differentiable with respect to img (the
    gradient is the output gradient divided by std * max_pixel_value); mean and std are constants."""
    nchw = _image(img, layout)
    c = _hw(img, nchw)[3]
    if out_layout not in (None, "NCHW", "NHWC"):
        raise ArgumentError(f"out_layout: expected None, 'NCHW' or 'NHWC', got {out_layout!r}")
    out_nchw = nchw if out_layout is None else out_layout == "NCHW"
    means, stds = _channels(mean, c, "mean"), _channels(std, c, "std")
    if any(s == 0 for s in stds):
        raise ArgumentError(f"std: expected non-zero values, got {stds}")
    scale = float(max_pixel_value) if max_pixel_value else (255.0 if img.dtype == torch.uint8 else 1.0)
    return _fa.normalize(img, means, stds, scale, nchw, out_nchw)


def _channels(value: Any, c: int, name: str) -> list[float]:
    _constant(value, name, name)
    if isinstance(value, Tensor):
        value = value.detach().cpu().tolist()
    values = [float(value)] * c if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != c or not all(math.isfinite(v) for v in values):
        raise ArgumentError(f"{name}: expected a scalar or {c} finite values (one per channel), got {value!r}")
    return values
