"""Batching, per-sample parameters, bad input, the zero-copy bridge, threads and backend selection."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Callable

import numpy as np
import pytest

import fastaug as fa
from conftest import BACKENDS, assert_close, make_image

torch = pytest.importorskip("torch") if os.environ.get("FASTAUG_REQUIRE_TORCH") else None
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def batch(n: int = 4, dtype: str = "uint8") -> np.ndarray:
    rng = np.random.default_rng(7)
    base = make_image("astronaut", 3, dtype)[:96, :80]
    return np.stack([np.roll(base, int(rng.integers(0, 50)), axis=1) for _ in range(n)])


# ---- per-sample parameters: a batch equals N single calls -------------------------------------------


def test_per_sample_warp_affine(backend):
    imgs = batch()
    M = fa.affine_matrix(
        angle=[0, 15, -30, 90], scale=[1, 0.8, 1.2, 1], translate=[(0, 0), (3, -2), (0, 5), (1, 1)], center=(40, 48)
    )
    out = fa.warp_affine(imgs, M, border="reflect101")
    for i in range(len(imgs)):
        assert_close(out[i], fa.warp_affine(imgs[i], M[i], border="reflect101"), what=f"sample {i}")
    assert not np.array_equal(out[1], fa.warp_affine(imgs[1], M[0], border="reflect101"))


def test_per_sample_perspective_gaussian_threshold(backend):
    imgs = batch()
    H = np.stack([np.eye(3) + np.array([[0, 0.01 * i, i], [0, 0, -i], [1e-4 * i, 0, 0]]) for i in range(4)])
    out = fa.warp_perspective(imgs, H)
    sig = np.array([0.5, 1.0, 2.0, 3.0])
    blur = fa.gaussian_blur(imgs, 7, sig)
    thr = fa.threshold(imgs, [10, 100, 150, 250], [255, 200, 100, 1])
    flips = fa.flip(imgs, [0, 1, -1, 1])
    for i in range(4):
        assert_close(out[i], fa.warp_perspective(imgs[i], H[i]), what="perspective")
        assert_close(blur[i], fa.gaussian_blur(imgs[i], 7, sig[i]), what="gaussian")
        assert_close(thr[i], fa.threshold(imgs[i], [10, 100, 150, 250][i], [255, 200, 100, 1][i]), what="thr")
        assert_close(flips[i], fa.flip(imgs[i], [0, 1, -1, 1][i]), what="flip")
    assert not np.array_equal(blur[0], blur[3])


def test_per_sample_tables_matrices_and_means(backend):
    imgs = batch()
    rng = np.random.default_rng(1)
    tables = rng.integers(0, 256, (4, 3, 256)).astype(np.uint8)
    mats = rng.normal(0, 0.4, (4, 3, 4)) + np.eye(3, 4)
    mats[..., 3] *= 50
    mats[0, :, :3] = np.diag([1.2, 0.8, 1.0])  # each branch of the arithmetic in one batch
    mats[3, 0, 1] = 40.0
    looked, colored, means = fa.lut(imgs, tables), fa.color_transform(imgs, mats), fa.channel_mean(imgs)
    for i in range(4):
        assert_close(looked[i], fa.lut(imgs[i], tables[i][None]), what="lut")
        assert_close(colored[i], fa.color_transform(imgs[i], mats[i]), what="color_transform")
        assert_close(means[i], fa.channel_mean(imgs[i])[0], what="channel_mean")
    assert not np.array_equal(colored[1], colored[2])


def test_per_sample_hue_shift(backend):
    """One shift per sample equals each sample on its own; RGBA and grey images, contiguous or not."""
    rng = np.random.default_rng(2)
    hues = np.array([-0.5, -0.21, 0.0, 0.37])
    for c, dtype in ((3, "uint8"), (4, "float32"), (1, "uint8")):
        photo, noise = make_image("astronaut", c, dtype)[:60, :70], make_image("random", c, dtype, rng)[:60, :70]
        imgs = np.stack([photo, noise, photo[::-1], noise])
        for x in (imgs, imgs[:, ::-1, 1::2]):
            got = fa.hue_shift(x, hues)
            assert got.dtype == x.dtype and got.shape == x.shape
            for i in range(4):
                assert_close(got[i], fa.hue_shift(x[i], hues[i]), what=f"hue_shift sample {i}")
            if c == 1:
                assert np.array_equal(got, x)


def test_per_sample_crop_and_kernels(backend):
    imgs = batch()
    boxes = np.array([[0, 0, 30, 40], [5, 7, 30, 40], [60, 30, 30, 40], [66, 40, 30, 40]])
    crops = fa.crop(imgs, boxes)
    k = np.random.default_rng(0).normal(size=(4, 3, 3)).astype(np.float32)
    filt = fa.filter2d(imgs, k)
    for i, (top, left, h, w) in enumerate(boxes):
        assert_close(crops[i], imgs[i, top : top + h, left : left + w], what="crop")
        assert_close(filt[i], fa.filter2d(imgs[i], k[i]), what="filter2d")


def test_affine_matrix_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    M = fa.affine_matrix(angle=[30, -45], scale=[0.7, 1.3], center=[(10, 20), (100, 50)])
    assert M.shape == (2, 2, 3)
    assert_close(M[0], cv2.getRotationMatrix2D((10, 20), 30, 0.7), atol=1e-12, what="M0")
    assert_close(M[1], cv2.getRotationMatrix2D((100, 50), -45, 1.3), atol=1e-12, what="M1")
    shifted = fa.affine_matrix(translate=(5, -3))
    assert_close(shifted[0], [[1, 0, 5], [0, 1, -3]], atol=1e-12, what="translate")


# ---- the argument forms users bring from torchvision, albumentations and OpenCV -----------------------


def test_affine_matrix_scalar_shear_is_an_x_shear():
    assert_close(fa.affine_matrix(10, shear=5), fa.affine_matrix(10, shear=(5, 0)), atol=0, what="scalar")
    assert_close(fa.affine_matrix(10, shear=np.float32(5)), fa.affine_matrix(10, shear=(5, 0)), atol=0, what="np")
    # per sample: (N,) x-shears, the count taken from shear alone as from any other argument
    per = fa.affine_matrix(shear=[-10, 0, 25], center=(8, 9))
    assert per.shape == (3, 2, 3)
    assert_close(per, fa.affine_matrix(shear=[(-10, 0), (0, 0), (25, 0)], center=(8, 9)), atol=0, what="(N,)")
    assert_close(
        fa.affine_matrix([0, 30, 60, 90], shear=np.array([1, 2, 3, 4])),
        fa.affine_matrix([0, 30, 60, 90], shear=[(1, 0), (2, 0), (3, 0), (4, 0)]),
        atol=0,
        what="n=4",
    )
    # a length-2 sequence stays the (x, y) pair, for 2 samples too
    assert fa.affine_matrix(shear=(5, 3)).shape == (1, 2, 3)
    assert_close(
        fa.affine_matrix([0, 10], shear=(5, 3))[1],
        fa.affine_matrix(10, shear=(5, 3))[0],
        atol=0,
        what="pair, 2 samples",
    )
    # fastaug's convention: a positive x-shear moves a point right by tan(shear) times its y below center
    M = fa.affine_matrix(shear=30, center=(10, 20))[0]
    assert_close(M @ [10, 25, 1], [10 + np.tan(np.radians(30)) * 5, 25], atol=1e-12, what="x-shear")
    with pytest.raises(fa.ArgumentError, match=r"shear: expected a scalar \(x-shear\).*got shape \(3,\)"):
        fa.affine_matrix([0, 1, 2, 3], shear=[1, 2, 3])


def test_rotate90_empty_batch_has_the_turned_shape(backend):
    empty = np.zeros((0, 4, 6, 3), np.uint8)
    for k in (1, 3, -1, 5, np.int64(1)):
        assert fa.rotate90(empty, k).shape == (0, 6, 4, 3), k
        assert fa.rotate90(empty, k).shape[1:] == fa.rotate90(np.zeros((1, 4, 6, 3), np.uint8), k).shape[1:]
    for k in (0, 2, -2):
        assert fa.rotate90(empty, k).shape == (0, 4, 6, 3), k
    assert fa.rotate90(empty, np.zeros(0, int)).shape == (0, 4, 6, 3)  # per-sample k, no sample: no turn known
    out = np.zeros((0, 6, 4, 3), np.uint8)
    assert fa.rotate90(empty, 1, out=out) is out


def test_gaussian_sigma_and_sigma_y_like_cv2(backend):
    cv2 = pytest.importorskip("cv2")
    imgs = batch(3)
    sx, sy = [0.8, 1.2, 2.0], [2.1, 0.5, 0.0]  # sigma_y 0 means sigma_x, as cv2's sigmaY=0
    got = fa.gaussian_blur(imgs, (7, 5), sx, sigma_y=sy)
    for i in range(3):
        np.testing.assert_array_equal(got[i], cv2.GaussianBlur(imgs[i], (5, 7), sx[i], sigmaY=sy[i]))
    np.testing.assert_array_equal(
        fa.gaussian_blur(imgs[0], 7, 0.8, sigma_y=2.1), cv2.GaussianBlur(imgs[0], (7, 7), 0.8, sigmaY=2.1)
    )
    np.testing.assert_array_equal(fa.gaussian_blur(imgs, 5, 1.5, sigma_y=None), fa.gaussian_blur(imgs, 5, 1.5))
    # two values for a batch of 2 are one sigma per sample, never an (x, y) pair
    two = fa.gaussian_blur(imgs[:2], 7, [0.8, 2.5])
    for i in range(2):
        np.testing.assert_array_equal(two[i], cv2.GaussianBlur(imgs[i], (7, 7), [0.8, 2.5][i]))


@pytest.mark.parametrize(
    "img,sigma,sigma_y,message",
    [
        (
            (3, 8, 8, 1),
            [1.0, 2.0],
            None,
            "sigma: got 2 values for a batch of 3; expected a scalar or one value per "
            "sample; for separate x and y sigmas pass sigma_y=",
        ),
        ((8, 8, 3), (0.8, 2.1), None, "sigma: got 2 values for one image; expected a scalar or one value per sample"),
        ((3, 8, 8, 1), [(1, 2)] * 3, None, "sigma: got shape (3, 2) for a batch of 3"),
        ((3, 8, 8, 1), 1.0, [1.0, 2.0], "sigma_y: got 2 values for a batch of 3; expected a scalar or one value"),
    ],
    ids=["pair-batch", "pair-image", "pairs", "sigma_y"],
)
def test_gaussian_sigma_pairs_are_refused_clearly(backend, img, sigma, sigma_y, message):
    with pytest.raises(fa.ArgumentError) as info:
        fa.gaussian_blur(np.zeros(img, np.uint8), 3, sigma, sigma_y=sigma_y)
    assert message in str(info.value)


def test_flip_takes_names(backend):
    cv2 = pytest.importorskip("cv2")
    imgs = batch(3)
    for name, code, ref in (
        ("horizontal", 1, imgs[:, :, ::-1]),
        ("vertical", 0, imgs[:, ::-1]),
        ("both", -1, imgs[:, ::-1, ::-1]),
    ):
        np.testing.assert_array_equal(fa.flip(imgs, name), ref, err_msg=name)
        np.testing.assert_array_equal(fa.flip(imgs, name.upper()), fa.flip(imgs, code), err_msg=name)
        np.testing.assert_array_equal(fa.flip(imgs[0], name), cv2.flip(imgs[0], code), err_msg=name)
    np.testing.assert_array_equal(fa.flip(imgs[0], "horizontal"), np.fliplr(imgs[0]))
    expected = fa.flip(imgs, [1, 0, -1])
    names = ["horizontal", "vertical", "both"]
    for axis in (names, ("horizontal", 0, "both"), np.array(names)):
        np.testing.assert_array_equal(fa.flip(imgs, axis), expected, err_msg=str(axis))
    with pytest.raises(
        fa.ArgumentError,
        match="axis: unknown flip 'diagonal'; expected 'horizontal' \\(1\\), 'vertical' \\(0\\), 'both' \\(-1\\)",
    ):
        fa.flip(imgs, "diagonal")
    with pytest.raises(fa.ArgumentError, match="axis: unknown flip 'up'"):
        fa.flip(imgs, ["horizontal", "up", 0])


# ---- ragged batches: a list of images of different sizes, warped in one call -------------------------


def ragged_images(c: int, dtype: str) -> list[np.ndarray]:
    """Three photographs and noise of different sizes, with every layout: contiguous, a window with a
    row step and reversed columns, channels-first memory seen as channels-last, and a 2-D grey image."""
    rng = np.random.default_rng(c)
    photo = make_image("coffee", c, dtype)
    noise = rng.integers(0, 256, (45, 61, c)).astype(dtype) / (255 if dtype == "float32" else 1)
    planar = np.ascontiguousarray(make_image("astronaut", c, dtype)[:70, :90].transpose(2, 0, 1)).transpose(1, 2, 0)
    images = [photo[:100, :130], noise.astype(dtype)[::2, ::-1], planar]
    if c == 1:
        images.append(np.ascontiguousarray(photo[20:60, 10:35, 0]))
    return images


RAGGED_MATRICES = {
    "warp_affine": fa.affine_matrix(
        [15, -30, 90, 5], scale=[0.8, 1.3, 0.6, 1.0], translate=[(3, 2)] * 4, center=(30, 25)
    ),
    "warp_perspective": np.stack(
        [np.array([[1.0, 0.1 * i, 2.0], [0.03, 0.9, -3.0], [1e-3 * i, -5e-4, 1.0]]) for i in range(4)]
    ),
}


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("op", sorted(RAGGED_MATRICES))
def test_ragged_warp_equals_per_image_calls(backend, op, dtype, c):
    """One call over a list of images of different sizes and layouts gives, image by image, the bits of
    warping each image alone: linear and nearest, constant and reflect101 borders."""
    warp = getattr(fa, op)
    images = ragged_images(c, dtype)
    mats = RAGGED_MATRICES[op][: len(images)]
    for interp in ("linear", "nearest"):
        for border in ("constant", "reflect101"):
            got = warp(images, mats, (47, 53), interp, border, fill=0.5 if dtype == "float32" else 77)
            assert got.shape == (len(images), 47, 53, c) and got.dtype == dtype
            for i, img in enumerate(images):
                alone = warp(img, mats[i], (47, 53), interp, border, fill=0.5 if dtype == "float32" else 77)
                np.testing.assert_array_equal(got[i], alone.reshape(47, 53, c), err_msg=f"{interp} {border} {i}")


def test_ragged_warp_one_image_tuples_out_and_torch(backend):
    img = make_image("astronaut", 3, "uint8")[:50, :70]
    M = fa.affine_matrix(20, center=(35, 25))
    one = fa.warp_affine([img], M, (40, 40))
    assert one.shape == (1, 40, 40, 3)
    np.testing.assert_array_equal(one[0], fa.warp_affine(img, M[0], (40, 40)))
    images = (img, img[5:, 7:])  # a tuple of views of one array
    out = np.full((2, 40, 40, 3), 7, np.uint8)
    assert fa.warp_affine(images, M[0], (40, 40), out=out) is out  # one matrix for every image
    np.testing.assert_array_equal(out[1], fa.warp_affine(img[5:, 7:], M[0], (40, 40)))
    if torch is not None:
        got = fa.warp_perspective([torch.from_numpy(x) for x in images], np.eye(3), (30, 20))
        assert isinstance(got, torch.Tensor) and got.shape == (2, 30, 20, 3)
        np.testing.assert_array_equal(got[1].numpy(), img[5:35, 7:27])


@pytest.mark.parametrize("c", [1, 3, 4])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_ragged_resize_equals_per_image_calls(backend, dtype, c):
    """A list of images to a list of their own sizes (down, up, integer and other factors) in one call, for
    every method: each result is the bits of resizing that image alone, with its rank and type."""
    images = ragged_images(c, dtype)
    sizes = [(50, 40), (90, 122), (35, 45), (13, 29)][: len(images)]
    for interp in ("nearest", "linear", "cubic", "area"):
        got = fa.resize(images, sizes, interp)
        assert isinstance(got, list) and len(got) == len(images)
        for i, img in enumerate(images):
            np.testing.assert_array_equal(got[i], fa.resize(img, sizes[i], interp), err_msg=f"{interp} {i}")
    same = fa.resize(tuple(images), (24, 31), "area")  # one size for every image
    assert [x.shape[:2] for x in same] == [(24, 31)] * len(images)
    outs = [np.full((*size, c) if img.ndim == 3 else size, 7, dtype) for img, size in zip(images, sizes, strict=False)]
    res = fa.resize(images, sizes, out=outs)
    assert all(r is o for r, o in zip(res, outs, strict=True))
    np.testing.assert_array_equal(outs[1], fa.resize(images[1], sizes[1]))


RAGGED_RESIZE_BAD = [
    (lambda im: fa.resize([im, im], [(4, 4)] * 3), ValueError, "size: expected one (height, width) for every image"),
    (lambda im: fa.resize([im, im], [(4, 4), (0, 4)]), ValueError, "size[1]: expected a positive (height, width)"),
    (lambda im: fa.resize([im, im], [(4, 4), (4.5, 4)]), TypeError, "size[1]: expected an int or a"),
    (lambda im: fa.resize([im, im.astype(np.float32)], (4, 4)), ValueError, "img[1]: expected a numpy uint8 image"),
    (lambda im: fa.resize([im, im[:0]], (4, 4)), ValueError, "src[1]: cannot resize an empty image of shape"),
    (
        lambda im: fa.resize([im, im], (4, 4), out=np.zeros((2, 4, 4, 3), np.uint8)),
        ValueError,
        "out: expected a list of 2",
    ),
    (
        lambda im: fa.resize([im, im], (4, 4), out=[np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)]),
        ValueError,
        "out: expected shape (4, 4, 3)",
    ),
]


@pytest.mark.parametrize("call,exc,message", RAGGED_RESIZE_BAD, ids=[str(i) for i in range(len(RAGGED_RESIZE_BAD))])
def test_ragged_resize_bad_input(backend, call, exc, message):
    with pytest.raises(exc) as info:
        call(np.zeros((8, 9, 3), np.uint8))
    assert message in str(info.value)


def test_ragged_resize_checks_every_image_before_touching_any(backend):
    """A bad second pair leaves the first output untouched (every image is validated first), on the native
    binding and on the Numba fallback."""
    a = np.ones((8, 9, 3), np.uint8)
    outs = [np.full((4, 4, 3), 7, np.uint8), np.full((4, 4, 3), 7, np.uint8)]
    outs[1].flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fa.resize([a, a], (4, 4), out=outs)
    assert (outs[0] == 7).all()
    if backend == "native":
        native = fa._backend._native
        dst = [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 0, 3), np.uint8)]
        with pytest.raises(ValueError, match="size: expected a positive height and width for image 1, got 5x0"):
            native.resize([a.__dlpack__(), a.__dlpack__()], [d.__dlpack__() for d in dst], 1, 0)
        with pytest.raises(ValueError, match="out: expected a list of output images"):
            native.resize([a.__dlpack__()], dst[0].__dlpack__(), 1, 0)
        assert (dst[0] == 0).all()


RAGGED_BAD = [
    (lambda im: fa.warp_affine([], np.eye(2, 3), (5, 5)), ValueError, "img: expected a non-empty list of images"),
    (
        lambda im: fa.warp_affine([im, im.astype(np.float32)], np.eye(2, 3), (5, 5)),
        ValueError,
        "img[1]: expected a numpy uint8 image with 3 channels on cpu like img[0], got a numpy float32 image",
    ),
    (
        lambda im: fa.warp_affine([im, im, im[..., :1]], np.eye(2, 3), (5, 5)),
        ValueError,
        "img[2]: expected a numpy uint8 image with 3 channels",
    ),
    (
        lambda im: fa.warp_affine([im, im[None]], np.eye(2, 3), (5, 5)),
        ValueError,
        "img[1]: expected one image, (H, W) or (H, W, C)",
    ),
    (lambda im: fa.warp_affine([im, "x"], np.eye(2, 3), (5, 5)), TypeError, "img[1]: expected a numpy array"),
    (lambda im: fa.warp_affine([im, im], np.eye(2, 3)), ValueError, "size: expected the output (height, width)"),
    (lambda im: fa.warp_affine([im, im], np.zeros((3, 2, 3)), (5, 5)), ValueError, "M: expected"),
    (lambda im: fa.warp_affine([im, im[:0]], np.eye(2, 3), (5, 5)), ValueError, "src[1]: cannot warp an empty image"),
    (
        lambda im: fa.warp_perspective([im, im], np.eye(3), (5, 5), out=np.zeros((2, 5, 5, 1), np.uint8)),
        ValueError,
        "out: expected shape (2, 5, 5, 3)",
    ),
    (
        lambda im: (lambda big: fa.warp_affine([big[0], big[1]], np.eye(2, 3), (5, 5), out=big))(
            np.zeros((2, 5, 5, 3), np.uint8)
        ),
        ValueError,
        "out: must not overlap the input image",
    ),
]


@pytest.mark.parametrize("call,exc,message", RAGGED_BAD, ids=[str(i) for i in range(len(RAGGED_BAD))])
def test_ragged_bad_input_names_the_image(backend, call, exc, message):
    img = np.zeros((8, 9, 3), np.uint8)
    with pytest.raises(exc) as info:
        call(img)
    assert message in str(info.value)


def test_ragged_native_binding_checks_every_capsule():
    """The binding checks each capsule of a list (the C++ API then each image) before touching memory."""
    native = pytest.importorskip("fastaug._C")
    a, b = np.zeros((8, 9, 3), np.uint8), np.zeros((5, 4, 3), np.float32)
    dst = np.zeros((2, 4, 4, 3), np.uint8)
    M = np.tile([1.0, 0, 0, 0, 1, 0], 2)
    with pytest.raises(
        ValueError, match=r"img\[1\]: expected dtype uint8, 3 channels on cpu like img\[0\], got dtype float32"
    ):
        native.warp_affine([a.__dlpack__(), b.__dlpack__()], dst.__dlpack__(), M, 1, 0, (0, 0, 0, 0), 0)
    with pytest.raises(ValueError, match=r"img\[1\]: expected one image"):
        native.warp_affine(
            [a.__dlpack__(), np.zeros((2, 5, 4, 3), np.uint8).__dlpack__()], dst.__dlpack__(), M, 1, 0, (0, 0, 0, 0), 0
        )
    with pytest.raises(ValueError, match="M: expected 12 values"):
        native.warp_affine([a.__dlpack__(), a.__dlpack__()], dst.__dlpack__(), M[:6], 1, 0, (0, 0, 0, 0), 0)
    with pytest.raises(ValueError, match="img: expected a non-empty list"):
        native.warp_perspective([], dst.__dlpack__(), np.zeros(0), 1, 0, (0, 0, 0, 0), 0)


# ---- shapes and ranks ------------------------------------------------------------------------------


def test_ranks_are_kept(backend):
    img = make_image("astronaut", 3, "uint8")
    grey = img[..., 0]
    assert fa.invert(grey).shape == grey.shape
    assert fa.invert(img).shape == img.shape
    assert fa.invert(img[None]).shape == (1, *img.shape)
    assert fa.to_gray(img).shape == (*img.shape[:2], 1)
    assert fa.resize(grey, (10, 20)).shape == (10, 20)
    assert fa.normalize(img, 0.5, 0.5).shape == (3, *img.shape[:2])
    assert fa.tiles(grey, 64).shape == (16, 64, 64, 1)


@pytest.mark.parametrize(
    "op",
    [
        "invert",
        "flip",
        "gaussian",
        "warp",
        "resize",
        "equalize",
        "sobel",
        "to_gray",
        "tiles",
        "crop",
        "lut",
        "color_transform",
        "channel_mean",
        "hue_shift",
    ],
)
def test_empty_batch(backend, op):
    empty = np.zeros((0, 16, 16, 3), np.uint8)
    calls = {
        "invert": lambda: fa.invert(empty),
        "flip": lambda: fa.flip(empty, 1),
        "gaussian": lambda: fa.gaussian_blur(empty, 3, 1.0),
        "warp": lambda: fa.warp_affine(empty, np.eye(2, 3)),
        "resize": lambda: fa.resize(empty, (8, 8)),
        "equalize": lambda: fa.equalize(empty),
        "sobel": lambda: fa.sobel(empty),
        "to_gray": lambda: fa.to_gray(empty),
        "tiles": lambda: fa.tiles(empty, 8),
        "crop": lambda: fa.crop(empty, (0, 0, 4, 4)),
        "lut": lambda: fa.lut(empty, np.arange(256)),
        "color_transform": lambda: fa.color_transform(empty, np.eye(3)),
        "channel_mean": lambda: fa.channel_mean(empty),
        "hue_shift": lambda: fa.hue_shift(empty, 0.2),
    }
    out = calls[op]()
    assert out.shape[0] == 0


def test_strided_and_negative_stride_inputs(backend):
    img = make_image("astronaut", 4, "uint8")
    view = img[::2, ::-3, :3]  # non-contiguous, negative stride, channel subset
    assert_close(fa.gaussian_blur(view, 5, 1.2), fa.gaussian_blur(np.ascontiguousarray(view), 5, 1.2), what="blur")
    assert_close(
        fa.warp_affine(view, fa.affine_matrix(20, center=(30, 30))[0]),
        fa.warp_affine(np.ascontiguousarray(view), fa.affine_matrix(20, center=(30, 30))[0]),
        what="warp",
    )
    assert_close(fa.equalize(view), fa.equalize(np.ascontiguousarray(view)), what="equalize")


def test_out_is_written_in_place(backend):
    img = batch(2)
    out = np.empty_like(img)
    res = fa.gaussian_blur(img, 3, 1.0, out=out)
    assert res is out
    assert_close(out, fa.gaussian_blur(img, 3, 1.0), what="out=")


def test_gaussian_into_strided_out(backend):
    """uint8 Gaussian rows that are not contiguous in the output (a planar buffer seen as NHWC) take the
    scatter path; the result is still OpenCV's, bit for bit."""
    import cv2

    img = batch(2)
    planar = np.zeros((img.shape[0], img.shape[3], img.shape[1], img.shape[2]), np.uint8)
    out = planar.transpose(0, 2, 3, 1)
    fa.gaussian_blur(img, 5, 1.1, "reflect101", out=out)
    for i in range(img.shape[0]):
        np.testing.assert_array_equal(planar[i].transpose(1, 2, 0), cv2.GaussianBlur(img[i], (5, 5), 1.1))


@pytest.mark.parametrize(
    "op",
    [
        lambda img, out: fa.filter2d(img, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32), out=out),
        lambda img, out: fa.filter2d(img, np.arange(15, dtype=np.float32).reshape(3, 5) / 50 - 0.1, out=out),
        lambda img, out: fa.sep_filter2d(img, [1, 2, 1], [1, 0, -1], delta=3.0, out=out),
        lambda img, out: fa.sobel(img, 1, 0, 3, out=out),
    ],
    ids=["filter2d-5taps", "filter2d-15taps", "sep_filter2d", "sobel"],
)
def test_filters_into_strided_out(backend, op):
    """Dense output rows take the kernels' fused sum-and-store; rows that are not contiguous in the output
    (a planar buffer seen as NHWC) take the scatter path. Both give the same bits."""
    img = batch(2)
    dense = op(img, None)
    planar = np.zeros((img.shape[0], img.shape[3], img.shape[1], img.shape[2]), dense.dtype)
    op(img, planar.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(planar.transpose(0, 2, 3, 1), dense)


# ---- bad input: clear errors naming the argument ----------------------------------------------------

BAD = [
    (lambda: fa.invert(np.zeros((4, 4), np.float64)), TypeError, "img: expected dtype uint8 or float32, got float64"),
    (lambda: fa.invert([[1, 2]]), TypeError, "img: expected a numpy array"),
    (lambda: fa.invert(np.zeros((2, 4, 4, 2), np.uint8)), ValueError, "img: expected shape"),
    (lambda: fa.invert(np.zeros((2, 2, 4, 4, 3), np.uint8)), ValueError, "img: expected shape"),
    (lambda: fa.warp_affine(np.zeros((3, 8, 8, 3), np.uint8), np.zeros((2, 2, 3))), ValueError, "M: expected"),
    (lambda: fa.warp_affine(np.zeros((8, 8), np.uint8), [[1, 0, np.nan], [0, 1, 0]]), ValueError, "M: expected finite"),
    (lambda: fa.warp_affine(np.zeros((8, 8), np.uint8), np.zeros((2, 3))), ValueError, "singular"),
    (lambda: fa.warp_affine(np.zeros((8, 8), np.uint8), np.eye(2, 3), size=(0, 5)), ValueError, "size"),
    (lambda: fa.warp_affine(np.zeros((8, 8), np.uint8), np.eye(2, 3), interp="area"), ValueError, "interp"),
    (lambda: fa.warp_affine(np.zeros((8, 8), np.uint8), np.eye(2, 3), border="mirror"), ValueError, "border"),
    (lambda: fa.gaussian_blur(np.zeros((8, 8), np.uint8), 4, 1.0), ValueError, "ksize"),
    (lambda: fa.gaussian_blur(np.zeros((8, 8), np.uint8), 0, 1.0), ValueError, "ksize"),
    (lambda: fa.gaussian_blur(np.zeros((8, 8), np.uint8), -3, 1.0), ValueError, "ksize"),
    (lambda: fa.gaussian_blur(np.zeros((3, 8, 8, 1), np.uint8), 3, [1.0, 2.0, 3.0, 4.0]), ValueError, "sigma"),
    (lambda: fa.threshold(np.zeros((3, 8, 8, 1), np.uint8), [1, 2], 255), ValueError, "thresh"),
    (lambda: fa.median_blur(np.zeros((8, 8), np.uint8), 4), ValueError, "ksize"),
    (lambda: fa.equalize(np.zeros((8, 8), np.float32)), ValueError, "img: equalize expects uint8"),
    (lambda: fa.crop(np.zeros((8, 8), np.uint8), (4, 4, 8, 8)), ValueError, "boxes"),
    (lambda: fa.crop(np.zeros((2, 8, 8, 1), np.uint8), [(0, 0, 2, 2), (0, 0, 3, 3)]), ValueError, "boxes"),
    (lambda: fa.flip(np.zeros((8, 8), np.uint8), 2), ValueError, "axis"),
    (lambda: fa.resize(np.zeros((8, 8), np.uint8), (4, -1)), ValueError, "size"),
    (lambda: fa.resize(np.zeros((8, 8), np.uint8), (1 << 40, 1 << 40)), (ValueError, MemoryError), ""),
    (lambda: fa.resize(np.zeros((8, 8), np.uint8), "big"), TypeError, "size"),
    (lambda: fa.tiles(np.zeros((8, 8), np.uint8), 9), ValueError, "tile"),
    (lambda: fa.sobel(np.zeros((8, 8), np.uint8), 0, 0), ValueError, "dx, dy"),
    (lambda: fa.sobel(np.zeros((8, 8), np.uint8), ksize=4), ValueError, "ksize"),
    (lambda: fa.normalize(np.zeros((8, 8, 3), np.uint8), (0.5, 0.5), 0.5), ValueError, "mean"),
    (lambda: fa.normalize(np.zeros((8, 8, 3), np.uint8), 0.5, 0.0), ValueError, "std"),
    (lambda: fa.normalize(np.zeros((8, 8), np.uint8), 0.5, 0.5, dtype="float64"), ValueError, "or 'bfloat16'"),
    (lambda: fa.normalize(np.zeros((8, 8), np.uint8), 0.5, 0.5, dtype="bfloat16"), ValueError, "needs a torch"),
    (
        lambda: fa.normalize(np.zeros((8, 8), np.uint8), 0.5, 0.5, dtype="float16", out=np.zeros((1, 8, 8))),
        ValueError,
        "out: expected shape (1, 8, 8) and dtype float16, got shape (1, 8, 8) and dtype float64",
    ),
    (lambda: fa.normalize(np.zeros((8, 8), np.float16), 0.5, 0.5), TypeError, "img: expected dtype uint8 or float32"),
    (lambda: fa.invert(np.zeros((8, 8), np.uint8), out=np.zeros((8, 9), np.uint8)), ValueError, "out: expected"),
    (lambda: fa.filter2d(np.zeros((8, 8), np.uint8), np.ones((2, 2, 2, 2))), ValueError, "kernel"),
    (lambda: fa.set_num_threads(0), ValueError, "n: expected a positive int"),
    (lambda: fa.lut(np.zeros((8, 8), np.float32), np.arange(256)), ValueError, "img: lut expects uint8 images"),
    (lambda: fa.lut(np.zeros((8, 8), np.uint8), np.arange(255)), ValueError, "table: expected shape (256,)"),
    (lambda: fa.lut(np.zeros((3, 8, 8, 3), np.uint8), np.zeros((2, 256))), ValueError, "(3, 3, 256) per image"),
    (lambda: fa.lut(np.zeros((8, 8), np.uint8), np.arange(256) + 1), ValueError, "table: expected integer values"),
    (lambda: fa.lut(np.zeros((8, 8), np.uint8), np.full(256, 0.5)), ValueError, "table: expected integer values"),
    (lambda: fa.lut(np.zeros((8, 8), np.uint8), ["a"] * 256), TypeError, "table: expected numbers"),
    (lambda: fa.color_transform(np.zeros((8, 8, 3), np.uint8), np.eye(4)), ValueError, "matrix: expected shape (3, 4)"),
    (lambda: fa.color_transform(np.zeros((2, 8, 8, 3), np.uint8), np.zeros((3, 3, 4))), ValueError, "(2, 3, 4)"),
    (lambda: fa.color_transform(np.zeros((8, 8, 3), np.uint8), np.full((3, 4), np.nan)), ValueError, "finite"),
    (lambda: fa.color_transform(np.zeros((8, 8), np.uint8), [[1e39, 0]]), ValueError, "within the float32 range"),
    (lambda: fa.color_transform(np.zeros((8, 8, 3), np.uint8), "eye"), TypeError, "matrix: expected numbers"),
    (lambda: fa.normalize(np.zeros((8, 8, 3), np.uint8), 0.5, 0.5, matrix=np.eye(4)), ValueError, "(3, 4)"),
    (
        lambda: fa.normalize(np.zeros((2, 8, 8, 3), np.uint8), 0.5, 0.5, matrix=np.zeros((3, 3, 4))),
        ValueError,
        "(2, 3, 4)",
    ),
    (
        lambda: fa.normalize(np.zeros((8, 8, 3), np.uint8), 0.5, 0.5, matrix=np.full((3, 4), np.nan)),
        ValueError,
        "finite",
    ),
    (lambda: fa.normalize(np.zeros((8, 8), np.uint8), 0.5, 0.5, matrix=[[1e39, 0]]), ValueError, "float32 range"),
    (
        lambda: fa.normalize(np.zeros((8, 8, 3), np.uint8), 0.5, 0.5, matrix="eye"),
        TypeError,
        "matrix: expected numbers",
    ),
    (lambda: fa.channel_mean(np.zeros((8, 8, 2), np.uint8)), ValueError, "img: expected shape"),
    (lambda: fa.channel_mean(np.zeros((8, 8), np.int32)), TypeError, "img: expected dtype uint8 or float32"),
    (lambda: fa.hue_shift(np.zeros((8, 8, 3), np.uint8), 0.6), ValueError, "hue: expected values in [-0.5, 0.5]"),
    (lambda: fa.hue_shift(np.zeros((2, 8, 8, 3), np.uint8), [0.1, -0.51]), ValueError, "got [-0.51]"),
    (lambda: fa.hue_shift(np.zeros((8, 8, 3), np.uint8), np.nan), ValueError, "hue: expected finite values"),
    (lambda: fa.hue_shift(np.zeros((3, 8, 8, 3), np.uint8), [0.1, 0.2]), ValueError, "hue: expected a scalar or one"),
    (lambda: fa.hue_shift(np.zeros((8, 8, 3), np.uint8), "red"), TypeError, "hue: expected numbers"),
    (lambda: fa.hue_shift(np.zeros((8, 8, 2), np.uint8), 0.1), ValueError, "img: expected shape"),
]


@pytest.mark.parametrize("call,exc,message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_raises_clearly(backend, call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "shape, matrix",
    [
        ((8, 8, 3), np.eye(4)),
        ((2, 8, 8, 3), np.zeros((3, 3, 4))),
        ((2, 8, 8, 4), np.zeros((2, 3, 4))),
        ((8, 8, 3), np.full((3, 4), np.nan)),
        ((2, 8, 8, 1), np.array([[[1.0, 0.0]], [[np.inf, 0.0]]])),
        ((8, 8), [[1e39, 0]]),
        ((8, 8, 3), "eye"),
    ],
)
def test_normalize_matrix_errors_are_color_transforms(backend, shape, matrix):
    """A bad matrix fails normalize with color_transform's exception and message, before any output."""
    img = np.zeros(shape, np.uint8)
    with pytest.raises(Exception) as expected:
        fa.color_transform(img, matrix)
    with pytest.raises(type(expected.value)) as got:
        fa.normalize(img, 0.5, 0.25, matrix=matrix)
    assert str(got.value) == str(expected.value)


def test_read_only_out_and_overlap_rejected(backend):
    img = np.ones((8, 8), np.uint8)
    ro = np.zeros((8, 8), np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fa.invert(img, out=ro)
    with pytest.raises(ValueError, match="overlap"):
        fa.invert(img, out=img)


def test_errors_are_fastaug_errors():
    with pytest.raises(fa.FastaugError):
        fa.median_blur(np.zeros((8, 8), np.uint8), 2)
    with pytest.raises(fa.ArgumentTypeError):
        fa.invert("not an image")


def test_native_validates_before_touching_memory():
    native = pytest.importorskip("fastaug._C")
    src = np.zeros((2, 8, 8, 3), np.uint8)
    dst = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="M: expected 12 values"):
        native.warp_affine(src.__dlpack__(), dst.__dlpack__(), np.zeros(6), 1, 0, (0, 0, 0, 0), 0)
    with pytest.raises(ValueError, match="dst: expected shape"):
        native.sobel(src.__dlpack__(), np.zeros((2, 8, 8, 3), np.float32)[:, :4].__dlpack__(), 1, 0, 3, 1, 0, 4, 0)
    with pytest.raises(ValueError, match="dtype"):
        native.invert(np.zeros((4, 4), np.int16).__dlpack__(), dst.__dlpack__(), 0)
    with pytest.raises(ValueError, match="table: expected 1536 values"):
        native.lut(src.__dlpack__(), dst.__dlpack__(), np.zeros(256, np.uint8), 0)
    with pytest.raises(ValueError, match=r"matrix: entry \[1, 2\] of sample 1 is inf"):
        native.color_transform(src.__dlpack__(), dst.__dlpack__(), np.r_[np.zeros(18), np.inf, np.zeros(5)], 0)
    f32 = np.zeros((2, 8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="matrix: expected 24 values, got 12"):
        native.normalize(src.__dlpack__(), f32.__dlpack__(), np.zeros(3), np.ones(3), 1.0, np.zeros(12), 0)
    with pytest.raises(ValueError, match=r"matrix: entry \[1, 2\] of sample 1 is inf"):
        native.normalize(
            src.__dlpack__(),
            f32.__dlpack__(),
            np.zeros(3),
            np.ones(3),
            1.0,
            np.r_[np.zeros(18), np.inf, np.zeros(5)],
            0,
        )
    with pytest.raises(ValueError, match="out: expected a writable array of 6 float64 values"):
        native.channel_mean(src.__dlpack__(), np.zeros(5), 0)
    half = np.zeros((2, 8, 8, 3), np.float16)
    with pytest.raises(ValueError, match="dst: expected dtype float32, float16 or bfloat16, got uint8"):
        native.normalize(src.__dlpack__(), dst.__dlpack__(), np.zeros(3), np.ones(3), 1.0, None, 0)
    with pytest.raises(ValueError, match="dst: expected dtype uint8 or float32, got float16"):
        native.invert(src.__dlpack__(), half.__dlpack__(), 0)
    with pytest.raises(ValueError, match="img: expected dtype uint8 or float32, got DLPack type code 2 with 16 bits"):
        native.normalize(half.__dlpack__(), half.copy().__dlpack__(), np.zeros(3), np.ones(3), 1.0, None, 0)
    with pytest.raises(ValueError, match="hue: expected 2 values"):
        native.hue_shift(src.__dlpack__(), dst.__dlpack__(), np.zeros(3), 0)
    with pytest.raises(ValueError, match=r"hue: expected values in \[-0.5, 0.5\] .*, got 0.7 for sample 1"):
        native.hue_shift(src.__dlpack__(), dst.__dlpack__(), np.array([0.1, 0.7]), 0)
    with pytest.raises(ValueError, match="consumed"):
        cap = src.__dlpack__()
        native.invert(cap, dst.__dlpack__(), 0)
        native.invert(cap, dst.__dlpack__(), 0)


# ---- the zero-copy bridge --------------------------------------------------------------------------


@needs_torch
def test_torch_in_torch_out_no_copy(backend):
    t = torch.from_numpy(batch(2))
    nchw = t.permute(0, 3, 1, 2).contiguous()  # a channels-first tensor...
    nhwc = nchw.permute(0, 2, 3, 1)  # ...viewed as NHWC without a copy
    assert not nhwc.is_contiguous()
    out = fa.gaussian_blur(nhwc, 5, 1.0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.uint8 and out.device.type == "cpu"
    assert_close(out.numpy(), fa.gaussian_blur(batch(2), 5, 1.0), what="torch permuted")
    res = fa.invert(nhwc, out=torch.empty_like(t))
    assert_close(res.numpy(), 255 - batch(2), what="torch out")


@needs_torch
def test_bridge_reads_and_writes_in_place():
    """The capsule handed to the kernels points at the caller's own memory, for input and output."""
    seen = []
    real = fa._interop.Image.capsule

    def spy(self):
        seen.append(self.obj.data_ptr() if hasattr(self.obj, "data_ptr") else self.obj.ctypes.data)
        return real(self)

    t = torch.from_numpy(batch(2)).permute(0, 3, 1, 2).permute(0, 2, 3, 1)
    out = torch.empty(t.shape, dtype=torch.uint8)
    fa._interop.Image.capsule = spy
    try:
        with fa.backend("native") if "native" in BACKENDS else fa.backend("auto"):
            fa.invert(t, out=out)
    finally:
        fa._interop.Image.capsule = real
    if "native" in BACKENDS:
        assert seen == [t.data_ptr(), out.data_ptr()]
    assert_close(out.numpy(), 255 - t.numpy(), what="invert")


@needs_torch
def test_normalize_to_nchw_tensor(backend):
    t = torch.from_numpy(batch(2))
    out = fa.normalize(t, (0.5, 0.4, 0.3), (0.2, 0.25, 0.3))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 96, 80) and out.is_contiguous()
    ref = (t.numpy() / 255.0 - (0.5, 0.4, 0.3)) / (0.2, 0.25, 0.3)
    assert_close(out.numpy(), ref.transpose(0, 3, 1, 2), atol=2e-6, what="normalize torch")


def _half_bits(result: np.ndarray, dtype: str) -> np.ndarray:
    """The bits NumPy (float16) or torch (bfloat16) gives the float32 result, as uint16."""
    if dtype == "float16":
        with np.errstate(over="ignore"):
            return result.astype(np.float16).view(np.uint16)
    return torch.from_numpy(np.ascontiguousarray(result)).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def _bits(out) -> np.ndarray:  # type: ignore[no-untyped-def]
    if isinstance(out, np.ndarray):
        return out.view(np.uint16)
    return out.contiguous().view(torch.int16).numpy().view(np.uint16)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_normalize_half_precision(backend, layout, dtype):
    """float16 (numpy and torch) and bfloat16 (torch): the bits of the float32 result converted by NumPy /
    torch, for uint8 and float32 images, contiguous and strided, every rank, into a new array or out=."""
    if dtype == "bfloat16" and torch is None:
        pytest.skip("torch is not installed")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for img in (batch(3), batch(3, "float32")[:, 5:, 1::3], batch(1)[0], batch(1)[0, ..., 0]):
        c = img.shape[-1] if img.ndim > 2 else 1
        m, s = mean[:c], std[:c]
        ref = fa.normalize(img, m, s, layout)
        for wrap in ([np.asarray] if dtype == "float16" else []) + ([torch.from_numpy] if torch is not None else []):
            x = wrap(img)
            got = fa.normalize(x, m, s, layout, dtype)
            assert type(got) is type(x) and got.shape == ref.shape and str(got.dtype).endswith(dtype)
            assert np.array_equal(_bits(got), _half_bits(ref, dtype)), (layout, dtype, img.shape)
            out = got * 0 if isinstance(got, np.ndarray) else torch.zeros_like(got)
            assert fa.normalize(x, m, s, layout, dtype, out=out) is out
            assert np.array_equal(_bits(out), _bits(got))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_normalize_half_precision_rounding(backend, dtype):
    """The conversion on the values where rounding is delicate: ties (to even), the float16 subnormals and
    their boundary, the largest finite values and overflow to inf, signed zeros, infinities; and 20000 random
    bit patterns (identity normalize: mean 0, std 1, max_pixel_value 1)."""
    if dtype == "bfloat16" and torch is None:
        pytest.skip("torch is not installed")
    special = [0.0, -0.0, 2.0**-25, 2.0**-25 * 1.0000001, 3 * 2.0**-25, 2.0**-24, 2.0**-14, 2.0**-14 * (1 - 2**-11)]
    special += [65504.0, 65519.99, 65520.0, 65536.0, 1e38, np.inf, 1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-8, 1 + 3 * 2**-8]
    bits = np.random.default_rng(3).integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    values = np.r_[np.array(special, np.float32), -np.array(special, np.float32), bits.view(np.float32)]
    values = values[~np.isnan(values)]
    img = np.resize(values, (8, len(values) // 8))
    if dtype == "bfloat16":
        got = fa.normalize(torch.from_numpy(img), 0.0, 1.0, "NHWC", dtype, max_pixel_value=1.0)
    else:
        got = fa.normalize(img, 0.0, 1.0, "NHWC", dtype, max_pixel_value=1.0)
    assert np.array_equal(_bits(got), _half_bits(img, dtype))


@needs_torch
def test_requires_grad_tensor_needs_no_grad(backend):
    """A tensor that requires grad is refused while autograd records (the kernels record no gradient: see
    fastaug.torch) and read as before under torch.no_grad()."""
    t = torch.rand(1, 16, 16, 3, requires_grad=True)
    with pytest.raises(fa.ArgumentError, match="img: got a tensor that requires grad"):
        fa.invert(t)
    with torch.no_grad():
        assert_close(fa.invert(t).numpy(), 1 - t.detach().numpy(), what="requires_grad under no_grad")


def test_generic_dlpack_producer(backend):
    class Producer:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    img = batch(1)
    out = fa.invert(Producer(img))
    assert isinstance(out, np.ndarray)
    assert_close(out, 255 - img, what="producer")


# ---- threads and backends --------------------------------------------------------------------------


def test_concurrent_calls_from_threads(backend):
    imgs = [batch(3) for _ in range(4)]
    expected = [fa.gaussian_blur(x, 5, 1.5) for x in imgs]
    results: list = [None] * 8
    errors: list = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                results[i] = fa.gaussian_blur(imgs[i % 4], 5, 1.5)
        except Exception as e:  # noqa: BLE001 (any error in a thread is reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(8):
        assert_close(results[i], expected[i % 4], what=f"thread {i}")


def test_set_num_threads_roundtrip():
    before = fa.get_num_threads()
    fa.set_num_threads(1)
    assert fa.get_num_threads() == 1
    fa.set_num_threads(before)
    assert fa.get_num_threads() == before


def test_backends_report_and_context():
    info = fa.backends()
    assert info["native"]["available"] == ("native" in BACKENDS or not info["native"]["available"])
    assert isinstance(info["cuda"]["available"], bool) and info["cuda"]["reason"]  # details: test_cuda_nogpu.py
    with fa.backend("numba"):
        assert fa.backends()["active"] == "numba"
    with pytest.raises(ValueError, match="backend"), fa.backend("opencl"):
        pass


def test_backends_agree(image_kind="astronaut"):
    if len(BACKENDS) < 2:
        pytest.skip("one backend only")
    img = batch(2)
    M = fa.affine_matrix([10, -20], center=(40, 48))
    calls = [
        lambda: fa.warp_affine(img, M, interp="cubic", border="reflect"),
        lambda: fa.resize(img, (50, 70), "area"),
        lambda: fa.gaussian_blur(img, 5, [0.8, 1.9], sigma_y=[1.9, 0.6]),
        lambda: fa.equalize(img),
        lambda: fa.sobel(img, 1, 1, 5),
        lambda: fa.edges(img),
        lambda: fa.median_blur(img, 5),
        lambda: fa.to_gray(img),
    ]
    for call in calls:
        with fa.backend("native"):
            a = call()
        with fa.backend("numba"):
            b = call()
        assert_close(a, b, atol=1 if a.dtype == np.uint8 else 1e-4, what=str(call))


def test_numba_fallback_when_native_missing(tmp_path):
    """With fastaug._C unimportable, fastaug warns once and still gives right answers on Numba."""
    code = (
        "import sys, warnings, numpy as np\n"
        "sys.modules['fastaug._C'] = None\n"
        "import fastaug\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    a = fastaug.invert(np.arange(12, dtype=np.uint8).reshape(3, 4))\n"
        "    fastaug.invert(a)\n"
        "assert (a == 255 - np.arange(12).reshape(3, 4)).all()\n"
        "assert sum('Numba fallback' in str(x.message) for x in w) == 1, [str(x.message) for x in w]\n"
        "assert fastaug.backends()['active'] == 'numba'\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr


def test_no_hidden_copies_of_the_image(backend):
    """With out= given, a call allocates nothing near the image's size (numpy allocations are traced)."""
    import tracemalloc

    img = np.ascontiguousarray(batch(4))[:, ::-1]  # a strided view: a copying bridge would allocate here
    out = np.empty(img.shape, np.uint8)
    fa.invert(img, out=out)  # warm-up (Numba compiles)
    fa.warp_affine(img, np.eye(2, 3), out=out)
    tracemalloc.start()
    fa.invert(img, out=out)
    fa.warp_affine(img, np.eye(2, 3), out=out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < img.nbytes // 4, f"peak traced allocation {peak} bytes for a {img.nbytes}-byte image"


def test_edge_cases_found_in_review(backend):
    cv2 = pytest.importorskip("cv2")
    img = make_image("astronaut", 3, "uint8")
    # uint8 TRUNC with a negative threshold truncates everything to 0, as OpenCV
    assert_close(
        fa.threshold(img, -3.5, 255, "trunc"), cv2.threshold(img, -3.5, 255, cv2.THRESH_TRUNC)[1], what="trunc below 0"
    )
    # an empty batch through the separable filter
    assert fa.sep_filter2d(np.zeros((0, 8, 8, 3), np.uint8), [1, 2, 1], [1, 0, -1]).shape == (0, 8, 8, 3)
    # a matrix whose float32 inverse overflows is rejected like a singular one
    with pytest.raises(ValueError, match="singular"):
        fa.warp_affine(img, [[1e-39, 0, 0], [0, 1e-39, 0]])
    # far-away coordinates with periodic borders stay defined and in range
    far = fa.warp_affine(img, [[1, 0, -8388609.0], [0, 1, 3e7]], border="wrap", interp="nearest")
    assert far.shape == img.shape and far.dtype == np.uint8


@pytest.mark.parametrize("interp", ["nearest", "linear", "cubic"])
def test_backends_bit_identical_warps(interp):
    """The native SIMD paths and the Numba fallback give the same bits (not merely close)."""
    if len(BACKENDS) < 2:
        pytest.skip("one backend only")
    rng = np.random.default_rng(3)
    base = np.stack([make_image("astronaut", 3, "uint8"), rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)])
    for c, dtype in ((1, np.uint8), (3, np.uint8), (4, np.uint8), (3, np.float32)):
        x = np.ascontiguousarray(np.concatenate([base, base[..., :1]], axis=3)[..., :c]).astype(dtype)
        M = fa.affine_matrix(
            rng.uniform(-180, 180, 2),
            scale=rng.uniform(0.3, 3, 2),
            translate=rng.uniform(-50, 50, (2, 2)),
            center=(128, 128),
        )
        H = np.stack(
            [np.eye(3) + rng.normal(0, 0.1, (3, 3)) * [[1, 1, 20], [1, 1, 20], [2e-3, 2e-3, 0]] for _ in range(2)]
        )
        # a whole-byte fill takes the masked-gather path, 17.5 the scalar border path; the other borders map
        # taps into the image in the vector (within one reflection) or go scalar beyond
        for border, fill in (
            ("constant", 17),
            ("constant", 17.5),
            ("reflect101", 17),
            ("reflect", 0),
            ("replicate", 0),
            ("wrap", 17),
        ):
            for warp, matrix in ((fa.warp_affine, M), (fa.warp_perspective, H)):
                with fa.backend("native"):
                    a = warp(x, matrix, interp=interp, border=border, fill=fill)
                with fa.backend("numba"):
                    b = warp(x, matrix, interp=interp, border=border, fill=fill)
                assert np.array_equal(a, b), (warp.__name__, c, border, fill, np.abs(a.astype(int) - b).max())


def assert_numba_bit_identical(call: Callable[[np.ndarray | None], np.ndarray], what: object) -> None:
    """call(out) on the native backend (a fresh output) and on Numba into a window of a wider buffer (dense
    rows with a row stride to spare): the same bits (NaN and -0 included), and the bytes beside the window
    untouched."""
    with fa.backend("native"):
        a = call(None)
    buf = np.full((*a.shape[:2], a.shape[2] + 3, *a.shape[3:]), 77, a.dtype)
    with fa.backend("numba"):
        b = call(buf[:, :, 1:-2])
    assert a.shape == b.shape and a.tobytes() == b.tobytes() and (buf[:, :, [0, -2, -1]] == 77).all(), what


def test_backends_bit_identical_median():
    """Both CPU backends run the same selection network over vectors of a row's values (native: 32 bytes
    a vector, the last one overlapping; Numba: whatever LLVM picks, then scalar); a row of 130 * 4 values
    ends in a partial vector, float32 at ksize 7 has no OpenCV reference to catch a slip, and NaN and -0
    order only by the comparators' own rule (y < x ? y : x), which both must apply in the same order."""
    if len(BACKENDS) < 2:
        pytest.skip("one backend only")
    rng = np.random.default_rng(5)
    specials = rng.integers(-3, 4, (2, 23, 41, 3)).astype(np.float32)
    specials[rng.random(specials.shape) < 0.1] = np.nan
    specials[rng.random(specials.shape) < 0.1] = -0.0
    specials[rng.random(specials.shape) < 0.05] = np.inf
    for x in (
        rng.integers(0, 256, (2, 20, 130, 4)).astype(np.uint8),
        rng.integers(0, 256, (2, 31, 29, 1)).astype(np.float32),
        rng.integers(0, 256, (3, 17, 41, 3)).astype(np.uint8),
        specials,
        specials[:, ::-1, ::2],
    ):
        for k in (3, 5, 7):
            assert_numba_bit_identical(lambda out, k=k: fa.median_blur(x, k, out=out), (x.shape, x.dtype, k))


def test_backends_bit_identical_resize_and_box():
    """resize and box_blur run as two passes over blocks of rows on both CPU backends (Numba packs three
    uint8 channels in one 64-bit word for the fixed-point sums): the same bits for every method, up and
    down, integer and other factors, dense and strided layouts, and a dense output row inside a wider buffer
    leaves the bytes beside it alone."""
    if len(BACKENDS) < 2:
        pytest.skip("one backend only")
    rng = np.random.default_rng(7)
    for c, dtype in ((1, np.uint8), (3, np.uint8), (4, np.uint8), (3, np.float32)):
        base = rng.integers(0, 256, (2, 37, 53, c)).astype(dtype)
        if dtype == np.float32:
            base = base / 255 * 300 - 20
        for x in (base, base[:, ::-1, ::-2], base[..., ::-1]):
            calls = [
                lambda out, size=size, interp=interp: fa.resize(x, size, interp, out=out)
                for size in ((20, 30), (74, 106), (12, 17), (111, 159), (5, 200))
                for interp in ("nearest", "linear", "cubic", "area")
            ]
            calls += [
                lambda out, k=k, border=border: fa.box_blur(x, k, border, out=out)
                for k in ((5, 5), (4, 6), (31, 11))
                for border in ("constant", "reflect101", "wrap")
            ]
            for call in calls:
                assert_numba_bit_identical(call, (c, dtype, x.strides, call))


@pytest.mark.parametrize("interp", ["nearest", "linear"])
@pytest.mark.parametrize("c", [1, 3, 4])
def test_warp_writes_only_its_own_pixels(backend, interp, c):
    """Writing into a column slice of a larger buffer leaves the bytes beside it alone (the SIMD stores
    are wider than a pixel, so a row end is where an overrun would show)."""
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (3, 37, 48, c), dtype=np.uint8)
    # a 2x zoom of the top-left keeps every tap inside, so whole rows take the vector path; also a rotation
    M = fa.affine_matrix([0.0, 0.0, 20.0], scale=[2.0, 1.7, 0.9], center=[(0, 0), (0, 0), (24, 18)])
    for width in (48, 45):
        buf = np.full((3, 37, width + 5, c), 123, np.uint8)
        res = fa.warp_affine(img, M, size=(37, width), interp=interp, out=buf[:, :, :width])
        assert (buf[:, :, width:] == 123).all(), width
        assert np.array_equal(res, fa.warp_affine(img, M, size=(37, width), interp=interp))


def test_backends_bit_identical_pointwise():
    """threshold, invert, to_gray, equalize, flip, normalize, color_transform, lut, hue_shift and channel_mean: dense
    rows take flat vectorised loops on both backends (uint8 threshold compares in 8-bit lanes), other layouts
    the strided ones; every path gives the same bits, and a dense output row inside a wider buffer leaves the
    bytes beside it alone."""
    if len(BACKENDS) < 2:
        pytest.skip("one backend only")
    rng = np.random.default_rng(6)
    thresholds = (-1, -0.5, 0, 0.5, 127.6, 254.5, 255, 300, [-3, 9.5, 255])
    for c, dtype in ((1, np.uint8), (3, np.uint8), (4, np.uint8), (3, np.float32)):
        base = rng.integers(0, 256, (3, 13, 37, c)).astype(dtype)
        if dtype == np.float32:
            base = base / 255 * 300 - 20  # values on both sides of every threshold
        for x in (base, base[:, ::-1, ::-2], base[..., ::-1]):  # dense rows, then two strided layouts
            calls = [
                lambda out: fa.invert(x, out=out),
                lambda out: fa.to_gray(x, out=out),
                lambda out: fa.flip(x, [1, 0, -1], out=out),
                lambda out: fa.flip(x, 1, out=out),
                lambda out: fa.normalize(x, [0.4] * c, [0.3] * c, out=out),
                lambda out: fa.normalize(x, [0.4] * c, [0.3] * c, "NHWC", out=out),
                lambda out: fa.normalize(x, [0.4] * c, [0.3] * c, dtype="float16", out=out),
                lambda out: fa.normalize(x, [0.4] * c, [0.3] * c, "NHWC", "float16", out=out),
            ]
            calls += [
                lambda out, m=m, t=t: fa.threshold(x, t, [200.4, 0, 300], m, out=out)
                for t in thresholds
                for m in ("binary", "binary_inv", "trunc", "tozero", "tozero_inv")
            ]
            mats = np.array([0.3, 1.0, 40.0])[:, None, None] * rng.normal(1, 0.5, (3, c, c + 1))
            mats[0, :, :c] = np.diag(np.diag(mats[0, :, :c]))  # diagonal, random (fixed point for C=3), large
            calls.append(lambda out, mats=mats: fa.color_transform(x, mats, out=out))
            for layout, half in itertools.product(("NCHW", "NHWC"), ("float32", "float16")):
                calls.append(
                    lambda out, mats=mats, layout=layout, half=half: fa.normalize(
                        x, [0.4] * c, [0.3] * c, layout, half, matrix=mats, out=out
                    )
                )
            calls.append(lambda out: fa.hue_shift(x, [-0.5, 0.13, 1 / 3], out=out))
            if dtype == np.uint8:
                calls.append(lambda out: fa.equalize(x, out=out))
                tables = rng.integers(0, 256, (3, c, 256))
                calls.append(lambda out, tables=tables: fa.lut(x, tables, out=out))
            for call in calls:
                assert_numba_bit_identical(call, (c, dtype, x.strides, call))
            with fa.backend("native"):
                means = fa.channel_mean(x)
            with fa.backend("numba"):
                assert means.tobytes() == fa.channel_mean(x).tobytes(), (c, dtype, x.strides)


# ---- recycled output buffers --------------------------------------------------------------------------


@pytest.mark.skipif(not fa.backends()["native"]["available"], reason="the buffers come from fastaug._C")
def test_recycled_outputs_never_alias_live_arrays():
    """A large NumPy output comes from a recycled block; a block returns to the pool only when nothing
    (result or view) refers to it, so a new output never shares memory with a live one."""
    x = np.random.default_rng(0).integers(0, 256, (4, 256, 256, 3), np.uint8)  # 768 KiB in, 3 MiB out
    a = fa.sobel(x, 1, 0, 3)
    view = a[1:3, ::2]
    expected = view.copy()
    del a
    b = fa.sobel(x, 0, 1, 3)  # may not take a's block: the view still holds it
    assert not np.shares_memory(b, view)
    np.testing.assert_array_equal(view, expected)
    del view, expected
    c = fa.sobel(x, 1, 0, 3)  # may reuse a's block now, and is written completely
    np.testing.assert_array_equal(c, fa.sobel(x, 1, 0, 3, out=np.empty_like(c)))
    assert c.flags.writeable and c.flags.c_contiguous and not np.shares_memory(b, c)


def test_buffer_cache_cap():
    old = fa.set_buffer_cache(0)
    try:
        out = fa.invert(np.zeros((2, 512, 512, 3), np.uint8))
        assert out.shape == (2, 512, 512, 3) and (out == 255).all()
        assert fa.set_buffer_cache(1 << 20) == 0
    finally:
        fa.set_buffer_cache(old)
    with pytest.raises(fa.ArgumentError, match="nbytes: expected a non-negative int"):
        fa.set_buffer_cache(-1)


@pytest.mark.parametrize(
    "call", [lambda x: fa.rotate90(x, 1.5), lambda x: fa.flip(x, 0.7), lambda x: fa.crop(x, (0, 0, 2.5, 3))]
)
def test_integer_parameters_refuse_fractions(call):
    """Turns, flip codes and boxes are integers: a fraction is refused, not truncated."""
    with pytest.raises(fa.ArgumentError, match="expected integers"):
        call(np.zeros((2, 8, 8, 3), np.uint8))
