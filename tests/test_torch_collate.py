"""fastaug.torch.Collate and KeyedDataset: the DataLoader collate accelerator (ragged batches in one call per
stage, the batch tensor written once, in place), its randomness across workers and epochs, and fork safety.
Every DataLoader has a timeout, so a deadlocked worker fails the test instead of hanging it."""

from __future__ import annotations

import collections
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastaug as fa  # noqa: E402
from fastaug.torch import Collate, KeyedDataset  # noqa: E402
from fastaug.torch import collate as collate_module  # noqa: E402
from fastaug.transforms import (  # noqa: E402
    ColorJitter,
    Compose,
    HorizontalFlip,
    Keyed,
    Normalize,
    RandomResizedCrop,
    Resize,
    SampleRandom,
    sample_keys,
)

TIMEOUT = 60  # seconds a DataLoader waits for a batch before it fails


def _pipeline(seed: int = 0, **normalize: Any) -> Compose:
    return Compose(
        [RandomResizedCrop((24, 24)), HorizontalFlip(), ColorJitter(0.3, 0.3, 0.3), Normalize(**normalize)], seed=seed
    )


def _image(index: int) -> np.ndarray:
    rng = np.random.default_rng(index)
    return rng.integers(0, 256, (int(rng.integers(30, 60)), int(rng.integers(30, 60)), 3), np.uint8)


class Images(torch.utils.data.Dataset):
    """(image, index) of different sizes; `same=True`: one image for every index (identical samples make
    identical augmentations visible)."""

    def __init__(self, n: int = 16, same: bool = False) -> None:
        self.n, self.same = n, same

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return _image(0 if self.same else i), i


class WithThreads:
    """A collate_fn that also reports fastaug's thread count in the process that ran it."""

    def __init__(self, collate: Collate) -> None:
        self.collate = collate

    def __call__(self, batch: list[Any]) -> Any:
        images, labels = self.collate(batch)
        return images, labels, fa.get_num_threads()


def _by_index(loader: Any) -> dict[int, torch.Tensor]:
    out = {}
    for batch in loader:
        images, labels = batch[0], batch[1]
        for image, label in zip(images, labels.tolist(), strict=True):
            out[label] = image.clone()
    return out


def _epochs(loader: Any, epochs: int = 2) -> list[dict[int, torch.Tensor]]:
    return [_by_index(loader) for _ in range(epochs)]


def _same(a: dict[int, torch.Tensor], b: dict[int, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def threads() -> Any:
    """Restores fastaug's thread count after the test."""
    before = fa.get_num_threads()
    yield
    fa.set_num_threads(before)


# -- the batch --------------------------------------------------------------------------------------------


def test_ragged_batch_of_every_image_kind() -> None:
    pil = pytest.importorskip("PIL.Image")
    images = [_image(i) for i in range(5)]
    samples = [
        (images[0], 0),
        (pil.fromarray(images[1]), 1),
        (torch.from_numpy(images[2]), 2),  # (H, W, C)
        (torch.from_numpy(np.ascontiguousarray(images[3].transpose(2, 0, 1))), 3),  # (C, H, W)
        (images[4], 4),
    ]
    keys = sample_keys(7, 0, np.arange(5))
    batch, labels = Collate(_pipeline())([Keyed(s, int(k)) for s, k in zip(samples, keys, strict=True)])
    assert isinstance(batch, torch.Tensor) and batch.shape == (5, 3, 24, 24) and batch.dtype == torch.float32
    assert torch.equal(labels, torch.arange(5))
    expected = _pipeline()(images, rng=SampleRandom(keys))  # the same draws on plain numpy images
    np.testing.assert_array_equal(batch.numpy(), expected)


def test_unkeyed_samples_draw_from_the_collate_seed() -> None:
    samples = [(_image(i), i) for i in range(4)]
    first = Collate(_pipeline(), seed=5)(samples)[0]
    assert torch.equal(first, Collate(_pipeline(), seed=5)(samples)[0])
    assert not torch.equal(first, Collate(_pipeline(), seed=6)(samples)[0])
    torch.manual_seed(3)
    drawn = Collate(_pipeline())(samples)[0]  # seed None: drawn from torch's generator
    torch.manual_seed(3)
    assert torch.equal(drawn, Collate(_pipeline())(samples)[0])


def test_chw_tensors_are_read_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    chw = [torch.from_numpy(np.ascontiguousarray(_image(i).transpose(2, 0, 1))) for i in range(3)]
    seen: list[Any] = []
    call = Compose.__call__

    def spy(self: Compose, images: Any, **kw: Any) -> Any:
        seen.extend(images)
        return call(self, images, **kw)

    monkeypatch.setattr(Compose, "__call__", spy)
    Collate(_pipeline())([(t, 0) for t in chw])
    assert len(seen) == 3
    for array, tensor in zip(seen, chw, strict=True):
        assert array.shape == (tensor.shape[1], tensor.shape[2], 3)
        assert array.ctypes.data == tensor.data_ptr()  # a strided view of the tensor's own memory


def test_batch_is_allocated_once_and_written_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    collate = Collate(_pipeline())
    allocated: list[torch.Tensor] = []
    allocate = Collate._allocate

    def spy(self: Collate, shape: tuple[int, ...], dtype: Any) -> torch.Tensor:
        allocated.append(allocate(self, shape, dtype))
        return allocated[-1]

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the batch must be written in place, not gathered")

    monkeypatch.setattr(Collate, "_allocate", spy)
    for name in ("stack", "cat"):
        monkeypatch.setattr(torch, name, forbidden)
    for name in ("contiguous", "clone", "copy_"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    batch, _ = collate([(_image(i), i) for i in range(6)])
    assert len(allocated) == 1
    assert batch is allocated[0] and batch.data_ptr() == allocated[0].data_ptr()
    assert batch.is_contiguous() and batch.shape == (6, 3, 24, 24)


def test_a_worker_allocates_the_batch_in_shared_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    info = collections.namedtuple("info", "id num_workers seed")(0, 1, 1234)
    monkeypatch.setattr(collate_module, "get_worker_info", lambda: info)
    monkeypatch.setattr(fa._backend, "set_num_threads", lambda n: None)
    batch, _ = Collate(_pipeline())([(_image(i), i) for i in range(3)])
    assert batch.is_shared()  # the queue to the main process then moves a file descriptor, not the pixels


def test_pin_memory_on_a_cpu_build_of_torch() -> None:
    batch, _ = Collate(_pipeline(), pin_memory=True)([(_image(i), i) for i in range(2)])
    if not torch.cuda.is_available():  # no pinned memory allocator without an accelerator
        assert not batch.is_pinned()
        with pytest.raises(RuntimeError):
            torch.empty(1, pin_memory=True)
    else:
        assert batch.is_pinned()


def test_pin_memory_allocates_pinned_in_the_main_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """As with a CUDA build (simulated): the main process pins at allocation (DataLoader's pin_memory then
    returns the tensor as it is), a worker never touches CUDA and allocates shared memory instead."""
    asked: list[bool] = []
    empty = torch.empty

    def spy(*shape: Any, pin_memory: bool = False, **kw: Any) -> Any:
        asked.append(pin_memory)
        return empty(*shape, **kw)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch, "empty", spy)
    collate = Collate(_pipeline(), pin_memory=True)
    collate([(_image(i), i) for i in range(2)])
    assert asked == [True]
    info = collections.namedtuple("info", "id num_workers seed")(0, 1, 1)
    monkeypatch.setattr(collate_module, "get_worker_info", lambda: info)
    monkeypatch.setattr(fa._backend, "set_num_threads", lambda n: None)
    asked.clear()
    assert collate([(_image(i), i) for i in range(2)])[0].is_shared()
    assert True not in asked


@pytest.mark.parametrize(("dtype", "layout"), [("float16", "NCHW"), ("bfloat16", "NCHW"), ("float32", "NHWC")], ids=str)
def test_normalize_dtype_and_layout(dtype: str, layout: str) -> None:
    samples = [(_image(i), i) for i in range(3)]
    batch, _ = Collate(_pipeline(dtype=dtype, layout=layout), seed=1)(samples)
    reference, _ = Collate(_pipeline(), seed=1)(samples)
    assert batch.dtype == getattr(torch, dtype)
    if layout == "NHWC":
        assert batch.shape == (3, 24, 24, 3)
        batch = batch.permute(0, 3, 1, 2)
    torch.testing.assert_close(batch.float(), reference, atol=0.05, rtol=0.01)


def test_a_pipeline_without_normalize_gives_unit_floats() -> None:
    images = [_image(i)[:20, :20] for i in range(3)]
    collate = Collate(Compose([Resize((20, 20))]))
    assert isinstance(collate.pipeline.transforms[-1], Normalize)
    batch = collate(images)  # bare images in, the batch tensor alone out
    assert batch.dtype == torch.float32 and batch.shape == (3, 3, 20, 20)
    expected = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(batch, expected, atol=1e-6, rtol=0)
    assert float(batch.min()) >= 0.0 and float(batch.max()) <= 1.0


def test_dict_samples_carry_targets_through_the_pipeline() -> None:
    samples = []
    for i in range(3):
        img = _image(i)
        h, w = img.shape[:2]
        samples.append(
            {
                "image": img,
                "mask": torch.from_numpy((np.arange(h * w).reshape(h, w) % 7).astype(np.uint8)),
                "boxes": np.array([[0.0, 0.0, w, h, 5.0]]),
                "keypoints": np.array([[w / 2, h / 2]]),
                "label": f"s{i}",
                "weight": float(i),
            }
        )
    pipe = Compose([Resize((16, 16)), Normalize()])
    out = Collate(pipe)(samples)
    assert list(out) == ["image", "mask", "boxes", "keypoints", "label", "weight"]
    assert out["image"].shape == (3, 3, 16, 16) and out["mask"].shape == (3, 16, 16)
    assert out["mask"].dtype == torch.uint8
    assert out["label"] == ["s0", "s1", "s2"] and torch.equal(out["weight"], torch.tensor([0.0, 1.0, 2.0]).double())
    for boxes, keypoints in zip(out["boxes"], out["keypoints"], strict=True):
        torch.testing.assert_close(boxes, torch.tensor([[0.0, 0.0, 16.0, 16.0, 5.0]]))
        torch.testing.assert_close(keypoints, torch.tensor([[8.0, 8.0]]), atol=0.5, rtol=0)


def test_sample_structure_is_kept() -> None:
    pair = collections.namedtuple("pair", "image label")
    out = Collate(_pipeline())([pair(_image(i), i) for i in range(2)])
    assert type(out) is pair and out.image.shape == (2, 3, 24, 24) and torch.equal(out.label, torch.tensor([0, 1]))
    out = Collate(_pipeline())([[_image(i), i, np.ones(2)] for i in range(2)])
    assert isinstance(out, list) and out[2].shape == (2, 2)


def test_copies_repeat_each_sample_fields() -> None:
    pipe = Compose([RandomResizedCrop((16, 16)), Normalize()], copies=2)
    batch, labels = Collate(pipe)([(_image(i), i) for i in range(3)])
    assert batch.shape == (6, 3, 16, 16) and labels.tolist() == [0, 0, 1, 1, 2, 2]


def test_keyed_source_sizes_are_reduced_decodes() -> None:
    full = [_image(i) for i in range(3)]
    halves = [np.ascontiguousarray(x[::2, ::2]) for x in full]
    keys = sample_keys(1, 0, np.arange(3))
    sizes = [(x.shape[0], x.shape[1]) for x in full]
    batch, _ = Collate(_pipeline())([Keyed((h, 0), int(k), s) for h, k, s in zip(halves, keys, sizes, strict=True)])
    expected = _pipeline()(halves, rng=SampleRandom(keys), source_sizes=np.array(sizes))
    np.testing.assert_array_equal(batch.numpy(), expected)


def test_keyed_dataset_keys_by_seed_epoch_and_index() -> None:
    data = KeyedDataset(Images(4), seed=9)
    first = [data[i] for i in range(4)]
    assert all(isinstance(s, Keyed) for s in first) and first[2].item[1] == 2
    assert [s.key for s in first] == sample_keys(9, 0, np.arange(4)).tolist()
    assert data[1].key == int(sample_keys(9, 1, [1])[0])  # the second fetch: epoch 1
    data.set_epoch(5)
    assert data[-1].key == int(sample_keys(9, 5, [3])[0])
    rekeyed = KeyedDataset([Keyed("item", 1, (100, 80))], seed=2)[0]
    assert rekeyed.item == "item" and rekeyed.source_size == (100, 80) and rekeyed.key != 1
    torch.manual_seed(4)
    seed = KeyedDataset(Images(2)).seed
    torch.manual_seed(4)
    assert KeyedDataset(Images(2)).seed == seed


# -- errors ---------------------------------------------------------------------------------------------


def test_bad_batches_are_clear_errors() -> None:
    pil = pytest.importorskip("PIL.Image")
    collate = Collate(_pipeline())
    with pytest.raises(fa.ArgumentError, match=r"Collate: batch: got an empty list"):
        collate([])
    with pytest.raises(fa.ArgumentTypeError, match=r"Collate: batch\[0\]: expected an \(image, label"):
        collate([3, 4])
    with pytest.raises(fa.ArgumentTypeError, match=r"Collate: batch\[1\] image: expected an image .*got str"):
        collate([(_image(0), 0), ("path.jpg", 1)])
    with pytest.raises(fa.ArgumentError, match=r"batch\[1\]: image has 1 channel, batch\[0\] has 3"):
        collate([(_image(0), 0), (_image(1)[..., 0], 1)])
    with pytest.raises(fa.ArgumentTypeError, match=r"batch\[0\] image: expected dtype uint8 or float32, got int16"):
        collate([(_image(0).astype(np.int16), 0)])
    with pytest.raises(fa.ArgumentTypeError, match=r"expected a uint8 or float32 tensor, got torch.int32"):
        collate([(torch.zeros((8, 8, 3), dtype=torch.int32), 0)])
    with pytest.raises(fa.ArgumentTypeError, match=r"batch\[1\]: image has dtype float32, batch\[0\] has uint8"):
        collate([(_image(0), 0), (_image(1).astype(np.float32), 1)])
    with pytest.raises(fa.ArgumentTypeError, match=r"PIL image of mode L, RGB, RGBA, got mode 'P'"):
        collate([(pil.fromarray(_image(0)).convert("P"), 0)])
    with pytest.raises(fa.ArgumentError, match=r"shape \(8, 8, 2\)"):
        collate([(np.zeros((8, 8, 2), np.uint8), 0)])
    with pytest.raises(fa.ArgumentError, match=r"batch\[1\]: expected every sample Keyed or none"):
        collate([Keyed((_image(0), 0), 1), (_image(1), 1)])
    with pytest.raises(fa.ArgumentError, match=r"batch\[1\]: expected a dict with an 'image'"):
        collate([{"image": _image(0)}, {"img": _image(1)}])
    with pytest.raises(fa.ArgumentError, match=r"batch\[1\]: expected an \(image, ...\) tuple of 2"):
        collate([(_image(0), 0), (_image(1),)])


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(fa.ArgumentTypeError, match=r"Collate: pipeline: expected a fastaug\.Compose"):
        Collate([Resize((8, 8))])  # type: ignore[arg-type]
    with pytest.raises(fa.ArgumentError, match="Collate: pipeline: expected a pipeline that starts with geometric"):
        Collate(Compose([ColorJitter(0.1), Normalize()]))
    with pytest.raises(fa.ArgumentError, match="threads_per_worker: expected a positive int"):
        Collate(_pipeline(), threads_per_worker=0)
    with pytest.raises(fa.ArgumentTypeError, match="KeyedDataset: dataset: expected a map-style dataset"):
        KeyedDataset(iter([1, 2]))


# -- DataLoader: randomness, workers, start methods ----------------------------------------------------------


def _loader(dataset: Any, collate: Any, workers: int, batch_size: int = 4, **kw: Any) -> Any:
    if workers:
        kw.setdefault("timeout", TIMEOUT)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=collate, num_workers=workers, **kw)


def test_keyed_draws_do_not_depend_on_workers_or_batching() -> None:
    def run(workers: int, batch_size: int, **kw: Any) -> list[dict[int, torch.Tensor]]:
        return _epochs(_loader(KeyedDataset(Images(12), seed=11), Collate(_pipeline()), workers, batch_size, **kw))

    single = run(0, 4)
    assert not _same(single[0], single[1])  # a new epoch, new draws
    shuffled = torch.Generator().manual_seed(1)
    for other in (run(2, 3), run(2, 5, persistent_workers=True), run(0, 12, shuffle=True, generator=shuffled)):
        assert _same(single[0], other[0]) and _same(single[1], other[1])


def test_unkeyed_workers_and_epochs_draw_differently() -> None:
    def run(persistent: bool) -> list[list[torch.Tensor]]:
        torch.manual_seed(0)
        loader = _loader(Images(8, same=True), Collate(_pipeline()), 2, persistent_workers=persistent)
        return [[b[0].clone() for b in loader] for _ in range(2)]

    for persistent in (False, True):
        epochs = run(persistent)
        batches = [b for epoch in epochs for b in epoch]  # worker 0, worker 1, worker 0, worker 1
        samples = [s for b in batches for s in b]
        for i in range(len(samples)):
            for j in range(i):  # every sample is the same image: no two draws alike
                assert not torch.equal(samples[i], samples[j]), (persistent, i, j)
        again = run(persistent)  # torch.manual_seed reproduces the run for a fixed num_workers
        assert all(torch.equal(a, b) for e, f in zip(epochs, again, strict=True) for a, b in zip(e, f, strict=True))


def test_forked_workers_after_multithreaded_native_kernels(threads: Any) -> None:
    fa.set_num_threads(2)  # the parent runs an OpenMP parallel region: its thread pool does not survive fork()
    fa.warp_affine(np.zeros((4, 128, 128, 3), np.uint8), np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))
    collate = WithThreads(Collate(_pipeline()))
    reference = _by_index(_loader(KeyedDataset(Images(8), seed=3), collate, 0))
    loader = _loader(KeyedDataset(Images(8), seed=3), collate, 2, multiprocessing_context="fork")
    got = {}
    for images, labels, n in loader:  # a deadlocked worker fails here after TIMEOUT seconds
        assert n == 1  # one fastaug thread per worker: no deadlock, no oversubscription
        got.update({int(i): x.clone() for i, x in zip(labels, images, strict=True)})
    assert _same(reference, got)
    assert fa.get_num_threads() == 2  # the main process keeps its own setting
    many = Collate(_pipeline(), threads_per_worker=2)  # unsafe after fork: 1, and the worker warns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the forked worker inherits the filter
        loader = _loader(KeyedDataset(Images(4), seed=3), WithThreads(many), 1, multiprocessing_context="fork")
        assert [n for *_, n in loader] == [1]
    many._home = -1  # as a forked worker sees it
    with pytest.warns(RuntimeWarning, match="threads_per_worker=2 in a forked DataLoader worker: using 1"):
        many._set_worker_threads()
    assert fa.get_num_threads() == 1


def test_collate_pickles_without_its_process_state() -> None:
    collate = Collate(_pipeline(), seed=4, threads_per_worker=3)
    samples = [Keyed((_image(i), i), int(k)) for i, k in enumerate(sample_keys(2, 0, np.arange(3)))]
    first = collate(samples)[0]
    copy = pickle.loads(pickle.dumps(collate))
    assert copy._rng is None and copy.seed == 4 and copy.threads_per_worker == 3
    assert torch.equal(copy(samples)[0], first)
    assert "threads_per_worker=3" in repr(copy)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_start_methods_pickle_collate_dataset_and_pipeline(method: str) -> None:
    reference = _epochs(_loader(KeyedDataset(Images(8), seed=5), Collate(_pipeline()), 0))
    threads = 2 if method == "forkserver" else 1  # a fresh interpreter may run several threads per worker
    collate = WithThreads(Collate(_pipeline(), threads_per_worker=threads))
    loader = _loader(
        KeyedDataset(Images(8), seed=5), collate, 2, multiprocessing_context=method, persistent_workers=True
    )
    for epoch in reference:
        got = {}
        for images, labels, n in loader:
            assert n == threads
            got.update({int(i): x.clone() for i, x in zip(labels, images, strict=True)})
        assert _same(epoch, got)


def test_shared_batch_buffers_are_prefaulted_or_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """empty_shared maps a worker's batch pages with one madvise(MADV_POPULATE_WRITE) where the kernel has it;
    where the call fails it stops trying and the buffer is the same shared tensor, faulted in on first write."""
    from fastaug.torch import _samples

    calls: list[tuple[int, int, int]] = []
    for answer in (0, -1):
        monkeypatch.setattr(_samples, "_madvise", lambda a, n, advice, _r=answer: calls.append((a, n, advice)) or _r)
        t = _samples.empty_shared((3, 5, 7), torch.float32)
        assert t.is_shared() and t.shape == (3, 5, 7) and t.dtype == torch.float32
        t.fill_(2.0)
        assert float(t.sum()) == 2.0 * 105
        start, length, advice = calls[-1]
        assert advice == 23 and start <= t.data_ptr() and t.data_ptr() + 420 <= start + length
        assert _samples._madvise is not False if answer == 0 else _samples._madvise is False
    n = len(calls)
    _samples.empty_shared((4,), torch.uint8)  # disabled after the failure: no further call
    assert len(calls) == n
    monkeypatch.setattr(_samples, "_madvise", None)  # the real libc call on this machine: must not raise
    real = _samples.empty_shared((64, 3, 32, 32), torch.float32)
    real.copy_(torch.ones(64, 3, 32, 32))
    assert torch.equal(real, torch.ones(64, 3, 32, 32))
