"""The cases that the C++ tests (tests/cpp/test_ops.cpp) run through the C++ API: every operator on small seeded
images, its parameters and the result of the Python API, stored as .npy files in tests/cpp/data so that both
languages are held to the same bits. tests/test_cpp_cases.py checks that the stored results are still what
Python computes; `python tests/cpp_cases.py` rewrites them after a deliberate change.

Each case is (name, op, input, params, call): the C++ test reads the list of cases from data/cases.txt,
data/input_<input>.npy, data/<name>.<param>.npy for each parameter (arrays in the C++ API's per-sample layout,
enums as their integer values) and compares its output with data/<name>.out.npy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import fastaug as fa

DATA = Path(__file__).parent / "cpp" / "data"
N = 2
_rng = np.random.default_rng(13)
INPUTS: dict[str, np.ndarray] = {"u8": _rng.integers(0, 256, (N, 9, 11, 3), dtype=np.uint8)}
INPUTS["f32"] = (INPUTS["u8"] / 255).astype(np.float32)
INPUTS["gray"] = _rng.integers(0, 256, (N, 9, 11, 1), dtype=np.uint8)

M = fa.affine_matrix(angle=[10.0, -25.0], scale=[0.9, 1.2], translate=[(0.5, -1.0), (2.0, 0.0)], center=(5, 4))
H = np.stack([np.array([[1, 0.1, 0.5], [0.05, 0.9, -1], [0.01, 0.002, 1]]), np.eye(3) + 0.01])
KERNEL = np.array([[0, -1, 0.5], [-1, 5, -1], [0.25, -1, 0]], np.float32)
KX, KY = np.array([1, 2, -1], np.float32), np.array([0.25, 0.5, 0.25, 0.5, -0.5], np.float32)
TABLE = ((np.arange(256) ** 2) // 255).astype(np.uint8)
COLOR = np.stack([np.array([[0.9, 0.1, 0, 5], [0, 1.1, 0.1, -3], [0.2, 0, 0.8, 10]]), np.eye(3, 4) * 1.3])
SIGMA = np.array([[0.8, 1.5], [1.2, 0.6]])
# enum values as the C++ API numbers them (fastaug::Interp, fastaug::Border: OpenCV's constants)
LINEAR, CUBIC, AREA = (np.array([int(fa.Interp[k])]) for k in ("LINEAR", "CUBIC", "AREA"))
CONSTANT, REFLECT, REFLECT101 = (np.array([int(fa.Border[k])]) for k in ("CONSTANT", "REFLECT", "REFLECT101"))

# name -> (op, input, {param: array as the C++ API takes it}, the Python call on the input)
Case = tuple[str, str, dict[str, np.ndarray], Callable[[np.ndarray], Any]]
CASES: dict[str, Case] = {
    "warp_affine": (
        "warp_affine",
        "u8",
        {"M": M, "fill": np.full(4, 7.0), "size": np.array([8, 10]), "interp": LINEAR, "border": CONSTANT},
        lambda x: fa.warp_affine(x, M, size=(8, 10), interp="linear", border="constant", fill=7),
    ),
    "warp_perspective": (
        "warp_perspective",
        "f32",
        {"H": H, "fill": np.zeros(4), "size": np.array([10, 12]), "interp": CUBIC, "border": REFLECT101},
        lambda x: fa.warp_perspective(x, H, size=(10, 12), interp="cubic", border="reflect101"),
    ),
    "resize_area": (
        "resize",
        "u8",
        {"size": np.array([5, 6]), "interp": AREA},
        lambda x: fa.resize(x, (5, 6), interp="area"),
    ),
    "resize_linear": ("resize", "f32", {"size": np.array([13, 7]), "interp": LINEAR}, lambda x: fa.resize(x, (13, 7))),
    "flip": ("flip", "u8", {"codes": np.array([0, -1], np.int32)}, lambda x: fa.flip(x, [0, -1])),
    "rotate90": ("rotate90", "u8", {"k": np.array([1, 3], np.int32)}, lambda x: fa.rotate90(x, [1, 3])),
    "crop": (
        "crop",
        "f32",
        {"top_left": np.array([[1, 2], [3, 0]]), "size": np.array([5, 7])},
        lambda x: fa.crop(x, [[1, 2, 5, 7], [3, 0, 5, 7]]),
    ),
    "tiles": (
        "tiles",
        "u8",
        {"size": np.array([4, 5]), "stride": np.array([3, 4])},
        lambda x: fa.tiles(x, (4, 5), (3, 4)),
    ),
    "filter2d": (
        "filter2d",
        "f32",
        {"kernel": np.stack([KERNEL] * N), "fill": np.zeros(4), "border": REFLECT},
        lambda x: fa.filter2d(x, KERNEL, border="reflect"),
    ),
    "sep_filter2d": (
        "sep_filter2d",
        "u8",
        {
            "kx": np.stack([KX] * N),
            "ky": np.stack([KY] * N),
            "fill": np.full(4, 3.0),
            "delta": np.array([1.5]),
            "border": CONSTANT,
        },
        lambda x: fa.sep_filter2d(x, KX, KY, border="constant", fill=3, delta=1.5, dtype="float32"),
    ),
    "gaussian_blur": (
        "gaussian_blur",
        "u8",
        {"ksize": np.array([5, 3]), "sigma": SIGMA, "border": REFLECT101},
        lambda x: fa.gaussian_blur(x, (5, 3), sigma=SIGMA[:, 0], sigma_y=SIGMA[:, 1]),
    ),
    "box_blur": (
        "box_blur",
        "f32",
        {"ksize": np.array([3, 5]), "border": REFLECT},
        lambda x: fa.box_blur(x, (3, 5), border="reflect"),
    ),
    "median_blur": ("median_blur", "u8", {"ksize": np.array([3])}, lambda x: fa.median_blur(x, 3)),
    "sobel": (
        "sobel",
        "u8",
        {"dxy": np.array([1, 1, 3]), "scale_delta": np.array([0.5, 2.0]), "border": REFLECT101},
        lambda x: fa.sobel(x, 1, 1, 3, scale=0.5, delta=2.0),
    ),
    "edges": ("edges", "gray", {}, fa.edges),
    "equalize": ("equalize", "u8", {}, fa.equalize),
    "to_gray": ("to_gray", "u8", {}, fa.to_gray),
    "threshold": (
        "threshold",
        "f32",
        {
            "thresh": np.array([0.3, 0.6]),
            "maxval": np.array([1.0, 0.5]),
            "mode": np.array([int(fa.ThresholdMode.TRUNC)]),
        },
        lambda x: fa.threshold(x, [0.3, 0.6], [1.0, 0.5], mode="trunc"),
    ),
    "invert": ("invert", "u8", {}, fa.invert),
    "normalize": (
        "normalize",
        "u8",
        {"mean": np.array([0.4, 0.5, 0.6]), "std": np.array([0.2, 0.25, 0.3]), "scale": np.array([1 / 255])},
        lambda x: fa.normalize(x, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3], layout="NCHW"),
    ),
    "lut": ("lut", "u8", {"table": np.tile(TABLE, (N, 3, 1))}, lambda x: fa.lut(x, TABLE)),
    "color_transform": ("color_transform", "u8", {"matrix": COLOR}, lambda x: fa.color_transform(x, COLOR)),
    "channel_mean": ("channel_mean", "f32", {}, fa.channel_mean),
    "hue_shift": ("hue_shift", "f32", {"hue": np.array([0.2, -0.35])}, lambda x: fa.hue_shift(x, [0.2, -0.35])),
}


def compute(name: str) -> np.ndarray:
    """The Python API's result of a case, as a NumPy array."""
    _, source, _, call = CASES[name]
    return np.asarray(call(INPUTS[source]))


def write() -> None:
    """Writes the inputs, every case's parameters and its Python result to tests/cpp/data."""
    DATA.mkdir(parents=True, exist_ok=True)
    for key, image in INPUTS.items():
        np.save(DATA / f"input_{key}.npy", image)
    for name, (_, _, params, _) in CASES.items():
        for key, value in params.items():
            np.save(DATA / f"{name}.{key}.npy", np.ascontiguousarray(value))
        np.save(DATA / f"{name}.out.npy", compute(name))
    # the list the C++ test runs: name, operator, input, one case a line
    lines = [f"{name} {op} {source}\n" for name, (op, source, _, _) in CASES.items()]
    (DATA / "cases.txt").write_text("".join(lines))


if __name__ == "__main__":
    write()
    print(f"wrote {len(CASES)} cases to {DATA}")
