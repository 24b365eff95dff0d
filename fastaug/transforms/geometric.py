"""Geometric transforms: each draws its per-sample parameters and says which 3x3 matrix they make.

Matrices are forward (source -> destination) in OpenCV's pixel coordinates (pixel centres at integers, x
right, y down), as warp_affine / warp_perspective take them. Every transform works on per-sample canvas
sizes (N, 2) = (height, width): the size of each sample's image at that point of the chain, so that a
ragged batch and a RandomRotate90 on a non-square canvas compose as well as a dense batch. Compose
multiplies a run of these matrices into one per sample and resamples once."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .._types import Border, Interp, parse_enum
from ..functional.warp import affine_matrix
from .base import Params, Transform, choice, number, probability, size_pair, uniform, value_range

INTERPS = ("nearest", "linear", "cubic")
BORDERS = tuple(b.name.lower() for b in Border)


def translation(tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    m = np.tile(np.eye(3), (len(tx), 1, 1))
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def scaling(sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """Scales a canvas by (sx, sy) as cv2.resize maps pixels: x' = (x + 0.5) * sx - 0.5."""
    m = np.zeros((len(sx), 3, 3))
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = sx, sy, 1.0
    m[:, 0, 2], m[:, 1, 2] = 0.5 * sx - 0.5, 0.5 * sy - 0.5
    return m


def crop_and_resize(left: Any, top: Any, crop_hw: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """The crop box (left, top, height, width) of each sample, resized to out_hw."""
    scale = scaling(out_hw[1] / crop_hw[:, 1], out_hw[0] / crop_hw[:, 0])
    return scale @ translation(-np.asarray(left, float), -np.asarray(top, float))


class Geometric(Transform):
    """A transform that moves pixels: draw() makes its parameters for the per-sample canvas sizes, and
    matrices() the forward matrix of each sample and the canvas sizes after it."""

    #: the border, fill and interpolation this transform asks the fused warp for; None: no preference (the run
    #: takes what another transform of it asks for, else linear interpolation and a constant 0 border)
    border: str | None = None
    fill: Any = None
    interp: str | None = None
    #: the border when no transform of the run asks for one: transforms that bring in new pixels (Affine,
    #: RandomPerspective, Pad, RandomCrop) fill with a constant 0, as torchvision; a run of only resizes,
    #: crops and flips replicates its edge pixels, as cv2.resize does at the image's edge
    default_border: ClassVar[str] = "replicate"

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        return {"apply": self.gate(rng, len(sizes))}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _init_warp(self, interp: str | None, border: str | None, fill: Any) -> None:
        self.interp = None if interp is None else choice(self, "interp", interp, INTERPS)
        self.border = None if border is None else choice(self, "border", border, BORDERS)
        if isinstance(fill, (list, tuple)):
            fill = [number(self, "fill", v) for v in fill]
        elif fill is not None:
            fill = number(self, "fill", fill)
        self.fill = fill
        if self.interp is not None:
            parse_enum(self.interp, Interp, "interp")


class Resize(Geometric):
    """Resizes every sample, as torchvision's Resize: size=(h, w) exactly, or an int for the shorter side
    (the longer one keeps the aspect ratio, rounded down as torchvision does). cv2.resize's pixel mapping;
    shrinking is antialiased by Compose (see Compose)."""

    fields = ("size", "interp")

    def __init__(self, size: int | tuple[int, int], interp: str | None = None) -> None:
        shorter_side = isinstance(size, (int, np.integer)) and not isinstance(size, bool)
        pair = size_pair(self, "size", size)
        self.size: int | tuple[int, int] = pair[0] if shorter_side else pair
        self._init_warp(interp, None, None)

    def target_sizes(self, sizes: np.ndarray) -> np.ndarray:
        if isinstance(self.size, tuple):
            return np.tile(np.array(self.size), (len(sizes), 1))
        short, long = sizes.min(1), sizes.max(1)
        long_new = (self.size * long / short).astype(np.int64)  # torchvision: int(size * long / short)
        wide = sizes[:, 1] >= sizes[:, 0]
        return np.stack([np.where(wide, self.size, long_new), np.where(wide, long_new, self.size)], 1)

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        new = self.target_sizes(sizes)
        return scaling(new[:, 1] / sizes[:, 1], new[:, 0] / sizes[:, 0]), new


class CenterCrop(Geometric):
    """The central (h, w) window, as torchvision's CenterCrop (offsets rounded as it does); a crop larger
    than the image reads the border (Compose's fill, constant 0 by default)."""

    fields = ("size",)

    def __init__(self, size: int | tuple[int, int]) -> None:
        self.size = size_pair(self, "size", size)

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ch, cw = self.size
        top = np.round((sizes[:, 0] - ch) / 2.0)
        left = np.round((sizes[:, 1] - cw) / 2.0)
        return translation(-left, -top), np.tile(np.array(self.size), (len(sizes), 1))


class RandomCrop(Geometric):
    """A uniformly placed (h, w) window of each sample, as torchvision's RandomCrop. A sample smaller than
    the window is an error unless pad_if_needed, which lets the window hang over the edges (the border
    fills it: constant `fill` by default)."""

    default_border = "constant"
    fields = ("size", "pad_if_needed", "border", "fill")

    def __init__(
        self, size: int | tuple[int, int], pad_if_needed: bool = False, border: str | None = None, fill: Any = None
    ) -> None:
        self.size = size_pair(self, "size", size)
        self.pad_if_needed = bool(pad_if_needed)
        self._init_warp(None, border, fill)

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        room = sizes - np.array(self.size)
        if (room < 0).any() and not self.pad_if_needed:
            i = int(np.argmax((room < 0).any(1)))
            raise self.error(
                "size", self.size, f"a window that fits sample {i} of size {tuple(sizes[i])} (or pad_if_needed=True)"
            )
        # offsets uniform over the valid positions; a window larger than the sample is centred
        low = np.minimum(room, 0) // 2
        span = np.abs(room) + 1
        offset = np.where(room >= 0, np.floor(rng.random(room.shape) * span), low)
        return {"top": offset[:, 0], "left": offset[:, 1]}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return translation(-params["left"], -params["top"]), np.tile(np.array(self.size), (len(sizes), 1))


class RandomResizedCrop(Geometric):
    """torchvision's RandomResizedCrop: a crop of random area (a fraction in `scale` of the sample) and
    aspect ratio (log-uniform in `ratio`), found in up to 10 tries per sample, else the central crop of
    the nearest allowed ratio, then resized to `size`. The crop and the resize are one matrix."""

    fields = ("size", "scale", "ratio", "interp")

    def __init__(
        self,
        size: int | tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        interp: str | None = None,
    ) -> None:
        self.size = size_pair(self, "size", size)
        self.scale = value_range(self, "scale", scale, 0.0, 1.0)
        if self.scale[1] <= 0:
            raise self.error("scale", scale, "a range of area fractions with max > 0")
        self.ratio = value_range(self, "ratio", ratio, 1e-6)
        self._init_warp(interp, None, None)

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        n, tries = len(sizes), 10
        h, w = sizes[:, :1].astype(float), sizes[:, 1:].astype(float)
        area = h * w * rng.uniform(*self.scale, (n, tries))
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), (n, tries)))
        cw, ch = np.round(np.sqrt(area * aspect)), np.round(np.sqrt(area / aspect))
        ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
        first = np.argmax(ok, 1)
        found = ok[np.arange(n), first]
        cw, ch = cw[np.arange(n), first], ch[np.arange(n), first]
        # the fallback: the whole sample, cut to the nearest allowed aspect ratio
        h, w = h[:, 0], w[:, 0]
        in_ratio = w / h
        fw = np.where(in_ratio > self.ratio[1], np.round(h * self.ratio[1]), w)
        fh = np.where(in_ratio < self.ratio[0], np.round(w / self.ratio[0]), h)
        cw, ch = np.where(found, cw, fw), np.where(found, ch, fh)
        u = rng.random((n, 2))
        top = np.where(found, np.floor(u[:, 0] * (h - ch + 1)), (h - ch) // 2)
        left = np.where(found, np.floor(u[:, 1] * (w - cw + 1)), (w - cw) // 2)
        return {"top": top, "left": left, "height": ch, "width": cw}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        crop = np.stack([params["height"], params["width"]], 1)
        m = crop_and_resize(params["left"], params["top"], crop, self.size)
        return m, np.tile(np.array(self.size), (len(sizes), 1))


class Pad(Geometric):
    """Pads each side, as torchvision's Pad: padding an int (every side), (left/right, top/bottom) or
    (left, top, right, bottom); the border (constant `fill` by default) fills the new pixels."""

    default_border = "constant"
    fields = ("padding", "border", "fill")

    def __init__(self, padding: int | tuple[int, ...], border: str | None = None, fill: Any = None) -> None:
        pads = (padding,) * 4 if isinstance(padding, (int, np.integer)) else tuple(padding)
        if len(pads) == 2:
            pads = (pads[0], pads[1], pads[0], pads[1])
        if len(pads) != 4 or not all(isinstance(v, (int, np.integer)) and v >= 0 for v in pads):
            raise self.error("padding", padding, "a non-negative int, or 2 or 4 of them")
        self.padding = tuple(int(v) for v in pads)
        self._init_warp(None, border, fill)

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left, top, right, bottom = self.padding
        n = len(sizes)
        new = sizes + np.array([top + bottom, left + right])
        return translation(np.full(n, left), np.full(n, top)), new


class HorizontalFlip(Geometric):
    """Mirrors left-right the samples drawn with probability p (torchvision's RandomHorizontalFlip)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = probability(self, p)

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.tile(np.eye(3), (len(sizes), 1, 1))
        flip = params["apply"]
        m[flip, 0, 0], m[flip, 0, 2] = -1.0, sizes[flip, 1] - 1.0
        return m, sizes


class VerticalFlip(Geometric):
    """Mirrors top-bottom the samples drawn with probability p (torchvision's RandomVerticalFlip)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = probability(self, p)

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.tile(np.eye(3), (len(sizes), 1, 1))
        flip = params["apply"]
        m[flip, 1, 1], m[flip, 1, 2] = -1.0, sizes[flip, 0] - 1.0
        return m, sizes


class RandomRotate90(Geometric):
    """Turns each sample drawn (probability p) by k quarter turns counter-clockwise, k uniform in {0, 1, 2,
    3} (albumentations' RandomRotate90); the same turn as np.rot90 / fastaug.rotate90. An odd turn swaps
    the sample's height and width."""

    def __init__(self, p: float = 1.0) -> None:
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        apply = self.gate(rng, len(sizes))
        return {"apply": apply, "k": np.where(apply, rng.integers(0, 4, len(sizes)), 0)}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = params["k"].astype(int) % 4
        h, w = sizes[:, 0] - 1.0, sizes[:, 1] - 1.0
        m = np.zeros((len(k), 3, 3))
        m[:, 2, 2] = 1
        # x' = a x + b y + c, y' = d x + e y + f for k = 0..3 (np.rot90's turn, y down)
        a = np.choose(k, [1, 0, -1, 0])
        b = np.choose(k, [0, 1, 0, -1])
        d = np.choose(k, [0, -1, 0, 1])
        e = np.choose(k, [1, 0, -1, 0])
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = a, b, d, e
        m[:, 0, 2] = np.choose(k, [np.zeros_like(w), np.zeros_like(w), w, h])
        m[:, 1, 2] = np.choose(k, [np.zeros_like(w), w, h, np.zeros_like(w)])
        odd = k % 2 == 1
        return m, np.where(odd[:, None], sizes[:, ::-1], sizes)


class Affine(Geometric):
    """Random rotation, translation, scale and shear about each sample's centre, as torchvision's
    RandomAffine: degrees (d means (-d, d)), translate = (a, b) fractions of the width and height (shift
    uniform in +-a*w, +-b*h), scale range, shear in degrees (s means an x-shear in (-s, s); (lo, hi) an
    x-shear range; (xlo, xhi, ylo, yhi) both). Angles are counter-clockwise as displayed (as
    cv2.getRotationMatrix2D and torchvision). RandomAffine is the same transform."""

    default_border = "constant"
    fields = ("degrees", "translate", "scale", "shear", "interp", "border", "fill", "p")

    def __init__(
        self,
        degrees: float | tuple[float, float] = 0.0,
        translate: tuple[float, float] | None = None,
        scale: tuple[float, float] = (1.0, 1.0),
        shear: float | tuple[float, ...] = 0.0,
        interp: str | None = None,
        border: str | None = None,
        fill: Any = None,
        p: float = 1.0,
    ) -> None:
        self.degrees = value_range(self, "degrees", degrees, around=0.0)
        if translate is not None and not (isinstance(translate, (tuple, list)) and len(translate) == 2):
            raise self.error("translate", translate, "None or an (x, y) pair of fractions in [0, 1]")
        self.translate = None if translate is None else tuple(number(self, "translate", v, 0.0, 1.0) for v in translate)
        self.scale = value_range(self, "scale", scale, 1e-6)
        if isinstance(shear, (tuple, list)) and len(shear) == 4:
            self.shear: tuple[float, ...] = (
                *value_range(self, "shear", shear[:2], -89.0, 89.0),
                *value_range(self, "shear", shear[2:], -89.0, 89.0),
            )
        else:
            self.shear = (*value_range(self, "shear", shear, -89.0, 89.0, around=0.0), 0.0, 0.0)
        self._init_warp(interp, border, fill)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        n = len(sizes)
        apply = self.gate(rng, n)
        angle = uniform(rng, self.degrees, n)
        if self.translate is None:
            tx = ty = np.zeros(n)
        else:
            tx = rng.uniform(-1, 1, n) * self.translate[0] * sizes[:, 1]
            ty = rng.uniform(-1, 1, n) * self.translate[1] * sizes[:, 0]
        scale = uniform(rng, self.scale, n)
        sx, sy = uniform(rng, self.shear[:2], n), uniform(rng, self.shear[2:], n)
        off = ~apply
        angle[off], tx[off], ty[off], scale[off], sx[off], sy[off] = 0, 0, 0, 1, 0, 0
        return {"apply": apply, "angle": angle, "tx": tx, "ty": ty, "scale": scale, "shear_x": sx, "shear_y": sy}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(sizes)
        centre = np.stack([(sizes[:, 1] - 1) / 2.0, (sizes[:, 0] - 1) / 2.0], 1)
        m2 = affine_matrix(
            params["angle"],
            np.stack([params["tx"], params["ty"]], 1),
            params["scale"],
            np.stack([params["shear_x"], params["shear_y"]], 1),
            centre,
            n=n,
        )
        return np.concatenate([m2, np.tile([[[0.0, 0.0, 1.0]]], (n, 1, 1))], 1), sizes


RandomAffine = Affine


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The (N, 3, 3) perspective matrices taking the 4 points src[i] to dst[i] ((N, 4, 2) each), as
    cv2.getPerspectiveTransform."""
    n = len(src)
    a = np.zeros((n, 8, 8))
    x, y, u, v = src[..., 0], src[..., 1], dst[..., 0], dst[..., 1]
    a[:, 0:4, 0], a[:, 0:4, 1], a[:, 0:4, 2] = x, y, 1
    a[:, 0:4, 6], a[:, 0:4, 7] = -x * u, -y * u
    a[:, 4:8, 3], a[:, 4:8, 4], a[:, 4:8, 5] = x, y, 1
    a[:, 4:8, 6], a[:, 4:8, 7] = -x * v, -y * v
    coef = np.linalg.solve(a, np.concatenate([u, v], 1)[..., None])[..., 0]
    return np.concatenate([coef, np.ones((n, 1))], 1).reshape(n, 3, 3)


class RandomPerspective(Geometric):
    """torchvision's RandomPerspective: each corner moves inwards by up to distortion_scale / 2 of the
    width and height (uniform), and the sample is warped by the perspective taking the corners there."""

    default_border = "constant"
    fields = ("distortion_scale", "interp", "border", "fill", "p")

    def __init__(
        self,
        distortion_scale: float = 0.5,
        interp: str | None = None,
        border: str | None = None,
        fill: Any = None,
        p: float = 0.5,
    ) -> None:
        self.distortion_scale = number(self, "distortion_scale", distortion_scale, 0.0, 1.0)
        self._init_warp(interp, border, fill)
        self.p = probability(self, p)

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        n = len(sizes)
        apply = self.gate(rng, n)
        # inward offsets of the 4 corners (top-left, top-right, bottom-right, bottom-left), in x and y
        reach = self.distortion_scale * (sizes[:, None, ::-1] - 1) / 2.0
        offsets = rng.random((n, 4, 2)) * reach * apply[:, None, None]
        return {"apply": apply, "offsets": offsets}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w, h = sizes[:, 1] - 1.0, sizes[:, 0] - 1.0
        zero = np.zeros_like(w)
        corners = np.stack(
            [np.stack([zero, zero], 1), np.stack([w, zero], 1), np.stack([w, h], 1), np.stack([zero, h], 1)], 1
        )
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
        return homography(corners, corners + params["offsets"] * inward), sizes


class Tiles(Geometric):
    """Data slicing (fastaug.tiles): every image becomes its grid of `size` tiles every `stride` pixels
    (default: the tile size, no overlap; tiles that would cross the border are dropped), image-major then
    row-major, each a sample of its own: one image in, several samples out. It must be the first transform;
    the transforms after it draw per tile and fuse with it into the one warp."""

    fields = ("size", "stride")

    def __init__(self, size: int | tuple[int, int], stride: int | tuple[int, int] | None = None) -> None:
        self.size = size_pair(self, "size", size)
        self.stride = self.size if stride is None else size_pair(self, "stride", stride)

    def draw(self, rng: np.random.Generator, sizes: np.ndarray) -> Params:
        (th, tw), (sy, sx) = self.size, self.stride
        small = np.flatnonzero((sizes[:, 0] < th) | (sizes[:, 1] < tw))
        if len(small):
            raise self.error("size", self.size, f"a tile that fits sample {small[0]} ({tuple(sizes[small[0]])})")
        rows, cols = (sizes[:, 0] - th) // sy + 1, (sizes[:, 1] - tw) // sx + 1
        top = np.concatenate([np.repeat(np.arange(r) * sy, c) for r, c in zip(rows, cols, strict=True)])
        left = np.concatenate([np.tile(np.arange(c) * sx, r) for r, c in zip(rows, cols, strict=True)])
        source = np.repeat(np.arange(len(sizes)), rows * cols)
        return {"apply": np.ones(len(source), bool), "source": source, "top": top, "left": left}

    def matrices(self, params: Params, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shift = translation(-params["left"].astype(float), -params["top"].astype(float))
        return shift, np.tile(np.array(self.size), (len(shift), 1))


#: every geometric transform, for documentation and tests
GEOMETRIC = (
    Resize,
    CenterCrop,
    RandomCrop,
    RandomResizedCrop,
    Pad,
    HorizontalFlip,
    VerticalFlip,
    RandomRotate90,
    Affine,
    RandomPerspective,
    Tiles,
)

__all__ = [
    "Affine",
    "CenterCrop",
    "Geometric",
    "HorizontalFlip",
    "Pad",
    "RandomAffine",
    "RandomCrop",
    "RandomPerspective",
    "RandomResizedCrop",
    "RandomRotate90",
    "Resize",
    "Tiles",
    "VerticalFlip",
]
