"""Colour transforms: ColorJitter as one per-sample colour matrix (fastaug.color_transform), and the
per-value curves RandomGamma, Solarize and Posterize as one per-sample table (fastaug.lut).

A sample whose draw is off gets the identity matrix or table, so that every transform is one call over
the whole batch (no gather and scatter of the drawn samples)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from .base import Params, choice, probability, uniform, value_range
from .pixel import Pixel, on_drawn, per_sample_like

#: luma weights of the saturation and contrast greys (cv2.COLOR_RGB2GRAY; torchvision's are 0.2989, 0.587,
#: 0.114: a difference below 1e-3 of a grey level per 255)
LUMA = np.array([0.299, 0.587, 0.114])
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


def _factor_range(t: Pixel, name: str, value: Any) -> tuple[float, float]:
    """torchvision's reading: a number v means [max(0, 1 - v), 1 + v]; a (min, max) pair is taken as is."""
    lo, hi = value_range(t, name, value, around=1.0)
    if isinstance(value, (list, tuple)) and lo < 0:
        raise t.error(name, value, "non-negative factors")
    return (max(0.0, lo), hi)


def hue_rotation(h: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations about the grey axis (1, 1, 1) by 2 pi h: a hue shift by h of a full turn that
    keeps (R + G + B) / 3 (StyleGAN2-ADA's hue; red -> green -> blue for h > 0, as HSV)."""
    theta = 2 * np.pi * np.asarray(h, float)
    u = np.full(3, 1 / math.sqrt(3))
    cross = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    return cos * np.eye(3) + sin * cross + (1 - cos) * np.outer(u, u)


def jitter_matrices(factors: np.ndarray, order: np.ndarray, means: np.ndarray, channels: int) -> np.ndarray:
    """(N, C, C + 1) affine colour matrices applying brightness, contrast, saturation and hue (factors: (N, 4),
    the identity values 1, 1, 1, 0 for an op left out) in each sample's order (N, 4), given the per-channel
    means of the input (N, C). Contrast blends with the mean luma of the image as it is at that step, which
    is affine in the input's means, so any order composes exactly (before rounding and clamping)."""
    n, colours = len(factors), min(channels, 3)
    rows = np.arange(n)
    weights = LUMA if colours == 3 else np.ones(1)
    # each op as x -> ops[:, op] @ x (+ the contrast offset), for every sample
    ops = np.tile(np.eye(colours), (n, 4, 1, 1))
    ops[:, BRIGHTNESS] *= factors[:, BRIGHTNESS, None, None]
    ops[:, CONTRAST] *= factors[:, CONTRAST, None, None]
    if colours == 3:
        s = factors[:, SATURATION, None, None]
        ops[:, SATURATION] = s * np.eye(3) + (1 - s) * np.outer(np.ones(3), weights)
        ops[:, HUE] = hue_rotation(factors[:, HUE])
    a = np.tile(np.eye(colours), (n, 1, 1))
    t = np.zeros((n, colours))
    m = means[:, :colours, None]
    for step in range(4):
        op = order[:, step]
        contrast = op == CONTRAST
        offset = np.zeros(n)
        if contrast.any():  # (1 - c) x the mean luma of the image as the steps so far made it
            luma = ((a[contrast] @ m[contrast])[..., 0] + t[contrast]) @ weights
            offset[contrast] = (1 - factors[contrast, CONTRAST]) * luma
        mix = ops[rows, op]
        a = mix @ a
        t = (mix @ t[..., None])[..., 0] + offset[:, None]
    out = np.zeros((n, channels, channels + 1))
    out[:, :colours, :colours], out[:, :colours, channels] = a, t
    for c in range(colours, channels):  # alpha passes through
        out[:, c, c] = 1.0
    return out


class ColorJitter(Pixel):
    """torchvision's ColorJitter(brightness, contrast, saturation, hue), per sample, with the colour steps
    folded into colour matrices (fastaug.color_transform; StyleGAN2-ADA's colour-matrix approach).

    Each sample draws its factors uniformly (a number v means [max(0, 1 - v), 1 + v]; hue: [-v, v], v <= 0.5)
    and, as torchvision, a random order of the four operations. Definitions (torchvision's): brightness
    x * b; contrast c * x + (1 - c) * mean luma of the image; saturation s * x + (1 - s) * luma of the pixel;
    hue (hue_mode "hsv", the default): torchvision's HSV hue shift (fastaug.hue_shift). Brightness, contrast
    and saturation are affine in RGB, so the steps before and after a sample's hue step each fold into ONE
    matrix: one pass without hue, up to three with it (matrix, hue shift, matrix). hue_mode "rotation" turns
    hue into a rotation about the grey axis (linear: one pass for all four steps; not HSV's hue). Values are
    rounded and clamped once per pass (torchvision clamps after each step and, for uint8, truncates); see the
    README for the measured difference. Float32 images are clamped to [0, 1], as torchvision does."""

    fields = ("brightness", "contrast", "saturation", "hue", "hue_mode", "p")
    writes = "never"

    def __init__(
        self,
        brightness: Any = 0.0,
        contrast: Any = 0.0,
        saturation: Any = 0.0,
        hue: Any = 0.0,
        p: float = 1.0,
        hue_mode: str = "hsv",
    ) -> None:
        self.brightness = _factor_range(self, "brightness", brightness)
        self.contrast = _factor_range(self, "contrast", contrast)
        self.saturation = _factor_range(self, "saturation", saturation)
        self.hue = value_range(self, "hue", hue, -0.5, 0.5, around=0.0)
        self.hue_mode = choice(self, "hue_mode", hue_mode, ("hsv", "rotation"))
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        apply = self.gate(rng, n)
        factors = np.stack(
            [uniform(rng, r, n) for r in (self.brightness, self.contrast, self.saturation, self.hue)], axis=1
        )
        factors[~apply] = IDENTITY
        order = rng.permuted(np.tile(np.arange(4), (n, 1)), axis=1)
        return {"apply": apply, "factors": factors, "order": order}

    def one_matrix(self, images: Any, params: Params) -> np.ndarray | None:
        """The (N, C, C + 1) colour matrices of this draw when they are the whole transform (no HSV hue step)
        on uint8 images, for Compose to hand to a Normalize right after it (one pass for both); else None."""
        factors = params["factors"]
        one_pass = self.hue_mode == "rotation" or not factors[:, HUE].any() or images.shape[-1] == 1
        if not (one_pass and params["apply"].any() and str(images.dtype).endswith("uint8")):
            return None
        return _matrices(images, factors, params["order"])

    def run(self, images: Any, params: Params) -> Any:
        apply, factors, order = params["apply"], params["factors"], params["order"]
        if not apply.any():
            return images
        hue = factors[:, HUE]
        if self.hue_mode == "rotation" or not hue.any() or images.shape[-1] == 1:
            return _jitter_pass(images, factors, order)
        # hue in HSV: the steps before each sample's hue step, the hue shift, then the steps after it
        step_of = np.argsort(order, axis=1)  # step_of[n, op]: when sample n takes op (order is a permutation)
        before = step_of < step_of[:, HUE, None]
        steps_before = np.where(before, factors, IDENTITY)
        steps_after = np.where(~before, factors, IDENTITY)
        steps_before[:, HUE] = steps_after[:, HUE] = 0.0
        x = _jitter_pass(images, steps_before, order)
        x = F.hue_shift(x, hue)
        return _jitter_pass(x, steps_after, order)


#: the factors of a colour step left out: brightness, contrast and saturation 1, hue 0
IDENTITY = (1.0, 1.0, 1.0, 0.0)


def _jitter_pass(images: Any, factors: np.ndarray, order: np.ndarray) -> Any:
    """One color_transform pass applying the steps of `factors` (identity factors: steps left out) in each
    sample's order; hue as the grey-axis rotation. Float32 results are clamped to [0, 1]."""
    if (factors == IDENTITY).all():
        return images
    out = F.color_transform(images, _matrices(images, factors, order))
    return out.clip(0, 1) if str(out.dtype).endswith("float32") else out


def _matrices(images: Any, factors: np.ndarray, order: np.ndarray) -> np.ndarray:
    """jitter_matrices for this batch, with its channel means when a contrast step needs them."""
    c = images.shape[-1]
    means = F.channel_mean(images) if (factors[:, CONTRAST] != 1).any() else np.zeros((len(factors), c))
    return jitter_matrices(factors, order, means, c).astype(np.float32)


def _apply_lut(images: Any, tables: np.ndarray, apply: np.ndarray, value: Any) -> Any:
    """Per-sample tables (N, 256) on uint8 images (identity for the samples not drawn: one call), or
    value(x, index) on the drawn float32 samples."""
    if not apply.any():
        return images
    if str(images.dtype).endswith("uint8"):
        tables = np.where(apply[:, None], tables, np.arange(256, dtype=np.uint8))
        return F.lut(images, tables.astype(np.uint8))
    return on_drawn(images, apply, value)


def _index(a: np.ndarray, i: Any) -> np.ndarray:
    return a if i is None else a[i]


class RandomGamma(Pixel):
    """Gamma curve 255 * (x / 255) ** gamma (torchvision's adjust_gamma with gain 1; albumentations'
    RandomGamma takes gamma_limit in percent: (80, 120) here is (0.8, 1.2)), gamma uniform per sample. uint8:
    one rounded table per sample (fastaug.lut); float32 images in [0, 1]: x ** gamma."""

    fields = ("gamma", "p")

    def __init__(self, gamma: Any = (0.8, 1.2), p: float = 0.5) -> None:
        self.gamma = value_range(self, "gamma", gamma, 1e-3, 1e3)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "gamma": uniform(rng, self.gamma, n)}

    def run(self, images: Any, params: Params) -> Any:
        g = params["gamma"]
        levels = np.arange(256) / 255.0
        tables = np.rint(255 * levels[None, :] ** g[:, None]).clip(0, 255)
        return _apply_lut(images, tables, params["apply"], lambda x, i: x ** per_sample_like(_index(g, i), x))


class Solarize(Pixel):
    """Inverts the values at or above a per-sample threshold (torchvision's RandomSolarize; PIL's solarize):
    x >= t -> 255 - x (uint8) or 1 - x (float32). threshold in the image's units (0-255 for uint8)."""

    fields = ("threshold", "p")

    def __init__(self, threshold: Any = 128.0, p: float = 0.5) -> None:
        self.threshold = value_range(self, "threshold", threshold, 0.0, 256.0)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "threshold": uniform(rng, self.threshold, n)}

    def run(self, images: Any, params: Params) -> Any:
        t = params["threshold"]
        levels = np.arange(256)
        tables = np.where(levels[None, :] >= t[:, None], 255 - levels, levels)

        def value(x: Any, i: Any) -> Any:
            return (x >= per_sample_like(_index(t, i), x)) * (1 - 2 * x) + x

        return _apply_lut(images, tables, params["apply"], value)


class Posterize(Pixel):
    """Keeps the `bits` high bits of each uint8 value (torchvision's RandomPosterize, PIL's posterize); bits
    an int in 1-8 or a (min, max) range drawn per sample (albumentations' num_bits). uint8 only."""

    fields = ("bits", "p")

    def __init__(self, bits: Any = 4, p: float = 0.5) -> None:
        lo, hi = value_range(self, "bits", bits, 1, 8)
        if lo != int(lo) or hi != int(hi):
            raise self.error("bits", bits, "an int in 1-8 or a (min, max) pair of them")
        self.bits = (int(lo), int(hi))
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, n: int) -> Params:
        return {"apply": self.gate(rng, n), "bits": rng.integers(self.bits[0], self.bits[1] + 1, n)}

    def run(self, images: Any, params: Params) -> Any:
        if not str(images.dtype).endswith("uint8"):
            raise self.error("images", str(images.dtype), "uint8 images")
        masks = (0xFF << (8 - params["bits"])) & 0xFF
        tables = np.arange(256)[None, :] & masks[:, None]
        return _apply_lut(images, tables, params["apply"], None)


COLOR = (ColorJitter, RandomGamma, Solarize, Posterize)
