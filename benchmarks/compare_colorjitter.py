"""fastaug's ColorJitter (colour matrices per sample; hue as torchvision's HSV shift or a grey-axis rotation) against
torchvision's own ColorJitter steps with the same factors in the same order, on scikit-image's photographs.

Needs torchvision, so it runs outside CI, in a side environment with a matching torch (see README, Speed):
    python benchmarks/compare_colorjitter.py [--out benchmarks/results/colorjitter-vs-torchvision.json]
Prints (and writes) the mean, p99 and max absolute difference in grey levels, with and without hue."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import torch
import torchvision
import torchvision.transforms.v2.functional as TF
from skimage import data

import fastaug.transforms as T

STEPS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)


def torchvision_jitter(img: np.ndarray, factors: np.ndarray, order: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(img).permute(2, 0, 1)
    for op in order:
        x = STEPS[op](x, float(factors[op]))
    return x.permute(1, 2, 0).numpy()


def compare(hue: float, hue_mode: str = "hsv", n: int = 64) -> dict[str, Any]:
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    batch = np.stack([p[:256, :256] for p in photos] * (n // 4))
    pipe = T.Compose([T.ColorJitter(0.4, 0.4, 0.4, hue, p=1.0, hue_mode=hue_mode)], seed=0)
    out, (prm,) = pipe(batch, return_params=True)
    ref = np.stack([torchvision_jitter(batch[i], prm["factors"][i], prm["order"][i]) for i in range(n)])
    d = np.abs(out.astype(np.int16) - ref.astype(np.int16))
    return {
        "hue": hue,
        "hue_mode": hue_mode,
        "mean_abs": round(float(d.mean()), 3),
        "p99_abs": float(np.percentile(d, 99)),
        "max_abs": int(d.max()),
        "equal_fraction": round(float((d == 0).mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    rows = [compare(0.0), compare(0.1), compare(0.1, "rotation")]
    report = {"torchvision": torchvision.__version__, "torch": torch.__version__, "rows": rows}
    print(json.dumps(report, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
