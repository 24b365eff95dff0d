"""fastaug.torch.DeviceLoader on a real GPU (run by hand on a GPU machine; not collected by pytest, not CI):

    python tests/gpu_loader_check.py [--batches 12] [--batch-size 64] [--workers 4] [--steps 10]

A DataLoader with Pack over synthetic ragged uint8 images (256..512 px, keyed so that both paths draw the
same parameters) wrapped in DeviceLoader(device="cuda"), checked against DeviceLoader(device="cpu"):

- equal: every batch within tolerance of the CPU path (uint8 warps may round differently by one level on
  the GPU: max |diff| <= 2 levels / std, and at most 1% of the values off by more than 1e-4); labels exact
- ordering: the caller's stream is kept busy (a long matmul) before it reads each batch, and each batch is
  dropped right after its copy is taken, so a missing wait_event or record_stream shows up as wrong values
- memory: torch.cuda.memory_allocated after one batch is handed over (prefetch=0, synchronised) grows by the
  output + labels only; with prefetch=1 by two outputs + one packed buffer; the peak is reported
- zero copy: the per-image views of a device buffer point into it
- speed: DeviceLoader images/s alone; the pipeline's GPU time per batch (CUDA events); a ResNet-50 training
  step (torch.nn, bf16 autocast, channels_last) with a preloaded batch vs fed by DeviceLoader: the
  augmentation share of a step, measured both ways

Prints one JSON object; exits 1 if a check failed, 0 with {"skipped": ...} where there is no GPU."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np


def _resnet50(classes: int = 1000) -> Any:
    """ResNet-50 (bottleneck blocks 3, 4, 6, 3) in plain torch.nn (torchvision may be missing)."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = 4 * width
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            self.short: nn.Module = nn.Identity()
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            layers.append(Bottleneck(cin, width, stride if b == 0 else 1))
            cin = 4 * width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


class _Synthetic:
    """Keyed (image, label) samples over a pool of random images of 256..512 px (made once, shared by fork)."""

    def __init__(self, n: int, pool: int = 96, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.pool = [
            rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8) for h, w in rng.integers(256, 513, (pool, 2))
        ]
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        from fastaug.transforms import Keyed, sample_keys

        return Keyed((self.pool[i % len(self.pool)], i % 1000), int(sample_keys(5, 0, [i])[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    try:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
    except Exception as e:  # noqa: BLE001 - no GPU here: nothing to check
        print(json.dumps({"skipped": f"{type(e).__name__}: {e}"}))
        return 0
    from torch.utils.data import DataLoader

    import fastaug
    from fastaug.torch import DeviceLoader, Pack
    from fastaug.transforms import ColorJitter, Compose, HorizontalFlip, Normalize, RandomResizedCrop

    std = (0.229, 0.224, 0.225)

    def pipeline() -> Compose:
        return Compose([RandomResizedCrop((224, 224)), HorizontalFlip(), ColorJitter(0.4, 0.4, 0.4, 0.1), Normalize()])

    b = args.batch_size
    dataset = _Synthetic(args.batches * b)

    def loader(workers: int = args.workers) -> DataLoader:
        return DataLoader(dataset, batch_size=b, collate_fn=Pack(), num_workers=workers, pin_memory=True)

    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "fastaug_backends": {k: v.get("available") for k, v in fastaug.backends().items() if isinstance(v, dict)},
        "batch_size": b,
        "batches": args.batches,
        "workers": args.workers,
    }
    failures: list[str] = []
    dev = torch.device("cuda")

    # equal to the CPU path, with the caller's stream busy before each read (ordering)
    busy = torch.randn(4096, 4096, device=dev)
    cpu_batches = list(DeviceLoader(loader(), pipeline(), "cpu"))
    worst, off, labels_equal = 0.0, 0.0, True
    for k, (x, y) in enumerate(DeviceLoader(loader(), pipeline(), "cuda", prefetch=2)):
        for _ in range(4):
            busy = busy @ busy / 64.0  # the caller's stream is behind: a read not ordered after the side stream races
        got = x.float().clone().cpu()
        labels = y.cpu()
        del x, y  # dropped at once: without record_stream the side stream's next batch could take its memory
        ref, ref_labels = cpu_batches[k]
        diff = (got - ref.float()).abs()
        worst = max(worst, float(diff.max()))
        off = max(off, float((diff > 1e-4).float().mean()))
        labels_equal &= bool(torch.equal(labels, ref_labels))
    bound = 2 / 255 / min(std) + 1e-4
    report["equal"] = {"max_abs_diff": worst, "fraction_off": off, "bound": bound, "labels_equal": labels_equal}
    if worst > bound or off > 0.01 or not labels_equal:
        failures.append("equal")

    # memory: the output (+ labels) only, once a batch is handed over
    out_bytes = b * 3 * 224 * 224 * 4
    memory: dict[str, Any] = {"output_bytes": out_bytes}
    for prefetch in (0, 1):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        it = iter(DeviceLoader(loader(0), pipeline(), "cuda", prefetch=prefetch))
        x, y = next(it)
        torch.cuda.synchronize()
        grown = torch.cuda.memory_allocated() - base
        memory[f"prefetch{prefetch}_grown_bytes"] = grown
        memory[f"prefetch{prefetch}_peak_bytes"] = torch.cuda.max_memory_allocated() - base
        packed_max = b * 512 * 512 * 3
        limit = out_bytes + (1 << 20) if prefetch == 0 else 2 * out_bytes + packed_max + (2 << 20)
        memory[f"prefetch{prefetch}_limit_bytes"] = limit
        if grown > limit or grown < out_bytes:
            failures.append(f"memory(prefetch={prefetch})")
        del it, x, y
    report["memory"] = memory

    # zero copy: views into the device buffer
    packed = next(iter(loader(0)))
    data = packed.data.to(dev, non_blocking=True)
    views = packed.images(data)
    start, end = data.data_ptr(), data.data_ptr() + data.numel()
    inside = all(start <= v.data_ptr() and v.data_ptr() + v.numel() <= end for v in views)
    report["zero_copy_views"] = inside
    if not inside:
        failures.append("zero_copy_views")

    # speed: the loader alone, the pipeline's GPU time, a ResNet-50 step preloaded vs fed
    def images_per_s(device_loader: DeviceLoader) -> float:
        n = 0
        it = iter(device_loader)
        next(it)  # workers started, first batch
        torch.cuda.synchronize()
        t = time.perf_counter()
        for x, _ in it:
            n += x.shape[0]
        torch.cuda.synchronize()
        return n / (time.perf_counter() - t)

    report["loader_images_per_s"] = images_per_s(DeviceLoader(loader(), pipeline(), "cuda"))
    pipe = pipeline()
    with torch.cuda.stream(torch.cuda.Stream()):
        for _ in range(2):
            pipe(views)  # warm-up
        begin, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(5):
            pipe(views)
        stop.record()
    stop.synchronize()
    aug_ms = begin.elapsed_time(stop) / 5
    report["pipeline_gpu_ms_per_batch"] = aug_ms

    model = _resnet50().to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    x0 = torch.randn(b, 3, 224, 224, device=dev)
    y0 = torch.randint(0, 1000, (b,), device=dev)
    for _ in range(3):
        step(x0, y0)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(args.steps):
        step(x0, y0)
    torch.cuda.synchronize()
    model_ms = (time.perf_counter() - t) / args.steps * 1000
    fed = DeviceLoader(loader(), pipeline(), "cuda")
    it = iter(fed)
    x, y = next(it)
    step(x, y)
    torch.cuda.synchronize()
    t, n = time.perf_counter(), 0
    for x, y in it:
        step(x, y)
        n += 1
    torch.cuda.synchronize()
    fed_ms = (time.perf_counter() - t) / max(n, 1) * 1000
    report["resnet50"] = {
        "step_ms_preloaded": model_ms,
        "step_ms_fed_by_device_loader": fed_ms,
        "fed_images_per_s": b / fed_ms * 1000,
        "augmentation_share_end_to_end": max(0.0, (fed_ms - model_ms) / fed_ms),
        "augmentation_share_gpu_time": aug_ms / (aug_ms + model_ms),
        "note": "end to end includes the workers and the pinned copy; the CPU may be the bound",
    }
    report["failures"] = failures
    print(json.dumps(report, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
