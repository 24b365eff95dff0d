"""The `augment` workload of the benchmark suite: a realistic training pipeline on a ragged batch.

RandomResizedCrop to 224 (scale 0.35-1, ratio 3/4-4/3), horizontal flip p=0.5, rotation +-15 degrees with a
reflect-101 border, ColorJitter(0.4, 0.4, 0.4) p=0.8, GaussianBlur 5x5 sigma 0.1-2 p=0.5, Equalize p=0.2,
Normalize to float32 NCHW, on 64 RGB photographs of mixed sizes 256-512 px cut from scikit-image's samples.

- fastaug: one Compose call on the list (the geometric chain is one warp per sample, with its INTER_AREA
  pre-reduction where a sample shrinks 2x or more).
- albumentations and torchvision.transforms.v2: the pipeline as their documentation writes it, per image;
  `-pool` runs the images in a pool of one worker per core with OpenCV's / torch's own threads off (how
  DataLoader workers run them), the plain name in a loop with their own threads. torchvision's
  RandomRotation has no reflect border (it fills with 0) and its ColorJitter has no per-sample p (RandomApply).
- opencv / opencv-pool: the careful engineer's hand-fused version: per image one matrix for crop, resize,
  flip and rotation (INTER_AREA pre-reduction when it shrinks 2x or more, as fastaug), one cv2.warpAffine,
  the colour jitter as one cv2.transform matrix, cv2.GaussianBlur, cv2.equalizeHist, and the normalisation
  straight into the preallocated NCHW output.
Every implementation draws its own parameters in its call, from the same distributions."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

import fastaug as fa
from fastaug import transforms as T

SIZE = 224
SCALE, RATIO = (0.35, 1.0), (3 / 4, 4 / 3)
DEGREES, JITTER, JITTER_P = 15.0, 0.4, 0.8
SIGMA, BLUR_P, EQUALIZE_P = (0.1, 2.0), 0.5, 0.2
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

Call = Callable[[], Any]


def make_ragged(n: int, k: int) -> list[list[np.ndarray]]:
    """k distinct lists of n RGB uint8 photographs, each a random crop of 256-512 px per side (as the
    photograph allows) of scikit-image's samples, randomly mirrored (smooth noise without scikit-image)."""
    rng = np.random.default_rng(0)
    try:
        from skimage import data

        photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.immunohistochemistry()]
    except ImportError:
        photos = [fa.resize(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), (512, 640), "cubic") for _ in range(4)]
    out = []
    for _ in range(k):
        images = []
        for _ in range(n):
            p = photos[int(rng.integers(0, len(photos)))]
            h = int(rng.integers(256, min(512, p.shape[0]) + 1))
            w = int(rng.integers(256, min(512, p.shape[1]) + 1))
            y, x = int(rng.integers(0, p.shape[0] - h + 1)), int(rng.integers(0, p.shape[1] - w + 1))
            crop = p[y : y + h, x : x + w, :3]
            images.append(np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop))
        out.append(images)
    return out


def input_bytes(images: Any) -> int:
    """Bytes of a uint8 batch: a dense (N, H, W, C) one or a list of images."""
    return int(sum(int(np.prod(tuple(x.shape))) for x in images))


def pipeline(seed: int | None = 0) -> T.Compose:
    return T.Compose(
        [
            T.RandomResizedCrop(SIZE, scale=SCALE, ratio=RATIO),
            T.HorizontalFlip(p=0.5),
            T.Affine(degrees=DEGREES, border="reflect101"),
            T.ColorJitter(JITTER, JITTER, JITTER, p=JITTER_P),
            T.GaussianBlur(5, sigma=SIGMA, p=BLUR_P),
            T.RandomEqualize(p=EQUALIZE_P),
            T.Normalize(MEAN, STD),
        ],
        seed=seed,
    )


def fastaug_call(images: list[Any], out: Any) -> Call:
    pipe = pipeline()
    return lambda: pipe(images, out=out)


# ----------------------------------------------------------------------------------------------- peers


def albumentations_pipeline() -> Any:
    """The workload's pipeline in albumentations (HWC uint8 in, HWC float32 out)."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A
    import cv2

    return A.Compose(
        [
            A.RandomResizedCrop(size=(SIZE, SIZE), scale=SCALE, ratio=RATIO),
            A.HorizontalFlip(p=0.5),
            A.Rotate(limit=DEGREES, border_mode=cv2.BORDER_REFLECT_101, p=1.0),
            A.ColorJitter(brightness=JITTER, contrast=JITTER, saturation=JITTER, hue=0.0, p=JITTER_P),
            A.GaussianBlur(blur_limit=(5, 5), sigma_limit=SIGMA, p=BLUR_P),
            A.Equalize(p=EQUALIZE_P),
            A.Normalize(MEAN, STD),
        ]
    )


def _albumentations_each(images: list[np.ndarray], out: np.ndarray) -> Callable[[int], Any]:
    pipe = albumentations_pipeline()

    def each(i: int) -> None:
        out[i] = pipe(image=images[i])["image"].transpose(2, 0, 1)

    return each


def torchvision_pipeline() -> Any:
    """The workload's pipeline in torchvision.transforms.v2 (CHW uint8 tensor in, CHW float32 out)."""
    import torch
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.RandomResizedCrop(SIZE, scale=SCALE, ratio=RATIO, antialias=True),
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomRotation(DEGREES, interpolation=v2.InterpolationMode.BILINEAR),
            v2.RandomApply([v2.ColorJitter(JITTER, JITTER, JITTER)], p=JITTER_P),
            v2.RandomApply([v2.GaussianBlur(5, sigma=SIGMA)], p=BLUR_P),
            v2.RandomEqualize(p=EQUALIZE_P),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )


def _torchvision_each(images: list[np.ndarray], out: np.ndarray) -> Callable[[int], Any]:
    import torch

    pipe = torchvision_pipeline()
    tensors = [torch.from_numpy(x).permute(2, 0, 1) for x in images]  # CHW views, as a decoder gives them
    target = torch.from_numpy(out)

    def each(i: int) -> None:
        target[i].copy_(pipe(tensors[i]))

    return each


def _crop_box(rng: np.random.Generator, h: int, w: int) -> tuple[float, float, float, float]:
    """torchvision's RandomResizedCrop draw: (top, left, height, width)."""
    area = h * w
    for _ in range(10):
        target = area * rng.uniform(*SCALE)
        aspect = math.exp(rng.uniform(math.log(RATIO[0]), math.log(RATIO[1])))
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            return float(rng.integers(0, h - ch + 1)), float(rng.integers(0, w - cw + 1)), ch, cw
    side = min(h, w)
    return (h - side) / 2, (w - side) / 2, side, side


def _opencv_each(images: list[np.ndarray], out: np.ndarray) -> Callable[[int], Any]:
    import cv2

    from fastaug.transforms.color import jitter_matrices

    local = threading.local()
    a = 1 / (255 * np.float32(STD))
    b = -np.float32(MEAN) / np.float32(STD)
    centre = (SIZE - 1) / 2

    def each(i: int) -> None:
        if not hasattr(local, "rng"):
            local.rng = np.random.default_rng(threading.get_ident())
            local.t1, local.t2 = np.empty((SIZE, SIZE, 3), np.uint8), np.empty((SIZE, SIZE, 3), np.uint8)
        rng, t1, t2, src = local.rng, local.t1, local.t2, images[i]
        top, left, ch, cw = _crop_box(rng, *src.shape[:2])
        fy, fx = max(1, int(ch // SIZE)), max(1, int(cw // SIZE))
        if fy > 1 or fx > 1:  # antialiasing: area pre-reduction by the integer factor, then the warp
            y0, x0 = int(top), int(left)
            src = cv2.resize(src[y0 : y0 + ch, x0 : x0 + cw], (cw // fx, ch // fy), interpolation=cv2.INTER_AREA)
            top = left = 0.0
            ch, cw = ch / fy, cw / fx
        sx, sy = SIZE / cw, SIZE / ch
        m = np.array([[sx, 0, (0.5 - left) * sx - 0.5], [0, sy, (0.5 - top) * sy - 0.5], [0, 0, 1]])
        if rng.random() < 0.5:
            m = np.array([[-1, 0, SIZE - 1], [0, 1, 0], [0, 0, 1]]) @ m
        rot = cv2.getRotationMatrix2D((centre, centre), rng.uniform(-DEGREES, DEGREES), 1.0)
        m = np.vstack([rot, [0, 0, 1]]) @ m
        cv2.warpAffine(src, m[:2], (SIZE, SIZE), dst=t1, borderMode=cv2.BORDER_REFLECT_101)
        x = t1
        if rng.random() < JITTER_P:
            factors = np.array([[*rng.uniform(1 - JITTER, 1 + JITTER, 3), 0.0]])
            means = np.array([cv2.mean(t1)[:3]])
            mat = jitter_matrices(factors, rng.permuted(np.arange(4))[None], means, 3)[0]
            x = cv2.transform(t1, mat, dst=t2)
        if rng.random() < BLUR_P:
            y = t1 if x is t2 else t2
            x = cv2.GaussianBlur(x, (5, 5), rng.uniform(*SIGMA), dst=y, borderType=cv2.BORDER_REFLECT_101)
        planes = cv2.split(x)
        for c in range(3):
            plane = cv2.equalizeHist(planes[c]) if rng.random() < EQUALIZE_P else planes[c]
            np.multiply(plane, a[c], out=out[i, c])
            out[i, c] += b[c]

    return each


def _each(n: int, threads: int, each: Callable[[int], Any], pool: Any, peer: str) -> Call:
    """each(i) for every image: in a loop with the library's own threads, or from the pool (one worker per
    thread, the library's threads off inside it)."""
    import cv2

    if pool is None:
        return lambda: [each(i) for i in range(n)]
    shares = np.array_split(np.arange(n), threads)

    def run() -> None:
        torch = __import__("torch") if peer == "torchvision" else None
        cv2.setNumThreads(1)
        before = torch.get_num_threads() if torch else 0
        if torch:
            torch.set_num_threads(1)
        try:
            list(pool.map(lambda share: [each(int(i)) for i in share], shares))
        finally:
            cv2.setNumThreads(threads)
            if torch:
                torch.set_num_threads(before)

    return run


EACH = {"opencv": _opencv_each, "albumentations": _albumentations_each, "torchvision": _torchvision_each}


def peer_call(peer: str, images: list[np.ndarray], out: np.ndarray, threads: int, pool: Any) -> Call | None:
    """The peer's call over the batch (pool: a thread pool, or None for the plain loop), or None if it has no
    version of this workload."""
    each = EACH.get(peer.removesuffix("-pool"))
    if each is None:
        return None
    return _each(len(images), threads, each(images, out), pool, peer.removesuffix("-pool"))
