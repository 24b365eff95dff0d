"""The cases of the C++ pipeline test (tests/cpp/test_pipeline.cpp): Compose runs of geometric transforms drawn in
Python (return_params=True), each transform's per-sample parameters written as the arguments of the C++
fastaug::Geometry step it becomes, and Compose's output. The C++ test rebuilds every sample's chain from them,
runs fastaug::warp_fused and compares with Python's images. tests/test_cpp_pipeline_cases.py checks that the
stored files are still what Python computes; `python tests/cpp_pipeline_cases.py` rewrites them.

Files in tests/cpp/data/pipeline: cases.txt (one line a case: name, ragged 0/1, sample count, interp, border,
antialias 0/1, the 4 fill values), <name>.steps.txt (one line a step: its Geometry method and fixed integer
arguments), <name>.step<k>.npy ((N, P) float64: the per-sample arguments of step k, P may be 0),
<name>.input<i>.npy (sample i's source image) and <name>.out.npy (Compose's (N, H, W, C) result)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import fastaug as fa
import fastaug.transforms as T

DATA = Path(__file__).parent / "cpp" / "data" / "pipeline"


def _photos() -> list[np.ndarray]:
    from skimage import data

    astronaut, coffee = data.astronaut(), data.coffee()  # 512x512, 400x600 RGB
    return [
        np.ascontiguousarray(fa.resize(astronaut, (96, 120), interp="area")),
        np.ascontiguousarray(fa.resize(coffee, (80, 120), interp="area")),
        np.ascontiguousarray(fa.resize(coffee[40:360, 100:420], (70, 64), interp="area")),
    ]


def _noise(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return x if dtype == "uint8" else (x / 255).astype(np.float32)


# name -> (the source images (a list: ragged; an array: a dense batch), the pipeline)
CaseMaker = Callable[[], tuple[Any, T.Compose]]
CASES: dict[str, CaseMaker] = {
    # dense photographs, shrinking crops (antialias area-reduces them first), flips, turns and a sheared affine
    "crop_flip_turn_affine": lambda: (
        np.stack(_photos()[:1] * 2 + [_noise((96, 120, 3), "uint8", 1)]),
        T.Compose(
            [
                T.RandomResizedCrop((24, 24), scale=(0.3, 1.0)),
                T.HorizontalFlip(p=0.5),
                T.RandomRotate90(),
                T.Affine(
                    degrees=25, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=(-10, 10, -5, 5), border="reflect101"
                ),
            ],
            seed=3,
        ),
    ),
    # a ragged batch: the shorter side, a centre crop, a vertical flip and a perspective (warp_perspective)
    "ragged_resize_perspective": lambda: (
        _photos(),
        T.Compose(
            [T.Resize(40), T.CenterCrop((36, 40)), T.VerticalFlip(p=0.5), T.RandomPerspective(0.4, p=1.0, fill=9)],
            seed=5,
        ),
    ),
    # float32 noise padded, cropped and rotated with cubic interpolation and a replicated edge
    "float_pad_crop_cubic": lambda: (
        _noise((2, 30, 26, 3), "float32", 2),
        T.Compose(
            [
                T.Pad((3, 2, 1, 4)),
                T.RandomCrop((28, 24)),
                T.Affine(degrees=40, interp="cubic", border="replicate"),
            ],
            seed=7,
        ),
    ),
    # no antialiasing: a 3x shrink by Resize, one channel, a constant border
    "gray_shrink_no_antialias": lambda: (
        _noise((2, 60, 72, 1), "uint8", 4),
        T.Compose([T.Resize((20, 24)), T.Affine(degrees=10, fill=200)], seed=11, antialias=False),
    ),
}


def steps(pipeline: T.Compose, params: list[dict[str, np.ndarray]], n: int) -> list[tuple[str, np.ndarray]]:
    """Each transform as its Geometry call: the method with its fixed arguments, and (N, P) per-sample ones."""
    out: list[tuple[str, np.ndarray]] = []
    none = np.zeros((n, 0))
    for t, p in zip(pipeline.transforms, params, strict=True):
        if isinstance(t, T.Resize):
            call = f"resize {t.size[0]} {t.size[1]}" if isinstance(t.size, tuple) else f"resize_shorter {t.size}"
            out.append((call, none))
        elif isinstance(t, T.CenterCrop):
            out.append((f"center_crop {t.size[0]} {t.size[1]}", none))
        elif isinstance(t, T.RandomCrop):
            out.append((f"crop {t.size[0]} {t.size[1]}", np.stack([p["top"], p["left"]], 1)))
        elif isinstance(t, T.RandomResizedCrop):
            box = np.stack([p["top"], p["left"], p["height"], p["width"]], 1)
            out.append((f"resized_crop {t.size[0]} {t.size[1]}", box))
        elif isinstance(t, T.Pad):
            out.append(("pad " + " ".join(map(str, t.padding)), none))
        elif isinstance(t, (T.HorizontalFlip, T.VerticalFlip)):
            name = "hflip" if isinstance(t, T.HorizontalFlip) else "vflip"
            out.append((name, p["apply"].astype(np.float64)[:, None]))
        elif isinstance(t, T.RandomRotate90):
            out.append(("rotate90", p["k"].astype(np.float64)[:, None]))
        elif isinstance(t, T.Affine):
            keys = ("angle", "tx", "ty", "scale", "shear_x", "shear_y")
            out.append(("affine", np.stack([p[k] for k in keys], 1)))
        elif isinstance(t, T.RandomPerspective):
            out.append(("perspective", p["offsets"].reshape(n, 8)))
        else:
            raise TypeError(f"no C++ Geometry step for {t!r}")
    return [(call, np.ascontiguousarray(a, np.float64)) for call, a in out]


def compute(name: str) -> tuple[Any, T.Compose, np.ndarray, list[dict[str, np.ndarray]]]:
    images, pipeline = CASES[name]()
    with fa.backend("native"):
        result, params = pipeline(images, return_params=True)
    return images, pipeline, np.asarray(result), params


def write() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for old in DATA.glob("*"):
        old.unlink()
    lines = []
    for name in CASES:
        images, pipeline, result, params = compute(name)
        run = pipeline.runs[0]
        ragged = isinstance(images, list)
        for i, image in enumerate(images):
            np.save(DATA / f"{name}.input{i}.npy", np.ascontiguousarray(image))
        plan = steps(pipeline, params, len(images))
        (DATA / f"{name}.steps.txt").write_text("".join(f"{call}\n" for call, _ in plan))
        for k, (_, args) in enumerate(plan):
            np.save(DATA / f"{name}.step{k}.npy", args)
        np.save(DATA / f"{name}.out.npy", result)
        fill = np.resize(np.ravel(np.asarray(run.fill, np.float64)), 4) if np.ndim(run.fill) else np.full(4, run.fill)
        interp, border = int(fa.Interp[run.interp.upper()]), int(fa.Border[run.border.upper()])
        fills = " ".join(repr(float(v)) for v in fill)
        lines.append(f"{name} {int(ragged)} {len(images)} {interp} {border} {int(pipeline.antialias)} {fills}\n")
    (DATA / "cases.txt").write_text("".join(lines))


if __name__ == "__main__":
    write()
    print(f"wrote {len(CASES)} pipeline cases to {DATA}")
