"""fastaug.train.metrics: the Fréchet distance against closed forms and scipy, KID's unbiasedness, the shipped
digits and photos feature nets (load, reproduce their recorded held-out accuracy, retrain deterministically),
FID and KID rising with a corruption's strength, the real-vs-real floor, and the ELBO conversions."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import fastaug as fa  # noqa: E402
from fastaug.train import featurenet  # noqa: E402
from fastaug.train.data import load_dataset  # noqa: E402
from fastaug.train.metrics import (  # noqa: E402
    Features,
    bits_per_dim,
    corrupt,
    elbo_nats,
    feature_stats,
    fid_from_features,
    fid_kid,
    floor,
    frechet_distance,
    kid,
)
from fastaug.train.metrics import _mmd2_unbiased as mmd2  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def features():
    return Features("digits")


@pytest.fixture(scope="module")
def train_features(digits, features):
    return features(digits.train)


# ------------------------------------------------------------------------------------------ Fréchet distance


def test_frechet_identical_statistics_is_zero():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 8))
    s = a.T @ a / 50
    mu = rng.standard_normal(8)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)


def test_frechet_diagonal_closed_form():
    # N(m1, diag(a)) vs N(m2, diag(b)): |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2; zeros included (singular)
    rng = np.random.default_rng(1)
    d = 16
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    a, b = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    a[:3] = 0.0
    want = float(((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(want, rel=1e-10)
    # rotating both covariances by one orthogonal matrix changes nothing
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    got = frechet_distance(q @ m1, q @ np.diag(a) @ q.T, q @ m2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(want, rel=1e-8)


def test_frechet_matches_scipy_sqrtm_on_full_covariances():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(2)
    d = 12
    x, y = rng.standard_normal((40, d)), rng.standard_normal((40, d)) @ rng.standard_normal((d, d))
    (m1, s1), (m2, s2) = feature_stats(x), feature_stats(y)
    covmean = scipy_linalg.sqrtm(s1 @ s2).real
    want = float((m1 - m2) @ (m1 - m2) + np.trace(s1 + s2 - 2 * covmean))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(want, rel=1e-7)


def test_fid_of_gaussian_samples_approaches_the_analytic_value():
    rng = np.random.default_rng(3)
    d, n = 4, 40_000
    m2 = np.array([0.5, -0.5, 0.0, 1.0])
    a, b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([2.0, 1.0, 0.5, 0.25])
    x = rng.standard_normal((n, d)) * np.sqrt(a)
    y = rng.standard_normal((n, d)) * np.sqrt(b) + m2
    want = float(m2 @ m2 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert fid_from_features(x, y) == pytest.approx(want, abs=0.03)


def test_frechet_errors():
    with pytest.raises(fa.ArgumentError, match="sigma2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(fa.ArgumentError, match="mu1"):
        frechet_distance(np.zeros((3, 1)), np.eye(3), np.zeros(3), np.eye(3))
    with pytest.raises(fa.ArgumentError, match="sigma1"):
        frechet_distance(np.zeros(2), np.full((2, 2), np.nan), np.zeros(2), np.eye(2))


# ------------------------------------------------------------------------------------------------------- KID


def test_kid_is_unbiased_for_two_samples_of_one_distribution():
    rng = np.random.default_rng(4)
    d, m, reps = 8, 100, 60
    est, biased = [], []
    for _ in range(reps):
        x, y = rng.standard_normal((m, d)), rng.standard_normal((m, d))
        est.append(mmd2(x, y))
        k = lambda p, q: (p @ q.T / d + 1) ** 3
        biased.append(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())  # the V-statistic keeps i == j
    se = np.std(est) / math.sqrt(reps)
    assert abs(np.mean(est)) < 3 * se
    assert np.mean(biased) > 10 * se  # the test can tell a biased estimate


def test_kid_subsets_capped_by_n_and_seeded():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((50, 4)) + 1.0
    mean, std = kid(x, y, subsets=10, subset_size=1000)
    assert mean > 0.1 and std > 0  # subsets of 30 from 50 differ
    assert kid(x, y, subsets=10, subset_size=1000) == (mean, std)
    assert kid(x, y[:30], subsets=5, subset_size=1000)[1] == pytest.approx(0.0, abs=1e-12)  # every subset is all
    with pytest.raises(fa.ArgumentError, match="subset_size"):
        kid(x, y, subset_size=1)
    with pytest.raises(fa.ArgumentError, match="f2"):
        kid(x, y[:, :3])


# ------------------------------------------------------------------------------------------------- features


def test_shipped_weights_load_and_reproduce_the_recorded_accuracy(digits, features):
    assert featurenet.DIGITS_WEIGHTS.stat().st_size < 1_000_000
    rec = features.record
    assert rec["held_out_images"] == len(digits.held_out) and features.dim == 64
    correct = int((features.logits(digits.held_out).argmax(1) == digits.held_out_labels).sum())
    # another CPU may round differently: one borderline image either way
    assert abs(correct - rec["held_out_correct"]) <= 1
    assert rec["held_out_accuracy"] >= 0.98
    f = features(digits.train)
    assert f.shape == (len(digits.train), 64) and f.dtype == np.float64
    assert np.sqrt((f**2).mean()) == pytest.approx(1.0, rel=1e-3)  # feature_scale: RMS 1 on the train split


@pytest.fixture(scope="module")
def photos():
    pytest.importorskip("skimage")
    return load_dataset("photos")


def test_shipped_photos_weights_load_and_reproduce_the_recorded_accuracy(photos):
    features = Features("photos")
    assert featurenet.weights_path("photos").stat().st_size < 1_000_000
    rec = features.record
    assert rec["held_out_images"] == len(photos.held_out) and rec["input"] == [3, 32, 32] and features.dim == 64
    assert rec["classes"] == list(photos.classes)
    logits = features.logits(photos.held_out)
    assert logits.shape == (len(photos.held_out), 5)
    correct = int((logits.argmax(1) == photos.held_out_labels).sum())
    assert abs(correct - rec["held_out_correct"]) <= 1  # another CPU: one borderline crop either way
    assert rec["held_out_accuracy"] >= 0.85  # held-out crops come from blocks no training crop touches
    f = features(photos.train)
    assert f.shape == (len(photos.train), 64)
    assert np.sqrt((f**2).mean()) == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(fa.ArgumentError, match=r"take \(N, 3, H, W\)"):
        features(photos.held_out[:4, :1])


def test_features_by_channels():
    assert Features.name_for_channels(1) == "digits" and Features.name_for_channels(3) == "photos"
    with pytest.raises(fa.ArgumentError, match=r"channels: .* 1 or 3 channels, got 4"):
        Features.name_for_channels(4)
    with pytest.raises(fa.ArgumentError, match="name: unknown feature network"):
        featurenet.train_feature_net("inception")


@pytest.mark.parametrize("kind", ["noise", "blur"])
def test_photos_fid_rises_with_corruption_strength(photos, kind):
    features = Features("photos")
    reference = features(photos.train)
    levels = (0, 0.2, 0.4, 0.8) if kind == "noise" else (0, 1, 2, 3)
    fids = [fid_kid(reference, corrupt(photos.held_out, kind, s), features, kid_subsets=2).fid for s in levels]
    assert all(a < b for a, b in itertools.pairwise(fids)), fids
    # the floor (held-out blocks vs training blocks: other parts of the photographs) is about 0.8
    assert fids[-1] > 4 * fids[0]


def test_feature_net_retrains_deterministically():
    a, rec_a = featurenet.train_digits_net(epochs=1)
    b, rec_b = featurenet.train_digits_net(epochs=1)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert rec_a["held_out_accuracy"] == rec_b["held_out_accuracy"] > 0.5


def test_features_input_checks(digits, features):
    x = digits.held_out[:8]
    small = torch.nn.functional.interpolate(x, (28, 28), mode="bilinear", antialias=True)
    assert features(small).shape == (8, 64)  # resized to 32x32 first
    assert np.array_equal(features(x.numpy()), features(x))
    with pytest.raises(fa.ArgumentError, match="images"):
        features(x.repeat(1, 3, 1, 1))
    with pytest.raises(fa.ArgumentError, match=r"images: expected finite values in \[-1, 1\]"):
        features((x + 1) * 127.5)
    with pytest.raises(fa.ArgumentTypeError, match="images"):
        features(((x + 1) * 127.5).to(torch.uint8))
    with pytest.raises(fa.ArgumentError, match="name"):
        Features("inception")


# --------------------------------------------------------------------------------------------- FID and KID


def test_a_set_against_itself(train_features):
    s = fid_kid(train_features, train_features, kid_subsets=10, kid_subset_size=len(train_features))
    assert s.fid == pytest.approx(0.0, abs=1e-8)
    # every subset is the whole set: the subsets' KIDs agree up to rounding (BLAS order varies by machine)
    assert s.n_real == s.n_fake == s.kid_subset_size == len(train_features) and s.kid_std < 1e-12
    # identical sets: the cross-set mean keeps the n pairs (x_i, x_i), so the estimate is
    # -2 / (n - 1) * (mean k(x, x) - mean k(x, y)), about -0.004 here, ~0 next to what corruption gives (> 0.02)
    f, n = train_features, len(train_features)
    k = (f @ f.T / f.shape[1] + 1) ** 3
    assert s.kid_mean == pytest.approx(-2 / (n - 1) * (np.trace(k) / n - k.mean()), rel=1e-9)
    assert abs(s.kid_mean) < 0.01


@pytest.mark.parametrize(("kind", "levels"), [("noise", (0, 0.4, 0.8, 1.2)), ("blur", (0, 1, 2, 3))])
def test_fid_and_kid_rise_with_corruption_strength(digits, features, train_features, kind, levels):
    scores = [
        fid_kid(train_features, corrupt(digits.held_out, kind, s), features, kid_subsets=20, kid_subset_size=300)
        for s in levels
    ]
    fids, kids = [s.fid for s in scores], [s.kid_mean for s in scores]
    assert all(a < b for a, b in itertools.pairwise(fids)), fids
    assert all(a < b for a, b in itertools.pairwise(kids)), kids
    assert fids[-1] > 5 * fids[0]


def test_floor_and_images_vs_features(digits, features, train_features):
    held = features(digits.held_out)
    base = floor(train_features, digits.held_out, features, kid_subsets=20)
    assert base.n_fake == len(digits.held_out) and base.n_real == len(digits.train)
    assert 0 < base.fid < 1.0 and abs(base.kid_mean) < 3 * base.kid_std  # real vs real: KID ~ 0 within its spread
    same = fid_kid(train_features, held, features, kid_subsets=20)
    assert same == base  # images or their features: one result
    small = floor(train_features, held, features, n=100, kid_subsets=20)
    assert small.n_fake == 100 and small.fid > base.fid  # FID's small-sample bias: report n
    with pytest.raises(fa.ArgumentError, match="n:"):
        floor(train_features, held, features, n=len(held) + 1)
    with pytest.raises(fa.ArgumentError, match="fake"):
        fid_kid(train_features, held[:, :10], features)
    with pytest.raises(fa.ArgumentError, match="real"):
        fid_kid(train_features[0], held, features)


def test_corrupt(digits):
    x = digits.held_out[:4]
    assert corrupt(x, "blur", 0) is x
    blurred = corrupt(x, "blur", 1.0)
    assert blurred.shape == x.shape and float(blurred.std()) < float(x.std())
    assert torch.equal(corrupt(x, "noise", 0.3, seed=1), corrupt(x, "noise", 0.3, seed=1))
    with pytest.raises(fa.ArgumentError, match="kind"):
        corrupt(x, "jpeg", 1.0)
    with pytest.raises(fa.ArgumentError, match="strength"):
        corrupt(x, "noise", -1.0)


# ------------------------------------------------------------------------------------------------------ ELBO


def test_elbo_and_bits_per_dim():
    dims = 3 * 32 * 32
    uniform = -dims * math.log(256)  # log p of a uniform distribution over 256 levels per dimension
    assert bits_per_dim(uniform, dims) == pytest.approx(8.0)
    assert isinstance(bits_per_dim(uniform, dims), float)
    # a continuous uniform density on [-1, 1] (1/2 per dimension), bins of 2/256: the same discrete bound
    log_density = np.full((5, 3, 32, 32), -math.log(2.0))
    elbo = elbo_nats(log_density, np.zeros(5), bin_width=2 / 256)
    assert elbo.shape == (5,) and np.allclose(elbo, uniform)
    assert np.allclose(bits_per_dim(elbo, dims), 8.0)
    # per-image sums with dims given; KL subtracted; a scalar KL broadcasts
    summed = elbo_nats(log_density.reshape(5, -1).sum(1), 10.0, dims=dims, bin_width=2 / 256)
    assert np.allclose(summed, uniform - 10.0)
    assert np.allclose(elbo_nats([-50.0, -60.0], [5.0, 6.0]), [-55.0, -66.0])  # a Bernoulli decoder: no offset
    with pytest.raises(fa.ArgumentError, match="dims"):
        elbo_nats([-1.0], [0.0], bin_width=0.1)
    with pytest.raises(fa.ArgumentError, match="kl"):
        elbo_nats([-1.0, -2.0], [0.0, 1.0, 2.0])
    with pytest.raises(fa.ArgumentError, match="dims"):
        bits_per_dim(-1.0, 0)


def test_import_fastaug_does_not_import_train():
    code = "import sys, fastaug; assert not any(m.startswith('fastaug.train') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
