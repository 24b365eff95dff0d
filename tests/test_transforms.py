"""The augmentation pipeline (fastaug.Compose and fastaug.transforms): each geometric transform against the
operator or OpenCV call it stands for, fusion into one warp, antialiasing, per-sample distributions, seeds,
targets, ragged batches, backends, saved pipelines and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pipeline_cases import EVERY

import fastaug as fa
import fastaug.transforms as T
from fastaug import _bench_augment as augment
from fastaug import functional

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photos():
    return [skdata.astronaut(), skdata.chelsea(), skdata.coffee(), skdata.rocket()]


@pytest.fixture(scope="module")
def batch(photos):
    """8 RGB photographs of 300x400 (crops of the scikit-image samples), with their mirror images."""
    crops = [p[:300, :400] for p in photos]
    return np.ascontiguousarray(np.stack(crops + [c[::-1, ::-1] for c in crops]))


def one(**kw):
    return {k: np.atleast_1d(np.asarray(v, float)) for k, v in kw.items()}


# --- each geometric transform is the operation it names -------------------------------------------------


def test_flips_and_rotate90_equal_numpy(batch):
    rng = np.random.default_rng(1)
    x = batch[:, :, :300]  # square, so every turn keeps the shape
    for t, ref in (
        (T.HorizontalFlip(p=1), lambda a, prm: a[:, :, ::-1]),
        (T.VerticalFlip(p=1), lambda a, prm: a[:, ::-1]),
        (T.RandomRotate90(), lambda a, prm: np.stack([np.rot90(s, k) for s, k in zip(a, prm["k"], strict=True)])),
    ):
        out, (prm,) = T.Compose([t], seed=rng)(x, return_params=True)
        np.testing.assert_array_equal(out, ref(x, prm), err_msg=repr(t))
    _, (prm,) = T.Compose([T.RandomRotate90()], seed=3)(np.zeros((400, 8, 8, 1), np.uint8), return_params=True)
    assert set(np.unique(prm["k"])) == {0, 1, 2, 3}


def test_rotate90_on_a_non_square_canvas_swaps_the_size(batch):
    prm = [{"apply": np.ones(len(batch), bool), "k": np.ones(len(batch))}]
    out = T.Compose([T.RandomRotate90()])(batch, params=prm)
    np.testing.assert_array_equal(out, fa.rotate90(batch, 1))
    with pytest.raises(fa.ArgumentError, match="different sizes"):
        T.Compose([T.RandomRotate90()])(batch, params=[{"apply": np.ones(8, bool), "k": np.arange(8) % 2}])


def test_crops_and_pad_equal_slicing(batch):
    out, (prm,) = T.Compose([T.RandomCrop((100, 120))], seed=0)(batch, return_params=True)
    assert len(np.unique(prm["top"])) > 1  # per sample
    for s in range(len(batch)):
        top, left = int(prm["top"][s]), int(prm["left"][s])
        np.testing.assert_array_equal(out[s], batch[s, top : top + 100, left : left + 120])
    np.testing.assert_array_equal(T.Compose([T.CenterCrop((100, 200))])(batch), batch[:, 100:200, 100:300])
    padded = T.Compose([T.Pad((1, 2, 3, 4), fill=7)])(batch)
    np.testing.assert_array_equal(padded, np.pad(batch, ((0, 0), (2, 4), (1, 3), (0, 0)), constant_values=7))
    reflected = T.Compose([T.Pad(5, border="reflect101")])(batch)
    np.testing.assert_array_equal(reflected, np.pad(batch, ((0, 0), (5, 5), (5, 5), (0, 0)), mode="reflect"))


def test_resize_and_resized_crop_follow_cv2_resize(batch):
    out = T.Compose([T.Resize((450, 500))])(batch)  # enlarging: no antialiasing involved
    ref = np.stack([cv2.resize(b, (500, 450), interpolation=cv2.INTER_LINEAR) for b in batch])
    assert np.abs(out.astype(int) - ref).max() <= 1
    short = T.Compose([T.Resize(150)])(batch)
    assert short.shape == (8, 150, 200, 3)  # the shorter side, aspect kept (torchvision's int size)
    out, (prm,) = T.Compose([T.RandomResizedCrop((64, 80), scale=(0.5, 1))], seed=2)(batch, return_params=True)
    for s in range(len(batch)):
        t, le, h, w = (int(prm[k][s]) for k in ("top", "left", "height", "width"))
        ref = cv2.resize(batch[s, t : t + h, le : le + w], (80, 64), interpolation=cv2.INTER_AREA)
        assert np.abs(out[s].astype(int) - ref).mean() < 3  # shrinking ~4x: area pre-reduction, then one warp


def test_affine_and_perspective_equal_cv2(batch):
    a = T.Affine(degrees=(20, 20), translate=None, scale=(1.2, 1.2), border="reflect101")
    out = T.Compose([a])(batch)
    m = cv2.getRotationMatrix2D((199.5, 149.5), 20, 1.2)
    ref = np.stack([cv2.warpAffine(b, m, (400, 300), borderMode=cv2.BORDER_REFLECT_101) for b in batch])
    assert np.abs(out.astype(int) - ref).max() <= 1
    out, (prm,) = T.Compose([T.RandomPerspective(0.4, p=1)], seed=5)(batch, return_params=True)
    corners = np.array([[0, 0], [399, 0], [399, 299], [0, 299]], np.float32)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    for s in range(len(batch)):
        moved = (corners + prm["offsets"][s] * inward).astype(np.float32)
        h = cv2.getPerspectiveTransform(corners, moved)
        ref = cv2.warpPerspective(batch[s], h, (400, 300))
        assert np.abs(out[s].astype(int) - ref).max() <= 1
        assert (prm["offsets"][s] >= 0).all() and (prm["offsets"][s] <= 0.2 * np.array([399, 299])).all()


# --- fusion ----------------------------------------------------------------------------------------------


def test_five_geometric_transforms_make_one_warp_call(batch, monkeypatch):
    calls = []
    for name in ("warp_affine", "warp_perspective", "resize"):
        real = getattr(functional, name)
        monkeypatch.setattr(functional, name, lambda *a, _r=real, _n=name, **k: calls.append(_n) or _r(*a, **k))
    pipe = T.Compose(
        [
            T.RandomResizedCrop(224, scale=(0.8, 1)),  # shrinking < 2x: no area pre-reduction
            T.HorizontalFlip(),
            T.RandomRotate90(),
            T.Affine(degrees=15, scale=(0.9, 1.1)),
            T.VerticalFlip(),
        ],
        seed=0,
    )
    out = pipe(batch)
    assert out.shape == (8, 224, 224, 3) and calls == ["warp_affine"]
    calls.clear()
    T.Compose([*pipe.transforms, T.RandomPerspective(0.2, p=1)], seed=0, antialias=False)(batch)
    assert calls == ["warp_perspective"]


def test_fused_equals_the_unfused_chain_within_the_stated_tolerance(photos):
    """crop -> resize -> flip -> rotate, each step resampled (OpenCV), against one fused warp. Measured on
    the 4 photographs: mean |d| 1.5-3.5, p99 12-33 grey levels inside the frame (the unfused chain blurs
    twice; the resize here shrinks ~2x, which the chain does not antialias)."""
    for img in photos:
        h, w = img.shape[:2]
        top, left, ch, cw = 20, 30, h - 60, w - 90
        chain = cv2.resize(img[top : top + ch, left : left + cw], (224, 224), interpolation=cv2.INTER_LINEAR)
        chain = np.ascontiguousarray(chain[:, ::-1])
        m = cv2.getRotationMatrix2D((111.5, 111.5), 10, 1.0)
        chain = cv2.warpAffine(chain, m, (224, 224), borderMode=cv2.BORDER_REFLECT_101)
        pipe = T.Compose(
            [T.RandomResizedCrop(224), T.HorizontalFlip(p=1), T.Affine(degrees=(10, 10), border="reflect101")],
            antialias=False,
        )
        prm = [one(top=top, left=left, height=ch, width=cw), {"apply": np.ones(1, bool)}, None]
        prm[2] = {"apply": np.ones(1, bool), **one(angle=10, tx=0, ty=0, scale=1, shear_x=0, shear_y=0)}
        fused = pipe(img, params=prm)
        d = np.abs(fused.astype(int) - chain)[24:-24, 24:-24]
        assert d.mean() < 4.0 and np.percentile(d, 99) <= 40, (img.shape, d.mean(), np.percentile(d, 99))


def test_antialiasing_matches_cv2_inter_area(photos):
    img = photos[0]  # 512 x 512
    exact = T.Compose([T.Resize((128, 128))])(img)  # 4x: area reduction, then an identity warp
    np.testing.assert_array_equal(exact, cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA))
    area = cv2.resize(img, (160, 160), interpolation=cv2.INTER_AREA)
    smooth = np.abs(T.Compose([T.Resize((160, 160))])(img).astype(int) - area)
    aliased = np.abs(T.Compose([T.Resize((160, 160))], antialias=False)(img).astype(int) - area)
    assert smooth.mean() < 3.0 and np.percentile(smooth, 99) < np.percentile(aliased, 99)
    np.testing.assert_array_equal(T.reduction_factors(np.diag([0.25, 0.5, 1.0])[None], (128, 256)), [[2, 4]])


def test_mixed_reduction_factors_are_grouped(batch):
    prm = [one(top=[0] * 4 + [100] * 4, left=0, height=[300] * 4 + [100] * 4, width=[400] * 4 + [100] * 4)]
    prm[0] = {k: np.broadcast_to(v, (8,)).copy() for k, v in prm[0].items()}
    out = T.Compose([T.RandomResizedCrop(50)])(batch, params=prm)
    for s in (0, 7):
        p = {k: v[s : s + 1] for k, v in prm[0].items()}
        np.testing.assert_array_equal(out[s], T.Compose([T.RandomResizedCrop(50)])(batch[s], params=[p]))


@pytest.mark.parametrize("border", ["reflect101", "constant", "wrap"])
def test_antialiasing_reduces_only_the_region_the_warp_reads(photos, border):
    """The area reduction covers only the part of each source the warp reads, its offset folded into the
    matrix: on images whose sizes are multiples of every factor, the result equals reducing the whole image
    and warping that (up to the warp's float32 coordinates: one grey level, rarely), and a reduction
    misplaced by one reduced pixel would be far outside that bound."""
    images = [p[: p.shape[0] // 60 * 60, : p.shape[1] // 60 * 60] for p in photos]  # factors 2..6 divide
    ts = [T.RandomResizedCrop(96, scale=(0.2, 1.0)), T.HorizontalFlip(), T.Affine(degrees=15, border=border)]
    for seed in range(3):
        pipe = T.Compose(ts, seed=seed)
        mats, _ = T.Compose(ts, seed=seed).geometry([im.shape[:2] for im in images])
        out = pipe(images)
        factors = T.reduction_factors(mats, (96, 96))
        assert (factors > 1).any(axis=1).sum() >= 3 and (factors <= 6).all()
        for s, (img, m, (ky, kx)) in enumerate(zip(images, mats, factors, strict=True)):
            whole = functional.resize(img, (img.shape[0] // ky, img.shape[1] // kx), "area")
            for shift, bound in ((0.0, (1, 0.01)), (1.0, None)):
                back = np.diag([kx, ky, 1.0])
                back[:2, 2] = [0.5 * kx - 0.5 + shift * kx, 0.5 * ky - 0.5]
                ref = functional.warp_affine(whole, (m @ back)[:2], (96, 96), border=border)
                d = np.abs(out[s].astype(int) - ref)
                if bound is None:  # the same reduction one reduced pixel to the side
                    assert d.mean() > 1.0, (seed, s, d.mean())
                else:
                    assert d.max() <= bound[0] and (d > 0).mean() < bound[1], (seed, s, d.max(), (d > 0).mean())


# --- draws -----------------------------------------------------------------------------------------------


def test_draws_are_per_sample_and_follow_their_distributions():
    n = 4000
    sizes = np.tile([400, 400], (n, 1))  # square: RandomResizedCrop's tries favour no aspect ratio
    rng = np.random.default_rng(0)
    flips = T.HorizontalFlip(p=0.3).draw(rng, sizes)["apply"]
    assert abs(flips.mean() - 0.3) < 0.03
    rrc = T.RandomResizedCrop(224, scale=(0.2, 0.9), ratio=(0.5, 2.0)).draw(rng, sizes)
    area = rrc["height"] * rrc["width"] / (400 * 400)
    aspect = rrc["width"] / rrc["height"]
    assert area.min() > 0.19 and area.max() < 0.91 and 0.45 < area.mean() < 0.6
    assert abs(np.log(aspect).mean()) < 0.05 and aspect.min() > 0.49 and aspect.max() < 2.05
    assert (rrc["top"] + rrc["height"] <= 400).all() and (rrc["left"] + rrc["width"] <= 400).all()
    aff = T.Affine(degrees=30, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-5, 5, 0, 10), p=0.5).draw(rng, sizes)
    on = aff["apply"]
    assert abs(on.mean() - 0.5) < 0.03 and (aff["angle"][~on] == 0).all() and (aff["scale"][~on] == 1).all()
    a = aff["angle"][on]
    assert -30 <= a.min() < -29 and 29 < a.max() <= 30 and abs(a.mean()) < 1.5 and abs(a.std() - 60 / 12**0.5) < 1
    assert np.abs(aff["tx"]).max() <= 40 and np.abs(aff["ty"]).max() <= 80 and aff["ty"][on].std() > 40
    assert aff["shear_y"].min() >= 0 and aff["shear_y"][on].max() > 9
    blur = T.GaussianBlur(5, sigma=(0.5, 1.5)).draw(rng, n)
    assert blur["sigma"].min() >= 0.5 and blur["sigma"].max() <= 1.5 and abs(blur["sigma"].mean() - 1) < 0.02


def test_seeds_reproduce_and_calls_differ(batch):
    steps = [T.RandomResizedCrop(96), T.HorizontalFlip(), T.Affine(degrees=20), T.GaussianBlur(p=0.5)]
    a, b = T.Compose(steps, seed=7), T.Compose(steps, seed=7)
    first = a(batch)
    np.testing.assert_array_equal(first, b(batch))
    assert not np.array_equal(first, a(batch))  # the next call draws anew
    assert not np.array_equal(first[0], first[4][::-1, ::-1])  # samples have their own draws
    out, prm = T.Compose(steps, seed=np.random.default_rng(3))(batch, return_params=True)
    np.testing.assert_array_equal(T.Compose(steps)(batch, params=prm), out)


def test_native_and_numba_give_the_same_bits(batch):
    pipe = [
        T.RandomResizedCrop(96, scale=(0.2, 1)),
        T.HorizontalFlip(),
        T.Affine(degrees=15, border="reflect101"),
        T.RandomPerspective(0.2, p=0.5),
        T.GaussianBlur(5, p=0.5),
        T.RandomEqualize(p=0.5),
        T.Sharpen(p=0.5),
        T.RandomGrayscale(p=0.5),
        T.Normalize(),
    ]
    with fa.backend("native"):
        native = T.Compose(pipe, seed=11)(batch)
    with fa.backend("numba"):
        numba = T.Compose(pipe, seed=11)(batch)
    np.testing.assert_array_equal(native, numba)


# --- pixel transforms --------------------------------------------------------------------------------------


def test_pixel_transforms_touch_only_the_drawn_samples(batch):
    before = batch.copy()
    for t, op in (
        (T.RandomInvert(p=0.5), lambda x, prm: fa.invert(x)),
        (T.RandomEqualize(p=0.5), lambda x, prm: fa.equalize(x)),
        (T.RandomThreshold(p=0.5), lambda x, prm: fa.threshold(x, prm["thresh"], 255)),
        (T.GaussianBlur(5, p=0.5), lambda x, prm: fa.gaussian_blur(x, 5, prm["sigma"])),
        (T.BoxBlur(3, p=0.5), lambda x, prm: fa.box_blur(x, 3)),
        (T.MedianBlur(5, p=0.5), lambda x, prm: fa.median_blur(x, 5)),
        (T.Sharpen(p=0.5), lambda x, prm: fa.filter2d(x, T.Sharpen.kernels(prm["alpha"]))),
        (T.RandomGrayscale(p=0.5), lambda x, prm: np.repeat(fa.to_gray(x), 3, -1)),
    ):
        out, (prm,) = T.Compose([t], seed=4)(batch, return_params=True)
        on = prm["apply"]
        assert 0 < on.sum() < len(on), repr(t)
        np.testing.assert_array_equal(out[~on], batch[~on], err_msg=repr(t))
        np.testing.assert_array_equal(out[on], op(batch, prm)[on], err_msg=repr(t))
    for cls in T.pixel.PIXEL[:-1]:  # every sample drawn: the result is a new array too
        t = cls()
        out = T.Compose([t], seed=0)(batch, params=[{**t.draw(np.random.default_rng(0), 8), "apply": np.ones(8, bool)}])
        assert out is not batch and not np.shares_memory(out, batch)
    np.testing.assert_array_equal(batch, before)  # the caller's batch is never written


def test_normalize_writes_the_training_tensor(batch):
    out = np.empty((8, 3, 300, 400), np.float32)
    res = T.Compose([T.HorizontalFlip(p=0), T.Normalize(mean=0.5, std=0.25)])(batch, out=out)
    assert res is out
    np.testing.assert_allclose(out, ((batch / 255.0 - 0.5) / 0.25).transpose(0, 3, 1, 2), atol=1e-5)


def test_normalize_in_half_precision(batch):
    ref = T.Compose([T.Normalize()])(batch)
    half = T.Compose([T.Normalize(dtype="float16")])(batch)
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, ref.astype(np.float16))
    torch = pytest.importorskip("torch")
    bf16 = T.Compose([T.Normalize(dtype="bfloat16", layout="NHWC")])(torch.from_numpy(batch))
    assert bf16.dtype == torch.bfloat16 and bf16.shape == batch.shape
    assert torch.equal(bf16, torch.from_numpy(ref.transpose(0, 2, 3, 1).copy()).to(torch.bfloat16))
    with pytest.raises(fa.ArgumentError, match="bfloat16"):
        T.Compose([T.Normalize(dtype="bfloat16")])(batch)  # NumPy has no bfloat16
    with pytest.raises(fa.ArgumentError, match="Normalize: dtype: expected one of 'float32'"):
        T.Normalize(dtype="float64")


def test_torch_tensors_in_and_out(batch):
    torch = pytest.importorskip("torch")
    pipe = [T.RandomResizedCrop(64), T.HorizontalFlip(), T.RandomInvert(p=0.5), T.Normalize()]
    out = T.Compose(pipe, seed=1)(torch.from_numpy(batch))
    assert isinstance(out, torch.Tensor) and out.shape == (8, 3, 64, 64)
    np.testing.assert_array_equal(out.numpy(), T.Compose(pipe, seed=1)(batch))


# --- targets -----------------------------------------------------------------------------------------------


def test_keypoints_boxes_and_masks_follow_the_image():
    rng = np.random.default_rng(0)
    n, h, w = 16, 240, 320
    images = np.zeros((n, h, w, 3), np.uint8)
    masks = np.zeros((n, h, w), np.uint8)
    points, boxes = [], []
    for s in range(n):
        pts = np.stack([rng.integers(40, w - 40, 5), rng.integers(40, h - 40, 5)], 1)
        for x, y in pts:
            images[s, y - 2 : y + 3, x - 2 : x + 3] = 255  # a bright dot centred on the keypoint
        x0, y0 = rng.integers(20, 120), rng.integers(20, 100)
        masks[s, y0 : y0 + 60, x0 : x0 + 80] = 3
        points.append(pts.astype(float))
        boxes.append(np.array([[x0, y0, x0 + 80, y0 + 60, 3.0]]))  # xyxy edges + a label column
    pipe = T.Compose(
        [T.RandomResizedCrop((200, 200), scale=(0.7, 1)), T.HorizontalFlip(), T.RandomRotate90(), T.VerticalFlip()],
        seed=1,
    )
    out = pipe(image=images, mask=masks, boxes=boxes, keypoints=points)
    assert set(out) == {"image", "mask", "boxes", "keypoints"} and out["mask"].shape == (n, 200, 200)
    assert set(np.unique(out["mask"])) <= {0, 3}  # nearest: labels are never blended
    for s in range(n):
        for x, y in out["keypoints"][s][:, :2]:
            xi, yi = round(x), round(y)
            if 0 <= xi < 200 and 0 <= yi < 200:
                assert out["image"][s, yi, xi].min() > 128, (s, x, y)
        ys, xs = np.nonzero(out["mask"][s] == 3)
        (b,) = out["boxes"][s]  # flips, turns and crops keep a box a box: it is the mask's bounding box
        assert b[4] == 3.0 and len(ys)
        np.testing.assert_allclose(b[:4], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1.5)


def test_boxes_outside_are_dropped_or_kept():
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[10, 10, 30, 30], [80, 80, 95, 95]], float)
    crop = [T.CenterCrop(40)]
    out = T.Compose(crop)(image=image, boxes=boxes)
    assert out["boxes"].shape == (0, 4)
    kept = T.Compose(crop, drop_empty_boxes=False)(image=image, boxes=boxes)["boxes"]
    np.testing.assert_array_equal(kept, [[0, 0, 0, 0], [40, 40, 40, 40]])
    inside = T.Compose([T.CenterCrop(80)])(image=image, boxes=boxes)["boxes"]
    np.testing.assert_array_equal(inside, [[0, 0, 20, 20], [70, 70, 80, 80]])


def test_empty_boxes_keep_their_extra_columns():
    """(0, 5) boxes (a label column, no box in this image) stay (0, 5), as do (K, 5) boxes that are all dropped."""
    image = np.zeros((2, 100, 100, 3), np.uint8)
    labelled = np.array([[80, 80, 95, 95, 7]], float)
    out = T.Compose([T.CenterCrop(40)])(image=image, boxes=[np.zeros((0, 5)), labelled])
    assert [b.shape for b in out["boxes"]] == [(0, 5), (0, 5)]
    flipped = T.Compose([T.HorizontalFlip(p=1)])(image=image, boxes=[np.zeros((0, 5)), labelled])["boxes"]
    assert flipped[0].shape == (0, 5)
    np.testing.assert_array_equal(flipped[1], [[5, 80, 20, 95, 7]])


# --- ragged batches ---------------------------------------------------------------------------------------------


def test_a_ragged_batch_is_one_warp_call_also_with_antialiasing(photos, monkeypatch):
    """Photographs of four sizes: one warp over the list; the samples that shrink 2x or more are area-reduced
    first (one ragged resize per factor) and join the same warp; each result equals that image through the
    pipeline alone."""
    calls = []
    for name in ("warp_affine", "warp_perspective", "resize"):
        real = getattr(functional, name)
        monkeypatch.setattr(functional, name, lambda *a, _r=real, _n=name, **k: calls.append(_n) or _r(*a, **k))
    pipe = T.Compose([T.RandomResizedCrop(112, scale=(0.9, 1)), T.Affine(degrees=10, border="reflect101")], seed=1)
    out, prm = pipe(photos, return_params=True)
    # photos of 300-640 px -> 112: all shrink 2x or more, one resize per distinct factor, then the one warp
    assert calls[-1] == "warp_affine" and calls.count("warp_affine") == 1 and 1 <= calls.count("resize") <= 4
    for s, img in enumerate(photos):
        mine = [{k: v[s : s + 1] for k, v in p.items()} for p in prm]
        np.testing.assert_array_equal(out[s], T.Compose(pipe.transforms)(img, params=mine))
    masks = [(p[..., 0] > 128).astype(np.uint8) for p in photos]
    res = pipe(image=photos, mask=masks, params=prm)
    assert res["mask"].shape == (4, 112, 112) and set(np.unique(res["mask"])) <= {0, 1}
    for s, m in enumerate(masks):
        mine = [{k: v[s : s + 1] for k, v in p.items()} for p in prm]
        np.testing.assert_array_equal(res["mask"][s], pipe(image=photos[s], mask=m, params=mine)["mask"])


def test_ragged_batch_equals_per_image_calls(photos):
    pipe = T.Compose([T.Resize(128), T.CenterCrop(112), T.HorizontalFlip(), T.GaussianBlur(3, p=0.5)], seed=0)
    out, prm = pipe(photos, return_params=True)
    assert out.shape == (4, 112, 112, 3)
    for s, img in enumerate(photos):
        mine = [{k: v[s : s + 1] for k, v in p.items()} for p in prm]
        np.testing.assert_array_equal(out[s], T.Compose(pipe.transforms)(img, params=mine))
    with pytest.raises(fa.ArgumentError, match="different sizes"):
        T.Compose([T.Resize(128)])(photos)
    with pytest.raises(fa.ArgumentError, match="needs a dense batch"):
        T.Compose([T.RandomInvert(), T.Resize((64, 64))])(photos)


# --- saved pipelines ----------------------------------------------------------------------------------------------


def test_saved_pipelines_give_identical_results(batch, tmp_path):
    pipe = T.Compose(
        [
            T.RandomResizedCrop(96, scale=(0.3, 1)),
            T.Affine(degrees=10, translate=(0.1, 0.1), shear=(-5, 5, -3, 3), border="reflect"),
            T.RandomThreshold((100, 150), mode="trunc", p=0.3),
            T.Normalize(mean=(0.5, 0.4, 0.3), std=0.2),
        ],
        mask_fill=255,
    )
    d = pipe.to_dict()
    assert d["fastaug_pipeline"] == T.FORMAT_VERSION and json.loads(json.dumps(d)) == d
    paths = [tmp_path / "p.json"]
    try:
        import yaml  # noqa: F401

        paths.append(tmp_path / "p.yaml")
    except ImportError:
        pass
    for path in paths:
        T.save(pipe, path)
        again = T.load(path, seed=5)
        assert again.transforms == pipe.transforms and again.mask_fill == 255
        np.testing.assert_array_equal(again(batch), T.Compose(pipe.transforms, seed=5)(batch))
    assert "RandomResizedCrop(size=(96, 96)" in repr(pipe)
    for name in T.PRESETS:
        out = T.preset(name, seed=0)(batch)
        assert out.shape[0] == 8
    with pytest.raises(fa.ArgumentError, match="format version 99"):
        T.from_dict({**d, "fastaug_pipeline": 99})
    with pytest.raises(fa.ArgumentError, match="unknown transform 'Nope'"):
        T.from_dict({"transforms": [{"name": "Nope"}]})
    with pytest.raises(fa.ArgumentError, match="neither a file nor a preset"):
        T.load("no-such-preset")


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: T.HorizontalFlip(p=1.5), r"HorizontalFlip: p: expected a probability in \[0, 1\], got 1.5"),
        (lambda: T.RandomResizedCrop(224, scale=(0.9, 0.1)), "RandomResizedCrop: scale: expected min <= max"),
        (lambda: T.RandomResizedCrop(0), "size: expected a positive int"),
        (lambda: T.GaussianBlur(5, sigma=(-1, 2)), r"GaussianBlur: sigma: expected a range within \[1e-06"),
        (lambda: T.GaussianBlur(4), "ksize: expected an odd positive int, got 4"),
        (lambda: T.Affine(degrees=10, interp="bicubic"), "Affine: interp: expected one of 'nearest'"),
        (lambda: T.Affine(border="mirror"), "Affine: border: expected one of 'constant'"),
        (lambda: T.Affine(degrees=-5), "degrees: expected a non-negative number"),
        (lambda: T.Normalize(std=(1, 0, 1)), "Normalize: std: expected non-zero"),
        (lambda: T.Compose([T.Normalize(), T.HorizontalFlip()]), "Normalize must be the last"),
        (lambda: T.Compose([T.HorizontalFlip(), "flip"]), r"transforms\[1\]: expected a fastaug transform"),
        (lambda: T.Compose([], mask_fill=float("nan")), r"Compose: mask_fill: expected a finite number, got nan"),
        (lambda: T.Compose([], min_box_area=-1), r"Compose: min_box_area: expected a finite number >= 0, got -1"),
        (lambda: T.Compose([], min_box_area="big"), "Compose: min_box_area: expected a number, got 'big'"),
        (lambda: T.Compose([], antialias="yes"), "Compose: antialias: expected True or False"),
        (
            lambda: T.Compose([T.Pad(4, border="reflect"), T.Affine(degrees=5, border="constant")]),
            "need one border; got transform 0: 'reflect', transform 1: 'constant'",
        ),
    ],
)
def test_bad_arguments_name_the_transform(make, match):
    with pytest.raises((fa.ArgumentError, fa.ArgumentTypeError), match=match):
        make()


def test_bad_calls_are_clear_errors(batch):
    pipe = T.Compose([T.HorizontalFlip()])
    with pytest.raises(fa.ArgumentError, match="either positionally or as image="):
        pipe(batch, image=batch)
    with pytest.raises(fa.ArgumentError, match="expected 1 dicts"):
        pipe(batch, params=[])
    with pytest.raises(fa.ArgumentTypeError, match="expected dtype uint8 or float32"):
        pipe(batch.astype(np.int16))
    with pytest.raises(fa.ArgumentError, match="fits sample 0"):
        T.Compose([T.RandomCrop(500)])(batch)
    with pytest.raises(fa.ArgumentError, match="boxes: expected one array per sample"):
        pipe(image=batch, boxes=[np.zeros((1, 4))])


# --- one image in, several samples out ---------------------------------------------------------------------


def test_tiles_equal_fastaug_tiles_and_fuse_with_what_follows(batch):
    np.testing.assert_array_equal(T.Compose([T.Tiles((100, 128))])(batch), fa.tiles(batch, (100, 128)))
    overlapping = T.Compose([T.Tiles(128, stride=(86, 136)), T.VerticalFlip(p=1)])(batch)
    np.testing.assert_array_equal(overlapping, fa.tiles(batch, 128, (86, 136))[:, ::-1])
    ragged = T.Compose([T.Tiles(100)])([batch[0], batch[1][:250, :310]])
    assert ragged.shape == (12 + 6, 100, 100, 3)  # 3x4 tiles of the first, 2x3 of the second
    np.testing.assert_array_equal(ragged[12:], fa.tiles(batch[1][:250, :310], 100))
    out = T.Compose([T.Tiles(150)])(image=batch[:2], keypoints=[np.array([[160.0, 20.0]]), np.zeros((0, 2))])
    assert len(out["keypoints"]) == 8 and out["keypoints"][1].tolist() == [[10.0, 20.0]]  # tile (0, 1)
    with pytest.raises(fa.ArgumentError, match="Tiles must be the first transform"):
        T.Compose([T.HorizontalFlip(), T.Tiles(10)])
    with pytest.raises(fa.ArgumentError, match="Tiles: size: expected a tile that fits sample 0"):
        T.Compose([T.Tiles(400)])(batch)


def test_copies_give_each_image_k_samples_with_their_own_draws(batch):
    pipe = T.Compose([T.RandomResizedCrop(64), T.HorizontalFlip()], copies=3, seed=1)
    out, prm = pipe(batch[:2], return_params=True)
    assert out.shape == (6, 64, 64, 3) and len(prm[1]["apply"]) == 6
    assert not np.array_equal(out[0], out[1])  # own draws
    per_copy = T.Compose([T.RandomResizedCrop(64), T.HorizontalFlip()])(np.repeat(batch[:2], 3, 0), params=prm)
    np.testing.assert_array_equal(out, per_copy)  # sample i * 3 + k is a view of image i
    pixel_first = T.Compose([T.RandomInvert(p=1), T.CenterCrop(32)], copies=2)(batch[:2])
    np.testing.assert_array_equal(pixel_first, np.repeat(255 - batch[:2, 134:166, 184:216], 2, 0))
    assert T.from_dict(pipe.to_dict()).copies == 3
    with pytest.raises(fa.ArgumentError, match="copies: expected a positive int, got 0"):
        T.Compose([], copies=0)


@pytest.mark.parametrize("steps", EVERY, ids=lambda s: "+".join(type(t).__name__ for t in s))
def test_every_transform_on_torch_tensors_equals_numpy(steps):
    """torch tensors in, torch tensors out, the same bits as NumPy (the code path CUDA tensors take)."""
    torch = pytest.importorskip("torch")
    dense = np.stack([p[:256, :256] for p in augment.make_ragged(8, 1)[0]])
    expected = T.Compose(steps, seed=3)(dense)
    got = T.Compose(steps, seed=3)(torch.from_numpy(dense))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), expected)
