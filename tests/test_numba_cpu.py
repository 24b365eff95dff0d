"""The Numba CPU fallback's own machinery (fastaug/_numba): work claimed from a shared counter, and the
warps' whole-pixel word loads, which must never read past the end of the source's memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastaug as fa
from conftest import BACKENDS

pytestmark = pytest.mark.skipif("numba" not in BACKENDS, reason="numba is not installed")


def test_claim_hands_out_every_task_once():
    """Workers claiming from one counter (warp_linear_rows, resize_blocks) get each task number exactly once,
    and every worker stops: a plain read-then-write counter would hand some out twice."""
    import numba

    from fastaug._numba._parallel import claim, claim_run

    @numba.njit(parallel=True)
    def count(counter, seen, workers, run):  # type: ignore[no-untyped-def]
        for _ in numba.prange(workers):
            first, last = claim_run(counter, run, seen.size)
            while first < last:
                for i in range(first, last):
                    seen[i] += 1
                first, last = claim_run(counter, run, seen.size)

    @numba.njit(parallel=True)
    def count_one(counter, seen, workers):  # type: ignore[no-untyped-def]
        for _ in numba.prange(workers):
            i = claim(counter)
            while i < seen.size:
                seen[i] += 1
                i = claim(counter)

    workers = numba.get_num_threads()
    for total, run in ((0, 1), (1, 1), (7, 3), (100_003, 1), (100_003, 17)):
        seen = np.zeros(total, np.int64)
        count(np.zeros(1, np.int64), seen, workers, run)
        assert (seen == 1).all(), (total, run, np.flatnonzero(seen != 1)[:10])
        seen[:] = 0
        count_one(np.zeros(1, np.int64), seen, workers)
        assert (seen == 1).all(), (total, np.flatnonzero(seen != 1)[:10])


@pytest.mark.parametrize("threads", [1, 2])
def test_warp_rows_claimed_by_any_thread_count(threads):
    """Bilinear warps of batches with fewer rows than workers, about one run per worker, and many runs: the
    same bits as the native backend (or, without it, as one thread) whatever the thread count."""
    rng = np.random.default_rng(11)
    before = fa.get_num_threads()
    try:
        for shape in ((1, 1, 1, 3), (2, 3, 5, 1), (3, 17, 29, 4), (5, 64, 48, 3)):
            x = rng.integers(0, 256, shape, dtype=np.uint8)
            H = np.eye(3) + rng.normal(0, 0.05, (3, 3)) * [[1, 1, 4], [1, 1, 4], [1e-2, 1e-2, 0]]
            fa.set_num_threads(1)
            with fa.backend("native" if "native" in BACKENDS else "numba"):
                want = fa.warp_perspective(x, H, border="reflect101")
            fa.set_num_threads(threads)
            with fa.backend("numba"):
                got = fa.warp_perspective(x, H, border="reflect101")
            assert np.array_equal(got, want), shape
    finally:
        fa.set_num_threads(before)


GUARDED_WARP = textwrap.dedent(
    """
    import ctypes, mmap, sys
    import numpy as np
    import fastaug as fa

    page = mmap.PAGESIZE
    region = mmap.mmap(-1, 2 * page)
    memory = np.frombuffer(region, np.uint8)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    rng = np.random.default_rng(5)
    for c in (1, 3, 4):
        h, w = 9, 13
        image = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        end = memory[page - image.size : page].reshape(h, w, c)  # its last byte is the page's last byte
        end[...] = image
        assert libc.mprotect(memory.ctypes.data + page, page, 0) == 0  # the next page unreadable
        # bilinear taps on the bottom-right pixel: a shift by a quarter pixel (every output pixel samples
        # there and its neighbours), under a constant and a reflected border
        M = np.array([[1.0, 0.0, 0.25], [0.0, 1.0, 0.25]])
        for border in ("constant", "reflect101"):
            with fa.backend("numba"):
                got = fa.warp_affine(end, M, border=border, fill=7)
                got_persp = fa.warp_perspective(end, np.vstack([M, [0, 0, 1]]), border=border, fill=7)
                want = fa.warp_affine(image.copy(), M, border=border, fill=7)
            assert np.array_equal(got, want) and np.array_equal(got_persp, want), (c, border)
        assert libc.mprotect(memory.ctypes.data + page, page, 3) == 0
    print("ok")
    """
)


def test_warp_word_loads_stop_at_the_end_of_memory():
    """A uint8 image whose last byte is the last readable byte before an unmapped page: the bilinear warps'
    word loads (4 bytes from a tap's pixel) must read the last pixels byte by byte, not 1-3 bytes past
    them. Run in a child process: reading too far is a segmentation fault, not an exception."""
    if not hasattr(__import__("mmap"), "PAGESIZE") or sys.platform != "linux":
        pytest.skip("needs Linux mmap and mprotect")
    result = subprocess.run(
        [sys.executable, "-c", GUARDED_WARP], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", (result.returncode, result.stderr[-2000:])
