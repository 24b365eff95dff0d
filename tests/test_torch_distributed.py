"""Multi-process training: torchrun with 2 CPU ranks (gloo), DistributedSampler + KeyedDataset + Collate.
Each rank draws its own augmentation stream, no draw repeats across ranks or epochs, every sample's draw is
the one a single process makes for its (seed, epoch, index), and a second run with the same seed
reproduces the first."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastaug.transforms import (  # noqa: E402
    ColorJitter,
    Compose,
    HorizontalFlip,
    Normalize,
    RandomResizedCrop,
    SampleRandom,
    sample_keys,
)

ROOT = Path(__file__).resolve().parents[1]
N, EPOCHS = 16, 2

SCRIPT = (
    textwrap.dedent(
        """
    import hashlib, json, sys

    import numpy as np
    import torch
    import torch.distributed as dist
    from torch.utils.data import DataLoader, Dataset, DistributedSampler

    from fastaug.torch import Collate, KeyedDataset
    from fastaug.transforms import ColorJitter, Compose, HorizontalFlip, Normalize, RandomResizedCrop


    def image(index):
        rng = np.random.default_rng(index)
        return rng.integers(0, 256, (int(rng.integers(30, 60)), int(rng.integers(30, 60)), 3), np.uint8)


    class Images(Dataset):
        def __init__(self, same=False):
            self.same = same

        def __len__(self):
            return @N@

        def __getitem__(self, i):
            return image(0 if self.same else i), i


    class Record:
        def __init__(self, collate):
            self.collate = collate

        def __call__(self, batch):
            images, labels = self.collate(batch)
            keys = [str(s.key) for s in batch] if hasattr(batch[0], "key") else [""] * len(batch)
            digests = [hashlib.sha1(x.numpy().tobytes()).hexdigest() for x in images]
            return labels.tolist(), keys, digests


    def pipeline():
        return Compose([RandomResizedCrop((24, 24)), HorizontalFlip(), ColorJitter(0.3, 0.3, 0.3), Normalize()])


    def main(out, seed):
        dist.init_process_group("gloo")
        torch.manual_seed(seed)  # every rank alike, as a training script does
        data = KeyedDataset(Images())  # its seed comes from torch's generator: the same on every rank
        sampler = DistributedSampler(data, shuffle=True, seed=seed)
        loader = DataLoader(data, 4, sampler=sampler, collate_fn=Record(Collate(pipeline())), num_workers=1,
                            timeout=60)
        records = []
        for epoch in range(@EPOCHS@):
            sampler.set_epoch(epoch)
            data.set_epoch(epoch)
            for labels, keys, digests in loader:
                records += [[epoch, i, k, d] for i, k, d in zip(labels, keys, digests)]
        same = DataLoader(Images(same=True), 4, sampler=DistributedSampler(Images(), shuffle=False),
                          collate_fn=Record(Collate(pipeline())), num_workers=1, timeout=60)
        unkeyed = [d for _, _, digests in same for d in digests]  # one image everywhere, no KeyedDataset
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, {"seed": str(data.seed), "records": records, "unkeyed": unkeyed})
        if dist.get_rank() == 0:
            with open(out, "w") as f:
                json.dump(gathered, f)
        dist.destroy_process_group()


    if __name__ == "__main__":
        main(sys.argv[1], int(sys.argv[2]))
    """
    )
    .replace("@N@", str(N))
    .replace("@EPOCHS@", str(EPOCHS))
)


def _run(tmp: Path, seed: int, name: str) -> list[dict[str, Any]]:
    script = tmp / "train.py"
    script.write_text(SCRIPT)
    out = tmp / f"{name}.json"
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", str(script), str(out), str(seed)]
    try:
        done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:  # a hung rank or worker fails the test instead of hanging it
        pytest.fail(f"torchrun did not finish in 120 s:\n{e.stderr}")
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text())


def _reference(seed: int, epoch: int, index: int) -> str:
    """The digest a single process gets for (seed, epoch, index), with no DataLoader at all."""
    rng = np.random.default_rng(index)
    image = rng.integers(0, 256, (int(rng.integers(30, 60)), int(rng.integers(30, 60)), 3), np.uint8)
    pipe = Compose([RandomResizedCrop((24, 24)), HorizontalFlip(), ColorJitter(0.3, 0.3, 0.3), Normalize()])
    out = pipe([image], rng=SampleRandom(sample_keys(seed, epoch, [index])))
    return hashlib.sha1(np.ascontiguousarray(out[0]).tobytes()).hexdigest()


def test_torchrun_ranks_draw_their_own_reproducible_streams(tmp_path: Path) -> None:
    first = _run(tmp_path, 7, "first")
    assert len(first) == 2
    seed = int(first[0]["seed"])
    assert first[1]["seed"] == first[0]["seed"]  # both ranks' KeyedDataset drew the same seed from torch
    records = [(rank, *r) for rank, g in enumerate(first) for r in g["records"]]
    assert len(records) == N * EPOCHS
    for epoch in range(EPOCHS):
        ranks = [{i for r, e, i, _, _ in records if e == epoch and r == rank} for rank in (0, 1)]
        assert not ranks[0] & ranks[1] and ranks[0] | ranks[1] == set(range(N))  # DistributedSampler's split
    keys = [k for *_, k, _ in records]
    digests = [d for *_, d in records]
    assert len(set(keys)) == len(keys) and len(set(digests)) == len(digests)  # no draw repeats anywhere
    for _, epoch, index, key, digest in records:
        assert int(key) == int(sample_keys(seed, epoch, [index])[0])
        assert digest == _reference(seed, epoch, index)  # the same draw as one process, whatever the rank
    unkeyed = first[0]["unkeyed"] + first[1]["unkeyed"]  # one image for every index, torch seeded alike
    assert len(set(unkeyed)) == len(unkeyed)  # the ranks' worker streams differ too
    assert _run(tmp_path, 7, "second") == first  # the same seed reproduces the run
