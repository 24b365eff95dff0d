"""Command line: `fastaug demo` runs every operator on scikit-image's bundled photographs and writes a
contact sheet; `fastaug augment` applies operators to image files; `fastaug bench` times fastaug against
the installed peer libraries (the suite of `pytest --benchmark`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import fastaug as fa


def _demo_ops(img: np.ndarray) -> dict[str, Callable[[], Any]]:
    h, w = img.shape[:2]
    return {
        "warp_affine": lambda: fa.warp_affine(
            img, fa.affine_matrix(25, scale=0.8, center=(w / 2, h / 2))[0], border="reflect101"
        ),
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
        print("fastaug demo needs scikit-image for its bundled photographs: pip install scikit-image", file=sys.stderr)
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
        print(f"  {name:18s} {out.shape!s:16s} {ms:7.2f} ms")
    rows = [np.concatenate(tiles[i : i + 4], axis=1) for i in range(0, len(tiles), 4)]
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
        M = fa.affine_matrix(
            rng.uniform(-args.rotate, args.rotate), scale=rng.uniform(0.9, 1.1), center=(w / 2, h / 2)
        )[0]
        res = fa.warp_affine(img, M, border="reflect101")
        res = fa.flip(res, 1) if rng.random() < 0.5 else res
        res = fa.gaussian_blur(res, 5, rng.uniform(0.1, 1.5))
        target = out_dir / Path(name).name
        _save(target, res)
        print(f"{name} -> {target}")
    return 0


def bench(args: argparse.Namespace) -> int:
    from fastaug import _bench

    def names(text: str | None, known: tuple[str, ...], what: str) -> list[str] | None:
        chosen = text.split(",") if text else None
        unknown = sorted(set(chosen or ()) - set(known))
        if unknown:
            raise SystemExit(f"fastaug bench: unknown {what} {unknown}; expected some of {', '.join(known)}")
        return chosen

    workloads = names(args.workloads, _bench.WORKLOADS, "workloads") or list(_bench.WORKLOADS)
    peers = names(args.peers, _bench.PEERS, "peers")
    rounds = {"min_rounds": args.rounds, "max_rounds": args.rounds} if args.rounds else {}
    if args.warmup < 1:
        raise SystemExit(f"fastaug bench: --warmup {args.warmup}: expected at least 1 untimed call")
    suite = _bench.Suite(
        device=args.device,
        n=args.batch,
        h=args.size,
        w=args.size,
        threads=args.threads,
        budget_s=args.budget,
        warmup=args.warmup,
        peers=peers,
        backends=names(args.backends, tuple(_bench.fastaug_backends(args.device)), "backends"),
        **rounds,
    )
    print(f"timing {len(workloads)} workloads on {args.device}...", file=sys.stderr)
    report = _bench.run_suite(
        suite, workloads, progress=lambda w: print(f"  {w}", file=sys.stderr, flush=True), json_path=args.json or None
    )
    print(_bench.format_table(report))
    failed = sorted(
        {
            f"{name}: {why}"
            for rec in report["workloads"]
            for name, why in rec["skipped"].items()
            if why.startswith("FAILED")
        }
    )
    if args.json:
        print(f"wrote {args.json} (raw timings)")
    if args.png:
        why_not = _bench.write_png(report, args.png)
        print(f"no chart: {why_not}" if why_not else f"wrote {args.png} (speed-up over the fastest peer)")
    if args.guards:
        failures = [
            f
            for rec in report["workloads"]
            for f in _bench.check_guards(rec, _bench.load_guards(args.guards), args.device)
        ]
        print("\n".join(failures) if failures else f"every ratio is above its floor in {args.guards}")
        return 1 if failures or failed else 0
    if failed:
        print("fastaug failed:\n" + "\n".join(failed), file=sys.stderr)
    return 1 if failed else 0


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
    p = sub.add_parser("bench", help="time fastaug against the installed peers (OpenCV, albumentations, kornia, ...)")
    p.add_argument("--workloads", help="comma-separated subset (default: all)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--batch", type=int, help="images per batch (default: 64 on cpu, 256 on cuda)")
    p.add_argument("--size", type=int, help="image height and width (default: 256 on cpu, 224 on cuda)")
    p.add_argument("--threads", type=int, help="threads for fastaug, OpenCV and torch (default: all cores)")
    p.add_argument("--rounds", type=int, help="timed rounds per implementation (default: 5 to 30, by budget)")
    p.add_argument("--budget", type=float, default=2.0, help="seconds per workload beyond the minimum rounds")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls per implementation")
    p.add_argument("--backends", help="comma-separated fastaug backends (default: every available one)")
    p.add_argument("--peers", help="comma-separated peers to try (default: all)")
    p.add_argument("--json", default="fastaug-bench.json", help="raw results ('' for none)")
    p.add_argument("--png", default="fastaug-bench.png", help="bar chart of speed-ups ('' for none)")
    p.add_argument("--guards", help="check the ratios against the floors in this TOML file (exit 1 below)")
    p.set_defaults(func=bench)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
