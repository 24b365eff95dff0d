"""The CUDA backend on a GPU: every operator on torch CUDA tensors equals the native CPU result bit for
bit (the kernels share the per-pixel maths and are compiled without FMA), on photographs and noise, with
per-sample parameters, non-contiguous views, side streams and CuPy arrays. Skipped without a GPU."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fastaug as fa
from conftest import make_image

torch = pytest.importorskip("torch")
if not torch.cuda.is_available() or not fa.backends()["cuda"]["available"]:
    pytest.skip("needs a CUDA GPU and fastaug built with CUDA", allow_module_level=True)

N = 3
RNG = np.random.default_rng(5)
M = fa.affine_matrix(RNG.uniform(-40, 40, N), scale=RNG.uniform(0.7, 1.3, N), center=(60, 40))
H = np.stack([np.array([[1, 0.1 * i, 2], [0.02, 1, -3], [1e-4 * i, 2e-4, 1]]) for i in range(N)])

OPS: dict[str, Callable[..., Any]] = {
    "warp_affine_linear": lambda x, **k: fa.warp_affine(x, M, interp="linear", border="reflect101", **k),
    "warp_affine_cubic": lambda x, **k: fa.warp_affine(x, M, interp="cubic", border="constant", fill=7, **k),
    "warp_affine_nearest": lambda x, **k: fa.warp_affine(x, M, interp="nearest", border="wrap", **k),
    "warp_perspective": lambda x, **k: fa.warp_perspective(x, H, size=(70, 90), border="replicate", **k),
    "resize_linear": lambda x, **k: fa.resize(x, (53, 101), "linear", **k),
    "resize_cubic": lambda x, **k: fa.resize(x, (101, 53), "cubic", **k),
    "resize_area": lambda x, **k: fa.resize(x, (23, 31), "area", **k),
    "resize_nearest": lambda x, **k: fa.resize(x, (90, 130), "nearest", **k),
    "flip": lambda x, **k: fa.flip(x, [0, 1, -1], **k),
    "rotate90": lambda x, **k: fa.rotate90(x, [1, 3, 5], **k),
    "crop": lambda x, **k: fa.crop(x, [(0, 0, 30, 40), (5, 7, 30, 40), (20, 30, 30, 40)], **k),
    "tiles": lambda x, **k: fa.tiles(x, (32, 32), (16, 24), **k),
    "filter2d": lambda x, **k: fa.filter2d(x, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32), **k),
    "sep_filter2d": lambda x, **k: fa.sep_filter2d(x, [1, 2, 1], [-1, 0, 1], delta=3.0, **k),
    "gaussian_blur": lambda x, **k: fa.gaussian_blur(x, 5, [0.8, 1.5, 3.0], **k),
    "box_blur": lambda x, **k: fa.box_blur(x, (3, 7), border="constant", **k),
    "median_blur_3": lambda x, **k: fa.median_blur(x, 3, **k),
    "median_blur_5": lambda x, **k: fa.median_blur(x, 5, **k),
    "sobel": lambda x, **k: fa.sobel(x, 1, 1, 5, **k),
    "to_gray": lambda x, **k: fa.to_gray(x, **k),
    "threshold": lambda x, **k: fa.threshold(x, [50.0, 100.5, 200.0], 255, "binary_inv", **k),
    "invert": lambda x, **k: fa.invert(x, **k),
    "normalize": lambda x, **k: fa.normalize(x, 0.5, 0.25, layout="NHWC", **k),
}
U8_ONLY = {"equalize": lambda x, **k: fa.equalize(x, **k), "edges": lambda x, **k: fa.edges(x, **k)}


def batch(channels: int, dtype: str) -> np.ndarray:
    kinds = ("astronaut", "random", "coffee")
    imgs = [make_image(kind, channels, dtype, np.random.default_rng(i))[:96, :128] for i, kind in enumerate(kinds)]
    return np.ascontiguousarray(np.stack(imgs))


def cpu(op: Callable[..., Any], x: np.ndarray) -> np.ndarray:
    with fa.backend("native"):
        return op(x)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("name", sorted(OPS) + sorted(U8_ONLY))
def test_cuda_equals_cpu(name, dtype, channels):
    op = OPS.get(name) or U8_ONLY[name]
    if name in U8_ONLY and dtype != "uint8":
        pytest.skip("uint8 only")
    x = batch(channels, dtype)
    expected = cpu(op, x)
    got = op(torch.from_numpy(x).cuda())
    assert isinstance(got, torch.Tensor) and got.is_cuda
    torch.cuda.synchronize()
    np.testing.assert_array_equal(got.cpu().numpy(), expected, err_msg=name)


def test_non_contiguous_nchw_view_is_read_in_place():
    x = batch(3, "uint8")
    nchw = torch.from_numpy(x).cuda().permute(0, 3, 1, 2).contiguous()
    view = nchw.permute(0, 2, 3, 1)  # NHWC strides over NCHW memory
    got = fa.gaussian_blur(view, 5, 1.2)
    np.testing.assert_array_equal(got.cpu().numpy(), cpu(lambda a: fa.gaussian_blur(a, 5, 1.2), x))


def test_side_stream_then_wait():
    x = torch.from_numpy(batch(3, "uint8")).cuda()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out = fa.warp_affine(x, M)
        out2 = fa.invert(out)
    torch.cuda.current_stream().wait_stream(side)
    expected = cpu(lambda a: fa.invert(fa.warp_affine(a, M)), x.cpu().numpy())
    np.testing.assert_array_equal(out2.cpu().numpy(), expected)


def test_explicit_stream_argument():
    x = torch.from_numpy(batch(3, "uint8")).cuda()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    out = torch.empty_like(x)
    fa.box_blur(x, 5, out=out, stream=s)
    s.synchronize()
    np.testing.assert_array_equal(out.cpu().numpy(), cpu(lambda a: fa.box_blur(a, 5), x.cpu().numpy()))


def test_output_written_in_place_on_the_device():
    x = torch.from_numpy(batch(3, "uint8")).cuda()
    out = torch.empty_like(x)
    res = fa.invert(x, out=out)
    assert res.data_ptr() == out.data_ptr()
    assert torch.equal(out, 255 - x)


def test_cupy_in_cupy_out():
    cupy = pytest.importorskip("cupy")
    x = batch(3, "uint8")
    got = fa.median_blur(cupy.asarray(x), 5)
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(got), cpu(lambda a: fa.median_blur(a, 5), x))


def test_numba_cuda_fallback_equals_native_cuda():
    x = torch.from_numpy(batch(3, "uint8")).cuda()
    native = fa.gaussian_blur(x, 5, 1.0)
    with fa.backend("numba"):
        fallback = fa.gaussian_blur(x, 5, 1.0)
    torch.cuda.synchronize()
    assert torch.equal(native, fallback)


def test_devices_must_match():
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    x = torch.zeros(8, 8, 3, dtype=torch.uint8, device="cuda:0")
    with pytest.raises(ValueError, match="out: expected an array on cuda:0"):
        fa.invert(x, out=torch.zeros_like(x, device="cuda:1"))
