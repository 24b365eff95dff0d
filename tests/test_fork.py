"""A process forked after the parent ran multi-threaded native kernels runs its own on one thread instead of
hanging in GNU OpenMP (DataLoader workers under the default start method)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import fastaug as fa

_SCRIPT = textwrap.dedent(
    """
    import os, warnings
    import numpy as np
    import fastaug as fa

    fa.set_num_threads(2)
    x = np.random.default_rng(0).integers(0, 255, (16, 128, 128, 3), np.uint8)
    expected = fa.gaussian_blur(x, 5)  # the parent's OpenMP team exists from here on
    assert fa.get_num_threads() == 2 and not fa._backend._native.in_forked_child()
    pid = os.fork()
    if pid == 0:
        ok = np.array_equal(fa.gaussian_blur(x, 5), expected)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fa.set_num_threads(2)
        ok = ok and fa.get_num_threads() == 1 and fa._backend._native.in_forked_child()
        ok = ok and len(caught) == 1 and "forked" in str(caught[0].message)
        ok = ok and np.array_equal(fa.warp_affine(x, np.eye(2, 3)), x)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    raise SystemExit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(fa.backends()["native"]["available"] is False, reason="native module missing")
def test_forked_child_runs_native_kernels_on_one_thread() -> None:
    result = subprocess.run([sys.executable, "-c", _SCRIPT], timeout=120, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
