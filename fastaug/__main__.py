"""Command line: `fastaug demo` augments scikit-image's bundled photographs with a few pipelines and writes a
labelled gallery; `fastaug augment` writes augmented copies of a folder of images with a pipeline; `fastaug
bench` times fastaug against the installed peer libraries (the suite of `pytest --benchmark`); `fastaug train
gan|vae` trains a GAN with differentiable augmentation or a VAE (fastaug.train.cli)."""

from __future__ import annotations

import argparse
import sys

from fastaug.cli import augment, demo


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


def train(argv: list[str]) -> int:
    try:
        from fastaug.train.cli import main as train_main
    except ImportError as e:
        print(f"fastaug train: needs the [train] extra (PyTorch, matplotlib, ...): {e}", file=sys.stderr)
        return 2
    return train_main(argv)


class _CMakeDir(argparse.Action):
    """--cmake-dir: prints where the installed C++ package is, like pybind11's --cmakedir."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from fastaug._cmake import cmake_dir
        from fastaug._errors import FastaugError

        try:
            print(cmake_dir())
        except FastaugError as e:
            raise SystemExit(f"fastaug --cmake-dir: {e}") from None
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fastaug", description=__doc__)
    parser.add_argument(
        "--cmake-dir",
        action=_CMakeDir,
        nargs=0,
        help="print the folder of fastaug's CMake package (for CMAKE_PREFIX_PATH or fastaug_DIR) and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(sub)
    augment.add_parser(sub)
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
    # `fastaug train ...` is handed to fastaug.train.cli before argparse (which would need every model's
    # options, and torch, to parse it); listed here for --help
    sub.add_parser("train", help="train a GAN (DiffAugment / ADA) or a VAE: fastaug train gan --help")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        return train(argv[1:])
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
