"""Shared fixtures: every test body runs on every available backend, on real photographs and random data."""

from __future__ import annotations

import ctypes
import os


def _cuda_gpu_present() -> bool:
    """Whether the CUDA driver sees a GPU, asked without importing numba or torch (libcuda via ctypes)."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    except OSError:
        return False


# Numba reads NUMBA_ENABLE_CUDASIM when first imported: without a GPU, the CUDA fallback's tests
# (test_numba_cuda.py) run its kernels under Numba's CUDA simulator.
if "NUMBA_ENABLE_CUDASIM" not in os.environ and not _cuda_gpu_present():
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import importlib.util

import numpy as np
import pytest

import fastaug

BACKENDS = [b for b in ("native", "numba") if fastaug.backends()[b]["available"]]
if os.environ.get("FASTAUG_TEST_BACKENDS"):
    BACKENDS = [b for b in os.environ["FASTAUG_TEST_BACKENDS"].split(",") if b in BACKENDS]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):
    with fastaug.backend(request.param):
        yield request.param


def _photos() -> dict[str, np.ndarray]:
    from skimage import data

    astronaut = data.astronaut()
    coffee = data.coffee()
    return {
        "astronaut": astronaut[::2, ::2].copy(),  # 256x256 RGB
        "coffee": coffee[100:260, 200:420].copy(),  # 160x220 RGB, not square
        "camera": data.camera()[::2, ::2, None].copy(),  # 256x256 grey
    }


PHOTOS = _photos() if importlib.util.find_spec("skimage") else {}


def make_image(kind: str, channels: int, dtype: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """A (H, W, C) test image: a photograph (grey -> channels by stacking / adding an alpha ramp) or noise."""
    rng = rng or np.random.default_rng(0)
    if kind == "random":
        img = rng.integers(0, 256, (61, 83, channels), dtype=np.uint8)
    else:
        base = PHOTOS[kind]
        if channels == 1:
            img = base[..., :1] if base.shape[2] == 1 else np.round(base @ [0.299, 0.587, 0.114])[..., None]
        else:
            rgb = base if base.shape[2] == 3 else np.repeat(base, 3, axis=2)
            img = (
                rgb
                if channels == 3
                else np.dstack([rgb, np.linspace(0, 255, rgb.shape[1])[None, :].repeat(rgb.shape[0], 0)])
            )
        img = img.astype(np.uint8)
    if dtype == "float32":
        return (img.astype(np.float32) / 255.0).astype(np.float32)
    return np.ascontiguousarray(img)


def assert_close(actual, expected, atol: float = 0.0, mean_atol: float | None = None, what: str = "") -> None:
    """Max (and optionally mean) absolute difference within tolerance; the message says where it is worst."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    diff = np.abs(a - e)
    worst = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else ()
    assert diff.size == 0 or diff.max() <= atol, (
        f"{what}: max |diff| {diff.max()} > {atol} at {worst} (got {a[worst]}, expected {e[worst]}); "
        f"mean {diff.mean():.4g}, {np.count_nonzero(diff)} differing"
    )
    if mean_atol is not None and diff.size:
        assert diff.mean() <= mean_atol, f"{what}: mean |diff| {diff.mean()} > {mean_atol}"
