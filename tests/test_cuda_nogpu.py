"""The CUDA backend where no GPU is: the build, the report, and clear errors instead of crashes.

CI builds the CUDA kernels (FASTAUG_EXPECT_CUDA_BUILD=1 in .ci/run) on a machine without a GPU: there
every CPU test in this suite runs against that build, and these tests check that CUDA images are refused
with the operator's name and the runtime's reason, before any memory is touched."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

import fastaug as fa
from fastaug import _backend

native = _backend._native
needs_native = pytest.mark.skipif(native is None, reason="fastaug._C is not built")


def _gpu_present() -> bool:
    return native is not None and bool(native.cuda_status()[0])


# ---- a DLPack capsule that claims to live on a CUDA device ----------------------------------------------


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [
        ("dl_tensor", _DLTensor),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ]


_KEEP: list = []  # the ctypes structures outlive the capsules (their deleter is null)


def cuda_capsule(shape: tuple[int, ...], dtype: str = "uint8") -> object:
    """A legacy 'dltensor' capsule with device type kDLCUDA and an address no one may read (each its own,
    1 MiB apart: an input and an output at one address would be refused as overlapping first)."""
    shp = (ctypes.c_int64 * len(shape))(*shape)
    address = 0xDEAD0000 + len(_KEEP) * 0x80000
    code, bits = {"uint8": (1, 8), "float32": (2, 32), "float16": (2, 16), "bfloat16": (4, 16)}[dtype]
    managed = _DLManagedTensor()
    managed.dl_tensor = _DLTensor(
        ctypes.c_void_p(address), _DLDevice(2, 0), len(shape), _DLDataType(code, bits, 1), shp, None, 0
    )
    _KEEP.extend([shp, managed])
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(managed), b"dltensor", None)


class CudaProducer:
    """What a torch CUDA tensor looks like to fastaug, without a GPU."""

    def __init__(self, shape: tuple[int, ...], dtype: str = "uint8") -> None:
        self.shape, self.dtype = shape, dtype

    def __dlpack__(self, **kwargs: object) -> object:
        return cuda_capsule(self.shape, self.dtype)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, 0)


# ---- tests ----------------------------------------------------------------------------------------------


@needs_native
def test_ci_built_the_cuda_kernels():
    if os.environ.get("FASTAUG_EXPECT_CUDA_BUILD") != "1":
        pytest.skip("FASTAUG_EXPECT_CUDA_BUILD is not set (CI sets it)")
    assert native.with_cuda, "CI asked for the CUDA kernels (FASTAUG_CUDA=ON) but fastaug._C has none"


@needs_native
def test_backends_report_cuda_and_why():
    info = fa.backends()
    assert set(info["cuda"]) >= {"available", "reason"} and info["cuda"]["reason"]
    assert ("cuda" in info["native"]["devices"]) == bool(native.with_cuda)
    if not native.with_cuda:
        assert info["cuda"]["available"] is False and "without CUDA" in info["cuda"]["reason"]
    elif not _gpu_present():
        assert info["cuda"]["available"] is False and "CUDA" in info["cuda"]["reason"]


# one call of every native operator on CUDA capsules, with valid other arguments
S, F = (2, 8, 8, 3), np.zeros(4)
NATIVE_CALLS = {
    "warp_affine": lambda s, d: native.warp_affine(s, d, np.tile([1.0, 0, 0, 0, 1, 0], 2), 1, 0, F, 0),
    "warp_perspective": lambda s, d: native.warp_perspective(s, d, np.tile(np.eye(3).ravel(), 2), 1, 0, F, 0),
    "resize": lambda s, d: native.resize(s, d, 1, 0),
    "flip": lambda s, d: native.flip(s, d, np.ones(2, np.int32), 0),
    "rotate90": lambda s, d: native.rotate90(s, d, np.zeros(2, np.int32), 0),
    "crop": lambda s, d: native.crop(s, d, np.zeros(4, np.int64), 0),
    "filter2d": lambda s, d: native.filter2d(s, d, np.ones(18, np.float32), 3, 3, 4, F, 0),
    "sep_filter2d": lambda s, d: native.sep_filter2d(
        s, d, np.ones(6, np.float32), 3, np.ones(6, np.float32), 3, 4, F, 0.0, 0
    ),
    "gaussian_blur": lambda s, d: native.gaussian_blur(s, d, 3, 3, np.ones(4), 4, 0),
    "box_blur": lambda s, d: native.box_blur(s, d, 3, 3, 4, 0),
    "median_blur": lambda s, d: native.median_blur(s, d, 3, 0),
    "equalize": lambda s, d: native.equalize(s, d, 0),
    "threshold": lambda s, d: native.threshold(s, d, np.full(2, 100.0), np.full(2, 255.0), 0, 0),
    "invert": lambda s, d: native.invert(s, d, 0),
    "lut": lambda s, d: native.lut(s, d, np.zeros(2 * 3 * 256, np.uint8), 0),
    "color_transform": lambda s, d: native.color_transform(s, d, np.tile(np.eye(3, 4).ravel(), 2), 0),
    "hue_shift": lambda s, d: native.hue_shift(s, d, np.array([0.1, -0.2]), 0),
}


@needs_native
@pytest.mark.parametrize("op", sorted(NATIVE_CALLS))
def test_native_refuses_cuda_images_without_a_gpu(op):
    if _gpu_present():
        pytest.skip("a GPU is present: the CUDA suite covers this")
    with pytest.raises(
        ValueError, match=rf"{op}: got a CUDA image, but (no CUDA device can be used|fastaug was built)"
    ):
        NATIVE_CALLS[op](cuda_capsule(S), cuda_capsule(S))


@needs_native
def test_native_refuses_cuda_images_of_the_other_ops():
    if _gpu_present():
        pytest.skip("a GPU is present")
    gray = (2, 8, 8, 1)
    cases = [
        ("to_gray", lambda: native.to_gray(cuda_capsule(S), cuda_capsule(gray), 0)),
        ("edges", lambda: native.edges(cuda_capsule(gray), cuda_capsule(gray), 0)),
        ("sobel", lambda: native.sobel(cuda_capsule(S), cuda_capsule(S, "float32"), 1, 0, 3, 1.0, 0.0, 4, 0)),
        (
            "normalize",
            lambda: native.normalize(
                cuda_capsule(S), cuda_capsule(S, "float32"), np.zeros(3), np.ones(3), 1.0, None, 0
            ),
        ),
        (
            "normalize",
            lambda: native.normalize(
                cuda_capsule(S), cuda_capsule(S, "bfloat16"), np.zeros(3), np.ones(3), 1.0, None, 0
            ),
        ),
        ("tiles", lambda: native.tiles(cuda_capsule(S), cuda_capsule((8, 4, 4, 3)), 4, 4, 0)),
        ("channel_mean", lambda: native.channel_mean(cuda_capsule(S), np.zeros((2, 3)), 0)),
        (
            "resize",
            lambda: native.resize(
                [cuda_capsule((8, 8, 3)), cuda_capsule((5, 7, 3))],
                [cuda_capsule((4, 4, 3)), cuda_capsule((9, 2, 3))],
                1,
                0,
            ),
        ),
        (
            "warp_affine",
            lambda: native.warp_affine(
                [cuda_capsule((8, 8, 3)), cuda_capsule((5, 7, 3))],
                cuda_capsule(S),
                np.tile(np.eye(2, 3).ravel(), 2),
                1,
                0,
                F,
                0,
            ),
        ),
    ]
    for op, call in cases:
        with pytest.raises(ValueError, match=rf"{op}: got a CUDA image"):
            call()


@needs_native
def test_validation_comes_before_the_device():
    """A bad argument on a CUDA image is reported as such, not as a device problem."""
    with pytest.raises(ValueError, match="ksize"):
        native.median_blur(cuda_capsule(S), cuda_capsule(S), 4, 0)
    with pytest.raises(ValueError, match="singular"):
        native.warp_affine(cuda_capsule(S), cuda_capsule(S), np.zeros(12), 1, 0, F, 0)
    with pytest.raises(
        ValueError, match=r"img\[1\]: expected dtype uint8, 3 channels on cuda:0 like img\[0\], got .* on cpu"
    ):
        native.warp_affine(
            [cuda_capsule((8, 8, 3)), np.zeros((8, 8, 3), np.uint8).__dlpack__()],
            cuda_capsule(S),
            np.zeros(12),
            1,
            0,
            F,
            0,
        )
    with pytest.raises(ValueError, match="M: matrix of sample 1 is singular"):
        native.warp_affine(
            [cuda_capsule((8, 8, 3)), cuda_capsule((5, 7, 3))],
            cuda_capsule(S),
            np.r_[1.0, 0, 0, 0, 1, 0, np.zeros(6)],
            1,
            0,
            F,
            0,
        )
    with pytest.raises(ValueError, match="matrix: entry"):
        native.color_transform(cuda_capsule(S), cuda_capsule(S), np.full(24, np.nan), 0)
    with pytest.raises(ValueError, match="img: expected dtype uint8"):
        native.lut(cuda_capsule(S, "float32"), cuda_capsule(S, "float32"), np.zeros(2 * 3 * 256, np.uint8), 0)
    with pytest.raises(ValueError, match="dst: expected dtype float32, float16 or bfloat16, got uint8"):
        native.normalize(cuda_capsule(S), cuda_capsule(S), np.zeros(3), np.ones(3), 1.0, None, 0)
    with pytest.raises(ValueError, match="img: expected dtype uint8 or float32, got DLPack type code 2 with 16"):
        native.invert(cuda_capsule(S, "float16"), cuda_capsule(S, "float16"), 0)
    with pytest.raises(ValueError, match=r"hue: expected values in \[-0.5, 0.5\]"):
        native.hue_shift(cuda_capsule(S), cuda_capsule(S), np.array([0.1, 2.0]), 0)


def test_public_api_names_the_missing_cuda_backend():
    if _gpu_present():
        pytest.skip("a GPU is present")
    src, out = CudaProducer((2, 8, 8, 3)), CudaProducer((2, 8, 8, 3))
    with fa.backend("native"), pytest.raises(ValueError, match="img: got a CUDA array, but no CUDA backend can run it"):
        fa.invert(src, out=out)


def test_cuda_output_cannot_be_allocated_for_an_unknown_producer():
    with pytest.raises(ValueError, match="cannot allocate an output"):
        fa.invert(CudaProducer((8, 8, 3)))


def test_cpu_and_cuda_arrays_do_not_mix():
    with pytest.raises(ValueError, match="out: expected an array on cpu"):
        fa.invert(np.ones((8, 8, 3), np.uint8), out=CudaProducer((8, 8, 3)))


class _TorchLikeStream:
    cuda_stream = 1234


class _CupyLikeStream:
    ptr = 5678


@pytest.mark.parametrize(
    "stream, handle", [(None, 0), (0, 0), (77, 77), (_TorchLikeStream(), 1234), (_CupyLikeStream(), 5678)]
)
def test_stream_handles(stream, handle):
    img = _backend.Image(np.ones((4, 4, 3), np.uint8))
    assert _backend.stream_handle(stream, img) == handle


@pytest.mark.parametrize("bad", [-1, "0", 1.5, True])
def test_bad_stream_is_a_clear_error(bad):
    img = _backend.Image(np.ones((4, 4, 3), np.uint8))
    with pytest.raises(TypeError, match="stream: expected"):
        _backend.stream_handle(bad, img)
