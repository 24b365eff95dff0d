"""fastaug.torch: the differentiable operators against pure-torch references (F.grid_sample, F.conv2d with
explicit padding, torchvision's colour formulas written out), finite differences (torch.autograd.gradcheck
in float32), zero copies, the requires-grad rule of the core operators, and errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import fastaug as fa  # noqa: E402
import fastaug.torch as ft  # noqa: E402
from fastaug import _backend  # noqa: E402

BORDERS = ("constant", "replicate", "reflect", "reflect101", "wrap")
# float32 kernels against float64 references, measured: warp forward 1.2e-6, image gradient 3.7e-6, matrix
# gradient 1.2e-6 of its largest entry (every border); filters 6e-7 forward, 1.2e-6 gradient; colour ops
# 1e-7 forward, 3e-7 gradients. The bounds leave a margin of 10x or more.
ATOL = 5e-5
RTOL_MATRIX = 2e-5


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _nchw(x: torch.Tensor, layout: str) -> torch.Tensor:
    return x if layout == "NCHW" else x.permute(0, 3, 1, 2)


def _layout(x: torch.Tensor, layout: str) -> torch.Tensor:
    """An NCHW tensor in `layout` (NHWC: a contiguous NHWC tensor)."""
    return x if layout == "NCHW" else x.permute(0, 2, 3, 1).contiguous()


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, what: str, rtol: float = 0.0) -> None:
    a, b = a.detach().double(), b.detach().double()
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    diff = (a - b).abs()
    bound = atol + rtol * b.abs().max().item()
    assert diff.max().item() <= bound, f"{what}: max |diff| {diff.max().item():.3g} > {bound:.3g}"


# ------------------------------------------------------------------------------------------- references
def ref_warp(img: torch.Tensor, M: torch.Tensor, size: tuple[int, int], interp: str, border: str) -> torch.Tensor:
    """warp_affine / warp_perspective by F.grid_sample on NCHW float64: M forward, pixel centres at integers.
    align_corners=True maps -1 and 1 to the centres of the first and last pixels (fastaug's integer pixel
    coordinates), and its reflection then mirrors about those centres (reflect101); the half-sample
    reflect mirrors about the pixel edges, align_corners=False's convention."""
    n, _, h, w = img.shape
    if M.shape[-2] == 2:
        M = torch.cat([M, torch.tensor([0.0, 0.0, 1.0], dtype=M.dtype).expand(n, 1, 3)], 1)
    ys, xs = torch.meshgrid(torch.arange(size[0], dtype=M.dtype), torch.arange(size[1], dtype=M.dtype), indexing="ij")
    points = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(-1, 3)
    src = torch.einsum("nij,pj->npi", torch.linalg.inv(M), points)
    sx, sy = src[..., 0] / src[..., 2], src[..., 1] / src[..., 2]
    corners = border != "reflect"
    if corners:
        gx, gy = 2 * sx / (w - 1) - 1, 2 * sy / (h - 1) - 1
    else:
        gx, gy = (2 * sx + 1) / w - 1, (2 * sy + 1) / h - 1
    grid = torch.stack([gx, gy], -1).reshape(n, *size, 2)
    padding = {"constant": "zeros", "replicate": "border", "reflect101": "reflection", "reflect": "reflection"}[border]
    mode = "bilinear" if interp == "linear" else "nearest"
    return F.grid_sample(img, grid, mode=mode, padding_mode=padding, align_corners=corners)


def _pad_axis(x: torch.Tensor, dim: int, before: int, after: int, border: str, fill: float) -> torch.Tensor:
    n = x.shape[dim]
    if border == "constant":
        shape = list(x.shape)
        parts = []
        for count in (before, after):
            shape[dim] = count
            parts.append(torch.full(shape, fill, dtype=x.dtype))
        return torch.cat([parts[0], x, parts[1]], dim)
    if border == "replicate":
        lo, hi = x.narrow(dim, 0, 1), x.narrow(dim, n - 1, 1)
        return torch.cat([lo.expand_as(lo.repeat_interleave(before, dim)), x, hi.repeat_interleave(after, dim)], dim)
    if border == "wrap":
        return torch.cat([x.narrow(dim, n - before, before), x, x.narrow(dim, 0, after)], dim)
    skip = 1 if border == "reflect101" else 0  # gfedcb|abcdefgh|gfedcba or fedcba|abcdefgh|hgfedcb
    lo = x.narrow(dim, skip, before).flip(dim)
    hi = x.narrow(dim, n - after - skip, after).flip(dim)
    return torch.cat([lo, x, hi], dim)


def ref_filter(img: torch.Tensor, kernel: torch.Tensor, border: str, fill: float = 0.0) -> torch.Tensor:
    """Correlation with per-sample (N, kh, kw) kernels anchored at (kh // 2, kw // 2) after padding by the
    border (torch.cat of flips and slices): F.conv2d per sample, groups = C."""
    _, c, _, _ = img.shape
    kh, kw = kernel.shape[-2:]
    ay, ax = kh // 2, kw // 2
    x = _pad_axis(_pad_axis(img, 2, ay, kh - 1 - ay, border, fill), 3, ax, kw - 1 - ax, border, fill)
    return torch.cat(
        [F.conv2d(x[i : i + 1], kernel[i].expand(c, 1, kh, kw).to(img.dtype), groups=c) for i in range(len(img))]
    )


def _gaussian(k: int, sigma: float) -> torch.Tensor:
    i = torch.arange(k, dtype=torch.float64) - (k - 1) / 2
    g = torch.exp(-(i**2) / (2 * sigma**2))
    return g / g.sum()


def _sobel_kernels(order: int, k: int) -> np.ndarray:
    """OpenCV's getDerivKernels for one axis: (k - 1 - order) smoothing [1, 1] and order [-1, 1] factors."""
    if k == -1:
        return np.array([3.0, 10.0, 3.0]) if order == 0 else np.array([-1.0, 0.0, 1.0])
    k = 3 if k == 1 and order > 0 else k
    if k == 1:
        return np.array([1.0])
    kernel = np.array([1.0])
    for _ in range(k - 1 - order):
        kernel = np.convolve(kernel, [1.0, 1.0])
    for _ in range(order):
        kernel = np.convolve(kernel, [-1.0, 1.0])
    return kernel


def _random_affine(n: int, seed: int) -> torch.Tensor:
    """Matrices near a rotation + scale + shift, with no special values (no coordinate on a kink)."""
    g = _gen(seed)
    base = torch.tensor([[0.95, 0.12, 1.3], [-0.1, 1.05, -0.7]], dtype=torch.float64)
    return base + 0.1 * torch.rand(n, 2, 3, generator=g, dtype=torch.float64) * torch.tensor([1, 1, 10])


def _grads(f, *inputs: torch.Tensor, weights: torch.Tensor | None = None):
    """(output, grads of sum(output * weights) w.r.t. inputs)."""
    leaves = [x.detach().clone().requires_grad_() for x in inputs]
    out = f(*leaves)
    w = weights if weights is not None else torch.randn(out.shape, generator=_gen(7), dtype=torch.float64)
    (out * w.to(out.dtype)).sum().backward()
    return out.detach(), [x.grad for x in leaves]


# ------------------------------------------------------------------------------------------------- warps
@pytest.mark.parametrize("border", ("constant", "replicate", "reflect101", "reflect"))
@pytest.mark.parametrize("layout", ("NCHW", "NHWC"))
def test_warp_affine_matches_grid_sample(border, layout):
    img = torch.rand(2, 3, 17, 23, generator=_gen(1))
    M = _random_affine(2, 2)
    size = (15, 19)
    out, (gi, gm) = _grads(
        lambda x, m: _nchw(ft.warp_affine(x, m, size, "linear", border, layout=layout), layout), _layout(img, layout), M
    )
    ref, (ri, rm) = _grads(lambda x, m: ref_warp(x, m, size, "linear", border), img.double(), M)
    _close(out, ref, ATOL, "forward")
    _close(_nchw(gi, layout), ri, ATOL, "dL/dimg")
    _close(gm, rm, 0.0, "dL/dM", RTOL_MATRIX)


def test_warp_perspective_matches_grid_sample():
    img = torch.rand(2, 3, 20, 16, generator=_gen(3))
    H = torch.cat([_random_affine(2, 4), torch.tensor([[[1e-3, -2e-3, 1.0]], [[-1.5e-3, 1e-3, 1.0]]])], 1)
    out, (gi, gh) = _grads(lambda x, m: ft.warp_perspective(x, m, (18, 21), border="replicate"), img, H)
    ref, (ri, rh) = _grads(lambda x, m: ref_warp(x, m, (18, 21), "linear", "replicate"), img.double(), H)
    _close(out, ref, ATOL, "forward")
    _close(gi, ri, ATOL, "dL/dimg")
    _close(gh, rh, 0.0, "dL/dH", 1e-4)


def test_warp_nearest_image_gradient_is_the_adjoint():
    """Nearest: dL/dimg scatters each output gradient onto the pixel read (grid_sample rounds halves to
    even, fastaug as its forward does: the random matrices avoid exact halves); dL/dM is 0."""
    img = torch.rand(2, 1, 12, 14, generator=_gen(5))
    M = _random_affine(2, 6)
    out, (gi, gm) = _grads(lambda x, m: ft.warp_affine(x, m, interp="nearest"), img, M)
    ref, (ri,) = _grads(lambda x: ref_warp(x, M, (12, 14), "nearest", "constant"), img.double())
    _close(out, ref, 0.0, "forward")
    _close(gi, ri, ATOL, "dL/dimg")
    assert gm.abs().max() == 0


def test_warp_shared_matrix_and_fill():
    """A single (2, 3) M for the batch gets the sum of the samples' gradients; a constant fill enters the
    matrix gradient (the interpolant's taps outside read the fill)."""
    img = torch.rand(3, 3, 10, 12, generator=_gen(8))
    M = _random_affine(1, 9)[0]
    _, (_, g_shared) = _grads(lambda x, m: ft.warp_affine(x, m, fill=0.5), img, M)
    _, (_, g_each) = _grads(lambda x, m: ft.warp_affine(x, m, fill=0.5), img, M.expand(3, 2, 3).clone())
    _close(g_shared, g_each.sum(0), 0.0, "shared M", 1e-6)
    _, (rm,) = _grads(lambda m: ref_warp(img.double() - 0.5, m.expand(3, 2, 3), (10, 12), "linear", "constant"), M)
    _close(g_shared, rm, 0.0, "fill 0.5 as grid_sample's zeros on img - 0.5", RTOL_MATRIX)


def test_resize_is_a_differentiable_warp():
    """Linear: fastaug.resize's pixels up to float32 rounding (the bound the docstring states); nearest:
    torch's nearest-exact; the gradient: grid_sample's through the equivalent matrix."""
    from skimage import data

    photo = torch.from_numpy(data.astronaut().astype(np.float32) / 255)[None]  # 512x512 NHWC
    for size in ((256, 256), (300, 200), (129, 1000)):
        _close(ft.resize(photo, size, layout="NHWC"), fa.resize(photo, size), 5e-5, f"linear {size} vs fastaug.resize")
        nearest = ft.resize(photo, size, "nearest", "NHWC")
        if size == (256, 256):  # an exact 2x reduction: the ties go to even, cv2's floor(2 x)
            _close(nearest, fa.resize(photo, size, "nearest"), 0.0, "nearest 2x vs fastaug.resize")
        else:
            expected = F.interpolate(photo.permute(0, 3, 1, 2), size, mode="nearest-exact").permute(0, 2, 3, 1)
            _close(nearest, expected, 0.0, f"nearest {size} vs nearest-exact")
    img = torch.rand(2, 3, 9, 13, generator=_gen(10))
    _, (gi,) = _grads(lambda x: ft.resize(x, (6, 20)), img)
    m = torch.tensor([[13 / 20, 0, 0.5 * 13 / 20 - 0.5], [0, 9 / 6, 0.5 * 9 / 6 - 0.5]], dtype=torch.float64)
    m = torch.linalg.inv(torch.cat([m, torch.tensor([[0.0, 0, 1]], dtype=torch.float64)]))[:2]
    _, (ri,) = _grads(lambda x: ref_warp(x, m.expand(2, 2, 3), (6, 20), "linear", "replicate"), img.double())
    _close(gi, ri, ATOL, "resize dL/dimg")


@pytest.mark.filterwarnings("ignore:Input #\\d requires gradient and is not a double")
def test_warp_gradcheck_float32():
    """torch.autograd.gradcheck in float32: the image is linear in the warp, so central differences with a
    large eps (1e-2) are exact up to rounding (~1e-5 of the output); the matrix enters through bilinear
    weights, piecewise quadratic, so its eps is small (1e-4, rounding ~1e-7 / 1e-4) and atol 1e-2."""
    img = torch.rand(1, 1, 6, 7, generator=_gen(11), requires_grad=True)
    M = _random_affine(1, 12).float().requires_grad_()
    fixed = M.detach()
    assert torch.autograd.gradcheck(lambda x: ft.warp_affine(x, fixed), (img,), eps=1e-2, atol=1e-3, rtol=1e-3)
    x0 = img.detach()
    assert torch.autograd.gradcheck(
        lambda m: ft.warp_affine(x0, m, border="replicate"), (M,), eps=1e-4, atol=1e-2, rtol=1e-2
    )


def test_warp_cubic_needs_no_grad():
    img = torch.rand(1, 3, 8, 8, requires_grad=True)
    M = torch.eye(2, 3, dtype=torch.float64)
    with pytest.raises(fa.ArgumentError, match="interp: the warp's gradient"):
        ft.warp_affine(img, M, interp="cubic")
    with torch.no_grad():
        assert ft.warp_affine(img, M, interp="cubic").shape == img.shape


# ----------------------------------------------------------------------------------------------- filters
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", ((3, 5), (4, 2)))
def test_filter2d_matches_conv2d(border, shape):
    img = torch.rand(2, 3, 11, 13, generator=_gen(20))
    kernel = torch.randn(2, *shape, generator=_gen(21))
    out, (gi,) = _grads(lambda x: ft.filter2d(x, kernel, border, fill=0.25), img)
    ref, (ri,) = _grads(lambda x: ref_filter(x, kernel.double(), border, 0.25), img.double())
    _close(out, ref, ATOL, "forward")
    _close(gi, ri, ATOL, "dL/dimg")


@pytest.mark.parametrize("layout", ("NCHW", "NHWC"))
@pytest.mark.parametrize("border", ("reflect", "reflect101", "wrap"))
def test_separable_filters_match_conv2d(layout, border):
    img = torch.rand(2, 3, 12, 10, generator=_gen(22))
    kx, ky = torch.randn(5, generator=_gen(23)), torch.randn(4, generator=_gen(24))
    cases = {
        "sep_filter2d": (lambda x: ft.sep_filter2d(x, kx, ky, border, layout=layout), torch.outer(ky, kx)),
        "gaussian_blur": (
            lambda x: ft.gaussian_blur(x, (5, 3), torch.tensor([1.3, 0.8]), border, layout, sigma_y=2.0),
            None,
        ),
        "box_blur": (lambda x: ft.box_blur(x, (4, 3), border, layout), torch.full((4, 3), 1 / 12)),
    }
    for name, (f, kernel) in cases.items():
        if kernel is None:
            kernel = torch.stack([torch.outer(_gaussian(5, 2.0), _gaussian(3, s)) for s in (1.3, 0.8)])
        kernel = kernel.expand(2, *kernel.shape[-2:]).double()
        out, (gi,) = _grads(lambda x: _nchw(f(x), layout), _layout(img, layout))
        ref, (ri,) = _grads(lambda x: ref_filter(x, kernel, border), img.double())
        _close(out, ref, ATOL, f"{name} forward")
        _close(_nchw(gi, layout), ri, ATOL, f"{name} dL/dimg")


@pytest.mark.parametrize(("dx", "dy", "ksize"), ((1, 0, 3), (0, 1, 5), (1, 1, 3), (2, 0, 1), (0, 1, -1)))
def test_sobel_matches_conv2d(dx, dy, ksize):
    img = torch.rand(1, 1, 9, 10, generator=_gen(25))
    size = 3 if ksize in (1, -1) else ksize
    kx = np.pad(_sobel_kernels(dx, ksize), (size - len(_sobel_kernels(dx, ksize))) // 2)
    ky = np.pad(_sobel_kernels(dy, ksize), (size - len(_sobel_kernels(dy, ksize))) // 2)
    kernel = 0.5 * torch.from_numpy(np.outer(ky, kx))[None]
    out, (gi,) = _grads(lambda x: ft.sobel(x, dx, dy, ksize, scale=0.5, delta=0.1), img)
    ref, (ri,) = _grads(lambda x: ref_filter(x, kernel, "reflect101") + 0.1, img.double())
    _close(out, ref, 1e-4, "forward")
    _close(gi, ri, 1e-4, "dL/dimg")


@pytest.mark.filterwarnings("ignore:Input #\\d requires gradient and is not a double")
def test_filters_gradcheck_float32():
    """gradcheck in float32 (linear maps: eps 1e-2, rounding ~1e-5 relative)."""
    img = torch.rand(1, 1, 5, 4, generator=_gen(26), requires_grad=True)
    k = torch.randn(3, 2, generator=_gen(27))
    for f in (
        lambda x: ft.filter2d(x, k, "reflect"),
        lambda x: ft.gaussian_blur(x, 3, 0.9, "wrap"),
        lambda x: ft.box_blur(x, 2, "replicate"),
        lambda x: ft.sobel(x, 0, 1),
    ):
        assert torch.autograd.gradcheck(f, (img,), eps=1e-2, atol=2e-3, rtol=2e-3)


# ------------------------------------------------------------------------------------------------ colour
def _gray(x: torch.Tensor) -> torch.Tensor:
    return 0.2989 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def _torchvision_like(name: str, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """torchvision.transforms.v2.functional's adjust_* on float RGB (without the clamp), per sample."""
    f4 = f[:, None, None, None]
    if name == "brightness":
        return x * f4
    if name == "contrast":
        return f4 * x + (1 - f4) * _gray(x).mean((1, 2, 3), keepdim=True)
    if name == "saturation":
        return f4 * x + (1 - f4) * _gray(x)
    return x.pow(f4)


@pytest.mark.parametrize("name", ("brightness", "contrast", "saturation", "gamma"))
@pytest.mark.parametrize("layout", ("NCHW", "NHWC"))
def test_colour_ops_match_torchvision_formulas(name, layout):
    """Gradients with respect to the image and the per-sample factor; contrast's include the grey mean's
    dependence on every pixel."""
    img = torch.rand(3, 3, 8, 9, generator=_gen(30)) * 0.8 + 0.1
    factor = torch.tensor([0.6, 1.0, 1.4], dtype=torch.float32)
    op = getattr(ft, name)
    out, (gi, gf) = _grads(lambda x, f: _nchw(op(x, f, layout, clamp=False), layout), _layout(img, layout), factor)
    ref, (ri, rf) = _grads(lambda x, f: _torchvision_like(name, x, f), img.double(), factor.double())
    _close(out, ref, 2e-6, "forward")
    _close(_nchw(gi, layout), ri, 2e-5, "dL/dimg")
    _close(gf, rf, 0.0, "dL/dfactor", 2e-5)


def test_contrast_gradient_includes_the_mean():
    """Treating the grey mean as a constant gives a different image gradient (the check that matters)."""
    img = torch.rand(1, 3, 6, 6, generator=_gen(31))
    _, (gi,) = _grads(lambda x: ft.contrast(x, 0.3, clamp=False), img)
    _, (wrong,) = _grads(lambda x: 0.3 * x + 0.7 * _gray(x.detach()).mean(), img.double())
    _, (right,) = _grads(lambda x: _torchvision_like("contrast", x, torch.tensor([0.3])), img.double())
    _close(gi, right, 2e-5, "with the mean")
    assert (gi.double() - wrong).abs().max() > 1e-2


def test_clamp_matches_torchvision_and_kills_gradients_outside():
    img = torch.rand(2, 3, 5, 5, generator=_gen(32))
    out, (gi,) = _grads(lambda x: ft.brightness(x, 1.8), img, weights=torch.ones(2, 3, 5, 5, dtype=torch.float64))
    _close(out, (img * 1.8).clamp(0, 1), 1e-6, "clamped")
    assert torch.equal(gi == 0, img * 1.8 > 1)


def test_hue_is_a_rotation_about_the_grey_axis():
    rgb = torch.tensor([[1.0, 0.0, 0.0], [0.3, 0.3, 0.3], [0.2, 0.5, 0.9]]).T.reshape(1, 3, 3, 1)
    third = ft.hue(rgb, 1 / 3, clamp=False)
    _close(third[0, :, 0, 0], torch.tensor([0.0, 1.0, 0.0]), 1e-6, "red -> green at 1/3 turn")
    _close(third[0, :, 1, 0], rgb[0, :, 1, 0], 1e-6, "greys stay")
    _close(ft.hue(rgb, 0.0, clamp=False), rgb, 1e-7, "hue 0")
    back = ft.hue(ft.hue(rgb, 0.17, clamp=False), -0.17, clamp=False)
    _close(back, rgb, 1e-6, "+h then -h")
    norm = lambda x: (x - x.mean(1, keepdim=True)).norm(dim=1)
    _close(norm(ft.hue(rgb, 0.23, clamp=False)), norm(rgb), 1e-6, "chroma length kept")
    rgba = torch.cat([rgb, torch.full((1, 1, 3, 1), 0.7)], 1)
    out = ft.hue(rgba, 0.1, clamp=False)
    _close(out[:, :3], ft.hue(rgb, 0.1, clamp=False), 1e-6, "RGBA colour")
    _close(out[:, 3], rgba[:, 3], 0.0, "alpha passes")


@pytest.mark.filterwarnings("ignore:Input #\\d requires gradient and is not a double")
def test_colour_gradcheck_float32():
    """gradcheck in float32 (eps 1e-3 on smooth maps: truncation ~eps^2, rounding ~1e-7 / 1e-3)."""
    img = (torch.rand(2, 3, 3, 3, generator=_gen(33)) * 0.8 + 0.1).requires_grad_()
    f = torch.tensor([0.7, 1.3], requires_grad=True)
    h = torch.tensor([0.1, -0.3], requires_grad=True)
    for fn, args in (
        (lambda x, a: ft.contrast(x, a, clamp=False), (img, f)),
        (lambda x, a: ft.saturation(x, a, clamp=False), (img, f)),
        (lambda x, a: ft.hue(x, a, clamp=False), (img, h)),
        (lambda x, a: ft.gamma(x, a), (img, f)),
    ):
        assert torch.autograd.gradcheck(fn, args, eps=1e-3, atol=5e-3, rtol=5e-3)


def test_erase_and_normalize():
    img = torch.rand(2, 3, 6, 7, generator=_gen(34))
    boxes = torch.tensor([[1, 2, 4, 9], [-3, -1, 2, 3]])  # the second hangs over the top-left corner
    value = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    out, (gi, gv) = _grads(lambda x, v: ft.erase(x, boxes, v), img, value)
    expected = img.clone()
    expected[0, :, 2:6, 1:4] = value[0][:, None, None]
    expected[1, :, 0:3, 0:2] = value[1][:, None, None]
    _close(out, expected, 0.0, "erase")
    w = torch.randn(out.shape, generator=_gen(7), dtype=torch.float64)
    inside = out != img
    _close(gi, torch.where(inside, 0.0, w), 1e-7, "erase dL/dimg (float32 of float64 weights)")
    _close(gv, torch.stack([w[0, :, 2:6, 1:4].sum((1, 2)), w[1, :, 0:3, 0:2].sum((1, 2))]), 1e-6, "dL/dvalue")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ref_mean, ref_std = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    for layout, out_layout in (("NCHW", None), ("NHWC", "NCHW"), ("NCHW", "NHWC")):
        x = _layout(img, layout)
        got, (g,) = _grads(
            lambda t: _nchw(ft.normalize(t, mean, std, layout, out_layout=out_layout), out_layout or layout), x
        )
        _close(got, (img - ref_mean) / ref_std, 2e-6, f"normalize {layout} -> {out_layout}")
        _close(
            _nchw(g, layout), torch.randn(got.shape, generator=_gen(7), dtype=torch.float64) / ref_std, 1e-5, "dL/dimg"
        )
    u8 = torch.randint(0, 256, (2, 5, 6, 3), dtype=torch.uint8, generator=_gen(35))
    _close(
        ft.normalize(u8, mean, std, "NHWC", out_layout="NCHW"),
        (u8.permute(0, 3, 1, 2) / 255 - ref_mean) / ref_std,
        2e-6,
        "uint8",
    )


# ----------------------------------------------------------------------------------------------- training
def test_gradient_reaches_a_generator_through_warp_colour_and_cutout():
    """A tiny generator (nn.Linear -> 3x12x12 image) through warp + brightness + saturation + cutout: its
    weight gradient equals the same pipeline written with grid_sample and torch arithmetic."""
    torch.manual_seed(0)
    gen = torch.nn.Linear(8, 3 * 12 * 12)
    z = torch.randn(4, 8)
    M = _random_affine(4, 40)
    f = torch.tensor([0.8, 1.1, 0.9, 1.2])
    boxes = torch.tensor([[2, 2, 6, 6], [0, 5, 4, 12], [7, 1, 12, 4], [3, 3, 9, 9]])
    w = torch.randn(4, 3, 12, 12, generator=_gen(41))

    def fastaug_pipeline(x):
        x = ft.warp_affine(x, M, border="reflect101")
        x = ft.saturation(ft.brightness(x, f, clamp=False), f, clamp=False)
        return ft.erase(x, boxes)

    def torch_pipeline(x):
        x = ref_warp(x.double(), M, (12, 12), "linear", "reflect101").float()
        x = x * f[:, None, None, None]
        x = f[:, None, None, None] * x + (1 - f[:, None, None, None]) * _gray(x)
        ys, xs = torch.arange(12), torch.arange(12)
        inside = ((ys >= boxes[:, 1:2]) & (ys < boxes[:, 3:4]))[:, None, :, None] & (
            (xs >= boxes[:, 0:1]) & (xs < boxes[:, 2:3])
        )[:, None, None, :]
        return torch.where(inside, 0.0, x)

    grads = []
    for pipeline in (fastaug_pipeline, torch_pipeline):
        gen.zero_grad()
        image = torch.sigmoid(gen(z)).reshape(4, 3, 12, 12)
        (pipeline(image) * w).sum().backward()
        grads.append((gen.weight.grad.clone(), gen.bias.grad.clone()))
    assert grads[0][0].abs().max() > 0
    _close(grads[0][0], grads[1][0], 1e-5, "generator weight gradient")
    _close(grads[0][1], grads[1][1], 1e-5, "generator bias gradient")


def test_second_order_for_r1_penalties():
    """An R1-style penalty |d D(aug(x)) / dx|^2 differentiated with respect to D's parameters (the image
    path twice: the backward operators are differentiable in turn) equals the pure-torch pipeline's; a warp
    whose matrix requires grad refuses the second order clearly."""
    img = torch.rand(2, 3, 10, 11, generator=_gen(60))
    M = _random_affine(2, 61)
    kernel = torch.randn(3, 3, generator=_gen(62))
    fastaug_aug = (
        lambda x: ft.warp_affine(x, M, border="reflect101"),
        lambda x: ft.filter2d(x, kernel, "reflect"),
        lambda x: ft.gaussian_blur(x, 5, 1.2, "wrap"),
        lambda x: ft.hue(ft.contrast(x, 0.6, clamp=False), 0.2, clamp=False),
    )
    torch_aug = (
        lambda x: ref_warp(x.double(), M, (10, 11), "linear", "reflect101").float(),
        lambda x: ref_filter(x, kernel[None].expand(2, 3, 3), "reflect"),
        lambda x: ref_filter(x, torch.outer(_gaussian(5, 1.2), _gaussian(5, 1.2)).float().expand(2, 5, 5), "wrap"),
        lambda x: ft.hue(0.6 * x + 0.4 * _gray(x).mean((1, 2, 3), keepdim=True), 0.2, clamp=False),
    )
    for k, (aug, ref) in enumerate(zip(fastaug_aug, torch_aug, strict=True)):
        grads = []
        for f in (aug, ref):
            w = torch.randn(3, 10, 11, generator=_gen(63), requires_grad=True)
            x = img.clone().requires_grad_()
            d = (torch.tanh(f(x)) * w).sum()  # a "discriminator" with a parameter
            (g,) = torch.autograd.grad(d, x, create_graph=True)
            (g.square().sum()).backward()
            grads.append(w.grad)
        assert grads[0].abs().max() > 0
        _close(grads[0], grads[1], 1e-4, f"R1 gradient, augmentation {k}", 1e-5)
    x = img.clone().requires_grad_()
    (g,) = torch.autograd.grad(ft.warp_affine(x, M.clone().requires_grad_()).square().sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="second-order gradients through a warp whose matrix"):
        g.sum().backward()


# ----------------------------------------------------------------------------------------------- zero copy
def test_nchw_read_in_place_and_output_allocated_once(monkeypatch):
    """The kernel reads the caller's NCHW tensor (here a view of NHWC storage shared with another tensor)
    through its strides and writes the returned tensor itself: the pointers handed to the native call are
    the input's and the output's."""
    seen = []
    run = _backend.run

    def spy(op, src, dst, *args, **kwargs):
        seen.append((op, src.obj.data_ptr(), tuple(src.obj.stride()), dst.result.data_ptr()))
        return run(op, src, dst, *args, **kwargs)

    monkeypatch.setattr(_backend, "run", spy)
    storage = torch.rand(2, 10, 12, 3, generator=_gen(50))
    img = storage.permute(0, 3, 1, 2)  # NCHW view: no copy, not contiguous
    assert not img.is_contiguous() and img.untyped_storage().data_ptr() == storage.untyped_storage().data_ptr()
    for f in (
        lambda x: ft.warp_affine(x, _random_affine(2, 51)),
        lambda x: ft.gaussian_blur(x, 3, 1.0),
        lambda x: ft.contrast(x, 0.5, clamp=False),
        lambda x: ft.normalize(x, 0.5, 0.25),
    ):
        seen.clear()
        out = f(img)
        op, src_ptr, strides, dst_ptr = seen[-1]
        assert src_ptr == storage.data_ptr() and strides == tuple(img.permute(0, 2, 3, 1).stride()), op
        assert dst_ptr == out.data_ptr() and out.is_contiguous(), op
        assert out.untyped_storage().nbytes() == out.numel() * out.element_size(), op
        _close(f(img.contiguous()), out, 1e-6, f"{op}: strided = contiguous (another summation order)")


# ------------------------------------------------------------------------------------- requires-grad rule
@pytest.mark.parametrize(
    ("call", "op", "hint"),
    (
        (lambda t: fa.invert(t), "invert", ""),
        (lambda t: fa.warp_affine(t, np.eye(2, 3)), "warp_affine", "fastaug.torch.warp_affine"),
        (lambda t: fa.gaussian_blur(t, 3), "gaussian_blur", "fastaug.torch.gaussian_blur"),
        (lambda t: fa.median_blur(t, 3), "median_blur", ""),
        (lambda t: fa.threshold(t, 0.5, 1.0), "threshold", ""),
        (lambda t: fa.equalize(t), "equalize", ""),
        (lambda t: fa.Compose([fa.transforms.HorizontalFlip(p=1.0)])(t), "Compose", ""),
    ),
)
def test_core_ops_refuse_tensors_that_require_grad(call, op, hint):
    """The message names the argument and the operator, and points to fastaug.torch where it has one."""
    t = torch.rand(1, 8, 8, 3, requires_grad=True)
    name = "images" if op == "Compose" else "img"
    with pytest.raises(fa.ArgumentError, match=f"^{name}: got a tensor that requires grad") as info:
        call(t)
    message = str(info.value)
    assert f"fastaug.{op} does not record gradients" in message and f"{name}.detach()" in message, message
    assert (hint in message) if hint else ("fastaug.torch." not in message), message
    if op not in ("equalize",):
        with torch.no_grad():
            call(t)  # under no_grad the tensor is read (detached) as before
        call(t.detach())


# ------------------------------------------------------------------------------------------------- errors
def test_errors():
    img = torch.rand(2, 3, 8, 8)
    with pytest.raises(fa.ArgumentError, match="layout"):
        ft.brightness(img, 1.0, layout="CHW")
    with pytest.raises(fa.ArgumentError, match=r"img: expected a NCHW tensor"):
        ft.gaussian_blur(img[0], 3)
    with pytest.raises(fa.ArgumentTypeError, match="img: expected dtype float32"):
        ft.contrast(img.double(), 1.0)
    with pytest.raises(fa.ArgumentError, match="factor: expected a scalar or one per sample"):
        ft.brightness(img, torch.ones(3))
    with pytest.raises(fa.ArgumentError, match="M: expected shape"):
        ft.warp_affine(img, torch.eye(3))
    with pytest.raises(fa.ArgumentError, match="kernel: gradients with respect to the kernel"):
        ft.filter2d(img, torch.ones(3, 3, requires_grad=True))
    with pytest.raises(fa.ArgumentError, match="sigma: gradients"):
        ft.gaussian_blur(img, 3, torch.ones(2, requires_grad=True))
    with pytest.raises(fa.ArgumentError, match="border"):
        ft.box_blur(img, 3, border="mirror")
    with pytest.raises(fa.ArgumentError, match="interp"):
        ft.resize(img, 4, interp="area")
    with pytest.raises(fa.ArgumentTypeError, match="boxes"):
        ft.erase(img, torch.zeros(4))
    with pytest.raises(fa.ArgumentError, match="std: expected non-zero"):
        ft.normalize(img, 0.0, [1.0, 0.0, 1.0])
    u8 = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8)
    with pytest.raises(fa.ArgumentError, match="uint8 image has no gradient"):
        ft.warp_affine(u8, torch.eye(2, 3, requires_grad=True), layout="NHWC")
    _close(ft.warp_affine(u8, np.eye(2, 3), layout="NHWC"), u8, 0.0, "uint8 identity warp")


def test_importing_fastaug_needs_no_torch():
    import subprocess
    import sys

    code = "import sys, numpy, fastaug; fastaug.invert(numpy.zeros((4, 4), 'uint8')); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_hue_matrix_is_a_rotation():
    """Orthogonal with determinant 1 for any factor (three pixels, the basis colours: the output's
    columns are the matrix's)."""
    basis = torch.eye(3).reshape(1, 3, 3, 1)
    for h in (0.05, 0.25, -0.4):
        r = ft.hue(basis, h, clamp=False)[0, :, :, 0].double()
        _close(r @ r.T, torch.eye(3), 1e-6, "orthogonal")
        assert abs(torch.linalg.det(r).item() - 1) < 1e-6


def test_large_cpu_outputs_reuse_mapped_blocks():
    """CPU torch outputs of 1 MiB or more (fastaug.torch's operators and the core operators on torch tensors)
    come from fastaug's recycled blocks: a freed output's block (its pages mapped) serves the next one, and
    the tensor otherwise behaves as torch's own (values, autograd, shared memory for DataLoader workers)."""
    x = torch.rand(4, 3, 128, 256, generator=_gen())  # 1.5 MiB float32
    lin = torch.eye(3).repeat(4, 1, 1) * 0.5
    offset = torch.full((4, 3), 0.25)
    first = torch.ops.fastaug.color_transform(x, lin, offset, True)
    ptr = first.data_ptr()
    del first
    again = torch.ops.fastaug.color_transform(x, lin, offset, True)
    assert again.data_ptr() == ptr
    torch.testing.assert_close(again, x * 0.5 + 0.25, rtol=0, atol=1e-6)
    inv = fa.invert(x.permute(0, 2, 3, 1))
    assert isinstance(inv, torch.Tensor) and inv.is_contiguous()
    torch.testing.assert_close(inv, 1 - x.permute(0, 2, 3, 1), rtol=0, atol=0)
    inv.share_memory_()
    assert inv.is_shared()
    xg = x.clone().requires_grad_()
    ft_out = torch.ops.fastaug.color_transform(xg, lin, offset, True)
    ft_out.sum().backward()
    torch.testing.assert_close(xg.grad, torch.full_like(x, 0.5))
    small = fa.invert(x[:1, :, :8].permute(0, 2, 3, 1))  # under 1 MiB: torch.empty
    assert small.untyped_storage().resizable()
