"""warp_backward (fastaug.functional.warp): the adjoint of warp_affine / warp_perspective for autograd.

- The image gradient is the exact transpose of the forward's linear map: the dense matrix of the forward op is
  built column by column from one-hot images, for every border and interpolation, affine and perspective.
- The matrix gradient dL/dMinv matches central finite differences of an independent float64 NumPy evaluation of
  the same sampling formula (and warp_backward_matrix's dL/dM those of the forward matrix).
- Native and Numba agree (bit for bit, as it happens: the same operations in the same order), the Numba CUDA
  twin agrees under the simulator, the CPU results are the same bits on every run and thread count, and bad
  arguments raise errors that name them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fastaug as fa
from fastaug import ArgumentError, ArgumentTypeError
from fastaug.functional.warp import warp_backward, warp_backward_matrix

BORDERS = ("constant", "replicate", "reflect", "reflect101", "wrap")
SRC, DST = (6, 7), (5, 8)  # (H, W) of the forward's input and output

# Two samples each, forward matrices (src -> dst) with rotation, scale, shear and translation (perspective:
# and projective terms) that send some of the taps outside the 6 x 7 source.
AFFINE = np.array(
    [
        [[0.93, -0.38, 1.2], [0.41, 1.07, -1.6]],
        [[1.3, 0.21, -2.4], [-0.17, 0.78, 0.9]],
    ]
)
PERSPECTIVE = np.array(
    [
        [[0.95, -0.31, 1.1], [0.28, 1.04, -1.2], [0.031, -0.047, 1.0]],
        [[1.12, 0.18, 0.6], [-0.22, 0.86, 0.7], [-0.052, 0.036, 1.05]],
    ]
)
MATRICES = {"warp_affine": AFFINE, "warp_perspective": PERSPECTIVE}


def inverse_maps(op: str, M: np.ndarray) -> np.ndarray:
    """The (N, 3, 3) inverse maps in float64 of the float32 values the kernels sample with."""
    full = M if op == "warp_perspective" else np.concatenate([M, np.tile([[[0.0, 0.0, 1.0]]], (len(M), 1, 1))], 1)
    return np.linalg.inv(full).astype(np.float32).astype(np.float64)


def forward(op: str, img: np.ndarray, M: np.ndarray, interp: str, border: str, fill: float = 0.0) -> np.ndarray:
    return getattr(fa, op)(img, M, size=DST, interp=interp, border=border, fill=fill)


def dense_forward(op: str, M: np.ndarray, c: int, interp: str, border: str) -> np.ndarray:
    """The forward's linear map of one sample (matrix M) as a dense (h*w*C, H*W*C) matrix: column j is the warp
    of the one-hot image of source value j (fill 0, so the map is linear)."""
    size = SRC[0] * SRC[1] * c
    onehots = np.eye(size, dtype=np.float32).reshape(size, *SRC, c)
    out = forward(op, onehots, M, interp, border)
    return out.reshape(size, -1).T.astype(np.float64)


@pytest.mark.parametrize("op", sorted(MATRICES))
@pytest.mark.parametrize("interp", ["nearest", "linear"])
@pytest.mark.parametrize("border", BORDERS)
def test_image_gradient_is_the_exact_adjoint(backend, op, interp, border):
    rng = np.random.default_rng(BORDERS.index(border))
    for c in (1, 3):
        M = MATRICES[op]
        grad = rng.normal(size=(len(M), *DST, c)).astype(np.float32)
        img = rng.random((len(M), *SRC, c), dtype=np.float32)
        got, _ = warp_backward(op, grad, img, M, interp, border, fill=0.7, need_matrix=False)
        assert got.shape == img.shape and got.dtype == np.float32
        for n in range(len(M)):
            A = dense_forward(op, M[n], c, interp, border)
            assert np.count_nonzero(A.sum(1) < 1 - 1e-6) or border != "constant"  # some taps do fall outside
            expected = (A.T @ grad[n].ravel().astype(np.float64)).reshape(*SRC, c)
            err = np.abs(got[n] - expected)
            assert err.max() <= 1e-5 * (1 + np.abs(expected).max()), (
                c,
                n,
                err.max(),
                np.unravel_index(err.argmax(), err.shape),
            )


# ---- the matrix gradient ------------------------------------------------------------------------------


def map_border(i: np.ndarray, n: int, border: str) -> np.ndarray:
    """cv::borderInterpolate in NumPy (-1: outside under a constant border)."""
    inside = (i >= 0) & (i < n)
    if border == "constant":
        return np.where(inside, i, -1)
    if border == "replicate":
        return np.clip(i, 0, n - 1)
    if border == "reflect":
        m = np.mod(i, 2 * n)
        return np.where(m < n, m, 2 * n - 1 - m)
    if border == "reflect101":
        m = np.mod(i, 2 * n - 2)
        return np.where(m < n, m, 2 * n - 2 - m)
    return np.mod(i, n)


def reference_forward(img: np.ndarray, minv: np.ndarray, border: str, fill: float) -> np.ndarray:
    """Bilinear warp of one (H, W, C) image under the inverse map minv, all in float64."""
    h, w = DST
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    p = np.einsum("ij,jhw->ihw", minv, np.stack([xs, ys, np.ones_like(xs)]))
    sx, sy = p[0] / p[2], p[1] / p[2]
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    tx, ty = (sx - x0)[..., None], (sy - y0)[..., None]
    out = np.zeros((h, w, img.shape[2]))
    for dy, dx in itertools.product((0, 1), (0, 1)):
        yy, xx = map_border(y0 + dy, img.shape[0], border), map_border(x0 + dx, img.shape[1], border)
        vals = np.where(((yy >= 0) & (xx >= 0))[..., None], img[np.maximum(yy, 0), np.maximum(xx, 0)], fill)
        out += (ty if dy else 1 - ty) * (tx if dx else 1 - tx) * vals
    return out


def smooth_image(n: int, c: int) -> np.ndarray:
    ys, xs = np.mgrid[0 : SRC[0], 0 : SRC[1]].astype(np.float64)
    return np.stack(
        [
            np.stack([np.sin(0.7 * xs + 0.4 * k + i) + np.cos(0.5 * ys * (k + 1)) for k in range(c)], -1)
            for i in range(n)
        ]
    ).astype(np.float32)


@pytest.mark.parametrize("op", sorted(MATRICES))
@pytest.mark.parametrize("border", ["constant", "reflect101", "wrap"])
def test_matrix_gradient_matches_finite_differences(backend, op, border):
    """dL/dMinv for L = sum(grad * warp(img)), against central differences (step 1e-6) of the float64 reference.
    Tolerance: 1e-4 of the largest entry (the float32 coordinates of the kernels against float64 ones)."""
    c, fill = 3, 0.4
    M = MATRICES[op]
    img = smooth_image(len(M), c)
    grad = np.random.default_rng(1).normal(size=(len(M), *DST, c)).astype(np.float32)
    _, got = warp_backward(op, grad, img, M, "linear", border, fill=fill, need_img=False)
    assert got.shape == (len(M), 3, 3) and got.dtype == np.float64
    minv, eps = inverse_maps(op, M), 1e-6
    for n in range(len(M)):

        def loss(m: np.ndarray, n: int = n) -> float:
            return float((grad[n] * reference_forward(img[n].astype(np.float64), m, border, fill)).sum())

        expected = np.zeros((3, 3))
        for i, j in itertools.product(range(3 if op == "warp_perspective" else 2), range(3)):
            step = np.zeros((3, 3))
            step[i, j] = eps
            expected[i, j] = (loss(minv[n] + step) - loss(minv[n] - step)) / (2 * eps)
        scale = np.abs(expected).max()
        assert np.abs(got[n] - expected).max() <= 1e-4 * scale, (n, got[n], expected)
        if op == "warp_affine":
            assert (got[n, 2] == 0).all()


def test_forward_matrix_gradient(backend):
    """warp_backward_matrix turns dL/dMinv into dL/dM: against central differences in M of the reference."""
    op, border, c = "warp_perspective", "reflect", 1
    M = PERSPECTIVE
    img = smooth_image(len(M), c)
    grad = np.random.default_rng(2).normal(size=(len(M), *DST, c)).astype(np.float32)
    _, grad_inv = warp_backward(op, grad, img, M, "linear", border, need_img=False)
    got = warp_backward_matrix(op, M, grad_inv)
    assert got.shape == M.shape
    eps = 1e-6
    for n in range(len(M)):

        def loss(m: np.ndarray, n: int = n) -> float:
            return float((grad[n] * reference_forward(img[n].astype(np.float64), np.linalg.inv(m), border, 0.0)).sum())

        expected = np.zeros((3, 3))
        for i, j in itertools.product(range(3), range(3)):
            step = np.zeros((3, 3))
            step[i, j] = eps
            expected[i, j] = (loss(M[n] + step) - loss(M[n] - step)) / (2 * eps)
        assert np.abs(got[n] - expected).max() <= 1e-3 * np.abs(expected).max(), (got[n], expected)
    # an affine M shared by the batch: its gradient is the sum over the samples, in its (2, 3) shape
    _, gi = warp_backward("warp_affine", grad, img, AFFINE[0], "linear", border, need_img=False)
    shared = warp_backward_matrix("warp_affine", AFFINE[0], gi)
    assert shared.shape == (2, 3)
    np.testing.assert_allclose(shared, warp_backward_matrix("warp_affine", AFFINE[[0, 0]], gi).sum(0))


def test_nearest_has_no_matrix_gradient(backend):
    img = smooth_image(2, 3)
    grad = np.ones((2, *DST, 3), np.float32)
    _, gi = warp_backward("warp_perspective", grad, img, PERSPECTIVE, "nearest", "reflect")
    assert gi.shape == (2, 3, 3) and not gi.any()


# ---- backends, layouts, determinism -------------------------------------------------------------------


def big_case(n: int = 3, c: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = rng.random((n, 40, 44, c), dtype=np.float32)
    grad = rng.normal(size=(n, 37, 41, c)).astype(np.float32)
    H = np.tile(PERSPECTIVE[0], (n, 1, 1))
    H[:, :2, 2] += rng.normal(0, 2, (n, 2))
    return img, grad, H


@pytest.mark.parametrize("op", sorted(MATRICES))
@pytest.mark.parametrize("border", ["constant", "reflect"])
def test_native_and_numba_agree(op, border):
    if not all(fa.backends()[b]["available"] for b in ("native", "numba")):
        pytest.skip("needs both CPU backends")
    img, grad, H = big_case()
    M = H if op == "warp_perspective" else H[:, :2]
    results = {}
    for b in ("native", "numba"):
        with fa.backend(b):
            results[b] = warp_backward(op, grad, img, M, "linear", border, fill=(0.1, 0.2, 0.3, 0.4))
    np.testing.assert_allclose(results["native"][0], results["numba"][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results["native"][1], results["numba"][1], rtol=1e-9, atol=1e-9)


def test_strided_grad_and_partial_outputs(backend):
    """An NCHW gradient viewed as NHWC (no copy), a strided img and out=: the values of the contiguous call;
    need_img / need_matrix alone give the values of the full call."""
    img, grad, H = big_case(c=3)
    full_img, full_inv = warp_backward("warp_perspective", grad, img, H, "linear", "wrap")
    nchw = np.ascontiguousarray(grad.transpose(0, 3, 1, 2))
    padded = np.zeros((3, 40, 50, 4), np.float32)
    padded[:, :, 3:47, :3] = img
    out = np.full((3, 3, 40, 44), np.nan, np.float32).transpose(0, 2, 3, 1)  # an NCHW array as NHWC
    gi, ginv = warp_backward(
        "warp_perspective", nchw.transpose(0, 2, 3, 1), padded[:, :, 3:47, :3], H, "linear", "wrap", out=out
    )
    assert gi is out
    assert np.array_equal(gi, full_img) and np.array_equal(ginv, full_inv)
    only_img, none = warp_backward("warp_perspective", grad, img, H, "linear", "wrap", need_matrix=False)
    assert none is None and np.array_equal(only_img, full_img)
    none, only_inv = warp_backward("warp_perspective", grad, img, H, "linear", "wrap", need_img=False)
    assert none is None and np.array_equal(only_inv, full_inv)
    no_img, _ = warp_backward("warp_perspective", grad, None, H, "linear", "wrap", need_matrix=False, out=out.copy())
    assert np.array_equal(no_img, full_img)


def test_torch_nchw_gradient():
    torch = pytest.importorskip("torch")
    img, grad, H = big_case(c=3)
    expected = warp_backward("warp_perspective", grad, img, H, "linear", "reflect101")
    g = torch.from_numpy(np.ascontiguousarray(grad.transpose(0, 3, 1, 2))).permute(0, 2, 3, 1)
    with torch.no_grad():  # as in an autograd Function's backward
        gi, ginv = warp_backward(
            "warp_perspective", g, torch.from_numpy(img).requires_grad_(), H, "linear", "reflect101"
        )
    assert isinstance(gi, torch.Tensor) and gi.dtype == torch.float32 and tuple(gi.shape) == img.shape
    assert np.array_equal(gi.numpy(), expected[0]) and np.array_equal(ginv, expected[1])


@pytest.mark.parametrize("n", [1, 70])
def test_cpu_results_are_deterministic(backend, n):
    """The same bits on every run and with 1 or 2 threads: one sample (cut into chunks of rows with private
    images) and many samples (one task each)."""
    rng = np.random.default_rng(n)
    h, w = (100, 80) if n == 1 else (12, 10)
    img = rng.random((n, h, w, 3), dtype=np.float32)
    grad = rng.normal(size=(n, h + 3, w - 2, 3)).astype(np.float32)
    backward_chunks = pytest.importorskip("fastaug._numba.warp").backward_chunks  # warp.cpp's, mirrored
    assert backward_chunks(n, h + 3, h * w * 3) == (3 if n == 1 else 1)
    M = fa.affine_matrix(angle=rng.uniform(-40, 40, n), scale=rng.uniform(0.5, 1.5, n), center=(w / 2, h / 2))
    threads = fa.get_num_threads()
    try:
        runs = []
        for t in (2, 2, 1):
            fa.set_num_threads(t)
            runs.append(warp_backward("warp_affine", grad, img, M, "linear", "reflect101"))
    finally:
        fa.set_num_threads(threads)
    for gi, ginv in runs[1:]:
        assert np.array_equal(gi, runs[0][0]) and np.array_equal(ginv, runs[0][1])


def test_numba_cuda_twin_agrees():
    """The Numba CUDA backward (under the simulator without a GPU) against the CPU, through the public route: a
    numba device array goes to fastaug._numba_cuda when the native CUDA kernels cannot run."""
    cuda = pytest.importorskip("numba.cuda")
    if not cuda.is_available():
        pytest.skip("numba.cuda has no CUDA device and the simulator is off (NUMBA_ENABLE_CUDASIM)")
    rng = np.random.default_rng(3)
    img = smooth_image(2, 3)
    grad = rng.normal(size=(2, *DST, 3)).astype(np.float32)
    for op, border in (("warp_perspective", "constant"), ("warp_affine", "reflect")):
        expected = warp_backward(op, grad, img, MATRICES[op], "linear", border, fill=0.25)
        with fa.backend("numba"):  # never the native CUDA kernels for a numba array
            gi, ginv = warp_backward(
                op, cuda.to_device(grad), cuda.to_device(img), MATRICES[op], "linear", border, fill=0.25
            )
        np.testing.assert_allclose(gi.copy_to_host(), expected[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ginv, expected[1], rtol=1e-9, atol=1e-9)
    # nearest, the image gradient alone, no img (its shape from out=), a strided gradient
    expected, _ = warp_backward("warp_affine", grad, img, AFFINE, "nearest", "wrap", need_matrix=False)
    strided = cuda.to_device(np.ascontiguousarray(grad.transpose(0, 3, 1, 2))).transpose((0, 2, 3, 1))
    with fa.backend("numba"):
        gi, none = warp_backward(
            "warp_affine",
            strided,
            None,
            AFFINE,
            "nearest",
            "wrap",
            need_matrix=False,
            out=cuda.device_array(img.shape, np.float32),
        )
    assert none is None
    np.testing.assert_allclose(gi.copy_to_host(), expected, rtol=1e-5, atol=1e-5)


# ---- errors --------------------------------------------------------------------------------------------


def test_bad_arguments_are_clear_errors(backend):
    img = np.zeros((2, *SRC, 3), np.float32)
    grad = np.zeros((2, *DST, 3), np.float32)
    cases = [
        (ArgumentError, r"interp: expected one of 'nearest', 'linear', got 'cubic'", dict(interp="cubic")),
        (ArgumentError, r"op: expected 'warp_affine' or 'warp_perspective', got 'resize'", dict(op="resize")),
        (ArgumentTypeError, r"grad: expected dtype float32, got uint8", dict(grad=grad.astype(np.uint8))),
        (ArgumentTypeError, r"img: expected dtype float32, got uint8", dict(img=img.astype(np.uint8))),
        (
            ArgumentError,
            r"grad: expected the forward's output shape .* N = 2, C = 3 .* \(1, 5, 8, 3\)",
            dict(grad=grad[:1]),
        ),
        (ArgumentError, r"grad: .* got shape \(2, 5, 8, 1\)", dict(grad=grad[..., :1])),
        (ArgumentError, r"M: expected shape \(2, 3\) or one per sample", dict(M=np.eye(3))),
        (ValueError, r"M: matrix of sample 0 is singular", dict(M=np.zeros((2, 3)))),
        (ArgumentError, r"border: expected one of", dict(border="mirror")),
        (ArgumentError, r"fill: expected a scalar or 3 values", dict(fill=(1, 2))),
        (ArgumentError, r"img: the forward's input is needed for the matrix gradient", dict(img=None)),
        (ArgumentError, r"out: expected shape \(2, 6, 7, 3\) and dtype float32", dict(out=np.zeros((2, 6, 7, 1)))),
    ]
    for error, message, change in cases:
        kwargs = dict(op="warp_affine", grad=grad, img=img, M=AFFINE, interp="linear", border="constant")
        kwargs.update(change)
        with pytest.raises(error, match=message):
            warp_backward(**kwargs)
    with pytest.raises(ArgumentError, match="out: must not overlap"):
        warp_backward("warp_affine", grad, img, AFFINE, out=img)


def test_backends_check_before_touching_memory():
    """The backends' own checks (what a direct call of the native module or the Numba fallback meets), the same
    messages on both."""
    img = np.zeros((2, *SRC, 3), np.float32)
    grad = np.zeros((2, *DST, 3), np.float32)
    fill = (0.0, 0.0, 0.0, 0.0)
    good = dict(srcs=[grad, img], dst=np.zeros_like(img), interp=1, border=0, gi=np.zeros((2, 9)), need_img=True)
    cases = [
        (r"grad_src: expected shape \(2, 6, 7, 3\), got \(2, 6, 8, 3\)", dict(dst=np.zeros((2, 6, 8, 3), np.float32))),
        (r"src: expected 2 images of 3 channels like grad, got shape \(1, 6, 7, 3\)", dict(srcs=[grad, img[:1]])),
        (r"grad: expected dtype float32, got uint8", dict(srcs=[grad.astype(np.uint8), img])),
        (r"interp: expected nearest or linear \(the backward of a warp has no cubic\), got code 2", dict(interp=2)),
        (r"grad_inv: expected a writable array of 18 float64 values, got 9", dict(gi=np.zeros(9))),
        (r"src: the forward's input is needed for the matrix gradient", dict(srcs=[grad])),
        (r"nothing to compute", dict(gi=None, need_img=False)),
    ]
    modules = []
    if fa.backends()["native"]["available"]:
        from fastaug import _C

        modules.append((_C, lambda a: a.__dlpack__(), (0,)))
    if fa.backends()["numba"]["available"]:
        import fastaug._numba as nb

        modules.append((nb, lambda a: a, ()))
    for module, wrap, stream in modules:
        for message, change in cases:
            a = {**good, **change}
            dst = a["dst"].copy()
            with pytest.raises(ValueError, match=message):
                module.warp_affine_backward(
                    [wrap(x) for x in a["srcs"]], wrap(dst), AFFINE, a["interp"], a["border"], fill, a["gi"],
                    a["need_img"], *stream,
                )  # fmt: skip
            assert not dst.any()


# ---- native CUDA ---------------------------------------------------------------------------------------


def test_native_cuda_checks_without_a_gpu():
    """On CUDA capsules (fake ones: no GPU here), arguments are checked first, then the device is refused by
    name; nothing is touched."""
    from test_cuda_nogpu import _gpu_present, cuda_capsule, native

    if native is None or _gpu_present():
        pytest.skip("needs the native module and no GPU (test_native_cuda_matches_cpu covers a GPU)")
    shapes = dict(grad=(2, *DST, 3), img=(2, *SRC, 3))
    fill, gi = (0.0, 0.0, 0.0, 0.0), np.zeros((2, 9))

    def call(op: str, interp: int = 1, img: tuple[int, ...] = shapes["img"]) -> None:
        caps = [cuda_capsule(shapes["grad"], "float32"), cuda_capsule(img, "float32")]
        getattr(native, op)(
            caps, cuda_capsule(img, "float32"), MATRICES[op[: op.rindex("_")]], interp, 0, fill, gi, True, 0
        )

    for op in ("warp_affine_backward", "warp_perspective_backward"):
        with pytest.raises(
            ValueError, match=rf"{op}: got a CUDA image, but (no CUDA device can be used|fastaug was built)"
        ):
            call(op)
        with pytest.raises(ValueError, match="interp: expected nearest or linear"):
            call(op, interp=2)
        with pytest.raises(
            ValueError, match=r"src: expected 2 images of 3 channels like grad, got shape \(2, 6, 7, 1\)"
        ):
            call(op, img=(2, *SRC, 1))


@pytest.mark.parametrize("op", sorted(MATRICES))
def test_native_cuda_matches_cpu(op):
    """On a GPU: the native CUDA backward against the CPU's (atomic float sums in any order: a tolerance), torch
    CUDA tensors with an NCHW gradient viewed as NHWC, and 300 samples (more than one launch's inverse maps)."""
    if not fa.backends()["cuda"]["available"]:
        pytest.skip("the native CUDA kernels cannot run here")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for n, c, interp, border in (
        (3, 3, "linear", "constant"),
        (300, 1, "linear", "reflect101"),
        (4, 4, "nearest", "wrap"),
    ):
        img = rng.random((n, 30, 34, c), dtype=np.float32)
        grad = rng.normal(size=(n, 27, 31, c)).astype(np.float32)
        H = np.tile(PERSPECTIVE[0], (n, 1, 1))
        H[:, :2, 2] += rng.normal(0, 2, (n, 2))
        M = H if op == "warp_perspective" else H[:, :2]
        expected = warp_backward(op, grad, img, M, interp, border, fill=0.3)
        g = torch.from_numpy(np.ascontiguousarray(grad.transpose(0, 3, 1, 2))).cuda().permute(0, 2, 3, 1)
        gi, ginv = warp_backward(op, g, torch.from_numpy(img).cuda(), M, interp, border, fill=0.3)
        assert gi.is_cuda and tuple(gi.shape) == img.shape
        np.testing.assert_allclose(gi.cpu().numpy(), expected[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ginv, expected[1], rtol=1e-9, atol=1e-9 * np.abs(expected[1]).max())
        only_img, none = warp_backward(op, g, None, M, interp, border, need_matrix=False, out=torch.empty_like(gi))
        assert none is None
        np.testing.assert_allclose(only_img.cpu().numpy(), expected[0], rtol=1e-5, atol=1e-5)
