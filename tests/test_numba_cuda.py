"""The Numba CUDA fallback (fastaug._numba_cuda) against the Numba CPU fallback, bit for bit: every operator
on small batches in device memory (non-contiguous views included), every border and interpolation, per-sample
parameters, and the same argument errors. Without a GPU the kernels run under Numba's CUDA simulator
(tests/conftest.py switches it on); without either, the module is skipped."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fastaug._errors import ArgumentError

cuda = pytest.importorskip("numba.cuda")
if not cuda.is_available():
    pytest.skip(
        "numba.cuda has no CUDA device and the simulator is off (NUMBA_ENABLE_CUDASIM)", allow_module_level=True
    )

import fastaug._numba as cpu  # noqa: E402
import fastaug._numba_cuda as gpu  # noqa: E402

N = 2
# (dtype, channels) combinations, cycled through each op's cases so that every op meets several of them.
KINDS = [(np.uint8, 3), (np.float32, 1), (np.uint8, 4), (np.float32, 3), (np.uint8, 1), (np.float32, 4)]


def _photo(h: int, w: int) -> np.ndarray:
    """A (h, w, 3) uint8 crop of a photograph (random data where scikit-image is missing)."""
    try:
        from skimage import data
    except ImportError:
        return np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return np.ascontiguousarray(data.astronaut()[200 : 200 + 2 * h : 2, 180 : 180 + 2 * w : 2])


def image(kind: int, h: int = 9, w: int = 11, seed: int = 0) -> np.ndarray:
    """An (N, h, w, C) batch: a photo crop and random noise (never all zeros)."""
    dtype, c = KINDS[kind % len(KINDS)]
    rng = np.random.default_rng(seed + kind)
    photo = _photo(h, w).astype(np.int32)
    rgba = np.concatenate([photo, np.broadcast_to(np.arange(w, dtype=np.int32) * 20 % 256, (h, w))[..., None]], 2)
    first = rgba[..., :c] if c > 1 else rgba[..., 1:2]
    batch = np.stack([first, rng.integers(0, 256, (h, w, c))]).astype(np.float64)
    return (batch if dtype == np.uint8 else batch / 255.0 * 1.2 - 0.1).astype(dtype)


def device_view(a: np.ndarray) -> object:
    """a on the device as a non-contiguous view (a window of a larger, channel-padded array)."""
    n, h, w, c = a.shape
    big = np.zeros((n, h + 2, w + 3, c + 1), a.dtype)
    big[:, 1 : h + 1, 2 : w + 2, :c] = a
    return cuda.to_device(big)[:, 1 : h + 1, 2 : w + 2, :c]


def check(
    op: str, src: np.ndarray, out_shape: tuple[int, ...], out_dtype: object, *args: object, strided: bool = True
) -> None:
    expected = np.full(out_shape, 7, out_dtype)
    getattr(cpu, op)(src, expected, *args)
    dsrc = device_view(src) if strided else cuda.to_device(src)
    ddst = cuda.to_device(np.full(out_shape, 7, out_dtype))
    getattr(gpu, op)(dsrc, ddst, *args)
    got = ddst.copy_to_host()
    assert np.array_equal(got, expected, equal_nan=True), (op, args, np.argwhere(got != expected)[:5])


def test_exports() -> None:
    assert gpu.__all__ == cpu.__all__


@pytest.mark.parametrize("interp, border", list(itertools.product(range(3), range(5))))
def test_warp_affine(interp: int, border: int) -> None:
    kind = interp * 5 + border
    src = image(kind)
    rng = np.random.default_rng(kind)
    M = rng.normal(0, 0.15, (N, 6)) + np.array([1.0, 0.1, -1.5, -0.2, 0.9, 2.0])
    check("warp_affine", src, (N, 8, 10, src.shape[3]), src.dtype, M, interp, border, [11, 22, 33, 44])


@pytest.mark.parametrize("perspective", [False, True])
@pytest.mark.parametrize("kind", range(len(KINDS)))
def test_ragged_warps(kind: int, perspective: bool) -> None:
    """A list of images of different sizes (device views with padded strides) in one launch: the CPU
    fallback's bits, for nearest and linear, constant and reflect101."""
    images = [image(kind, 9, 11)[:1], image(kind, 7, 13, seed=3)[1:], image(kind, 12, 6, seed=5)[:1]]
    rng = np.random.default_rng(kind)
    if perspective:
        M = np.tile(np.eye(3).ravel(), 3) + rng.normal(0, 0.05, 27) * np.tile([1, 1, 10, 1, 1, 10, 0.01, 0.01, 0], 3)
    else:
        M = np.tile([1.0, 0.1, -1.5, -0.2, 0.9, 2.0], 3) + rng.normal(0, 0.15, 18)
    op = "warp_perspective" if perspective else "warp_affine"
    for interp, border in ((0, 0), (1, 4), (1, 0)):
        shape = (3, 8, 10, images[0].shape[3])
        expected = np.full(shape, 7, images[0].dtype)
        getattr(cpu, op)(images, expected, M, interp, border, [11, 22, 33, 44])
        got = cuda.to_device(np.full(shape, 7, images[0].dtype))
        getattr(gpu, op)([device_view(x) for x in images], got, M, interp, border, [11, 22, 33, 44])
        assert np.array_equal(got.copy_to_host(), expected), (op, interp, border)


@pytest.mark.parametrize("interp", range(3))
def test_warp_perspective(interp: int) -> None:
    src = image(interp + 1)
    H = [[0.9, 0.1, 1.0, -0.1, 1.1, -2.0, 0.002, -0.003, 1.0], [1.0, 0.0, 0.5, 0.0, 1.0, 0.5, 0.01, 0.0, 1.0]]
    check(
        "warp_perspective",
        src,
        (N, 10, 9, src.shape[3]),
        src.dtype,
        np.array(H),
        interp,
        interp + 1,
        [0.5, 0.25, 0.125, 1],
    )


@pytest.mark.parametrize("interp, size", list(itertools.product(range(4), [(5, 7), (13, 17)])))
def test_resize(interp: int, size: tuple[int, int]) -> None:
    src = image(interp + size[0])
    check("resize", src, (N, *size, src.shape[3]), src.dtype, interp)


@pytest.mark.parametrize("interp", range(4))
def test_ragged_resize(interp: int) -> None:
    images = [image(interp, 9, 11)[:1], image(interp, 7, 13, seed=3)[1:], image(interp, 12, 6, seed=5)[:1]]
    sizes = [(5, 7), (13, 17), (12, 3)]
    expected = [np.full((1, *size, images[0].shape[3]), 7, images[0].dtype) for size in sizes]
    cpu.resize(images, expected, interp)
    got = [cuda.to_device(np.full(e.shape, 7, e.dtype)) for e in expected]
    gpu.resize([device_view(x) for x in images], got, interp)
    for g, e in zip(got, expected, strict=True):
        assert np.array_equal(g.copy_to_host(), e), interp


@pytest.mark.parametrize("kind", range(2))
def test_copies(kind: int) -> None:
    src = image(kind)
    n, h, w, c = src.shape
    check("flip", src, src.shape, src.dtype, [1, -1])
    check("rotate90", src, (n, w, h, c), src.dtype, [1, 3])
    check("crop", src, (n, 4, 5, c), src.dtype, [0, 0, 5, 6], strided=False)
    check("tiles", src, (n * 2 * 3, 5, 4, c), src.dtype, 3, 3)


@pytest.mark.parametrize("border", range(5))
def test_filter2d(border: int) -> None:
    src = image(border)
    kernel = np.random.default_rng(border).normal(size=N * 3 * 5)
    check("filter2d", src, src.shape, src.dtype, kernel, 3, 5, border, [9, 8, 7, 6])


@pytest.mark.parametrize("border", [0, 2, 4])
def test_separable(border: int) -> None:
    src = image(border)
    rng = np.random.default_rng(border)
    check(
        "sep_filter2d",
        src,
        src.shape,
        np.float32,
        rng.normal(size=N * 3),
        3,
        rng.normal(size=N * 5),
        5,
        border,
        [1, 2, 3, 4],
        0.5,
    )
    check("gaussian_blur", src, src.shape, src.dtype, 5, 3, [0.8, 0.0, 1.5, 0.7], border)
    check("box_blur", src, src.shape, src.dtype, 3, 4, border)


@pytest.mark.parametrize("ksize", [3, 5, 7])
def test_median_blur(ksize: int) -> None:
    src = image(ksize, h=7, w=8)
    check("median_blur", src, src.shape, src.dtype, ksize)


@pytest.mark.parametrize("dx, dy, ksize, border", [(1, 0, 3, 4), (0, 1, -1, 1), (2, 1, 5, 2)])
def test_sobel(dx: int, dy: int, ksize: int, border: int) -> None:
    src = image(ksize + 2)
    check("sobel", src, src.shape, np.float32, dx, dy, ksize, 0.5, 1.0, border)


def test_edges_equalize_gray_invert() -> None:
    grey = image(4, h=13, w=15)  # uint8, one channel
    check("edges", grey, grey.shape, np.uint8)
    check("equalize", grey, grey.shape, np.uint8)
    rgba = image(2, h=13, w=15)  # uint8, 4 channels
    check("equalize", rgba, rgba.shape, np.uint8)
    flat = np.full((1, 5, 6, 1), 77, np.uint8)  # one grey level: OpenCV keeps it
    check("equalize", flat, flat.shape, np.uint8)
    for kind in range(len(KINDS)):
        src = image(kind)
        check("to_gray", src, (*src.shape[:3], 1), src.dtype)
    for kind in range(2):
        src = image(kind)
        check("invert", src, src.shape, src.dtype)


@pytest.mark.parametrize("mode", range(5))
def test_threshold(mode: int) -> None:
    for kind in (0, 1):
        src = image(kind + mode)
        thresh, maxval = ([-1.0, 100.5], [255, 200.4]) if src.dtype == np.uint8 else ([0.3, 0.6], [1.0, 0.5])
        check("threshold", src, src.shape, src.dtype, thresh, maxval, mode)


@pytest.mark.parametrize("kind", range(len(KINDS)))
def test_lut_color_transform_channel_mean(kind: int) -> None:
    src = image(kind)
    c = src.shape[3]
    rng = np.random.default_rng(kind)
    for scale in (0.5, 40.0):  # every branch: diagonal (sample 0), fixed point (C = 3, uint8) or float chain
        m = rng.normal(0, scale, (N, c, c + 1))
        m[0, :, :c] = np.diag(np.diag(m[0, :, :c]))
        check("color_transform", src, src.shape, src.dtype, m.ravel())
        mean, std = [0.485, 0.456, 0.406, 0.5][:c], [0.229, 0.224, 0.225, 0.25][:c]
        for out in (np.float32, np.float16, np.uint16):  # normalize with the matrix fused (uint16: bfloat16)
            check("normalize", src, src.shape, out, mean, std, 1 / 255, m.ravel())
    if src.dtype == np.uint8:
        check("lut", src, src.shape, np.uint8, rng.integers(0, 256, N * c * 256).astype(np.uint8))
    expected = np.empty((N, c))
    cpu.channel_mean(src, expected)
    got = np.full((N, c), 7.0)
    gpu.channel_mean(device_view(src), got)
    assert got.tobytes() == expected.tobytes(), (got, expected)


@pytest.mark.parametrize("kind", range(len(KINDS)))
def test_hue_shift(kind: int) -> None:
    """Every channel count and dtype (float32 beyond [0, 1] too), two shifts per batch and both ends."""
    src = image(kind)
    for hue in ([0.3, -0.2], [-0.5, 0.5]):
        check("hue_shift", src, src.shape, src.dtype, np.array(hue))


def test_fma32_rounds_once() -> None:
    """The simulator's fma32 (exact, in Python) and the compiled one (LLVM's fma) give the same bits, where
    rounding a * b + c in double and then to float32 would not: a * b lies exactly halfway between two
    float32 and c tips it by 2^-80."""
    import numba

    from fastaug._numba.intensity import fma32

    compiled = numba.njit(lambda a, b, c: fma32(a, b, c))
    a = np.float32(1 + 2**-12)
    for c in (np.float32(2.0**-80), np.float32(-(2.0**-80)), np.float32(0.75), np.float32(-3e38)):
        assert fma32(a, a, c) == compiled(a, a, c), c
    assert fma32(a, a, np.float32(2.0**-80)) != np.float32(float(a) * float(a) + 2.0**-80)


@pytest.mark.parametrize("out", [np.float32, np.float16, np.uint16])  # uint16: the bits of bfloat16
@pytest.mark.parametrize("kind", [0, 3])
def test_normalize(kind: int, out: type) -> None:
    src = image(kind)
    check("normalize", src, src.shape, out, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 1 / 255)
    # the float16 / bfloat16 rounding on special values (identity normalize), strided and contiguous
    values = np.array([0, -0.0, 2**-25, 3 * 2**-25, 2**-14, 65504, 65520, 1e38, np.inf, 1 + 2**-11, 1 + 3 * 2**-8])
    special = np.resize(np.r_[values, -values], (N, 3, 4, 1)).astype(np.float32)
    check("normalize", special, special.shape, out, [0.0], [1.0], 1.0)
    check("normalize", special, special.shape, out, [0.0], [1.0], 1.0, strided=False)


def test_stream_and_contiguous() -> None:
    src = image(0)
    stream = cuda.stream()
    expected = np.empty((N, 8, 10, 3), np.uint8)
    M = np.tile([1.2, 0.1, -1.0, 0.0, 0.8, 1.0], (N, 1))
    cpu.warp_affine(src, expected, M, 1, 0, [1, 2, 3, 4])
    dst = cuda.device_array(expected.shape, np.uint8, stream=stream)
    gpu.warp_affine(cuda.to_device(src, stream=stream), dst, M, 1, 0, [1, 2, 3, 4], stream=stream)
    assert np.array_equal(dst.copy_to_host(stream=stream), expected)
    stream.synchronize()


def test_errors() -> None:
    src = cuda.to_device(image(0))
    with pytest.raises(ArgumentError, match="expected 1, 3 or 4 channels, got 2"):
        gpu.invert(cuda.to_device(np.ones((1, 4, 4, 2), np.uint8)), cuda.to_device(np.ones((1, 4, 4, 2), np.uint8)))
    with pytest.raises(ArgumentError, match="M: matrix of sample 1 is singular"):
        gpu.warp_affine(
            src, cuda.device_array((N, 5, 5, 3), np.uint8), np.array([[1.0, 0, 0, 0, 1, 0], [0] * 6]), 0, 0, None
        )
    with pytest.raises(ArgumentError, match="ksize: expected 3, 5 or 7, got 4"):
        gpu.median_blur(src, cuda.device_array((N, 9, 11, 3), np.uint8), 4)
    with pytest.raises(ArgumentError, match="img: expected a CUDA device array, got ndarray"):
        gpu.invert(image(0), cuda.device_array((N, 9, 11, 3), np.uint8))
    ragged = [image(0)[:1], image(1)[:1]]
    for bad, message in (
        ([ragged[0], ragged[1][..., :1]], r"img\[1\]: expected dtype uint8, 3 channels on"),
        ([ragged[0], image(0)], r"img\[1\]: expected one image"),
        ([ragged[0], ragged[0][:, :0]], r"src\[1\]: cannot warp an empty image of shape \(1, 0, 11, 3\)"),
    ):
        with pytest.raises(ArgumentError, match=message):
            gpu.warp_affine(
                [cuda.to_device(x) for x in bad],
                cuda.device_array((2, 5, 5, 3), np.uint8),
                [1, 0, 0, 0, 1, 0] * 2,
                1,
                0,
                None,
            )
        with pytest.raises(ArgumentError, match=message):
            cpu.warp_affine(bad, np.empty((2, 5, 5, 3), np.uint8), [1, 0, 0, 0, 1, 0] * 2, 1, 0, None)
    for op, args in (("median_blur", (4,)), ("warp_affine", (np.eye(3)[:2].ravel().tolist() * N, 0, 9, None))):
        with pytest.raises(ArgumentError) as g:
            getattr(gpu, op)(src, cuda.device_array((N, 9, 11, 3), np.uint8), *args)
        with pytest.raises(ArgumentError) as c:
            getattr(cpu, op)(image(0), np.empty((N, 9, 11, 3), np.uint8), *args)
        assert str(g.value) == str(c.value)
