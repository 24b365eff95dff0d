"""The CUDA cases shared by tests/test_cuda_gpu.py (conformance on a GPU) and tests/gpu_sanitize.py (the
compute-sanitizer script): every operator with per-sample parameters, on photographs and noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import fastaug as fa
from conftest import make_image

N = 3
RNG = np.random.default_rng(5)
M = fa.affine_matrix(RNG.uniform(-40, 40, N), scale=RNG.uniform(0.7, 1.3, N), center=(60, 40))
H = np.stack([np.array([[1, 0.1 * i, 2], [0.02, 1, -3], [1e-4 * i, 2e-4, 1]]) for i in range(N)])
TABLES = RNG.integers(0, 256, (N, 4, 256)).astype(np.uint8)  # one table per sample and channel


def _color_matrices(c: int) -> np.ndarray:
    """A diagonal matrix, small coefficients (OpenCV's fixed point for C = 3) and large ones (its float
    chain): every branch of color_transform in one batch."""
    diagonal = np.concatenate([np.diag(RNG.uniform(0.5, 1.5, c)), RNG.normal(0, 20, (c, 1))], 1)
    small = RNG.normal(0, 0.5, (c, c + 1)) + np.eye(c, c + 1)
    small[:, c] = RNG.normal(0, 20, c)
    return np.stack([diagonal, small, RNG.normal(0, 40, (c, c + 1))])


COLOR = {c: _color_matrices(c) for c in (1, 3, 4)}
MEANS = (0.4, 0.5, 0.6, 0.7)  # per channel
BORDERS = ("constant", "replicate", "reflect", "reflect101", "wrap")
INTERPS = ("nearest", "linear", "cubic")

Op = Callable[..., Any]
OPS: dict[str, Op] = {
    "warp_affine_linear": lambda x, **k: fa.warp_affine(x, M, interp="linear", border="reflect101", **k),
    "warp_affine_cubic": lambda x, **k: fa.warp_affine(x, M, interp="cubic", border="constant", fill=7, **k),
    "warp_affine_nearest": lambda x, **k: fa.warp_affine(x, M, interp="nearest", border="wrap", **k),
    "warp_perspective": lambda x, **k: fa.warp_perspective(x, H, size=(70, 90), border="replicate", **k),
    "resize_linear": lambda x, **k: fa.resize(x, (53, 101), "linear", **k),
    "resize_cubic": lambda x, **k: fa.resize(x, (101, 53), "cubic", **k),
    "resize_area": lambda x, **k: fa.resize(x, (23, 31), "area", **k),
    "resize_area_up": lambda x, **k: fa.resize(x, (130, 150), "area", **k),
    "resize_nearest": lambda x, **k: fa.resize(x, (90, 130), "nearest", **k),
    "flip": lambda x, **k: fa.flip(x, [0, 1, -1], **k),
    "rotate90": lambda x, **k: fa.rotate90(x, [1, 3, 5], **k),
    "crop": lambda x, **k: fa.crop(x, [(0, 0, 30, 40), (5, 7, 30, 40), (20, 30, 30, 40)], **k),
    "tiles": lambda x, **k: fa.tiles(x, (32, 32), (16, 24), **k),
    "filter2d": lambda x, **k: fa.filter2d(x, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32), **k),
    "sep_filter2d": lambda x, **k: fa.sep_filter2d(x, [1, 2, 1], [-1, 0, 1], delta=3.0, **k),
    "gaussian_blur": lambda x, **k: fa.gaussian_blur(x, 5, [0.8, 1.5, 3.0], **k),
    "gaussian_blur_7x3": lambda x, **k: fa.gaussian_blur(x, (7, 3), 0.0, border="replicate", **k),
    "box_blur": lambda x, **k: fa.box_blur(x, (3, 7), border="constant", **k),
    "box_blur_5": lambda x, **k: fa.box_blur(x, 5, **k),
    "median_blur_3": lambda x, **k: fa.median_blur(x, 3, **k),
    "median_blur_5": lambda x, **k: fa.median_blur(x, 5, **k),
    "median_blur_7": lambda x, **k: fa.median_blur(x, 7, **k),
    "sobel": lambda x, **k: fa.sobel(x, 1, 1, 5, **k),
    "sobel_dx3": lambda x, **k: fa.sobel(x, 1, 0, 3, border="reflect", **k),
    "to_gray": lambda x, **k: fa.to_gray(x, **k),
    "threshold": lambda x, **k: fa.threshold(x, [50.0, 100.5, 200.0], 255, "binary_inv", **k),
    "threshold_trunc": lambda x, **k: fa.threshold(x, [0.3, 100.0, 20.0], [1.0, 200.0, 90.0], "trunc", **k),
    "invert": lambda x, **k: fa.invert(x, **k),
    "normalize": lambda x, **k: fa.normalize(x, 0.5, 0.25, layout="NHWC", **k),
    "normalize_nchw": lambda x, **k: fa.normalize(x, 0.4, 0.3, **k),
    "normalize_f16": lambda x, **k: fa.normalize(x, 0.5, 0.25, layout="NHWC", dtype="float16", **k),
    "normalize_f16_nchw": lambda x, **k: fa.normalize(x, MEANS[: x.shape[-1]], 0.2, dtype="float16", **k),
    "color_transform": lambda x, **k: fa.color_transform(x, COLOR[x.shape[-1]], **k),
    "normalize_color": lambda x, **k: fa.normalize(x, MEANS[: x.shape[-1]], 0.2, matrix=COLOR[x.shape[-1]], **k),
    "normalize_color_f16": lambda x, **k: fa.normalize(
        x, 0.5, 0.25, layout="NHWC", dtype="float16", matrix=COLOR[x.shape[-1]][1], **k
    ),
    "hue_shift": lambda x, **k: fa.hue_shift(x, [-0.5, 0.21, 1 / 3], **k),
    # a ragged batch (views of different sizes) in one call: a dense (3, 60, 80, C) result
    "warp_affine_ragged": lambda x, **k: fa.warp_affine(
        [x[0], x[1, :50, :70], x[2, 1:, 2:]], M, (60, 80), "linear", "reflect101", **k
    ),
    "warp_perspective_ragged": lambda x, **k: fa.warp_perspective(
        [x[0, ::2], x[1, :50, :70], x[2, 1:, 2:]], H, (60, 80), "nearest", "constant", 9, **k
    ),
}
U8_ONLY: dict[str, Op] = {
    "equalize": lambda x, **k: fa.equalize(x, **k),
    "edges": lambda x, **k: fa.edges(x, **k),
    "lut": lambda x, **k: fa.lut(x, TABLES[:, : x.shape[-1]], **k),
}
ALL_OPS: dict[str, Op] = {**OPS, **U8_ONLY}
# Operators whose result is a small NumPy array (no out=; they wait for the stream), every dtype.
REDUCTIONS: dict[str, Op] = {"channel_mean": lambda x, **k: fa.channel_mean(x, **k)}


def op_dtypes(name: str) -> tuple[str, ...]:
    return ("uint8",) if name in U8_ONLY else ("uint8", "float32")


def batch(channels: int, dtype: str, h: int = 96, w: int = 128) -> np.ndarray:
    """(3, h, w, channels): two photographs and noise."""
    kinds = ("astronaut", "random", "coffee")
    imgs = [
        np.resize(make_image(kind, channels, dtype, np.random.default_rng(i)), (h, w, channels))
        if kind == "random"
        else make_image(kind, channels, dtype, np.random.default_rng(i))[:h, :w]
        for i, kind in enumerate(kinds)
    ]
    return np.ascontiguousarray(np.stack(imgs))


def warp_call(op: str, interp: str, border: str) -> Op:
    if op == "warp_affine":
        return lambda x, **k: fa.warp_affine(x, M, interp=interp, border=border, fill=99, **k)
    return lambda x, **k: fa.warp_perspective(x, H, size=(70, 90), interp=interp, border=border, fill=17, **k)


FILTERS: dict[str, Callable[[str], Op]] = {
    "filter2d": lambda b: (
        lambda x, **k: fa.filter2d(x, np.arange(15, dtype=np.float32).reshape(3, 5) / 50 - 0.1, b, fill=30, **k)
    ),
    "sep_filter2d": lambda b: lambda x, **k: fa.sep_filter2d(x, [1, -2, 4, -2, 1], [0.25, 0.5, 0.25], b, fill=40, **k),
    "gaussian_blur": lambda b: lambda x, **k: fa.gaussian_blur(x, (5, 3), [1.1, 0.6, 2.0], b, **k),
    "box_blur": lambda b: lambda x, **k: fa.box_blur(x, (5, 5), b, **k),
    "sobel": lambda b: lambda x, **k: fa.sobel(x, 0, 1, 3, scale=0.5, delta=1.0, border=b, **k),
}
