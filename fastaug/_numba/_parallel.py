"""Launching the parallel kernels (the role of csrc/common/parallel.hpp; the loops themselves are the
kernels' numba.prange). Numba's workqueue threading layer, its fallback where neither TBB nor OpenMP is
available, aborts the process when two threads launch parallel kernels at once; fastaug is called from
data-loader threads, so under that layer (or before Numba has picked one) launches are serialised."""

from __future__ import annotations

import threading
from typing import Any, Callable

import numba

_lock = threading.Lock()


def _needs_lock() -> bool:
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel kernel has run yet: the layer is not chosen
        return True


def launch(kernel: Callable[..., None], *args: Any) -> None:
    """kernel(*args), serialised only where the threading layer cannot take concurrent launches."""
    if _needs_lock():
        with _lock:
            kernel(*args)
    else:
        kernel(*args)
