"""Pixel transforms: each draws per-sample parameters and runs one fastaug operator on the samples drawn
(only those: a sample whose draw is off is neither read nor written). Masks, boxes and keypoints are left
as they are."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import functional as F
from .._interop import asarray_like
from .._types import ThresholdMode
from .base import Params, Transform, choice, number, probability, uniform, value_range


class Pixel(Transform):
    """A transform that changes pixel values, not where they are."""

    #: when run() writes into `images` (Compose then hands it a buffer of its own): "partial" when some but
    #: not all samples are drawn (on_drawn), "always" when any is, "never" (it returns a new batch)
    writes: ClassVar[str] = "partial"

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n)}

    def run(self, images: Any, params: Params) -> Any:
        """The images with this transform applied to the drawn samples (`images` is the pipeline's own
        buffer: writing into it is allowed)."""
        raise NotImplementedError


def copy_of(x: Any) -> Any:
    """A copy of a numpy / CuPy array or a torch tensor."""
    return x.clone() if hasattr(x, "clone") else x.copy()


def on_drawn(images: Any, apply: np.ndarray, op: Any) -> Any:
    """op(samples, index) on the samples drawn: the whole batch in one call when every sample is drawn
    (index None), else a gathered sub-batch written back in place."""
    if apply.all():
        return op(images, None)
    if apply.any():
        index = np.flatnonzero(apply)
        images[index] = op(images[index], index)
    return images


def _ksize(t: Transform, value: Any) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1 or value % 2 == 0:
        raise t.error("ksize", value, "an odd positive int")
    return int(value)


class RandomInvert(Pixel):
    """255 - x (uint8) or 1 - x (float32) for the samples drawn (torchvision's RandomInvert)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = probability(self, p)

    def run(self, images: Any, params: Params) -> Any:
        return on_drawn(images, params["apply"], lambda x, i: F.invert(x))


class RandomEqualize(Pixel):
    """Histogram equalisation of each drawn sample, per channel (cv2.equalizeHist; torchvision's
    RandomEqualize)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = probability(self, p)

    def run(self, images: Any, params: Params) -> Any:
        return on_drawn(images, params["apply"], lambda x, i: F.equalize(x))


class RandomGrayscale(Pixel):
    """Replaces the colour channels of the drawn samples by their luma (cv2.COLOR_RGB2GRAY weights; the
    channel count is kept, alpha untouched), as torchvision's RandomGrayscale."""

    def __init__(self, p: float = 0.1) -> None:
        self.p = probability(self, p)

    def run(self, images: Any, params: Params) -> Any:
        if images.shape[-1] == 1:
            return images

        def op(x: Any, i: Any) -> Any:
            out = copy_of(x)
            out[..., :3] = F.to_gray(x)  # (k, H, W, 1), broadcast over R, G, B
            return out

        return on_drawn(images, params["apply"], op)


class RandomThreshold(Pixel):
    """Binarisation (cv2.threshold) with a per-sample threshold drawn uniformly from `thresh`."""

    fields = ("thresh", "maxval", "mode", "p")

    def __init__(
        self, thresh: tuple[float, float] = (96, 160), maxval: float = 255, mode: str = "binary", p: float = 0.5
    ) -> None:
        self.thresh = value_range(self, "thresh", thresh)
        self.maxval = number(self, "maxval", maxval)
        self.mode = choice(self, "mode", mode, [m.name.lower() for m in ThresholdMode])
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "thresh": uniform(rng, self.thresh, n)}

    def run(self, images: Any, params: Params) -> Any:
        def op(x: Any, i: Any) -> Any:
            return F.threshold(x, params["thresh"] if i is None else params["thresh"][i], self.maxval, self.mode)

        return on_drawn(images, params["apply"], op)


class GaussianBlur(Pixel):
    """cv2.GaussianBlur with a ksize x ksize kernel and a per-sample sigma uniform in `sigma`
    (torchvision's GaussianBlur(kernel_size, sigma=(0.1, 2.0)))."""

    fields = ("ksize", "sigma", "p")

    def __init__(self, ksize: int = 5, sigma: tuple[float, float] = (0.1, 2.0), p: float = 0.5) -> None:
        self.ksize = _ksize(self, ksize)
        self.sigma = value_range(self, "sigma", sigma, 1e-6)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "sigma": uniform(rng, self.sigma, n)}

    def run(self, images: Any, params: Params) -> Any:
        def op(x: Any, i: Any) -> Any:
            return F.gaussian_blur(x, self.ksize, params["sigma"] if i is None else params["sigma"][i])

        return on_drawn(images, params["apply"], op)


class BoxBlur(Pixel):
    """cv2.blur with a ksize x ksize box on the drawn samples."""

    fields = ("ksize", "p")

    def __init__(self, ksize: int = 3, p: float = 0.5) -> None:
        self.ksize = _ksize(self, ksize)
        self.p = probability(self, p)

    def run(self, images: Any, params: Params) -> Any:
        return on_drawn(images, params["apply"], lambda x, i: F.box_blur(x, self.ksize))


class MedianBlur(Pixel):
    """cv2.medianBlur (ksize 3, 5 or 7) on the drawn samples."""

    fields = ("ksize", "p")

    def __init__(self, ksize: int = 3, p: float = 0.5) -> None:
        self.ksize = _ksize(self, ksize)
        if self.ksize not in (3, 5, 7):
            raise self.error("ksize", ksize, "3, 5 or 7")
        self.p = probability(self, p)

    def run(self, images: Any, params: Params) -> Any:
        return on_drawn(images, params["apply"], lambda x, i: F.median_blur(x, self.ksize))


class Sharpen(Pixel):
    """Unsharp-style sharpening: the 3x3 kernel (1 - a) * identity + a * [[0,-1,0],[-1,5,-1],[0,-1,0]] with a
    per-sample strength a uniform in `alpha` (cv2.filter2D, reflect-101 border)."""

    fields = ("alpha", "p")

    def __init__(self, alpha: tuple[float, float] = (0.2, 0.5), p: float = 0.5) -> None:
        self.alpha = value_range(self, "alpha", alpha, 0.0, 1.0)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "alpha": uniform(rng, self.alpha, n)}

    @staticmethod
    def kernels(alpha: np.ndarray) -> np.ndarray:
        k = np.zeros((len(alpha), 3, 3), np.float32)
        k[:, 1, 1] = 1 + 4 * alpha
        k[:, 0, 1] = k[:, 1, 0] = k[:, 1, 2] = k[:, 2, 1] = -alpha
        return k

    def run(self, images: Any, params: Params) -> Any:
        def op(x: Any, i: Any) -> Any:
            return F.filter2d(x, self.kernels(params["alpha"] if i is None else params["alpha"][i]))

        return on_drawn(images, params["apply"], op)


class Normalize(Pixel):
    """The training tensor: (x / max_pixel_value - mean) / std as float32 (or float16, or bfloat16 for torch
    tensors), NCHW (default) or NHWC, in one pass (fastaug.normalize; albumentations' Normalize, torchvision's
    ToTensor + Normalize + ToDtype). Always the last transform of a pipeline."""

    fields = ("mean", "std", "layout", "max_pixel_value", "dtype")

    def __init__(
        self,
        mean: Any = (0.485, 0.456, 0.406),
        std: Any = (0.229, 0.224, 0.225),
        layout: str = "NCHW",
        max_pixel_value: float | None = None,
        dtype: str = "float32",
    ) -> None:
        self.mean = tuple(float(v) for v in np.ravel(mean))
        self.std = tuple(float(v) for v in np.ravel(std))
        if not self.std or any(v == 0 or not np.isfinite(v) for v in self.std):
            raise self.error("std", std, "non-zero finite values")
        self.layout = choice(self, "layout", layout, ("NCHW", "NHWC"))
        self.max_pixel_value = None if max_pixel_value is None else number(self, "max_pixel_value", max_pixel_value)
        self.dtype = choice(self, "dtype", dtype, ("float32", "float16", "bfloat16"))

    def run(self, images: Any, params: Params, out: Any = None, matrix: Any = None) -> Any:
        """matrix: per-sample colour matrices applied first in the same pass (Compose's fusion of a ColorJitter
        right before this transform)."""
        c = images.shape[-1]
        mean = self.mean if len(self.mean) != 1 else self.mean * c
        std = self.std if len(self.std) != 1 else self.std * c
        kw = {} if matrix is None else {"matrix": matrix}
        return F.normalize(
            images, mean, std, self.layout, self.dtype, max_pixel_value=self.max_pixel_value, out=out, **kw
        )


def _as_dtype(y: Any, like: Any) -> Any:
    """y rounded (for uint8) and cast to like's dtype, in any framework."""
    if str(like.dtype).endswith("uint8"):
        y = y.round().clip(0, 255)
    return y.to(like.dtype) if hasattr(y, "to") else y.astype(like.dtype)


def _max_value(x: Any) -> float:
    return 255.0 if str(x.dtype).endswith("uint8") else 1.0


def per_sample_like(values: np.ndarray, like: Any) -> Any:
    """(N,) per-sample values as float32 (N, 1, 1, 1) in like's framework, to broadcast over its batch."""
    return asarray_like(np.asarray(values, np.float32)[:, None, None, None], like)


class EdgeDetect(Pixel):
    """Edge emphasis: the Sobel magnitude of the luma (fastaug.edges: saturate(sqrt(gx^2 + gy^2)), 3x3,
    reflect-101), blended in with a per-sample weight alpha: (1 - alpha) * x + alpha * edges on every colour
    channel (alpha = 1: the edge map itself; albumentations' Emboss / imgaug's EdgeDetect). uint8 only."""

    fields = ("alpha", "p")

    def __init__(self, alpha: Any = (0.2, 0.5), p: float = 0.5) -> None:
        self.alpha = value_range(self, "alpha", alpha, 0.0, 1.0)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "alpha": uniform(rng, self.alpha, n)}

    def run(self, images: Any, params: Params) -> Any:
        if not str(images.dtype).endswith("uint8"):
            raise self.error("images", str(images.dtype), "uint8 images")

        def op(x: Any, i: Any) -> Any:
            a = per_sample_like(params["alpha"] if i is None else params["alpha"][i], x)
            edges = F.edges(F.to_gray(x) if x.shape[-1] > 1 else x)
            out = copy_of(x)
            out[..., :3] = _as_dtype(x[..., :3] * (1 - a) + edges * a, x)
            return out

        return on_drawn(images, params["apply"], op)


class GaussianNoise(Pixel):
    """Adds N(0, std^2) noise per value, std uniform per sample in `std` (as a fraction of the value range:
    255 for uint8, 1 for float32; albumentations' GaussNoise std_range, torchvision's GaussianNoise sigma),
    then rounds and clamps (uint8) or clamps to [0, 1] (float32, clip=True). The noise comes from a per-sample
    seed drawn with the pipeline's generator (numpy's PCG64), so params replay it exactly."""

    fields = ("std", "p")

    def __init__(self, std: Any = (0.01, 0.05), p: float = 0.5) -> None:
        self.std = value_range(self, "std", std, 0.0, 1.0)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        apply = self.gate(rng, n)
        return {"apply": apply, "std": uniform(rng, self.std, n), "seed": rng.integers(0, 2**63, n)}

    def run(self, images: Any, params: Params) -> Any:
        def op(x: Any, i: Any) -> Any:
            index = np.arange(len(params["std"])) if i is None else i
            shape = tuple(x.shape[1:])
            noise = np.stack(
                [
                    np.random.default_rng(int(params["seed"][k])).standard_normal(shape, np.float32)
                    * np.float32(params["std"][k] * _max_value(x))
                    for k in index
                ]
            )
            y = x + asarray_like(noise, x)
            return _as_dtype(y if str(x.dtype).endswith("uint8") else y.clip(0, 1), x)

        return on_drawn(images, params["apply"], op)


def _fill_boxes(images: Any, boxes: np.ndarray, apply: np.ndarray, value: float) -> Any:
    """Fills box (top, left, bottom, right) of every drawn sample with value (writes into images)."""
    for k in np.flatnonzero(apply):
        t, left, b, r = (int(v) for v in boxes[k])
        images[k, t:b, left:r] = value
    return images


class RandomErasing(Pixel):
    """torchvision's RandomErasing: a rectangle of area fraction U(scale) and aspect ratio log-uniform in
    `ratio` (up to 10 tries to fit it; no erasing if none fits), placed uniformly, filled with `value` (in the
    image's units). Boxes, masks and keypoints are left as they are."""

    fields = ("scale", "ratio", "value", "p")
    writes = "always"

    def __init__(self, scale: Any = (0.02, 0.33), ratio: Any = (0.3, 3.3), value: float = 0.0, p: float = 0.5) -> None:
        self.scale = value_range(self, "scale", scale, 0.0, 1.0)
        self.ratio = value_range(self, "ratio", ratio, 1e-6)
        self.value = number(self, "value", value)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "tries": rng.random((n, 10, 4))}

    def boxes(self, tries: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) boxes (top, left, bottom, right) and whether each sample found one, from the uniforms."""
        area = h * w * (self.scale[0] + tries[..., 0] * (self.scale[1] - self.scale[0]))
        lo, hi = np.log(self.ratio)
        aspect = np.exp(lo + tries[..., 1] * (hi - lo))
        eh = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        ew = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        fits = (eh < h) & (ew < w) & (eh > 0) & (ew > 0)
        first = fits.argmax(axis=1)
        rows = np.arange(len(tries))
        eh, ew, u = eh[rows, first], ew[rows, first], tries[rows, first]
        top = np.floor(u[:, 2] * (h - eh + 1)).astype(np.int64)
        left = np.floor(u[:, 3] * (w - ew + 1)).astype(np.int64)
        return np.stack([top, left, top + eh, left + ew], axis=1), fits.any(axis=1)

    def run(self, images: Any, params: Params) -> Any:
        boxes, found = self.boxes(params["tries"], int(images.shape[1]), int(images.shape[2]))
        return _fill_boxes(images, boxes, params["apply"] & found, self.value)


class Cutout(Pixel):
    """DiffAugment's cutout: a rectangle of size (round(size * H), round(size * W)) centred at a uniformly
    drawn pixel (it may cross the edge and is clipped there), filled with `value`."""

    fields = ("size", "value", "p")
    writes = "always"

    def __init__(self, size: float = 0.5, value: float = 0.0, p: float = 1.0) -> None:
        self.size = number(self, "size", size, 0.0, 1.0)
        self.value = number(self, "value", value)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "centre": rng.random((n, 2))}

    def run(self, images: Any, params: Params) -> Any:
        h, w = int(images.shape[1]), int(images.shape[2])
        ch, cw = int(h * self.size + 0.5), int(w * self.size + 0.5)
        cy = np.floor(params["centre"][:, 0] * (h + 1 - ch % 2)).astype(np.int64) - ch // 2
        cx = np.floor(params["centre"][:, 1] * (w + 1 - cw % 2)).astype(np.int64) - cw // 2
        boxes = np.stack([cy, cx, cy + ch, cx + cw], axis=1).clip(0, [h, w, h, w])
        return _fill_boxes(images, boxes, params["apply"], self.value)


PIXEL = (
    RandomInvert,
    RandomEqualize,
    RandomGrayscale,
    RandomThreshold,
    GaussianBlur,
    BoxBlur,
    MedianBlur,
    Sharpen,
    EdgeDetect,
    GaussianNoise,
    RandomErasing,
    Cutout,
    Normalize,
)
