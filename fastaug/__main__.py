"""Command line: `fastaug demo` runs every operator on scikit-image's bundled photographs and writes a
contact sheet; `fastaug augment` applies operators to image files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import fastaug as fa


def _demo_ops(img: np.ndarray) -> dict[str, Callable[[], Any]]:
    h, w = img.shape[:2]
    return {
        "warp_affine": lambda: fa.warp_affine(img, fa.affine_matrix(25, scale=0.8, center=(w / 2, h / 2))[0],
                                              border="reflect101"),
        "warp_perspective": lambda: fa.warp_perspective(img, [[1, 0.2, -20], [0.05, 1, 0], [4e-4, 2e-4, 1]]),
        "resize": lambda: fa.resize(fa.resize(img, (h // 4, w // 4), "area"), (h, w), "cubic"),
        "flip": lambda: fa.flip(img, 1),
        "rotate90": lambda: fa.rotate90(img, 1),
        "crop": lambda: fa.resize(fa.crop(img, (h // 4, w // 4, h // 2, w // 2)), (h, w), "nearest"),
        "gaussian_blur": lambda: fa.gaussian_blur(img, 9, 3.0),
        "box_blur": lambda: fa.box_blur(img, 7),
        "median_blur": lambda: fa.median_blur(img, 7),
        "filter2d": lambda: fa.filter2d(img, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)),
        "equalize": lambda: fa.equalize(img),
        "sobel": lambda: np.clip(np.abs(fa.sobel(img, 1, 0)), 0, 255).astype(np.uint8),
        "edges": lambda: np.repeat(fa.edges(img), 3, axis=2),
        "to_gray": lambda: np.repeat(fa.to_gray(img), 3, axis=2),
        "threshold": lambda: fa.threshold(img, 127, 255),
        "invert": lambda: fa.invert(img),
    }


def demo(args: argparse.Namespace) -> int:
    try:
        from skimage import data
    except ImportError:
        print("fastaug demo needs scikit-image for its bundled photographs: pip install scikit-image",
              file=sys.stderr)
        return 2
    img = np.ascontiguousarray(data.astronaut()[::2, ::2])
    print(f"fastaug {fa.__version__}, backend {fa.backends()['active']}, image astronaut {img.shape} uint8")
    tiles = []
    for name, call in _demo_ops(img).items():
        call()  # warm-up (compiles on the Numba backend)
        start = time.perf_counter()
        out = call()
        ms = (time.perf_counter() - start) * 1e3
        tiles.append(fa.resize(np.ascontiguousarray(out), (128, 128), "area"))
        print(f"  {name:18s} {str(out.shape):16s} {ms:7.2f} ms")
    rows = [np.concatenate(tiles[i:i + 4], axis=1) for i in range(0, len(tiles), 4)]
    sheet = np.concatenate(rows, axis=0)
    path = Path(args.output)
    _save(path, sheet)
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]}, one tile per operator)")
    return 0


def _save(path: Path, img: np.ndarray) -> None:
    try:
        import imageio.v3 as iio

        iio.imwrite(path, img)
    except ImportError:
        import cv2

        cv2.imwrite(str(path), img[..., ::-1])


def augment(args: argparse.Namespace) -> int:
    import imageio.v3 as iio

    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for name in args.images:
        img = np.asarray(iio.imread(name))
        if img.ndim == 3 and img.shape[2] not in (1, 3, 4):
            print(f"{name}: unsupported channel count {img.shape[2]}", file=sys.stderr)
            return 2
        h, w = img.shape[:2]
        M = fa.affine_matrix(rng.uniform(-args.rotate, args.rotate), scale=rng.uniform(0.9, 1.1),
                             center=(w / 2, h / 2))[0]
        res = fa.warp_affine(img, M, border="reflect101")
        res = fa.flip(res, 1) if rng.random() < 0.5 else res
        res = fa.gaussian_blur(res, 5, rng.uniform(0.1, 1.5))
        target = out_dir / Path(name).name
        _save(target, res)
        print(f"{name} -> {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fastaug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run every operator on a bundled photograph and write a contact sheet")
    p.add_argument("--output", default="fastaug-demo.png")
    p.set_defaults(func=demo)
    p = sub.add_parser("augment", help="randomly rotate, flip and blur image files")
    p.add_argument("images", nargs="+")
    p.add_argument("--output", default="augmented")
    p.add_argument("--rotate", type=float, default=15.0, help="maximum rotation in degrees")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=augment)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
