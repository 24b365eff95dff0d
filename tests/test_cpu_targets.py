"""The CPU kernels are compiled for three targets in one binary (FASTAUG_CPU_CLONES: AVX-512, AVX2 and the
x86-64 baseline) and the loader picks one by the CPU's features. Every target must give the same bits: this
runs tests/cpu_target_probe.py natively and under two emulators that hide features from the CPU ID, which
forces each clone: valgrind (an AVX2 CPU without AVX-512: the AVX2 clone) and qemu-x86_64 -cpu Nehalem (no
AVX: the baseline), and compares the digests of every operator case. (qemu's -cpu Haswell would force the
AVX2 clone too, but QEMU 7.2's AVX2 emulation miscomputes warp_affine's AVX2 intrinsics row: seen on
2026-11-30, where valgrind and the real CPU agree.) Needs valgrind and Debian's qemu-user (.ci/run installs
them); each is skipped where missing, unless FASTAUG_EXPECT_EMULATORS=1 says they must be there."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastaug as fa

PROBE = Path(__file__).with_name("cpu_target_probe.py")

if not fa.backends()["native"]["available"]:
    pytest.skip("fastaug._C is not built", allow_module_level=True)
if platform.machine() != "x86_64":
    pytest.skip("the CPU clones exist on x86-64 only", allow_module_level=True)


def emulator(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("FASTAUG_EXPECT_EMULATORS") == "1":
            pytest.fail(f"FASTAUG_EXPECT_EMULATORS=1 but {name} is not installed", pytrace=False)
        pytest.skip(f"{name} is not installed")
    return path


# emulator command -> the clone its CPU ID selects
EMULATORS = {
    "valgrind": (lambda: [emulator("valgrind"), "-q", "--tool=none"], "avx2"),
    "qemu-nehalem": (lambda: [emulator("qemu-x86_64"), "-cpu", "Nehalem"], "x86-64"),
}


def probe(*prefix: str, **variables: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", **variables}
    run = subprocess.run([*prefix, sys.executable, str(PROBE)], capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line.rsplit(" ", 1) for line in run.stdout.splitlines() if line and not line.startswith(("qemu", "=="))]
    return {key: value for key, value in lines}


@pytest.fixture(scope="module")
def native() -> dict[str, str]:
    return probe()


@pytest.mark.parametrize("name", sorted(EMULATORS))
def test_every_clone_gives_the_same_bits(native, name):
    command, target = EMULATORS[name]
    emulated = probe(*command())
    assert emulated.pop("target") == target, f"{name} did not select the {target} clone"
    native = dict(native)
    native.pop("target"), native.pop("planar_gather"), emulated.pop("planar_gather")
    differing = sorted(k for k in native if emulated.get(k) != native[k])
    assert len(native) > 40 and not differing, f"{name} ({target}) differs from the native clone on {differing}"


@pytest.mark.parametrize("mode", ["hardware", "scalar"])
def test_both_planar_gathers_give_the_same_bits(native, mode):
    """The float32 planar warps read their taps with hardware gathers or scalar loads, whichever was faster when
    timed; FASTAUG_PLANAR_GATHER forces one. Each must give every case's bits."""
    forced = probe(FASTAUG_PLANAR_GATHER=mode)
    assert forced.pop("planar_gather") == mode
    native = {k: v for k, v in native.items() if k != "planar_gather"}
    differing = sorted(k for k in native if forced.get(k) != native[k])
    assert any(k.startswith("planar") for k in native) and not differing, f"{mode} differs on {differing}"
