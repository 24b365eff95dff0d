"""The benchmark suite behind `fastaug bench` and `pytest --benchmark` (one definition of every workload).

Each workload is timed through every available fastaug backend, through every installed peer library
(OpenCV, albumentations, torchvision.transforms.v2, kornia, scikit-image / SciPy, numpy / torch on the
CPU; torchvision, kornia, torch, cupyx.scipy.ndimage and CV-CUDA on CUDA tensors) and through a plain
memory copy of the same bytes, all in one run. Timing rules:

- warm-up calls (Numba compiles there) are not timed;
- every implementation gets the same rounds, interleaved (round r runs every implementation once, in an
  order that rotates), so that noise from other processes hits all of them alike;
- round r reads input batch r % K (K distinct batches), so that caches do not flatter the figure;
- the median of the rounds is reported. On CUDA a round is the device time between two CUDA events recorded
  around the call while a spin kernel (torch.cuda._sleep) keeps the GPU busy, so that the host's Python
  overhead of enqueuing is not counted; it is reported apart, as `called_s`: the time per call of 10
  calls enqueued back to back (what a training loop that never waits sees, host overhead included). On
  CUDA the input batches are enough to fill three times the L2 cache, so that it cannot flatter;
- an implementation slower than 0.5 s per batch is timed in 3 rounds only, a peer slower than 2 s in 1
  (the JSON records each implementation's round count);
- fastaug, OpenCV and torch run with the same thread count, recorded per implementation.

A peer that is not installed (or fails) is skipped and named in the report, never an error.
Ratios (same run): fastaug vs the fastest peer, and vs the copy (the physical floor)."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fastaug as fa

from . import _bench_augment as augment

WORKLOADS = (
    "warp_affine",
    "warp_affine_reflect",
    "warp_perspective",
    "warp_perspective_reflect",
    "resize_down",
    "resize_down_area",
    "resize_up",
    "resize_up_area",
    "gaussian_blur",
    "box_blur",
    "median_blur",
    "filter2d",
    "equalize",
    "sobel",
    "to_gray",
    "threshold",
    "invert",
    "flip",
    "pipeline",
    "augment",  # the realistic training pipeline on a ragged batch (_bench_augment)
)
# resize workloads: (output size as a fraction of the input's height and width, interpolation)
RESIZES = {
    "resize_down": ((5 / 8, 3 / 4), "linear"),
    "resize_down_area": ((5 / 8, 3 / 4), "area"),
    "resize_up": ((5 / 4, 3 / 2), "linear"),
    "resize_up_area": ((5 / 4, 3 / 2), "area"),
}
STANDARD = {"cpu": (64, 256, 256), "cuda": (256, 224, 224)}  # images, height, width (RGB uint8)
PEERS = (
    "opencv",
    "opencv-pool",
    "albumentations",
    "albumentations-pool",
    "torchvision",
    "torchvision-pool",
    "kornia",
    "scipy",
    "skimage",
    "numpy",
    "torch",
    "cvcuda",
    "dali",
)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SIGMA = 1.1  # what cv2.GaussianBlur picks for ksize 5 when sigma = 0; every implementation gets it explicitly
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)

Call = Callable[[], Any]


class Unsupported(Exception):
    """The peer has no equivalent of this workload (or not on this device)."""


@dataclass
class Params:
    """Everything a workload needs besides the batch: fixed matrices and the pipeline's random draws."""

    n: int
    h: int
    w: int
    M: np.ndarray = field(init=False)
    H: np.ndarray = field(init=False)
    sizes: dict[str, tuple[int, int]] = field(init=False)
    angles: np.ndarray = field(init=False)
    Ms: np.ndarray = field(init=False)
    codes: np.ndarray = field(init=False)
    sigmas: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n, h, w = self.n, self.h, self.w
        self.M = fa.affine_matrix(20.0, scale=0.9, center=(w / 2, h / 2))[0]  # = cv2.getRotationMatrix2D
        self.H = np.array([[1.0, 0.1, -0.05 * w], [0.05, 1.0, 0.0], [0.05 / w, 0.025 / h, 1.0]])
        self.sizes = {work: (round(h * fy), round(w * fx)) for work, ((fy, fx), _) in RESIZES.items()}
        rng = np.random.default_rng(1)
        self.angles = rng.uniform(-20, 20, n)
        self.Ms = fa.affine_matrix(self.angles, scale=rng.uniform(0.9, 1.1, n), center=(w / 2, h / 2))
        self.codes = rng.choice(np.array([0, 1, -1], np.int32), n)
        self.sigmas = rng.uniform(0.1, 1.5, n)


def output_spec(work: str, p: Params) -> tuple[tuple[int, ...], str]:
    """fastaug's output for the workload (shape, dtype): the bytes counted in GB/s and copied by the floor."""
    n, h, w = p.n, p.h, p.w
    special = {
        "sobel": ((n, h, w, 3), "float32"),
        "to_gray": ((n, h, w, 1), "uint8"),
        "pipeline": ((n, 3, h, w), "float32"),
        "augment": ((n, 3, augment.SIZE, augment.SIZE), "float32"),
    }
    special.update({work: ((n, *size, 3), "uint8") for work, size in p.sizes.items()})
    return special.get(work, ((n, h, w, 3), "uint8"))


def border_of(work: str) -> str:
    """The warp workloads' border: OpenCV's default (constant 0), or reflect101 (what RandomAffine users pick)."""
    return "reflect101" if work.endswith("_reflect") else "constant"


# ----------------------------------------------------------------------------------------------- device


@dataclass
class Env:
    device: str  # "cpu" | "cuda"
    threads: int

    def empty(self, shape: Sequence[int], dtype: str) -> Any:
        if self.device == "cpu":
            return np.empty(shape, dtype)
        import torch

        return torch.empty(tuple(shape), dtype=getattr(torch, dtype), device="cuda")

    def pool(self) -> ThreadPoolExecutor:
        """One worker per thread, made on first use (the per-image peers' pool variant)."""
        if not hasattr(self, "_pool"):
            self._pool = ThreadPoolExecutor(self.threads)
        return self._pool

    def sync(self) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()

    def torch(self, batch: Any) -> Any:
        """The batch as a torch tensor on this device (NHWC uint8), made outside the timed region."""
        import torch

        return torch.from_numpy(batch) if isinstance(batch, np.ndarray) else batch

    def name(self) -> str:
        if self.device == "cuda":
            import torch

            return str(torch.cuda.get_device_name())
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or platform.machine()


def set_threads(n: int) -> None:
    """The same thread count for fastaug (native and Numba), OpenCV and torch."""
    fa.set_num_threads(n)
    for name, setter in (("cv2", "setNumThreads"), ("torch", "set_num_threads")):
        module = _quiet_import(name)
        if module is not None:
            getattr(module, setter)(n)


def make_batches(n: int, h: int, w: int, k: int) -> list[np.ndarray]:
    """k distinct (n, h, w, 3) uint8 batches of photographs (scikit-image's, if installed; smooth noise
    otherwise), each image shifted differently so that no two are equal."""
    rng = np.random.default_rng(0)
    try:
        from skimage import data

        photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    except ImportError:
        photos = [fa.resize(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), (256, 256), "cubic") for _ in range(4)]
    photos = [fa.resize(np.ascontiguousarray(p), (h, w), "area") for p in photos]
    out = []
    for _ in range(k):
        b = np.empty((n, h, w, 3), np.uint8)
        for i in range(n):
            img = photos[int(rng.integers(0, len(photos)))]
            b[i] = np.roll(img, (int(rng.integers(0, h)), int(rng.integers(0, w))), axis=(0, 1))
        out.append(b)
    return out


# ---------------------------------------------------------------------------------------------- fastaug


def fastaug_call(work: str, b: Any, env: Env, p: Params, fresh: bool = True) -> Call:
    """The workload as fastaug functional calls on the whole batch: as users call them (fresh outputs,
    allocated by the caller's framework on every call), or into preallocated outputs (out=)."""
    out = None if fresh else env.empty(*output_spec(work, p))
    if work == "augment":
        return augment.fastaug_call(b, out)
    t1, t2 = (None, None) if fresh else (env.empty(b.shape, "uint8"), env.empty(b.shape, "uint8"))

    def pipeline() -> Any:
        y = fa.warp_affine(b, p.Ms, border="reflect101", out=t1)
        y = fa.flip(y, p.codes, out=t2)
        y = fa.gaussian_blur(y, 5, p.sigmas, out=t1)
        return fa.normalize(y, MEAN, STD, out=out)

    calls: dict[str, Call] = {
        "gaussian_blur": lambda: fa.gaussian_blur(b, 5, SIGMA, out=out),
        "box_blur": lambda: fa.box_blur(b, 5, out=out),
        "median_blur": lambda: fa.median_blur(b, 5, out=out),
        "filter2d": lambda: fa.filter2d(b, SHARPEN, out=out),
        "equalize": lambda: fa.equalize(b, out=out),
        "sobel": lambda: fa.sobel(b, 1, 0, 3, out=out),
        "to_gray": lambda: fa.to_gray(b, out=out),
        "threshold": lambda: fa.threshold(b, 127, 255, out=out),
        "invert": lambda: fa.invert(b, out=out),
        "flip": lambda: fa.flip(b, 1, out=out),
        "pipeline": pipeline,
    }
    for name in ("warp_affine", "warp_affine_reflect"):
        calls[name] = lambda border=border_of(name): fa.warp_affine(b, p.M, border=border, out=out)
    for name in ("warp_perspective", "warp_perspective_reflect"):
        calls[name] = lambda border=border_of(name): fa.warp_perspective(b, p.H, border=border, out=out)
    for name, (_, interp) in RESIZES.items():
        calls[name] = lambda size=p.sizes[name], interp=interp: fa.resize(b, size, interp, out=out)
    return calls[work]


def copy_call(work: str, b: Any, env: Env, p: Params) -> Call:
    """The floor: one copy (np.copyto / Tensor.copy_) that reads and writes the workload's bytes, i.e. a
    buffer of (input + output bytes) / 2: the least memory traffic any implementation of the workload has."""
    shape, dtype = output_spec(work, p)
    in_bytes = augment.input_bytes(b) if isinstance(b, list) else int(np.prod(b.shape))
    half = (in_bytes + int(np.prod(shape)) * np.dtype(dtype).itemsize) // 2
    src, dst = env.empty((half,), "uint8"), env.empty((half,), "uint8")
    src[...] = 1
    if env.device == "cpu":
        return lambda: np.copyto(dst, src)
    return lambda: dst.copy_(src)


def copy_bytes(record: dict[str, Any]) -> int:
    """Bytes the copy floor of a record moved (read + written). Runs before 2026-11-30 copied input-sized
    and output-sized buffers: twice the workload's bytes."""
    return int(record.get("copy_bytes", 2 * (record["in_bytes"] + record["out_bytes"])))


# ------------------------------------------------------------------------------------------------ peers
# Each peer computes the closest equivalent of the workload; where semantics differ, a comment says how.
# A peer raises Unsupported for workloads it has no equivalent for.


def _pick(calls: dict[str, Call], work: str) -> Call:
    if work not in calls:
        raise Unsupported("no equivalent")
    return calls[work]


def _cpu_only(env: Env) -> None:
    if env.device != "cpu":
        raise Unsupported("CPU only")


def _each_image(env: Env, n: int, f: Callable[[int], Any], pool: bool) -> Call:
    """f(i) for every image i: a loop with cv2's own threads (env.threads), or `pool`: env.threads workers
    each taking a contiguous share of the batch with cv2's threading off (how DataLoader workers run
    per-image libraries). cv2 releases the GIL, so the workers run in parallel."""
    import cv2

    if not pool:
        return lambda: [f(i) for i in range(n)]
    shares = [
        range(int(a), int(z))
        for a, z in zip(np.linspace(0, n, env.threads + 1)[:-1], np.linspace(0, n, env.threads + 1)[1:], strict=True)
    ]

    def run() -> None:
        cv2.setNumThreads(1)
        try:
            list(env.pool().map(lambda share: [f(i) for i in share], shares))
        finally:
            cv2.setNumThreads(env.threads)

    return run


def _opencv_each(work: str, b: np.ndarray, env: Env, p: Params) -> Callable[[int], Any]:
    """cv2 on image i, into a preallocated output (what an optimised per-image pipeline does)."""
    import cv2

    _cpu_only(env)
    out = np.empty(*output_spec(work, p))
    w, h = p.w, p.h
    mean, inv = np.float32(MEAN) * 255, 1 / (np.float32(STD) * 255)
    local = threading.local()  # the pipeline's per-thread temporaries

    def pipeline(i: int) -> None:
        if not hasattr(local, "t1"):
            local.t1, local.t2 = np.empty_like(b[0]), np.empty_like(b[0])
        t1, t2 = local.t1, local.t2
        cv2.warpAffine(b[i], p.Ms[i], (w, h), dst=t1, borderMode=cv2.BORDER_REFLECT_101)
        cv2.flip(t1, int(p.codes[i]), dst=t2)
        cv2.GaussianBlur(t2, (5, 5), float(p.sigmas[i]), dst=t1)
        out[i] = ((t1.astype(np.float32) - mean) * inv).transpose(2, 0, 1)

    cv_border = {"constant": cv2.BORDER_CONSTANT, "reflect101": cv2.BORDER_REFLECT_101}
    cv_interp = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
    calls: dict[str, Callable[[int], Any]] = {
        "gaussian_blur": lambda i: cv2.GaussianBlur(b[i], (5, 5), SIGMA, dst=out[i]),
        "box_blur": lambda i: cv2.blur(b[i], (5, 5), dst=out[i]),
        "median_blur": lambda i: cv2.medianBlur(b[i], 5, dst=out[i]),
        "filter2d": lambda i: cv2.filter2D(b[i], -1, SHARPEN, dst=out[i]),
        # equalizeHist takes one channel: split, equalise each, merge (what OpenCV users write)
        "equalize": lambda i: cv2.merge([cv2.equalizeHist(c) for c in cv2.split(b[i])], dst=out[i]),
        "sobel": lambda i: cv2.Sobel(b[i], cv2.CV_32F, 1, 0, dst=out[i], ksize=3),
        "to_gray": lambda i: cv2.cvtColor(b[i], cv2.COLOR_RGB2GRAY, dst=out[i, ..., 0]),
        "threshold": lambda i: cv2.threshold(b[i], 127, 255, cv2.THRESH_BINARY, dst=out[i]),
        "invert": lambda i: cv2.bitwise_not(b[i], dst=out[i]),
        "flip": lambda i: cv2.flip(b[i], 1, dst=out[i]),
        "pipeline": pipeline,
    }
    for name in ("warp_affine", "warp_affine_reflect"):
        calls[name] = lambda i, bm=cv_border[border_of(name)]: cv2.warpAffine(
            b[i], p.M, (w, h), dst=out[i], borderMode=bm
        )
    for name in ("warp_perspective", "warp_perspective_reflect"):
        calls[name] = lambda i, bm=cv_border[border_of(name)]: cv2.warpPerspective(
            b[i], p.H, (w, h), dst=out[i], borderMode=bm
        )
    for name, (_, interp) in RESIZES.items():
        calls[name] = lambda i, size=p.sizes[name][::-1], ip=cv_interp[interp]: cv2.resize(
            b[i], size, dst=out[i], interpolation=ip
        )
    return calls[work]


def _opencv(work: str, b: np.ndarray, env: Env, p: Params) -> Call:
    """cv2 called per image in a loop, with OpenCV's own threads."""
    return _each_image(env, p.n, _opencv_each(work, b, env, p), pool=False)


def _opencv_pool(work: str, b: np.ndarray, env: Env, p: Params) -> Call:
    """cv2 called per image from a pool of one worker per thread, OpenCV's own threading off."""
    return _each_image(env, p.n, _opencv_each(work, b, env, p), pool=True)


def _albumentations_each(work: str, b: np.ndarray, env: Env, p: Params) -> Callable[[int], Any]:
    """albumentations transforms (p=1, parameter ranges pinned to the workload's values) on image i.
    They run OpenCV underneath, plus albumentations' per-call parameter handling."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A
    import cv2

    _cpu_only(env)
    out = np.empty(*output_spec(work, p))
    cv_interp = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
    transforms = {
        # Affine rotates about the centre like M, but its angle sign and centre rounding are its own
        "warp_affine": lambda: A.Affine(rotate=(20, 20), scale=(0.9, 0.9), border_mode=cv2.BORDER_CONSTANT, p=1),
        "warp_affine_reflect": lambda: A.Affine(
            rotate=(20, 20), scale=(0.9, 0.9), border_mode=cv2.BORDER_REFLECT_101, p=1
        ),
        "gaussian_blur": lambda: A.GaussianBlur(blur_limit=(5, 5), sigma_limit=(SIGMA, SIGMA), p=1),
        "box_blur": lambda: A.Blur(blur_limit=(5, 5), p=1),
        "median_blur": lambda: A.MedianBlur(blur_limit=(5, 5), p=1),
        "equalize": lambda: A.Equalize(mode="cv", by_channels=True, p=1),
        "to_gray": lambda: A.ToGray(num_output_channels=1, p=1),
        "invert": lambda: A.InvertImg(p=1),
        "flip": lambda: A.HorizontalFlip(p=1),
        # its own random draws from the same ranges; flip is horizontal with p=0.5 (fastaug: a random code)
        "pipeline": lambda: A.Compose(
            [
                A.Affine(rotate=(-20, 20), scale=(0.9, 1.1), border_mode=cv2.BORDER_REFLECT_101, p=1),
                A.HorizontalFlip(p=0.5),
                A.GaussianBlur(blur_limit=(5, 5), sigma_limit=(0.1, 1.5), p=1),
                A.Normalize(MEAN, STD),
            ]
        ),
    }
    for name, (_, interp) in RESIZES.items():
        transforms[name] = lambda size=p.sizes[name], ip=cv_interp[interp]: A.Resize(*size, interpolation=ip)
    if work not in transforms:
        raise Unsupported("no transform with this operation and fixed parameters")
    t = transforms[work]()

    def each(i: int) -> None:
        res = t(image=b[i])["image"]
        out[i] = res.transpose(2, 0, 1) if work == "pipeline" else res.reshape(out[i].shape)

    return each


def _albumentations(work: str, b: np.ndarray, env: Env, p: Params) -> Call:
    """albumentations per image in a loop, with OpenCV's own threads."""
    return _each_image(env, p.n, _albumentations_each(work, b, env, p), pool=False)


def _albumentations_pool(work: str, b: np.ndarray, env: Env, p: Params) -> Call:
    """albumentations per image from a pool of one worker per thread, OpenCV's threading off (its Python
    parameter handling holds the GIL: the pool helps it less than it helps plain cv2)."""
    return _each_image(env, p.n, _albumentations_each(work, b, env, p), pool=True)


def _torch_float(b: Any, env: Env) -> Any:
    """NCHW float32 in [0, 1] on the env's device: the input kornia expects (converted outside timing)."""
    t = env.torch(b)
    return t.permute(0, 3, 1, 2).float().div(255).contiguous()


def _kornia(work: str, b: Any, env: Env, p: Params) -> Call:
    """kornia on the batch as NCHW float32 in [0, 1] (kornia's input type, prepared outside timing: it
    moves 4x the bytes of fastaug's uint8). Borders: 'reflect' is torch's, = OpenCV's reflect101."""
    import kornia
    import kornia.filters as KF
    import kornia.geometry.transform as KG
    import torch

    x = _torch_float(b, env)
    dev = x.device
    n, h, w = p.n, p.h, p.w
    M = torch.tensor(p.M, dtype=torch.float32, device=dev).expand(n, 2, 3)
    H = torch.tensor(p.H, dtype=torch.float32, device=dev).expand(n, 3, 3)
    Ms = torch.tensor(p.Ms, dtype=torch.float32, device=dev)
    sig = torch.tensor(np.stack([p.sigmas, p.sigmas], 1), dtype=torch.float32, device=dev)
    k = torch.from_numpy(SHARPEN)[None].to(dev)
    mean, std = torch.tensor(MEAN, device=dev), torch.tensor(STD, device=dev)

    def pipeline() -> Any:
        y = KG.warp_affine(x, Ms, (h, w), padding_mode="reflection")
        y = KG.hflip(y)  # every sample (kornia's functional flip has no per-sample code)
        y = KF.gaussian_blur2d(y, (5, 5), sig)
        return kornia.enhance.normalize(y, mean, std)

    calls: dict[str, Call] = {
        "warp_affine": lambda: KG.warp_affine(x, M, (h, w), align_corners=True),
        "warp_affine_reflect": lambda: KG.warp_affine(x, M, (h, w), align_corners=True, padding_mode="reflection"),
        "warp_perspective": lambda: KG.warp_perspective(x, H, (h, w), align_corners=True),
        "warp_perspective_reflect": lambda: KG.warp_perspective(
            x, H, (h, w), align_corners=True, padding_mode="reflection"
        ),
        "gaussian_blur": lambda: KF.gaussian_blur2d(x, (5, 5), (SIGMA, SIGMA)),
        "box_blur": lambda: KF.box_blur(x, (5, 5)),
        "median_blur": lambda: KF.median_blur(x, (5, 5)),  # zero padding (OpenCV replicates)
        "filter2d": lambda: KF.filter2d(x, k),
        "equalize": lambda: kornia.enhance.equalize(x),  # float histogram, not OpenCV's LUT formula
        "sobel": lambda: KF.spatial_gradient(x, "sobel", 1, normalized=False)[:, :, 0],
        "to_gray": lambda: kornia.color.rgb_to_grayscale(x),
        "invert": lambda: kornia.enhance.invert(x),  # 1 - x on floats
        "flip": lambda: KG.hflip(x),
        "pipeline": pipeline,
    }
    for name, (_, interp) in RESIZES.items():  # torch's "area" is adaptive average pooling (downscales only)
        if interp == "linear" or name.startswith("resize_down"):
            mode = "bilinear" if interp == "linear" else "area"
            calls[name] = lambda size=p.sizes[name], mode=mode: KG.resize(x, size, interpolation=mode, antialias=False)
    return _pick(calls, work)


def _torchvision(work: str, b: Any, env: Env, p: Params) -> Call:
    """torchvision.transforms.v2.functional on the batch as NCHW uint8 tensors (prepared outside timing).
    Its batched calls apply ONE set of parameters to the whole batch (fastaug: one per sample)."""
    import torch
    import torchvision.transforms.v2.functional as F

    x = env.torch(b).permute(0, 3, 1, 2).contiguous()
    h, w = p.h, p.w
    bil = F.InterpolationMode.BILINEAR
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
    moved = np.c_[corners, np.ones(4)] @ p.H.T
    ends = (moved[:, :2] / moved[:, 2:]).round().astype(int).tolist()

    def pipeline() -> Any:
        y = F.affine(x, angle=-float(p.angles[0]), translate=[0, 0], scale=1.0, shear=[0.0, 0.0], interpolation=bil)
        y = F.horizontal_flip(y)
        y = F.gaussian_blur(y, [5, 5], [float(p.sigmas[0])] * 2)
        return F.normalize(F.to_dtype(y, scale=True, dtype=torch.float32), MEAN, STD)

    calls: dict[str, Call] = {
        # angle is clockwise in torchvision (OpenCV: counter-clockwise); constant 0 border as cv2's default
        "warp_affine": lambda: F.affine(
            x, angle=-20.0, translate=[0, 0], scale=0.9, shear=[0.0, 0.0], interpolation=bil
        ),
        "warp_perspective": lambda: F.perspective(x, corners.astype(int).tolist(), ends, interpolation=bil),
        "resize_down": lambda: F.resize(x, list(p.sizes["resize_down"]), interpolation=bil, antialias=False),
        "resize_up": lambda: F.resize(x, list(p.sizes["resize_up"]), interpolation=bil, antialias=False),
        "gaussian_blur": lambda: F.gaussian_blur(x, [5, 5], [SIGMA, SIGMA]),
        "equalize": lambda: F.equalize(x),
        "to_gray": lambda: F.rgb_to_grayscale(x),
        "invert": lambda: F.invert(x),
        "flip": lambda: F.horizontal_flip(x),
        "pipeline": pipeline,
    }
    return _pick(calls, work)


def _ndimage_affine(M: np.ndarray) -> np.ndarray:
    """A forward 2x3 (x, y) matrix as scipy's 5x5 homogeneous output->input map on (n, y, x, c) axes."""
    inv = np.linalg.inv(np.vstack([M, [0, 0, 1]]))
    A = np.eye(5)
    A[1:3, 1:3] = inv[:2, :2][::-1, ::-1]
    A[1:3, 4] = inv[:2, 2][::-1]
    return A


def _scipy(work: str, b: Any, env: Env, p: Params) -> Call:
    """scipy.ndimage (CPU; single-threaded) or cupyx.scipy.ndimage (CUDA) on the whole (n, h, w, c) batch.
    'mirror' is OpenCV's reflect101. Integer outputs are cast, not saturated (filter2d can wrap)."""
    if env.device == "cpu":
        import scipy.ndimage as ndi

        x, out = b, np.empty(*output_spec(work, p))
    else:
        import cupy
        import cupyx.scipy.ndimage as ndi

        x = cupy.from_dlpack(env.torch(b))
        shape, dtype = output_spec(work, p)
        out = cupy.empty(shape, dtype)
    xp = importlib.import_module("numpy" if env.device == "cpu" else "cupy")

    def zoom(name: str) -> Call:
        factors = (1, p.sizes[name][0] / p.h, p.sizes[name][1] / p.w, 1)
        return lambda: ndi.zoom(x, factors, output=out, order=1, grid_mode=True, mode="nearest")

    affine = xp.asarray(_ndimage_affine(p.M))
    calls: dict[str, Call] = {
        "warp_affine": lambda: ndi.affine_transform(x, affine, output=out, order=1),
        "warp_affine_reflect": lambda: ndi.affine_transform(x, affine, output=out, order=1, mode="mirror"),
        "resize_down": zoom("resize_down"),
        "resize_up": zoom("resize_up"),
        # truncate 2 / sigma: a radius of 2 pixels, the 5x5 kernel
        "gaussian_blur": lambda: ndi.gaussian_filter(
            x, (0, SIGMA, SIGMA, 0), output=out, mode="mirror", truncate=2 / SIGMA
        ),
        "box_blur": lambda: ndi.uniform_filter(x, (1, 5, 5, 1), output=out, mode="mirror"),
        "median_blur": lambda: ndi.median_filter(x, (1, 5, 5, 1), output=out, mode="mirror"),
        "filter2d": lambda: ndi.correlate(x, xp.asarray(SHARPEN[None, :, :, None]), output=out, mode="mirror"),
        "sobel": lambda: ndi.sobel(x, axis=2, output=out, mode="mirror"),
    }
    return _pick(calls, work)


def _skimage(work: str, b: np.ndarray, env: Env, p: Params) -> Call:
    """scikit-image (CPU; float64 maths, per image or per batch; single-threaded)."""
    from skimage import color, exposure, transform

    _cpu_only(env)
    out = np.empty(*output_spec(work, p))
    proj = transform.ProjectiveTransform(matrix=np.linalg.inv(p.H))  # warp takes the output->input map

    def equalize() -> None:  # skimage's CDF formula (float), not OpenCV's LUT; per image and channel
        for i, img in enumerate(b):
            for c in range(3):
                out[i, ..., c] = exposure.equalize_hist(img[..., c]) * 255

    calls: dict[str, Call] = {
        "warp_perspective": lambda: [
            np.copyto(out[i], transform.warp(img, proj, order=1, preserve_range=True), casting="unsafe")
            for i, img in enumerate(b)
        ],
        "equalize": equalize,
        # rgb2gray weighs 0.2125 R + 0.7154 G + 0.0721 B (Rec. 709; OpenCV: Rec. 601)
        "to_gray": lambda: np.copyto(out[..., 0], color.rgb2gray(b) * 255, casting="unsafe"),
    }
    return _pick(calls, work)


def _numpy(work: str, b: np.ndarray, env: Env, p: Params) -> Call:
    """Plain numpy expressions (single-threaded), for the workloads users write by hand."""
    _cpu_only(env)
    out = np.empty(*output_spec(work, p))
    calls: dict[str, Call] = {
        "flip": lambda: np.copyto(out, b[:, :, ::-1]),
        "threshold": lambda: np.multiply(b > 127, np.uint8(255), out=out),
        "invert": lambda: np.invert(b, out=out),
    }
    return _pick(calls, work)


def _torch(work: str, b: Any, env: Env, p: Params) -> Call:
    """Plain torch tensor expressions on NHWC uint8 (CPU or CUDA)."""
    import torch

    x = env.torch(b)
    calls: dict[str, Call] = {
        "flip": lambda: torch.flip(x, dims=(2,)),
        "threshold": lambda: (x > 127).to(torch.uint8) * 255,
        "invert": lambda: torch.bitwise_not(x),
    }
    return _pick(calls, work)


def _cvcuda(work: str, b: Any, env: Env, p: Params) -> Call:
    """CV-CUDA on the batch as an NHWC tensor (zero-copy from torch). Not yet run on a GPU by this suite."""
    import cvcuda

    if env.device != "cuda":
        raise Unsupported("CUDA only")
    x = cvcuda.as_tensor(env.torch(b), "NHWC")
    calls: dict[str, Call] = {
        "resize_down": lambda: cvcuda.resize(x, (p.n, *p.sizes["resize_down"], 3), cvcuda.Interp.LINEAR),
        "resize_down_area": lambda: cvcuda.resize(x, (p.n, *p.sizes["resize_down_area"], 3), cvcuda.Interp.AREA),
        "resize_up": lambda: cvcuda.resize(x, (p.n, *p.sizes["resize_up"], 3), cvcuda.Interp.LINEAR),
        "gaussian_blur": lambda: cvcuda.gaussian(x, (5, 5), (SIGMA, SIGMA), cvcuda.Border.REFLECT101),
        "median_blur": lambda: cvcuda.median_blur(x, (5, 5)),
        "flip": lambda: cvcuda.flip(x, 1),
        "to_gray": lambda: cvcuda.cvtcolor(x, cvcuda.ColorConversion.RGB2GRAY),
        "warp_affine": lambda: cvcuda.warp_affine(
            x, p.M.ravel().tolist(), cvcuda.Interp.LINEAR, border_mode=cvcuda.Border.CONSTANT, border_value=[0]
        ),
    }
    return _pick(calls, work)


def _torchvision_pool(work: str, b: Any, env: Env, p: Params) -> Call:
    raise Unsupported("torchvision per image in a pool: the augment workload only")


def _augment(peer: str, b: list[np.ndarray], env: Env, p: Params) -> Call:
    """A peer's version of the augment workload (_bench_augment), into a preallocated NCHW output."""
    _cpu_only(env)
    pool = env.pool() if peer.endswith("-pool") else None
    call = augment.peer_call(peer, b, np.empty(*output_spec("augment", p)), env.threads, pool)
    if call is None:
        raise Unsupported("no per-image version of this pipeline")
    return call


def _dali(work: str, b: Any, env: Env, p: Params) -> Call:
    raise Unsupported("DALI runs whole pipelines, not functional calls on a batch; not wired into this suite")


PEER_IMPLS: dict[str, tuple[str, Callable[..., Call]]] = {  # peer -> (module to import, factory)
    "opencv": ("cv2", _opencv),
    "opencv-pool": ("cv2", _opencv_pool),
    "albumentations": ("albumentations", _albumentations),
    "albumentations-pool": ("albumentations", _albumentations_pool),
    "torchvision": ("torchvision.transforms.v2.functional", _torchvision),
    "torchvision-pool": ("torchvision.transforms.v2.functional", _torchvision_pool),
    "kornia": ("kornia", _kornia),
    "scipy": ("scipy.ndimage", _scipy),
    "skimage": ("skimage", _skimage),
    "numpy": ("numpy", _numpy),
    "torch": ("torch", _torch),
    "cvcuda": ("cvcuda", _cvcuda),
    "dali": ("nvidia.dali", _dali),
}


def _quiet_import(name: str) -> Any:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a peer that does not import is reported, never fatal
        return None


def peer_status(device: str, peers: Sequence[str] = PEERS) -> dict[str, str | None]:
    """None for a peer that imports here, else why it is skipped."""
    status: dict[str, str | None] = {}
    for peer in peers:
        module = PEER_IMPLS[peer][0]
        if device == "cuda" and module == "scipy.ndimage":
            module = "cupyx.scipy.ndimage"
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(module)
            status[peer] = None
        except Exception as e:  # noqa: BLE001
            status[peer] = f"not installed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    return status


def _peer_threads(peer: str, env: Env) -> int | str:
    if env.device == "cuda":
        return "gpu"
    if peer in ("opencv", "albumentations"):
        return int(importlib.import_module("cv2").getNumThreads())
    if peer in ("opencv-pool", "albumentations-pool", "torchvision-pool"):
        return f"{env.threads}x1"  # workers x cv2 threads each
    if peer in ("kornia", "torchvision", "torch"):
        return int(importlib.import_module("torch").get_num_threads())
    return 1  # scipy, scikit-image, numpy: single-threaded


def _quiet(call: Call) -> Call:
    """A peer's own warnings (deprecations and the like) must not fail a pytest run with -W error."""

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()

    return run


# ---------------------------------------------------------------------------------------------- timing


# fastaug.backends() names its CUDA backends 'cuda' (native CUDA kernels) and 'numba_cuda'; CUDA arrays
# reach them under fastaug.backend('native') and fastaug.backend('numba').
SELECT = {"cuda": "native", "numba_cuda": "numba"}


def fastaug_backends(device: str) -> dict[str, str | None]:
    """fastaug backends that can run on `device` (None) or why not."""
    out: dict[str, str | None] = {}
    for name, info in fa.backends().items():
        if not isinstance(info, dict) or (device == "cuda" and name == "native"):  # native on CUDA = 'cuda'
            continue
        devices = info.get("devices", [name] if name == "cuda" else ["cpu"])
        if not info.get("available"):
            out[name] = str(info.get("reason", "unavailable"))
        elif device not in devices:
            out[name] = f"no {device} kernels"
        else:
            try:
                with fa.backend(SELECT.get(name, name)):
                    out[name] = None
            except fa.ArgumentError as e:  # listed, but not selectable by name
                out[name] = str(e)
    return out


class DeviceTimer:
    """CUDA device time of a call, without the host's overhead: a spin kernel (torch.cuda._sleep) enqueued
    first keeps the GPU busy while the host enqueues the start event, the call and the end event, so the
    events bracket the call's device work alone. The spin grows when the host took longer than it (the GPU
    would have idled inside the bracket); a call that synchronises internally still pays its own waits."""

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.start, self.end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        torch.cuda.synchronize()
        cycles = 1_000_000
        self.start.record()
        torch.cuda._sleep(cycles)
        self.end.record()
        self.end.synchronize()
        self.cycles_per_s = cycles / max(self.start.elapsed_time(self.end) / 1e3, 1e-6)
        self.spin_s = 2e-4

    def time(self, call: Call) -> float:
        torch = self.torch
        for _ in range(4):
            torch.cuda.synchronize()
            torch.cuda._sleep(int(self.spin_s * self.cycles_per_s))
            t0 = time.perf_counter()
            self.start.record()
            call()
            self.end.record()
            host = time.perf_counter() - t0
            self.end.synchronize()
            if host < 0.8 * self.spin_s:
                break
            self.spin_s = min(2 * host + 1e-4, 0.2)
        return self.start.elapsed_time(self.end) / 1e3

    def called(self, calls: Sequence[Call], count: int) -> float:
        """Seconds per call of `count` calls enqueued back to back (inputs rotated), host overhead included."""
        torch = self.torch
        torch.cuda.synchronize()
        self.start.record()
        for i in range(count):
            calls[i % len(calls)]()
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end) / 1e3 / count


@dataclass
class Impl:
    name: str  # "fastaug-native", "opencv", "copy", ...
    kind: str  # "fastaug" (fresh output) | "fastaug-out" (out=) | "peer" | "copy"
    calls: list[Call]  # one per input batch
    threads: int | str


@dataclass
class Suite:
    """The standard batches, parameters and thread count of one run; run(workload) measures one workload."""

    device: str = "cpu"
    n: int | None = None
    h: int | None = None
    w: int | None = None
    threads: int | None = None
    batches: int = 3  # distinct input batches, rotated between rounds
    min_rounds: int = 5
    max_rounds: int = 30
    budget_s: float = 2.0  # per workload: the rounds of all fast implementations together (slow ones apart)
    warmup: int = 2
    slow_s: float = 0.5  # an implementation slower than this per batch is timed in min_slow_rounds rounds only
    min_slow_rounds: int = 3
    backends: Sequence[str] | None = None  # fastaug backends to time (default: every available one)
    peers: Sequence[str] | None = None  # peers to try (default: all of PEERS)

    def __post_init__(self) -> None:
        if self.warmup < 1:  # the warm-up call's time decides the rounds and which implementations are slow
            raise ValueError(f"warmup: got {self.warmup}; expected at least 1 untimed call")
        sn, sh, sw = STANDARD[self.device]
        self.n, self.h, self.w = self.n or sn, self.h or sh, self.w or sw
        self.threads = self.threads or int(os.environ.get("FASTAUG_BENCH_THREADS", 0)) or os.cpu_count() or 1
        self.env = Env(self.device, self.threads)
        self.records: list[dict[str, Any]] = []
        self.last_impls: list[Impl] = []
        self.params = Params(self.n, self.h, self.w)
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise RuntimeError("--device cuda: torch.cuda.is_available() is False")
        set_threads(self.threads)
        if self.device == "cuda":  # enough distinct batches to fill the L2 cache three times over
            l2 = int(getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "L2_cache_size", 0))
            self.batches = max(self.batches, -(-3 * l2 // (self.n * self.h * self.w * 3)))
        host = make_batches(self.n, self.h, self.w, self.batches)
        self.inputs = host if self.device == "cpu" else [self.env.torch(b).cuda() for b in host]
        self._ragged: list[Any] | None = None
        fb = fastaug_backends(self.device)
        wanted = list(self.backends) if self.backends else [b for b in fb if fb[b] is None]
        self.skipped: dict[str, str] = {
            f"fastaug-{b}": fb.get(b) or "unknown backend" for b in wanted if b not in fb or fb[b] is not None
        }
        self.fa_backends = [b for b in wanted if b in fb and fb[b] is None]
        status = peer_status(self.device, [p for p in self.peers or PEERS if p in PEER_IMPLS])
        self.peer_names = []
        for peer in self.peers or PEERS:
            if peer not in status:
                self.skipped[peer] = "unknown peer"
            elif status[peer] is not None:
                self.skipped[peer] = str(status[peer])
            else:
                self.peer_names.append(peer)

    def inputs_for(self, work: str) -> list[Any]:
        """The input batches of a workload: the standard dense batches, or for `augment` lists of photographs
        of mixed sizes (made on first use)."""
        if work != "augment":
            return self.inputs
        if self._ragged is None:
            host = augment.make_ragged(self.n or 0, len(self.inputs))
            self._ragged = host if self.device == "cpu" else [[self.env.torch(x).cuda() for x in b] for b in host]
        return self._ragged

    def impls(self, work: str) -> tuple[list[Impl], dict[str, str]]:
        """Every implementation of the workload, its calls prepared (one per input batch)."""
        impls, skipped = [], {}
        inputs = self.inputs_for(work)
        for be in self.fa_backends:

            def on(call: Call, be: str = be) -> Call:
                def run() -> Any:
                    with fa.backend(SELECT.get(be, be)):
                        return call()

                return run

            threads = fa.get_num_threads() if self.device == "cpu" else "gpu"
            impls.extend(  # as users call it, then into preallocated outputs
                Impl(
                    f"fastaug-{be}" + ("" if fresh else "-out"),
                    "fastaug" if fresh else "fastaug-out",
                    [on(fastaug_call(work, b, self.env, self.params, fresh)) for b in inputs],
                    threads,
                )
                for fresh in (True, False)
            )
        impls.append(Impl("copy", "copy", [copy_call(work, b, self.env, self.params) for b in inputs], 1))
        for peer in self.peer_names:
            factory = PEER_IMPLS[peer][1]
            if work == "augment":
                factory = lambda work, b, env, p, peer=peer: _augment(peer, b, env, p)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    calls = [_quiet(factory(work, b, self.env, self.params)) for b in inputs]
                impls.append(Impl(peer, "peer", calls, _peer_threads(peer, self.env)))
            except Unsupported as e:
                skipped[peer] = f"n/a: {e}"
            except Exception as e:  # noqa: BLE001 - a broken peer is reported, not fatal
                skipped[peer] = f"failed to set up: {type(e).__name__}: {e}"
        return impls, skipped

    def run(self, work: str) -> dict[str, Any]:
        """Times one workload through every implementation (interleaved rounds) and computes its ratios."""
        impls, skipped = self.impls(work)
        self.last_impls = impls  # kept for pytest-benchmark's own timing of the same calls
        sync, k = self.env.sync, len(self.inputs)
        device_timer = DeviceTimer() if self.device == "cuda" else None

        def timed(impl: Impl, r: int) -> float:
            if device_timer:
                return device_timer.time(impl.calls[r % k])
            sync()
            t0 = time.perf_counter()
            impl.calls[r % k]()
            sync()
            return time.perf_counter() - t0

        last: dict[str, float] = {}
        for impl in list(impls):
            try:
                for r in range(self.warmup):
                    last[impl.name] = timed(impl, r)
                    if last[impl.name] > 4 * self.slow_s:
                        break  # a very slow implementation: one warm-up call is enough
            except Exception as e:  # noqa: BLE001 - reported; a failing fastaug backend fails the run (failed())
                skipped[impl.name] = f"{'FAILED' if impl.kind == 'fastaug' else 'failed'}: {type(e).__name__}: {e}"
                impls.remove(impl)
        # Slow implementations (> slow_s per batch) take part in the first min_slow_rounds rounds only; the
        # rounds of the others fill the budget.
        slow = {i.name for i in impls if last[i.name] > self.slow_s}
        # a peer slower than 4 x slow_s per batch is timed once (it is far behind whatever the figure)
        quota = {
            i.name: 1 if i.kind == "peer" and last[i.name] > 4 * self.slow_s else self.min_slow_rounds for i in impls
        }
        # The slow ones' time is not taken from the budget: a slow peer (SciPy's resize: over a second a batch)
        # used to hold every fast implementation to min_rounds, where one noisy round moves a median.
        per_round = sum(last[i.name] for i in impls if i.name not in slow) or 1e-3
        rounds = int(min(self.max_rounds, max(self.min_rounds, self.budget_s / per_round)))
        times: dict[str, list[float]] = {i.name: [] for i in impls}
        for r in range(rounds):
            for j in range(len(impls)):
                impl = impls[(j + r) % len(impls)]
                if impl.name not in slow or r < quota[impl.name]:
                    times[impl.name].append(timed(impl, r))
        shape, dtype = output_spec(work, self.params)
        in_bytes = augment.input_bytes(self.inputs_for(work)[0])
        out_bytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        results = [
            {
                "impl": i.name,
                "kind": i.kind,
                "threads": i.threads,
                "rounds": len(times[i.name]),
                "median_s": float(np.median(times[i.name])),
                "times_s": [round(t, 7) for t in times[i.name]],
            }
            for i in impls
        ]
        if device_timer:
            for res, impl in zip(results, impls, strict=True):
                res["called_s"] = device_timer.called(impl.calls, 1 if res["median_s"] > self.slow_s else 10)
        record = {
            "workload": work,
            "rounds": rounds,
            "in_bytes": in_bytes,
            "out_bytes": out_bytes,
            "copy_bytes": (in_bytes + out_bytes) // 2 * 2,
            "results": results,
            "skipped": {**self.skipped, **skipped},
        }
        record["ratios"] = ratios(record)
        return record

    def meta(self) -> dict[str, Any]:
        versions = {"fastaug": fa.__version__, "numpy": np.__version__, "python": platform.python_version()}
        for module in (
            "numba",
            "cv2",
            "albumentations",
            "torch",
            "torchvision",
            "kornia",
            "scipy",
            "skimage",
            "cupy",
            "cvcuda",
        ):
            if module in sys.modules:  # only what this run imported
                versions[module] = str(getattr(sys.modules[module], "__version__", "?"))
        meta = {
            "device": self.device,
            "device_name": self.env.name(),
            "threads": self.threads,
            "batch": [self.n, self.h, self.w, 3],
            "dtype": "uint8",
            "input_batches": len(self.inputs),
            "date": datetime.date.today().isoformat(),
            "platform": platform.platform(),
            "versions": versions,
            "cpu_count": os.cpu_count(),
        }
        if self.device == "cuda":
            import torch

            props = torch.cuda.get_device_properties(torch.cuda.current_device())
            meta["gpu"] = {
                "name": props.name,
                "capability": f"{props.major}.{props.minor}",
                "multiprocessors": props.multi_processor_count,
                "memory_gib": round(props.total_memory / 2**30, 1),
                "l2_mib": round(getattr(props, "L2_cache_size", 0) / 2**20, 1),
                "torch_cuda": torch.version.cuda,
                "timing": "CUDA events behind a spin kernel",
            }
        return meta


def ratios(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per fastaug backend (and its out= variant, '<backend>-out'): fastest peer time / fastaug time
    (vs_peer), fastaug's bandwidth as a fraction of the copy's (vs_copy: bytes of the workload per second
    over bytes the copy moved per second; 1.0 = as fast as copying the same bytes) and the speed-up over
    each peer. > 1 means fastaug is faster."""
    results = record["results"]
    med = {r["impl"]: r["median_s"] for r in results}
    peers = {r["impl"]: r["median_s"] for r in results if r["kind"] == "peer"}
    fastest = min(peers, key=peers.__getitem__) if peers else None
    moved = record["in_bytes"] + record["out_bytes"]
    out = {}
    for r in results:
        if not r["kind"].startswith("fastaug"):
            continue
        t = r["median_s"]
        out[r["impl"].removeprefix("fastaug-")] = {
            "vs_peer": peers[fastest] / t if fastest else None,
            "fastest_peer": fastest,
            "vs_copy": med["copy"] * moved / (t * copy_bytes(record)) if "copy" in med else None,
            "speedup": {name: tp / t for name, tp in peers.items()},
        }
    return out


# ------------------------------------------------------------------------------------------- guarding


def load_guards(path: str | Path) -> dict[str, Any]:
    import tomllib

    with open(path, "rb") as f:
        return tomllib.load(f)


def check_guards(record: dict[str, Any], guards: dict[str, Any], device: str) -> list[str]:
    """Messages for every ratio of the workload that is below its floor in guards[device][workload]."""
    floors = guards.get(device, {}).get(record["workload"], {})
    med = {r["impl"]: r["median_s"] for r in record["results"]}
    failures = []
    for backend, ratio in record["ratios"].items():
        for key, floor in floors.get(backend, {}).items():
            value = ratio.get(key)
            if value is None or value >= floor:
                continue
            ref = ratio["fastest_peer"] if key == "vs_peer" else "copy"
            failures.append(
                f"{record['workload']} [fastaug-{backend}] {key} = {value:.3f}x, below its floor "
                f"{floor:.3f}x (fastaug {med['fastaug-' + backend] * 1e3:.2f} ms, {ref} "
                f"{med[ref] * 1e3:.2f} ms)"
            )
    return failures


def floors_from(runs: list[list[dict[str, Any]]], margin: float) -> dict[str, dict[str, dict[str, float]]]:
    """Floors = margin x the lowest ratio measured over the runs (rounded down to 2 significant digits)."""

    def floor2(x: float) -> float:
        digits = 1 - int(np.floor(np.log10(x)))
        return float(np.floor(x * 10**digits) / 10**digits)

    lowest: dict[tuple[str, str, str], float] = {}
    for records in runs:
        for rec in records:
            for backend, ratio in ratios(rec).items():
                for k in ("vs_peer", "vs_copy"):
                    if ratio.get(k):
                        key = (rec["workload"], backend, k)
                        lowest[key] = min(lowest.get(key, np.inf), ratio[k])
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (work, backend, k), value in lowest.items():
        out.setdefault(work, {}).setdefault(backend, {})[k] = floor2(value * margin)
    return out


# ------------------------------------------------------------------------------------------- reporting


def format_table(report: dict[str, Any]) -> str:
    """workload, implementation, threads, ms, images/s, GB/s (input + output bytes), fraction of the copy's
    bandwidth (the copy's own row: 1.0), and for fastaug the speed-up over each peer."""
    meta = report["meta"]
    lines = [
        f"fastaug bench: {meta['device']} ({meta['device_name']}), {meta['threads']} threads, batch "
        f"{'x'.join(map(str, meta['batch']))} uint8, {meta['date']}",
        f"{'workload':17s} {'implementation':16s} {'thr':>4s} {'ms':>9s} {'images/s':>9s} {'GB/s':>7s} "
        f"{'copy bw':>7s}  speed-up of fastaug over each peer",
    ]
    n = meta["batch"][0]
    for rec in report["workloads"]:
        med = {r["impl"]: r["median_s"] for r in rec["results"]}
        nbytes = rec["in_bytes"] + rec["out_bytes"]
        copy_bw = copy_bytes(rec) / med["copy"] if "copy" in med else float("nan")
        rec_ratios = ratios(rec)
        for r in rec["results"]:
            t = r["median_s"]
            ups = ""
            if r["kind"].startswith("fastaug"):
                ratio = rec_ratios[r["impl"].removeprefix("fastaug-")]
                ups = "  ".join(f"{p} {x:.2f}x" for p, x in sorted(ratio["speedup"].items(), key=lambda kv: kv[1]))
            lines.append(
                f"{rec['workload']:17s} {r['impl']:16s} {r['threads']!s:>4s} {t * 1e3:9.2f} {n / t:9.0f} "
                f"{nbytes / t / 1e9:7.2f} {nbytes / t / copy_bw:7.2f}  {ups}"
            )
    skipped = {
        name: why for rec in report["workloads"] for name, why in rec["skipped"].items() if not why.startswith("n/a")
    }
    if skipped:
        lines.append("skipped: " + "; ".join(f"{k}: {v}" for k, v in sorted(skipped.items())))
    return "\n".join(lines)


def write_png(report: dict[str, Any], path: str | Path) -> str | None:
    """A bar chart of fastaug's speed-up over the fastest peer per workload (log scale, 1x marked), drawn
    with OpenCV (already a benchmark dependency; matplotlib is not needed). Returns why not, or None."""
    try:
        import cv2
    except ImportError:
        return "the chart is drawn with OpenCV, which is not installed (pip install opencv-python-headless)"
    rows = [
        (rec["workload"], be, r["vs_peer"], r["fastest_peer"])
        for rec in report["workloads"]
        for be, r in rec["ratios"].items()
        if r["vs_peer"]
    ]
    colours = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214)]
    backends = sorted({r[1] for r in rows})
    rh, left, width = 22, 330, 520
    img = np.full((rh * len(rows) + 90, left + width + 80, 3), 255, np.uint8)
    lo, hi = -3.0, 3.0  # log2 axis: 1/8x .. 8x
    x_of = lambda v: int(left + (np.clip(np.log2(v), lo, hi) - lo) / (hi - lo) * width)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(
        img,
        f"fastaug speed-up over the fastest peer ({report['meta']['device_name'][:40]}, "
        f"{report['meta']['threads']} threads)",
        (10, 22),
        font,
        0.5,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    for i, (work, be, v, peer) in enumerate(rows):
        y = 40 + i * rh
        colour = colours[backends.index(be) % len(colours)]
        cv2.rectangle(img, (min(x_of(1), x_of(v)), y + 3), (max(x_of(1), x_of(v)), y + rh - 3), colour, -1)
        cv2.putText(img, f"{work} [{be}] vs {peer}", (8, y + 15), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, f"{v:.2f}x", (left + width + 8, y + 15), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    bottom = 40 + len(rows) * rh
    for t in (0.125, 0.25, 0.5, 1, 2, 4, 8):
        cv2.line(img, (x_of(t), 36), (x_of(t), bottom), (0, 0, 0) if t == 1 else (200, 200, 200), 1)
        cv2.putText(img, f"{t:g}x", (x_of(t) - 12, bottom + 18), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return None


def run_suite(
    suite: Suite,
    workloads: Sequence[str] = WORKLOADS,
    progress: Callable[[str], None] | None = None,
    json_path: str | Path | None = None,
) -> dict[str, Any]:
    """Times every workload; with json_path, the report so far is saved after each one (a run cut short by a
    time limit still leaves its finished workloads)."""
    report: dict[str, Any] = {"meta": suite.meta(), "workloads": []}
    for work in workloads:
        if progress:
            progress(work)
        report["workloads"].append(suite.run(work))
        report["meta"] = suite.meta()  # the versions of what the run has imported by now
        if json_path:
            save_json(report, json_path)
    return report


def save_json(report: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=1) + "\n")
