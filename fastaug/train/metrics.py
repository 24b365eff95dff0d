"""Offline metrics for the generative trainers: FID and KID through a feature extractor shipped with the
package, and the VAE's ELBO conversions.

What these FIDs mean. The features are the penultimate layer (64 units, before its ReLU) of a small CNN
trained on a dataset's training split (fastaug.train.featurenet: "digits" for 1-channel images, "photos"
for 3-channel ones; the held-out accuracy is in `Features(name).record`), not Inception-v3's pool3 on
ImageNet: the numbers compare runs of this package with each other, never with the Inception-FID values of
papers. FID is biased by the sample count, so always report n with it and the real-vs-real floor at the same
n (`floor`: held-out images against the same reference set), e.g.

    data = load_dataset("digits")
    features = Features("digits")
    base = floor(data.train, data.held_out, features)             # n = the held-out size
    score = fid_kid(data.train, fakes[: base.n_fake], features)   # the same reference, the same n

Definitions (clean-fid, torch-fidelity): FID = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) of the features'
means and covariances (ddof 1), in float64, Tr (S1 S2)^(1/2) from the eigenvalues of S1^(1/2) S2 S1^(1/2)
(symmetric positive semi-definite: exact where scipy.linalg.sqrtm needs its eps fix); KID = the unbiased
MMD^2 estimate with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, its mean and standard deviation
over `subsets` random subsets of `subset_size` (capped by the smaller sample) drawn without replacement."""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import ArgumentError, ArgumentTypeError

if TYPE_CHECKING:
    import torch

FEATURES = ("digits", "photos")


# ----------------------------------------------------------------------------------------------- FID and KID


def _matrix(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ArgumentError(f"{name}: expected shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ArgumentError(f"{name}: expected finite values")
    return arr


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative rounding eigenvalues
    clipped to 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """The Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2) (FID of two feature
    statistics): |mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), in float64.

    Tr (sigma1 sigma2)^(1/2) = sum of sqrt(eigenvalues of sigma1^(1/2) sigma2 sigma1^(1/2)), a symmetric PSD
    matrix with the same eigenvalues as sigma1 sigma2, so singular covariances (n <= d, dead units) need no
    eps offset. The result is clipped at 0 (rounding can leave -1e-12)."""
    m1 = np.asarray(mu1, dtype=np.float64)
    if m1.ndim != 1 or m1.size == 0:
        raise ArgumentError(f"mu1: expected a vector (d,), got shape {m1.shape}")
    d = m1.shape[0]
    m1 = _matrix("mu1", m1, (d,))
    m2 = _matrix("mu2", mu2, (d,))
    s1 = _matrix("sigma1", sigma1, (d, d))
    s2 = _matrix("sigma2", sigma2, (d, d))
    r = _sqrt_psd(s1)
    m = r @ ((s2 + s2.T) / 2) @ r
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())
    diff = m1 - m2
    return max(float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt), 0.0)


def _features_2d(name: str, f: Any, low: int = 2) -> np.ndarray:
    arr = np.asarray(f, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < low or arr.shape[1] < 1:
        raise ArgumentError(f"{name}: expected features (n, d) with n >= {low}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ArgumentError(f"{name}: expected finite features")
    return arr


def feature_stats(f: Any) -> tuple[np.ndarray, np.ndarray]:
    """The mean (d,) and covariance (d, d) (ddof 1, as clean-fid and pytorch-fid) of features (n, d), float64."""
    arr = _features_2d("features", f)
    return arr.mean(axis=0), np.atleast_2d(np.cov(arr, rowvar=False))


def fid_from_features(f1: Any, f2: Any) -> float:
    """FID between two feature sets (n1, d) and (n2, d)."""
    a, b = _features_2d("f1", f1), _features_2d("f2", f2)
    if a.shape[1] != b.shape[1]:
        raise ArgumentError(f"f2: expected {a.shape[1]} features per row like f1, got {b.shape[1]}")
    return frechet_distance(*feature_stats(a), *feature_stats(b))


def _kernel_sums(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The sum of k(x_i, y_j) = (x_i.y_j / d + 1)^3 over all pairs, and over the pairs i == j (the trace)."""
    g = x @ y.T
    g *= 1.0 / x.shape[1]
    g += 1.0
    k = g * g
    k *= g
    return float(k.sum()), float(np.trace(k))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size samples (m, d) with k(x, y) = (x.y / d + 1)^3: the within-set means
    leave the i == j terms out; the cross-set mean keeps them (x and y are independent)."""
    m = len(x)
    sxx, txx = _kernel_sums(x, x)
    syy, tyy = _kernel_sums(y, y)
    sxy, _ = _kernel_sums(x, y)
    return (sxx - txx + syy - tyy) / (m * (m - 1)) - 2.0 * sxy / (m * m)


def kid(f1: Any, f2: Any, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID of two feature sets (n1, d), (n2, d): the mean and standard deviation (ddof 0, as torch-fidelity)
    of the unbiased MMD^2 with the kernel (x.y / d + 1)^3 over `subsets` subsets of min(subset_size, n1, n2)
    rows of each set, drawn without replacement from numpy's Generator(seed). Near 0 (either sign) for two
    samples of one distribution."""
    a, b = _features_2d("f1", f1), _features_2d("f2", f2)
    if a.shape[1] != b.shape[1]:
        raise ArgumentError(f"f2: expected {a.shape[1]} features per row like f1, got {b.shape[1]}")
    for name, v in (("subsets", subsets), ("subset_size", subset_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ArgumentTypeError(f"{name}: expected an int, got {type(v).__name__}")
    if subsets < 1 or subset_size < 2:
        raise ArgumentError(f"subsets, subset_size: expected >= 1 and >= 2, got {subsets} and {subset_size}")
    m = min(int(subset_size), len(a), len(b))
    rng = np.random.default_rng(seed)
    values = np.empty(int(subsets))
    for i in range(int(subsets)):
        values[i] = _mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
    return float(values.mean()), float(values.std())


# ------------------------------------------------------------------------------------------------- features


class Features:
    """The shipped feature extractor `name` (fastaug.train.featurenet.FeatureNet, 64 features): "digits" for
    1-channel images (trained on the digits), "photos" for 3-channel images (trained to tell apart the five
    photographs of the `photos` dataset); its `record` holds the held-out accuracy and how it was trained.
    Calling it on images (N, C, H, W) in [-1, 1] (a torch tensor or a numpy array) returns their
    penultimate-layer features (before the ReLU, times the record's feature_scale: RMS 1 on the training
    split) as a float64 numpy array (N, 64); images of another size are first resized to 32x32 (bilinear,
    antialiased). `device`: where the network runs (default: the CPU). `Features.name_for_channels(c)` names
    the extractor for c-channel images."""

    def __init__(self, name: str = "digits", device: Any = None, batch_size: int = 500) -> None:
        if name not in FEATURES:
            raise ArgumentError(f"name: unknown feature extractor {name!r}, expected one of {FEATURES}")
        import torch

        from .featurenet import INPUT_SIZE, load_weights, weights_path

        self.name = name
        self.device = torch.device("cpu" if device is None else device)
        self.batch_size = int(batch_size)
        model, self.record = load_weights(weights_path(name))
        self.model = model.to(self.device)
        self.dim = int(self.record["feature_dim"])
        self.channels = int(self.record["input"][0])
        self.size = INPUT_SIZE
        self.scale = float(self.record.get("feature_scale", 1.0))

    @staticmethod
    def name_for_channels(channels: int) -> str:
        """The shipped extractor for `channels`-channel images: "digits" (1) or "photos" (3)."""
        names = {1: "digits", 3: "photos"}
        if channels not in names:
            raise ArgumentError(f"channels: the shipped feature extractors take 1 or 3 channels, got {channels}")
        return names[channels]

    def __repr__(self) -> str:
        acc = self.record.get("held_out_accuracy")
        return f"Features({self.name!r}, dim={self.dim}, held-out accuracy {acc:.4f}, device={self.device})"

    def _batches(self, images: Any) -> Any:
        import torch
        from torch.nn import functional as F

        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        if not isinstance(images, torch.Tensor):
            raise ArgumentTypeError(f"images: expected a torch tensor or numpy array, got {type(images).__name__}")
        if not images.is_floating_point():
            raise ArgumentTypeError(f"images: expected float images in [-1, 1], got dtype {images.dtype}")
        if images.ndim != 4 or images.shape[1] != self.channels or images.shape[0] < 1:
            raise ArgumentError(
                f"images: the {self.name!r} features take (N, {self.channels}, H, W) images, got shape "
                f"{tuple(images.shape)}"
            )
        lo, hi = float(images.min()), float(images.max())
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -1.5 or hi > 1.5:
            raise ArgumentError(f"images: expected finite values in [-1, 1], got [{lo:g}, {hi:g}]")
        for i in range(0, len(images), self.batch_size):
            x = images[i : i + self.batch_size].to(self.device, torch.float32)
            if x.shape[-2:] != (self.size, self.size):
                x = F.interpolate(x, (self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            yield x

    def __call__(self, images: Any) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = [self.model.features(x).cpu().double() for x in self._batches(images)]
        return torch.cat(out).numpy() * self.scale

    def logits(self, images: Any) -> torch.Tensor:
        """The classifier's logits (N, classes) on the CPU."""
        import torch

        with torch.no_grad():
            return torch.cat([self.model(x).cpu() for x in self._batches(images)])


@functools.lru_cache(maxsize=4)
def _default_features(name: str) -> Features:
    return Features(name)


@dataclass(frozen=True)
class Scores:
    """FID and KID (mean, std over subsets) of a fake (or held-out) set against a reference set; n_real and
    n_fake are the sample counts (report them: FID depends on them); kid_subset_size the rows per KID subset."""

    fid: float
    kid_mean: float
    kid_std: float
    n_real: int
    n_fake: int
    kid_subset_size: int
    features: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_features(name: str, x: Any, features: Features) -> np.ndarray:
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) == 2:  # precomputed features
        return _features_2d(name, x)
    if shape is None or len(shape) != 4:
        raise ArgumentError(f"{name}: expected images (N, C, H, W) or features (N, d), got shape {shape}")
    return features(x)


def fid_kid(
    real: Any,
    fake: Any,
    features: Features | str = "digits",
    *,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> Scores:
    """FID and KID of `fake` against `real`: each images (N, C, H, W) in [-1, 1] (passed through `features`)
    or already their features (N, d). See the module docstring for what the numbers can be compared with."""
    feat = _default_features(features) if isinstance(features, str) else features
    fr, ff = _as_features("real", real, feat), _as_features("fake", fake, feat)
    if fr.shape[1] != ff.shape[1]:
        raise ArgumentError(f"fake: expected {fr.shape[1]} features per row like real, got {ff.shape[1]}")
    kid_mean, kid_std = kid(fr, ff, kid_subsets, kid_subset_size, seed)
    return Scores(
        fid=fid_from_features(fr, ff),
        kid_mean=kid_mean,
        kid_std=kid_std,
        n_real=len(fr),
        n_fake=len(ff),
        kid_subset_size=min(kid_subset_size, len(fr), len(ff)),
        features=feat.name,
    )


def floor(
    real: Any,
    held_out: Any,
    features: Features | str = "digits",
    n: int | None = None,
    *,
    seed: int = 0,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
) -> Scores:
    """The real-vs-real floor: FID and KID of n held-out images (a seeded subset; default all of them)
    against `real`, the reference set a model's samples are scored against. A model's
    fid_kid(real, fakes[:n]) is read against this value at the same n and the same reference, never
    against 0. n cannot exceed the held-out size."""
    feat = _default_features(features) if isinstance(features, str) else features
    fh = _as_features("held_out", held_out, feat)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ArgumentTypeError(f"n: expected an int or None, got {type(n).__name__}")
        if not 2 <= n <= len(fh):
            raise ArgumentError(f"n: expected 2 <= n <= {len(fh)} (the held-out images), got {n}")
        fh = fh[np.sort(np.random.default_rng(seed).choice(len(fh), int(n), replace=False))]
    return fid_kid(real, fh, feat, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed)


CORRUPTIONS = ("noise", "blur")


def corrupt(images: torch.Tensor, kind: str, strength: float, seed: int = 0) -> torch.Tensor:
    """A corruption of (N, C, H, W) images in [-1, 1], for checking that a metric grows with its strength:
    "noise" adds Gaussian noise of standard deviation `strength` (torch.Generator(seed); clamped to [-1, 1]),
    "blur" is fastaug.gaussian_blur with sigma = `strength` (kernel 2 ceil(3 sigma) + 1, reflect101). Strength
    0 returns the images."""
    import torch

    if kind not in CORRUPTIONS:
        raise ArgumentError(f"kind: unknown corruption {kind!r}, expected one of {CORRUPTIONS}")
    if not strength >= 0:
        raise ArgumentError(f"strength: expected a number >= 0, got {strength!r}")
    if strength == 0:
        return images
    if kind == "noise":
        g = torch.Generator().manual_seed(seed)
        return (images + strength * torch.randn(images.shape, generator=g).to(images.device)).clamp(-1, 1)
    import fastaug as fa

    k = 2 * math.ceil(3 * strength) + 1
    nhwc = images.permute(0, 2, 3, 1).contiguous()
    out = torch.as_tensor(fa.gaussian_blur(nhwc, (k, k), strength)).reshape(nhwc.shape)
    return out.permute(0, 3, 1, 2).contiguous()


# ------------------------------------------------------------------------------------------------------ ELBO


def elbo_nats(log_px_z: Any, kl: Any, *, dims: int | None = None, bin_width: float | None = None) -> np.ndarray:
    """Per-image ELBO in nats, E_q[log p(x|z)] - KL(q(z|x) || p(z)), float64 (N,).

    - log_px_z: the decoder's log-likelihood per image (N,), or per dimension (N, ...) (summed over all but
      the first axis; `dims` then defaults to that count).
    - kl: the KL term per image (N,) (or a scalar for every image).
    - bin_width: None for a discrete decoder (Bernoulli, categorical), whose log-likelihood is already a log
      probability. For a continuous decoder density (Gaussian) on quantised data, the width of one level in
      the data's scale (8-bit images mapped to [-1, 1] by x / 127.5 - 1: 2 / 255; to [0, 1] by x / 255:
      1 / 255): adds dims * log(bin_width), turning the density into a bound on the discrete images' log
      probability (uniform dequantisation), so ELBOs of continuous and discrete decoders compare."""
    lp = np.asarray(log_px_z, dtype=np.float64)
    if lp.ndim == 0:
        raise ArgumentError("log_px_z: expected one value per image (N,) or (N, ...), got a scalar")
    if lp.ndim > 1:
        per_dim = int(np.prod(lp.shape[1:]))
        if dims is not None and dims != per_dim:
            raise ArgumentError(f"dims: {dims} does not match log_px_z's {per_dim} values per image")
        dims = per_dim
        lp = lp.reshape(len(lp), -1).sum(axis=1)
    k = np.broadcast_to(np.asarray(kl, dtype=np.float64), lp.shape) if np.ndim(kl) == 0 else np.asarray(kl, float)
    if k.shape != lp.shape:
        raise ArgumentError(f"kl: expected one value per image {lp.shape}, got shape {k.shape}")
    elbo = lp - k
    if bin_width is not None:
        if not (isinstance(bin_width, (int, float, np.floating)) and 0 < bin_width < math.inf):
            raise ArgumentError(f"bin_width: expected a positive number or None, got {bin_width!r}")
        if dims is None:
            raise ArgumentError("dims: needed with bin_width when log_px_z is already summed per image")
        elbo = elbo + dims * math.log(bin_width)
    return elbo


def bits_per_dim(nats: Any, dims: int) -> Any:
    """Bits per dimension of a log-likelihood (or ELBO) `nats` per image (log p, <= 0 for discrete data):
    -nats / (dims * ln 2), the bound on -log2 p per dimension (8 for a uniform distribution over 256 levels).
    Works on floats and arrays."""
    if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)) or dims < 1:
        raise ArgumentError(f"dims: expected a positive int, got {dims!r}")
    out = -np.asarray(nats, dtype=np.float64) / (dims * math.log(2.0))
    return float(out) if out.ndim == 0 else out
