"""Prints the CPU target fastaug's kernels run with here, then one digest per operator case (every operator and
reduction of tests/cuda_cases.py, uint8 and float32, 1/3/4 channels, dense and strided) on the native backend. Run by
tests/test_cpu_targets.py natively and under qemu-x86_64 with older CPU models, which makes the loader pick
each clone of the multiversioned kernels (AVX-512, AVX2, the SSE2 baseline); the digests must agree. The planar
cases (NCHW outputs seen through strides) cover the warps' and colour transform's planar paths, whose float32 bilinear
gathers are AVX-512 / AVX2 instructions chosen at run time."""

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
    print("planar_gather", fa.backends()["native"]["planar_gather"])
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
        planar_cases()


def planar(x: np.ndarray) -> np.ndarray:
    """An NHWC view of an NCHW copy of x (channel stride H*W): what fastaug.torch hands over for NCHW tensors."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)


def planar_cases() -> None:
    from fastaug.functional.warp import warp_backward

    rng = np.random.default_rng(7)
    n, h, w, size = 3, 19, 37, (23, 70)  # batch() makes 3 images
    angle, shift = rng.uniform(-180, 180, n), rng.normal(0, 6, (n, 2))
    affine = fa.affine_matrix(angle, shift, np.exp(rng.normal(0, 0.5, n)), center=((w - 1) / 2, (h - 1) / 2))
    persp = np.concatenate([affine, np.zeros((n, 1, 3))], 1)
    persp[:, 2] = np.c_[rng.normal(0, 0.002, (n, 2)), np.ones(n)]
    for dtype in ("uint8", "float32"):
        for channels in (1, 3):
            x = planar(batch(channels, dtype, h, w))
            for kind, op, m in (("affine", fa.warp_affine, affine), ("perspective", fa.warp_perspective, persp)):
                for interp in ("nearest", "linear"):
                    for border in ("constant", "reflect101"):
                        digest = hashlib.sha256()
                        out = planar(np.zeros((n, *size, channels), dtype))
                        op(x, m, size, interp, border, out=out)
                        digest.update(np.ascontiguousarray(out).tobytes())
                        if dtype == "float32":
                            g = planar(rng.standard_normal((n, *size, channels)).astype(np.float32))
                            grad = planar(np.zeros(x.shape, np.float32))
                            warp_backward(f"warp_{kind}", g, x, m, interp, border, 0.0, need_matrix=False, out=grad)
                            digest.update(np.ascontiguousarray(grad).tobytes())
                        print("planar", kind, interp, border, dtype, channels, digest.hexdigest()[:24])
            matrix = rng.normal(0, 0.5, (n, channels, channels + 1))
            out = planar(np.zeros(x.shape, dtype))
            fa.color_transform(x, matrix, out=out)
            print("planar color_transform", dtype, channels, hashlib.sha256(out.tobytes()).hexdigest()[:24])


if __name__ == "__main__":
    main()
