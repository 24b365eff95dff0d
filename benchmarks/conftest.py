"""Benchmark setup: the standard CPU batch, equal thread counts for fastaug and OpenCV."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

THREADS = int(os.environ.get("FASTAUG_BENCH_THREADS", os.cpu_count() or 1))


@pytest.fixture(scope="session")
def cpu_batch() -> np.ndarray:
    """64 RGB uint8 images of 256x256: scikit-image's photographs, shifted so that no two are equal."""
    from skimage import data

    rng = np.random.default_rng(0)
    photos = [data.astronaut(), data.coffee()[:, 50:562], data.chelsea()[:, :300]]
    out = np.empty((64, 256, 256, 3), np.uint8)
    import fastaug as fa

    for i in range(64):
        img = fa.resize(np.ascontiguousarray(photos[i % 3]), (256, 256), "area")
        out[i] = np.roll(img, int(rng.integers(0, 256)), axis=1)
    return out


@pytest.fixture(autouse=True, scope="session")
def equal_threads():
    import fastaug as fa

    fa.set_num_threads(THREADS)
    try:
        import cv2

        cv2.setNumThreads(THREADS)
    except ImportError:
        pass
    yield
