"""The DataLoader benchmark: a folder of 512 JPEGs, batch 64, the `augment` workload's pipeline to 224x224
(fastaug/_bench_augment.py: RandomResizedCrop + flip + rotation + ColorJitter + blur + equalize +
Normalize), images/s end to end through a torch DataLoader for num_workers 0 and 2:

- decode-only: the floor, each JPEG decoded at full size and collated into a list of uint8 tensors (no
  augmentation; workers hand the tensors over through shared memory);
- decode-only-crop-aware: the same at the scale crop-aware decoding picks (the floor of that path);
- torchvision: torchvision.transforms.v2 per sample in the workers, default_collate;
- albumentations: albumentations per sample in the workers (OpenCV's threads off there), default_collate;
- fastaug: fastaug.io.ImageFolder(crop_aware=False) + fastaug.torch.Collate (one pipeline call per batch);
- fastaug-crop-aware: the same with crop-aware decoding (each JPEG at 1/2, 1/4, 1/8 where its crop allows).

Every peer decodes with the same decoder (fastaug.io.decode's "auto": simplejpeg where installed), so the
rows differ only by augmentation, collation and the decode scale. Each figure is the median of --epochs
epochs after a warm-up epoch (persistent workers: the warm-up starts them), the peers of one invocation
interleaved epoch by epoch. A stage profile (one core, in
process) says where an image's time goes: decode at full and crop-aware scales, each peer's augmentation.

The JPEGs (scikit-image's photographs, random crops resized to 256-512 px per side, quality 90) are written
once into benchmarks/.data/ (not committed). torchvision runs in its own environment, one peer per
invocation; results merge into benchmarks/results/loader-cpu.json:

    python benchmarks/loader.py                                   # every peer importable here
    /path/to/venv-with-torchvision/bin/python benchmarks/loader.py --peers torchvision
    python benchmarks/loader.py --table                           # print the merged table
    python benchmarks/loader.py --size 112                        # a smaller output: reduced decodes pay"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's fastaug when run as a script from anywhere

import fastaug as fa  # noqa: E402
import fastaug.io as fio  # noqa: E402
from fastaug import _bench_augment as augment  # noqa: E402

DATA = HERE / ".data" / "loader-512"
RESULTS = HERE / "results" / "loader-cpu.json"
N_IMAGES, BATCH = 512, 64
PEERS = ("decode-only", "decode-only-crop-aware", "torchvision", "albumentations", "fastaug", "fastaug-crop-aware")


def make_folder(root: Path = DATA, n: int = N_IMAGES) -> Path:
    """n JPEGs in root/<photograph>/<i>.jpg: random crops of scikit-image's photographs resized to 256-512 px
    per side, quality 90 (the same files on every run: seeded)."""
    if root.is_dir() and len(list(root.glob("*/*.jpg"))) == n:
        return root
    from PIL import Image
    from skimage import data

    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
    photos = {name: getattr(data, name)()[..., :3] for name in names}
    rng = np.random.default_rng(0)
    for i in range(n):
        name = names[i % len(names)]
        p = photos[name]
        ch, cw = (int(rng.integers(min(s, 200), s + 1)) for s in p.shape[:2])
        y, x = int(rng.integers(0, p.shape[0] - ch + 1)), int(rng.integers(0, p.shape[1] - cw + 1))
        h, w = (int(v) for v in rng.integers(256, 513, 2))
        image = Image.fromarray(np.ascontiguousarray(p[y : y + ch, x : x + cw])).resize((w, h), Image.BICUBIC)
        (root / name).mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90)
        (root / name / f"{i:03d}.jpg").write_bytes(buf.getvalue())
    return root


# ------------------------------------------------------------------------------------------ datasets


class DecodeOnly:
    """(image, label) decoded at full size, or at the crop-aware scale of the fastaug pipeline's draw."""

    def __init__(self, root: Path, crop_aware: bool) -> None:
        self.folder = fio.ImageFolder(root, augment.pipeline(seed=0), seed=0, crop_aware=crop_aware)

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int) -> Any:
        return self.__getitems__([i])[0]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        import torch

        # a worker hands tensors over through shared memory
        return [(torch.from_numpy(s.item[0]), s.item[1]) for s in self.folder.__getitems__(indices)]


class PerSample:
    """(CHW float32 tensor, label): the peer's pipeline on each sample (built once per process)."""

    def __init__(self, root: Path, peer: str) -> None:
        self.folder = fio.ImageFolder(root)
        self.peer = peer
        self.pipe: Any = None

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int) -> Any:
        import torch

        image, label = self.folder[i]
        if self.pipe is None:
            self.pipe = (
                augment.albumentations_pipeline() if self.peer == "albumentations" else augment.torchvision_pipeline()
            )
        if self.peer == "albumentations":
            out = torch.from_numpy(self.pipe(image=image)["image"].transpose(2, 0, 1))
        else:
            out = self.pipe(torch.from_numpy(image).permute(2, 0, 1))
        return out, label


def as_list(batch: list[Any]) -> list[Any]:
    return batch


def opencv_threads_off(worker: int) -> None:
    import cv2

    cv2.setNumThreads(0)


def loader(peer: str, root: Path, workers: int) -> Any:
    from torch.utils.data import DataLoader

    options: dict[str, Any] = {"batch_size": BATCH, "shuffle": True, "num_workers": workers}
    if workers:
        options |= {"persistent_workers": True, "prefetch_factor": 2}
    if peer.startswith("decode-only"):
        return DataLoader(DecodeOnly(root, peer.endswith("crop-aware")), collate_fn=as_list, **options)
    if peer in ("torchvision", "albumentations"):
        init = opencv_threads_off if peer == "albumentations" and workers else None
        return DataLoader(PerSample(root, peer), worker_init_fn=init, **options)
    from fastaug.torch import Collate

    pipe = augment.pipeline(seed=0)
    dataset = fio.ImageFolder(root, pipe, seed=0, crop_aware=peer.endswith("crop-aware"))
    return DataLoader(dataset, collate_fn=Collate(pipe, seed=0), **options)


def epoch(load: Any) -> float:
    """Images/s of one pass over the loader."""
    import torch

    t0 = time.perf_counter()
    n = 0
    for batch in load:  # (images tensor, labels) or a list of (image, label) samples
        n += len(batch[0]) if isinstance(batch[0], torch.Tensor) else len(batch)
    return n / (time.perf_counter() - t0)


def interleaved(peers: list[str], root: Path, workers: int, epochs: int) -> dict[str, dict[str, Any]]:
    """Each peer's images/s per epoch and their median: one loader per peer (persistent workers), a warm-up
    epoch each, then the epochs in rounds over the peers (load on the machine hits every peer alike)."""
    import torch

    torch.manual_seed(0)
    loads = {peer: loader(peer, root, workers) for peer in peers}
    for load in loads.values():
        epoch(load)
    rates: dict[str, list[float]] = {peer: [] for peer in peers}
    before = os.getloadavg()[0]
    for _ in range(epochs):
        for peer, load in loads.items():
            rates[peer].append(epoch(load))
    after = os.getloadavg()[0]
    del loads
    return {
        peer: {
            "images_per_s": statistics.median(r),
            "epochs": [round(v, 1) for v in r],
            "load_before": round(before, 2),
            "load_after": round(after, 2),
        }
        for peer, r in rates.items()
    }


# ---------------------------------------------------------------------------------------------- stages


def best_of(fn: Any, rounds: int) -> float:
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def profile(root: Path, peers: list[str], rounds: int) -> dict[str, float]:
    """Milliseconds per image on one thread in this process: decode at full and crop-aware scales, each
    peer's augmentation of 64 decoded images (the batch the DataLoader hands it)."""
    import cv2

    fa.set_num_threads(1)
    cv2.setNumThreads(1)
    folder = fio.ImageFolder(root)
    blobs = [Path(p).read_bytes() for p in folder.paths[:BATCH]]
    pipe = augment.pipeline(seed=0)
    sizes = np.array([fio.image_size(b) for b in blobs])
    keys = fa.transforms.sample_keys(0, 0, np.arange(BATCH))
    mats, size = pipe.geometry(sizes, fa.transforms.SampleRandom(keys))
    scales = fio.choose_scale(mats, size)
    per = 1000 / BATCH
    out: dict[str, float] = {}
    if "decode-only" in peers or "fastaug" in peers:
        out["decode, full size"] = per * best_of(lambda: [fio.decode(b) for b in blobs], rounds)
        out["decode, crop-aware scales"] = per * best_of(
            lambda: [fio.decode(b, int(k)) for b, k in zip(blobs, scales, strict=True)], rounds
        )
        out["headers + geometry draw + scale choice (per batch)"] = per * best_of(
            lambda: fio.choose_scale(
                *pipe.geometry([fio.image_size(b) for b in blobs], fa.transforms.SampleRandom(keys))
            ),
            rounds,
        )
        for s in fio.SCALES[1:]:
            out[f"decode at 1/{s}"] = per * best_of(lambda s=s: [fio.decode(b, s) for b in blobs], rounds)
        out["share of samples decoded at 1/2 or less"] = float((scales > 1).mean())
    images = [fio.decode(b) for b in blobs]
    if "fastaug" in peers:
        out["fastaug Compose (64, full decodes)"] = per * best_of(
            lambda: pipe(images, rng=fa.transforms.SampleRandom(keys)), rounds
        )
        reduced = [fio.decode(b, int(k)) for b, k in zip(blobs, scales, strict=True)]
        out["fastaug Compose (64, crop-aware decodes)"] = per * best_of(
            lambda: pipe(reduced, rng=fa.transforms.SampleRandom(keys), source_sizes=sizes), rounds
        )
    if "albumentations" in peers:
        a = augment.albumentations_pipeline()
        out["albumentations per sample"] = per * best_of(lambda: [a(image=x)["image"] for x in images], rounds)
    if "torchvision" in peers:
        import torch

        torch.set_num_threads(1)
        t = augment.torchvision_pipeline()
        tensors = [torch.from_numpy(x).permute(2, 0, 1) for x in images]
        out["torchvision per sample"] = per * best_of(lambda: [t(x) for x in tensors], rounds)
    return {k: round(v, 4) for k, v in out.items()}


# ----------------------------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line), "")
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count()}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__, "fastaug": fa.__version__}
    for name in ("torch", "torchvision", "albumentations", "cv2", "simplejpeg", "PIL"):
        if _importable(name):
            out[name] = str(__import__(name).__version__)
    return out


def table(results: dict[str, Any]) -> str:
    runs = results.get("runs", {})
    workers = sorted({int(w) for r in runs.values() for w in r})
    lines = [
        f"| loader (batch 64, {results['setup']['size']} px) | "
        + " | ".join(f"num_workers={w}" for w in workers)
        + " |",
        "|---|" + "---:|" * len(workers),
    ]
    for peer in PEERS:
        if peer in runs:
            cells = [runs[peer].get(str(w), {}).get("images_per_s") for w in workers]
            lines.append(f"| {peer} | " + " | ".join("-" if c is None else f"{c:,.0f} img/s" for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default="available", help=f"comma-separated subset of {', '.join(PEERS)}")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the stage profile (best of)")
    parser.add_argument("--profile-only", action="store_true", help="only the stage profile (merged into --out)")
    parser.add_argument("--size", type=int, default=augment.SIZE, help="the output size (the workload's: 224)")
    parser.add_argument("--out", type=Path, help="default: results/loader-cpu.json, loader-cpu-<size>.json")
    parser.add_argument("--table", action="store_true", help="print the merged table of --out and exit")
    args = parser.parse_args()
    if args.out is None:
        args.out = RESULTS if args.size == augment.SIZE else RESULTS.with_name(f"loader-cpu-{args.size}.json")
    augment.SIZE = args.size  # read when the pipelines are built (DataLoader workers fork after this)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.table:
        print(table(results))
        return
    if args.peers == "available":
        peers = [p for p in PEERS if p != "torchvision" or _importable("torchvision")]
    else:
        peers = args.peers.split(",")
        unknown = set(peers) - set(PEERS)
        if unknown:
            parser.error(f"unknown peers {sorted(unknown)}")
    root = make_folder()
    results.setdefault("runs", {})
    results.setdefault("profile_ms_per_image", {})
    results.setdefault("environments", {})
    results["setup"] = {
        "images": N_IMAGES,
        "batch": BATCH,
        "size": augment.SIZE,
        "epochs": args.epochs,
        "decoder": fio.decoders()[0],
        "statistic": "median of the epochs after a warm-up epoch (persistent workers)",
    }
    results["machine"] = machine()
    env = versions()
    for peer in [] if args.profile_only else peers:
        results["environments"][peer] = env
    for w in () if args.profile_only else (int(v) for v in args.workers.split(",")):
        for peer, run in interleaved(peers, root, w, args.epochs).items():
            results["runs"].setdefault(peer, {})[str(w)] = run
            rate, load = run["images_per_s"], run["load_before"]
            print(f"{peer:24s} num_workers={w}: {rate:8.1f} img/s  epochs {run['epochs']}  load {load:.2f}")
    results["profile_ms_per_image"] |= profile(root, peers, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print(table(results))
    print()
    for k, v in results["profile_ms_per_image"].items():
        print(f"  {k:45s} {v:8.3f}")


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
