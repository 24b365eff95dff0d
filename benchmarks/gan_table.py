"""The limited-data tables of issue 12 (DiffAugment, Zhao et al. 2020, Table 1's question on a small scale):

- GAN: FID / KID of fastaug.train.GANTrainer (DCGAN, non-saturating loss, the trainer's defaults) on `digits`
  (scikit-learn's handwritten digits at 32x32 grey) at 100%, 20% and 10% of the training split, with the
  policies none, diffaugment (color,translation,cutout) and ada (bgc), over several seeds. Every cell has the
  same budget (steps x batch). FID/KID are the trainer's own evaluation: n EMA samples against the 359
  held-out images in the shipped digits feature space, with the real-vs-real floor (n training images vs
  the same held-out set) at the same n.
- VAE: test ELBO (nats per image and bits per dimension; Gaussian decoder on dequantised 8-bit levels) of
  fastaug.train.VAETrainer at the same fractions, with and without input augmentation (AUGMENT below).

Input augmentation for the VAE: a small random affine (rotation +-8 degrees, shift up to 6% of the size,
scale 0.9-1.1, black fill as the digits' background) on 75% of the samples. No flips: a mirrored 2, 3, 4, 7
or 9 is not a digit (and a 180-degree turn makes a 6 a 9), so flips would teach the model images outside the
test distribution; the affine's range keeps every digit readable.

ADA's adjustment speed: the reference moves p by 1 per 500 kimg in runs of 25,000+ kimg; this table's runs
are a few dozen kimg, so ada_kimg is set to a fifth of a cell's images (p can cross 0 -> 1 within a fifth
of the run) and recorded in the JSON.

Default budget (about two hours on the 2-core machine when quiet): 1500 steps per GAN cell, 3000 per VAE
cell, batch 64, the 45 cells dealt round-robin to two processes of one torch thread each (`--jobs 2`).
One thread's CPU time per step, measured on 2026-12-01 on this machine (Intel Xeon, 2 cores; CPU time of the
process, so the other helpers' load does not count, though it may inflate it through shared caches):
GAN 0.22-0.25 s/step (32 px grey, width 16, any policy; evaluation < 1 s), VAE 0.074-0.076 s/step (with or
without the affine; evaluation 0.3 s). GAN: 27 cells (3 fractions x 3 policies x 3 seeds) x 1500 steps x
0.235 s = 9,520 s; VAE: 18 cells (3 fractions x 2 inputs x 3 seeds) x 3000 x 0.075 s = 4,050 s; 13,570 s of
CPU over two cores = 6,785 s = 1.9 h, plus ~1 min of evaluations and start-ups.

    python benchmarks/gan_table.py                          # the default budget, both parts, 2 jobs
    python benchmarks/gan_table.py --gan-steps 200 --vae-steps 500 --tag reduced   # a smaller budget
    python benchmarks/gan_table.py --report --tag reduced   # rebuild JSON + markdown from the cells so far

Each finished cell is appended as one JSON line to benchmarks/results/table-<tag>.jsonl (a rerun skips the
cells already there, so an interrupted table continues); the JSON (gan-table-<tag>.json, vae-table-<tag>.json)
and the markdown (table-<tag>.md) are rebuilt from those lines after every cell.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's fastaug when run as a script from anywhere

import torch  # noqa: E402

RESULTS = HERE / "results"
FRACTIONS = (1.0, 0.2, 0.1)
POLICIES = ("none", "diffaugment", "ada")
AUGMENTS = ("none", "affine")
SEEDS = (0, 1, 2)
GAN_STEPS, VAE_STEPS, BATCH = 1500, 3000, 64
#: the VAE's input augmentation (a fastaug pipeline file's content; see the module docstring for why)
AUGMENT: dict[str, Any] = {
    "fastaug_pipeline": 1,
    "transforms": [
        {
            "name": "Affine",
            "degrees": [-8.0, 8.0],
            "translate": [0.06, 0.06],
            "scale": [0.9, 1.1],
            "border": "constant",
            "fill": 0,
            "p": 0.75,
        }
    ],
}


def cpu_model() -> str:
    from fastaug._bench import Env

    return Env("cpu", torch.get_num_threads()).name()


def cells(parts: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    """Every cell, seed-major (all of seed 0's cells, then seed 1's, ...: an interrupted run leaves whole
    seeds), GAN cells before VAE cells."""
    out: list[dict[str, Any]] = []
    if "gan" in parts:
        out += [
            {"part": "gan", "fraction": f, "policy": p, "seed": s} for s in seeds for f in FRACTIONS for p in POLICIES
        ]
    if "vae" in parts:
        out += [
            {"part": "vae", "fraction": f, "augment": a, "seed": s} for s in seeds for f in FRACTIONS for a in AUGMENTS
        ]
    return out


def key(cell: dict[str, Any]) -> str:
    what = cell.get("policy", cell.get("augment"))
    return f"{cell['part']}-f{cell['fraction']:g}-{what}-s{cell['seed']}-n{cell['steps']}"


def run_cell(cell: dict[str, Any], runs: Path) -> dict[str, Any]:
    """Trains one cell in runs/<key> (removed first: a cell is always trained from scratch) and returns its
    record: the trainer's final evaluation, wall and CPU seconds, and the load average around it."""
    out = runs / key(cell)
    shutil.rmtree(out, ignore_errors=True)
    common = {
        "data": "digits",
        "size": 32,
        "data_fraction": cell["fraction"],
        "seed": cell["seed"],
        "batch": BATCH,
        "steps": cell["steps"],
        "out": str(out),
        "threads": torch.get_num_threads(),
        "progress": False,
        "checkpoint_every": 0,
        "sample_every": 0,
        "log_every": 50,
    }
    load0, w0, c0 = os.getloadavg(), time.perf_counter(), time.process_time()
    if cell["part"] == "gan":
        from fastaug.train.gan import GANConfig, GANTrainer

        ada_kimg = cell["steps"] * BATCH / 1000 / 5
        metrics = GANTrainer(GANConfig(policy=cell["policy"], ada_kimg=ada_kimg, **common)).fit()
        extra: dict[str, Any] = {"ada_kimg": ada_kimg}
        if cell["policy"] == "ada":  # the last p the run reached
            trains = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"train"' in x]
            extra["ada_p_final"] = trains[-1].get("ada_p") if trains else None
    else:
        from fastaug.train.vae import VAEConfig, VAETrainer

        augment = "none"
        if cell["augment"] == "affine":
            path = runs / "vae-affine.json"
            path.write_text(json.dumps(AUGMENT))
            augment = str(path)
        metrics = VAETrainer(VAEConfig(augment=augment, **common)).fit()
        extra = {}
    return {
        **cell,
        "batch": BATCH,
        **extra,
        "metrics": metrics,
        "wall_s": round(time.perf_counter() - w0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "load_before": [round(v, 2) for v in load0],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# ---------------------------------------------------------------------------------------------- report
def _stats(values: list[float]) -> dict[str, Any]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "n_seeds": len(values),
        "values": values,
    }


def _fmt(s: dict[str, Any] | None, digits: int = 2) -> str:
    if s is None:
        return "not run"
    spread = f" ± {s['std']:.{digits}f}" if s["std"] is not None else ""
    return f"{s['mean']:.{digits}f}{spread} ({s['n_seeds']})"


def summarise(records: list[dict[str, Any]], part: str, column: str, metric: str) -> dict[str, Any]:
    """{fraction: {column value: stats of metric over seeds}} for the records of one part and budget."""
    table: dict[str, Any] = {}
    for f in FRACTIONS:
        row = {}
        for c in POLICIES if part == "gan" else AUGMENTS:
            vals = [
                r["metrics"][metric]
                for r in records
                if r["part"] == part and r["fraction"] == f and r[column] == c and r["metrics"].get(metric) is not None
            ]
            row[c] = _stats(vals) if vals else None
        table[f"{f:g}"] = row
    return table


def write_report(lines: Path, tag: str, meta: dict[str, Any]) -> None:
    """gan-table-<tag>.json, vae-table-<tag>.json and table-<tag>.md from the cell lines."""
    records = [json.loads(x) for x in lines.read_text().splitlines() if x.strip()] if lines.exists() else []
    md = [
        f"# Limited-data tables ({tag})",
        "",
        _budget_note(records),
        *([meta["budget_note"]] if meta["budget_note"] else []),
        "",
    ]
    for part, column, metrics in (
        ("gan", "policy", ("fid", "kid_mean")),
        ("vae", "augment", ("elbo_nats", "bits_per_dim")),
    ):
        recs = [r for r in records if r["part"] == part]
        if not recs:
            md += [f"{part.upper()}: no cell finished.", ""]
            continue
        steps = sorted({r["steps"] for r in recs})
        doc: dict[str, Any] = {
            "table": part,
            "data": "digits, 32x32 grey (scikit-learn's 8x8 digits enlarged), 1438 train / 359 held out",
            "budget": {"steps_per_cell": steps, "batch": BATCH, "images_per_cell": [s * BATCH for s in steps]},
            "budget_note": _budget_note(recs),
            **{k: v for k, v in meta.items() if k != "budget_note" or v},
            "tables": {m: summarise(recs, part, column, m) for m in metrics},
            "cells": recs,
        }
        if part == "gan":
            doc["floor"] = {k: recs[0]["metrics"].get(k) for k in ("n", "n_real", "fid_floor", "kid_floor")}
            doc["note"] = (
                "FID/KID: n EMA-generator samples vs the held-out split in the shipped digits feature space "
                "(Features('digits'); comparable with each other, not with Inception-FID papers); floor: n training "
                "images vs the same held-out split"
            )
        else:
            doc["augment_pipeline"] = AUGMENT
        (RESULTS / f"{part}-table-{tag}.json").write_text(json.dumps(doc, indent=1) + "\n")
        md += _markdown(part, doc)
    (RESULTS / f"table-{tag}.md").write_text("\n".join(md) + "\n")


def _budget_note(records: list[dict[str, Any]]) -> str:
    """What budget the cells had, from the cells themselves (several processes may write the report)."""
    parts = []
    for part, default in (("gan", GAN_STEPS), ("vae", VAE_STEPS)):
        steps = sorted({r["steps"] for r in records if r["part"] == part})
        if steps:
            kind = "the default budget" if steps == [default] else f"a reduced budget, not the default {default}"
            parts.append(f"{part.upper()}: {'/'.join(map(str, steps))} steps x batch {BATCH} per cell ({kind})")
    default_note = "the default sizes the whole table to about two hours on the quiet 2-core machine"
    return "; ".join(parts) + f" ({default_note})." if parts else "No cell finished yet."


def _markdown(part: str, doc: dict[str, Any]) -> list[str]:
    steps = doc["budget"]["steps_per_cell"]
    cols = POLICIES if part == "gan" else AUGMENTS
    if part == "gan":
        fl = doc["floor"]
        head = [
            f"## GAN: FID on digits (mean ± std over seeds, (seeds)); {steps} steps x batch {BATCH} per cell",
            "",
            f"n = {fl['n']} EMA samples vs {fl['n_real']} held-out images; real-vs-real floor at the same n: "
            f"FID {fl['fid_floor']:.3f}, KID {fl['kid_floor']:.4f}. Lower is better.",
            "",
        ]
        blocks = (("FID", "fid", 2), ("KID", "kid_mean", 4))
    else:
        head = [
            f"## VAE: held-out ELBO on digits (mean ± std over seeds, (seeds)); {steps} steps x batch {BATCH} per cell",
            "",
            "Gaussian decoder on dequantised 8-bit levels; higher ELBO (less negative) / lower bits/dim is better. "
            "'affine': rotation ±8°, shift ≤ 6%, scale 0.9-1.1 on 75% of the training images (no flips).",
            "",
        ]
        blocks = (("ELBO (nats/image)", "elbo_nats", 1), ("bits/dim", "bits_per_dim", 4))
    out = head
    for title, metric, digits in blocks:
        out += [f"| {title} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for f, row in doc["tables"][metric].items():
            out.append(f"| {float(f):.0%} data | " + " | ".join(_fmt(row[c], digits) for c in cols) + " |")
        out.append("")
    return out


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("gan", "vae", "both"), default="both")
    ap.add_argument("--gan-steps", type=int, default=GAN_STEPS, help="steps per GAN cell")
    ap.add_argument("--vae-steps", type=int, default=VAE_STEPS, help="steps per VAE cell")
    ap.add_argument("--steps", type=int, default=0, help="steps per cell for both parts (overrides the two above)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--jobs", type=int, default=2, help="processes, one thread each (cells dealt round-robin)")
    ap.add_argument("--shard", default="0/1", help="K/N: run every N-th cell starting at K (set by --jobs)")
    ap.add_argument("--tag", default="default", help="results file suffix")
    ap.add_argument("--budget-note", default="", help="a sentence on the budget for the markdown and JSON")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/fastaug-table-runs"), help="run folders (not kept)")
    ap.add_argument("--report", action="store_true", help="only rebuild the JSON and markdown")
    args = ap.parse_args()
    if args.steps:
        args.gan_steps = args.vae_steps = args.steps
    for name in ("gan_steps", "vae_steps", "threads", "jobs"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')}: expected an int >= 1, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    with contextlib.suppress(ImportError):  # numpy's BLAS too (the metrics): spare threads spin on a busy machine
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    lines = RESULTS / f"table-{args.tag}.jsonl"
    meta = {
        "budget_note": args.budget_note,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "torch_threads": args.threads,
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    if args.report:
        write_report(lines, args.tag, meta)
        return
    parts = ["gan", "vae"] if args.part == "both" else [args.part]
    if args.jobs > 1 and args.shard == "0/1":
        _spawn(args.jobs)
        write_report(lines, args.tag, meta)
        return
    k, n = (int(v) for v in args.shard.split("/"))
    todo = cells(parts, args.seeds)[k::n]
    args.runs.mkdir(parents=True, exist_ok=True)
    for cell in todo:
        cell["steps"] = args.gan_steps if cell["part"] == "gan" else args.vae_steps
        done = {key(json.loads(x)) for x in lines.read_text().splitlines() if x.strip()} if lines.exists() else set()
        if key(cell) in done:
            continue
        rec = run_cell(cell, args.runs)
        with open(lines, "a", encoding="utf-8") as f:  # one short append per cell: the shards share the file
            f.write(json.dumps(rec) + "\n")
        m = rec["metrics"]
        score = f"FID {m.get('fid'):.2f}" if cell["part"] == "gan" else f"ELBO {m.get('elbo_nats'):.1f}"
        print(f"{key(cell)}: {score}  {rec['wall_s']} s wall, load {rec['load_after'][0]}", flush=True)
        with contextlib.suppress(Exception):  # a report that fails must not stop the table
            write_report(lines, args.tag, meta)


def _spawn(jobs: int) -> None:
    """Runs this script once per shard (the same arguments plus --shard k/jobs) and waits for all."""
    import subprocess

    argv = [a for a in sys.argv[1:]]
    procs = [subprocess.Popen([sys.executable, __file__, *argv, "--shard", f"{k}/{jobs}"]) for k in range(jobs)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"gan_table: shard exit codes {codes}")


if __name__ == "__main__":
    main()
