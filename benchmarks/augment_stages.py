"""Where the time of the `augment` workload goes: fastaug's Compose on the benchmark's ragged batches with
every operator call timed, per stage (means over rounds, so that they add up to the mean total). Writes
benchmarks/results/augment-stages.json, which make_results.py renders in RESULTS.md.

    python benchmarks/augment_stages.py [--rounds 30] [--out benchmarks/results/augment-stages.json]"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import fastaug as fa
from fastaug import _bench_augment as augment
from fastaug import functional

#: operator -> the pipeline stage it serves
STAGES = {
    "resize": "geometric: INTER_AREA pre-reduction",
    "warp_affine": "geometric: the one fused warp",
    "channel_mean": "ColorJitter: channel means (contrast)",
    "color_transform": "ColorJitter: colour matrix",
    "gaussian_blur": "GaussianBlur (p=0.5)",
    "equalize": "Equalize (p=0.2)",
    "normalize": "Normalize to float32 NCHW",
}


def measure(rounds: int) -> dict[str, Any]:
    batches = augment.make_ragged(64, 3)
    spent: dict[str, list[float]] = defaultdict(list)
    current: dict[str, float] = defaultdict(float)
    for name in STAGES:
        real = getattr(functional, name)

        def timed(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            result = _real(*args, **kwargs)
            current[_name] += time.perf_counter() - t0
            return result

        setattr(functional, name, timed)
    pipe = augment.pipeline(seed=0)
    for b in batches:  # warm-up
        pipe(b)
    totals = []
    for r in range(rounds):
        current.clear()
        t0 = time.perf_counter()
        pipe(batches[r % len(batches)])
        totals.append(time.perf_counter() - t0)
        for name in STAGES:
            spent[name].append(current[name])
        spent["other"].append(totals[-1] - sum(current.values()))
    stages = {STAGES.get(k, "Python: draws, matrices, gathers of the drawn samples"): v for k, v in spent.items()}
    return {
        "threads": fa.get_num_threads(),
        "rounds": rounds,
        "total_ms": round(float(np.mean(totals)) * 1e3, 2),
        "median_total_ms": round(float(np.median(totals)) * 1e3, 2),
        "stages_ms": {k: round(float(np.mean(v)) * 1e3, 2) for k, v in stages.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results") / "augment-stages.json"))
    args = parser.parse_args()
    report = measure(args.rounds)
    print(json.dumps(report, indent=1))
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
