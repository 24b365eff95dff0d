"""Launching the parallel kernels and splitting them into blocks of rows (the role of
csrc/common/parallel.hpp; the loops themselves are the kernels' numba.prange). Numba's workqueue
threading layer, its fallback where neither TBB nor OpenMP is available, aborts the process when two
threads launch parallel kernels at once; fastaug is called from data-loader threads, so under that layer
(or before Numba has picked one) launches are serialised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

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


BLOCK_ROWS = 32  # output rows per block of the *_blocks kernels


@numba.njit(cache=True, inline="always")
def block_at(i: int, blocks: int, h: int) -> tuple[int, int, int]:
    """Block i of the *_blocks loops (`blocks` blocks of BLOCK_ROWS rows per image): image n, rows [y0, y1)."""
    n = i // blocks
    y0 = (i % blocks) * BLOCK_ROWS
    return n, y0, min(y0 + BLOCK_ROWS, h)


def workers() -> int:
    """Workers of the *_blocks loops (Numba's thread count, read here: inside a kernel it would keep the
    kernel out of the cache). Each worker allocates its row buffers once and takes every workers-th block
    of rows: allocating them per block cost up to 4x in long runs (the heap hands the pages back and
    faults them in again)."""
    return int(numba.get_num_threads())
