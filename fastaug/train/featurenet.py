"""The offline feature extractors behind fastaug.train.metrics: small CNN classifiers trained on a dataset's
training split (fastaug.train.data, 32x32, [-1, 1]), their weights shipped in fastaug/train/weights/ (float32
arrays and a JSON record of how they were made):

- ``digits``: 1 channel, the 10 digit classes of the `digits` training split (digits_features.npz);
- ``photos``: 3 channels, the 5 source photographs of the `photos` training split (photos_features.npz;
  held-out crops come from blocks of the photographs that no training crop touches).

Regenerate a shipped file (deterministic on one machine: one thread, fixed seeds; another CPU may differ in
the last bits of the float arithmetic, hence in the weights):

    python -m fastaug.train.featurenet [--name digits|photos] [--epochs 30] [--seed 0] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._errors import ArgumentError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DIGITS_WEIGHTS = WEIGHTS_DIR / "digits_features.npz"
FEATURE_DIM = 64
INPUT_SIZE = 32


@dataclass(frozen=True)
class NetSpec:
    """What a shipped feature network is trained on: the dataset (at INPUT_SIZE), its channels and classes,
    and the training augmentation (random integer shifts of up to `shift` px filled by `shift_fill`: a
    constant -1, the digits' background, or "replicate"; `hflip`: random horizontal flips)."""

    channels: int
    classes: int
    shift: int
    shift_fill: str
    hflip: bool
    augmentation: str


SPECS = {
    "digits": NetSpec(1, 10, 2, "constant", False, "random integer shift up to 2 px"),
    "photos": NetSpec(
        3, 5, 2, "replicate", True, "random integer shift up to 2 px (edge replicated), random horizontal flip"
    ),
}


def weights_path(name: str) -> Path:
    """The shipped weights file of feature network `name`."""
    return WEIGHTS_DIR / f"{name}_features.npz"


class FeatureNet(nn.Module):
    """Three 3x3 conv + ReLU + 2x2 max-pool blocks (16, 32, 64 channels: 32 -> 4 px), a 64-unit fully
    connected layer (its output before the ReLU: the features), ReLU, and a 10-way linear classifier.
    About 90k parameters."""

    def __init__(self, in_channels: int = 1, classes: int = 10, features: int = FEATURE_DIM) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (INPUT_SIZE // 8) ** 2, features),
        )
        self.head = nn.Linear(features, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer (N, 64), before its ReLU (a ReLU leaves dead units: constant features)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.body(x)))


DigitsNet = FeatureNet  # the digits record's "architecture" name


def _shift(x: torch.Tensor, g: torch.Generator, pixels: int, fill: str = "constant") -> torch.Tensor:
    """Random integer translation by up to `pixels` per axis, per sample, filled with the background (-1) or,
    with fill="replicate", the nearest edge pixel."""
    n, _, h, w = x.shape
    pad = F.pad(x, (pixels,) * 4, value=-1.0) if fill == "constant" else F.pad(x, (pixels,) * 4, mode=fill)
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(h)[None]).view(n, 1, h, 1).expand(n, x.shape[1], h, w + 2 * pixels)
    out = pad.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None]).view(n, 1, 1, w).expand(n, x.shape[1], h, w)
    return out.gather(3, cols)


def _augment(x: torch.Tensor, g: torch.Generator, spec: NetSpec) -> torch.Tensor:
    x = _shift(x, g, spec.shift, spec.shift_fill)
    if spec.hflip:
        flip = torch.rand(len(x), generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 512) -> float:
    """The share of `images` the classifier labels right."""
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            right += int((model(images[i : i + batch]).argmax(1) == labels[i : i + batch]).sum())
    return right / len(images)


def train_feature_net(
    name: str = "digits", epochs: int = 30, seed: int = 0, batch: int = 64, lr: float = 2e-3
) -> tuple[FeatureNet, dict]:
    """Trains the FeatureNet `name` (SPECS) on its dataset's training split (load_dataset(name), all of it) with
    Adam, cosine learning-rate decay and the spec's augmentation; one thread and fixed seeds, so that a rerun
    on the same machine gives the same weights. Returns the model and its record (held-out accuracy, sizes,
    settings, and feature_scale: 1 / the RMS of the training images' features, which Features multiplies by so
    that x.y / d is about 1, the regime of KID's polynomial kernel)."""
    from .data import load_dataset

    if name not in SPECS:
        raise ArgumentError(f"name: unknown feature network {name!r}, expected one of {tuple(SPECS)}")
    spec = SPECS[name]
    data = load_dataset(name, size=INPUT_SIZE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        model = FeatureNet(spec.channels, spec.classes)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps = epochs * ((len(data.train) + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        start = time.perf_counter()
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(data.train), generator=g)
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                x = _augment(data.train[idx], g, spec)
                loss = F.cross_entropy(model(x), data.train_labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        seconds = time.perf_counter() - start
        held = accuracy(model, data.held_out, data.held_out_labels)
        train = accuracy(model, data.train, data.train_labels)
        with torch.no_grad():
            rms = float(model.features(data.train).pow(2).mean().sqrt())
    finally:
        torch.set_num_threads(threads)
    record = {
        "name": name,
        "architecture": "DigitsNet" if name == "digits" else "FeatureNet",
        "feature_dim": FEATURE_DIM,
        "feature_layer": "penultimate Linear output, before its ReLU",
        "feature_scale": 1.0 / rms,
        "input": [spec.channels, INPUT_SIZE, INPUT_SIZE],
        "input_range": [-1.0, 1.0],
        "classes": list(data.classes),
        "trained_on": f"load_dataset({name!r}, size={INPUT_SIZE}).train ({len(data.train)} images)",
        "held_out_images": len(data.held_out),
        "held_out_accuracy": held,
        "held_out_correct": round(held * len(data.held_out)),
        "train_accuracy": train,
        "epochs": epochs,
        "seed": seed,
        "batch": batch,
        "lr": lr,
        "augmentation": spec.augmentation,
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return model, record


def train_digits_net(epochs: int = 30, seed: int = 0, batch: int = 64, lr: float = 2e-3) -> tuple[FeatureNet, dict]:
    """train_feature_net("digits", ...)."""
    return train_feature_net("digits", epochs, seed, batch, lr)


def save_weights(model: nn.Module, record: dict, path: str | os.PathLike[str] = DIGITS_WEIGHTS) -> None:
    """Writes the model's float32 state and the JSON record into one compressed .npz (no pickle)."""
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    meta = np.frombuffer(json.dumps(record, sort_keys=True).encode(), np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, __record__=meta, **arrays)


def load_weights(path: str | os.PathLike[str] = DIGITS_WEIGHTS) -> tuple[FeatureNet, dict[str, Any]]:
    """A shipped (or a saved) FeatureNet, in eval mode, and its record."""
    with np.load(path, allow_pickle=False) as f:
        record = json.loads(f["__record__"].tobytes().decode())
        state = {k: torch.from_numpy(f[k].copy()) for k in f.files if k != "__record__"}
    model = FeatureNet(int(record["input"][0]), int(state["head.weight"].shape[0]), int(record["feature_dim"]))
    model.load_state_dict(state)
    model.eval()
    return model, record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fastaug.train.featurenet", description=__doc__.split("\n\n")[0])
    p.add_argument("--name", choices=tuple(SPECS), default="digits")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="default: the shipped file, fastaug/train/weights/NAME_features.npz")
    args = p.parse_args(argv)
    output = args.output or str(weights_path(args.name))
    model, record = train_feature_net(args.name, args.epochs, args.seed)
    save_weights(model, record, output)
    size = os.path.getsize(output)
    print(json.dumps({**record, "file": output, "file_bytes": size}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
