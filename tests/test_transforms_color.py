"""The colour and value transforms of the pipeline (ColorJitter, RandomGamma, Solarize, Posterize,
EdgeDetect, GaussianNoise, RandomErasing, Cutout): each against a plain numpy statement of its definition,
their per-sample distributions, replay, backends and bad arguments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fastaug as fa
import fastaug.transforms as T
from fastaug.transforms.color import LUMA, hue_rotation

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def batch():
    """8 RGB photographs of 128x160 (crops of the scikit-image samples), with their mirror images."""
    photos = [skdata.astronaut(), skdata.chelsea(), skdata.coffee(), skdata.rocket()]
    crops = [p[100:228, 100:260] for p in photos]
    return np.ascontiguousarray(np.stack(crops + [c[::-1, ::-1] for c in crops]))


def run(t, images, seed=0):
    out, (prm,) = T.Compose([t], seed=seed)(images, return_params=True)
    return out, prm


def jitter_reference(img, factors, order):
    """torchvision's ColorJitter definitions applied one after the other in float64, with fastaug's hue
    (rotation about the grey axis), no clamping between steps, rounded and clamped at the end."""
    x = img.astype(np.float64)
    for op in order:
        f = factors[op]
        if op == 0:
            x = x * f
        elif op == 1:
            x = f * x + (1 - f) * (x @ LUMA).mean()
        elif op == 2:
            x = f * x + (1 - f) * (x @ LUMA)[..., None]
        else:
            x = x @ hue_rotation(np.array([f]))[0].T
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def hsv_hue(x, h):
    """HSV hue shift of float RGB in [0, 255] by h turns (the hexcone model torchvision uses), float64."""
    v = x.max(-1)
    c = v - x.min(-1)
    safe = np.where(c == 0, 1, c)
    r, g, b = (x[..., k] for k in range(3))
    hue = np.where(v == r, (g - b) / safe, np.where(v == g, 2 + (b - r) / safe, 4 + (r - g) / safe)) / 6
    hue = np.where(c == 0, 0, hue % 1.0)
    hue = (hue + h) % 1.0
    k = (np.array([5, 3, 1]) + hue[..., None] * 6) % 6
    return v[..., None] - c[..., None] * np.clip(np.minimum(k, 4 - k), 0, 1)


def test_color_jitter_is_torchvisions_definitions_in_the_drawn_order(batch):
    t = T.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8, hue_mode="rotation")
    out, prm = run(t, batch, seed=3)
    assert 0 < prm["apply"].sum() < len(batch)
    for i in range(len(batch)):
        if not prm["apply"][i]:
            np.testing.assert_array_equal(out[i], batch[i])
            continue
        ref = jitter_reference(batch[i], prm["factors"][i], prm["order"][i])
        diff = np.abs(out[i].astype(int) - ref)  # color_transform's fixed point (cv2.transform's) vs float64
        assert diff.max() <= 1 and (diff > 0).mean() < 0.1, (i, diff.max(), (diff > 0).mean())


def test_color_jitter_hue_in_hsv_splits_each_samples_steps_around_the_hue_shift(batch):
    """hue_mode 'hsv' (the default): the steps before a sample's hue step, torchvision's HSV hue shift, then
    the steps after it; against float64 maths with an HSV reference rounded where the passes round."""
    out, prm = run(T.ColorJitter(0.3, 0.3, 0.3, 0.2, p=1), batch, seed=5)
    positions = np.argmax(prm["order"] == 3, axis=1)
    assert len(set(positions)) >= 3  # hue at different places of the order
    for i in range(len(batch)):
        order, f = prm["order"][i], prm["factors"][i]
        k = positions[i]
        x = jitter_reference(batch[i], f, order[:k]).astype(np.float64)
        x = np.floor(hsv_hue(x, f[3]) / 255 * 255.999)  # torchvision's float -> uint8: scaled and truncated
        ref = jitter_reference(x, f, order[k + 1 :])
        d = np.abs(out[i].astype(int) - ref)  # a level of rounding in a pass, amplified by the steps after it
        assert d.max() <= 3 and (d > 1).mean() < 0.02, (i, d.max(), (d > 1).mean())
    rotation = T.Compose([T.ColorJitter(0.3, 0.3, 0.3, 0.2, hue_mode="rotation")])(batch, params=[prm])
    assert not np.array_equal(rotation, out)


def test_color_jitter_draws_follow_torchvision():
    t = T.ColorJitter(brightness=0.4, contrast=(0.5, 1.5), saturation=2.0, hue=0.2)
    prm = t.draw(np.random.default_rng(0), 20000)
    f = prm["factors"]
    for col, (lo, hi) in enumerate([(0.6, 1.4), (0.5, 1.5), (0.0, 3.0), (-0.2, 0.2)]):
        assert lo <= f[:, col].min() and f[:, col].max() <= hi
        assert abs(f[:, col].mean() - (lo + hi) / 2) < 0.02 * (hi - lo)
    orders = {tuple(o) for o in prm["order"]}
    assert orders == set(itertools.permutations(range(4)))  # every order, as torchvision's randperm


def test_hue_and_saturation_are_what_they_say(batch):
    red = np.zeros((1, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    third = {
        "apply": np.ones(1, bool),
        "factors": np.array([[1.0, 1.0, 1.0, 1 / 3]]),
        "order": np.array([[3, 0, 1, 2]]),
    }
    green = T.Compose([T.ColorJitter(hue=0.5)])(red, params=[third])
    np.testing.assert_array_equal(green[0, 0, 0], [0, 255, 0])  # a third of a turn: red -> green, as HSV
    grey = np.full((1, 4, 4, 3), 77, np.uint8)
    shifted = T.Compose([T.ColorJitter(saturation=1.0, hue=0.5)], seed=1)(np.repeat(grey, 1, 0))
    np.testing.assert_array_equal(shifted, grey)  # greys have no hue or saturation to change
    drained = T.Compose([T.ColorJitter(saturation=(0, 0))])(batch)
    np.testing.assert_array_equal(drained[..., 0], drained[..., 1])  # saturation 0 is the luma on every channel
    assert np.abs(drained[..., 0].astype(int) - fa.to_gray(batch)[..., 0]).max() <= 1


def test_color_jitter_on_float_images_clamps_to_one(batch):
    x = batch.astype(np.float32) / 255
    out, _prm = run(T.ColorJitter(brightness=(1.5, 1.5)), x)
    assert out.dtype == np.float32 and out.max() == 1.0
    np.testing.assert_allclose(out, np.minimum(x * 1.5, 1.0), atol=1e-6)


def test_gamma_solarize_posterize_tables(batch):
    out, prm = run(T.RandomGamma((0.5, 2.0), p=1), batch)
    g = prm["gamma"][:, None, None, None]
    np.testing.assert_array_equal(out, np.rint(255 * (batch / 255.0) ** g).astype(np.uint8))
    out, prm = run(T.Solarize((64, 192), p=0.5), batch)
    t = np.where(prm["apply"], prm["threshold"], 1e9)[:, None, None, None]
    np.testing.assert_array_equal(out, np.where(batch >= t, 255 - batch, batch))
    out, prm = run(T.Posterize((2, 6), p=1), batch)
    assert set(prm["bits"]) <= {2, 3, 4, 5, 6}
    keep = ((0xFF << (8 - prm["bits"])) & 0xFF).astype(np.uint8)[:, None, None, None]
    np.testing.assert_array_equal(out, batch & keep)


def test_gamma_and_solarize_on_float_images(batch):
    x = batch.astype(np.float32) / 255
    out, prm = run(T.RandomGamma((0.5, 2.0), p=0.5), x)
    g = np.where(prm["apply"], prm["gamma"], 1.0)[:, None, None, None].astype(np.float32)
    np.testing.assert_allclose(out, x**g, rtol=1e-5, atol=1e-6)
    out, prm = run(T.Solarize(0.5, p=1), x)
    np.testing.assert_allclose(out, np.where(x >= 0.5, 1 - x, x), atol=1e-6)


def test_edge_detect_blends_the_sobel_magnitude(batch):
    out, prm = run(T.EdgeDetect(alpha=(0.3, 0.9), p=1), batch)
    edges = fa.edges(fa.to_gray(batch)).astype(np.float64)
    a = prm["alpha"][:, None, None, None]
    ref = np.clip(np.rint(batch * (1 - a) + edges * a), 0, 255)
    assert np.abs(out.astype(int) - ref).max() <= 1  # float32 arithmetic against float64


def test_gaussian_noise_has_the_drawn_std_and_replays():
    grey = np.full((6, 64, 64, 3), 128, np.uint8)
    out, prm = run(T.GaussianNoise(std=(0.02, 0.08), p=1), grey)
    residual = out.astype(float) - 128
    np.testing.assert_allclose(residual.std(axis=(1, 2, 3)), prm["std"] * 255, rtol=0.05)
    assert np.abs(residual.mean()) < 0.5
    again = T.Compose([T.GaussianNoise(std=(0.02, 0.08), p=1)])(grey, params=[prm])
    np.testing.assert_array_equal(again, out)
    x = np.full((2, 32, 32, 1), 0.5, np.float32)
    y = T.Compose([T.GaussianNoise(std=0.5, p=1)], seed=0)(x)
    assert y.dtype == np.float32 and y.min() == 0.0 and y.max() == 1.0  # clip=True


def test_random_erasing_follows_torchvisions_draw(batch):
    t = T.RandomErasing(scale=(0.05, 0.2), ratio=(0.5, 2.0), value=7, p=1)
    h, w = batch.shape[1:3]
    boxes, found = t.boxes(t.draw(np.random.default_rng(0), 4000)["tries"], h, w)
    assert found.all()
    eh, ew = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    area = eh * ew / (h * w)
    assert area.min() > 0.04 and area.max() < 0.22
    assert (eh / ew).min() > 0.4 and (eh / ew).max() < 2.5
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= h).all() and (boxes[:, 3] <= w).all()
    out, prm = run(t, batch)
    boxes, _ = t.boxes(prm["tries"], h, w)
    for i, (top, left, bottom, right) in enumerate(boxes):
        inside = np.zeros((h, w), bool)
        inside[top:bottom, left:right] = True
        assert (out[i][inside] == 7).all()
        np.testing.assert_array_equal(out[i][~inside], batch[i][~inside])
    never = T.RandomErasing(scale=(0.99, 1.0), ratio=(3, 3), p=1)  # never fits: nothing erased
    np.testing.assert_array_equal(run(never, batch)[0], batch)


def test_cutout_is_diffaugments_square(batch):
    h, w = batch.shape[1:3]
    out, _prm = run(T.Cutout(size=0.5, value=0), np.full_like(batch, 200))
    sizes = (out == 0).all(-1).sum(axis=(1, 2))
    assert sizes.max() == 64 * 80 and sizes.min() > 0  # whole when inside, clipped at the edges
    centres = T.Cutout().draw(np.random.default_rng(0), 20000)["centre"]
    assert centres.min() >= 0 and centres.max() < 1 and abs(centres.mean() - 0.5) < 0.01
    assert out.shape == (len(batch), h, w, 3)


NEW = [
    T.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
    T.RandomGamma(p=0.5),
    T.Solarize(p=0.5),
    T.Posterize((3, 5), p=0.5),
    T.EdgeDetect(p=0.5),
    T.GaussianNoise(p=0.5),
    T.RandomErasing(p=0.5),
    T.Cutout(p=0.5),
]


@pytest.mark.parametrize("t", NEW, ids=lambda t: type(t).__name__)
def test_never_writes_the_callers_batch_and_the_backends_agree(t, batch):
    before = batch.copy()
    with fa.backend("native"):
        native = T.Compose([T.HorizontalFlip(p=0), t], seed=2)(batch)
    with fa.backend("numba"):
        numba = T.Compose([T.HorizontalFlip(p=0), t], seed=2)(batch)
    np.testing.assert_array_equal(native, numba)
    np.testing.assert_array_equal(batch, before)
    assert T.from_dict(T.Compose([t]).to_dict()).transforms == [t]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: T.ColorJitter(brightness=-0.1), "ColorJitter: brightness: expected a non-negative number"),
        (lambda: T.ColorJitter(contrast=(1.5, 0.5)), "ColorJitter: contrast: expected min <= max"),
        (lambda: T.ColorJitter(saturation=(-1, 2)), "ColorJitter: saturation: expected non-negative factors"),
        (lambda: T.ColorJitter(hue=0.7), r"ColorJitter: hue: expected a range within \[-0.5, 0.5\]"),
        (lambda: T.RandomGamma((0, 2)), r"RandomGamma: gamma: expected a range within \[0.001"),
        (lambda: T.Posterize(9), r"Posterize: bits: expected a range within \[1, 8\]"),
        (lambda: T.Posterize((2.5, 4)), "Posterize: bits: expected an int in 1-8"),
        (lambda: T.GaussianNoise(std=(0.2, 0.1)), "GaussianNoise: std: expected min <= max"),
        (lambda: T.RandomErasing(scale=(0.1, 1.5)), r"RandomErasing: scale: expected a range within \[0.0, 1.0\]"),
        (lambda: T.Cutout(size=2), r"Cutout: size: expected a number in \[0.0, 1.0\]"),
        (lambda: T.EdgeDetect(alpha=(0.5, 1.5)), r"EdgeDetect: alpha: expected a range within \[0.0, 1.0\]"),
    ],
)
def test_bad_arguments_name_the_transform(make, match):
    with pytest.raises((fa.ArgumentError, fa.ArgumentTypeError), match=match):
        make()


def test_uint8_only_transforms_say_so(batch):
    x = batch.astype(np.float32) / 255
    for t in (T.Posterize(p=1), T.EdgeDetect(p=1)):
        with pytest.raises(fa.ArgumentError, match=f"{type(t).__name__}: images: expected uint8 images"):
            T.Compose([t])(x)


def test_color_jitter_right_before_normalize_runs_in_normalizes_pass(batch, monkeypatch):
    """Compose hands the ColorJitter's matrices to Normalize (fastaug.normalize(matrix=...)): one pass instead
    of two, the same bits as the two steps one after the other."""
    steps = [T.ColorJitter(0.4, 0.4, 0.4, p=0.8), T.Normalize(dtype="float16")]
    fused, prm = T.Compose(steps, seed=1)(batch, return_params=True)
    two_steps = T.Compose(steps[1:])(T.Compose(steps[:1])(batch, params=prm[:1]), params=prm[1:])
    np.testing.assert_array_equal(fused, two_steps)
    calls = []
    monkeypatch.setattr(fa.functional, "color_transform", lambda *a, **k: calls.append(1))
    T.Compose(steps, seed=1)(batch)
    assert calls == []
    with_hue = T.Compose([T.ColorJitter(hue=0.1), T.Normalize()], seed=1)
    monkeypatch.undo()
    hue_fused, hue_prm = with_hue(batch, return_params=True)  # HSV hue: not one matrix, not fused
    expected = T.Compose([T.Normalize()])(T.Compose([T.ColorJitter(hue=0.1)])(batch, params=hue_prm[:1]))
    np.testing.assert_array_equal(hue_fused, expected)
