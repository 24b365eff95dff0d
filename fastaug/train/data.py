"""Datasets for the trainers and the metrics that work offline on a fresh machine: images as float32 torch
tensors (N, C, H, W) in [-1, 1], integer labels, a fixed held-out split and a seeded training subset.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes, 1 channel, values 0..16),
  enlarged to size x size with fastaug.resize (bilinear, half-pixel centres); white digits on black.
- ``photos``: random crops of scikit-image's bundled colour photographs (astronaut, chelsea, coffee, rocket,
  immunohistochemistry; 3 channels; label = the photograph): each photograph is cut into non-overlapping
  blocks of 4*size pixels (fastaug.tiles), a fixed `split` share of each photograph's blocks is held out,
  and each block gives 48 crops of 2*size pixels drawn from its grid of crops every size/4 pixels
  (fastaug.tiles again, the seeds' "data slicing"), shrunk to size x size (fastaug.resize, area). Held-out
  crops share no pixel with training crops. At size 32: 2544 training and 576 held-out crops; sizes above
  75 leave chelsea (300 px) without a block and are refused.
- a folder of images (any depth; decoded by fastaug.io.decode; labels from the top-level sub-folders, sorted,
  files directly in the folder forming a class of their own): centre-cropped to a square, resized (area).
- a ``.npy`` file: (N, H, W) or (N, H, W, C) images, C in {1, 3}, uint8 (0..255) or float in [0, 1]
  (fastaug's image conventions), centre-cropped and resized like a folder's; labels all 0.

The held-out split is fixed for a source (it depends on `split` only, never on `seed` or `fraction`) and never
overlaps the training split. `fraction` keeps a seeded subset of the training split (the limited-data regime):
the first round(fraction * n) indices of a permutation drawn from `seed`, so for one seed a smaller fraction's
subset lies inside a larger one's."""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import torch

import fastaug as fa

from .._errors import ArgumentError, ArgumentTypeError

DATASETS = ("digits", "photos")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
HELD_OUT_SEED = 20261201  # fixed: the held-out split never depends on the caller's seed
CROPS_PER_BLOCK = 48
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: `train` (the kept training subset) and `held_out`, float32 (N, C, H, W) tensors in
    [-1, 1], with int64 label tensors; `train_indices` and `held_out_indices` are their images' positions in
    the source (sorted); `n_train_full` is the size of the whole training split; `classes` names the labels."""

    name: str
    train: torch.Tensor
    train_labels: torch.Tensor
    held_out: torch.Tensor
    held_out_labels: torch.Tensor
    classes: tuple[str, ...]
    fraction: float
    seed: int
    train_indices: np.ndarray
    held_out_indices: np.ndarray
    n_train_full: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.train.shape[1:]
        return int(c), int(h), int(w)

    def __repr__(self) -> str:
        c, h, w = self.shape
        return (
            f"Dataset({self.name!r}, train={len(self.train)}/{self.n_train_full} (fraction {self.fraction:g}, "
            f"seed {self.seed}), held_out={len(self.held_out)}, {c}x{h}x{w}, {len(self.classes)} classes)"
        )


def _check_share(name: str, value: Any, want: str, inside: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ArgumentTypeError(f"{name}: expected a number, got {type(value).__name__}")
    v = float(value)
    if math.isnan(v) or not inside(v):
        raise ArgumentError(f"{name}: expected {want}, got {value!r}")
    return v


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < low:
        raise ArgumentError(f"{name}: expected an int >= {low}, got {value}")
    return int(value)


def held_out_indices(n: int, split: float) -> np.ndarray:
    """The fixed held-out positions (sorted) among n images: round(split * n) of them, at least 1 and at most
    n - 1, drawn from a constant seed."""
    k = min(max(round(split * n), 1), n - 1)
    return np.sort(np.random.default_rng(HELD_OUT_SEED).permutation(n)[:k])


def subset_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """The seeded training subset (sorted positions among n): round(fraction * n) images, at least 1; for one
    seed the subsets are nested (a prefix of one permutation)."""
    k = max(round(fraction * n), 1)
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])


# ------------------------------------------------------------------------------------------------- sources


@functools.lru_cache(maxsize=2)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ArgumentError(
            "name_or_path: 'digits' needs scikit-learn (pip install 'fastaug[train]' or scikit-learn)"
        ) from e
    d = load_digits()
    images = np.ascontiguousarray(d.images.astype(np.float32)[..., None])  # (1797, 8, 8, 1), 0..16
    return images, d.target.astype(np.int64)


def _digits(size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], dict[str, Any]]:
    images, labels = _digits_raw()
    # values 0..16 -> [-1, 1]; bilinear interpolation keeps them inside
    x = fa.resize(images / np.float32(8.0) - np.float32(1.0), (size, size), "linear")
    return x.reshape(len(x), size, size, 1), labels, tuple(str(i) for i in range(10)), {"source": "sklearn digits"}


def _photos(size: int, split: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], dict[str, Any]]:
    """Blocks of 4*size px per photograph, a fixed `split` of each photograph's blocks held out; 48 crops of
    2*size px per block from its crop grid (stride size/4); returns uint8 images, labels, held-out mask."""
    try:
        from skimage import data
    except ImportError as e:
        raise ArgumentError(
            "name_or_path: 'photos' needs scikit-image (pip install 'fastaug[train]' or scikit-image)"
        ) from e
    block, crop, stride = 4 * size, 2 * size, max(size // 4, 1)
    rng = np.random.default_rng(HELD_OUT_SEED)
    images, labels, held = [], [], []
    for label, name in enumerate(PHOTOS):
        photo = np.ascontiguousarray(getattr(data, name)()[..., :3])
        if min(photo.shape[:2]) < block:
            raise ArgumentError(f"size: {size} is too large for the photos (blocks of {block} px)")
        blocks = fa.tiles(photo, (block, block))  # (B, block, block, 3)
        crops = fa.tiles(blocks, (crop, crop), (stride, stride))  # (B * T, crop, crop, 3), block-major
        per_block = len(crops) // len(blocks)
        k = min(CROPS_PER_BLOCK, per_block)
        pick = np.concatenate([b * per_block + rng.choice(per_block, k, replace=False) for b in range(len(blocks))])
        n_held = min(max(round(split * len(blocks)), 1), len(blocks) - 1)
        held_blocks = np.zeros(len(blocks), bool)
        held_blocks[rng.choice(len(blocks), n_held, replace=False)] = True
        images.append(fa.resize(np.ascontiguousarray(crops[pick]), (size, size), "area"))
        labels.append(np.full(len(pick), label, np.int64))
        held.append(np.repeat(held_blocks, k))
    info = {"source": "scikit-image photographs", "block": block, "crop": crop, "crops_per_block": CROPS_PER_BLOCK}
    return np.concatenate(images), np.concatenate(labels), np.concatenate(held), PHOTOS, info


def _square(images: list[np.ndarray], size: int) -> np.ndarray:
    """Centre-crops each (H, W, C) image to a square and resizes all of them to size x size in one call."""
    squares = []
    for img in images:
        h, w = img.shape[:2]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        squares.append(np.ascontiguousarray(img[top : top + s, left : left + s]))
    if all(sq.shape == squares[0].shape for sq in squares):
        return np.asarray(fa.resize(np.stack(squares), (size, size), "area"))
    return np.stack(fa.resize(squares, (size, size), "area"))


def _folder(root: str, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], dict[str, Any]]:
    from ..io import IMAGE_EXTENSIONS, decode

    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        found += [os.path.join(folder, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
    images, paths, unreadable = [], [], []
    for path in found:
        try:
            img = decode(path, 1, "RGB")
        except ArgumentError:
            unreadable.append(path)
            continue
        images.append(img if img.ndim == 3 else img[..., None])
        paths.append(path)
    if not images:
        raise ArgumentError(
            f"name_or_path: no readable image in the folder {root!r} "
            f"({len(found)} files with an image extension, {len(unreadable)} unreadable)"
        )
    if unreadable:
        warnings.warn(
            f"name_or_path: skipped {len(unreadable)} unreadable image(s) in {root!r}, e.g. {unreadable[0]!r}",
            stacklevel=3,
        )
    rel = [os.path.relpath(p, root).split(os.sep) for p in paths]
    top = [parts[0] if len(parts) > 1 else "." for parts in rel]
    classes = tuple(sorted(set(top)))
    labels = np.array([classes.index(t) for t in top], np.int64)
    info = {"source": f"folder {root}", "files": len(paths), "unreadable": len(unreadable)}
    return _square(images, size), labels, classes, info


def _npy(path: str, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], dict[str, Any]]:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ArgumentError(f"name_or_path: cannot read {path!r} as a .npy array: {e}") from e
    if not isinstance(arr, np.ndarray):
        raise ArgumentError(f"name_or_path: {path!r} holds several arrays (.npz?), expected one .npy array")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or arr.shape[0] < 2 or min(arr.shape[1:3]) < 1:
        raise ArgumentError(
            f"name_or_path: {path!r}: expected images (N, H, W) or (N, H, W, C) with C in {{1, 3}} and N >= 2, "
            f"got shape {arr.shape}"
        )
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ArgumentError(f"name_or_path: {path!r}: float images must be finite and in [0, 1]")
    else:
        raise ArgumentError(f"name_or_path: {path!r}: expected uint8 or float images, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr)
    x = _square(list(arr), size) if arr.shape[1:3] != (size, size) else arr
    if x.dtype != np.uint8:  # floats in [0, 1] -> [-1, 1] (uint8 is scaled by _to_tensor)
        x = x * np.float32(2.0) - np.float32(1.0)
    info = {"source": f"npy {path}"}
    return x.reshape(len(x), size, size, arr.shape[-1]), np.zeros(len(x), np.int64), ("0",), info


# ---------------------------------------------------------------------------------------------- load_dataset


def _to_tensor(x: np.ndarray, channels: int | None) -> torch.Tensor:
    """(N, H, W, C) uint8 (0..255) or float32 already in [-1, 1] -> float32 (N, C, H, W) in [-1, 1]."""
    x = x.astype(np.float32) / np.float32(127.5) - np.float32(1.0) if x.dtype == np.uint8 else x.astype(np.float32)
    x = np.clip(x, -1.0, 1.0)
    if channels is not None and channels != x.shape[-1]:
        x = x @ np.array(LUMA, np.float32)[:, None] if channels == 1 else np.repeat(x, 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def load_dataset(
    name_or_path: str | os.PathLike[str],
    size: int = 32,
    fraction: float = 1.0,
    seed: int = 0,
    split: float = 0.2,
    *,
    channels: int | None = None,
) -> Dataset:
    """Loads `name_or_path` ("digits", "photos", a folder of images or a .npy file; see the module docstring)
    as size x size images, float32 (N, C, H, W) tensors in [-1, 1].

    - fraction: the kept share of the training split, 0 < fraction <= 1 (a seeded subset, `seed`).
    - split: the held-out share, 0 < split < 1 (fixed for a source: it never depends on `seed`).
    - channels: None keeps the source's (digits 1, photos 3, a folder 3, a .npy its own); 1 converts colour
      to luma (0.299 R + 0.587 G + 0.114 B), 3 repeats a grey channel.

    Errors (fastaug.ArgumentError naming the option): an unknown name, a folder with no readable image, a .npy
    file that is not an image array, values out of range."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ArgumentTypeError(f"name_or_path: expected a dataset name or a path, got {type(name_or_path).__name__}")
    size = _check_int("size", size, 4)
    fraction = _check_share("fraction", fraction, "0 < fraction <= 1", lambda v: 0.0 < v <= 1.0)
    split = _check_share("split", split, "0 < split < 1", lambda v: 0.0 < v < 1.0)
    seed = _check_int("seed", seed, 0)
    if channels is not None and (isinstance(channels, bool) or channels not in (1, 3)):
        raise ArgumentError(f"channels: expected None, 1 or 3, got {channels!r}")
    source = os.fspath(name_or_path)
    held: np.ndarray | None = None
    if source == "digits":
        x, labels, classes, info = _digits(size)
    elif source == "photos":
        x, labels, held_mask, classes, info = _photos(size, split)
        held = np.flatnonzero(held_mask)
    elif os.path.isdir(source):
        x, labels, classes, info = _folder(source, size)
    elif os.path.isfile(source) and source.lower().endswith(".npy"):
        x, labels, classes, info = _npy(source, size)
    elif os.path.exists(source):
        raise ArgumentError(f"name_or_path: {source!r} is neither a folder of images nor a .npy file")
    else:
        raise ArgumentError(
            f"name_or_path: unknown dataset {source!r}: expected one of {DATASETS}, a folder of images or a .npy file"
        )
    n = len(x)
    if n < 2:
        raise ArgumentError(f"name_or_path: {source!r} has {n} image; a training and a held-out split need 2")
    if held is None:
        held = held_out_indices(n, split)
    train_pool = np.setdiff1d(np.arange(n), held)
    keep = subset_indices(len(train_pool), fraction, seed)
    train_idx = train_pool[keep]
    images = _to_tensor(x, channels)
    labels_t = torch.from_numpy(labels)
    info = {**info, "split": split, "size": size}
    return Dataset(
        name=source,
        train=images[torch.from_numpy(train_idx)].contiguous(),
        train_labels=labels_t[torch.from_numpy(train_idx)].contiguous(),
        held_out=images[torch.from_numpy(held)].contiguous(),
        held_out_labels=labels_t[torch.from_numpy(held)].contiguous(),
        classes=classes,
        fraction=fraction,
        seed=seed,
        train_indices=train_idx,
        held_out_indices=held,
        n_train_full=len(train_pool),
        info=info,
    )
