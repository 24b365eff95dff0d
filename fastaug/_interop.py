"""The zero-copy bridge. Any numpy array, torch tensor, CuPy array or object with __dlpack__ is read in
place; outputs are allocated by the caller's own framework (np.empty, torch.empty, cupy.empty) so that
the result has the caller's type and device, and nothing is ever copied on the way in or out."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._errors import ArgumentError, ArgumentTypeError

DTYPES = ("uint8", "float32")  # images
OUT_DTYPES = (*DTYPES, "float16", "bfloat16")  # outputs too (normalize's half-precision training tensors)
_RANKS = "(H, W), (H, W, C) or (N, H, W, C) with C in {1, 3, 4}"


def _framework(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return "numpy"
    module = type(obj).__module__.split(".")[0]
    if module == "torch" and "torch" in sys.modules:
        return "torch"
    if module == "cupy":
        return "cupy"
    if type(obj).__module__.startswith("numba.cuda"):  # numba.cuda device arrays (also the simulator's)
        return "numba"
    if hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__"):
        return "dlpack"
    return ""


_DTYPE_NAMES: dict[Any, str] = {}


def _dtype_name(dtype: Any) -> str:
    """'uint8', 'float32', ... for a numpy / torch / CuPy dtype (str() of a numpy dtype costs ~10 us: cached,
    as a ragged batch asks once per image)."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).replace("torch.", "")
    return name


class Image:
    """A batch of images seen as (N, H, W, C), whatever the rank of the caller's array."""

    def __init__(self, obj: Any, name: str = "img", dtypes: tuple[str, ...] = DTYPES) -> None:
        self.framework = _framework(obj)
        if not self.framework:
            raise ArgumentTypeError(
                f"{name}: expected a numpy array, a torch tensor, a CuPy array or an object with __dlpack__, "
                f"got {type(obj).__name__}"
            )
        if self.framework == "torch" and obj.requires_grad:
            if _torch().is_grad_enabled():
                raise ArgumentError(_requires_grad_message(name))
            obj = obj.detach()  # under torch.no_grad(): DLPack refuses tensors that need grad
        self.obj = obj
        self.result = obj  # what an output returns to the caller (see output())
        self.name = name
        if self.framework == "numba":
            self.device = "cuda"
            self.shape = tuple(int(s) for s in obj.shape)
            self.dtype = str(obj.dtype)
        elif self.framework == "dlpack":  # an unknown producer: look through numpy on the CPU
            self.device = _device_of(obj)
            self.shape = tuple(np.from_dlpack(obj).shape) if self.device == "cpu" else tuple(obj.shape)
            self.dtype = str(np.from_dlpack(obj).dtype) if self.device == "cpu" else str(obj.dtype)
        else:
            self.shape = tuple(int(s) for s in obj.shape)
            self.dtype = _dtype_name(obj.dtype)
            self.device = "cpu" if self.framework == "numpy" else _device_of(obj)
        if self.dtype not in dtypes:
            raise ArgumentTypeError(f"{name}: expected dtype {' or '.join(dtypes)}, got {self.dtype}")
        nd = len(self.shape)
        if nd not in (2, 3, 4) or (nd > 2 and self.shape[-1] not in (1, 3, 4)):
            raise ArgumentError(f"{name}: expected shape {_RANKS}, got shape {self.shape}")
        n, h, w, c = ((1,) * (4 - nd) + self.shape) if nd > 2 else (1, *self.shape, 1)
        self.n, self.h, self.w, self.c = n, h, w, c

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def user_shape(self, n: int, h: int, w: int, c: int) -> tuple[int, ...]:
        """An output shape of the same rank as this input: (H, W), (H, W, C) or (N, H, W, C)."""
        if self.ndim == 2 and c == 1 and n == 1:
            return (h, w)
        if self.ndim == 3 and n == 1:
            return (h, w, c)
        return (n, h, w, c)

    def capsule(self, stream: int | None = None) -> Any:
        """A DLPack capsule for the native backend (versioned when the producer supports it). For a CUDA
        array, `stream` is the stream the kernel will run on: the producer makes it wait for its own
        pending work (DLPack's stream handshake; 1 names the legacy default stream)."""
        kwargs: dict[str, Any] = {}
        if self.device == "cuda" and stream is not None:
            kwargs["stream"] = stream or 1
        try:
            return self.obj.__dlpack__(max_version=(1, 1), **kwargs)
        except TypeError:  # a producer older than DLPack 1.0's keywords
            return self.obj.__dlpack__(**kwargs)

    def device_array4(self) -> Any:
        """A zero-copy numba.cuda view of shape (N, H, W, C) for the Numba CUDA backend."""
        from numba import cuda

        obj = self.obj
        if self.ndim != 4:  # leading / trailing axes of length 1: a view in every framework
            obj = obj.reshape(self.n, self.h, self.w, self.c)
        if self.dtype == "bfloat16":  # a torch tensor: numba has no bfloat16, its bits go as uint16
            return cuda.as_cuda_array(obj.view(_torch().int16)).view(np.uint16)
        return obj if self.framework == "numba" else cuda.as_cuda_array(obj)

    def device_index(self) -> int:
        """The CUDA device ordinal of this array."""
        if self.framework == "numba":
            return 0
        return int(self.obj.__dlpack_device__()[1])

    def array4(self) -> np.ndarray:
        """A zero-copy numpy view of shape (N, H, W, C) for the Numba backend (CPU only)."""
        arr: np.ndarray
        if self.dtype == "bfloat16":  # a torch tensor: NumPy has no bfloat16, its bits go as uint16
            arr = np.from_dlpack(self.obj.view(_torch().int16)).view(np.uint16)
        else:
            arr = self.obj if self.framework == "numpy" else np.from_dlpack(self.obj)
        return arr.reshape(self.n, self.h, self.w, self.c) if arr.ndim != 4 else arr


def _torch() -> Any:
    import torch

    return torch


def _calling_op() -> str:
    """The public fastaug operator (or transform class) whose call reached here: the outermost frame of
    fastaug.functional / fastaug.transforms before the caller's own code (only asked on an error path)."""
    op = ""
    frame: Any = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module != "fastaug" and not module.startswith("fastaug."):
            break
        if module.startswith(("fastaug.functional", "fastaug.transforms")):
            code = frame.f_code
            qualname = getattr(code, "co_qualname", code.co_name)
            if code.co_name == "__call__" and "self" in frame.f_locals:
                op = type(frame.f_locals["self"]).__name__
            elif "<" not in qualname and not code.co_name.startswith("_"):
                op = code.co_name
        frame = frame.f_back
    return op


def _requires_grad_message(name: str) -> str:
    """The error for a torch tensor that requires grad reaching a kernel that records no gradient."""
    op = _calling_op()
    where = f"fastaug.{op}" if op else "fastaug's operators"
    hint = ""
    if op:
        import importlib

        if callable(getattr(importlib.import_module("fastaug.torch"), op, None)):
            hint = f"use fastaug.torch.{op} (differentiable, a torch custom operator), "
    return (
        f"{name}: got a tensor that requires grad, but {where} does not record gradients: {hint}"
        f"pass {name.split('[')[0]}.detach(), or call it under torch.no_grad()"
    )


def ragged(images: Any, name: str = "img") -> list[Image]:
    """A list (or tuple) of single images, (H, W) or (H, W, C), of different sizes that share framework,
    dtype, channel count and device: a ragged batch. Errors name the image, name[i]."""
    if not images:
        raise ArgumentError(f"{name}: expected a non-empty list of images")
    out: list[Image] = []
    first = ""
    for i, x in enumerate(images):
        img = Image(x, f"{name}[{i}]")
        if img.ndim == 4:
            raise ArgumentError(f"{name}[{i}]: expected one image, (H, W) or (H, W, C), got shape {img.shape}")
        kind = _kind(img)
        first = first or kind
        if kind != first:
            raise ArgumentError(f"{name}[{i}]: expected {first} like {name}[0], got {kind}")
        out.append(img)
    return out


def _kind(img: Image) -> str:
    if img.framework == "numpy":  # the common case, asked once per image of a ragged batch
        return f"a numpy {img.dtype} image with {img.c} channel{'s' if img.c > 1 else ''} on cpu"
    where = "cpu" if img.device == "cpu" else f"cuda:{img.device_index()}"
    return f"a {img.framework} {img.dtype} image with {img.c} channel{'s' if img.c > 1 else ''} on {where}"


def _device_of(obj: Any) -> str:
    kind, _ = obj.__dlpack_device__()
    if int(kind) in (1, 3):  # kDLCPU, kDLCUDAHost
        return "cpu"
    if int(kind) in (2, 13):  # kDLCUDA, kDLCUDAManaged
        return "cuda"
    raise ArgumentError(f"device: DLPack device type {int(kind)} is not served by fastaug (cpu or cuda)")


def empty_like(img: Image, shape: tuple[int, ...], dtype: str) -> Any:
    """A new array of the caller's framework, on the input's device."""
    if img.framework == "torch":
        import torch

        if img.obj.device.type == "cpu":
            from ._backend import empty_torch_cpu

            return empty_torch_cpu(shape, dtype)
        return torch.empty(shape, dtype=getattr(torch, dtype), device=img.obj.device)
    if img.framework == "cupy":
        import cupy

        with cupy.cuda.Device(img.obj.device.id):
            return cupy.empty(shape, dtype=dtype)
    if img.framework == "numba":
        from numba import cuda

        return cuda.device_array(shape, dtype=dtype)
    if img.device != "cpu":
        raise ArgumentError(
            f"{img.name}: cannot allocate an output for a {img.device} array of type "
            f"{type(img.obj).__name__}; pass out="
        )
    from ._backend import empty_host  # (_backend imports this module)

    return empty_host(shape, dtype)


def asarray_like(values: np.ndarray, like: Any) -> Any:
    """values (a small numpy array, e.g. per-sample factors) in like's framework and on its device."""
    img = Image(like, "like")
    if img.framework == "torch":
        import torch

        host = torch.as_tensor(values)
        if like.device.type != "cuda":
            return host.to(like.device)
        # pinned + non_blocking: no host stall on the caller's stream (torch's caching host allocator keeps
        # the pinned block until the copy has run)
        return host.pin_memory().to(like.device, non_blocking=True)
    if img.framework == "cupy":
        import cupy

        with cupy.cuda.Device(like.device.id):
            return cupy.asarray(values)
    return values


def output(
    img: Image,
    shape4: tuple[int, int, int, int],
    dtype: str,
    out: Any = None,
    shape: tuple[int, ...] | None = None,
    view: Any = None,
) -> Image:
    """The destination: `out` if given (validated), else a new array like the input. `shape` is the
    caller-facing shape (default: the input's rank); `view` maps that array to the (N, H, W, C) view the
    kernel writes (e.g. NCHW -> NHWC by strides). The caller-facing array is the result's `.result`."""
    shape = tuple(shape or img.user_shape(*shape4))
    if out is None:
        result = empty_like(img, shape, dtype)
    else:
        result = out
        if not _framework(out):
            raise ArgumentTypeError(f"out: expected an array like img, got {type(out).__name__}")
        got_shape = tuple(int(s) for s in out.shape)
        got_dtype = str(out.dtype).replace("torch.", "")
        if got_shape != shape or got_dtype != dtype:
            raise ArgumentError(
                f"out: expected shape {shape} and dtype {dtype}, got shape {got_shape} and dtype {got_dtype}"
            )
        out_device = "cuda" if _framework(out) == "numba" else _device_of(out)
        if out_device != img.device:
            raise ArgumentError(f"out: expected an array on {img.device} like img, got one on {out_device}")
        if isinstance(out, np.ndarray) and not out.flags.writeable:
            raise ArgumentError("out: the array is read-only")
    dst = Image(view(result) if view is not None else result, "out", OUT_DTYPES)
    dst.result = result
    return dst
