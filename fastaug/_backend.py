"""Which backend runs an operator: the native extension (fastaug._C) or the Numba fallback.

FASTAUG_BACKEND=auto|native|numba forces one for the process; `with fastaug.backend("numba"):` for a
block (per thread / task: a context variable). If the native module is missing or fails to import,
fastaug warns once and runs on Numba; it never runs silently on something else than it reports."""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from ._errors import ArgumentError
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


def backends() -> dict[str, dict[str, Any]]:
    """What is available, which one runs by default here, and why the others do not."""
    numba_ok = importlib.util.find_spec("numba") is not None
    info = {
        "native": {"available": _native is not None, "reason": _native_error or "fastaug._C imported",
                   "devices": ["cpu"] + (["cuda"] if _native is not None and _native.with_cuda else [])},
        "numba": {"available": numba_ok, "reason": "numba installed" if numba_ok else "numba is not installed",
                  "devices": ["cpu"]},
        "cuda": {"available": False, "reason": "fastaug was built without CUDA kernels"},
    }
    info["active"] = active()  # type: ignore[assignment]
    return info


def _check_name(name: str, what: str) -> str:
    name = name.lower()
    if name not in ("auto", *NAMES):
        raise ArgumentError(f"{what}: expected one of 'auto', 'native', 'numba', got {name!r}")
    return name


def active() -> str:
    """The backend the next call will use."""
    global _warned
    name = _forced.get() or _check_name(os.environ.get("FASTAUG_BACKEND", "auto"), "FASTAUG_BACKEND")
    if name == "native" and _native is None:
        raise ArgumentError(f"backend: 'native' was asked for, but fastaug._C could not be imported ({_native_error})")
    if name == "auto":
        if _native is not None:
            return "native"
        if not _warned:
            _warned = True
            warnings.warn(f"fastaug: native kernels unavailable ({_native_error}); using the Numba fallback",
                          RuntimeWarning, stacklevel=3)
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
    """Threads for the native CPU kernels (OpenMP) and the Numba fallback."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ArgumentError(f"n: expected a positive int, got {n!r}")
    if _native is not None:
        _native.set_num_threads(int(n))
    numba = importlib.import_module("numba") if importlib.util.find_spec("numba") else None
    if numba is not None:
        numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    if _native is not None:
        return int(_native.get_num_threads())
    return int(importlib.import_module("numba").get_num_threads())


def run(op: str, src: Image, dst: Image, *args: Any) -> None:
    """Calls `op` of the active backend on src and dst (already validated and allocated)."""
    if src.device != "cpu":
        raise ArgumentError(f"{src.name}: got a {src.device} array, but no CUDA backend is built in this fastaug")
    if src.framework == "numpy" and dst.framework == "numpy" and np.may_share_memory(src.obj, dst.obj):
        raise ArgumentError("out: must not overlap the input image")
    if active() == "native":
        getattr(_native, op)(src.capsule(), dst.capsule(), *args)
    else:
        module = _numba_module()
        if module is None:
            raise ArgumentError("backend: the Numba fallback needs numba, which is not installed")
        getattr(module, op)(src.array4(), dst.array4(), *args)
