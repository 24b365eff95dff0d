"""Which backend runs an operator: the native extension (fastaug._C) or the Numba fallback.

FASTAUG_BACKEND=auto|native|numba forces one for the process; `with fastaug.backend("numba"):` for a
block (per thread / task: a context variable). If the native module is missing or fails to import,
fastaug warns once and runs on Numba; it never runs silently on something else than it reports."""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import math
import os
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

try:
    from numpy.lib.array_utils import byte_bounds
except ImportError:  # numpy < 2
    from numpy import byte_bounds  # type: ignore[attr-defined,no-redef]

from ._errors import ArgumentError, ArgumentTypeError
from ._interop import Image

NAMES = ("native", "numba")

try:
    from . import _C as _native  # type: ignore[attr-defined]

    _native_error: str | None = None
except ImportError as e:  # pragma: no cover - exercised by the fallback test in a subprocess
    _native = None
    _native_error = f"{type(e).__name__}: {e}"

_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("fastaug_backend", default=None)
_warned = False


def _numba_module() -> ModuleType | None:
    try:
        return importlib.import_module("fastaug._numba")
    except ImportError:
        return None


def _native_cuda() -> tuple[bool, str]:
    """Whether the native CUDA kernels can run here, and if not why (asked once per call: cheap)."""
    if _native is None:
        return False, f"fastaug._C could not be imported ({_native_error})"
    ok, reason = _native.cuda_status()
    return bool(ok), str(reason)


def _numba_cuda() -> tuple[bool, str]:
    """Whether numba.cuda can run kernels here (a GPU, or the simulator under NUMBA_ENABLE_CUDASIM=1)."""
    if importlib.util.find_spec("numba") is None:
        return False, "numba is not installed"
    try:
        from numba import config, cuda
    except Exception as e:  # noqa: BLE001  # pragma: no cover - a broken numba install raises anything
        return False, f"numba.cuda failed to import ({type(e).__name__}: {e})"
    if cuda.is_available():
        return True, "numba.cuda simulator" if getattr(config, "ENABLE_CUDASIM", False) else "CUDA device present"
    return False, "numba.cuda found no usable CUDA device or driver"


def backends() -> dict[str, dict[str, Any]]:
    """What is available, which one runs by default here, and why the others do not. 'cuda' is the
    native CUDA kernels, 'numba_cuda' their Numba twin (used for CUDA arrays when 'cuda' is not)."""
    numba_ok = importlib.util.find_spec("numba") is not None
    cuda_ok, cuda_reason = _native_cuda()
    info: dict[str, Any] = {
        "native": {
            "available": _native is not None,
            "reason": _native_error or "fastaug._C imported",
            "devices": ["cpu"] + (["cuda"] if _native is not None and _native.with_cuda else []),
            "cpu_target": _native.cpu_target() if _native is not None else None,
            # float32 planar warps' tap reads: "hardware" gathers or "scalar" loads (timed once; same bits)
            "planar_gather": _native.planar_gather() if _native is not None else None,
        },
        "numba": {
            "available": numba_ok,
            "reason": "numba installed" if numba_ok else "numba is not installed",
            "devices": ["cpu"],
        },
        "cuda": {"available": cuda_ok, "reason": cuda_reason, "devices": ["cuda"]},
    }
    if numba_ok and importlib.util.find_spec("fastaug._numba_cuda") is not None:
        ok, reason = _numba_cuda()
        info["numba_cuda"] = {"available": ok, "reason": reason, "devices": ["cuda"]}
    else:
        info["numba_cuda"] = {"available": False, "reason": "numba or fastaug._numba_cuda missing", "devices": ["cuda"]}
    info["active"] = active()
    return info


def _check_name(name: str, what: str) -> str:
    name = name.lower()
    if name not in ("auto", *NAMES):
        raise ArgumentError(f"{what}: expected one of 'auto', 'native', 'numba', got {name!r}")
    return name


def _requested() -> str:
    """'auto', 'native' or 'numba': the `backend()` block's choice, else FASTAUG_BACKEND's."""
    return _forced.get() or _check_name(os.environ.get("FASTAUG_BACKEND", "auto"), "FASTAUG_BACKEND")


def active() -> str:
    """The backend the next call will use."""
    global _warned
    name = _requested()
    if name == "native" and _native is None:
        raise ArgumentError(f"backend: 'native' was asked for, but fastaug._C could not be imported ({_native_error})")
    if name == "auto":
        if _native is not None:
            return "native"
        if not _warned:
            _warned = True
            warnings.warn(
                f"fastaug: native kernels unavailable ({_native_error}); using the Numba fallback",
                RuntimeWarning,
                stacklevel=3,
            )
        return "numba"
    return name


@contextlib.contextmanager
def backend(name: str) -> Iterator[None]:
    """Runs the block on one backend: 'native', 'numba' or 'auto'."""
    token = _forced.set(_check_name(name, "backend"))
    try:
        yield
    finally:
        _forced.reset(token)


def set_num_threads(n: int) -> None:
    """Threads for the native CPU kernels (OpenMP) and the Numba fallback. In a process forked from one that
    had loaded fastaug (a DataLoader worker under the default start method) the native kernels run on one
    thread whatever n is: GNU OpenMP hangs in a child forked after its parent ran a parallel region."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ArgumentError(f"n: expected a positive int, got {n!r}")
    if n > 1 and _native is not None and _native.in_forked_child():
        warnings.warn(
            f"fastaug.set_num_threads({n}) in a forked process: the native kernels use 1 thread (GNU OpenMP "
            "hangs in a child forked after its parent ran a parallel region); start workers with "
            "'forkserver' or 'spawn' for more",
            RuntimeWarning,
            stacklevel=2,
        )
    if _native is not None:
        _native.set_num_threads(int(n))
    numba = importlib.import_module("numba") if importlib.util.find_spec("numba") else None
    if numba is not None:
        numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))


# NumPy outputs of at least this many bytes come from fastaug._C's recycled blocks (empty_buffer).
POOLED_OUTPUT_BYTES = 1 << 20
_INT64_MAX = (1 << 63) - 1


def empty_host(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A new NumPy array for an output: large ones from the native module's recycled, already mapped
    blocks (no page faults when the kernel writes them), others from np.empty."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if _native is None or not POOLED_OUTPUT_BYTES <= nbytes <= _INT64_MAX:  # (np.empty refuses a size beyond)
        return np.empty(shape, dtype=dtype)
    return _native.empty_buffer(nbytes).view(dtype).reshape(shape)


def empty_torch_cpu(shape: tuple[int, ...], dtype: str) -> Any:
    """A new CPU torch tensor for an output: of 1 MiB or more (and a dtype NumPy has), a torch.from_numpy view
    of an empty_host block (no page faults when the kernel writes it; its storage cannot grow with resize_),
    else torch.empty."""
    import torch

    nbytes = math.prod(shape) * getattr(torch, dtype).itemsize
    if _native is None or not POOLED_OUTPUT_BYTES <= nbytes <= _INT64_MAX or dtype == "bfloat16":
        return torch.empty(shape, dtype=getattr(torch, dtype))
    return torch.from_numpy(empty_host(shape, dtype))


def set_buffer_cache(nbytes: int) -> int:
    """Caps the bytes of freed output buffers that fastaug keeps for reuse (default 512 MiB; 0 turns the
    reuse off) and returns the previous cap. NumPy outputs of 1 MiB or more come from these buffers:
    their pages stay mapped between calls, so a fresh output costs no page faults."""
    if not isinstance(nbytes, (int, np.integer)) or isinstance(nbytes, bool) or nbytes < 0:
        raise ArgumentError(f"nbytes: expected a non-negative int, got {nbytes!r}")
    if _native is None:
        return 0
    return int(_native.set_buffer_cache(int(nbytes)))


def get_num_threads() -> int:
    if _native is not None:
        return int(_native.get_num_threads())
    return int(importlib.import_module("numba").get_num_threads())


def stream_handle(stream: Any, src: Image) -> int:
    """The CUDA stream a call runs on, as an integer handle: `stream` if given (a torch or CuPy stream,
    a numba stream or an int), else the current stream of the input's framework, else 0 (default)."""
    if stream is None:
        if src.framework == "torch":
            import torch

            return int(torch.cuda.current_stream(src.obj.device).cuda_stream)
        if src.framework == "cupy":
            import cupy

            return int(cupy.cuda.get_current_stream().ptr)
        return 0
    if type(stream).__module__.startswith("numba.cuda") and not hasattr(stream, "handle"):
        return 0  # the simulator's stream: it runs everything in order anyway
    for attr in ("cuda_stream", "ptr", "handle"):
        if hasattr(stream, attr):
            value = getattr(stream, attr)
            value = getattr(value, "value", value)  # numba's handle is a ctypes pointer
            return int(value or 0)
    if isinstance(stream, (int, np.integer)) and not isinstance(stream, bool) and stream >= 0:
        return int(stream)
    raise ArgumentTypeError(f"stream: expected a torch/CuPy/numba CUDA stream or an int handle, got {stream!r}")


def _cuda_backend(src: Image, stream: Any) -> tuple[Any, Any]:
    """The CUDA backend a call on src runs on, and the stream it takes: (fastaug._C, an int handle) or
    (fastaug._numba_cuda, a numba stream or 0)."""
    handle = stream_handle(stream, src)
    forced = _requested()
    native_ok, native_reason = _native_cuda()
    if native_ok and forced != "numba" and src.framework != "numba":
        return _native, handle
    numba_ok, numba_reason = _numba_cuda()
    if not numba_ok or forced == "native":
        raise ArgumentError(
            f"{src.name}: got a CUDA array, but no CUDA backend can run it here (native CUDA: "
            f"{native_reason}; numba.cuda: {'not asked for' if forced == 'native' else numba_reason})"
        )
    from numba import cuda

    module = importlib.import_module("fastaug._numba_cuda")
    if type(stream).__module__.startswith("numba.cuda"):
        return module, stream  # the caller's own numba stream
    return module, cuda.external_stream(handle) if handle else 0


def _cpu_backend() -> Any:
    """The CPU backend of the next call: fastaug._C or fastaug._numba."""
    if active() == "native":
        return _native
    module = _numba_module()
    if module is None:
        raise ArgumentError("backend: the Numba fallback needs numba, which is not installed")
    return module


def _each(images: Image | list[Image], f: Callable[[Image], Any]) -> Any:
    """f of an image (or batch), or the list of f of each image of a ragged batch."""
    return [f(i) for i in images] if isinstance(images, list) else f(images)


def _all(images: Image | list[Image]) -> list[Image]:
    return images if isinstance(images, list) else [images]


def _overlap(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> bool:
    """Whether the memory span of an input overlaps that of an output (np.may_share_memory's bounds test,
    for all pairs at once: a ragged batch has an input and an output per image)."""
    if not inputs or not outputs:
        return False
    ins, outs = np.array([byte_bounds(a) for a in inputs]), np.array([byte_bounds(a) for a in outputs])
    return bool(((ins[:, None, 0] < outs[None, :, 1]) & (outs[None, :, 0] < ins[:, None, 1])).any())


def _first(images: Image | list[Image]) -> Image:
    return images[0] if isinstance(images, list) else images


def _run_cuda(op: str, src: Image | list[Image], dst: Image | list[Image], args: tuple[Any, ...], stream: Any) -> None:
    first, out = _first(src), _first(dst)
    if first.framework != out.framework:
        raise ArgumentError(f"out: expected a {first.framework} array like img, got {out.framework}")
    if first.framework != "numba" and first.device_index() != out.device_index():
        raise ArgumentError(
            f"out: expected an array on cuda:{first.device_index()} like img, got one on cuda:{out.device_index()}"
        )
    module, s = _cuda_backend(first, stream)
    if module is _native:
        getattr(_native, op)(_each(src, lambda i: i.capsule(s)), _each(dst, lambda i: i.capsule(s)), *args, s)
    else:
        getattr(module, op)(_each(src, Image.device_array4), _each(dst, Image.device_array4), *args, stream=s)


def run(op: str, src: Image | list[Image], dst: Image | list[Image], *args: Any, stream: Any = None) -> None:
    """Calls `op` of the active backend on src (an image or batch, or a list of images: a ragged batch)
    and dst (already validated and allocated; a list of images for an operator with one output per image
    of a ragged batch). CUDA arrays go to the native CUDA kernels, or to the Numba CUDA twin when those
    cannot run."""
    first, out = _first(src), _first(dst)
    if first.device != out.device:
        raise ArgumentError(f"out: expected an array on {first.device} like img, got one on {out.device}")
    if first.device == "cuda":
        _run_cuda(op, src, dst, args, stream)
        return
    if _overlap(
        [i.obj for i in _all(src) if i.framework == "numpy"], [o.obj for o in _all(dst) if o.framework == "numpy"]
    ):
        raise ArgumentError("out: must not overlap the input image")
    module = _cpu_backend()
    if module is _native:
        getattr(_native, op)(_each(src, lambda i: i.capsule()), _each(dst, lambda i: i.capsule()), *args, 0)
    else:
        getattr(module, op)(_each(src, Image.array4), _each(dst, Image.array4), *args)


def reduce(op: str, src: Image, result: np.ndarray, *args: Any, stream: Any = None) -> None:
    """Calls `op` of the active backend on src with a host float64 array for its result (a reduction: a
    few values per sample). On a CUDA array the call waits for its stream, since the values are copied
    to the host."""
    if src.device == "cuda":
        module, s = _cuda_backend(src, stream)
        if module is _native:
            getattr(_native, op)(src.capsule(s), result, *args, s)
        else:
            getattr(module, op)(src.device_array4(), result, *args, stream=s)
        return
    module = _cpu_backend()
    if module is _native:
        getattr(_native, op)(src.capsule(), result, *args, 0)
    else:
        getattr(module, op)(src.array4(), result, *args)
