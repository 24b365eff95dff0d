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
import numpy as np
from numba import types
from numba.extending import intrinsic

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


# Work handed out on demand (parallel.hpp's schedule(dynamic)): a kernel's prange runs one iteration per
# worker, and each worker claims the next task from a shared counter until none is left. A static split
# waits for its slowest worker, and on a machine shared with other processes one worker is often
# preempted: a call then takes up to twice its time; claimed tasks leave that worker's share to the others.


@intrinsic
def _fetch_add(typingctx, counter, value):  # type: ignore[no-untyped-def]
    """counter[0] += value, atomically (one LLVM atomicrmw); returns the value before."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        step = context.cast(builder, args[1], signature.args[1], types.int64)
        return builder.atomic_rmw("add", data, step, "monotonic")

    return types.int64(counter, value), codegen


@numba.njit(cache=True, inline="always")
def task_counter() -> np.ndarray:
    """A counter of claimed tasks, 0. Not np.zeros: inside a parallel kernel, Numba turns that into a
    parallel loop of its own, one more wake-up of every worker per call (a scheduler tick or more when the
    machine is loaded)."""
    counter = np.empty(1, np.int64)
    counter[0] = 0
    return counter


@numba.njit(cache=True, inline="always")
def claim(counter: np.ndarray) -> int:
    """The next task's number (0, 1, 2, ... over all workers) from a task_counter."""
    return _fetch_add(counter, 1)


@numba.njit(cache=True, inline="always")
def claim_run(counter: np.ndarray, run: int, total: int) -> tuple[int, int]:
    """The next run of `run` consecutive items of [0, total) as [first, last), empty when none is left."""
    first = claim(counter) * run
    return min(first, total), min(first + run, total)


@numba.njit(cache=True, inline="always")
def row_run(total: int, workers: int) -> int:
    """Items per claimed run: about 8 runs a worker, as parallel_rows."""
    return max(1, total // (8 * workers))
