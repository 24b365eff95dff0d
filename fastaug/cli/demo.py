"""`fastaug demo`: a few pipelines on the photographs that ship with scikit-image, written as one labelled
gallery (a row per pipeline, a column per random draw), and the throughput of a training pipeline."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import fastaug as fa
import fastaug.transforms as T
from fastaug import _bench_augment as augment

TILE = 160

#: the gallery's rows: a label and the pipeline (applied to the same photograph, one draw per column)
ROWS: list[tuple[str, list[T.Transform]]] = [
    ("RandomResizedCrop", [T.RandomResizedCrop(TILE, scale=(0.2, 1))]),
    ("flip + rotate90", [T.HorizontalFlip(), T.RandomRotate90(), T.Resize((TILE, TILE))]),
    (
        "Affine reflect101",
        [
            T.Affine(degrees=30, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10, border="reflect101"),
            T.Resize((TILE, TILE)),
        ],
    ),
    ("RandomPerspective", [T.RandomPerspective(0.5, p=1), T.Resize((TILE, TILE))]),
    ("GaussianBlur", [T.Resize((TILE, TILE)), T.GaussianBlur(7, sigma=(0.5, 3), p=1)]),
    ("Sharpen", [T.Resize((TILE, TILE)), T.Sharpen(alpha=(0.5, 1), p=1)]),
    ("Equalize / Grayscale", [T.Resize((TILE, TILE)), T.RandomEqualize(p=0.5), T.RandomGrayscale(p=0.5)]),
    ("RandomThreshold", [T.Resize((TILE, TILE)), T.RandomThreshold((60, 200), p=1)]),
    ("ColorJitter", [T.Resize((TILE, TILE)), T.ColorJitter(0.4, 0.4, 0.6, 0.15)]),
    ("Gamma / Solarize / Posterize", [T.Resize((TILE, TILE)), T.RandomGamma((0.4, 2.5)), T.Solarize(), T.Posterize()]),
    ("EdgeDetect / GaussianNoise", [T.Resize((TILE, TILE)), T.EdgeDetect((0.5, 1)), T.GaussianNoise((0.03, 0.1))]),
    ("RandomErasing / Cutout", [T.Resize((TILE, TILE)), T.RandomErasing(value=128), T.Cutout(0.4, p=0.5)]),
    ("preset 'heavy'", [*T.preset("heavy").transforms, T.Resize((TILE, TILE))]),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="augment scikit-image's photographs with a few pipelines; write a gallery")
    p.add_argument("--output", default="fastaug-demo.png", help="the gallery image (default: %(default)s)")
    p.add_argument("--draws", type=int, default=6, help="random draws (columns) per pipeline (default: 6)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import cv2
        from skimage import data
    except ImportError:
        print(
            "fastaug demo needs scikit-image and OpenCV: pip install scikit-image opencv-python-headless",
            file=sys.stderr,
        )
        return 2
    if args.draws < 1:
        print(f"fastaug demo: --draws {args.draws}: expected at least 1", file=sys.stderr)
        return 2
    photo = data.astronaut()
    print(f"fastaug {fa.__version__}, backend {fa.backends()['active']}, {fa.get_num_threads()} threads")
    rows = []
    for label, transforms in ROWS:
        draws = T.Compose(transforms, seed=args.seed)(np.stack([photo] * args.draws))
        tiles = [_titled(cv2, tile, f"draw {i + 1}") for i, tile in enumerate(draws)]
        rows.append(np.concatenate([_label(cv2, label, tiles[0].shape[0]), *tiles], axis=1))
    gallery = np.concatenate(rows, axis=0)
    path = Path(args.output)
    if not cv2.imwrite(str(path), gallery[..., ::-1]):
        print(f"fastaug demo: could not write {path}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({gallery.shape[1]}x{gallery.shape[0]}: {len(ROWS)} pipelines x {args.draws} draws)")
    _throughput([data.astronaut(), data.chelsea(), data.coffee(), data.rocket()], args.seed)
    return 0


def _titled(cv2: Any, tile: np.ndarray, title: str) -> np.ndarray:
    out = np.ascontiguousarray(tile)
    cv2.rectangle(out, (0, 0), (out.shape[1], 16), (0, 0, 0), -1)
    cv2.putText(
        out,
        title,
        (4, 12),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.4,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return out


def _label(cv2: Any, text: str, height: int) -> np.ndarray:
    panel = np.full((height, 170, 3), 255, np.uint8)
    cv2.putText(
        panel,
        text,
        (6, height // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    return panel


def _throughput(photos: list[np.ndarray], seed: int) -> None:
    """A training pipeline over a ragged batch of 64 photographs (mixed sizes), timed after a warm-up."""
    batch = [p for p in photos for _ in range(16)]
    pipe = augment.pipeline(seed)
    pipe(batch)  # warm-up: the Numba backend compiles here
    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        out = pipe(batch)
    seconds = (time.perf_counter() - start) / rounds
    print(
        f"throughput: {len(batch) / seconds:,.0f} images/s (64 photographs of mixed sizes -> {tuple(out.shape)} "
        f"float32: RandomResizedCrop, flip, rotate, ColorJitter, blur, equalize, normalize; "
        f"{seconds * 1e3:.1f} ms a batch)"
    )
