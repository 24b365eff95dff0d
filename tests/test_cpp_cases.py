"""The stored cases of the C++ tests (tests/cpp/data, written by tests/cpp_cases.py) are what the Python API
computes now: the C++ tests compare the C++ API with these files, so both languages give the same bits."""

from __future__ import annotations

import numpy as np
import pytest

from cpp_cases import CASES, DATA, INPUTS, compute


@pytest.mark.parametrize("key", sorted(INPUTS))
def test_inputs_stored(key: str) -> None:
    np.testing.assert_array_equal(np.load(DATA / f"input_{key}.npy"), INPUTS[key])


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_stored(name: str) -> None:
    _, _, params, _ = CASES[name]
    for key, value in params.items():
        np.testing.assert_array_equal(np.load(DATA / f"{name}.{key}.npy"), value, err_msg=f"{name}.{key}")
    stored = np.load(DATA / f"{name}.out.npy")
    got = compute(name)
    assert stored.dtype == got.dtype and stored.shape == got.shape, (name, stored.dtype, stored.shape, got.shape)
    # exact, floats included: a changed result must be a deliberate change (rerun tests/cpp_cases.py)
    np.testing.assert_array_equal(got, stored, err_msg=f"{name}: rerun `python tests/cpp_cases.py` if intended")


def test_case_list_stored() -> None:
    lines = (DATA / "cases.txt").read_text().splitlines()
    assert lines == [f"{name} {op} {source}" for name, (op, source, _, _) in CASES.items()]
