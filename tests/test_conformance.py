"""Every operator against OpenCV (the reference), on photographs and random data, every backend; hue_shift
against a NumPy float32 transliteration of torchvision's adjust_hue (torchvision is no test dependency).

Tolerances are the measured differences, stated in the README: exact where OpenCV's integer maths is
exact; otherwise the float32 accumulation here vs OpenCV's fixed point gives at most one grey level."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import fastaug as fa
from conftest import assert_close, make_image

IMAGES = [("astronaut", 3), ("coffee", 4), ("camera", 1), ("random", 1), ("random", 3), ("random", 4)]
DTYPES = ["uint8", "float32"]
BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "replicate": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT,
    "wrap": cv2.BORDER_WRAP,
    "reflect101": cv2.BORDER_REFLECT_101,
}
INTERPS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


@pytest.fixture(params=IMAGES, ids=lambda p: f"{p[0]}-c{p[1]}")
def image_spec(request):
    return request.param


def images(spec, dtype):
    kind, channels = spec
    return make_image(kind, channels, dtype)


def cv(fn, img: np.ndarray, *args, **kwargs) -> np.ndarray:
    """Applies an OpenCV function to an (H, W, C) image, keeping the channel axis when C = 1."""
    out = fn(img[..., 0] if img.shape[2] == 1 else img, *args, **kwargs)
    return out.reshape(*out.shape[:2], -1)


def tol(dtype: str, u8: float, f32: float) -> float:
    return u8 if dtype == "uint8" else f32


# ---- warps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("border", list(BORDERS))
def test_warp_affine(backend, image_spec, dtype, interp, border):
    img = images(image_spec, dtype)
    h, w = img.shape[:2]
    M = cv2.getRotationMatrix2D((w * 0.4, h * 0.6), 33.0, 0.85)
    M[:, 2] += (5.3, -7.1)
    fill = (0.3, 0.6, 0.9, 0.5)[: img.shape[2]] if dtype == "float32" else (30, 60, 90, 120)[: img.shape[2]]
    got = fa.warp_affine(img, M, (h + 7, w - 5), interp, border, fill)
    ref = cv(
        cv2.warpAffine, img, M, (w - 5, h + 7), flags=INTERPS[interp], borderMode=BORDERS[border], borderValue=fill
    )
    assert got.shape == ref.shape and got.dtype == img.dtype
    diff = np.abs(got.astype(float) - ref)
    if interp == "nearest":  # a float coordinate a hair from .5 may round the other way than OpenCV's
        assert np.mean(diff > 0) < 2e-3, np.mean(diff > 0)
    else:
        assert diff.max() <= tol(dtype, 1, 2e-4), diff.max()
        assert diff.mean() <= tol(dtype, 2e-3, 1e-5), diff.mean()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("border", ["constant", "replicate", "reflect101"])
def test_warp_perspective(backend, image_spec, dtype, interp, border):
    img = images(image_spec, dtype)
    h, w = img.shape[:2]
    H = np.array([[1.05, 0.08, -6.0], [-0.04, 0.93, 4.5], [3e-4, -2e-4, 1.0]])
    got = fa.warp_perspective(img, H, None, interp, border, 7)
    ref = cv(
        cv2.warpPerspective, img, H, (w, h), flags=INTERPS[interp], borderMode=BORDERS[border], borderValue=(7, 7, 7, 7)
    )
    diff = np.abs(got.astype(float) - ref)
    if interp == "nearest":
        assert np.mean(diff > 0) < 2e-3
    else:
        # float32: the projective division in float32 moves samples by ~1e-4 px (OpenCV 5 does the same in
        # its own order), so float images differ by up to ~4e-4 (0.1 grey level)
        assert diff.max() <= tol(dtype, 1, 1e-3) and diff.mean() <= tol(dtype, 2e-3, 1e-5), diff.max()


# Output sizes from the image's (h, w): down and up, non-integer and integer factors (area's integer path).
RESIZE_SIZES = {
    "37x53": lambda h, w: (37, 53),
    "128x100": lambda h, w: (128, 100),
    "300x401": lambda h, w: (300, 401),
    "half": lambda h, w: (h // 2, w // 2),
    "quarter-third": lambda h, w: (h // 4, w // 3),
    "double": lambda h, w: (2 * h, 2 * w),
    "h-1,w+1": lambda h, w: (h - 1, w + 1),
    "h+3,w-2": lambda h, w: (h + 3, w - 2),
    "same": lambda h, w: (h, w),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interp", list(INTERPS))
@pytest.mark.parametrize("spec", list(RESIZE_SIZES))
def test_resize(backend, image_spec, dtype, interp, spec):
    """uint8 nearest, linear and area: bit-exact (OpenCV's fixed-point linear and integer area paths);
    uint8 cubic: within 1 (OpenCV's SIMD cubic rounds differently, ~0.005% of values); float32 within a
    few ulps (cubic 2e-6)."""
    img = images(image_spec, dtype)
    size = RESIZE_SIZES[spec](*img.shape[:2])
    got = fa.resize(img, size, interp)
    ref = cv(cv2.resize, img, size[::-1], interpolation=INTERPS[interp])
    diff = np.abs(got.astype(float) - ref)
    exact_u8 = 1 if interp == "cubic" else 0
    assert diff.max() <= tol(dtype, exact_u8, 2e-6 if interp == "cubic" else 3e-7), diff.max()
    assert diff.mean() <= tol(dtype, 0.001, 2e-7), diff.mean()


# ---- exact copies --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_flip_every_width(backend, dtype, channels):
    """The mirror's vector path (whole pixels per 16 bytes) and its edges, for widths around every boundary."""
    rng = np.random.default_rng(channels)
    for w in [*range(1, 40), 63, 64, 65, 127]:
        img = rng.integers(0, 256, (2, 3, w, channels)).astype(dtype)
        np.testing.assert_array_equal(fa.flip(img, 1), img[:, :, ::-1], err_msg=f"width {w}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_flip_rotate_crop_tiles(backend, image_spec, dtype):
    img = images(image_spec, dtype)
    for code in (0, 1, -1):
        assert_close(fa.flip(img, code), cv(cv2.flip, img, code), what=f"flip {code}")
    for k, rot in ((1, cv2.ROTATE_90_COUNTERCLOCKWISE), (2, cv2.ROTATE_180), (3, cv2.ROTATE_90_CLOCKWISE)):
        assert_close(fa.rotate90(img, k), cv(cv2.rotate, img, rot), what=f"rotate90 {k}")
    assert_close(fa.crop(img, (3, 5, 20, 31)), img[3:23, 5:36], what="crop")
    t = fa.tiles(img, (16, 20), (10, 15))
    ny, nx = (img.shape[0] - 16) // 10 + 1, (img.shape[1] - 20) // 15 + 1
    assert t.shape == (ny * nx, 16, 20, img.shape[2])
    for i in (0, nx + 1, ny * nx - 1):
        y, x = (i // nx) * 10, (i % nx) * 15
        assert_close(t[i], img[y : y + 16, x : x + 20], what=f"tile {i}")


# ---- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", ["constant", "replicate", "reflect", "reflect101"])
@pytest.mark.parametrize("ksize", [(3, 3), (5, 3), (4, 6)], ids=str)
def test_filter2d(backend, image_spec, dtype, border, ksize):
    img = images(image_spec, dtype)
    k = np.random.default_rng(1).normal(size=ksize).astype(np.float32) / ksize[0]
    got = fa.filter2d(img, k, border)
    ref = cv(cv2.filter2D, img, -1, k, borderType=BORDERS[border])
    assert_close(got, ref, atol=tol(dtype, 1, 1e-5), what="filter2d")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", ["constant", "replicate", "reflect", "reflect101"])
def test_sep_filter2d(backend, image_spec, dtype, border):
    img = images(image_spec, dtype)
    kx = np.array([0.1, -0.3, 0.9, 0.2, 0.1], np.float32)
    ky = np.array([0.25, 0.5, 0.25], np.float32)
    got = fa.sep_filter2d(img, kx, ky, border, delta=2.0 if dtype == "uint8" else 0.01)
    ref = cv(cv2.sepFilter2D, img, -1, kx, ky, delta=2.0 if dtype == "uint8" else 0.01, borderType=BORDERS[border])
    assert_close(got, ref, atol=tol(dtype, 1, 1e-5), what="sep_filter2d")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "ksize,sigma",
    [
        (3, 0.0),
        (5, 0.0),
        (5, 1.1),
        (5, 1.3),
        ((7, 3), (0.8, 2.1)),
        (9, 0.0),
        (11, 2.5),
        (1, 0.0),
        ((31, 5), (7.0, 0.3)),
    ],
    ids=str,
)
@pytest.mark.parametrize("border", ["constant", "replicate", "reflect", "reflect101"])
def test_gaussian_blur(backend, image_spec, dtype, ksize, sigma, border):
    img = images(image_spec, dtype)
    kh, kw = (ksize, ksize) if isinstance(ksize, int) else ksize
    sx, sy = (sigma, sigma) if np.ndim(sigma) == 0 else sigma
    got = fa.gaussian_blur(img, ksize, sx, border, sigma_y=sy)
    ref = cv(cv2.GaussianBlur, img, (kw, kh), sx, sigmaY=sy, borderType=BORDERS[border])
    if dtype == "uint8":  # OpenCV's fixed-point path, integer maths: bit-exact
        np.testing.assert_array_equal(got, ref)
    else:  # the same float32 kernel; OpenCV's SIMD sums in another order
        assert_close(got, ref, atol=1e-5, mean_atol=1e-6, what="gaussian_blur")


@pytest.mark.parametrize("ksize", [1, 3, 5, 7, 9, 15, 255])
def test_gaussian_kernels_are_opencvs(ksize):
    """The float32 kernel equals cv2.getGaussianKernel's bits (the uint8 path's fixed-point kernel is built
    from the same doubles and checked through test_gaussian_blur and the sigma sweep below)."""
    from fastaug._numba.filter import gaussian_kernel

    for sigma in (0.0, 0.3, 0.8, 1.1, 2.5, 40.0):
        ref = cv2.getGaussianKernel(ksize, sigma, ktype=cv2.CV_32F).ravel()
        np.testing.assert_array_equal(gaussian_kernel(ksize, sigma), ref)


def test_gaussian_blur_sigma_sweep(backend):
    """uint8 bit-exact over many sigmas and sizes: every fixed-point kernel matches OpenCV's."""
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (23, 29, 1), dtype=np.uint8)
    for sigma in np.round(rng.uniform(0.05, 6.0, 150), 3):
        k = int(rng.choice([3, 5, 7, 9, 13]))
        ref = cv(cv2.GaussianBlur, img, (k, k), float(sigma))
        np.testing.assert_array_equal(fa.gaussian_blur(img, k, float(sigma)), ref, err_msg=f"ksize {k} sigma {sigma}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", ["reflect101", "constant", "replicate", "reflect"])
@pytest.mark.parametrize("ksize", [3, (3, 5), (4, 2), 7, (1, 9)], ids=str)
def test_box_blur(backend, image_spec, dtype, ksize, border):
    """Exact window sums: bit-exact with cv2.blur for float32 and for uint8 odd sizes; uint8 even sizes
    within 1 (OpenCV rounds those through its own 16-bit fixed point)."""
    img = images(image_spec, dtype)
    kh, kw = (ksize, ksize) if isinstance(ksize, int) else ksize
    exact = dtype == "float32" or (kh % 2 == 1 and kw % 2 == 1)
    assert_close(
        fa.box_blur(img, ksize, border),
        cv(cv2.blur, img, (kw, kh), borderType=BORDERS[border]),
        atol=0 if exact else 1,
        what="box_blur",
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ksize", [3, 5])
def test_median_blur(backend, image_spec, dtype, ksize):
    img = images(image_spec, dtype)
    if image_spec[1] == 4 and dtype == "float32":
        pytest.skip("OpenCV's medianBlur has no 4-channel float32 path")
    assert_close(fa.median_blur(img, ksize), cv(cv2.medianBlur, img, ksize), what="median_blur")


# ---- derivatives ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "dx,dy,ksize", [(1, 0, 3), (0, 1, 3), (1, 1, 3), (2, 0, 5), (1, 0, 1), (0, 2, 7), (1, 0, -1), (0, 1, -1)]
)
@pytest.mark.parametrize("border", ["replicate", "reflect", "reflect101"])
def test_sobel(backend, image_spec, dtype, dx, dy, ksize, border):
    img = images(image_spec, dtype)
    got = fa.sobel(img, dx, dy, ksize, border=border)
    ref = cv(cv2.Sobel, img, cv2.CV_32F, dx, dy, ksize=ksize, borderType=BORDERS[border])
    assert got.dtype == np.float32
    # uint8: small-integer sums, exact in float32; float32: summation order differs from OpenCV's SIMD
    assert_close(got, ref, atol=tol(dtype, 0, 2e-4), what="sobel")


def test_sobel_scale_delta(backend):
    img = make_image("astronaut", 3, "uint8")
    assert_close(
        fa.sobel(img, 1, 0, 3, scale=0.25, delta=3.0),
        cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, scale=0.25, delta=3.0),
        atol=1e-4,
        what="sobel scale",
    )


@pytest.mark.parametrize("kind", ["astronaut", "camera", "random"])
def test_edges(backend, kind):
    img = make_image(kind, 3 if kind != "camera" else 1, "uint8")
    gray = cv(cv2.cvtColor, img, cv2.COLOR_RGB2GRAY) if img.shape[2] == 3 else img
    gx = cv(cv2.Sobel, gray, cv2.CV_32F, 1, 0)
    gy = cv(cv2.Sobel, gray, cv2.CV_32F, 0, 1)
    assert_close(fa.edges(img), np.clip(np.rint(np.sqrt(gx * gx + gy * gy)), 0, 255), what="edges")


# ---- intensity -----------------------------------------------------------------------------------


def test_equalize(backend, image_spec):
    img = images(image_spec, "uint8")
    ref = np.dstack([cv2.equalizeHist(np.ascontiguousarray(img[..., c])) for c in range(img.shape[2])])
    assert_close(fa.equalize(img), ref, what="equalize")


def test_equalize_constant_image(backend):
    img = np.full((9, 7, 1), 77, np.uint8)
    assert_close(fa.equalize(img), cv(cv2.equalizeHist, img), what="equalize constant")


@pytest.mark.parametrize("dtype", DTYPES)
def test_to_gray(backend, image_spec, dtype):
    img = images(image_spec, dtype)
    if img.shape[2] == 1:
        assert_close(fa.to_gray(img), img, what="to_gray C=1")
        return
    code = cv2.COLOR_RGB2GRAY if img.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
    assert_close(fa.to_gray(img), cv(cv2.cvtColor, img, code), atol=tol(dtype, 0, 1e-6), what="to_gray")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["binary", "binary_inv", "trunc", "tozero", "tozero_inv"])
def test_threshold(backend, image_spec, dtype, mode):
    img = images(image_spec, dtype)
    t, m = (127.6, 200.4) if dtype == "uint8" else (0.45, 0.8)
    code = getattr(cv2, f"THRESH_{mode.upper()}")
    assert_close(fa.threshold(img, t, m, mode), cv(lambda a: cv2.threshold(a, t, m, code)[1], img), what=mode)


@pytest.mark.parametrize("dtype", DTYPES)
def test_invert(backend, image_spec, dtype):
    img = images(image_spec, dtype)
    ref = cv(cv2.bitwise_not, img) if dtype == "uint8" else 1.0 - img
    assert_close(fa.invert(img), ref, what="invert")


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_normalize(backend, layout):
    img = make_image("astronaut", 3, "uint8")[None].repeat(2, axis=0)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    got = fa.normalize(img, mean, std, layout)
    ref = (img / 255.0 - mean) / std
    assert_close(got, ref if layout == "NHWC" else ref.transpose(0, 3, 1, 2), atol=2e-6, what="normalize")
    assert got.dtype == np.float32


# ---- lut, color_transform, channel_mean ----------------------------------------------------------


def cv_lut(img: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """cv2.LUT of an (H, W, C) image with one 256-entry table per channel (C, 256)."""
    return cv(cv2.LUT, img, np.ascontiguousarray(tables.T)[:, None, :])


def test_lut(backend, image_spec):
    """Bit-exact with cv2.LUT, one table per sample and channel, contiguous and strided (NCHW memory) input."""
    img = images(image_spec, "uint8")
    c = img.shape[2]
    rng = np.random.default_rng(c)
    gamma = np.clip(np.rint(255 * (np.arange(256) / 255) ** 0.6), 0, 255)
    tables = np.stack([rng.integers(0, 256, (c, 256)), np.tile(gamma, (c, 1)), np.tile(255 - np.arange(256), (c, 1))])
    batch = np.stack([img, img[::-1], img[:, ::-1]])
    planar = np.ascontiguousarray(batch.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    for x in (batch, planar, batch[:, ::2, ::-3]):
        got = fa.lut(x, tables.astype(np.uint8))
        for i in range(3):
            np.testing.assert_array_equal(got[i], cv_lut(x[i], tables[i]), err_msg=f"sample {i}")


def test_lut_table_shapes(backend):
    img = make_image("coffee", 4, "uint8")[:40, :50]
    batch = np.stack([img, 255 - img])
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, 256)
    per_image = rng.integers(0, 256, (2, 256))
    per_channel = rng.integers(0, 256, (2, 4, 256))
    for table, expected in (
        (one, [np.tile(one, (4, 1))] * 2),
        (one[None], [np.tile(one, (4, 1))] * 2),
        (per_image, [np.tile(t, (4, 1)) for t in per_image]),
        (per_channel, list(per_channel)),
        (per_channel[:1], [per_channel[0]] * 2),
        (per_channel.astype(np.float64), list(per_channel)),  # integer values of another dtype
    ):
        got = fa.lut(batch, table)
        for i in range(2):
            np.testing.assert_array_equal(got[i], cv_lut(batch[i], expected[i]), err_msg=str(np.shape(table)))
    np.testing.assert_array_equal(fa.lut(img[..., 0], one), cv2.LUT(img[..., 0], one.astype(np.uint8)))


def _color_matrices(kind: str, c: int, rng: np.random.Generator) -> np.ndarray:
    """Three (c, c + 1) matrices of one family: each family takes a different branch of cv::transform."""
    eye = np.eye(c, c + 1)
    if kind == "diagonal":  # OpenCV's diagonal path (and C = 1's convertTo): an off-diagonal 1e-8 is ignored
        m = eye * rng.uniform(0.3, 2.0, (3, c, 1))
        m[..., c] = rng.normal(0, 40, (3, c))
        if c > 1:
            m[1, 0, 1] = 1e-8
        return m
    if kind == "jitter":  # saturation and hue as ColorJitter folds them: small coefficients (fixed point for C=3)
        m = np.stack([eye * s + (1 - s) * np.full((c, c + 1), 1 / c) * (np.arange(c + 1) < c) for s in (0.2, 1.4, 2.3)])
        m += rng.normal(0, 0.1, m.shape) * (np.arange(c + 1) < c)
        m[..., c] = rng.normal(0, 20, (3, c))
        return m
    if kind == "small":  # random coefficients below 32, large third column and offset (still fixed point)
        m = rng.normal(0, 2, (3, c, c + 1))
        if c >= 3:
            m[..., 2] *= 60
        m[..., c] = rng.normal(0, 300, (3, c))
        return m
    if kind == "large":  # coefficients beyond 32: the float chain
        m = rng.normal(0, 40, (3, c, c + 1))
        m[..., c] *= 100
        return m
    # "limits": the fixed point's thresholds (31.99 and 32 on either side) and int32 overflow near |8191|
    m = np.zeros((3, c, c + 1))
    m[0] = rng.normal(0, 1, (c, c + 1))
    m[0, :, 0] = 31.99
    m[1] = m[0]
    m[1, 0, 0] = 32.0
    m[2, :, 0] = 31.9
    m[2, :, -1] = 8191.5
    if c >= 3:  # 31.9 * (b + g) + 8191 * r + 8191.5 overflows int32 (in 10-bit fixed point) for bright pixels
        m[2, :, 1] = 31.9
        m[2, :, 2] = 8191.0
    return m


@pytest.mark.parametrize("kind", ["diagonal", "jitter", "small", "large", "limits"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_color_transform(backend, image_spec, dtype, kind):
    """uint8: bit-exact with cv2.transform on every one of its paths (diagonal, C = 1, 10-bit fixed point,
    float chain), one matrix per sample, contiguous and strided input; float32: within float rounding."""
    img = images(image_spec, dtype)
    c = img.shape[2]
    m = _color_matrices(kind, c, np.random.default_rng(len(kind) + c))
    batch = np.stack([img, img[::-1], img[:, ::-1]])
    planar = np.ascontiguousarray(batch.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    for x in (batch, planar):
        got = fa.color_transform(x, m)
        assert got.dtype == img.dtype and got.shape == x.shape
        for i in range(3):
            ref = cv(cv2.transform, x[i], m[i])
            if dtype == "uint8":
                np.testing.assert_array_equal(got[i], ref, err_msg=f"{kind} sample {i}")
            else:  # OpenCV's float32 SIMD sums in its own order: a few ulp of the largest term
                scale = np.abs(m[i]).sum(axis=1).max()
                assert_close(got[i], ref, atol=4e-7 * scale, what=f"{kind} sample {i}")


def test_color_transform_random_matrices(backend):
    """uint8 bit-exact on random data with 200 random matrices of every magnitude (every branch)."""
    rng = np.random.default_rng(11)
    for trial in range(200):
        c = (1, 3, 4)[trial % 3]
        img = rng.integers(0, 256, (23, 31, c), dtype=np.uint8)
        m = rng.normal(0, (0.2, 1.0, 8.0, 50.0)[trial % 4], (c, c + 1)) * rng.uniform(0.5, 2, (1, c + 1))
        m[:, c] *= 40
        if trial % 7 == 0:  # square, no offset
            m = m[:, :c]
        np.testing.assert_array_equal(fa.color_transform(img, m), cv(cv2.transform, img, m), err_msg=str(m))


def test_color_transform_photo_and_shapes(backend):
    """A scikit-image photograph through (C, C), (C, C + 1), (N, C, C) and (N, C, C + 1) matrices."""
    img = make_image("astronaut", 3, "uint8")
    sepia = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    np.testing.assert_array_equal(fa.color_transform(img, sepia), cv2.transform(img, sepia))
    with_offset = np.concatenate([sepia, [[10], [-5], [3]]], 1)
    batch = np.stack([img, img])
    for m in (with_offset, np.stack([sepia, with_offset[:, :3]]), np.stack([with_offset, with_offset * 0.5])):
        got = fa.color_transform(batch, m)
        for i in range(2):
            np.testing.assert_array_equal(got[i], cv2.transform(img, m if m.ndim == 2 else m[i]))


MEANS, STDS = (0.485, 0.456, 0.406, 0.5), (0.229, 0.224, 0.225, 0.25)


def _bits(a: np.ndarray) -> np.ndarray:
    """The bit patterns of a float32 / float16 array (NaN, -0 and inf compared exactly)."""
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint16)


def assert_fused_normalize(x: np.ndarray, m: np.ndarray, what: str) -> None:
    """normalize(x, matrix=m) is normalize(color_transform(x, m)) bit for bit: NCHW and NHWC, float32 and
    float16, a new array and out=."""
    c = x.shape[-1]
    mean, std = MEANS[:c], STDS[:c]
    colour = fa.color_transform(x, m)
    for layout in ("NCHW", "NHWC"):
        for dtype in ("float32", "float16"):
            want = fa.normalize(colour, mean, std, layout, dtype)
            got = fa.normalize(x, mean, std, layout, dtype, matrix=m)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"{what} {layout} {dtype}")
            out = np.full_like(want, 7)
            assert fa.normalize(x, mean, std, layout, dtype, matrix=m, out=out) is out
            np.testing.assert_array_equal(_bits(out), _bits(want), err_msg=f"{what} {layout} {dtype} out=")


@pytest.mark.parametrize("kind", ["diagonal", "jitter", "small", "large", "limits"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_normalize_matrix(backend, image_spec, dtype, kind):
    """normalize with a colour matrix fused in front gives color_transform then normalize bit for bit, on every
    path of color_transform (diagonal, C = 1, fixed point, float chain), per-sample and shared matrices,
    contiguous and planar (NCHW memory) input."""
    img = images(image_spec, dtype)
    c = img.shape[2]
    m = _color_matrices(kind, c, np.random.default_rng(len(kind) + c))
    batch = np.stack([img, img[::-1], img[:, ::-1]])[:, :96, :128]
    planar = np.ascontiguousarray(batch.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    for x in (batch, planar):
        assert_fused_normalize(x, m, f"{kind} per sample")
        assert_fused_normalize(x, m[1], f"{kind} shared")
        assert_fused_normalize(x, m[2, :, :c], f"{kind} square")


def test_normalize_matrix_random(backend):
    """Random data and 60 random matrices of every magnitude (every branch), uint8 and float32."""
    rng = np.random.default_rng(12)
    for trial in range(60):
        c = (1, 3, 4)[trial % 3]
        img = rng.integers(0, 256, (2, 13, 17, c), dtype=np.uint8)
        if trial % 2:
            img = (img / 255.0 * 1.4 - 0.2).astype(np.float32)
        m = rng.normal(0, (0.2, 1.0, 8.0, 50.0)[trial % 4], (2, c, c + 1)) * rng.uniform(0.5, 2, (1, 1, c + 1))
        m[..., c] *= 40
        assert_fused_normalize(img, m, f"trial {trial}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_channel_mean(backend, image_spec, dtype):
    """uint8: cv2.mean's bits (exact integer sums); float32: within 1e-15 of NumPy's float64 mean (and of
    cv2.mean within its own single-precision partial sums); strided input too."""
    img = images(image_spec, dtype)
    batch = np.stack([img, img[::-1, ::-1], np.ascontiguousarray(img.transpose(2, 0, 1)).transpose(1, 2, 0)])
    for x in (batch, batch[:, 3:-5, ::-1]):
        got = fa.channel_mean(x)
        assert got.dtype == np.float64 and got.shape == (3, img.shape[2])
        for i in range(3):
            ref = np.array(cv2.mean(np.ascontiguousarray(x[i]))[: img.shape[2]])
            if dtype == "uint8":
                np.testing.assert_array_equal(got[i], ref)
            else:
                assert_close(got[i], x[i].astype(np.float64).mean(axis=(0, 1)), atol=1e-15, what="vs numpy")
                assert_close(got[i], ref, atol=1e-9, what="vs cv2.mean")
    assert fa.channel_mean(img).shape == (1, img.shape[2])


# ---- hue_shift: torchvision's adjust_hue --------------------------------------------------------------


def tv_adjust_hue(img: np.ndarray, hue: float) -> np.ndarray:
    """torchvision 0.29's transforms.v2.functional.adjust_hue_image of one (H, W, 3) image, transliterated to
    NumPy float32 operation for operation (to_dtype, _rgb_to_hsv, add_ + remainder_, _hsv_to_rgb, to_dtype):
    bit-exact with torchvision on its CPU (measured on photographs, random data and all 2^24 uint8 colours)."""
    f = np.float32
    x = img.astype(f) * f(1.0 / 255) if img.dtype == np.uint8 else img  # to_dtype: .to(float32).mul_(1 / 255)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    maxc, minc = x.max(axis=-1), x.min(axis=-1)
    eqc = maxc == minc
    span = maxc - minc
    ones = np.ones_like(maxc)
    s = span / np.where(eqc, ones, maxc)
    div = np.where(eqc, ones, span)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    neq_r, eq_g = maxc != r, maxc == g
    hg = ((rc + f(2.0)) - bc) * (eq_g & neq_r).astype(f)
    hr = (bc - gc) * (~neq_r).astype(f)
    hb = ((gc + f(4.0)) - rc) * (neq_r & ~eq_g).astype(f)
    h = np.fmod(((hr + hg) + hb) * f(1.0 / 6.0) + f(1.0), f(1.0))
    h = h + f(hue)  # h.add_(hue_factor).remainder_(1.0)
    h = np.fmod(h, f(1.0))
    h = np.where((h != 0) & (h < 0), h + f(1.0), h).astype(f)
    h6 = h * f(6.0)
    i = np.floor(h6)
    frac = h6 - i
    sxf = s * frac
    one_minus_s = f(1.0) - s
    q = np.clip((f(1.0) - sxf) * maxc, 0, 1).astype(f)
    t = np.clip((sxf + one_minus_s) * maxc, 0, 1).astype(f)
    p = np.clip(one_minus_s * maxc, 0, 1).astype(f)
    sector = i.astype(np.int32) % 6
    vpqt = np.stack([maxc, p, q, t])
    select = np.array([[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]])
    rgb = np.stack([np.take_along_axis(vpqt, select[c][sector][None], 0)[0] for c in range(3)], axis=-1)
    if img.dtype == np.uint8:  # to_dtype(uint8, scale=True): .mul(255 + 1 - 1e-3).to(uint8), a truncation
        return (rgb * f(255.0 + 1.0 - 1e-3)).astype(np.uint8)
    return rgb


HUES = (-0.5, -0.37, -0.05, 0.0, 0.1, 1 / 3, 0.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_hue_shift(backend, image_spec, dtype):
    """Bit-exact with torchvision's adjust_hue (its float32 maths transliterated) for every shift, one per
    sample, contiguous and strided (NCHW memory) input; alpha passes through, a grey image is unchanged."""
    img = images(image_spec, dtype)
    c = img.shape[2]
    batch = np.stack([img] * len(HUES))
    planar = np.ascontiguousarray(batch.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    for x in (batch, planar[:, ::-1]):
        got = fa.hue_shift(x, HUES)
        assert got.dtype == img.dtype and got.shape == x.shape
        if c == 1:
            np.testing.assert_array_equal(got, x)
            continue
        for i, hue in enumerate(HUES):
            np.testing.assert_array_equal(got[i, ..., :3], tv_adjust_hue(x[i, ..., :3], hue), err_msg=f"hue {hue}")
        if c == 4:
            np.testing.assert_array_equal(got[..., 3], x[..., 3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_hue_shift_colour_cube(backend, dtype):
    """Bit-exact on a 64^3 sampling of the colour cube (every combination of 64 levels, greys, the six pure
    hues and both ends) and, for float32, on uniform random values in [0, 1], for random shifts."""
    levels = np.r_[np.arange(0, 252, 4), 255].astype(np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(512, 512, 3)
    rng = np.random.default_rng(4)
    hues = np.r_[rng.uniform(-0.5, 0.5, 3), -0.5, 0.5]
    images_ = [cube] if dtype == "uint8" else [cube / np.float32(255), rng.random((128, 128, 3), dtype=np.float32)]
    for img in images_:
        got = fa.hue_shift(np.stack([img] * len(hues)), hues)
        for i, hue in enumerate(hues):
            np.testing.assert_array_equal(got[i], tv_adjust_hue(img, hue), err_msg=f"hue {hue}")
