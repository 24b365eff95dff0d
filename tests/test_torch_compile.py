"""fastaug.torch under torch.compile: every custom operator passes torch.library.opcheck (schema, fake
implementation, autograd registration, AOT dispatch), and a pipeline of several operators compiles with
fullgraph=True (no graph break) to the eager results, forward and backward.

The compile test uses backend="aot_eager": it traces the forward and the backward graphs through
AOTAutograd (the custom operators' fake and autograd registrations) as inductor does, without generating
C++ (inductor gives the same results here but takes ~40 s to compile on two cores)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch.library import opcheck  # noqa: E402

import fastaug.torch as ft  # noqa: E402

ops = torch.ops.fastaug


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _cases() -> list[tuple[object, tuple[object, ...]]]:
    g = _gen()
    img = torch.rand(2, 3, 8, 9, generator=g, requires_grad=True)
    nhwc = torch.rand(2, 8, 9, 3, generator=g, requires_grad=True)
    M = torch.tensor([[[0.95, 0.1, 1.2], [-0.1, 1.02, -0.5]]] * 2, dtype=torch.float64, requires_grad=True)
    H = torch.tensor([[[1.0, 0.05, 0.3], [0.02, 0.97, -0.2], [1e-3, 2e-3, 1.0]]] * 2, dtype=torch.float64)
    sigma = torch.tensor([[1.0, 1.5], [0.7, 0.0]], dtype=torch.float64)
    grad = torch.rand(2, 3, 7, 10, generator=g, requires_grad=True)  # the backward operators' own gradients
    return [
        (ops.warp_affine, (img, M, 7, 10, "linear", "reflect101", [0.0], True)),
        (ops.warp_perspective, (nhwc, H.requires_grad_(), 8, 9, "nearest", "replicate", [0.5], False)),
        (
            ops.warp_backward,
            (grad, img.detach(), M.detach(), "warp_affine", "linear", "constant", [0.0], True, True, False),
        ),
        (
            ops.warp_backward,
            (grad.detach(), img, M.detach(), "warp_affine", "linear", "reflect", [0.0], True, True, False),
        ),
        (
            ops.warp_backward,
            (grad.detach(), img.detach(), M.detach(), "warp_affine", "nearest", "wrap", [0.0], True, False, True),
        ),
        (ops.filter2d, (img, torch.rand(2, 3, 4, generator=g), "reflect", [0.0], True)),
        (ops.filter2d_backward, (img, torch.rand(2, 3, 4, generator=g), "wrap", True)),
        (
            ops.sep_filter2d,
            (nhwc, torch.rand(2, 3, generator=g), torch.rand(2, 5, generator=g), "wrap", [0.0], 0.0, False),
        ),
        (ops.sep_filter2d_backward, (img, torch.rand(2, 3), torch.rand(2, 4), "reflect", True)),
        (ops.gaussian_blur, (img, 3, 5, sigma, "reflect101", True)),
        (ops.gaussian_kernels, (3, 5, sigma)),
        (ops.box_blur, (img, 2, 3, "replicate", True)),
        (ops.sobel, (img, 1, 0, 3, 1.0, 0.0, "reflect101", True)),
        (ops.sobel_kernel, (0, 2, 5, 0.5)),
        (
            ops.color_transform,
            (img, torch.rand(2, 3, 3, requires_grad=True), torch.rand(2, 3, requires_grad=True), True),
        ),
        (ops.normalize, (img, [0.5, 0.4, 0.3], [0.2, 0.2, 0.3], 1.0, True, False)),
    ]


@pytest.mark.parametrize("index", range(len(_cases())))
def test_opcheck(index):
    op, args = _cases()[index]
    opcheck(op, args)


def _pipeline(img, M, contrast, hue, boxes):
    x = ft.warp_affine(img, M, border="reflect101")
    x = ft.gaussian_blur(x, 3, 0.8)
    x = ft.contrast(x, contrast, clamp=False)
    x = ft.hue(x, hue)
    x = ft.erase(x, boxes)
    x = ft.sobel(x) + ft.resize(x, (16, 20)) + ft.box_blur(x, 2) + ft.filter2d(x, torch.ones(1, 3) / 3)
    return ft.normalize(x, [0.5, 0.4, 0.3], [0.2, 0.25, 0.3])


def test_compiled_pipeline_equals_eager():
    """Several operators in one graph (fullgraph=True fails on any graph break); the parameters are
    tensors; forward and the gradients with respect to the image, the matrices and the contrast factors."""
    g = _gen()
    img = torch.rand(2, 3, 16, 20, generator=g, requires_grad=True)
    M = torch.tensor([[[0.95, 0.1, 1.2], [-0.1, 1.02, -0.5]], [[1.1, -0.05, -0.8], [0.08, 0.9, 0.6]]])
    M = M.double().requires_grad_()
    contrast = torch.tensor([0.7, 1.3], requires_grad=True)
    hue = torch.tensor([0.1, -0.2])
    boxes = torch.tensor([[2, 2, 6, 7], [5, 1, 9, 4]])
    compiled = torch.compile(_pipeline, fullgraph=True, backend="aot_eager")
    out = compiled(img, M, contrast, hue, boxes)
    ref = _pipeline(img, M, contrast, hue, boxes)
    assert torch.equal(out, ref)
    w = torch.randn(out.shape, generator=g)
    got = torch.autograd.grad((out * w).sum(), (img, M, contrast))
    expected = torch.autograd.grad((ref * w).sum(), (img, M, contrast))
    for a, b, name in zip(got, expected, ("img", "M", "contrast"), strict=True):
        assert a.abs().max() > 0 and torch.equal(a, b), name
