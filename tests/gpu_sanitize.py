"""The short, representative workload that benchmarks/gpu_check.sh runs under compute-sanitizer (memcheck,
racecheck, initcheck): every operator of tests/cuda_cases.py once per dtype and channel count, on small
images, on odd tiny images where the borders are most of the work, through a strided view, and a few through
the Numba CUDA fallback. CuPy arrays with CuPy's memory pool off, so every array is its own cudaMalloc and
an access past its end is an error the sanitizer sees (a pool would hide it in slack).

    compute-sanitizer --tool memcheck python tests/gpu_sanitize.py

Exits 0 with "skipped" where there is no GPU or CuPy; 1 if an operator raised."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() == 0:
            raise RuntimeError("no device")
    except Exception as e:  # noqa: BLE001 - no GPU here: nothing to check
        print(f"gpu_sanitize: skipped ({type(e).__name__}: {e})")
        return 0
    import numpy as np

    import fastaug as fa
    from cuda_cases import ALL_OPS, REDUCTIONS, batch, op_dtypes

    if not fa.backends()["cuda"]["available"]:
        print(f"gpu_sanitize: skipped (fastaug CUDA: {fa.backends()['cuda']['reason']})")
        return 0
    cupy.cuda.set_allocator(None)  # plain cudaMalloc per array
    warnings.simplefilter("ignore")
    failures: list[str] = []
    refused: list[str] = []
    calls = 0

    def run(what: str, fn) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        try:
            fn()
            cupy.cuda.runtime.deviceSynchronize()
            calls += 1
        except ValueError as e:
            if "CUDA" in str(e):  # a CUDA error is a ValueError naming the runtime's reason: a failure
                failures.append(f"{what}: {e}")
            else:
                refused.append(what)  # the validation of the Python or C++ layer: no launch to check
        except Exception as e:  # noqa: BLE001 - reported, then the next case
            failures.append(f"{what}: {type(e).__name__}: {e}")

    for name, op in sorted(ALL_OPS.items()):
        for dtype in op_dtypes(name):
            for channels in (1, 3, 4):
                x = cupy.asarray(batch(channels, dtype, 56, 76))
                run(f"{name} {dtype} C{channels}", lambda: op(x))
            tiny = cupy.asarray(batch(3, dtype, 56, 76)[:, :5, :7])
            run(f"{name} {dtype} 5x7", lambda: op(tiny))
            wide = cupy.asarray(batch(3, dtype, 60, 84))
            strided = cupy.ascontiguousarray(wide.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)[:, 2:58, 3:79]
            run(f"{name} {dtype} strided", lambda: op(strided))
    for name, op in sorted(REDUCTIONS.items()):
        for dtype in ("uint8", "float32"):
            for channels in (1, 3, 4):
                x = cupy.asarray(batch(channels, dtype, 56, 76))
                run(f"{name} {dtype} C{channels}", lambda: op(x))
    for name in ("warp_affine_linear", "gaussian_blur", "equalize", "median_blur_5", "resize_area", "threshold"):
        x = cupy.asarray(batch(3, "uint8", 56, 76))
        with fa.backend("numba"):
            run(f"numba {name}", lambda: ALL_OPS[name](x))
    rng = np.random.default_rng(0)
    big = cupy.asarray(rng.integers(0, 256, (300, 9, 11, 3), dtype=np.uint8))  # parameters in 3 chunks
    Ms = fa.affine_matrix(rng.uniform(-90, 90, 300), center=(5, 4))
    run("warp_affine 300 matrices", lambda: fa.warp_affine(big, Ms, border="reflect101"))
    print(f"gpu_sanitize: {calls} calls ran, {len(refused)} refused by validation, {len(failures)} raised")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
