"""fastaug (native and Numba) vs OpenCV called per image, same thread count, on 64 RGB uint8 256x256.

Run: python -m pytest benchmarks/bench_core.py --benchmark-columns=median,ops --benchmark-group-by=group
The speed-up over OpenCV is printed at the end (ratios measured in the same run)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fastaug as fa

pytest.importorskip("pytest_benchmark")
cv2 = pytest.importorskip("cv2")

M = cv2.getRotationMatrix2D((128, 128), 20.0, 0.9)


def fastaug_calls(batch: np.ndarray, out: dict) -> dict[str, Callable[[], Any]]:
    return {
        "warp_affine": lambda: fa.warp_affine(batch, M, out=out["u8"]),
        "gaussian_blur_5x5": lambda: fa.gaussian_blur(batch, 5, 0.0, out=out["u8"]),
        "equalize": lambda: fa.equalize(batch, out=out["u8"]),
        "sobel": lambda: fa.sobel(batch, 1, 0, 3, out=out["f32"]),
    }


def opencv_calls(batch: np.ndarray, out: dict) -> dict[str, Callable[[], Any]]:
    u8, f32 = out["u8"], out["f32"]

    def equalize() -> None:
        for i, img in enumerate(batch):
            for c in range(3):
                u8[i, ..., c] = cv2.equalizeHist(np.ascontiguousarray(img[..., c]))

    return {
        "warp_affine": lambda: [cv2.warpAffine(img, M, (256, 256), dst=u8[i]) for i, img in enumerate(batch)],
        "gaussian_blur_5x5": lambda: [cv2.GaussianBlur(img, (5, 5), 0, dst=u8[i]) for i, img in enumerate(batch)],
        "equalize": equalize,
        "sobel": lambda: [cv2.Sobel(img, cv2.CV_32F, 1, 0, dst=f32[i], ksize=3) for i, img in enumerate(batch)],
    }


WORKLOADS = ["warp_affine", "gaussian_blur_5x5", "equalize", "sobel"]
IMPLS = ["fastaug-native", "fastaug-numba", "opencv"]
RESULTS: dict[tuple[str, str], float] = {}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("workload", WORKLOADS)
def test_throughput(benchmark, cpu_batch, workload, impl):
    out = {"u8": np.empty_like(cpu_batch), "f32": np.empty(cpu_batch.shape, np.float32)}
    benchmark.group = workload
    if impl == "opencv":
        call = opencv_calls(cpu_batch, out)[workload]
    else:
        backend = impl.split("-")[1]
        if not fa.backends()[backend]["available"]:
            pytest.skip(f"{backend} backend unavailable")
        inner = fastaug_calls(cpu_batch, out)[workload]

        def call() -> None:
            with fa.backend(backend):
                inner()
    call()  # warm-up (Numba compiles here), excluded from timing
    benchmark.pedantic(call, rounds=15, iterations=1, warmup_rounds=1)
    median = benchmark.stats.stats.median
    RESULTS[(workload, impl)] = median
    benchmark.extra_info["images_per_s"] = len(cpu_batch) / median
    benchmark.extra_info["threads"] = fa.get_num_threads()


def pytest_sessionfinish_report() -> str:
    lines = ["workload            native/opencv  numba/native"]
    for w in WORKLOADS:
        n, b, o = (RESULTS.get((w, i)) for i in IMPLS)
        if n and o:
            lines.append(f"{w:20s} {o / n:8.2f}x     {(b / n if b else float('nan')):8.2f}x")
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print("\nspeed-up of fastaug-native over OpenCV (>1 is faster), and Numba's slowdown vs native\n"
          + pytest_sessionfinish_report())
