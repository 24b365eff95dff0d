"""The GAN augmentation policies' cost in a training step: forward + backward through the augmentation at
batch 64 on 32x32 and 64x64 RGB float32 images in [-1, 1], per implementation:

- fastaug: fastaug.train.DiffAugment / ADA as they come (the fused colour matrix as one torch.baddbmm, the
  native warp and its adjoint; CPU draws);
- fastaug-native-color: the same with color_backend='native' (fastaug's colour transform operator);
- torch: the same policy in plain PyTorch ops as the reference implementations write it
  (fastaug/train/_reference.py: DiffAugment's elementwise colour ops, pad + gather translation and
  index-assigned mask multiply for cutout, draws with torch.rand on the images' device; ADA's matrices
  from the same CPU draw, one affine_grid + bilinear grid_sample with reflection padding and a batched
  colour product for every sample, as augment.py executes a batch);
- kornia: the same with kornia's warp (kornia.geometry.transform.warp_affine: DiffAugment's translation
  with nearest sampling and zero padding, ADA's geometry bilinear with reflection padding); kornia has no
  op for the rest (its colour adjustments clamp to [0, 1] and use other definitions), which stays plain
  torch there.

A step: x (a leaf that requires grad, standing in for a generator's output) -> policy -> backward of a
dense random gradient (standing in for the discriminator's). Each figure is the median over interleaved
rounds (every implementation once per round, so load on the machine hits each alike) of the mean step
time within a round. ADA runs at p = 0.2 and at the cap p = 0.8 (fastaug skips the samples with no op
drawn; the reference pipeline warps and colours every sample whenever p > 0).

    python benchmarks/policies.py                 # writes benchmarks/results/policies-cpu.json
    python benchmarks/policies.py --rounds 5      # a quick look
    python benchmarks/policies.py --threads 1 --out benchmarks/results/policies-cpu-1thread.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's fastaug when run as a script from anywhere

import torch  # noqa: E402

import fastaug  # noqa: E402
from fastaug.train import ADA, DiffAugment  # noqa: E402
from fastaug.train import _reference as ref  # noqa: E402
from fastaug.train.policies import color_matrix, geometry_inverse, warp_matrices  # noqa: E402

RESULTS = HERE / "results" / "policies-cpu.json"
BATCH = 64
POLICY = "color,translation,cutout"


def cpu_model() -> str:
    from fastaug._bench import Env

    return Env("cpu", torch.get_num_threads()).name()


# ------------------------------------------------------------------------------------ implementations
def diffaugment_torch(x: torch.Tensor) -> torch.Tensor:
    return ref.diffaugment(x, ref.diffaugment_draw(x, POLICY))


def diffaugment_kornia(x: torch.Tensor) -> torch.Tensor:
    from kornia.geometry.transform import warp_affine

    params = ref.diffaugment_draw(x, POLICY)
    n, _, h, w = x.shape
    for op, p in params:
        if op == "translation":
            m = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
            m[:, 0, 0] = m[:, 1, 1] = 1
            m[:, 0, 2], m[:, 1, 2] = -p["shift"][:, 1], -p["shift"][:, 0]
            x = warp_affine(x, m, (h, w), mode="nearest", padding_mode="zeros", align_corners=True)
        else:
            x = ref.diffaugment(x, [(op, p)])
    return x


def ada_torch(aug: ADA) -> Any:
    def run(x: torch.Tensor) -> torch.Tensor:
        params = aug.sample(x.shape[0], x.shape[2], x.shape[3])
        x = ref.ada_warp(x, geometry_inverse(params))
        return ref.ada_apply_color(x, color_matrix(params))

    return run


def ada_kornia(aug: ADA) -> Any:
    from kornia.geometry.transform import warp_affine

    def run(x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        params = aug.sample(n, h, w)
        m = warp_matrices(geometry_inverse(params), h, w).to(x)
        x = warp_affine(x, m, (h, w), mode="bilinear", padding_mode="reflection", align_corners=True)
        return ref.ada_apply_color(x, color_matrix(params))

    return run


def implementations(policy: str, p: float) -> dict[str, Any]:
    if policy == "diffaugment":
        return {
            "fastaug": DiffAugment(POLICY, seed=0),
            "fastaug-native-color": DiffAugment(POLICY, seed=0, color_backend="native"),
            "torch": diffaugment_torch,
            "kornia": diffaugment_kornia,
        }
    return {
        "fastaug": ADA(p=p, seed=0),
        "fastaug-native-color": ADA(p=p, seed=0, color_backend="native"),
        "torch": ada_torch(ADA(p=p, seed=0)),
        "kornia": ada_kornia(ADA(p=p, seed=0)),
    }


# -------------------------------------------------------------------------------------------- timing
def step_time(fn: Any, x: torch.Tensor, grad: torch.Tensor, steps: int) -> float:
    """Mean seconds of one forward + backward through fn over `steps` steps."""
    t0 = time.perf_counter()
    for _ in range(steps):
        x.grad = None
        fn(x).backward(grad)
    return (time.perf_counter() - t0) / steps


def measure(policy: str, p: float, size: int, rounds: int, steps: int) -> dict[str, Any]:
    impls = implementations(policy, p)
    g = torch.Generator().manual_seed(size)
    x = (torch.rand(BATCH, 3, size, size, generator=g) * 2 - 1).requires_grad_()
    grad = torch.randn(BATCH, 3, size, size, generator=g)
    for fn in impls.values():  # warm-up
        step_time(fn, x, grad, 3)
    times: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(rounds):
        for name, fn in impls.items():
            times[name].append(step_time(fn, x, grad, steps))
    base = statistics.median(times["torch"])
    rows = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        rows[name] = {
            "ms_per_step": round(med * 1e3, 3),
            "images_per_s": round(BATCH / med),
            "time_vs_torch": round(med / base, 3),
            "spread_ms": [round(min(ts) * 1e3, 3), round(max(ts) * 1e3, 3)],
        }
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=10, help="steps per implementation per round")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--threads", type=int, default=0, help="torch's and fastaug's thread count (0: as they are)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        fastaug.set_num_threads(args.threads)
    import kornia

    cases = [("diffaugment", 0.0), ("ada", 0.2), ("ada", 0.8)]
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results = []
    for size in args.sizes:
        for policy, p in cases:
            rows = measure(policy, p, size, args.rounds, args.steps)
            label = policy if policy == "diffaugment" else f"ada p={p}"
            results.append({"policy": label, "size": size, "batch": BATCH, "rows": rows})
            line = "  ".join(
                f"{k} {v['ms_per_step']:.2f} ms ({v['images_per_s']} img/s, x{v['time_vs_torch']})"
                for k, v in rows.items()
            )
            print(f"{label:12s} {size:3d}px  {line}", flush=True)
    doc = {
        "benchmark": "forward + backward through the augmentation policy, batch 64, RGB float32 in [-1, 1]",
        "started_utc": started,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "fastaug_threads": fastaug.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "kornia": kornia.__version__,
        },
        "load_avg_before": [round(v, 2) for v in load_before],
        "load_avg_after": [round(v, 2) for v in os.getloadavg()],
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "note": "median over interleaved rounds of the mean step time; time_vs_torch < 0.5 is the issue's goal",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"load {doc['load_avg_before']} -> {doc['load_avg_after']}; wrote {args.out}")


if __name__ == "__main__":
    main()
