"""Per-sample random streams: SampleRandom draws like a numpy Generator, but row i of every draw depends only
on sample i's key and on how many draws came before, never on the other samples of the batch.

A DataLoader splits a dataset into batches differently for every num_workers, batch size and shuffle; with
a key per sample made from (seed, epoch, dataset index), a sample gets the same parameters however it was
batched, in whichever worker process. Counter-based (SplitMix64's finaliser over key, draw number and
position, as numpy's SeedSequence mixes entropy): no state to ship between processes, vectorised over the
batch."""

from __future__ import annotations

import multiprocessing
import secrets
from typing import Any, NamedTuple

import numpy as np

from .._errors import ArgumentError

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: SplitMix64's increment
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise over uint64 (a bijection with good avalanche)."""
    z = np.atleast_1d(np.asarray(z, np.uint64))  # arrays wrap silently; numpy scalars warn on overflow
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _uint64(value: Any, name: str) -> np.ndarray:
    """Non-negative ints (Python ints of any size are reduced mod 2^64) as uint64."""
    if isinstance(value, (list, tuple)):  # numpy would make a list straddling 2^63 float64
        value = np.array(value, dtype=object) if value else np.zeros(0, np.uint64)
    array = np.asarray(value)
    if array.dtype == np.uint64:
        return array
    if array.dtype == object or not np.issubdtype(array.dtype, np.integer):
        if array.dtype == object and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in array.flat):
            return np.array([v & _MASK for v in array.flat], np.uint64).reshape(array.shape)
        raise ArgumentError(f"{name}: expected non-negative integers, got {value!r}")
    if (array < 0).any():
        raise ArgumentError(f"{name}: expected non-negative integers, got {value!r}")
    return array.astype(np.uint64)


def sample_keys(seed: Any, epoch: Any, index: Any) -> np.ndarray:
    """(N,) uint64 keys for samples `index` (dataset indices) of `epoch` under `seed`; epoch may be one per
    sample. Different seeds, epochs or indices give unrelated streams."""
    index = np.atleast_1d(_uint64(index, "index"))
    epoch = np.broadcast_to(_uint64(epoch, "epoch"), index.shape)
    seed = np.atleast_1d(_uint64(int(seed) & _MASK if isinstance(seed, (int, np.integer)) else seed, "seed"))
    return mix(mix(mix(seed + _GOLDEN) + epoch * _M1 + _GOLDEN) + index * _M2)


class SampleRandom:
    """Draws like numpy's Generator (random, uniform, integers, permuted: what the transforms call), one row
    per sample: a draw of size n or (n, ...) gives sample i the values of its own stream, keyed by keys[i]
    (see sample_keys) and the number of draws before it. Pass it to Compose(..., rng=SampleRandom(keys))."""

    def __init__(self, keys: Any) -> None:
        self.keys = np.atleast_1d(_uint64(keys, "keys")).ravel()
        self.draws = 0

    def __len__(self) -> int:
        return len(self.keys)

    def _bits(self, size: Any) -> np.ndarray:
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        if not shape or shape[0] != len(self.keys):
            raise ArgumentError(
                f"SampleRandom: a draw must have one row per sample ({len(self.keys)}), asked for size {size!r}"
            )
        self.draws += 1
        per = int(np.prod(shape[1:], dtype=np.int64))
        stream = mix(self.keys ^ mix(np.full(1, self.draws, np.uint64) * _GOLDEN))
        position = np.arange(1, per + 1, dtype=np.uint64) * _GOLDEN
        return mix(stream[:, None] + position[None, :]).reshape(shape)

    def random(self, size: Any) -> np.ndarray:
        """Uniform in [0, 1), 53 random bits each (as numpy's Generator.random)."""
        return (self._bits(size) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> np.ndarray:
        return low + (high - low) * self.random(size)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> np.ndarray:
        """Integers in [low, high) (the bias of the modulo is below 2^-64 * (high - low): negligible)."""
        if high is None:
            low, high = 0, low
        span = int(high) - int(low)
        if span <= 0:
            raise ArgumentError(f"SampleRandom.integers: expected low < high, got {low}, {high}")
        offset = self._bits(size) % np.uint64(span)
        return (offset.astype(np.int64) + int(low)) if span < (1 << 63) else offset

    def permuted(self, x: Any, axis: int = -1) -> np.ndarray:
        """Each row of an (n, k) array shuffled on its own (Generator.permuted(x, axis=1))."""
        x = np.asarray(x)
        if x.ndim != 2 or axis not in (1, -1):
            raise ArgumentError(f"SampleRandom.permuted: expected an (n, k) array and axis=1, got {x.shape}, {axis}")
        order = np.argsort(self.random(x.shape), axis=1, kind="stable")
        return np.take_along_axis(x, order, axis=1)

    def expanded(self, index: np.ndarray) -> SampleRandom:
        """The streams after sample j became samples i with index[i] == j (copies, tiles): each copy's key is
        its source's key mixed with the copy's rank among that source's copies, so copies differ."""
        index = np.asarray(index, np.int64)
        rank = np.zeros(len(index), np.uint64)
        seen: dict[int, int] = {}
        for i, j in enumerate(index.tolist()):
            rank[i] = seen.get(j, 0)
            seen[j] = int(rank[i]) + 1
        out = SampleRandom(mix(self.keys[index] + (rank + np.uint64(1)) * _M2))
        out.draws = self.draws
        return out


class Keyed(NamedTuple):
    """A dataset sample with its draw key (fastaug.torch.Collate draws its parameters from the key alone).
    source_size: the original (height, width) when the image was decoded at a reduced scale (fastaug.io)."""

    item: Any
    key: int
    source_size: tuple[int, int] | None = None


class SampleKeys:
    """Keys for a map-style dataset of n samples: the k-th fetch of index i gets sample_keys(seed, k, i), so
    each sample draws new parameters every epoch, and the same ones for the same (seed, epoch, index)
    whatever the batch size, num_workers or worker the fetch lands in.

    The fetch counts live in shared memory (a multiprocessing RawArray): DataLoader workers, forked or
    spawned (the dataset is pickled into them at start), persistent or not, all count on the same array.
    Each index is fetched by one worker per epoch, so no two processes write one count at once (a sampler
    that repeats an index within an epoch may give the repeats one key). set_epoch(e) sets every count to
    e: call it when resuming at epoch e."""

    def __init__(self, n: int, seed: int | None = None) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ArgumentError(f"n: expected a non-negative int (the dataset's length), got {n!r}")
        self.seed = secrets.randbits(64) if seed is None else int(seed) & _MASK
        self.counts = multiprocessing.RawArray("q", max(int(n), 1))
        self.n = int(n)

    def _array(self) -> np.ndarray:
        return np.frombuffer(self.counts, np.int64)

    def key(self, index: int) -> int:
        """The next key of sample `index` (and counts the fetch)."""
        if not 0 <= index < self.n:
            raise ArgumentError(f"index: expected 0 <= index < {self.n}, got {index}")
        counts = self._array()
        epoch = int(counts[index])
        counts[index] = epoch + 1
        return int(sample_keys(self.seed, epoch, [index])[0])

    def set_epoch(self, epoch: int) -> None:
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ArgumentError(f"epoch: expected a non-negative int, got {epoch!r}")
        self._array()[:] = int(epoch)
