"""Sanity figures of fastaug.train.metrics with each shipped feature network (digits, photos): the real-vs-real
floor (held-out images against the whole training split) at several n, its spread over seeded held-out subsets,
and FID/KID of the held-out images under Gaussian noise and Gaussian blur of rising strength (against the
training split), and with classes left out (mode dropping, n = 150).

    python benchmarks/metrics_sanity.py            # writes benchmarks/results/metrics-sanity.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import numpy as np
import torch

from fastaug.train.data import load_dataset
from fastaug.train.metrics import Features, corrupt, fid_kid, floor

NOISE = (0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.2)
BLUR = (0, 0.5, 1, 1.5, 2, 3)
KEPT_CLASSES = {"digits": (10, 8, 6, 5), "photos": (5, 4, 3)}


def sanity(name: str, seeds: int) -> dict[str, Any]:
    """The figures for Features(name) on load_dataset(name)."""
    data = load_dataset(name)
    feats = Features(name)
    ft, fh = feats(data.train), feats(data.held_out)
    rows: dict[str, Any] = {"features": feats.record, "n_train": len(ft), "n_held_out": len(fh)}

    floors = []
    for n in (50, 100, 200, len(fh)):
        draws = [floor(ft, fh, feats, n=n, seed=seed) for seed in (range(seeds) if n < len(fh) else range(1))]
        fid = [x.fid for x in draws]
        kid = [x.kid_mean for x in draws]
        row = {
            "n": n,
            "fid_mean": float(np.mean(fid)),
            "fid_std": float(np.std(fid)),
            "kid_mean": float(np.mean(kid)),
            "kid_std_over_subsets": float(np.mean([x.kid_std for x in draws])),
            "draws": len(draws),
        }
        floors.append(row)
        print(name, "floor", json.dumps(row))
    rows["floor"] = floors

    self_score = fid_kid(ft, ft, feats)
    rows["train_vs_itself"] = self_score.as_dict()
    print(name, "train vs itself", self_score)

    for kind, levels in (("noise", NOISE), ("blur", BLUR)):
        curve = []
        for s in levels:
            x = corrupt(data.held_out, kind, s)
            sc = fid_kid(ft, x, feats)
            acc = float((feats.logits(x).argmax(1) == data.held_out_labels).float().mean())
            curve.append({"sigma": s, "fid": sc.fid, "kid_mean": sc.kid_mean, "kid_std": sc.kid_std, "accuracy": acc})
            print(name, kind, json.dumps(curve[-1]))
        rows[kind] = curve

    # mode dropping: n = 150 held-out images drawn from the first k classes only
    drops = []
    labels = data.held_out_labels.numpy()
    for k in KEPT_CLASSES[name]:
        pool = np.flatnonzero(labels < k)
        pick = np.sort(np.random.default_rng(0).choice(pool, 150, replace=False))
        sc = fid_kid(ft, fh[pick], feats)
        drops.append({"classes": k, "n": 150, "fid": sc.fid, "kid_mean": sc.kid_mean, "kid_std": sc.kid_std})
        print(name, "classes", json.dumps(drops[-1]))
    rows["mode_dropping"] = drops
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results", "metrics-sanity.json"))
    p.add_argument("--seeds", type=int, default=5, help="held-out subsets per n for the floor's spread")
    args = p.parse_args()
    start = time.perf_counter()
    rows: dict[str, Any] = {name: sanity(name, args.seeds) for name in ("digits", "photos")}
    rows["machine"] = {"platform": platform.platform(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    rows["seconds"] = round(time.perf_counter() - start, 1)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    print("wrote", args.output, f"({rows['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
