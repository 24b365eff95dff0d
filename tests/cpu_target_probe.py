"""Prints the CPU target fastaug's kernels run with here, then one digest per operator case (every operator and
reduction of tests/cuda_cases.py, uint8 and float32, 1/3/4 channels, dense and strided) on the native backend. Run by
tests/test_cpu_targets.py natively and under qemu-x86_64 with older CPU models, which makes the loader pick
each clone of the multiversioned kernels (AVX-512, AVX2, the SSE2 baseline); the digests must agree."""

from __future__ import annotations

import hashlib
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.simplefilter("ignore")

import numpy as np  # noqa: E402

import fastaug as fa  # noqa: E402
from cuda_cases import ALL_OPS, REDUCTIONS, batch, op_dtypes  # noqa: E402


def main() -> None:
    print("target", fa.backends()["native"]["cpu_target"])
    with fa.backend("native"):
        for name, op in sorted({**ALL_OPS, **REDUCTIONS}.items()):
            for dtype in op_dtypes(name):
                digest = hashlib.sha256()
                for channels in (1, 3, 4):
                    x = batch(channels, dtype, 53, 77)
                    digest.update(np.ascontiguousarray(op(x)).tobytes())
                wide = batch(3, dtype, 57, 81)
                strided = np.ascontiguousarray(wide.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)[:, 2:55, 3:80]
                digest.update(np.ascontiguousarray(op(strided)).tobytes())
                print(name, dtype, digest.hexdigest()[:24])


if __name__ == "__main__":
    main()
