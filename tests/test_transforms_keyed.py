"""Per-sample keyed draws (SampleRandom) and reduced-decode sources (source_sizes) in Compose."""

from __future__ import annotations

import multiprocessing
from typing import Any

import numpy as np
import pytest

import fastaug as fa
from fastaug.transforms import (
    ColorJitter,
    Compose,
    HorizontalFlip,
    Normalize,
    RandomAffine,
    RandomResizedCrop,
    SampleKeys,
    SampleRandom,
    Tiles,
    sample_keys,
)


def _ragged(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (int(rng.integers(60, 120)), int(rng.integers(60, 120)), 3), np.uint8) for _ in range(n)
    ]


def test_keys_depend_on_seed_epoch_and_index() -> None:
    keys = sample_keys(1, 0, np.arange(100))
    assert len(set(keys.tolist())) == 100
    assert not np.array_equal(keys, sample_keys(2, 0, np.arange(100)))
    assert not np.array_equal(keys, sample_keys(1, 1, np.arange(100)))
    assert np.array_equal(keys[[7, 3]], sample_keys(1, 0, [7, 3]))
    assert np.array_equal(sample_keys(2**64 + 1, 0, [0]), sample_keys(1, 0, [0]))  # seeds are taken mod 2^64
    big = [2**63 + 5, 7]  # a list straddling 2^63 (numpy alone would make it float64)
    assert SampleRandom(big).keys.tolist() == big


def test_draws_are_per_sample_and_look_uniform() -> None:
    keys = sample_keys(3, 0, np.arange(20000))
    rng = SampleRandom(keys)
    u = rng.random(20000)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    counts = np.bincount(rng.integers(0, 4, 20000), minlength=4)
    assert counts.min() > 4700
    second = SampleRandom(keys[[5, 9]])
    assert np.array_equal(second.random(2), u[[5, 9]])  # one row per sample, whatever the batch
    rows = rng.permuted(np.tile(np.arange(4), (20000, 1)), axis=1)
    assert (np.sort(rows, 1) == np.arange(4)).all() and len({tuple(r) for r in rows[:200].tolist()}) > 20


def test_bad_sizes_and_keys_are_errors() -> None:
    rng = SampleRandom(sample_keys(0, 0, np.arange(4)))
    with pytest.raises(fa.ArgumentError, match="one row per sample"):
        rng.random(3)
    with pytest.raises(fa.ArgumentError, match="index"):
        sample_keys(0, 0, [-1])
    with pytest.raises(fa.ArgumentError, match="index"):
        sample_keys(0, 0, [0.5])


def test_compose_keyed_sample_is_independent_of_its_batch() -> None:
    images = _ragged(8)
    pipe = Compose(
        [
            RandomResizedCrop(32),
            HorizontalFlip(),
            RandomAffine(degrees=20),
            ColorJitter(0.4, 0.4, 0.4, 0.1),
            Normalize(),
        ]
    )
    keys = sample_keys(11, 2, np.arange(8))
    whole = pipe(images, rng=SampleRandom(keys))
    part = pipe(images[5:1:-1], rng=SampleRandom(keys[5:1:-1]))
    np.testing.assert_array_equal(whole[5:1:-1], part)
    other_epoch = pipe(images, rng=SampleRandom(sample_keys(11, 3, np.arange(8))))
    assert not np.array_equal(whole, other_epoch)


def test_compose_keyed_copies_and_tiles_differ_per_copy() -> None:
    images = _ragged(4)
    keys = sample_keys(0, 0, np.arange(4))
    pipe = Compose([RandomResizedCrop(24), HorizontalFlip()], copies=3)
    out = pipe(images, rng=SampleRandom(keys))
    np.testing.assert_array_equal(out[6:9], pipe(images[2:3], rng=SampleRandom(keys[2:3])))
    assert not np.array_equal(out[6], out[7])
    dense = np.stack([x[:60, :60] for x in images])
    tiled = Compose([Tiles(30), RandomAffine(degrees=30)])
    out = tiled(dense, rng=SampleRandom(keys))
    np.testing.assert_array_equal(out[4:8], tiled(dense[1:2], rng=SampleRandom(keys[1:2])))


def test_compose_rng_argument_errors() -> None:
    pipe = Compose([HorizontalFlip()])
    with pytest.raises(fa.ArgumentError, match="rng: expected a SampleRandom with 2 keys"):
        pipe(np.zeros((2, 8, 8, 3), np.uint8), rng=SampleRandom([1, 2, 3]))
    with pytest.raises(fa.ArgumentTypeError, match="rng"):
        pipe(np.zeros((2, 8, 8, 3), np.uint8), rng=42)


def test_source_sizes_draws_for_the_originals() -> None:
    """A half-scale decode with source_sizes gives nearly the full decode's result (same crop boxes) on
    photographs, and the same matrices as geometry() reports."""
    skimage = pytest.importorskip("skimage.data")
    full = [skimage.astronaut(), skimage.chelsea(), skimage.coffee(), skimage.rocket()]
    half = [fa.resize(x, (x.shape[0] // 2, x.shape[1] // 2), "area") for x in full]
    sizes = np.array([x.shape[:2] for x in full])
    keys = sample_keys(5, 0, np.arange(4))
    pipe = Compose([RandomResizedCrop(64, scale=(0.3, 1.0))], antialias=False)
    a = pipe(full, rng=SampleRandom(keys), return_params=True)
    b = pipe(half, rng=SampleRandom(keys), source_sizes=sizes, return_params=True)
    for key in ("top", "left", "height", "width"):  # the same crop box in the originals' pixels
        np.testing.assert_array_equal(a[1][0][key], b[1][0][key])
    mats, size = pipe.geometry(sizes, SampleRandom(keys))
    assert size == (64, 64) and (fa.transforms.reduction_factors(mats, size) >= 1).all()
    smooth = Compose([RandomResizedCrop(64, scale=(0.9, 1.0))])
    d = np.abs(
        smooth(full, rng=SampleRandom(keys)).astype(int)
        - smooth(half, rng=SampleRandom(keys), source_sizes=sizes).astype(int)
    )
    assert d.mean() < 2.0
    with pytest.raises(fa.ArgumentError, match="source_sizes"):
        pipe(half, source_sizes=sizes // 4)
    with pytest.raises(fa.ArgumentError, match="source_sizes"):
        Compose([Normalize()])(np.zeros((1, 8, 8, 3), np.uint8), source_sizes=np.array([[16, 16]]))


def _fetch(keys: SampleKeys, queue: Any) -> None:
    queue.put(keys.key(2))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_sample_keys_count_fetches_across_processes(method: str) -> None:
    keys = SampleKeys(10, seed=3)
    first = keys.key(2)
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    proc = ctx.Process(target=_fetch, args=(keys, queue))
    proc.start()
    second = queue.get(timeout=60)
    proc.join(timeout=60)
    assert first == int(sample_keys(3, 0, [2])[0]) and second == int(sample_keys(3, 1, [2])[0])
    assert keys.key(2) == int(sample_keys(3, 2, [2])[0])  # the child's fetch counted in the parent too
    keys.set_epoch(7)
    assert keys.key(5) == int(sample_keys(3, 7, [5])[0])
    with pytest.raises(fa.ArgumentError, match="index"):
        keys.key(10)
    with pytest.raises(fa.ArgumentError, match="epoch"):
        keys.set_epoch(-1)
