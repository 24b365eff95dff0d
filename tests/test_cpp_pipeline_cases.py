"""The stored cases of the C++ pipeline test (tests/cpp/data/pipeline, written by tests/cpp_pipeline_cases.py) are
what Python's Compose draws and computes now: the C++ test rebuilds each sample's chain from these parameters and
must give these images, so a change in Compose's draws, matrices or warp is caught in both languages."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("skimage")

from cpp_pipeline_cases import CASES, DATA, compute, steps


@pytest.mark.parametrize("name", sorted(CASES))
def test_pipeline_case_stored(name: str) -> None:
    images, pipeline, result, params = compute(name)
    for i, image in enumerate(images):
        np.testing.assert_array_equal(np.load(DATA / f"{name}.input{i}.npy"), image, err_msg=f"{name}.input{i}")
    plan = steps(pipeline, params, len(images))
    assert (DATA / f"{name}.steps.txt").read_text().splitlines() == [call for call, _ in plan]
    for k, (_, args) in enumerate(plan):
        np.testing.assert_array_equal(np.load(DATA / f"{name}.step{k}.npy"), args, err_msg=f"{name}.step{k}")
    stored = np.load(DATA / f"{name}.out.npy")
    assert stored.dtype == result.dtype and stored.shape == result.shape
    np.testing.assert_array_equal(result, stored, err_msg=f"{name}: rerun `python tests/cpp_pipeline_cases.py`")


def test_pipeline_cases_cover_every_step() -> None:
    """Every Geometry step of the C++ API has a stored case (Tiles has no step: C++ callers crop instead)."""
    calls = {line.split()[0] for path in DATA.glob("*.steps.txt") for line in path.read_text().splitlines()}
    expected = {
        "resize",
        "resize_shorter",
        "center_crop",
        "crop",
        "resized_crop",
        "pad",
        "hflip",
        "vflip",
        "rotate90",
        "affine",
        "perspective",
    }
    assert calls == expected


def test_pipeline_cases_exercise_antialias_and_both_warps() -> None:
    from fastaug.transforms.compose import reduction_factors

    lines = (DATA / "cases.txt").read_text().splitlines()
    assert {line.split()[1] for line in lines} == {"0", "1"}  # dense and ragged
    assert {line.split()[5] for line in lines} == {"0", "1"}  # antialias off and on
    # the antialiased dense case really area-reduces some samples; the ragged one warps with a perspective
    images, pipeline = CASES["crop_flip_turn_affine"]()
    mats, size = pipeline.geometry(np.array([im.shape[:2] for im in images]))
    assert (reduction_factors(mats, size) > 1).any()
    images, pipeline = CASES["ragged_resize_perspective"]()
    mats, _ = pipeline.geometry(np.array([im.shape[:2] for im in images]))
    assert not np.allclose(mats[:, 2], [0.0, 0.0, 1.0], rtol=0, atol=1e-12)
