"""fastaug's kernels as torch custom operators (``torch.ops.fastaug.*``), so that autograd differentiates
them and torch.compile(fullgraph=True) traces them as opaque nodes.

Each operator has a real implementation (a fastaug core call on detached tensors: the native kernels read
the caller's tensors through their strides and write a tensor allocated once here), a fake implementation
(the output's shape from the arguments, no data access) and, where it is differentiable, an autograd formula
whose backward pass is itself made of custom operators (native kernels) and vectorised torch operations.
Those are differentiable in turn along the image path (the adjoint of an adjoint is the forward map), so
penalties on input gradients (R1) work through them; second derivatives with respect to a warp matrix are
not implemented (a clear error).

Images are 4-D, (N, C, H, W) when ``nchw`` is true, else (N, H, W, C). The native kernels are channels-last
and accept any strides: an NCHW tensor goes to them as its permuted view, never copied, and an NCHW output
is allocated as NCHW and written through its permuted view.

Matrices, kernels and per-sample parameters are tensors read on the host (a CUDA tensor is copied to the
host, which waits for its stream: draw parameters on the CPU).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import _backend
from .. import functional as F
from .._interop import Image
from .._params import fill4
from .._types import Border, Interp, parse_enum

__all__ = [
    "box_blur",
    "color_transform",
    "filter2d",
    "filter2d_backward",
    "gaussian_blur",
    "gaussian_kernels",
    "normalize",
    "sep_filter2d",
    "sep_filter2d_backward",
    "sobel",
    "sobel_kernel",
    "warp_affine",
    "warp_backward",
    "warp_perspective",
]


# ----------------------------------------------------------------------------------------------- layouts
def _nhwc(t: Tensor, nchw: bool) -> Tensor:
    """The channels-last view the native kernels take (a permuted view of an NCHW tensor: no copy)."""
    t = t.detach()
    return t.permute(0, 2, 3, 1) if nchw else t


def _dims(t: Tensor, nchw: bool) -> tuple[int, int, int, int]:
    """(N, H, W, C) of an image in its layout."""
    n, a, b, c = t.shape
    return (n, b, c, a) if nchw else (n, a, b, c)


def _shape(nchw: bool, n: int, h: int, w: int, c: int) -> tuple[int, int, int, int]:
    return (n, c, h, w) if nchw else (n, h, w, c)


def _new(like: Tensor, nchw: bool, n: int, h: int, w: int, c: int, dtype: Any = None) -> tuple[Tensor, Tensor]:
    """A new image in the layout (allocated once, contiguous) and the channels-last view the kernel writes; on the
    CPU from fastaug's recycled blocks when large (_backend.empty_torch_cpu)."""
    shape, dtype = _shape(nchw, n, h, w, c), dtype or like.dtype
    if like.device.type == "cpu" and dtype in _DTYPES:
        out = _backend.empty_torch_cpu(shape, _DTYPES[dtype])
    else:
        out = torch.empty(shape, dtype=dtype, device=like.device)
    return out, _nhwc(out, nchw)


def _host(t: Tensor, dtype: Any = np.float64) -> np.ndarray:
    """A small parameter tensor (matrix, kernel, sigma) as a host NumPy array."""
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=dtype)


def _fake_like(img: Tensor, nchw: bool, h: int | None = None, w: int | None = None) -> Tensor:
    n, ih, iw, c = _dims(img, nchw)
    return img.new_empty(_shape(nchw, n, ih if h is None else h, iw if w is None else w, c))


# ------------------------------------------------------------------------------------------ direct calls
# The operators below run once or twice per training step on small batches (GAN augmentation at 32 px), where
# fastaug.functional's validation and wrapping cost as much as the kernels. A CPU call with arguments of the
# expected shapes and dtypes goes straight to the backend (_backend.run, the same kernel and bits) with the views
# wrapped as already checked; anything else, and any call the backend refuses, goes through fastaug.functional,
# which validates every argument and names the one at fault.
_DTYPES = {torch.float32: "float32", torch.uint8: "uint8"}
# what Tensor.__dlpack__ returns for a CPU tensor, without its checks (a third of a small call's cost)
_TO_DLPACK = getattr(torch._C, "_to_dlpack_versioned", None)


class _Checked(Image):
    """A CPU tensor as fastaug's Image, already checked by the caller (a 4-D channels-last view of an image
    dtype, detached): no validation."""

    def __init__(self, t: Tensor, name: str = "img") -> None:
        self.obj = self.result = t
        self.framework, self.device, self.name = "torch", "cpu", name
        self.shape = tuple(t.shape)
        self.dtype = _DTYPES[t.dtype]
        self.n, self.h, self.w, self.c = self.shape

    def capsule(self, stream: int | None = None) -> Any:
        return _TO_DLPACK(self.obj) if _TO_DLPACK is not None else super().capsule(stream)


def _direct(img: Tensor, nchw: bool, *params: Tensor, dtypes: tuple[Any, ...] = (torch.float32, torch.uint8)) -> bool:
    """Whether a call on this image and these parameter tensors may skip fastaug.functional."""
    return (
        img.device.type == "cpu"
        and all(t.device.type == "cpu" for t in params)
        and img.dim() == 4
        and img.dtype in dtypes
        and _dims(img, nchw)[3] in (1, 3, 4)
        and img.numel() > 0
    )


@functools.lru_cache(maxsize=64)
def _warp_codes(interp: str, border: str, backward: bool) -> tuple[int, int]:
    """(interp, border) codes; unknown names raise as fastaug.functional does (errors are not cached)."""
    interps = (Interp.NEAREST, Interp.LINEAR) if backward else (Interp.NEAREST, Interp.LINEAR, Interp.CUBIC)
    return parse_enum(interp, Interp, "interp", interps), parse_enum(border, Border, "border")


@functools.lru_cache(maxsize=64)
def _fill4(fill: tuple[float, ...], channels: int) -> tuple[float, float, float, float]:
    return fill4(list(fill), channels)


# ----------------------------------------------------------------------------------------------- warps
_MATRIX_SHAPES = {"warp_affine": (2, 3), "warp_perspective": (3, 3)}


def _warp(
    op: str, img: Tensor, M: Tensor, height: int, width: int, interp: str, border: str, fill: list[float], nchw: bool
) -> Tensor:
    n, _, _, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, height, width, c)
    src = _nhwc(img, nchw)
    if _direct(img, nchw, M) and height > 0 and width > 0 and M.shape == (n, *_MATRIX_SHAPES[op]):
        try:
            codes = _warp_codes(interp, border, False)
            _backend.run(op, _Checked(src), _Checked(view, "out"), _host(M), *codes, _fill4(tuple(fill), c))
            return out
        except Exception:  # noqa: BLE001  (the validating path below raises the named error)
            pass
    getattr(F, op)(src, _host(M), (height, width), interp, border, fill, out=view)
    return out


@torch.library.custom_op("fastaug::warp_affine", mutates_args=())
def warp_affine(
    img: Tensor, M: Tensor, height: int, width: int, interp: str, border: str, fill: list[float], nchw: bool
) -> Tensor:
    """fastaug.warp_affine; M (N, 2, 3), forward (source -> destination pixel coordinates)."""
    return _warp("warp_affine", img, M, height, width, interp, border, fill, nchw)


@torch.library.custom_op("fastaug::warp_perspective", mutates_args=())
def warp_perspective(
    img: Tensor, M: Tensor, height: int, width: int, interp: str, border: str, fill: list[float], nchw: bool
) -> Tensor:
    """fastaug.warp_perspective; M (N, 3, 3), forward."""
    return _warp("warp_perspective", img, M, height, width, interp, border, fill, nchw)


@torch.library.custom_op("fastaug::warp_backward", mutates_args=())
def warp_backward(
    grad: Tensor,
    img: Tensor,
    M: Tensor,
    op: str,
    interp: str,
    border: str,
    fill: list[float],
    nchw: bool,
    need_img: bool,
    need_matrix: bool,
) -> tuple[Tensor, Tensor]:
    """(dL/dimg, dL/dM) of warp_affine / warp_perspective from dL/dout, by the native adjoint
    (fastaug.functional.warp.warp_backward): the image gradient is the forward's exact adjoint, written into
    a tensor of img's layout through its channels-last view; the kernel's dL/dMinv becomes
    dL/dM = -Minv^T dL/dMinv Minv^T (the 2x3 part for affine). A gradient not asked for comes back as an
    empty tensor."""
    from ..functional.warp import warp_backward as native
    from ..functional.warp import warp_backward_matrix

    n, h, w, c = _dims(img, nchw)
    m = _host(M)
    if (
        need_img
        and not need_matrix
        and _direct(img, nchw, grad, M, dtypes=(torch.float32,))
        and _direct(grad, nchw, dtypes=(torch.float32,))
        and _dims(grad, nchw)[::3] == (n, c)
        and M.shape == (n, *_MATRIX_SHAPES[op])
    ):
        direct, direct_view = _new(img, nchw, n, h, w, c)
        try:
            codes = _warp_codes(interp, border, True)
            srcs: list[Image] = [_Checked(_nhwc(grad, nchw), "grad"), _Checked(_nhwc(img, nchw))]
            fills = _fill4(tuple(fill), c)
            _backend.run(f"{op}_backward", srcs, _Checked(direct_view, "out"), m, *codes, fills, None, True)
            return direct, M.new_empty(0)
        except Exception:  # noqa: BLE001  (the validating path below raises the named error)
            pass
    grad_img, view = _new(img, nchw, n, h, w, c) if need_img else (img.new_empty(0), None)
    _, grad_inv = native(
        op,
        _nhwc(grad, nchw),
        _nhwc(img, nchw),
        m,
        interp,
        border,
        fill,
        need_img=need_img,
        need_matrix=need_matrix,
        out=view,
    )
    grad_m = M.new_empty(0)
    if need_matrix:
        grad_m = torch.from_numpy(warp_backward_matrix(op, m, grad_inv)).to(device=M.device, dtype=M.dtype)
    return grad_img, grad_m


@warp_backward.register_fake
def _(grad: Tensor, img: Tensor, M: Tensor, *args: Any) -> tuple[Tensor, Tensor]:
    need_img, need_matrix = args[-2:]  # the fake needs only the two flags that end the schema
    return (torch.empty_like(img) if need_img else img.new_empty(0)), (
        torch.empty_like(M) if need_matrix else M.new_empty(0)
    )


def _register_warp(op: Any, name: str) -> None:
    @op.register_fake
    def _(
        img: Tensor, M: Tensor, height: int, width: int, interp: str, border: str, fill: list[float], nchw: bool
    ) -> Tensor:
        return _fake_like(img, nchw, height, width)

    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        img, M, _, _, interp, border, fill, nchw = inputs
        ctx.save_for_backward(img, M)
        ctx.args = (interp, border, fill, nchw)

    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        img, M = ctx.saved_tensors
        interp, border, fill, nchw = ctx.args
        need_img, need_matrix = bool(ctx.needs_input_grad[0]), bool(ctx.needs_input_grad[1])
        gi, gm = torch.ops.fastaug.warp_backward(grad, img, M, name, interp, border, fill, nchw, need_img, need_matrix)
        return (gi if need_img else None, gm if need_matrix else None, None, None, None, None, None, None)

    op.register_autograd(backward, setup_context=setup_context)


_register_warp(warp_affine, "warp_affine")
_register_warp(warp_perspective, "warp_perspective")


def _warp_backward_setup(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
    grad, _, M, op, interp, border, _, nchw, _, need_matrix = inputs
    ctx.save_for_backward(M)
    ctx.args = (op, interp, border, nchw, need_matrix, *_dims(grad, nchw)[1:3])


def _warp_backward_backward(ctx: Any, gg_img: Tensor, gg_m: Tensor) -> tuple[Tensor | None, ...]:
    """Second order along the image path (R1-style penalties on augmented images): the image gradient is
    linear in the output gradient, and the adjoint of that map is the forward warp itself (fill 0, the
    linear part). Derivatives of the warp's gradients with respect to its matrix are not implemented."""
    (M,) = ctx.saved_tensors
    op, interp, border, nchw, need_matrix, height, width = ctx.args
    if need_matrix or ctx.needs_input_grad[2]:
        raise NotImplementedError(
            "fastaug.torch: second-order gradients through a warp whose matrix requires grad are not implemented; "
            "pass the matrix detached for a pass that differentiates twice (e.g. an R1 penalty)"
        )
    grad_grad = None
    if ctx.needs_input_grad[0]:
        grad_grad = getattr(torch.ops.fastaug, op)(gg_img, M, height, width, interp, border, [0.0], nchw)
    return (grad_grad, *([None] * 9))


warp_backward.register_autograd(_warp_backward_backward, setup_context=_warp_backward_setup)


# --------------------------------------------------------------------------------------------- filters
def map_border(i: np.ndarray, n: int, border: str) -> np.ndarray:
    """csrc/common/border.hpp's map_border, vectorised: coordinate i to [0, n), -1 outside for constant."""
    code = Border(parse_enum(border, Border, "border"))
    inside = (i >= 0) & (i < n)
    if code == Border.CONSTANT:
        mapped = np.full_like(i, -1)
    elif code == Border.REPLICATE:
        mapped = np.where(i < 0, 0, n - 1)
    elif code == Border.REFLECT:
        m = np.mod(i, 2 * n)
        mapped = np.where(m < n, m, 2 * n - 1 - m)
    elif code == Border.REFLECT101:
        if n == 1:
            mapped = np.zeros_like(i)
        else:
            m = np.mod(i, 2 * n - 2)
            mapped = np.where(m < n, m, 2 * n - 2 - m)
    else:
        mapped = np.mod(i, n)
    return np.where(inside, i, mapped)


def _fold_axis(p: Tensor, dim: int, n: int, anchor: int, border: str) -> Tensor:
    """The adjoint of border extension along one axis: p has n + k - 1 entries along dim, entry j holding
    the gradient of extended coordinate j - anchor; the entries outside [anchor, anchor + n) are added onto
    the pixels the border copied them from (dropped for the constant border)."""
    core = p.narrow(dim, anchor, n)
    ring = np.r_[0:anchor, anchor + n : p.shape[dim]]
    src = map_border(ring - anchor, n, border)
    keep = src >= 0
    if not keep.any():
        return core
    out = core.clone()
    index = torch.from_numpy(src[keep]).to(p.device)
    out.index_add_(dim, index, p.index_select(dim, torch.from_numpy(ring[keep]).to(p.device)))
    return out


def _adjoint(grad: Tensor, nchw: bool, kh: int, kw: int, border: str, correlate: Any) -> Tensor:
    """The gradient of "extend by the border, then correlate with a kh x kw kernel anchored at
    (kh // 2, kw // 2)": the zero-padded gradient correlated with the flipped kernel (`correlate(src, dst)`,
    a native call with the constant border 0) gives the gradient of every extended pixel, and the padded
    ring is folded back onto the pixels it was copied from."""
    n, h, w, c = _dims(grad, nchw)
    ay, ax = kh // 2, kw // 2
    if kh % 2 and kw % 2 and Border(parse_enum(border, Border, "border")) == Border.CONSTANT:
        out, view = _new(grad, nchw, n, h, w, c)  # odd kernels: the flipped kernel is anchored right
        correlate(_nhwc(grad, nchw), view)
        return out
    top, left = kh - 1 - ay, kw - 1 - ax
    padded = grad.new_zeros(_shape(nchw, n, h + kh - 1, w + kw - 1, c))
    _nhwc(padded, nchw)[:, top : top + h, left : left + w] = _nhwc(grad, nchw)
    full, view = _new(grad, nchw, n, h + kh - 1, w + kw - 1, c)
    correlate(_nhwc(padded, nchw), view)
    hd = 2 if nchw else 1
    out = _fold_axis(_fold_axis(full, hd, h, ay, border), hd + 1, w, ax, border)
    return out if out.is_contiguous() else out.contiguous()  # a view of `full` (constant border): its own tensor


@torch.library.custom_op("fastaug::filter2d", mutates_args=())
def filter2d(img: Tensor, kernel: Tensor, border: str, fill: list[float], nchw: bool) -> Tensor:
    """fastaug.filter2d; kernel (N, kh, kw)."""
    n, h, w, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, h, w, c)
    F.filter2d(_nhwc(img, nchw), _host(kernel, np.float32), border, fill, out=view)
    return out


@torch.library.custom_op("fastaug::filter2d_backward", mutates_args=())
def filter2d_backward(grad: Tensor, kernel: Tensor, border: str, nchw: bool) -> Tensor:
    """dL/dimg of filter2d (any fill: the border's constant does not depend on the image)."""
    k = np.ascontiguousarray(_host(kernel, np.float32)[:, ::-1, ::-1])
    return _adjoint(
        grad, nchw, k.shape[1], k.shape[2], border, lambda src, dst: F.filter2d(src, k, "constant", 0, out=dst)
    )


@torch.library.custom_op("fastaug::sep_filter2d", mutates_args=())
def sep_filter2d(
    img: Tensor, kx: Tensor, ky: Tensor, border: str, fill: list[float], delta: float, nchw: bool
) -> Tensor:
    """fastaug.sep_filter2d to float32; kx (N, kw), ky (N, kh)."""
    n, h, w, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, h, w, c, torch.float32)
    F.sep_filter2d(
        _nhwc(img, nchw), _host(kx, np.float32), _host(ky, np.float32), border, fill, delta, "float32", out=view
    )
    return out


@torch.library.custom_op("fastaug::sep_filter2d_backward", mutates_args=())
def sep_filter2d_backward(grad: Tensor, kx: Tensor, ky: Tensor, border: str, nchw: bool) -> Tensor:
    """dL/dimg of any separable correlation (sep_filter2d, gaussian_blur, box_blur) with kernels kx, ky."""
    fx = np.ascontiguousarray(_host(kx, np.float32)[:, ::-1])
    fy = np.ascontiguousarray(_host(ky, np.float32)[:, ::-1])
    return _adjoint(
        grad,
        nchw,
        fy.shape[1],
        fx.shape[1],
        border,
        lambda src, dst: F.sep_filter2d(src, fx, fy, "constant", 0, out=dst),
    )


@torch.library.custom_op("fastaug::gaussian_blur", mutates_args=())
def gaussian_blur(img: Tensor, kh: int, kw: int, sigma: Tensor, border: str, nchw: bool) -> Tensor:
    """fastaug.gaussian_blur; sigma (N, 2) = (sigma_x, sigma_y) per sample."""
    n, h, w, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, h, w, c)
    s = _host(sigma)
    F.gaussian_blur(_nhwc(img, nchw), (kh, kw), s[:, 0], border, sigma_y=s[:, 1], out=view)
    return out


@torch.library.custom_op("fastaug::gaussian_kernels", mutates_args=())
def gaussian_kernels(kh: int, kw: int, sigma: Tensor) -> tuple[Tensor, Tensor]:
    """The (N, kw) and (N, kh) float32 kernels fastaug.gaussian_blur uses for float32 images (OpenCV's
    tables or sampled Gaussians), read from its response to an impulse: the response r is the flipped
    outer product ky x kx, so kx = r[ay, ::-1] and ky = r[::-1, ax] / r[ay, ax]."""
    s = _host(sigma)
    n = s.shape[0]
    impulse = np.zeros((n, kh, kw, 1), np.float32)
    impulse[:, kh // 2, kw // 2] = 1
    r = F.gaussian_blur(impulse, (kh, kw), s[:, 0], "constant", sigma_y=s[:, 1])[..., 0].astype(np.float64)
    centre = r[:, kh // 2, kw // 2]
    kx = r[:, kh // 2, ::-1]
    ky = r[:, ::-1, kw // 2] / centre[:, None]
    return torch.from_numpy(np.ascontiguousarray(kx, np.float32)), torch.from_numpy(
        np.ascontiguousarray(ky, np.float32)
    )


@gaussian_kernels.register_fake
def _(kh: int, kw: int, sigma: Tensor) -> tuple[Tensor, Tensor]:
    n = sigma.shape[0]
    return torch.empty((n, kw), dtype=torch.float32), torch.empty((n, kh), dtype=torch.float32)


@torch.library.custom_op("fastaug::box_blur", mutates_args=())
def box_blur(img: Tensor, kh: int, kw: int, border: str, nchw: bool) -> Tensor:
    """fastaug.box_blur (the normalised kh x kw box, anchored at (kh // 2, kw // 2))."""
    n, h, w, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, h, w, c)
    F.box_blur(_nhwc(img, nchw), (kh, kw), border, out=view)
    return out


@torch.library.custom_op("fastaug::sobel", mutates_args=())
def sobel(img: Tensor, dx: int, dy: int, ksize: int, scale: float, delta: float, border: str, nchw: bool) -> Tensor:
    """fastaug.sobel (float32 output)."""
    n, h, w, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, h, w, c, torch.float32)
    F.sobel(_nhwc(img, nchw), dx, dy, ksize, scale, delta, border, out=view)
    return out


def _sobel_size(ksize: int) -> int:
    return 3 if ksize in (-1, 1) else ksize


@torch.library.custom_op("fastaug::sobel_kernel", mutates_args=())
def sobel_kernel(dx: int, dy: int, ksize: int, scale: float) -> Tensor:
    """The (1, k, k) kernel of fastaug.sobel times scale (k = 3 for ksize 1 and Scharr), read from its
    response to an impulse (the flipped kernel)."""
    k = _sobel_size(ksize)
    impulse = np.zeros((1, k, k, 1), np.float32)
    impulse[0, k // 2, k // 2] = 1
    r = F.sobel(impulse, dx, dy, ksize, scale, 0.0, "constant")[..., 0]
    return torch.from_numpy(np.ascontiguousarray(r[:, ::-1, ::-1]))


@sobel_kernel.register_fake
def _(dx: int, dy: int, ksize: int, scale: float) -> Tensor:
    k = _sobel_size(ksize)
    return torch.empty((1, k, k), dtype=torch.float32)


def _register_filter_fakes() -> None:
    """The filters' fake implementations (torch.compile's shapes): the image's shape, float32 where the
    operator writes float32."""

    @filter2d.register_fake
    def _(img: Tensor, kernel: Tensor, border: str, fill: list[float], nchw: bool) -> Tensor:
        return torch.empty_like(img)

    @sep_filter2d.register_fake
    def _(img: Tensor, kx: Tensor, ky: Tensor, border: str, fill: list[float], delta: float, nchw: bool) -> Tensor:
        return torch.empty_like(img, dtype=torch.float32)

    @gaussian_blur.register_fake
    def _(img: Tensor, kh: int, kw: int, sigma: Tensor, border: str, nchw: bool) -> Tensor:
        return torch.empty_like(img)

    @box_blur.register_fake
    def _(img: Tensor, kh: int, kw: int, border: str, nchw: bool) -> Tensor:
        return torch.empty_like(img)

    @sobel.register_fake
    def _(img: Tensor, dx: int, dy: int, ksize: int, scale: float, delta: float, border: str, nchw: bool) -> Tensor:
        return torch.empty_like(img, dtype=torch.float32)

    for op in (filter2d_backward, sep_filter2d_backward):
        op.register_fake(lambda grad, *args: torch.empty_like(grad))


def _register_filter_second_order() -> None:
    """Second order (R1-style penalties): the backward maps are linear in the gradient, and their adjoints
    are the forward correlations (fill and delta 0: the linear part)."""

    def keep_args(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        ctx.args = inputs[1:]
        ctx.save_for_backward(*[x for x in inputs[1:] if isinstance(x, Tensor)])

    def filter2d_backward_backward(ctx: Any, gg: Tensor) -> tuple[Tensor | None, ...]:
        kernel, border, nchw = ctx.saved_tensors[0], ctx.args[1], ctx.args[2]
        return torch.ops.fastaug.filter2d(gg, kernel, border, [0.0], nchw), None, None, None

    def sep_backward_backward(ctx: Any, gg: Tensor) -> tuple[Tensor | None, ...]:
        kx, ky = ctx.saved_tensors
        border, nchw = ctx.args[2], ctx.args[3]
        return torch.ops.fastaug.sep_filter2d(gg, kx, ky, border, [0.0], 0.0, nchw), None, None, None, None

    filter2d_backward.register_autograd(filter2d_backward_backward, setup_context=keep_args)
    sep_filter2d_backward.register_autograd(sep_backward_backward, setup_context=keep_args)


def _register_filter_grads() -> None:
    """Each filter's autograd formula: the gradient with respect to the image only (kernels, sigmas and
    sizes are constants)."""

    def image_only(n_args: int, grad_of: Any) -> tuple[Any, Any]:
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
            ctx.inputs = inputs[1:]
            ctx.save_for_backward(*[x for x in inputs[1:] if isinstance(x, Tensor)])

        def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
            saved = iter(ctx.saved_tensors)
            args = [next(saved) if isinstance(x, Tensor) else x for x in ctx.inputs]
            return (grad_of(grad, *args) if ctx.needs_input_grad[0] else None, *([None] * (n_args - 1)))

        return backward, setup_context

    def filter2d_grad(grad: Tensor, kernel: Tensor, border: str, fill: list[float], nchw: bool) -> Tensor:
        return torch.ops.fastaug.filter2d_backward(grad, kernel, border, nchw)

    def sep_grad(
        grad: Tensor, kx: Tensor, ky: Tensor, border: str, fill: list[float], delta: float, nchw: bool
    ) -> Tensor:
        return torch.ops.fastaug.sep_filter2d_backward(grad, kx, ky, border, nchw)

    def gaussian_grad(grad: Tensor, kh: int, kw: int, sigma: Tensor, border: str, nchw: bool) -> Tensor:
        kx, ky = torch.ops.fastaug.gaussian_kernels(kh, kw, sigma)
        return torch.ops.fastaug.sep_filter2d_backward(grad, kx, ky, border, nchw)

    def box_grad(grad: Tensor, kh: int, kw: int, border: str, nchw: bool) -> Tensor:
        kx = torch.full((1, kw), 1.0 / kw, dtype=torch.float32)
        ky = torch.full((1, kh), 1.0 / kh, dtype=torch.float32)
        n = grad.shape[0]
        return torch.ops.fastaug.sep_filter2d_backward(grad, kx.expand(n, kw), ky.expand(n, kh), border, nchw)

    def sobel_grad(
        grad: Tensor, dx: int, dy: int, ksize: int, scale: float, delta: float, border: str, nchw: bool
    ) -> Tensor:
        kernel = torch.ops.fastaug.sobel_kernel(dx, dy, ksize, scale)
        return torch.ops.fastaug.filter2d_backward(grad, kernel.expand(grad.shape[0], -1, -1), border, nchw)

    for op, n_args, grad_of in (
        (filter2d, 5, filter2d_grad),
        (sep_filter2d, 7, sep_grad),
        (gaussian_blur, 6, gaussian_grad),
        (box_blur, 5, box_grad),
        (sobel, 8, sobel_grad),
    ):
        backward, setup_context = image_only(n_args, grad_of)
        op.register_autograd(backward, setup_context=setup_context)


_register_filter_fakes()
_register_filter_second_order()
_register_filter_grads()


# ----------------------------------------------------------------------------------------------- colour
@torch.library.custom_op("fastaug::color_transform", mutates_args=())
def color_transform(img: Tensor, lin: Tensor, offset: Tensor, nchw: bool) -> Tensor:
    """fastaug.color_transform with the matrix [lin | offset]: out[c] = sum_k lin[n, c, k] img[k] +
    offset[n, c]; lin (N, C, C), offset (N, C)."""
    n, h, w, c = _dims(img, nchw)
    out, view = _new(img, nchw, n, h, w, c)
    matrix = np.concatenate([_host(lin), _host(offset)[:, :, None]], axis=2)
    src = _nhwc(img, nchw)
    if _direct(img, nchw, lin, offset) and matrix.shape == (n, c, c + 1):
        try:
            _backend.run("color_transform", _Checked(src), _Checked(view, "out"), matrix)
            return out
        except Exception:  # noqa: BLE001  (the validating path below raises the named error)
            pass
    F.color_transform(src, matrix, out=view)
    return out


@color_transform.register_fake
def _(img: Tensor, lin: Tensor, offset: Tensor, nchw: bool) -> Tensor:
    return torch.empty_like(img)


def _color_setup(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
    img, lin, _, nchw = inputs
    ctx.save_for_backward(img if ctx.needs_input_grad[1] else None, lin)
    ctx.nchw = nchw


def _color_backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
    """The image gradient is the transposed matrix applied to the gradient (the native kernel again);
    the matrix gradients are sums over the pixels (one batched product)."""
    img, lin = ctx.saved_tensors
    nchw = ctx.nchw
    grad_img = grad_lin = grad_offset = None
    if ctx.needs_input_grad[0]:
        zero = lin.new_zeros(lin.shape[:2])
        grad_img = torch.ops.fastaug.color_transform(grad, lin.transpose(1, 2), zero, nchw)
    if ctx.needs_input_grad[1]:
        g, x = (grad.flatten(2), img.flatten(2)) if nchw else (grad.flatten(1, 2), img.flatten(1, 2))
        grad_lin = (g @ x.transpose(1, 2) if nchw else g.transpose(1, 2) @ x).to(lin.dtype)
    if ctx.needs_input_grad[2]:
        grad_offset = grad.sum((2, 3) if nchw else (1, 2)).to(lin.dtype)
    return grad_img, grad_lin, grad_offset, None


color_transform.register_autograd(_color_backward, setup_context=_color_setup)


@torch.library.custom_op("fastaug::normalize", mutates_args=())
def normalize(
    img: Tensor, mean: list[float], std: list[float], max_pixel_value: float, nchw: bool, out_nchw: bool
) -> Tensor:
    """fastaug.normalize: (img / max_pixel_value - mean) / std, float32, in the out_nchw layout."""
    n, h, w, c = _dims(img, nchw)
    out, _ = _new(img, out_nchw, n, h, w, c, torch.float32)
    F.normalize(
        _nhwc(img, nchw),
        mean,
        std,
        "NCHW" if out_nchw else "NHWC",
        max_pixel_value=max_pixel_value,
        out=out,
    )
    return out


@normalize.register_fake
def _(img: Tensor, mean: list[float], std: list[float], max_pixel_value: float, nchw: bool, out_nchw: bool) -> Tensor:
    n, h, w, c = _dims(img, nchw)
    return img.new_empty(_shape(out_nchw, n, h, w, c), dtype=torch.float32)


def _normalize_setup(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
    _, _, std, max_pixel_value, nchw, out_nchw = inputs
    ctx.args = (std, max_pixel_value, nchw, out_nchw)


def _normalize_backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
    std, max_pixel_value, nchw, out_nchw = ctx.args
    factor = 1.0 / (torch.tensor(std, dtype=grad.dtype, device=grad.device) * max_pixel_value)
    g = grad * (factor[:, None, None] if out_nchw else factor)
    if nchw != out_nchw:
        g = g.permute(0, 3, 1, 2) if nchw else g.permute(0, 2, 3, 1)
    return g, None, None, None, None, None


normalize.register_autograd(_normalize_backward, setup_context=_normalize_setup)
