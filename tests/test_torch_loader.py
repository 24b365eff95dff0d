"""fastaug.torch.Pack and DeviceLoader: the packed batch round trip, the CPU path against the pipeline run
by hand (bit for bit), epochs, workers, early exit, bad input, and the CUDA path's stream ordering with
torch.cuda replaced by recorders (no GPU here; tests/gpu_loader_check.py runs it on a GPU)."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import time
from collections import namedtuple
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, Dataset, Sampler  # noqa: E402

import fastaug  # noqa: E402
from fastaug.torch import Collate, DeviceLoader, KeyedDataset, Pack, PackedBatch  # noqa: E402
from fastaug.transforms import (  # noqa: E402
    ColorJitter,
    Compose,
    HorizontalFlip,
    Keyed,
    Normalize,
    RandomResizedCrop,
    SampleRandom,
    Tiles,
    sample_keys,
)

Sample = namedtuple("Sample", ["label", "image"])


def _images(n: int, seed: int = 0, channels: int = 3, same: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = np.full((n, 2), 40) if same else rng.integers(17, 70, (n, 2))
    return [rng.integers(0, 256, (int(h), int(w), channels), dtype=np.uint8) for h, w in sizes]


def _pipeline(seed: int = 1, normalize: bool = True, copies: int = 1) -> Compose:
    steps: list[Any] = [RandomResizedCrop((24, 20)), HorizontalFlip(), ColorJitter(0.3, 0.3, 0.3, 0.05)]
    return Compose(steps + ([Normalize()] if normalize else []), seed=seed, copies=copies)


class Images(Dataset):
    """(image, label) samples; keyed=True wraps them in Keyed with sample_keys(7, epoch, index)."""

    def __init__(self, images: list[Any], keyed: bool = False, reduced: bool = False) -> None:
        self.images = images
        self.keyed = keyed
        self.reduced = reduced
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> Any:
        sample = (self.images[i], i)
        if not self.keyed:
            return sample
        key = int(sample_keys(7, self.epoch, [i])[0])
        h, w = self.images[i].shape[:2]
        return Keyed(sample, key, (2 * h - 1, 2 * w) if self.reduced else None)


def _by_hand(pipeline: Compose, images: list[np.ndarray], keys: np.ndarray | None = None, sizes: Any = None) -> Any:
    kw: dict[str, Any] = {}
    if keys is not None:
        kw["rng"] = SampleRandom(keys)
    if sizes is not None:
        kw["source_sizes"] = np.array(sizes, np.int64)
    return torch.from_numpy(np.ascontiguousarray(pipeline(images, **kw)))


# --- Pack ---------------------------------------------------------------------------------------------------


def test_pack_round_trip_mixed_sizes_and_kinds() -> None:
    from PIL import Image

    hwc = _images(3, seed=2)
    grey = np.random.default_rng(3).integers(0, 256, (9, 31), dtype=np.uint8)
    chw = torch.from_numpy(_images(1, seed=4)[0]).permute(2, 0, 1).contiguous()
    torch_hwc = torch.from_numpy(_images(1, seed=5)[0][:, 5:])  # a strided view
    pil = Image.fromarray(_images(1, seed=6)[0])
    expected = [*hwc, np.asarray(pil), chw.permute(1, 2, 0).numpy(), torch_hwc.numpy()]
    samples = [(img, i, float(i) / 2) for i, img in enumerate([*hwc, pil, chw, torch_hwc])]
    packed = Pack()(samples)
    assert isinstance(packed, PackedBatch) and len(packed) == 6 and packed.channels == 3
    assert packed.data.dtype == torch.uint8 and packed.data.ndim == 1 and packed.data.is_contiguous()
    assert packed.data.numel() == sum(e.size for e in expected)
    assert packed.index.dtype == torch.int64 and packed.index.shape == (6, 3)
    offsets = np.cumsum([0] + [e.size for e in expected[:-1]])
    np.testing.assert_array_equal(
        packed.index.numpy(), [(o, *e.shape[:2]) for o, e in zip(offsets, expected, strict=True)]
    )
    views = packed.images()
    assert isinstance(views, list)
    for view, e in zip(views, expected, strict=True):
        assert view.data_ptr() >= packed.data.data_ptr()  # views into the buffer, no copies
        np.testing.assert_array_equal(view.numpy(), e)
    assert torch.equal(packed.fields[0], torch.arange(6))
    assert packed.fields[1].dtype == torch.float64 and packed.keys is None and packed.source_sizes is None
    labels = packed.structure("images")
    assert labels[0] == "images" and torch.equal(labels[1], torch.arange(6))

    (packed_grey,) = [Pack()([grey, grey[:5]])]
    assert packed_grey.kind == "image" and packed_grey.channels == 1
    np.testing.assert_array_equal(packed_grey.images()[1].numpy()[..., 0], grey[:5])
    pil_grey = Image.fromarray(grey)
    np.testing.assert_array_equal(Pack()([pil_grey]).images()[0].numpy()[..., 0], grey)


def test_pack_structures_keys_and_layouts() -> None:
    images = _images(3, seed=8)
    d = Pack()([{"label": i, "image": img, "name": f"s{i}"} for i, img in enumerate(images)])
    assert d.kind == "dict" and d.structure("x") == {
        "image": "x",
        "label": d.fields["label"],
        "name": ["s0", "s1", "s2"],
    }
    nt = Pack(image=1)([Sample(i, img) for i, img in enumerate(images)])
    rebuilt = nt.structure("x")
    assert type(rebuilt) is Sample and rebuilt.image == "x" and torch.equal(rebuilt.label, torch.arange(3))
    lst = Pack(image=-1)([[i, img] for i, img in enumerate(images)])
    assert lst.structure("x")[1] == "x" and isinstance(lst.structure("x"), list)
    keyed = Pack()([Keyed((img, i), 2**64 - 1 - i, (99, 98) if i else None) for i, img in enumerate(images)])
    assert keyed.keys is not None and keyed.keys.dtype == np.uint64
    assert keyed.keys.tolist() == [2**64 - 1, 2**64 - 2, 2**64 - 3]
    assert keyed.source_sizes is not None
    np.testing.assert_array_equal(keyed.source_sizes, [images[0].shape[:2], (99, 98), (99, 98)])
    # a (3, 4, 4) tensor is ambiguous: "auto" reads it as Collate does, (H, W, C); layout= decides
    t = torch.arange(48, dtype=torch.uint8).reshape(3, 4, 4)
    assert Pack()([t]).index[0].tolist() == [0, 3, 4] and Pack()([t]).channels == 4
    assert Pack(layout="CHW")([t]).index[0].tolist() == [0, 4, 4] and Pack(layout="CHW")([t]).channels == 3
    assert Pack()([t[:, :, :2]]).channels == 3  # (3, 4, 2): (C, H, W)
    np.testing.assert_array_equal(Pack(layout="CHW")([t.numpy()]).images()[0].numpy(), t.permute(1, 2, 0).numpy())


def test_pack_pickles_and_pins() -> None:
    pack = Pack(image="img", layout="HWC")
    clone = pickle.loads(pickle.dumps(pack))
    assert isinstance(clone, Pack) and (clone.image, clone.layout) == ("img", "HWC")
    images = _images(2, seed=9)
    a, b = pack([{"img": x, "y": 1} for x in images]), clone([{"img": x, "y": 1} for x in images])
    assert torch.equal(a.data, b.data) and torch.equal(a.index, b.index)
    batch = pickle.loads(pickle.dumps(a))  # what a spawned worker sends back
    assert torch.equal(batch.data, a.data) and batch.structure("x")["y"].tolist() == [1, 1]


def test_pin_memory_pins_buffer_and_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the DataLoader's pin_memory thread calls (torch's pin_memory helper -> PackedBatch.pin_memory);
    pinning itself needs CUDA, so Tensor.pin_memory is a recorder here."""
    from torch.utils.data._utils.pin_memory import pin_memory

    pinned: list[int] = []

    def fake_pin(self: Any, *args: Any) -> Any:
        pinned.append(self.data_ptr())
        return self.clone()

    packed = Pack()([{"image": x, "label": i, "name": "a"} for i, x in enumerate(_images(3, seed=10))])
    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    batch = pin_memory(packed)
    assert isinstance(batch, PackedBatch)
    assert pinned == [packed.data.data_ptr(), packed.fields["label"].data_ptr()]  # not the host-side index
    assert torch.equal(batch.data, packed.data) and batch.data.data_ptr() != packed.data.data_ptr()
    assert batch.index is packed.index and batch.fields["name"] == ["a"] * 3 and batch.kind == "dict"


def test_pack_never_touches_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pack runs in forked workers: it must not initialise CUDA (nor ask torch.cuda anything)."""
    from PIL import Image

    def refuse(*args: Any, **kw: Any) -> Any:
        raise AssertionError("Pack touched torch.cuda")

    for name in ("_lazy_init", "init", "is_available", "device_count", "current_device", "current_stream"):
        monkeypatch.setattr(torch.cuda, name, refuse)
    images = _images(3, seed=17)
    samples = [images[0], Image.fromarray(images[1]), torch.from_numpy(images[2]).permute(2, 0, 1)]
    packed = Pack()([Keyed((x, i), i) for i, x in enumerate(samples)])
    assert len(packed) == 3 and packed.data.device.type == "cpu"


@pytest.mark.parametrize(
    ("samples", "error", "words"),
    [
        ([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 4), np.uint8)], fastaug.ArgumentError, "samples[1]: 4"),
        ([np.zeros((4, 4, 3), np.float32)], fastaug.ArgumentTypeError, "expected uint8 images, got float32"),
        ([np.zeros((2, 4, 4, 3), np.uint8)], fastaug.ArgumentError, "(H, W, C) or (H, W) image, got shape"),
        (["not an image"], fastaug.ArgumentTypeError, "samples[0]: expected an image"),
        ([Keyed(np.zeros((4, 4, 3), np.uint8), 1), np.zeros((4, 4, 3), np.uint8)], fastaug.ArgumentError, "a mix"),
        ([(np.zeros((4, 4, 3), np.uint8), 1), np.zeros((4, 4, 3), np.uint8)], fastaug.ArgumentError, "samples[1]"),
        ([{"x": np.zeros((4, 4, 3), np.uint8)}], fastaug.ArgumentError, "under key 'image'"),
        ([], fastaug.ArgumentError, "non-empty list"),
        ([{"image": np.zeros((4, 4, 3), np.uint8), "boxes": [[0, 0, 2, 2]]}], fastaug.ArgumentError, "'boxes'"),
    ],
)
def test_pack_bad_input(samples: list[Any], error: type, words: str) -> None:
    with pytest.raises(error, match=None) as info:
        Pack()(samples)
    assert words in str(info.value) and "Pack" in str(info.value)


def test_pack_bad_arguments() -> None:
    from PIL import Image

    with pytest.raises(fastaug.ArgumentError, match="layout: expected one of 'auto', 'HWC', 'CHW', got 'NHWC'"):
        Pack(layout="NHWC")
    with pytest.raises(fastaug.ArgumentTypeError, match="image: expected a position"):
        Pack(image=1.5)
    with pytest.raises(fastaug.ArgumentTypeError, match="mode 'F'"):
        Pack()([Image.fromarray(np.zeros((4, 4), np.float32))])


# --- DeviceLoader(device="cpu"): the pipeline in the main process, bit for bit the call by hand ----------------


@pytest.mark.parametrize("num_workers", [0, 2])
def test_cpu_equals_pipeline_by_hand(num_workers: int) -> None:
    images = _images(11)
    loader = DataLoader(Images(images), batch_size=4, collate_fn=Pack(), num_workers=num_workers)
    device_loader = DeviceLoader(loader, _pipeline(), device="cpu")
    assert len(device_loader) == 3
    reference = _pipeline()
    batches = list(device_loader)
    assert len(batches) == 3
    for k, (x, y) in enumerate(batches):
        part = images[4 * k : 4 * k + 4]
        assert x.dtype == torch.float32 and x.shape == (len(part), 3, 24, 20) and x.device.type == "cpu"
        assert torch.equal(x, _by_hand(reference, part))
        assert torch.equal(y, torch.arange(4 * k, 4 * k + len(part)))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_cpu_keyed_draws_from_the_keys(num_workers: int) -> None:
    images = _images(10, seed=11)
    dataset = Images(images, keyed=True, reduced=True)
    loader = DataLoader(dataset, batch_size=3, collate_fn=Pack(), num_workers=num_workers, shuffle=True)
    pipeline = _pipeline()
    for epoch in (0, 1):
        DeviceLoader(loader, pipeline, "cpu").set_epoch(epoch)
        seen = []
        for x, y in DeviceLoader(loader, pipeline, "cpu"):
            index = y.tolist()
            keys = sample_keys(7, epoch, index)
            sizes = [(2 * images[i].shape[0] - 1, 2 * images[i].shape[1]) for i in index]
            # a fresh pipeline: keyed draws do not depend on the pipeline's own generator
            assert torch.equal(x, _by_hand(_pipeline(seed=99), [images[i] for i in index], keys, sizes))
            seen += index
        assert sorted(seen) == list(range(10))


def test_cpu_dense_copies_tiles_and_chw_samples() -> None:
    images = _images(6, seed=12, same=True)
    chw = [torch.from_numpy(x).permute(2, 0, 1).contiguous() for x in images]  # torchvision's decode layout
    loader = DataLoader(
        list(zip(chw, range(6), [f"s{i}" for i in range(6)], strict=True)), batch_size=4, collate_fn=Pack()
    )
    # equal sizes: a dense view, any pipeline runs; without Normalize, Normalize(0, 1) is appended (as Collate)
    pixel_first = Compose([HorizontalFlip(), ColorJitter(0.3, 0.3)], seed=3)
    reference = Compose([HorizontalFlip(), ColorJitter(0.3, 0.3), Normalize(mean=0, std=1)], seed=3)
    for k, (x, y, names) in enumerate(DeviceLoader(loader, pixel_first, "cpu", prefetch=0)):
        assert x.dtype == torch.float32 and x.shape == (len(y), 3, 40, 40) and names[0] == f"s{4 * k}"
        expected = reference(np.stack(images[4 * k : 4 * k + 4]))
        assert torch.equal(x, torch.from_numpy(expected))
    # copies=2: two views of each sample, each with its sample's fields
    two = DeviceLoader(loader, _pipeline(copies=2), "cpu")
    reference = _pipeline(copies=2)
    for k, (x, y, names) in enumerate(two):
        part = images[4 * k : 4 * k + 4]
        assert x.shape[0] == 2 * len(part)
        assert torch.equal(y, torch.arange(4 * k, 4 * k + len(part)).repeat_interleave(2))
        assert names == [f"s{i}" for i in range(4 * k, 4 * k + len(part)) for _ in range(2)]
        assert torch.equal(x, _by_hand(reference, part))
    # a first Tiles: every tile carries its image's fields
    ragged = _images(5, seed=19)
    loader = DataLoader(list(zip(ragged, range(5), strict=True)), batch_size=5, collate_fn=Pack())
    (x, y), *_ = DeviceLoader(loader, Compose([Tiles((16, 16)), HorizontalFlip(), Normalize()], seed=4), "cpu")
    counts = [(h // 16) * (w // 16) for h, w, _ in (img.shape for img in ragged)]
    assert y.tolist() == [i for i, c in enumerate(counts) for _ in range(c)]
    assert torch.equal(x, _by_hand(Compose([Tiles((16, 16)), HorizontalFlip(), Normalize()], seed=4), ragged))


def test_cpu_dict_samples_and_pil() -> None:
    from PIL import Image

    images = _images(5, seed=13)
    samples = [{"image": Image.fromarray(x), "label": i, "name": f"n{i}"} for i, x in enumerate(images)]
    loader = DataLoader(samples, batch_size=5, collate_fn=Pack())
    (batch,) = list(DeviceLoader(loader, _pipeline(), "cpu"))
    assert set(batch) == {"image", "label", "name"} and batch["name"] == [f"n{i}" for i in range(5)]
    assert torch.equal(batch["image"], _by_hand(_pipeline(), images))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_cpu_crop_aware_io_dataset(tmp_path: Any, num_workers: int) -> None:
    """fastaug.io's crop-aware JPEG dataset (Keyed samples decoded at a reduced scale, with their source
    sizes) through Pack and DeviceLoader: the same as its samples run through the pipeline by hand."""
    from PIL import Image

    from fastaug.io import ImageFiles

    paths = []
    for i, img in enumerate(_images(7, seed=18)):
        big = np.kron(img, np.ones((5, 5, 1), np.uint8))  # 85..345 px: small crops decode at 1/2 .. 1/8
        paths.append(tmp_path / f"{i}.jpg")
        Image.fromarray(big).save(paths[-1], quality=90)
    pipeline = Compose([RandomResizedCrop((16, 16), scale=(0.05, 0.2)), HorizontalFlip(), Normalize()])
    dataset = ImageFiles(paths, list(range(7)), pipeline, seed=5)
    loader = DataLoader(dataset, batch_size=3, collate_fn=Pack(), num_workers=num_workers)
    twin = ImageFiles(paths, list(range(7)), pipeline, seed=5)  # the same keys, fetched by hand
    reduced = 0
    for k, (x, y) in enumerate(DeviceLoader(loader, pipeline, "cpu")):
        samples = twin.__getitems__(list(range(3 * k, min(3 * k + 3, 7))))
        images = [s.item[0] for s in samples]
        sizes = [s.source_size for s in samples]
        reduced += sum(img.shape[0] < hw[0] for img, hw in zip(images, sizes, strict=True))
        keys = np.array([s.key for s in samples], np.uint64)
        assert torch.equal(x, _by_hand(pipeline, images, keys, sizes))
        assert y.tolist() == [s.item[1] for s in samples]
    assert reduced > 0  # some samples were decoded at a reduced scale


@pytest.mark.parametrize("num_workers", [0, 2])
def test_cpu_equals_collate_on_keyed_samples(num_workers: int) -> None:
    """The same keyed dataset through Collate (pipeline in the workers) and Pack + DeviceLoader (pipeline in
    the main process): the same batches, bit for bit."""
    images = _images(10, seed=20)
    pipeline = _pipeline(normalize=False)  # both append Normalize(0, 1)

    def loader(collate_fn: Any) -> DataLoader:
        dataset = KeyedDataset(Images(images), seed=5)
        return DataLoader(dataset, batch_size=4, collate_fn=collate_fn, num_workers=num_workers)

    collated = list(loader(Collate(pipeline)))
    loaded = list(DeviceLoader(loader(Pack()), pipeline, "cpu"))
    assert len(collated) == len(loaded) == 3
    for (a, la), (b, lb) in zip(collated, loaded, strict=True):
        assert a.dtype == torch.float32 and torch.equal(a, b) and torch.equal(la, lb)


class _EpochSampler(Sampler[int]):
    def __init__(self, n: int) -> None:
        self.n, self.epochs = n, list[int]()

    def __iter__(self) -> Any:
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)


def test_epochs_set_epoch_and_persistent_workers() -> None:
    images = _images(9, seed=14)
    dataset = Images(images)
    sampler = _EpochSampler(9)
    loader = DataLoader(
        dataset, batch_size=4, sampler=sampler, collate_fn=Pack(), num_workers=2, persistent_workers=True
    )
    device_loader = DeviceLoader(loader, _pipeline(), "cpu")
    reference = _pipeline()
    for epoch in range(3):
        device_loader.set_epoch(epoch)
        labels = []
        for k, (x, y) in enumerate(device_loader):
            assert torch.equal(x, _by_hand(reference, images[4 * k : 4 * k + 4]))
            labels += y.tolist()
        assert labels == list(range(9))
    assert sampler.epochs == [0, 1, 2] and dataset.epoch == 2  # the main process's copy of the dataset


def _children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children()}


def test_early_break_stops_workers() -> None:
    before = _children()
    loader = DataLoader(Images(_images(40, seed=15)), batch_size=2, collate_fn=Pack(), num_workers=2)
    device_loader = DeviceLoader(loader, _pipeline(), "cpu", prefetch=2)
    for _ in device_loader:
        assert len(_children() - before) == 2
        break
    gc.collect()
    deadline = time.monotonic() + 10
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _children() - before
    assert len(list(device_loader)) == 20  # and it iterates again from the start


# --- bad input ----------------------------------------------------------------------------------------------


def test_bad_arguments() -> None:
    images = _images(2)
    packed = DataLoader(Images(images), batch_size=2, collate_fn=Pack())
    with pytest.raises(fastaug.ArgumentTypeError, match=r"loader: expected a DataLoader whose collate_fn is .*Pack"):
        DeviceLoader(DataLoader(Images(images), batch_size=2), _pipeline(), "cpu")
    with pytest.raises(fastaug.ArgumentTypeError, match="pipeline: expected a fastaug Compose, got"):
        DeviceLoader(packed, [HorizontalFlip()], "cpu")  # type: ignore[arg-type]
    for device in ("gpu", "mps", "cuda:x"):
        with pytest.raises(fastaug.ArgumentError, match=f"device: expected .*cuda.*cpu.*got '{device}'"):
            DeviceLoader(packed, _pipeline(), device)
    with pytest.raises(fastaug.ArgumentTypeError, match=r"device: expected .* got 0"):
        DeviceLoader(packed, _pipeline(), 0)
    with pytest.raises(fastaug.ArgumentError, match="prefetch: expected a non-negative int, got -1"):
        DeviceLoader(packed, _pipeline(), "cpu", prefetch=-1)
    if not torch.cuda.is_available():
        with pytest.raises(fastaug.ArgumentError, match=r"device: got 'cuda', but torch sees no CUDA device.*cpu"):
            DeviceLoader(packed, _pipeline())
    mixed = DataLoader([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 5, 1), np.uint8)], batch_size=2, collate_fn=Pack())
    with pytest.raises(fastaug.ArgumentError, match=r"same channel count, got samples\[0\]: 3, samples\[1\]: 1"):
        next(iter(DeviceLoader(mixed, _pipeline(), "cpu")))


# --- the CUDA path, torch.cuda replaced by recorders ----------------------------------------------------------


class _Recorder:
    """Fake streams and events that log what the loader asks of them, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.default = _FakeStream("default", self)
        self.current = self.default
        self.events = 0


class _FakeStream:
    def __init__(self, name: str, rec: _Recorder) -> None:
        self.name, self.rec = name, rec

    def wait_event(self, event: _FakeEvent) -> None:
        self.rec.log.append(("wait_event", self.name, event.id))

    def wait_stream(self, stream: _FakeStream) -> None:
        self.rec.log.append(("wait_stream", self.name, stream.name))


class _FakeEvent:
    def __init__(self, rec: _Recorder) -> None:
        rec.events += 1
        self.id, self.rec = rec.events, rec

    def record(self, stream: _FakeStream | None = None) -> None:
        self.rec.log.append(("record", (stream or self.rec.current).name, self.id))


class _LoggedCompose(Compose):
    def __init__(self, rec: _Recorder, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.rec = rec

    def __call__(self, images: Any = None, **kw: Any) -> Any:
        storages = {x.untyped_storage().data_ptr() for x in images}  # the images' buffers
        self.rec.log.append(("pipeline", self.rec.current.name, len(images), storages))
        return super().__call__(images, **kw)


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    """torch.cuda's streams and events as recorders; a copy "to the GPU" lands in host memory (logged with
    the stream current at the time); record_stream logged per storage."""
    rec = _Recorder()

    @contextlib.contextmanager
    def stream(s: _FakeStream) -> Any:
        previous, rec.current = rec.current, s
        try:
            yield
        finally:
            rec.current = previous

    def new_stream(device: Any = None) -> _FakeStream:
        rec.log.append(("new_stream", str(device)))
        return _FakeStream("side", rec)

    to = torch.Tensor.to

    def fake_to(self: Any, *args: Any, **kw: Any) -> Any:
        target = args[0] if args else kw.get("device")
        if isinstance(target, (str, torch.device)) and torch.device(target).type == "cuda":
            rec.log.append(("copy", rec.current.name, kw.get("non_blocking", False), self.data_ptr()))
            return self.clone()
        return to(self, *args, **kw)

    def record_stream(self: Any, s: _FakeStream) -> None:
        rec.log.append(("record_stream", s.name, self.untyped_storage().data_ptr()))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "Stream", new_stream)
    monkeypatch.setattr(torch.cuda, "stream", stream)
    monkeypatch.setattr(torch.cuda, "Event", lambda *a, **k: _FakeEvent(rec))
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: rec.current)
    monkeypatch.setattr(torch.Tensor, "to", fake_to)
    monkeypatch.setattr(torch.Tensor, "record_stream", record_stream)
    return rec


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_cuda_stream_ordering(fake_cuda: _Recorder, prefetch: int) -> None:
    rec = fake_cuda
    images = _images(7, seed=16)
    loader = DataLoader(Images(images), batch_size=3, collate_fn=Pack())
    pipeline = _LoggedCompose(rec, _pipeline().transforms, seed=1)
    device_loader = DeviceLoader(loader, pipeline, "cuda", prefetch=prefetch)
    assert rec.log == []  # nothing touches CUDA before iteration (the workers fork first)
    reference = _pipeline()
    received = []
    for k, (x, y) in enumerate(device_loader):
        rec.log.append(("received", k))
        received.append((x, y))
        assert torch.equal(x, _by_hand(reference, images[3 * k : 3 * k + 3]))
    log = rec.log
    assert log[0] == ("new_stream", "cuda")
    for k, (x, y) in enumerate(received):
        got = log.index(("received", k))
        # this batch's work: buffer copy, pipeline and label copy on the side stream, then its event
        work = [e for e in log[:got] if e[0] in ("copy", "pipeline", "record")]
        start = [i for i, e in enumerate(work) if e[0] == "pipeline"][k] - 1
        copy, run, labels, event = work[start : start + 4]
        assert copy[:3] == ("copy", "side", True) and run[:2] == ("pipeline", "side")
        assert len(run[3]) == 1  # the images are views into one buffer (the copy's), not copies
        assert labels[:3] == ("copy", "side", True) and event[:2] == ("record", "side")
        # the caller's stream waits for that event (not the whole side stream) before the batch is handed over
        waited = log.index(("wait_event", "default", event[2]))
        assert log.index(event) < waited < got and not any(e[0] == "wait_stream" for e in log)
        # every tensor handed over, and the device buffer, is recorded on the caller's stream, before hand-over
        recorded = {e[2] for e in log[waited:got] if e[:2] == ("record_stream", "default")}
        assert {x.untyped_storage().data_ptr(), y.untyped_storage().data_ptr()} <= recorded and len(recorded) == 3
        # prefetch: the next `prefetch` batches are queued before this one is handed over
        queued = sum(e[0] == "record" for e in log[:got])
        assert queued == min(k + 1 + prefetch, 3)
