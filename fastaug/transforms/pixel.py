"""Pixel transforms: each draws per-sample parameters and runs one fastaug operator on the samples drawn
(only those: a sample whose draw is off is neither read nor written). Masks, boxes and keypoints are left
as they are."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from .._types import ThresholdMode
from .base import Params, Transform, choice, number, probability, uniform, value_range


class Pixel(Transform):
    """A transform that changes pixel values, not where they are."""

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
    """The training tensor: (x / max_pixel_value - mean) / std as float32, NCHW (default) or NHWC, in one
    pass (fastaug.normalize; albumentations' Normalize, torchvision's ToTensor + Normalize). Always the last
    transform of a pipeline."""

    fields = ("mean", "std", "layout", "max_pixel_value")

    def __init__(
        self,
        mean: Any = (0.485, 0.456, 0.406),
        std: Any = (0.229, 0.224, 0.225),
        layout: str = "NCHW",
        max_pixel_value: float | None = None,
    ) -> None:
        self.mean = tuple(float(v) for v in np.ravel(mean))
        self.std = tuple(float(v) for v in np.ravel(std))
        if not self.std or any(v == 0 or not np.isfinite(v) for v in self.std):
            raise self.error("std", std, "non-zero finite values")
        self.layout = choice(self, "layout", layout, ("NCHW", "NHWC"))
        self.max_pixel_value = None if max_pixel_value is None else number(self, "max_pixel_value", max_pixel_value)

    def run(self, images: Any, params: Params, out: Any = None) -> Any:
        c = images.shape[-1]
        mean = self.mean if len(self.mean) != 1 else self.mean * c
        std = self.std if len(self.std) != 1 else self.std * c
        return F.normalize(images, mean, std, self.layout, max_pixel_value=self.max_pixel_value, out=out)


PIXEL = (
    RandomInvert,
    RandomEqualize,
    RandomGrayscale,
    RandomThreshold,
    GaussianBlur,
    BoxBlur,
    MedianBlur,
    Sharpen,
    Normalize,
)
