"""The public API on CUDA arrays through the Numba CUDA backend: numba device arrays in, numba device
arrays out, equal to the CPU result. Runs under Numba's CUDA simulator where no GPU is (tests/conftest.py
switches it on), and on a real GPU where there is one."""

from __future__ import annotations

import numpy as np
import pytest

import fastaug as fa

if not fa.backends()["numba_cuda"]["available"]:
    pytest.skip("numba.cuda has neither a GPU nor the simulator here", allow_module_level=True)

from numba import cuda

X = np.random.default_rng(0).integers(0, 256, (2, 12, 10, 3), dtype=np.uint8)
M = fa.affine_matrix([10.0, -20.0], scale=[1.1, 0.8], center=(5, 6))

CALLS = {
    "gaussian_blur": lambda x, **k: fa.gaussian_blur(x, 3, [0.7, 1.3], sigma_y=[1.3, 0.5], **k),
    "warp_affine": lambda x, **k: fa.warp_affine(x, M, interp="cubic", border="reflect", **k),
    "resize": lambda x, **k: fa.resize(x, (7, 15), "area", **k),
    "flip": lambda x, **k: fa.flip(x, [1, -1], **k),
    "equalize": lambda x, **k: fa.equalize(x, **k),
    "threshold": lambda x, **k: fa.threshold(x, [90, 160], 200, "trunc", **k),
    "edges": lambda x, **k: fa.edges(x, **k),
    "normalize_nchw": lambda x, **k: fa.normalize(x, (0.4, 0.5, 0.6), (0.2, 0.25, 0.3), **k),
    "lut": lambda x, **k: fa.lut(x, np.arange(256)[::-1], **k),
    "color_transform": lambda x, **k: fa.color_transform(x, [[0.5, 0.3, 0.2, 9], [0, 1, 0, -4], [40, -20, 1, 0]], **k),
    "hue_shift": lambda x, **k: fa.hue_shift(x, [0.3, -0.45], **k),
    "normalize_color": lambda x, **k: fa.normalize(
        x, 0.5, 0.25, "NHWC", "float16", matrix=[[0.5, 0.3, 0.2, 9], [0, 1, 0, -4], [40, -20, 1, 0]], **k
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numba_device_arrays_through_the_public_api(name):
    call = CALLS[name]
    got = call(cuda.to_device(X))
    assert type(got).__module__.startswith("numba.cuda"), type(got)
    np.testing.assert_array_equal(got.copy_to_host(), call(X), err_msg=name)


def test_channel_mean_of_a_device_array_is_a_numpy_array():
    stream = cuda.stream()
    got = fa.channel_mean(cuda.to_device(X), stream=stream)
    assert isinstance(got, np.ndarray) and got.shape == (2, 3)
    np.testing.assert_array_equal(got, fa.channel_mean(X))


def test_single_image_rank_is_kept():
    got = fa.invert(cuda.to_device(X[0]))
    assert got.shape == X[0].shape
    np.testing.assert_array_equal(got.copy_to_host(), 255 - X[0])


def test_out_on_the_device_and_stream_argument():
    out = cuda.device_array(X.shape, np.uint8)
    stream = cuda.stream()
    res = fa.box_blur(cuda.to_device(X), 3, out=out, stream=stream)
    stream.synchronize()
    assert res is out
    np.testing.assert_array_equal(out.copy_to_host(), fa.box_blur(X, 3))


def test_cpu_out_for_a_device_image_is_refused():
    with pytest.raises(ValueError, match="out: expected an array on cuda"):
        fa.invert(cuda.to_device(X), out=np.empty_like(X))


def test_forcing_native_names_what_is_missing():
    if fa.backends()["cuda"]["available"]:
        pytest.skip("native CUDA is available here")
    with fa.backend("native"), pytest.raises(ValueError, match="no CUDA backend can run it"):
        fa.invert(cuda.to_device(X))
