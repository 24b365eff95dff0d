"""The offline feature extractor behind fastaug.train.metrics: a small CNN classifier trained on the `digits`
training split (fastaug.train.data, 32x32, 1 channel, [-1, 1]), its weights shipped in
fastaug/train/weights/digits_features.npz (float32 arrays and a JSON record of how they were made).

Regenerate the shipped file (deterministic on one machine: one thread, fixed seeds; another CPU may differ in
the last bits of the float arithmetic, hence in the weights):

    python -m fastaug.train.featurenet [--epochs 30] [--seed 0] [--output fastaug/train/weights/digits_features.npz]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DIGITS_WEIGHTS = WEIGHTS_DIR / "digits_features.npz"
FEATURE_DIM = 64
INPUT_SIZE = 32


class DigitsNet(nn.Module):
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


def _shift(x: torch.Tensor, g: torch.Generator, pixels: int) -> torch.Tensor:
    """Random integer translation by up to `pixels` per axis, per sample, filled with the background (-1)."""
    n, _, h, w = x.shape
    pad = F.pad(x, (pixels,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(h)[None]).view(n, 1, h, 1).expand(n, x.shape[1], h, w + 2 * pixels)
    out = pad.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None]).view(n, 1, 1, w).expand(n, x.shape[1], h, w)
    return out.gather(3, cols)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 512) -> float:
    """The share of `images` the classifier labels right."""
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            right += int((model(images[i : i + batch]).argmax(1) == labels[i : i + batch]).sum())
    return right / len(images)


def train_digits_net(epochs: int = 30, seed: int = 0, batch: int = 64, lr: float = 2e-3) -> tuple[DigitsNet, dict]:
    """Trains DigitsNet on the digits training split (load_dataset("digits"), all of it) with Adam, cosine
    learning-rate decay and random shifts of up to 2 px; one thread and fixed seeds, so that a rerun on the same
    machine gives the same weights. Returns the model and its record (held-out accuracy, sizes, settings, and
    feature_scale: 1 / the RMS of the training images' features, which Features multiplies by so that x.y / d
    is about 1, the regime of KID's polynomial kernel)."""
    from .data import load_dataset

    data = load_dataset("digits", size=INPUT_SIZE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        model = DigitsNet()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps = epochs * ((len(data.train) + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        start = time.perf_counter()
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(data.train), generator=g)
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                x = _shift(data.train[idx], g, 2)
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
        "name": "digits",
        "architecture": "DigitsNet",
        "feature_dim": FEATURE_DIM,
        "feature_layer": "penultimate Linear output, before its ReLU",
        "feature_scale": 1.0 / rms,
        "input": [1, INPUT_SIZE, INPUT_SIZE],
        "input_range": [-1.0, 1.0],
        "trained_on": f"load_dataset('digits', size={INPUT_SIZE}).train ({len(data.train)} images)",
        "held_out_images": len(data.held_out),
        "held_out_accuracy": held,
        "held_out_correct": round(held * len(data.held_out)),
        "train_accuracy": train,
        "epochs": epochs,
        "seed": seed,
        "batch": batch,
        "lr": lr,
        "augmentation": "random integer shift up to 2 px",
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return model, record


def save_weights(model: nn.Module, record: dict, path: str | os.PathLike[str] = DIGITS_WEIGHTS) -> None:
    """Writes the model's float32 state and the JSON record into one compressed .npz (no pickle)."""
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    meta = np.frombuffer(json.dumps(record, sort_keys=True).encode(), np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, __record__=meta, **arrays)


def load_weights(path: str | os.PathLike[str] = DIGITS_WEIGHTS) -> tuple[DigitsNet, dict[str, Any]]:
    """The shipped (or a saved) DigitsNet, in eval mode, and its record."""
    with np.load(path, allow_pickle=False) as f:
        record = json.loads(f["__record__"].tobytes().decode())
        state = {k: torch.from_numpy(f[k].copy()) for k in f.files if k != "__record__"}
    model = DigitsNet(features=int(record["feature_dim"]))
    model.load_state_dict(state)
    model.eval()
    return model, record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fastaug.train.featurenet", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=str(DIGITS_WEIGHTS))
    args = p.parse_args(argv)
    model, record = train_digits_net(args.epochs, args.seed)
    save_weights(model, record, args.output)
    size = os.path.getsize(args.output)
    print(json.dumps({**record, "file": args.output, "file_bytes": size}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
