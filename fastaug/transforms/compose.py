"""Compose: a pipeline of random transforms applied to a batch, each sample with its own draw.

Consecutive geometric transforms form a run: their matrices are multiplied into ONE 3x3 matrix per sample
and the run is ONE warp over the batch (warp_affine when every matrix is affine, else warp_perspective).
Pixel transforms run one operator each on the samples drawn. Masks follow the image's geometry (the same
matrices, nearest interpolation), boxes and keypoints are mapped through the same matrices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functional as F
from .._errors import ArgumentError, ArgumentTypeError
from .._interop import Image, asarray_like
from .base import Params, Transform
from .color import ColorJitter
from .geometric import Geometric, Tiles
from .keyed import SampleRandom
from .pixel import Normalize, Pixel, copy_of


class _Run:
    """One fused geometric run: its transforms (indices into the pipeline) and the one interpolation,
    border and fill its warp uses (each transform that asks for one must agree)."""

    def __init__(self, index: list[int], transforms: Sequence[Geometric]) -> None:
        self.index = index
        self.interp = _agree("interp", index, [t.interp for t in transforms]) or "linear"
        brings_pixels = any(t.default_border == "constant" for t in transforms)
        self.border = _agree("border", index, [t.border for t in transforms]) or (
            "constant" if brings_pixels else "replicate"
        )
        fills = [t.fill if t.border in (None, self.border) else None for t in transforms]
        fill = _agree("fill", index, [None if f is None else tuple(np.ravel(f)) for f in fills])
        self.fill: Any = 0 if fill is None else (fill[0] if len(fill) == 1 else list(fill))


def _agree(what: str, index: list[int], values: list[Any]) -> Any:
    chosen = {v for v in values if v is not None}
    if len(chosen) > 1:
        asked = ", ".join(f"transform {i}: {v!r}" for i, v in zip(index, values, strict=True) if v is not None)
        raise ArgumentError(
            f"Compose: the geometric transforms {index[0]}..{index[-1]} are resampled as one warp, so they need "
            f"one {what}; got {asked}. Give them the same {what}, or put a pixel transform between them "
            "(two warps)."
        )
    return chosen.pop() if chosen else None


class Compose:
    """A pipeline of random transforms (albumentations' / torchvision's Compose) for batches.

    ``Compose(transforms, seed=None)``: seed is an int, a numpy Generator, or None (fresh entropy). Each
    call draws new parameters for every sample from that generator, so the same seed gives the same
    sequence of draws (and bit-identical images on the native and Numba backends).

    Call it on a batch (N, H, W, C) array or tensor, one image (H, W, C), or a list of images of different
    sizes (a ragged batch: the pipeline must start with a geometric run ending in a fixed size, e.g.
    RandomResizedCrop or Resize + CenterCrop). With targets, ``pipeline(image=..., mask=..., boxes=...,
    keypoints=...)`` returns a dict of the same keys:

    - mask: (N, H, W) or (N, H, W, C) uint8 (or float32) label maps: warped with the image's matrices,
      nearest interpolation, the image's border (its constant fill is `mask_fill`), pixel transforms not
      applied.
    - boxes: per sample a (K, 4 + extra) array of xyxy pixel boxes (edges: a box over pixel columns 0..9 is
      x0 = 0, x1 = 10); extra columns (labels) are carried along. Mapped boxes are the bounding box of the
      4 mapped corners, clipped to the output; boxes with an area <= min_box_area after clipping are
      dropped (drop_empty_boxes=False keeps them). Returned as a list of arrays, one per sample.
    - keypoints: per sample a (K, 2 + extra) array of (x, y) pixel positions (OpenCV's: x is the column
      of the pixel centre). Never dropped, so indices stay aligned; points may end outside the image.

    ``rng=`` draws this call from another generator: a numpy Generator, or a ``SampleRandom`` with one key
    per input sample (``sample_keys(seed, epoch, index)``), so that each sample's parameters depend only on
    its key, not on the batch it came in (fastaug.torch.Collate: the same draws for any num_workers).
    ``source_sizes=`` (N, 2): the images were decoded at a reduced scale from originals of these sizes
    (fastaug.io's crop-aware decode); the first geometric run draws for the originals (a crop is the same
    region at any decode scale; boxes and keypoints are in the originals' pixels, a mask at the decoded
    size) and its one warp reads the reduced pixels. ``geometry(sizes, rng)`` gives that run's matrices
    without pixels.

    ``return_params=True`` also returns the drawn parameters (a list, one dict of (N, ...) arrays per
    transform); ``params=`` re-applies given ones (a second view, a mask later, debugging one sample).
    ``out=``: the closing Normalize writes there, or into ``out(batch)`` when out is a function of the
    (N, H, W, C) batch it reads (the output allocated once its size is known: fastaug.torch.Collate).

    Antialiasing: where a run shrinks a sample by 2x or more (RandomResizedCrop of a large photograph, a
    Resize down), the sample is first reduced by the integer part of the factor with INTER_AREA
    (fastaug.resize), then warped once, as OpenCV users do by hand; antialias=False turns it off.

    One image in, several samples out: ``copies=K`` gives every input sample K consecutive output samples,
    each with its own draws (K random crops per image: multi-crop, or two views for contrastive learning),
    without copying the input when the pipeline starts with a geometric transform; a first ``Tiles`` cuts
    every image into its grid of tiles (data slicing)."""

    def __init__(
        self,
        transforms: Sequence[Transform],
        seed: int | np.random.Generator | None = None,
        *,
        antialias: bool = True,
        mask_fill: float = 0,
        min_box_area: float = 0.0,
        drop_empty_boxes: bool = True,
        copies: int = 1,
    ) -> None:
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not isinstance(t, (Geometric, Pixel)):
                raise ArgumentTypeError(f"Compose: transforms[{i}]: expected a fastaug transform, got {t!r}")
            if isinstance(t, Normalize) and i != len(transforms) - 1:
                raise ArgumentError(f"Compose: transforms[{i}]: Normalize must be the last transform")
            if isinstance(t, Tiles) and i != 0:
                raise ArgumentError(f"Compose: transforms[{i}]: Tiles must be the first transform")
        if isinstance(copies, bool) or not isinstance(copies, (int, np.integer)) or copies < 1:
            raise ArgumentError(f"Compose: copies: expected a positive int, got {copies!r}")
        self.copies = int(copies)
        self.transforms = transforms
        self.runs: dict[int, _Run] = {}  # first index of each geometric run -> the run
        i = 0
        while i < len(transforms):
            j = i
            while j < len(transforms) and isinstance(transforms[j], Geometric):
                j += 1
            if j > i:
                self.runs[i] = _Run(list(range(i, j)), transforms[i:j])  # type: ignore[arg-type]
            i = max(j, i + 1)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for name, flag in (("antialias", antialias), ("drop_empty_boxes", drop_empty_boxes)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ArgumentTypeError(f"Compose: {name}: expected True or False, got {flag!r}")
        for name, value in (("mask_fill", mask_fill), ("min_box_area", min_box_area)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ArgumentTypeError(f"Compose: {name}: expected a number, got {value!r}")
            if not np.isfinite(value) or (name == "min_box_area" and value < 0):
                low = " >= 0" if name == "min_box_area" else ""
                raise ArgumentError(f"Compose: {name}: expected a finite number{low}, got {value!r}")
        self.antialias = bool(antialias)
        self.mask_fill = mask_fill
        self.min_box_area = float(min_box_area)
        self.drop_empty_boxes = bool(drop_empty_boxes)

    def __repr__(self) -> str:
        lines = [f"  {t!r}," for t in self.transforms]
        return "Compose([\n" + "\n".join(lines) + "\n])"

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i: int) -> Transform:
        return self.transforms[i]

    def to_dict(self) -> dict[str, Any]:
        from .serialize import to_dict

        return to_dict(self)

    def __call__(
        self,
        images: Any = None,
        *,
        image: Any = None,
        mask: Any = None,
        boxes: Any = None,
        keypoints: Any = None,
        params: list[Params] | None = None,
        return_params: bool = False,
        out: Any = None,
        rng: np.random.Generator | SampleRandom | None = None,
        source_sizes: Any = None,
    ) -> Any:
        if (images is None) == (image is None):
            raise ArgumentError("Compose: pass the images either positionally or as image=, once")
        batch = _Batch(images if images is not None else image, mask, boxes, keypoints)
        draws: Any = self._call_rng(rng, batch.n)
        if source_sizes is not None:
            batch.from_reduced_decode(source_sizes, 0 in self.runs)
        if self.copies > 1:
            index = np.repeat(np.arange(batch.n), self.copies)
            batch.expand(index, views=0 in self.runs)
            draws = draws.expanded(index) if isinstance(draws, SampleRandom) else draws
        if params is not None and len(params) != len(self.transforms):
            raise ArgumentError(
                f"Compose: params: expected {len(self.transforms)} dicts (one per transform), got {len(params)}"
            )
        drawn: list[Params] = []
        i = 0
        while i < len(self.transforms):
            if i in self.runs:
                run = self.runs[i]
                given = None if params is None else params[i : i + len(run.index)]
                run_drawn, draws = self._geometric(run, batch, given, draws)
                drawn += run_drawn
                i += len(run.index)
                continue
            t = self.transforms[i]
            assert isinstance(t, Pixel)
            prm = t.draw(draws, batch.n) if params is None else params[i]
            drawn.append(prm)
            last = i == len(self.transforms) - 1
            if self._fuses_into_normalize(i) and not batch.ragged:
                assert isinstance(t, ColorJitter)
                batch.matrix = t.one_matrix(batch.images, prm)
                if batch.matrix is not None:  # Normalize applies it in its pass
                    i += 1
                    continue
            batch.pixel(t, prm, out if last else None)
            i += 1
        result = batch.result((images is None and image is not None) or batch.has_targets)
        return (result, drawn) if return_params else result

    def _fuses_into_normalize(self, i: int) -> bool:
        """Whether transform i is a ColorJitter right before the closing Normalize: its colour matrices then
        go into Normalize's pass (fastaug.normalize(matrix=...)), the same bits in one pass instead of two."""
        return (
            i == len(self.transforms) - 2
            and isinstance(self.transforms[i], ColorJitter)
            and isinstance(self.transforms[-1], Normalize)
        )

    def _call_rng(self, rng: Any, n: int) -> Any:
        """The generator of one call: the pipeline's own, or the caller's (a Generator, or a SampleRandom
        with one key per input sample)."""
        if rng is None:
            return self.rng
        if isinstance(rng, SampleRandom):
            if len(rng) != n:
                raise ArgumentError(
                    f"Compose: rng: expected a SampleRandom with {n} keys (one per sample), got {len(rng)}"
                )
            return rng
        if not isinstance(rng, np.random.Generator):
            raise ArgumentTypeError(f"Compose: rng: expected a numpy Generator or a SampleRandom, got {rng!r}")
        return rng

    def geometry(
        self, sizes: Any, rng: np.random.Generator | SampleRandom | None = None
    ) -> tuple[np.ndarray, tuple[int, int]]:
        """The leading geometric run's matrices (N * copies, 3, 3) and output (height, width) for images of
        `sizes` (N, 2), drawn as a call with the same rng would draw them, without touching pixels: what a
        crop-aware decoder reads to choose its scale (fastaug.io). The pipeline must start with a geometric
        transform other than Tiles."""
        sizes = np.array(sizes, np.int64).reshape(-1, 2)
        if 0 not in self.runs or isinstance(self.transforms[0], Tiles):
            raise ArgumentError("Compose.geometry: the pipeline must start with a geometric transform other than Tiles")
        rng = self._call_rng(rng, len(sizes))
        if self.copies > 1:
            index = np.repeat(np.arange(len(sizes)), self.copies)
            sizes = sizes[index]
            rng = rng.expanded(index) if isinstance(rng, SampleRandom) else rng
        mats, out_sizes, _, _ = self._draw_run(self.runs[0], sizes, rng, None)
        return mats, (int(out_sizes[0, 0]), int(out_sizes[0, 1]))

    def _draw_run(
        self, run: _Run, sizes: np.ndarray, rng: Any, given: list[Params] | None, batch: _Batch | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[Params], Any]:
        """The run's per-sample matrices, output sizes, draws and generator (a Tiles first expands `batch`,
        and a SampleRandom with it: each tile draws on its own stream)."""
        mats = np.tile(np.eye(3), (len(sizes), 1, 1))
        sizes = sizes.copy()
        drawn = []
        for k, i in enumerate(run.index):
            t = self.transforms[i]
            assert isinstance(t, Geometric)
            prm = t.draw(rng, sizes) if given is None else given[k]
            drawn.append(prm)
            if isinstance(t, Tiles) and batch is not None:  # the first transform: the batch becomes the tiles
                batch.expand(prm["source"], views=True)
                mats, sizes = np.tile(np.eye(3), (batch.n, 1, 1)), batch.sizes.copy()
                rng = rng.expanded(prm["source"]) if isinstance(rng, SampleRandom) else rng
            m, sizes = t.matrices(prm, sizes)
            mats = m @ mats
        return mats, sizes, drawn, rng

    def _geometric(self, run: _Run, batch: _Batch, given: list[Params] | None, rng: Any) -> tuple[list[Params], Any]:
        mats, sizes, drawn, rng = self._draw_run(run, batch.sizes, rng, given, batch)
        if (sizes != sizes[:1]).any():
            raise ArgumentError(
                f"Compose: transforms {run.index[0]}..{run.index[-1]} leave samples of different sizes "
                f"({', '.join(map(str, sorted({tuple(s) for s in sizes.tolist()})[:3]))}, ...); end the run with "
                "a transform of fixed size (Resize((h, w)), CenterCrop, RandomCrop, RandomResizedCrop)"
            )
        batch.warp(mats, (int(sizes[0, 0]), int(sizes[0, 1])), run, self)
        return drawn, rng


class _Batch:
    """The images (and targets) as they go through the pipeline."""

    def __init__(self, images: Any, mask: Any, boxes: Any, keypoints: Any) -> None:
        self.single = False
        if isinstance(images, (list, tuple)):
            if not images:
                raise ArgumentError("Compose: images: got an empty list")
            self.images: Any = list(images)
            shapes = [Image(x, f"images[{i}]").shape for i, x in enumerate(self.images)]
            if any(len(s) != 3 for s in shapes):
                raise ArgumentError("Compose: images: a list must hold (H, W, C) images")
            self.sizes = np.array([s[:2] for s in shapes], np.int64)
            self.n = len(self.images)
        else:
            img = Image(images, "images")
            if img.ndim == 3:
                self.single = True
                images = images[None]
            elif img.ndim != 4:
                raise ArgumentError(f"Compose: images: expected (N, H, W, C) or (H, W, C), got shape {img.shape}")
            self.images = images
            self.n = img.n
            self.sizes = np.tile(np.array([img.h, img.w], np.int64), (self.n, 1))
        self.owned = False  # whether self.images is the pipeline's own buffer (safe to write into)
        self.pre: np.ndarray | None = None  # per sample: reduced-decode pixels -> full-image pixels (first warp)
        self.decoded = self.sizes  # the images' own sizes (smaller than self.sizes after a reduced decode)
        self.matrix: Any = None  # colour matrices a fused ColorJitter left for Normalize
        self.mask = None if mask is None else (mask[None] if self.single else mask)
        self.boxes = None if boxes is None else self._per_sample(boxes, 4, "boxes")
        self.keypoints = None if keypoints is None else self._per_sample(keypoints, 2, "keypoints")
        self.has_targets = mask is not None or boxes is not None or keypoints is not None

    def _per_sample(self, value: Any, width: int, name: str) -> list[np.ndarray]:
        items = [value] if self.single else list(value)
        if len(items) != self.n:
            raise ArgumentError(f"Compose: {name}: expected one array per sample ({self.n}), got {len(items)}")
        # an empty (0, K) array keeps its K columns (extra box columns such as labels survive); [] gets width
        arrays = [
            np.asarray(v, np.float64).reshape(-1, np.shape(v)[-1] if np.ndim(v) >= 2 or np.size(v) else width)
            for v in items
        ]
        for i, a in enumerate(arrays):
            if a.shape[1] < width:
                raise ArgumentError(f"Compose: {name}[{i}]: expected (K, {width} or more) values, got {a.shape}")
        return arrays

    def from_reduced_decode(self, source_sizes: Any, leading_run: bool) -> None:
        """The images are decodes of larger originals at a reduced scale (fastaug.io's crop-aware decode): the
        first geometric run draws for the originals' sizes (so a crop means the same region at any decode
        scale), and its warp reads the reduced pixels through each sample's scale-back matrix."""
        full = np.asarray(source_sizes)
        if full.shape != (self.n, 2) or not np.issubdtype(full.dtype, np.integer) or (full < self.sizes).any():
            raise ArgumentError(
                f"Compose: source_sizes: expected ({self.n}, 2) integer (height, width) sizes of the originals, "
                f"each at least its image's size, got {np.array2string(full, threshold=8)}"
            )
        if not leading_run:
            raise ArgumentError("Compose: source_sizes: the pipeline must start with a geometric transform")
        ratio = full / self.sizes
        # a JPEG decoded at 1/k (DCT scaling) is ceil(size / k) pixels: the scale is exactly k, not the ratio
        k = np.maximum(np.round(ratio), 1)
        ratio = np.where(-(-full // k) == self.sizes, k, ratio)
        self.pre = np.stack([_scale_back(sy, sx) for sy, sx in ratio])
        self.decoded, self.sizes = self.sizes, full.astype(np.int64)

    def expand(self, index: np.ndarray, views: bool) -> None:
        """Sample i becomes the samples of source index[i]: a list of views of the inputs (no copy; the next
        warp reads them through per-sample pointers) or, before a pixel transform, a gathered batch."""
        if self.ragged or views:
            self.images = [self.images[int(i)] for i in index]
        else:
            self.images = self.images[asarray_like(index, self.images)]
        self.owned = False
        if isinstance(self.mask, list):
            self.mask = [self.mask[int(i)] for i in index]
        elif self.mask is not None:
            self.mask = self.mask[asarray_like(index, self.mask)]
        if self.boxes is not None:
            self.boxes = [self.boxes[int(i)] for i in index]
        if self.keypoints is not None:
            self.keypoints = [self.keypoints[int(i)] for i in index]
        self.sizes, self.n, self.single = self.sizes[index], len(index), False
        if self.pre is not None:
            self.pre, self.decoded = self.pre[index], self.decoded[index]

    @property
    def ragged(self) -> bool:
        return isinstance(self.images, list)

    def pixel(self, t: Pixel, prm: Params, out: Any) -> None:
        if self.ragged:
            raise ArgumentError(
                f"Compose: {type(t).__name__} needs a dense batch; with a list of images of different sizes the "
                "pipeline must start with geometric transforms that end at a fixed size"
            )
        if isinstance(t, Normalize):
            out = out(self.images) if callable(out) else out
            self.images, self.owned = t.run(self.images, prm, out, self.matrix), True
            return
        drawn = prm["apply"]
        writes = drawn.any() and (t.writes == "always" or (t.writes == "partial" and not drawn.all()))
        if writes and not self.owned:
            self.images, self.owned = copy_of(self.images), True
        before = self.images
        self.images = t.run(self.images, prm)
        self.owned = self.owned or self.images is not before

    def warp(self, mats: np.ndarray, size: tuple[int, int], run: _Run, pipe: Compose) -> None:
        pixel_mats = mats if self.pre is None else mats @ self.pre
        actual = self.sizes if self.pre is None else self.decoded
        self.images = _warp_run(self.images, actual, pixel_mats, size, run, pipe.antialias)
        self.owned, self.pre = True, None
        if self.mask is not None:
            self.mask = _warp_mask(self.mask, pixel_mats, size, run, pipe.mask_fill)
        if self.boxes is not None:
            self.boxes = [
                _map_box(b, m, size, pipe.min_box_area, pipe.drop_empty_boxes)
                for b, m in zip(self.boxes, mats, strict=True)
            ]
        if self.keypoints is not None:
            self.keypoints = [_map_points(k, m) for k, m in zip(self.keypoints, mats, strict=True)]
        self.sizes = np.tile(np.array(size, np.int64), (self.n, 1))

    def result(self, as_dict: bool) -> Any:
        images = self.images[0] if self.single and not self.ragged else self.images
        if not as_dict:
            return images
        out: dict[str, Any] = {"image": images}
        if self.mask is not None:
            out["mask"] = self.mask[0] if self.single else self.mask
        if self.boxes is not None:
            out["boxes"] = self.boxes[0] if self.single else self.boxes
        if self.keypoints is not None:
            out["keypoints"] = self.keypoints[0] if self.single else self.keypoints
        return out


def _warp(images: Any, mats: np.ndarray, size: tuple[int, int], interp: str, border: str, fill: Any) -> Any:
    if np.allclose(mats[:, 2], [0.0, 0.0, 1.0], rtol=0, atol=1e-12):
        return F.warp_affine(images, mats[:, :2], size, interp, border, fill)
    return F.warp_perspective(images, mats, size, interp, border, fill)


def reduction_factors(mats: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, 2) integer factors (y, x) by which each sample's source can be area-reduced before its warp: the
    integer part of how far the source moves along each axis per output pixel, at the output's centre."""
    inv = np.linalg.inv(mats)
    p = np.array([(size[1] - 1) / 2.0, (size[0] - 1) / 2.0, 1.0])
    q = inv @ p  # (N, 3)
    # Jacobian of (x_src, y_src) = (q0 / q2, q1 / q2) with respect to the output (x, y)
    jac = (inv[:, :2, :2] * q[:, 2, None, None] - q[:, :2, None] * inv[:, 2, None, :2]) / q[:, 2, None, None] ** 2
    step = np.linalg.norm(jac, axis=2)  # (N, 2): source x, source y per output pixel (the largest direction)
    return np.maximum(np.floor(step[:, ::-1] + 1e-6), 1).astype(np.int64)


def _warp_run(
    images: Any, sizes: np.ndarray, mats: np.ndarray, size: tuple[int, int], run: _Run, antialias: bool
) -> Any:
    """The run's one warp over the batch (dense, or a list of images of their own sizes: one call either
    way). Where antialiasing applies, the samples that shrink 2x or more are first area-reduced by their
    integer factors, each only over the region its warp reads (_read_regions: a view, no copy), one ragged
    resize per factor, and join the others in the one warp (a list of the reduced and untouched samples,
    each matrix adjusted: the region's offset and the reduction's scale folded in)."""
    factors = np.ones((len(mats), 2), np.int64)
    if antialias and run.interp != "nearest":
        factors = np.minimum(reduction_factors(mats, size), sizes)
    shrink = (factors > 1).any(axis=1)
    if not shrink.any():
        return _warp(images, mats, size, run.interp, run.border, run.fill)
    sources, mats = list(images), mats.copy()
    regions = _read_regions(mats[shrink], sizes[shrink], factors[shrink], size, run)
    box = np.zeros((len(mats), 4), np.int64)
    box[shrink] = regions
    keys = factors[:, 0] * (1 << 20) + factors[:, 1]
    for key in np.unique(keys[shrink]):
        index = np.flatnonzero(keys == key)
        ky, kx = int(key >> 20), int(key & ((1 << 20) - 1))
        views = [sources[i][box[i, 0] : box[i, 2], box[i, 1] : box[i, 3]] for i in index]
        heights, widths = box[index, 2] - box[index, 0], box[index, 3] - box[index, 1]
        targets = [(max(int(h) // ky, 1), max(int(w) // kx, 1)) for h, w in zip(heights, widths, strict=True)]
        reduced = F.resize(views, targets, "area")
        for i, small, h, w in zip(index, reduced, heights, widths, strict=True):
            sources[i] = small
            shift = np.array([[1.0, 0.0, box[i, 1]], [0.0, 1.0, box[i, 0]], [0.0, 0.0, 1.0]])
            mats[i] = mats[i] @ shift @ _scale_back(h / small.shape[0], w / small.shape[1])
    return _warp(sources, mats, size, run.interp, run.border, run.fill)


def _read_regions(
    mats: np.ndarray, sizes: np.ndarray, factors: np.ndarray, size: tuple[int, int], run: _Run
) -> np.ndarray:
    """(N, 4) int64 (y0, x0, y1, x1): per sample, the part of its source the warp reads, in source pixels,
    aligned outward to multiples of its factors (y, x) and clipped to the image, so that reducing the region
    gives the whole image's reduced pixels there (exactly where the image's size is a multiple of the factor).

    The bounding box of the inverse-mapped output pixel centres (the four corners: a projective map sends the
    rectangle to the quadrilateral they span while the denominator keeps its sign), widened by the
    interpolation window plus one reduced pixel. Reads past the image's edge go through the border: constant
    and replicate read nothing beyond the clipped region; reflect and reflect101 read the mirror image of the
    overhang, so the region also covers it (the whole axis when the overhang reflects more than once); wrap
    reads the far side, so an overhang keeps the whole axis. A sample whose corners do not map to finite
    points in front (perspective) keeps its whole image."""
    n = len(mats)
    h, w = sizes[:, 0].astype(np.float64), sizes[:, 1].astype(np.float64)
    whole = np.stack([np.zeros(n), np.zeros(n), h, w], 1).astype(np.int64)
    out_h, out_w = size
    corners = np.array(
        [[0.0, 0.0, 1.0], [out_w - 1.0, 0.0, 1.0], [0.0, out_h - 1.0, 1.0], [out_w - 1.0, out_h - 1.0, 1.0]]
    )
    with np.errstate(all="ignore"):
        q = np.linalg.inv(mats) @ corners.T  # (N, 3, 4)
        ok = (q[:, 2] > 1e-12).all(axis=1)
        x, y = q[:, 0] / q[:, 2], q[:, 1] / q[:, 2]
    ok &= np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    window = 3.0 if run.interp == "cubic" else 2.0  # reduced pixels either side: the taps plus one
    ky, kx = factors[:, 0].astype(np.float64), factors[:, 1].astype(np.float64)
    boxes = []
    for lo, hi, k, extent in ((y.min(1), y.max(1), ky, h), (x.min(1), x.max(1), kx, w)):
        lo, hi = np.where(ok, lo - window * k, 0.0), np.where(ok, hi + 1.0 + window * k, extent)
        if run.border in ("reflect", "reflect101"):
            over_lo, over_hi = lo < 0, hi > extent
            hi = np.where(over_lo, np.maximum(hi, -lo + 1.0), hi)
            lo = np.where(over_hi, np.minimum(lo, 2.0 * extent - hi - 1.0), lo)
            lo, hi = np.where(over_lo, 0.0, lo), np.where(over_hi, extent, hi)
            twice = (lo < 0) | (hi > extent)
            lo, hi = np.where(twice, 0.0, lo), np.where(twice, extent, hi)
        elif run.border == "wrap":
            over = (lo < 0) | (hi > extent)
            lo, hi = np.where(over, 0.0, lo), np.where(over, extent, hi)
        lo = np.clip(np.floor(np.clip(lo, 0.0, extent) / k) * k, 0.0, extent)
        hi = np.clip(np.ceil(np.clip(hi, 0.0, extent) / k) * k, 0.0, extent)
        boxes.append((lo, hi))
    (y0, y1), (x0, x1) = boxes
    box = np.stack([y0, x0, y1, x1], 1).astype(np.int64)
    empty = (box[:, 2] - box[:, 0] < factors[:, 0]) | (box[:, 3] - box[:, 1] < factors[:, 1])
    return np.where((ok & ~empty)[:, None], box, whole)


def _scale_back(sy: float, sx: float) -> np.ndarray:
    """Maps a reduced image's pixel coordinates to the full image's (cv2.resize's pixel mapping)."""
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _warp_mask(mask: Any, mats: np.ndarray, size: tuple[int, int], run: _Run, fill: float) -> Any:
    if isinstance(mask, list):  # one label map per sample of a list of images, each (H, W) or (H, W, C)
        if len(mask) != len(mats):
            raise ArgumentError(f"Compose: mask: expected {len(mats)} label maps (one per image), got {len(mask)}")
        warped = _warp(mask, mats, size, "nearest", run.border, fill)
        return warped if np.ndim(mask[0]) == 3 else warped[..., 0]
    shape = tuple(mask.shape)
    if len(shape) not in (3, 4) or shape[0] != len(mats):
        raise ArgumentError(f"Compose: mask: expected (N, H, W) or (N, H, W, C) with N = {len(mats)}, got {shape}")
    warped = _warp(mask if len(shape) == 4 else mask[..., None], mats, size, "nearest", run.border, fill)
    return warped if len(shape) == 4 else warped[..., 0]


def _map_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    xy = points[:, :2] @ m[:2, :2].T + m[:2, 2]
    z = points[:, :2] @ m[2, :2] + m[2, 2]
    out = points.copy()
    out[:, :2] = xy / z[:, None]
    return out


def _map_box(boxes: np.ndarray, m: np.ndarray, size: tuple[int, int], min_area: float, drop: bool) -> np.ndarray:
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    # corners in pixel-centre coordinates (a box edge at x = 0 is the left edge of pixel 0, centre -0.5)
    corners = np.stack([np.stack([x, y], 1) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], 1) - 0.5
    flat = _map_points(corners.reshape(-1, 2), m).reshape(-1, 4, 2) + 0.5
    out = boxes.copy()
    out[:, 0] = np.clip(flat[..., 0].min(1), 0, size[1])
    out[:, 1] = np.clip(flat[..., 1].min(1), 0, size[0])
    out[:, 2] = np.clip(flat[..., 0].max(1), 0, size[1])
    out[:, 3] = np.clip(flat[..., 1].max(1), 0, size[0])
    if drop:
        out = out[(out[:, 2] - out[:, 0]) * (out[:, 3] - out[:, 1]) > min_area]
    return out
