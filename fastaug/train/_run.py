"""What the GAN and VAE trainers share: the options (RunConfig), the run folder (metrics JSON lines, atomic
checkpoints, sample grids, loss curves), the training-data order, RNG state capture, a progress bar, the
multi-process helpers (torchrun), and a ``Trainer`` base class whose ``fit`` loop calls a subclass's
``train_step``, ``evaluate`` and ``write_samples``.

Stable API (used by fastaug.train.gan and fastaug.train.vae):

- ``RunConfig``: a dataclass of the shared options; each field's ``metadata["help"]`` documents it and the
  CLI turns field ``data_fraction`` into ``--data-fraction``. ``validate()`` raises ArgumentError naming the
  CLI option. Trainer configs subclass it and extend ``validate`` and ``resume_keys``.
- ``RunDir(path)``: ``log(record)`` appends one JSON object per line (flushed); ``save_checkpoint(state)``
  writes ``last.pt`` atomically (temp file + os.replace); ``load_checkpoint(path, expect)`` refuses a
  checkpoint written for another configuration with "--resume: checkpoint ... was written for size 64, this
  run has size 32"; ``save_grid(images, name)`` and ``plot_curves(name)`` write PNGs.
- ``Batches``: the seeded data order of one rank's shard (epochs of random permutations), with state.
- ``rng_state()`` / ``set_rng_state(state)``: torch's global CPU (and CUDA) generators.
- ``Dist`` / ``init_distributed(device)`` / ``all_reduce_grads(params, dist)`` / ``broadcast_module(m, dist)``
  / ``stream_seed(seed, rank, name)``: torchrun's environment (gloo on the CPU, NCCL on CUDA), rank 0 writes
  files, each rank a shard of the data and its own random streams.
- ``Trainer``: the loop (see its docstring for the hooks a trainer implements).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from .._errors import ArgumentError, FastaugError

__all__ = [
    "Batches",
    "Dist",
    "Progress",
    "RunConfig",
    "RunDir",
    "Trainer",
    "all_reduce_grads",
    "broadcast_module",
    "init_distributed",
    "option",
    "rng_state",
    "set_rng_state",
    "stream_seed",
]

CHECKPOINT = "last.pt"
METRICS = "metrics.jsonl"


def option(name: str) -> str:
    """The CLI spelling of a config field: data_fraction -> --data-fraction."""
    return "--" + name.replace("_", "-")


def _help(text: str, **extra: Any) -> Any:
    """Field metadata: the CLI help text (and optionally 'choices', 'metavar')."""
    return {"help": text, **extra}


# ---------------------------------------------------------------------------------------------------- config
@dataclass
class RunConfig:
    """The options every trainer shares. Each field's metadata["help"] is its CLI help; ``validate()`` raises
    fastaug.ArgumentError naming the CLI option (``--data-fraction: ...``)."""

    data: str = field(
        default="digits",
        metadata=_help("'digits', 'photos', a folder of images or a .npy file (fastaug.train.load_dataset)"),
    )
    size: int = field(default=32, metadata=_help("image height and width in pixels"))
    data_fraction: float = field(
        default=1.0, metadata=_help("share of the training split kept (a seeded subset), 0 < f <= 1")
    )
    channels: int | None = field(
        default=None, metadata=_help("1 or 3 to convert the images (None: the data's own)", choices=(1, 3))
    )
    seed: int = field(default=0, metadata=_help("seeds the data subset, the models and every random stream"))
    batch: int = field(default=64, metadata=_help("images per step, over all processes"))
    steps: int = field(default=2000, metadata=_help("training steps (the run's length; resume can extend it)"))
    lr: float = field(default=2e-4, metadata=_help("Adam learning rate"))
    out: str = field(default="runs/run", metadata=_help("the run folder (created; a finished run is not overwritten)"))
    resume: bool | str = field(
        default=False,
        metadata=_help("continue from OUT/last.pt (or from the checkpoint file given)", metavar="CHECKPOINT"),
    )
    eval_every: int = field(default=0, metadata=_help("evaluate every N steps (0: at the end only)"))
    eval_n: int = field(default=0, metadata=_help("samples per evaluation (0: as many as held-out images)"))
    checkpoint_every: int = field(default=500, metadata=_help("write OUT/last.pt every N steps (and at the end)"))
    sample_every: int = field(default=500, metadata=_help("write a sample grid every N steps (and at the end)"))
    log_every: int = field(default=20, metadata=_help("average the losses over N steps per metrics line"))
    device: str = field(default="auto", metadata=_help("where to train", choices=("auto", "cpu", "cuda")))
    threads: int = field(
        default=0, metadata=_help("torch (and BLAS) CPU threads per process (0: their defaults; 1 on a busy machine)")
    )
    progress: bool = field(default=True, metadata=_help("show a progress bar with images/s (stderr)"))

    #: config fields a checkpoint must share with the run that resumes it (trainers extend it)
    resume_keys: ClassVar[tuple[str, ...]] = ("data", "size", "channels", "data_fraction", "seed", "batch")

    def validate(self) -> None:
        """Checks every field; raises ArgumentError("--option: expected ..., got ...")."""
        _want(self, "data", isinstance(self.data, str) and self.data != "", "a dataset name or a path")
        _want(self, "size", _is_int(self.size) and self.size >= 4, "an int >= 4")
        _want(
            self,
            "data_fraction",
            isinstance(self.data_fraction, (int, float)) and 0 < self.data_fraction <= 1,
            "a fraction in (0, 1]",
        )
        _want(self, "channels", self.channels is None or (_is_int(self.channels) and self.channels in (1, 3)), "1 or 3")
        _want(self, "seed", _is_int(self.seed) and self.seed >= 0, "an int >= 0")
        _want(self, "batch", _is_int(self.batch) and self.batch >= 2, "an int >= 2")
        _want(self, "steps", _is_int(self.steps) and self.steps >= 1, "an int >= 1")
        _want(self, "lr", isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf, "a positive number")
        _want(self, "out", isinstance(self.out, (str, os.PathLike)) and str(self.out) != "", "a folder")
        _want(self, "resume", isinstance(self.resume, (bool, str, os.PathLike)), "a bool or a checkpoint path")
        for name in ("eval_every", "eval_n", "checkpoint_every", "sample_every", "threads"):
            _want(self, name, _is_int(getattr(self, name)) and getattr(self, name) >= 0, "an int >= 0")
        _want(self, "log_every", _is_int(self.log_every) and self.log_every >= 1, "an int >= 1")
        _want(self, "device", self.device in ("auto", "cpu", "cuda"), "'auto', 'cpu' or 'cuda'")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ArgumentError("--device: 'cuda' asked for, but torch sees no CUDA device")

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain values (JSON- and weights_only-checkpoint-safe)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def resume_path(self) -> Path | None:
        """The checkpoint to resume from: None (a fresh run), OUT/last.pt (resume True / 'last') or a path."""
        if self.resume is False or self.resume in ("", "false", "no"):
            return None
        if self.resume is True or self.resume in ("last", "true", "yes"):
            return Path(self.out) / CHECKPOINT
        return Path(self.resume)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _plain(v: Any) -> Any:
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return v


def _want(config: Any, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ArgumentError(f"{option(name)}: expected {expected}, got {getattr(config, name)!r}")


# ---------------------------------------------------------------------------------------------- run folder
class RunDir:
    """A run folder: metrics.jsonl (one JSON object per line, flushed after each), last.pt (written
    atomically), samples/*.png, losses.png. Only rank 0 makes one (``write=False`` elsewhere: every method
    is then a no-op, so the trainers need no rank checks)."""

    def __init__(self, path: str | os.PathLike[str], write: bool = True) -> None:
        self.path = Path(path)
        self.write = write
        if write:
            _check_writable(self.path)

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    def log(self, record: dict[str, Any]) -> None:
        """Appends record as one JSON line (NaN/inf written as null) and flushes."""
        if not self.write:
            return
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(_json_safe(record)) + "\n")
            f.flush()

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The metrics lines (those with record["kind"] == kind if given)."""
        if not self.metrics_path.exists():
            return []
        out = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                if kind is None or rec.get("kind") == kind:
                    out.append(rec)
        return out

    def truncate_metrics(self, step: int) -> None:
        """Drops the lines written after `step` (a resumed run repeats those steps), atomically."""
        if not self.write or not self.metrics_path.exists():
            return
        kept = [r for r in self.records() if int(r.get("step", 0)) <= step]
        _atomic_write(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    def save_checkpoint(self, state: dict[str, Any], name: str = CHECKPOINT) -> Path | None:
        """torch.save(state) to a temporary file in the folder, fsync, then os.replace: a crash leaves the
        previous checkpoint whole, never a half-written one. Keep state to tensors and plain values so that
        load_checkpoint can use torch.load(weights_only=True)."""
        if not self.write:
            return None
        path = self.path / name
        with _replacing(path, ".tmp") as tmp, open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        return path

    def save_grid(self, images: Tensor, name: str, nrow: int | None = None) -> Path | None:
        """images (N, C, H, W) in [-1, 1] (C 1 or 3) as one PNG grid (nrow per row, default ~sqrt(N); 1 px
        gaps), written atomically under the folder; returns its path."""
        if not self.write:
            return None
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        grid = image_grid(images, nrow)
        import matplotlib.image

        with _replacing(path, ".png") as tmp:
            if grid.shape[2] == 1:
                matplotlib.image.imsave(tmp, grid[:, :, 0], cmap="gray", vmin=0, vmax=255, format="png")
            else:
                matplotlib.image.imsave(tmp, grid, format="png")
        return path

    def plot_curves(
        self, name: str = "losses.png", panels: Sequence[Sequence[str]] | None = None, kind: str = "train"
    ) -> Path | None:
        """A PNG of the `kind` metrics lines against step, drawn with matplotlib (Agg): one panel per group of
        keys in `panels` (default: one panel with every numeric key but step/images/time/images_per_s);
        groups whose keys never appear are left out. Returns its path, or None with nothing to draw."""
        if not self.write:
            return None
        recs = self.records(kind)
        skip = {"step", "images", "time", "images_per_s", "kind"}
        if panels is None:
            keys = sorted({k for r in recs for k, v in r.items() if k not in skip and isinstance(v, (int, float))})
            panels = [keys]
        groups = [[k for k in g if any(k in r for r in recs)] for g in panels]
        groups = [g for g in groups if g]
        if not recs or not groups:
            return None
        from matplotlib.figure import Figure  # no pyplot: the Agg canvas, no GUI backend, no global state

        fig = Figure(figsize=(7, 2.6 * len(groups)), dpi=100)
        axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
        for ax, group in zip(axes, groups, strict=True):
            for key in group:
                pts = [(r["step"], r[key]) for r in recs if isinstance(r.get(key), (int, float))]
                if pts:
                    ax.plot(*zip(*pts, strict=True), label=key, linewidth=1)
            ax.legend(loc="best", fontsize=8)
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel("step")
        fig.tight_layout()
        path = self.path / name
        with _replacing(path, ".png") as tmp:
            fig.savefig(tmp, format="png")
        return path


def _check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ArgumentError(f"--out: cannot write to {os.fspath(path)!r}: {e.strerror or e}") from None


@contextlib.contextmanager
def _replacing(path: Path, suffix: str = "") -> Iterator[str]:
    """A temporary file next to path to write; on success it replaces path (os.replace: readers see the old
    file or the new one, never half of one), on failure it is removed and path is left as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _atomic_write(path: Path, data: bytes) -> None:
    with _replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def _json_safe(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, Tensor):
        return _json_safe(v.tolist())
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def image_grid(images: Tensor, nrow: int | None = None, gap: int = 1) -> np.ndarray:
    """(N, C, H, W) images in [-1, 1] -> one uint8 (rows*(H+gap)-gap, cols*(W+gap)-gap, C) array, row by
    row (torchvision.utils.make_grid with value_range (-1, 1), a black gap)."""
    x = images.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = x.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * (h + gap) - gap, cols * (w + gap) - gap, c), np.uint8)
    pix = ((x + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = pix[i]
    return grid


def load_checkpoint(path: str | os.PathLike[str], expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """torch.load(path, weights_only=True) on the CPU. expect: config values the checkpoint's
    state["config"] must equal (and state["kind"] for the key "kind"); a mismatch raises
    ArgumentError("--resume: checkpoint P was written for size 64, this run has size 32")."""
    p = Path(path)
    if not p.is_file():
        raise ArgumentError(f"--resume: no checkpoint at {os.fspath(p)!r}")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  torch raises pickle/zip/runtime errors for a file that is not a checkpoint
        why = (str(e).strip().splitlines() or [""])[0][:120]  # torch's messages run to several paragraphs
        raise ArgumentError(f"--resume: cannot read checkpoint {os.fspath(p)!r} ({type(e).__name__}: {why})") from None
    if not isinstance(state, dict) or "config" not in state:
        raise ArgumentError(f"--resume: {os.fspath(p)!r} is not a fastaug.train checkpoint")
    saved = {**state["config"], "kind": state.get("kind")}
    for key, want in (expect or {}).items():
        have = saved.get(key)
        if _plain(have) != _plain(want):
            what = "a model of kind" if key == "kind" else key.replace("_", " ")
            raise ArgumentError(
                f"--resume: checkpoint {os.fspath(p)!r} was written for {what} {have!r}, this run has {what} {want!r}"
            )
    return dict(state)


# ---------------------------------------------------------------------------------------------- data order
class Batches:
    """The training-data order of one rank: epochs of seeded random permutations of `indices` (this rank's
    shard), cut into batches of `batch` (an epoch's tail continues into the next permutation, so every
    batch is full and an image appears at most once per epoch). ``state_dict`` holds the generator, the
    current permutation and the position: a resumed run draws the same next batches."""

    def __init__(self, indices: Tensor, batch: int, seed: int) -> None:
        if len(indices) < 1:
            raise ArgumentError("--data: this process's shard of the training data is empty")
        self.indices = indices.long()
        self.batch = int(batch)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0
        self.epoch = 0

    def next(self) -> Tensor:
        """The next batch's indices (into the dataset, not the shard), int64 (batch,)."""
        parts, need = [], self.batch
        while need > 0:
            if self.pos >= len(self.order):
                self.order = self.indices[torch.randperm(len(self.indices), generator=self.generator)]
                self.pos, self.epoch = 0, self.epoch + 1
            take = self.order[self.pos : self.pos + need]
            parts.append(take)
            self.pos += len(take)
            need -= len(take)
        return torch.cat(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "order": self.order, "pos": self.pos, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.order, self.pos, self.epoch = state["order"], int(state["pos"]), int(state["epoch"])


# --------------------------------------------------------------------------------------------- randomness
def stream_seed(seed: int, rank: int, name: str) -> int:
    """A 63-bit seed for the random stream `name` ('latents', 'policy', 'data', ...) of process `rank` in a
    run seeded `seed`: numpy's SeedSequence over (seed, rank, crc32(name)), so streams never share a seed
    across names, ranks or nearby seeds (seed + rank would make run 1's rank 0 replay run 0's rank 1)."""
    words = [int(seed), int(rank), zlib.crc32(name.encode())]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint64)[0] >> np.uint64(1))


def rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """torch's global generators: the CPU one, and the CUDA one of `device` when it is a CUDA device."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    torch.set_rng_state(state["torch"])
    if device is not None and device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


# ------------------------------------------------------------------------------------------- distributed
@dataclass(frozen=True)
class Dist:
    """This process's place in a run: rank, world size, local rank (its GPU). world == 1: no process group."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes the run folder."""
        return self.rank == 0


def init_distributed(device: str = "auto") -> tuple[Dist, torch.device]:
    """Reads torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK); with WORLD_SIZE > 1 it initialises the
    default process group (NCCL on CUDA, gloo on the CPU; torch.distributed.init_process_group with the env://
    rendezvous torchrun sets up). device 'auto' picks CUDA when available; on CUDA each process takes
    cuda:LOCAL_RANK. Returns (Dist, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    dev = torch.device("cuda", local % max(torch.cuda.device_count(), 1)) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1:
        import torch.distributed as tdist

        if not tdist.is_initialized():
            tdist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(rank, world, local), dev


def finish_distributed(dist: Dist) -> None:
    if dist.world > 1:
        import torch.distributed as tdist

        if tdist.is_initialized():
            tdist.destroy_process_group()


def broadcast_module(module: torch.nn.Module, dist: Dist) -> None:
    """Copies rank 0's parameters and buffers to every rank (what DistributedDataParallel does at wrap)."""
    if dist.world == 1:
        return
    import torch.distributed as tdist

    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            tdist.broadcast(t.data, 0)


def all_reduce_grads(params: Sequence[Tensor], dist: Dist) -> None:
    """Averages the gradients over the ranks with one all-reduce of a flat buffer (missing grads count as 0).
    This is DistributedDataParallel's gradient averaging done after backward, as StyleGAN3's training loop
    does: DDP's reducer does not support torch.autograd.grad (its docs), which the R1 penalty needs."""
    if dist.world == 1:
        return
    import torch.distributed as tdist

    params = [p for p in params if p.requires_grad]
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])
    tdist.all_reduce(flat)
    flat /= dist.world
    for p, g in zip(params, flat.split([p.numel() for p in params]), strict=True):
        if p.grad is None:
            p.grad = g.view_as(p).clone()
        else:
            p.grad.copy_(g.view_as(p))


def all_gather_cat(t: Tensor, dist: Dist) -> Tensor:
    """Every rank's `t` (same shape on each), concatenated along dim 0, on every rank (detached)."""
    if dist.world == 1:
        return t.detach()
    import torch.distributed as tdist

    parts = [torch.empty_like(t) for _ in range(dist.world)]
    tdist.all_gather(parts, t.detach().contiguous())
    return torch.cat(parts)


def gather_objects(obj: Any, dist: Dist) -> list[Any]:
    """Every rank's `obj` (picklable), in rank order, on every rank."""
    if dist.world == 1:
        return [obj]
    import torch.distributed as tdist

    out: list[Any] = [None] * dist.world
    tdist.all_gather_object(out, obj)
    return out


# ------------------------------------------------------------------------------------------------ progress
class Progress:
    """A tqdm bar counting images (so its rate reads img/s) on stderr, or nothing (disabled, not rank 0, or
    tqdm missing)."""

    def __init__(self, total_images: int, done_images: int, enabled: bool, desc: str = "") -> None:
        self.bar: Any = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(
                total=total_images, initial=done_images, unit="img", unit_scale=True, desc=desc, file=sys.stderr
            )

    def update(self, images: int, **postfix: Any) -> None:
        if self.bar is not None:
            self.bar.update(images)
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------------------------------------- trainer
def _limit_threads(n: int) -> None:
    """torch's intra-op threads and, through threadpoolctl when installed (scikit-learn's dependency), the
    BLAS pool numpy uses for the metrics: on a loaded machine a 2-thread OpenBLAS ran KID ~7x slower than one
    thread (threads spin-waiting for a core)."""
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def _require_train_extra() -> None:
    """A trainer draws its pictures with matplotlib (the [train] extra): refuse to start without it rather
    than fail at the first picture after minutes of training."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ArgumentError(
            "fastaug.train: the trainers need matplotlib for their pictures: pip install 'fastaug[train]'"
        )


class Trainer:
    """The shared training loop. A subclass sets ``kind`` ('gan', 'vae') and implements:

    - ``build()``: after ``self.data`` (a fastaug.train.Dataset), ``self.device`` and ``self.dist`` exist,
      makes the models, optimisers and random generators (seeded with stream_seed(seed, rank, name)).
    - ``train_step(reals) -> dict[str, Tensor]``: one optimisation step on a batch (this rank's share, on the
      device); returns 0-dim loss tensors, left on the device (the loop averages them over log_every steps
      and reads them once per metrics line: no per-step device sync).
    - ``evaluate() -> dict[str, Any]``: metrics (rank 0 only; plain values).
    - ``write_samples(step)``: pictures into ``self.run`` (rank 0 only).
    - ``state_dict() / load_state_dict(state)``: models, optimisers, policies and their own generators
      (this rank's). The loop adds the step, the config, torch's global RNG and the data order.
    - optionally ``curve_panels`` (key groups for losses.png) and ``extra_log()`` (values added to every
      train line, read once per line, e.g. ADA's p).

    ``fit()`` runs steps self.step .. config.steps - 1 and returns the last evaluation's metrics dict.
    Multi-process runs (torchrun) give each rank batch // world images per step from its own shard."""

    kind: ClassVar[str] = "run"
    curve_panels: ClassVar[Sequence[Sequence[str]] | None] = None

    def __init__(self, config: RunConfig) -> None:
        config.validate()
        _require_train_extra()
        self.config = config
        if config.threads:
            _limit_threads(config.threads)
        self.dist, self.device = init_distributed(config.device)
        if config.batch % self.dist.world:
            raise ArgumentError(f"--batch: {config.batch} images do not split evenly over {self.dist.world} processes")
        self.step = 0
        resume = config.resume_path()
        if self.dist.main and resume is None and (Path(config.out) / CHECKPOINT).exists():
            raise ArgumentError(
                f"--out: {config.out!r} already holds a run ({CHECKPOINT}); pass --resume to continue it, or "
                "choose another folder"
            )
        self.run = RunDir(config.out, write=self.dist.main)
        if resume is None and self.run.write and self.run.metrics_path.exists():
            self.run.metrics_path.unlink()  # a fresh run: the lines of one that never wrote a checkpoint go
        self.data = self._load_data()
        shard = torch.arange(len(self.data.train))[self.dist.rank :: self.dist.world]
        self.batches = Batches(shard, config.batch // self.dist.world, stream_seed(config.seed, self.dist.rank, "data"))
        torch.manual_seed(stream_seed(config.seed, self.dist.rank, "torch"))
        self.build()
        self._history: dict[str, Any] = {}
        if resume is not None:
            self._resume(resume)

    # ----------------------------------------------------------------------------------- subclass hooks
    def build(self) -> None:
        raise NotImplementedError

    def train_step(self, reals: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def evaluate(self) -> dict[str, Any]:
        raise NotImplementedError

    def write_samples(self, step: int) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def extra_log(self) -> dict[str, Any]:
        return {}

    def resume_expect(self) -> dict[str, Any]:
        """What a checkpoint must match: the config's resume_keys, the kind, and the loaded data's channels."""
        cfg = self.config.as_dict()
        expect = {k: cfg[k] for k in type(self.config).resume_keys}
        expect["channels"] = self.data.shape[0]
        expect["kind"] = self.kind
        return expect

    # --------------------------------------------------------------------------------------------- data
    def _load_data(self) -> Any:
        from .data import load_dataset

        cfg = self.config
        names = {"name_or_path": "data", "fraction": "data_fraction", "size": "size", "channels": "channels"}
        try:
            return load_dataset(cfg.data, cfg.size, cfg.data_fraction, cfg.seed, channels=cfg.channels)
        except FastaugError as e:  # re-name load_dataset's argument as the CLI option
            head, sep, rest = str(e).partition(":")
            if sep and head in names:
                raise ArgumentError(f"{option(names[head])}:{rest}") from None
            raise ArgumentError(f"--data: {e}") from None

    def reals(self, idx: Tensor) -> Tensor:
        """The training images at idx, on the device."""
        return self.data.train[idx].to(self.device, non_blocking=True)

    # -------------------------------------------------------------------------------------- checkpoints
    def checkpoint(self) -> dict[str, Any]:
        """The full state: the trainer's, plus step, config, kind, world size, and per rank the global RNG,
        the data order (and the trainer's per-rank state when several processes run)."""
        mine = {"rng": rng_state(self.device), "batches": self.batches.state_dict(), "trainer": self.state_dict()}
        ranks = gather_objects(mine, self.dist)
        cfg = {**self.config.as_dict(), "channels": self.data.shape[0]}
        return {"kind": self.kind, "step": self.step, "world": self.dist.world, "config": cfg, "ranks": ranks}

    def save(self) -> None:
        state = self.checkpoint()  # every rank takes part in the gather
        self.run.save_checkpoint(state)

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(path, self.resume_expect())
        if int(state["world"]) != self.dist.world:
            raise ArgumentError(
                f"--resume: checkpoint {os.fspath(path)!r} was written by {state['world']} process(es), this run "
                f"has {self.dist.world} (each process's random streams are in it)"
            )
        mine = state["ranks"][self.dist.rank]
        self.load_state_dict(mine["trainer"])
        self.batches.load_state_dict(mine["batches"])
        set_rng_state(mine["rng"], self.device)
        self.step = int(state["step"])
        if self.step > self.config.steps:
            raise ArgumentError(
                f"--steps: the checkpoint is at step {self.step}, past this run's --steps {self.config.steps}"
            )
        self.run.truncate_metrics(self.step)

    # --------------------------------------------------------------------------------------------- loop
    def _due(self, every: int, step: int) -> bool:
        return every > 0 and step % every == 0

    def fit(self) -> dict[str, Any]:
        """Trains to config.steps; returns the final evaluation (also the last 'eval' metrics line).
        images_per_s in the train lines counts training time only (pictures, evaluations and checkpoints
        excluded)."""
        cfg, per_step = self.config, self.config.batch
        if self.step == 0:
            info = {"world": self.dist.world, "data_info": repr(self.data)}
            self.run.log({"kind": "config", "step": 0, **cfg.as_dict(), **info})
        bar = Progress(cfg.steps * per_step, self.step * per_step, cfg.progress and self.dist.main, self.kind)
        sums: dict[str, Tensor] = {}
        count, t0 = 0, time.perf_counter()
        final: dict[str, Any] = {}
        try:
            while self.step < cfg.steps:
                losses = self.train_step(self.reals(self.batches.next()))
                self.step += 1
                for k, v in losses.items():
                    sums[k] = sums[k] + v.detach() if k in sums else v.detach().clone()
                count += 1
                last = self.step == cfg.steps
                if self._due(cfg.log_every, self.step) or last:
                    self._log_train(sums, count, time.perf_counter() - t0, bar)
                    sums, count, t0 = {}, 0, time.perf_counter()
                t_extra = time.perf_counter()
                final = self._periodic(last) or final
                t0 += time.perf_counter() - t_extra
        finally:
            bar.close()
            finish_distributed(self.dist)
        return dict(_json_safe(final))

    def _log_train(self, sums: dict[str, Tensor], count: int, seconds: float, bar: Progress) -> None:
        """One 'train' metrics line: the losses averaged over `count` steps (one device read per line)."""
        per_step = self.config.batch
        rec: dict[str, Any] = {k: float(v) / count for k, v in sums.items()}
        rec.update(self.extra_log())
        ips = count * per_step / max(seconds, 1e-9)
        self.run.log({"kind": "train", "step": self.step, "images": self.step * per_step, **rec, "images_per_s": ips})
        bar.update(count * per_step, **{k: f"{v:.3g}" for k, v in rec.items() if isinstance(v, (int, float))})

    def _periodic(self, last: bool) -> dict[str, Any] | None:
        """Pictures, evaluation (rank 0) and checkpoint (every rank takes part) when due; the eval record."""
        cfg, out = self.config, None
        if (self._due(cfg.sample_every, self.step) or last) and self.dist.main:
            self.write_samples(self.step)
            self.run.plot_curves("losses.png", self.curve_panels)
        if (self._due(cfg.eval_every, self.step) or last) and self.dist.main:
            t = time.perf_counter()
            out = {"kind": "eval", "step": self.step, "images": self.step * cfg.batch, **self.evaluate()}
            out["eval_s"] = time.perf_counter() - t
            self.run.log(out)
        if self._due(cfg.checkpoint_every, self.step) or last:
            self.save()
        return out
