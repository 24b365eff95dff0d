"""The CUDA backend on a GPU: every operator on torch CUDA tensors equals the native CPU result bit for
bit (the kernels share the per-pixel maths and are compiled without FMA), on photographs and noise, with
per-sample parameters, every border and interpolation, non-contiguous inputs and outputs, batches large
enough to chunk their parameters, side streams, CuPy arrays, and the Numba CUDA fallback. Skipped without
a GPU; benchmarks/gpu_check.sh runs it on one."""

from __future__ import annotations

import numpy as np
import pytest

import fastaug as fa
from cuda_cases import ALL_OPS, BORDERS, COLOR, FILTERS, INTERPS, REDUCTIONS, M, batch, op_dtypes, warp_call

torch = pytest.importorskip("torch")
if not torch.cuda.is_available() or not fa.backends()["cuda"]["available"]:
    pytest.skip("needs a CUDA GPU and fastaug built with CUDA", allow_module_level=True)

OP_CASES = [(name, dtype) for name in sorted(ALL_OPS) for dtype in op_dtypes(name)]


def cpu(op, x: np.ndarray) -> np.ndarray:
    with fa.backend("native"):
        return op(x)


def on_gpu(x: np.ndarray):
    return torch.from_numpy(x).cuda()


def assert_same(got, expected: np.ndarray, what: str) -> None:
    assert isinstance(got, torch.Tensor) and got.is_cuda, what
    torch.cuda.synchronize()
    np.testing.assert_array_equal(got.cpu().numpy(), expected, err_msg=what)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("name, dtype", OP_CASES)
def test_cuda_equals_cpu(name, dtype, channels):
    x = batch(channels, dtype)
    assert_same(ALL_OPS[name](on_gpu(x)), cpu(ALL_OPS[name], x), name)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_equal_cpu(name, dtype, channels):
    """A NumPy result with the native CPU's bits (the same order of sums), from contiguous and strided
    images, and from the Numba CUDA fallback."""
    x = batch(channels, dtype, 104, 136)
    op = REDUCTIONS[name]
    window = on_gpu(x).permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)[:, 3:99, 5:133]
    for got, src in ((op(on_gpu(x)), x), (op(window), np.ascontiguousarray(x[:, 3:99, 5:133]))):
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, cpu(op, src), err_msg=name)
    with fa.backend("numba"):
        np.testing.assert_array_equal(op(on_gpu(x)), cpu(op, x), err_msg=f"{name} numba")


@pytest.mark.parametrize("dtype, channels", [("uint8", 3), ("float32", 4), ("uint8", 1)])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("op", ["warp_affine", "warp_perspective"])
def test_warp_every_interp_and_border(op, interp, border, dtype, channels):
    call = warp_call(op, interp, border)
    x = batch(channels, dtype)
    assert_same(call(on_gpu(x)), cpu(call, x), f"{op} {interp} {border}")


@pytest.mark.parametrize("dtype, channels", [("uint8", 3), ("float32", 1)])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_every_border(name, border, dtype, channels):
    if name == "gaussian_blur" and border == "wrap":
        pytest.skip("gaussian_blur takes no wrap border (as cv2.GaussianBlur)")
    call = FILTERS[name](border)
    x = batch(channels, dtype)
    try:
        expected = cpu(call, x)
    except fa.ArgumentError:
        pytest.skip(f"{name} refuses border {border} on the CPU too")
    assert_same(call(on_gpu(x)), expected, f"{name} {border}")


@pytest.mark.parametrize("name, dtype", OP_CASES)
def test_non_contiguous_input_and_output(name, dtype):
    """A window of an NCHW tensor seen as NHWC (no unit stride anywhere) in, a permuted view out."""
    x = batch(3, dtype, 104, 136)
    nchw = on_gpu(x).permute(0, 3, 1, 2).contiguous()
    window = nchw.permute(0, 2, 3, 1)[:, 3:99, 5:133]
    op = ALL_OPS[name]
    expected = cpu(op, np.ascontiguousarray(x[:, 3:99, 5:133]))
    got = op(window)
    assert_same(got, expected, f"{name} from a strided view")
    if expected.ndim == 4:  # the same into an output that is a permuted view of NCHW memory
        n, h, w, c = expected.shape
        out = torch.full((n, c, h, w), 7, dtype=got.dtype, device="cuda").permute(0, 2, 3, 1)
        res = op(window, out=out)
        assert res.data_ptr() == out.data_ptr()
        assert_same(out, expected, f"{name} into a strided view")


@pytest.mark.parametrize("dtype, channels", [("uint8", 3), ("float32", 4)])
@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_numba_cuda_fallback_equals_native_cuda(name, dtype, channels):
    if dtype not in op_dtypes(name):
        pytest.skip("uint8 only")
    x = on_gpu(batch(channels, dtype))
    native = ALL_OPS[name](x)
    with fa.backend("numba"):
        fallback = ALL_OPS[name](x)
    torch.cuda.synchronize()
    assert torch.equal(native, fallback), name


@pytest.mark.parametrize("dtype, channels", [("uint8", 3), ("float32", 1), ("uint8", 4)])
def test_ragged_resize_equals_cpu(dtype, channels):
    """A list of views of different sizes to a list of their own sizes, one call: the CPU's bits."""
    x = batch(channels, dtype)
    g = on_gpu(x)
    sizes = [(50, 61), (120, 33), (20, 20)]
    for interp in (*INTERPS, "area"):
        expected = cpu(lambda a: fa.resize([a[0], a[1, :50, 7:70], a[2, ::2, 1:]], sizes, interp), x)
        got = fa.resize([g[0], g[1, :50, 7:70], g[2, ::2, 1:]], sizes, interp)
        for i in range(3):
            assert_same(got[i], expected[i], f"ragged resize {interp} {i}")


def test_large_batches_chunk_their_parameters():
    """More samples than one launch's 4 KiB of parameters holds (113 inverse maps, 512 thresholds, 31 colour
    matrices, 1024 hue shifts), and 700 RGB lut tables (a device copy, one launch)."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (700, 12, 14, 3), dtype=np.uint8)
    Ms = fa.affine_matrix(rng.uniform(-90, 90, 700), scale=rng.uniform(0.5, 1.5, 700), center=(7, 6))
    assert_same(
        fa.warp_affine(on_gpu(x), Ms, border="reflect"),
        cpu(lambda a: fa.warp_affine(a, Ms, border="reflect"), x),
        "warp_affine, 700 matrices",
    )
    t = rng.uniform(0, 255, 700)
    assert_same(fa.threshold(on_gpu(x), t, 200), cpu(lambda a: fa.threshold(a, t, 200), x), "threshold, 700 values")
    tables = rng.integers(0, 256, (700, 3, 256)).astype(np.uint8)  # 525 KiB of tables: a larger staging block
    assert_same(fa.lut(on_gpu(x), tables), cpu(lambda a: fa.lut(a, tables), x), "lut, 700 tables")
    mats = np.concatenate([COLOR[3]] * 234)[:700] * rng.uniform(0.9, 1.1, (700, 1, 1))  # 31 matrices a launch
    assert_same(fa.color_transform(on_gpu(x), mats), cpu(lambda a: fa.color_transform(a, mats), x), "color, 700")
    many = rng.integers(0, 256, (1100, 6, 5, 3), dtype=np.uint8)  # 1024 hue shifts a launch
    hues = rng.uniform(-0.5, 0.5, 1100)
    assert_same(fa.hue_shift(on_gpu(many), hues), cpu(lambda a: fa.hue_shift(a, hues), many), "hue_shift, 1100")
    sig = rng.uniform(0.3, 3, 700)
    assert_same(fa.gaussian_blur(on_gpu(x), 7, sig), cpu(lambda a: fa.gaussian_blur(a, 7, sig), x), "gaussian, 700")


@pytest.mark.parametrize(
    "name",
    [
        "warp_affine_linear",
        "resize_area",
        "gaussian_blur",
        "box_blur_5",
        "equalize",
        "sobel_dx3",
        "median_blur_5",
        "to_gray",
    ],
)
def test_large_images(name):
    """Three 1024x1536 RGB photographs (grids larger than one block row, equalize over a million pixels)."""
    from skimage import data

    img = np.resize(data.astronaut(), (1024, 1536, 3))
    x = np.stack([img, img[::-1, ::-1], np.roll(img, 300, axis=1)])
    op = ALL_OPS[name]
    assert_same(op(on_gpu(x)), cpu(op, x), name)


@pytest.mark.parametrize("name", ["invert", "gaussian_blur_7x3", "resize_area", "equalize"])
def test_empty_batch(name):
    x = torch.empty((0, 20, 30, 3), dtype=torch.uint8, device="cuda")
    got = ALL_OPS[name](x)
    assert got.shape[0] == 0 and got.is_cuda


def test_side_stream_then_wait():
    x = on_gpu(batch(3, "uint8"))
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out = fa.warp_affine(x, M)
        out2 = fa.invert(out)
    torch.cuda.current_stream().wait_stream(side)
    expected = cpu(lambda a: fa.invert(fa.warp_affine(a, M)), x.cpu().numpy())
    np.testing.assert_array_equal(out2.cpu().numpy(), expected)


def test_explicit_stream_argument():
    x = on_gpu(batch(3, "uint8"))
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    out = torch.empty_like(x)
    fa.box_blur(x, 5, out=out, stream=s)
    s.synchronize()
    np.testing.assert_array_equal(out.cpu().numpy(), cpu(lambda a: fa.box_blur(a, 5), x.cpu().numpy()))


@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_no_device_synchronisation(name):
    """An operator only enqueues: queued behind a long spin kernel on a side stream, it returns while that
    stream is still busy (a cudaDeviceSynchronize or a blocking copy inside would wait for the spin)."""
    dtype = op_dtypes(name)[0]
    x = on_gpu(batch(3, dtype))
    op = ALL_OPS[name]
    op(x)  # warm: first-call set-up is not what is tested
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    out_shape = op(x).shape
    out = torch.empty(out_shape, dtype=op(x).dtype, device="cuda")
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        torch.cuda._sleep(200_000_000)  # about 0.1 s at H200 clocks
        op(x, out=out)
        busy = not side.query()
    side.synchronize()
    assert busy, f"{name} waited for the device"
    np.testing.assert_array_equal(out.cpu().numpy(), cpu(op, x.cpu().numpy()))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_normalize_half_precision(layout, dtype):
    """The half-precision training tensor written in the same pass (__float2half_rn / __float2bfloat16_rn):
    the bits torch gives the CPU's float32 result, from contiguous and strided inputs, into a new tensor and
    out=, from the Numba CUDA fallback too; and the rounding of special values (identity normalize)."""
    x = batch(3, "uint8", 104, 136)
    mean, std, half = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), getattr(torch, dtype)
    g = on_gpu(x)
    window = g.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)[:, 3:99, 5:133]
    for src, host in ((g, x), (window, np.ascontiguousarray(x[:, 3:99, 5:133]))):
        expected = torch.from_numpy(cpu(lambda a: fa.normalize(a, mean, std, layout), host)).to(half)
        got = fa.normalize(src, mean, std, layout, dtype)
        out = torch.zeros_like(got)
        assert fa.normalize(src, mean, std, layout, dtype, out=out) is out
        with fa.backend("numba"):
            fallback = fa.normalize(src, mean, std, layout, dtype)
        torch.cuda.synchronize()
        assert got.dtype == half and got.is_cuda
        for result in (got, out, fallback):
            assert torch.equal(result.cpu().view(torch.int16), expected.view(torch.int16)), (layout, dtype)
    values = [0.0, -0.0, 2.0**-25, 3 * 2.0**-25, 2.0**-14, 65504.0, 65520.0, 1e38, float("inf"), 1 + 2**-11]
    special = torch.tensor(values + [-v for v in values] + list(np.random.default_rng(0).normal(0, 30, 60)))
    special = special.float().reshape(1, 8, 10, 1)
    got = fa.normalize(special.cuda(), 0.0, 1.0, "NHWC", dtype, max_pixel_value=1.0)
    torch.cuda.synchronize()
    assert torch.equal(got.cpu().view(torch.int16), special.to(half).view(torch.int16)), dtype


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_normalize_matrix_fused(dtype, channels):
    """normalize(matrix=) on the GPU is color_transform then normalize on the GPU, bit for bit, every branch
    (COLOR's diagonal, fixed point, float chain), NCHW and NHWC, float32 / float16 / bfloat16, contiguous and
    strided input, out=, and the Numba CUDA fallback."""
    x = batch(channels, dtype, 104, 136)
    mats = COLOR[channels]
    g = on_gpu(x)
    window = g.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)[:, 3:99, 5:133]
    for src in (g, window):
        for layout in ("NCHW", "NHWC"):
            for half in ("float32", "float16", "bfloat16"):
                expected = fa.normalize(fa.color_transform(src, mats), 0.4, 0.3, layout, half)
                got = fa.normalize(src, 0.4, 0.3, layout, half, matrix=mats)
                out = torch.zeros_like(got)
                assert fa.normalize(src, 0.4, 0.3, layout, half, matrix=mats, out=out) is out
                with fa.backend("numba"):
                    fallback = fa.normalize(src, 0.4, 0.3, layout, half, matrix=mats)
                torch.cuda.synchronize()
                bits = torch.int32 if half == "float32" else torch.int16
                for result in (got, out, fallback):
                    assert torch.equal(result.view(bits), expected.view(bits)), (layout, half)


def test_lut_tables_in_flight_are_not_overwritten():
    """lut copies a batch's tables to the device through a reused pinned block: calls queued behind a busy
    stream each keep their own tables (a block is reused only once its copy has run), and a batch of any
    size is one launch (700 RGB tables, once five a launch)."""
    rng = np.random.default_rng(8)
    x = on_gpu(batch(3, "uint8"))
    tables = [rng.integers(0, 256, (3, 3, 256)).astype(np.uint8) for _ in range(6)]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(100_000_000)
        outs = [fa.lut(x, t) for t in tables]
    side.synchronize()
    host = x.cpu().numpy()
    for t, out in zip(tables, outs, strict=True):
        np.testing.assert_array_equal(out.cpu().numpy(), cpu(lambda a, t=t: fa.lut(a, t), host))


def test_output_written_in_place_on_the_device():
    x = on_gpu(batch(3, "uint8"))
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


def test_cupy_on_a_non_default_stream():
    cupy = pytest.importorskip("cupy")
    x = batch(3, "uint8")
    with cupy.cuda.Stream(non_blocking=True) as s:
        got = fa.warp_affine(cupy.asarray(x), M, border="reflect101")
        s.synchronize()
    np.testing.assert_array_equal(cupy.asnumpy(got), cpu(lambda a: fa.warp_affine(a, M, border="reflect101"), x))


def test_devices_must_match():
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    x = torch.zeros(8, 8, 3, dtype=torch.uint8, device="cuda:0")
    with pytest.raises(ValueError, match="out: expected an array on cuda:0"):
        fa.invert(x, out=torch.zeros_like(x, device="cuda:1"))
