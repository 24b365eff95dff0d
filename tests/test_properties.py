"""Property-based tests (hypothesis) over shapes, strides and parameters."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastaug as fa

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def image_batches(draw, dtypes=("uint8", "float32")):
    n = draw(st.integers(1, 3))
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 24))
    c = draw(st.sampled_from([1, 3, 4]))
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (n, h, w, c)).astype(dtype)
    if dtype == "float32":
        img /= 255.0
    layout = draw(st.sampled_from(["contiguous", "reversed", "channels_first_view"]))
    if layout == "reversed":
        img = np.ascontiguousarray(img[:, ::-1, ::-1])[:, ::-1, ::-1]
    elif layout == "channels_first_view":
        img = np.ascontiguousarray(img.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    return img


@SETTINGS
@given(image_batches(), st.sampled_from([0, 1, -1]), st.integers(-5, 5))
def test_copies_equal_numpy(backend, img, code, k):
    ref = {0: img[:, ::-1], 1: img[:, :, ::-1], -1: img[:, ::-1, ::-1]}[code]
    assert np.array_equal(fa.flip(img, code), ref)
    assert np.array_equal(fa.rotate90(img, k), np.rot90(img, k, axes=(1, 2)))
    assert np.array_equal(fa.invert(fa.invert(img)), img) or img.dtype == np.float32


@SETTINGS
@given(image_batches(), st.integers(1, 40), st.integers(1, 40), st.sampled_from(["nearest", "linear", "cubic", "area"]))
def test_resize_shape_and_constant_images(backend, img, h, w, interp):
    out = fa.resize(img, (h, w), interp)
    assert out.shape == (img.shape[0], h, w, img.shape[3]) and out.dtype == img.dtype
    flat = np.full_like(img, img.flat[0])
    assert np.allclose(fa.resize(flat, (h, w), interp), img.flat[0], atol=1e-5 if img.dtype == np.float32 else 0)


@SETTINGS
@given(
    image_batches(),
    st.floats(-180, 180),
    st.floats(0.5, 2.0),
    st.sampled_from(["constant", "replicate", "reflect", "reflect101", "wrap"]),
)
def test_identity_and_inverse_warps(backend, img, angle, scale, border):
    assert np.array_equal(fa.warp_affine(img, np.eye(2, 3), border=border), img)
    assert np.array_equal(fa.warp_perspective(img, np.eye(3), interp="nearest", border=border), img)
    # per-sample matrices equal single calls
    M = fa.affine_matrix(angle, scale=scale, center=(img.shape[2] / 2, img.shape[1] / 2), n=img.shape[0])
    batch = fa.warp_affine(img, M, border=border)
    for i in range(img.shape[0]):
        assert np.array_equal(batch[i], fa.warp_affine(img[i], M[i], border=border))


@SETTINGS
@given(
    image_batches(),
    st.sampled_from([1, 3, 5]),
    st.floats(0.1, 4.0),
    st.sampled_from(["replicate", "reflect", "reflect101", "wrap"]),
)
def test_blurs_preserve_constant_images_and_range(backend, img, k, sigma, border):
    flat = np.full_like(img, img.flat[0])
    for op in (
        lambda x: fa.gaussian_blur(x, k, sigma, border),
        lambda x: fa.box_blur(x, k, border),
        lambda x: fa.median_blur(x, 3),
    ):
        assert np.allclose(op(flat), flat, atol=1e-5)
        out = op(img)
        assert out.min() >= img.min() - 1e-5 and out.max() <= img.max() + 1e-5


@SETTINGS
@given(image_batches(dtypes=("uint8",)))
def test_equalize_is_monotonic_per_channel(backend, img):
    out = fa.equalize(img)
    for n in range(img.shape[0]):
        for c in range(img.shape[3]):
            src, dst = img[n, ..., c].ravel(), out[n, ..., c].ravel()
            order = np.argsort(src, kind="stable")
            assert np.all(np.diff(dst[order].astype(int)) >= 0)


@SETTINGS
@given(image_batches(), st.integers(1, 8), st.integers(1, 8), st.integers(1, 6), st.integers(1, 6))
def test_tiles_are_the_windows(backend, img, th, tw, sy, sx):
    th, tw = min(th, img.shape[1]), min(tw, img.shape[2])
    t = fa.tiles(img, (th, tw), (sy, sx))
    ny, nx = (img.shape[1] - th) // sy + 1, (img.shape[2] - tw) // sx + 1
    assert t.shape == (img.shape[0] * ny * nx, th, tw, img.shape[3])
    i = len(t) - 1
    n, r = divmod(i, ny * nx)
    y, x = (r // nx) * sy, (r % nx) * sx
    assert np.array_equal(t[i], img[n, y : y + th, x : x + tw])


@SETTINGS
@given(image_batches(), st.floats(-0.5, 0.5), st.sampled_from(["red", "green", "blue", "grey"]))
def test_hue_shift_properties(backend, img, hue, colour):
    """Hue 0 returns the image (uint8 exactly: torchvision's conversions round-trip; float32 within a few
    ulp), +h then -h returns it (uint8 within one grey level), alpha passes through, and on pure colours a
    third of a turn moves red to green to blue (float32 within float32(1/3)'s rounding) while greys (any
    shift) stay as they are."""
    u8 = img.dtype == np.uint8
    zero = fa.hue_shift(img, 0.0)
    if u8:
        assert np.array_equal(zero, img)
    else:
        np.testing.assert_allclose(zero, img, atol=2e-6)
    back = fa.hue_shift(fa.hue_shift(img, hue), -hue).astype(np.float64)
    assert np.abs(back - img).max() <= (1 if u8 else 4e-6)
    if img.shape[3] == 4:
        assert np.array_equal(fa.hue_shift(img, hue)[..., 3], img[..., 3])
    top = 255 if u8 else 1.0
    k = ["red", "green", "blue"].index(colour) if colour != "grey" else 0
    pure = np.zeros((1, 2, 3, img.shape[3]), img.dtype)
    if colour == "grey":
        pure[...] = img.flat[0]
        assert np.array_equal(fa.hue_shift(pure, hue), pure)
    elif img.shape[3] >= 3:
        pure[..., k] = top
        turned = fa.hue_shift(pure, 1 / 3)
        expected = np.zeros_like(pure)
        expected[..., (k + 1) % 3] = top
        expected[..., 3:] = pure[..., 3:]
        np.testing.assert_allclose(turned, expected, atol=0 if u8 else 1e-6, err_msg=colour)  # float32: 1/3 rounds


@SETTINGS
@given(image_batches(), st.integers(0, 2**32 - 1))
def test_tables_matrices_and_means(backend, img, seed):
    """lut with the identity table and color_transform with the identity matrix return the image; lut is a
    gather per sample and channel; channel_mean is the float64 mean (the same sums, times 1 / (H * W))."""
    n, _, _, c = img.shape
    rng = np.random.default_rng(seed)
    assert np.array_equal(fa.color_transform(img, np.eye(c, c + 1)), img)
    m = rng.normal(0, (0.5, 40.0)[seed % 2], (n, c, c + 1))
    for layout in ("NCHW", "NHWC"):  # normalize with the matrix fused: color_transform's values, normalized
        fused = fa.normalize(img, 0.4, 0.3, layout, matrix=m)
        assert fused.tobytes() == fa.normalize(fa.color_transform(img, m), 0.4, 0.3, layout).tobytes()
    if img.dtype == np.uint8:
        assert np.array_equal(fa.lut(img, np.arange(256)), img)
        t = rng.integers(0, 256, (n, c, 256)).astype(np.uint8)
        assert np.array_equal(fa.lut(img, t), t[np.arange(n)[:, None, None, None], np.arange(c), img])
    np.testing.assert_allclose(fa.channel_mean(img), img.astype(np.float64).mean(axis=(1, 2)), rtol=1e-14)
