"""GAN training-step throughput on the CPU with each augmentation implementation (issue 12's goal: fastaug's
augmentation costs less than half the plain-PyTorch version's time per step, batch 64, 32x32 and 64x64).

A step is fastaug.train.GANStep's (the trainer's own): D step on T(cat[reals, G(z)]) (one call; fakes made
without grad, so the D step runs the augmentation forward only), G step through D(T(G(z))) (augmentation forward and
backward), Adam on both, the generator's EMA. Models: the trainer's Generator / Discriminator at its default
width 16, z 64, RGB (3 channels). Data: `photos` (crops of scikit-image's colour photographs, RGB) loaded at
64 px (and area-shrunk to 32 px), batches drawn in a fixed order shared by every implementation.

Implementations of each policy (benchmarks/policies.py's variants, built the same way):

- fastaug: fastaug.train.DiffAugment / ADA as they come (the fused colour matrix as one torch.baddbmm, the
  native warp and its adjoint, CPU draws; ADA leaves out the samples with no op drawn when they are many);
- torch: the same policy in plain PyTorch ops as the references write it (fastaug/train/_reference.py:
  DiffAugment's elementwise colour, pad + gather translation, mask multiply cutout; ADA's matrices from the
  same draw, one bilinear grid_sample with reflection padding and a batched colour product on every sample);
- kornia: kornia.geometry.transform.warp_affine for the geometry (translation; ADA's warp), the rest plain torch
  (kornia has no op with the references' colour definitions);
- none: no augmentation (the step without it; the baseline for the augmentation's share).

ADA runs at a fixed p (0.2, and 0.8: the trainer's cap), wrapped so that GANStep does not adapt it.

Figures: per (size, policy, implementation), the median over interleaved rounds (each implementation once per
round) of the mean step time in the round: CPU time of this process (with one thread this is the step's
work, insensitive to other processes on a shared machine) and wall time. The augmentation's time per step is
timed inside the step: its forward calls (2 per step: reals + fakes in the D step, fakes in the G step)
and its backward in the G step (tensor hooks at its output and input), aug_*; its share is that over the
step time. The step time minus the 'none' step's (same models and batches, same schedule) is recorded too
(step_minus_none_*): on a busy machine it is noisier than the direct timing.

    python benchmarks/train_step.py                      # benchmarks/results/train-step-cpu.json
    python benchmarks/train_step.py --rounds 3 --steps 2 --sizes 32    # a quick look
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
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402

import fastaug  # noqa: E402
from fastaug.train import ADA, DiffAugment  # noqa: E402
from fastaug.train.gan import Discriminator, GANStep, Generator  # noqa: E402

RESULTS = HERE / "results" / "train-step-cpu.json"
BATCH = 64
WIDTH, Z_DIM = 16, 64


class Timed(nn.Module):
    """Wraps an augmentation callable and times it inside the step, forward and backward (wall and CPU), and
    hides ADA's type, so that GANStep keeps p fixed (it adapts p only for ADA instances). The backward is
    timed with tensor hooks: from the gradient's arrival at the augmentation's output to its arrival at the
    input (CPU autograd runs these nodes one after the other, so nothing else runs in between)."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn
        self.wall_s = 0.0
        self.cpu_s = 0.0
        self._t0 = (0.0, 0.0)

    def _clocks(self) -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def _start(self, grad: Tensor) -> None:
        self._t0 = self._clocks()

    def _stop(self, grad: Tensor) -> None:
        w, c = self._clocks()
        self.wall_s += w - self._t0[0]
        self.cpu_s += c - self._t0[1]

    def forward(self, x: Tensor) -> Tensor:
        w, c = self._clocks()
        y = self.fn(x)
        w1, c1 = self._clocks()
        self.wall_s += w1 - w
        self.cpu_s += c1 - c
        if x.requires_grad and y.requires_grad and y is not x:
            y.register_hook(self._start)
            x.register_hook(self._stop)
        return y


def implementations(policy: str, p: float) -> dict[str, Any]:
    import policies as pb  # benchmarks/policies.py: the same torch and kornia variants

    if policy == "none":
        return {"none": nn.Identity()}
    if policy == "diffaugment":
        return {
            "fastaug": DiffAugment(pb.POLICY, seed=0),
            "torch": pb.diffaugment_torch,
            "kornia": pb.diffaugment_kornia,
        }
    return {
        "fastaug": ADA(p=p, seed=0),
        "torch": pb.ada_torch(ADA(p=p, seed=0)),
        "kornia": pb.ada_kornia(ADA(p=p, seed=0)),
    }


def make_step(size: int, fn: Any) -> tuple[GANStep, Timed]:
    torch.manual_seed(0)  # every implementation starts from the same weights
    timed = Timed(fn)
    g, d = Generator(size, 3, Z_DIM, WIDTH), Discriminator(size, 3, WIDTH)
    return GANStep(g, d, timed, latent_generator=torch.Generator().manual_seed(0)), timed


def run_steps(step: GANStep, batches: list[Tensor]) -> tuple[float, float]:
    """Mean (wall, CPU) seconds per step over the batches."""
    w, c = time.perf_counter(), time.process_time()
    for reals in batches:
        step(reals)
    return (time.perf_counter() - w) / len(batches), (time.process_time() - c) / len(batches)


def photo_batches(sizes: list[int], steps: int) -> dict[int, list[Tensor]]:
    """`steps` batches of photos per size: crops loaded once at the largest size (fastaug.train.load_dataset's
    'photos') and area-shrunk for the smaller sizes (loading is the slow part on a busy machine)."""
    from torch.nn import functional as F

    from fastaug.train.data import load_dataset

    train = load_dataset("photos", max(sizes), 1.0, 0).train
    g = torch.Generator().manual_seed(0)
    big = [train[torch.randint(len(train), (BATCH,), generator=g)] for _ in range(steps)]
    return {s: [F.interpolate(b, size=(s, s), mode="area") if s != b.shape[-1] else b for b in big] for s in sizes}


def measure(size: int, batches: list[Tensor], cases: list[tuple[str, float]], rounds: int) -> list[dict[str, Any]]:
    steps = len(batches)
    runs: dict[tuple[str, str], tuple[GANStep, Timed]] = {}
    for policy, p in [("none", 0.0), *cases]:
        label = policy if policy != "ada" else f"ada p={p}"
        for name, fn in implementations(policy, p).items():
            runs[(label, name)] = make_step(size, fn)
    for step, _ in runs.values():  # warm-up (allocator, native thread pools, kornia's imports)
        run_steps(step, batches[:2])
    times: dict[tuple[str, str], dict[str, list[float]]] = {
        k: {"wall": [], "cpu": [], "fw": [], "fc": []} for k in runs
    }
    for _ in range(rounds):
        for k, (step, timed) in runs.items():
            timed.wall_s = timed.cpu_s = 0.0
            wall, cpu = run_steps(step, batches)
            t = times[k]
            t["wall"].append(wall)
            t["cpu"].append(cpu)
            t["fw"].append(timed.wall_s / steps)
            t["fc"].append(timed.cpu_s / steps)
    med = {k: {m: statistics.median(v) for m, v in t.items()} for k, t in times.items()}
    base = med[("none", "none")]
    rows: list[dict[str, Any]] = []
    for (label, name), m in med.items():
        row: dict[str, Any] = {"size": size, "policy": label, "impl": name, "batch": BATCH}
        for clock, key, inside in (("cpu", "cpu", "fc"), ("wall", "wall", "fw")):
            row[f"step_ms_{clock}"] = round(m[key] * 1e3, 2)
            row[f"images_per_s_{clock}"] = round(BATCH / m[key], 1)
            row[f"aug_ms_{clock}"] = round(m[inside] * 1e3, 2)
            row[f"aug_share_{clock}"] = round(m[inside] / m[key], 3)
            row[f"step_minus_none_ms_{clock}"] = round((m[key] - base[key]) * 1e3, 2)
        row["spread_step_ms_cpu"] = [round(min(times[(label, name)]["cpu"]) * 1e3, 2),
                                     round(max(times[(label, name)]["cpu"]) * 1e3, 2)]  # fmt: skip
        rows.append(row)
    for row in rows:  # the goal's ratio: fastaug's augmentation time over plain PyTorch's, per clock
        if row["impl"] == "none":
            continue
        ref = next(r for r in rows if r["policy"] == row["policy"] and r["impl"] == "torch")
        for clock in ("cpu", "wall"):
            denom = ref[f"aug_ms_{clock}"]
            row[f"aug_time_vs_torch_{clock}"] = round(row[f"aug_ms_{clock}"] / denom, 3) if denom > 0 else None
    return rows


def cpu_model() -> str:
    from fastaug._bench import Env

    return Env("cpu", torch.get_num_threads()).name()


def native_build() -> dict[str, Any]:
    """Which native extension ran: its file's modification time (the native helper rebuilds it in place) and
    the checkout's HEAD with whether csrc/ had uncommitted changes."""
    import subprocess

    import fastaug._C as native

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=HERE.parent, capture_output=True, text=True).stdout.strip()

    mtime = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(native.__file__)))
    return {"extension_mtime_utc": mtime, "head": git("rev-parse", "--short", "HEAD"),
            "csrc_dirty": bool(git("status", "--porcelain", "--", "csrc"))}  # fmt: skip


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        "| size | policy | impl | step ms (CPU) | img/s (CPU) | aug ms/step (CPU) | aug share | aug vs torch (CPU) "
        "| step ms (wall) | aug vs torch (wall) |",
        "|---" * 10 + "|",
    ]
    lines += [
        f"| {r['size']} | {r['policy']} | {r['impl']} | {r['step_ms_cpu']:.1f} | {r['images_per_s_cpu']:.0f} "
        f"| {r['aug_ms_cpu']:.1f} | {r['aug_share_cpu']:.0%} | {r.get('aug_time_vs_torch_cpu', '')} "
        f"| {r['step_ms_wall']:.1f} | {r.get('aug_time_vs_torch_wall', '')} |"
        for r in doc["results"]
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=4, help="steps per implementation per round")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--ada-p", type=float, nargs="+", default=[0.2, 0.8])
    ap.add_argument("--threads", type=int, default=1, help="torch's and fastaug's threads (1: CPU time = work)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    for name in ("rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name}: expected an int >= 1, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    fastaug.set_num_threads(args.threads)
    import kornia

    cases = [("diffaugment", 0.0)] + [("ada", p) for p in args.ada_p]
    load_before, started = os.getloadavg(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results: list[dict[str, Any]] = []
    data = photo_batches(args.sizes, args.steps)
    for size in args.sizes:
        rows = measure(size, data[size], cases, args.rounds)
        results += rows
        for r in rows:
            print(
                f"{size:3d}px {r['policy']:12s} {r['impl']:8s} step {r['step_ms_cpu']:7.1f} ms CPU "
                f"({r['images_per_s_cpu']:6.0f} img/s)  aug {r['aug_ms_cpu']:6.1f} ms ({r['aug_share_cpu']:.0%}) "
                f"vs torch {r.get('aug_time_vs_torch_cpu', '-')}  wall {r['step_ms_wall']:.1f} ms",
                flush=True,
            )
    with open("/proc/loadavg", encoding="utf-8") as f:
        proc_loadavg = f.read().strip()
    doc = {
        "benchmark": "GANStep (D + G step, Adam, EMA) with each augmentation, batch 64, RGB photos, CPU",
        "started_utc": started,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "fastaug_threads": fastaug.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "kornia": kornia.__version__,
        },
        "native_build": native_build(),
        "models": {"generator": f"Generator(size, 3, z_dim={Z_DIM}, width={WIDTH})", "discriminator": f"width={WIDTH}"},
        "load_avg_before": [round(v, 2) for v in load_before],
        "load_avg_after": [round(v, 2) for v in os.getloadavg()],
        "proc_loadavg_after": proc_loadavg,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "note": (
            "medians over interleaved rounds of the mean step time; aug_ms = the augmentation's forward (2 calls) and "
            "G-step backward timed inside the step; step_minus_none_ms = step - the 'none' step (same clock); "
            "aug_time_vs_torch < 0.5 is the issue's goal; CPU time = this process's (one thread: its work)"
        ),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(doc) + "\n")
    print(f"load {doc['load_avg_before']} -> {doc['load_avg_after']}; wrote {args.out}")


if __name__ == "__main__":
    main()
