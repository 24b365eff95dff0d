"""The planar (NCHW through strides) CPU paths of the warps, the warp backward and color_transform give the
same bits as the interleaved (NHWC) layout, on the native and the Numba backends. fastaug.torch hands NCHW
tensors over as such strided views, so the GAN policies run on these paths."""

from __future__ import annotations

import numpy as np
import pytest

import fastaug as fa
from fastaug.functional.warp import warp_backward

N, H, W, SIZE = 4, 21, 39, (25, 72)


def planar(x: np.ndarray) -> np.ndarray:
    """An NHWC view of an NCHW copy of x (channel stride H*W)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)


def images(channels: int, dtype: str) -> np.ndarray:
    rng = np.random.default_rng(channels)
    if dtype == "uint8":
        return rng.integers(0, 256, (N, H, W, channels), dtype=np.uint8)
    return rng.uniform(-1, 1, (N, H, W, channels)).astype(np.float32)


def bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x).view(np.uint8)


def matrices(perspective: bool) -> np.ndarray:
    """Rotations of any angle, zooms in and out, shifts past the edge (taps far outside), one near-singular."""
    rng = np.random.default_rng(1)
    m = fa.affine_matrix(rng.uniform(-180, 180, N), rng.normal(0, 9, (N, 2)), np.exp(rng.normal(0, 0.7, N)),
                         center=((W - 1) / 2, (H - 1) / 2))  # fmt: skip
    m[1, :, 2] += 60  # a sample mostly outside the source
    if not perspective:
        return m
    m3 = np.concatenate([m, np.zeros((N, 1, 3))], 1)
    m3[:, 2] = np.c_[rng.normal(0, 0.003, (N, 2)), np.ones(N)]
    return m3


@pytest.mark.parametrize("backend", ["native", "numba"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("op", ["warp_affine", "warp_perspective"])
@pytest.mark.parametrize("interp", ["nearest", "linear"])
@pytest.mark.parametrize("border", ["constant", "replicate", "reflect", "wrap", "reflect101"])
def test_planar_warp_equals_interleaved(backend: str, dtype: str, channels: int, op: str, interp: str, border: str):
    x, m = images(channels, dtype), matrices(op == "warp_perspective")
    fill = 0.25 if dtype == "float32" else 7
    with fa.backend(backend):
        want = getattr(fa, op)(x, m, SIZE, interp, border, fill=fill)
        out = planar(np.zeros_like(want))
        getattr(fa, op)(planar(x), m, SIZE, interp, border, fill=fill, out=out)
        np.testing.assert_array_equal(out, want)
        if dtype == "float32":
            g = np.random.default_rng(3).standard_normal(want.shape).astype(np.float32)
            dense = warp_backward(op, g, x, m, interp, border, fill, need_matrix=False)[0]
            grad = planar(np.zeros_like(x))
            warp_backward(op, planar(g), planar(x), m, interp, border, fill, need_matrix=False, out=grad)
            np.testing.assert_array_equal(grad, dense)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("border", ["constant", "replicate", "reflect", "wrap", "reflect101"])
@pytest.mark.parametrize("size", [(25, 72), (70, 30)])
def test_planar_integer_shift_equals_interleaved(dtype: str, channels: int, border: str, size: tuple[int, int]):
    """Nearest warps by integer shifts (DiffAugment's translation) take the planar rows' shifted copies: the same
    bits as the per-pixel loops (-0 made +0, NaN and inf carried, the border's values beside the run), forward and
    backward, for shifts inside, past the edge and far outside; 70 rows split the backward of a small batch into
    chunks."""
    x = images(channels, dtype)
    if dtype == "float32":
        x[0, 0, :5], x[0, 1, :3], x[2, 3, 4] = -0.0, np.nan, np.inf
    shifts = [(3, -2), (-7, 0), (0, 0), (40, -100)]
    m = np.array([[[1, 0, dx], [0, 1, dy]] for dx, dy in shifts], dtype=np.float64)
    fill = -0.0 if dtype == "float32" else 7
    with fa.backend("native"):
        want = fa.warp_affine(x, m, size, "nearest", border, fill=fill)
        out = planar(np.zeros_like(want))
        fa.warp_affine(planar(x), m, size, "nearest", border, fill=fill, out=out)
        np.testing.assert_array_equal(bits(out), bits(want))  # +0 / -0 and NaN payloads too
        if dtype == "float32":
            assert not np.signbit(out[(out == 0)]).any()
            g = np.random.default_rng(4).standard_normal(want.shape).astype(np.float32)
            g[1, 2, :4] = -0.0
            dense = warp_backward("warp_affine", g, x, m, "nearest", border, fill, need_matrix=False)[0]
            grad = planar(np.zeros_like(x))
            warp_backward("warp_affine", planar(g), planar(x), m, "nearest", border, fill, need_matrix=False, out=grad)
            np.testing.assert_array_equal(bits(grad), bits(dense))
    with fa.backend("numba"):
        np.testing.assert_array_equal(fa.warp_affine(x, m, size, "nearest", border, fill=fill), want)


@pytest.mark.parametrize("backend", ["native", "numba"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_planar_color_transform_equals_interleaved(backend: str, dtype: str, channels: int):
    x = images(channels, dtype)
    matrix = np.random.default_rng(2).normal(0, 0.6, (N, channels, channels + 1))
    matrix[:, :, -1] *= 40 if dtype == "uint8" else 0.3
    with fa.backend(backend):
        want = fa.color_transform(x, matrix)
        out = planar(np.zeros_like(want))
        fa.color_transform(planar(x), matrix, out=out)
    np.testing.assert_array_equal(out, want)


def test_bad_planar_gather_setting_is_a_clear_error():
    """FASTAUG_PLANAR_GATHER takes 'hardware' or 'scalar'; anything else names the variable (not a silent timing)."""
    import subprocess
    import sys

    script = (
        "import numpy as np, fastaug as fa\n"
        "x = np.zeros((1, 3, 8, 8), np.float32).transpose(0, 2, 3, 1)\n"
        "for call in (lambda: fa.warp_affine(x, np.eye(2, 3)[None], (8, 8), out=np.zeros_like(x)),\n"
        "             lambda: fa.backends()):\n"
        "    try:\n"
        "        call()\n"
        "    except ValueError as e:\n"
        "        print(type(e).__name__, e)\n"
    )
    env = {**__import__("os").environ, "FASTAUG_PLANAR_GATHER": "fast", "FASTAUG_BACKEND": "native"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ArgumentError"), run.stdout
    assert all("FASTAUG_PLANAR_GATHER" in line and "'fast'" in line for line in lines)


@pytest.mark.parametrize("gather", ["hardware", "scalar"])
def test_planar_float_warp_bits_with_either_gather(gather: str):
    """Both pass-2 paths of the float32 planar forward give the interleaved path's bits, whichever one the process
    timing would pick: FASTAUG_PLANAR_GATHER=hardware (gather instructions) and =scalar (loads: on AVX2 CPUs one
    64-bit load per horizontal pair of a bilinear window inside the image, eight pixels at a time, the pixels at
    the image's edges redone one by one). Noise with -0, NaN and inf, a photograph, rotations of any angle, zooms,
    shifts past the edge, every border, 1, 3 and 4 channels, rows of 9 to 200 pixels (partial runs of eight)."""
    import os
    import subprocess
    import sys

    script = """
import numpy as np, fastaug as fa
from skimage import data
rng = np.random.default_rng(5)
noise = rng.uniform(-1, 1, (3, 40, 67, 4)).astype(np.float32)
noise.reshape(-1)[rng.choice(noise.size, 60, replace=False)] = [-0.0, np.nan, np.inf, -np.inf] * 15
photo = (data.astronaut()[::3, ::3] / 255).astype(np.float32)
sources = [noise, np.broadcast_to(np.dstack([photo, photo[..., :1]]), (3, *photo.shape[:2], 4)).copy()]
bad = 0
for x in sources:
    n, h, w, _ = x.shape
    m = fa.affine_matrix(rng.uniform(-180, 180, n), rng.normal(0, 6, (n, 2)), np.exp(rng.normal(0, 0.5, n)),
                         center=((w - 1) / 2, (h - 1) / 2))
    m[1, :, 2] += w / 2
    for c in (1, 3, 4):
        src = np.ascontiguousarray(x[..., :c])
        for size in ((9, 13), (37, 200), (h, w)):
            for border in ("constant", "replicate", "reflect", "wrap", "reflect101"):
                want = fa.warp_affine(src, m, size, "linear", border, fill=0.5)
                out = np.ascontiguousarray(np.zeros_like(want).transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
                planar = np.ascontiguousarray(src.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
                fa.warp_affine(planar, m, size, "linear", border, fill=0.5, out=out)
                bad += int((np.ascontiguousarray(out).view(np.uint32) != want.view(np.uint32)).sum())
print("differing", bad)
"""
    env = {**os.environ, "FASTAUG_PLANAR_GATHER": gather, "FASTAUG_BACKEND": "native"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["differing", "0"], run.stdout
