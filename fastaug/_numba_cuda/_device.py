"""What every CUDA fallback kernel needs: the shared per-pixel helpers as device functions, device arrays
as (flat buffer, Layout) like fastaug._numba._view, per-call parameters staged through pinned memory,
and launches on the caller's stream.

One source for the per-pixel maths. The helpers of fastaug._numba (map_border, sample, saturate,
cubic_weights, median_of, edge_pixel, ...) are plain @numba.njit functions, and numba.cuda compiles a
CPU dispatcher called from a kernel as a device function of the same Python source
(numba.cuda.target.CUDATypingContext.resolve_value_type): the CUDA kernels here call them directly, so
each formula exists once. Their @overload-dispatched helpers (saturate, gray_pixel, invert_pixel) are
generic-target overloads and compile for CUDA the same way. The CUDA simulator instead runs kernels as
Python, with its fake arrays that a CPU dispatcher cannot take; device() then hands out the helpers'
Python source (py_func) with their own helper globals swapped the same way, recursively.

Same bits as the CPU. NVVM contracts a * b + c into one fma by default, which rounds once where the CPU
(and the native kernels, built without contraction) round twice. The kernels are therefore compiled with
-fma=0: numba.cuda 0.68 has no option for it, so nvvm.compile_ir is wrapped once to add fma=False while
(and only while) a fastaug kernel is being compiled on this thread (_no_fma), and without link-time
optimisation (kernel()), whose nvJitLink code generation would contract again."""

from __future__ import annotations

import collections
import functools
import inspect
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numba import config, cuda
from numba.core.dispatcher import Dispatcher

from .._numba._check import fail
from .._numba._view import Layout, as_view, batch_dims, check_rank, layout_of, ragged_layouts, ragged_span
from .._numba._view import as_batch as host_batch

SIMULATOR: bool = bool(config.ENABLE_CUDASIM)  # NUMBA_ENABLE_CUDASIM=1: kernels run as Python

THREADS = 128  # threads per block of the per-pixel kernels

# ---- shared helpers as device functions ---------------------------------------------------------------

_python_versions: dict[Any, Any] = {}


def _global_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def _python(fn: Any) -> Any:
    """fn's Python source, with every Numba dispatcher it calls replaced by its own _python version."""
    py = fn.py_func if isinstance(fn, Dispatcher) else fn
    if py in _python_versions:
        return _python_versions[py]
    env = dict(py.__globals__)
    twin = types.FunctionType(py.__code__, env, py.__name__, py.__defaults__, py.__closure__)
    _python_versions[py] = twin
    for name in set(_global_names(py.__code__)):
        if isinstance(env.get(name), Dispatcher):
            env[name] = _python(env[name])
    return twin


def device(fn: Any) -> Any:
    """The device-side version of fastaug._numba helper fn (see the module docstring)."""
    return _python(fn) if SIMULATOR else fn


# ---- kernels compiled without fma contraction ---------------------------------------------------------

_tls = threading.local()


@contextmanager
def _no_fma() -> Iterator[None]:
    _tls.no_fma = getattr(_tls, "no_fma", 0) + 1
    try:
        yield
    finally:
        _tls.no_fma -= 1


def _install_no_fma() -> None:
    from numba.cuda.cudadrv import nvvm

    if getattr(nvvm.compile_ir, "_fastaug_no_fma", False):
        return
    compile_ir = nvvm.compile_ir

    @functools.wraps(compile_ir)
    def wrapped(llvmir, **opts):  # type: ignore[no-untyped-def]
        if getattr(_tls, "no_fma", 0) and not opts.get("fastmath"):
            opts["fma"] = False
        return compile_ir(llvmir, **opts)

    wrapped._fastaug_no_fma = True  # type: ignore[attr-defined]
    nvvm.compile_ir = wrapped


if not SIMULATOR:
    _install_no_fma()


def kernel(fn: Callable[..., None]) -> Any:
    """cuda.jit(fn), launched through launch(). Without link-time optimisation: numba-cuda enables LTO by
    default where nvJitLink is present, and nvJitLink then generates the code with fma contraction on,
    whatever NVVM was told (seen on an H200 with numba-cuda 0.30.4: float results off by an ulp)."""
    if SIMULATOR or "lto" not in inspect.signature(cuda.jit).parameters:
        return cuda.jit(fn)
    return cuda.jit(fn, lto=False)


@cuda.jit(device=True)
def thread_pixel(d):  # type: ignore[no-untyped-def]
    """(n, y, x) of the output pixel of this thread of a launch_pixels grid over Layout d; n = -1 for the
    threads past the last pixel."""
    i = cuda.grid(1)
    if i >= d.n * d.h * d.w:
        return -1, 0, 0
    return i // (d.w * d.h), (i // d.w) % d.h, i % d.w


def blocks(count: int) -> int:
    return (count + THREADS - 1) // THREADS


def launch(k: Any, grid: int, block: int, stream: Any, *args: Any) -> None:
    """k[grid, block, stream](*args), compiling (on first use of these argument types) without fma."""
    with _no_fma():
        k[grid, block, stream](*args)


def launch_pixels(k: Any, count: int, stream: Any, *args: Any) -> None:
    """One thread per output item (count of them), THREADS per block."""
    launch(k, blocks(count), THREADS, stream, *args)


# ---- device arrays as batches -------------------------------------------------------------------------


class DeviceBatch:
    """A device array seen as (N, H, W, C): what the host-side checks of fastaug._numba read (.shape,
    .dtype, .size), and the flat device buffer and Layout the kernels address it with."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, buf: Any, layout: Layout) -> None:
        self.shape = tuple(int(v) for v in shape)
        self.dtype = np.dtype(dtype)
        self.size = int(np.prod(self.shape))
        self.buf = buf
        self.layout = layout


class _Span:
    """A __cuda_array_interface__ over [ptr, ptr + length elements), keeping its owner alive."""

    def __init__(self, ptr: int, length: int, typestr: str, owner: Any) -> None:
        self.owner = owner
        self.__cuda_array_interface__ = {
            "shape": (length,),
            "strides": None,
            "typestr": typestr,
            "data": (ptr, False),
            "version": 3,
        }


def as_batch(arr: Any, name: str, writable: bool = False) -> DeviceBatch:
    """A device array (DeviceNDArray, a simulator array, or anything with __cuda_array_interface__) of rank
    2, 3 or 4, any strides, as a DeviceBatch; same checks and messages as _view.as_batch / as_view."""
    if SIMULATOR:
        if not hasattr(arr, "_ary"):  # the simulator's FakeCUDAArray wraps a numpy array
            fail(name, ": expected a CUDA device array, got ", type(arr).__name__)
        host = host_batch(arr._ary, name)
        buf, layout = as_view(host, name, writable)
        return DeviceBatch(host.shape, host.dtype, _fake(buf), layout)
    if not cuda.is_cuda_array(arr):
        fail(name, ": expected a CUDA device array, got ", type(arr).__name__)
    cai = arr.__cuda_array_interface__
    dtype = np.dtype(cai["typestr"])
    shape = tuple(cai["shape"])
    check_rank(len(shape), name)
    ptr, readonly = cai["data"]
    if writable and readonly:
        fail(name, ": the output array is read-only")
    size = dtype.itemsize
    strides = cai.get("strides")
    if strides is None:  # C-contiguous
        strides = tuple(int(np.prod(shape[k + 1 :])) * size for k in range(len(shape)))
    if any(s % size for s in strides) or ptr % size:
        fail(name, ": data is not aligned to its element size")
    shape, estrides = batch_dims(shape, tuple(s // size for s in strides))
    if int(np.prod(shape)) == 0:
        return DeviceBatch(shape, dtype, cuda.device_array(1, dtype), Layout(0, *shape, *estrides))
    layout, lo, hi = layout_of(shape, list(estrides))
    flat = cuda.as_cuda_array(_Span(ptr + lo * size, hi - lo + 1, dtype.str, arr), sync=False)
    return DeviceBatch(shape, dtype, flat, layout)


def as_ragged(batches: list[DeviceBatch]) -> tuple[Any, np.ndarray]:
    """_view.as_ragged on the device: one flat device buffer over the address range of the images (the
    device's unified address space; under the simulator, host memory) and their (N, 9) Layouts. The buffer
    holds the images' owners; it is addressed only at their own elements."""
    itemsize = batches[0].dtype.itemsize
    if SIMULATOR:
        addresses = [b.buf._ary.ctypes.data for b in batches]
    else:
        addresses = [b.buf.__cuda_array_interface__["data"][0] for b in batches]
    low, rows = ragged_layouts(addresses, [b.layout for b in batches], itemsize)
    span = ragged_span(rows)
    if SIMULATOR:
        base = batches[low].buf._ary
        return _fake(np.lib.stride_tricks.as_strided(base, shape=(span,), strides=(itemsize,), writeable=False)), rows
    return cuda.as_cuda_array(_Span(addresses[low], span, batches[0].dtype.str, batches), sync=False), rows


def _fake(buf: np.ndarray) -> Any:
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    return FakeCUDAArray(buf)


def pair(src: Any, dst: Any) -> tuple[DeviceBatch, DeviceBatch]:
    return as_batch(src, "img"), as_batch(dst, "out", writable=True)


# ---- per-call parameters ------------------------------------------------------------------------------

# Per-call parameters (inverse maps, kernels, tables, thresholds...) go to the device without a blocking
# copy: each is written into a fresh pinned host buffer, copied with cuda.to_device(pinned, stream) (an
# asynchronous copy, ordered before the kernel on the same stream), and an event is recorded on the
# stream after it. The pinned buffer and the device copy are held in _inflight until that event has
# completed (checked, never waited for, at each later upload), so neither is freed while the copy or the
# kernel may still read it. The simulator is synchronous: nothing is held there.
_inflight: collections.deque[tuple[Any, tuple[Any, ...]]] = collections.deque()
_inflight_lock = threading.Lock()


def _retire() -> None:
    while _inflight:
        event, _ = _inflight[0]
        if not event.query():
            return
        _inflight.popleft()


def upload(stream: Any, *arrays: np.ndarray) -> list[Any]:
    """Each host array as a device array, copied asynchronously on stream through pinned memory."""
    out, held = [], []
    for a in arrays:
        a = np.ascontiguousarray(a)
        if SIMULATOR:
            out.append(cuda.to_device(a, stream=stream))
            continue
        pinned = cuda.pinned_array(a.shape, a.dtype)
        pinned[...] = a
        dev = cuda.to_device(pinned, stream=stream)
        out.append(dev)
        held += [pinned, dev]
    if held:
        event = cuda.event(timing=False)
        event.record(stream)
        with _inflight_lock:
            _retire()
            _inflight.append((event, tuple(held)))
    return out
