"""Every operator exists in every layer: public API, C++ declaration, binding, Numba fallbacks (CPU and
CUDA), tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import fastaug

ROOT = Path(__file__).resolve().parents[1]
# the C++ declarations: one header per operator family (ops.hpp includes them all)
CPP_API = "".join(p.read_text() for p in sorted((ROOT / "csrc/include/fastaug").glob("*.hpp")))

# Operators without a public function of their own: the warps' backward (fastaug.functional.warp.warp_backward,
# for autograd). Each is in the C++ API, the binding and both Numba fallbacks, and tested.
PRIVATE_OPERATORS = ("warp_affine_backward", "warp_perspective_backward")


@pytest.mark.parametrize("op", fastaug.OPERATORS)
def test_operator_in_every_layer(op):
    assert op in fastaug.__all__ and callable(getattr(fastaug, op))
    assert (getattr(fastaug, op).__doc__ and "cv2" in getattr(fastaug, op).__doc__) or op in (
        "crop",
        "tiles",
        "invert",
        "normalize",
        "edges",
        "hue_shift",  # torchvision's adjust_hue: OpenCV has no such operator
    )
    assert f" {op}(" in CPP_API, "C++ declaration"
    assert f'm.def("{op}"' in (ROOT / "csrc/python/module.cpp").read_text(), "pybind11 binding"
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    assert f"fa.{op}(" in tests, "tests"
    if importlib.util.find_spec("numba"):
        import fastaug._numba as nb
        import fastaug._numba_cuda as nbc

        assert callable(getattr(nb, op)), "Numba fallback"
        assert callable(getattr(nbc, op)), "Numba CUDA fallback"


@pytest.mark.parametrize("op", PRIVATE_OPERATORS)
def test_private_operator_in_every_layer(op):
    assert f" {op}(" in CPP_API, "C++ declaration"
    assert f'm.def("{op}"' in (ROOT / "csrc/python/module.cpp").read_text(), "pybind11 binding"
    assert (ROOT / f"tests/test_{op.replace('_affine', '').replace('_perspective', '')}.py").exists(), "tests"
    if importlib.util.find_spec("numba"):
        import fastaug._numba as nb
        import fastaug._numba_cuda as nbc

        assert callable(getattr(nb, op)), "Numba fallback"
        assert callable(getattr(nbc, op)), "Numba CUDA fallback"


def test_native_module_matches_operator_list():
    native = pytest.importorskip("fastaug._C")
    exported = {n for n in dir(native) if not n.startswith("_")} - {
        "with_cuda",
        "cuda_status",
        "set_num_threads",
        "get_num_threads",
        "in_forked_child",
        "cpu_target",
        "planar_gather",
        "empty_buffer",
        "set_buffer_cache",
        "buffer_cache_bytes",
    }
    assert exported == set(fastaug.OPERATORS) | set(PRIVATE_OPERATORS)
