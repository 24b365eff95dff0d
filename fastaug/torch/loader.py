"""The device loader: DataLoader workers only decode and pack; the main process copies each packed batch to
the GPU and runs the pipeline there, one batch ahead of the training step.

``Pack`` is the workers' collate_fn. It turns a list of samples (images of any sizes) into ONE contiguous
uint8 buffer, the images back to back in (H, W, C) order, plus an (N, 3) int64 index of (offset, H, W):
one tensor to pin and one to copy, whatever the sizes. It never touches CUDA (it runs in forked workers).

``DeviceLoader(loader, pipeline, device)`` iterates such a DataLoader. For each packed batch, on a side
CUDA stream: the buffer is copied to the device (asynchronously from pinned memory), the images are
(H, W, C) views into the device buffer (no copy), the pipeline runs on them (a ragged batch: one warp),
the labels are copied, and an event is recorded. The caller's stream waits for that event (not for the
whole side stream, which may already hold the next batch's work) and every tensor handed over is
``record_stream``-ed on the caller's stream, so the caching allocator never gives its memory to the side
stream's next batch while the training step may still read it.

With ``device="cpu"`` the same class runs the pipeline in the main process on the packed CPU batch (for
CPU training prefer fastaug.torch.Collate, which runs the pipeline inside the workers, in parallel)."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import get_worker_info

from .._errors import ArgumentError, ArgumentTypeError
from ..transforms.compose import Compose
from ..transforms.keyed import SampleRandom
from ._samples import (
    TARGETS,
    ImageRules,
    empty_shared,
    ending_in_normalize,
    keyed_mix,
    read_hwc,
    sample_kind,
    source_index,
    unwrap_keyed,
)

_LAYOUTS = ("auto", "HWC", "CHW")
_IMAGES = ImageRules(
    dtypes=("uint8",),
    channels=None,
    pil_mode="{name}: expected a PIL image of mode L, RGB or RGBA, got mode {mode!r} (convert it first, e.g. "
    "img.convert('RGB'))",
    device="{name}: expected a CPU tensor (Pack runs in the workers), got {device}",
    tensor_dtype="{name}: expected uint8 images, got {dtype}",
    array_dtype="{name}: expected uint8 images, got {dtype}",
    kind="{name}: expected an image (numpy uint8 array, PIL image or torch uint8 tensor), got {type}",
    shape="{name}: expected an (H, W, C) or (H, W) image, got shape {shape}",
)


def _map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """obj with fn applied to every tensor inside it (tensors, mappings, tuples, namedtuples, lists)."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, (str, bytes)):
        return obj
    if isinstance(obj, Mapping):
        return type(obj)({k: _map_tensors(v, fn) for k, v in obj.items()})  # type: ignore[call-arg]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_map_tensors(v, fn) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def _tensors(obj: Any) -> list[torch.Tensor]:
    """Every tensor inside obj (as _map_tensors visits them)."""
    found: list[torch.Tensor] = []

    def visit(t: torch.Tensor) -> torch.Tensor:
        found.append(t)
        return t

    _map_tensors(obj, visit)
    return found


class PackedBatch:
    """What Pack returns: the images of a batch in one buffer, and the rest of the samples collated.

    - data: (total,) uint8, image i is data[offset_i : offset_i + H_i * W_i * channels] in (H, W, C) order
    - index: (N, 3) int64 rows (offset, H, W)
    - channels: the channel count shared by every image
    - kind, image_at, fields: the samples' structure ("image": the samples were images; "tuple"/"list":
      the image was at position image_at and fields holds the other positions, each collated with
      torch's default_collate; "dict": the image was under key image_at, fields the other keys;
      "namedtuple": as "tuple", rebuilt with sample_type)
    - keys: (N,) uint64 draw keys when the samples were fastaug Keyed, else None
    - source_sizes: (N, 2) int64 originals' (height, width) when Keyed samples gave them (a reduced decode;
      the others their own size), else None

    pin_memory() pins the buffer and the fields (the DataLoader's pin_memory thread calls it)."""

    def __init__(
        self,
        data: torch.Tensor,
        index: torch.Tensor,
        channels: int,
        kind: str,
        image_at: Any,
        fields: Any,
        keys: np.ndarray | None = None,
        source_sizes: np.ndarray | None = None,
        sample_type: type | None = None,
    ) -> None:
        self.data = data
        self.index = index
        self.channels = channels
        self.kind = kind
        self.image_at = image_at
        self.fields = fields
        self.keys = keys
        self.source_sizes = source_sizes
        self.sample_type = sample_type

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __repr__(self) -> str:
        return (
            f"PackedBatch(n={len(self)}, channels={self.channels}, bytes={self.data.numel()}, kind={self.kind!r}, "
            f"keyed={self.keys is not None})"
        )

    def replace(self, **changes: Any) -> PackedBatch:
        values = dict(vars(self))
        values.update(changes)
        return PackedBatch(**values)

    def pin_memory(self) -> PackedBatch:
        return self.replace(data=self.data.pin_memory(), fields=_map_tensors(self.fields, lambda t: t.pin_memory()))

    def images(self, data: torch.Tensor | None = None) -> Any:
        """The images as (H, W, C) views into `data` (this batch's buffer, or its copy on a device): a dense
        (N, H, W, C) view when every image has the same size, else a list. No copies."""
        data = self.data if data is None else data
        rows = self.index.tolist()
        c = self.channels
        if rows and all(r[1:] == rows[0][1:] for r in rows):
            h, w = rows[0][1:]
            n = len(rows)
            if all(r[0] == i * h * w * c for i, r in enumerate(rows)):
                return data[: n * h * w * c].view(n, h, w, c)
        return [data[o : o + h * w * c].view(h, w, c) for o, h, w in rows]

    def structure(self, images: Any, fields: Any = None) -> Any:
        """`images` put back where the samples had their image, with `fields` (default: this batch's)."""
        fields = self.fields if fields is None else fields
        if self.kind == "image":
            return images
        if self.kind == "dict":
            return {**{self.image_at: images}, **fields}
        values = list(fields)
        values.insert(self.image_at, images)
        if self.kind == "namedtuple":
            assert self.sample_type is not None
            return self.sample_type(*values)
        return tuple(values) if self.kind == "tuple" else values


class Pack:
    """collate_fn for DataLoader workers that only decode: the batch's images into one uint8 buffer.

    ``DataLoader(dataset, batch_size, collate_fn=fastaug.torch.Pack(), pin_memory=True, num_workers=k)``,
    then ``DeviceLoader(loader, pipeline)``. Returns a PackedBatch.

    A sample is an image, a tuple/list/namedtuple (the image at position `image`, default 0), a dict (the
    image under key `image`, default "image"), or a fastaug Keyed wrapping any of these (its key and
    source_size go along). Images: numpy (H, W, C) or (H, W) uint8, PIL images (L, RGB, RGBA), torch
    uint8 CPU tensors (H, W, C), (C, H, W) or (H, W). `layout` says how a 3-D image is laid out: "auto"
    reads numpy arrays as (H, W, C) and a torch tensor as (C, H, W) (torchvision's decode layout) when its
    first dimension is 1, 3 or 4 and its last is not, else (H, W, C) (as fastaug.torch.Collate reads
    them); "HWC" / "CHW" decide for every 3-D image, numpy arrays included. Every image of a batch
    must have the same channel count. The other parts of the samples are collated with torch's
    default_collate. In a worker the buffer is allocated in shared memory (as default_collate does), so it
    reaches the main process without another copy."""

    def __init__(self, image: Any = None, layout: str = "auto") -> None:
        if layout not in _LAYOUTS:
            raise ArgumentError(f"Pack: layout: expected one of {', '.join(map(repr, _LAYOUTS))}, got {layout!r}")
        if image is not None and not isinstance(image, (int, str)):
            raise ArgumentTypeError(f"Pack: image: expected a position (int), a dict key (str) or None, got {image!r}")
        self.image = image
        self.layout = layout

    def __repr__(self) -> str:
        return f"Pack(image={self.image!r}, layout={self.layout!r})"

    def __call__(self, samples: Sequence[Any]) -> PackedBatch:
        if not isinstance(samples, Sequence) or isinstance(samples, (str, bytes)) or not len(samples):
            raise ArgumentError(f"Pack: samples: expected a non-empty list of samples, got {samples!r:.80}")
        if keyed_mix(samples) is not None:
            raise ArgumentError("Pack: samples: either every sample is a fastaug Keyed or none is; got a mix")
        unkeyed = unwrap_keyed(samples)
        samples = unkeyed.items
        kind, image_at, sample_type = self._kind(samples[0])
        images: list[Any] = []
        rest: list[Any] = []
        for i, s in enumerate(samples):
            if self._kind(s)[0] != kind:
                raise ArgumentError(
                    f"Pack: samples[{i}]: expected a sample shaped like samples[0] ({kind}), got {type(s).__name__}"
                )
            img = s if kind == "image" else s[image_at]
            images.append(read_hwc(img, f"Pack: samples[{i}]", _IMAGES, self.layout))
            if kind == "dict":
                rest.append({k: v for k, v in s.items() if k != image_at})
            elif kind != "image":
                rest.append([v for j, v in enumerate(s) if j != image_at])
        channels = {img.shape[2] for img in images}
        if len(channels) > 1:
            got = ", ".join(f"samples[{i}]: {img.shape[2]}" for i, img in enumerate(images))
            raise ArgumentError(f"Pack: samples: every image of a batch needs the same channel count, got {got}")
        shape = np.array([img.shape for img in images], np.int64)
        nbytes = shape.prod(axis=1)
        offsets = np.concatenate([[0], np.cumsum(nbytes)[:-1]])
        data = _empty_bytes(int(nbytes.sum()))
        host = data.numpy()
        for img, o, n, (h, w, c) in zip(images, offsets.tolist(), nbytes.tolist(), shape.tolist(), strict=True):
            if isinstance(img, torch.Tensor):
                data[o : o + n].view(h, w, c).copy_(img)
            else:
                np.copyto(host[o : o + n].reshape(h, w, c), img)
        index = torch.from_numpy(np.stack([offsets, shape[:, 0], shape[:, 1]], axis=1).astype(np.int64))
        sizes = unkeyed.source_sizes(shape.tolist())
        fields: Any = None
        if kind == "dict":
            fields = {k: _collate([r[k] for r in rest], f"samples[*][{k!r}]") for k in rest[0]}
        elif kind != "image":
            fields = [_collate([r[j] for r in rest], f"samples[*][{j}]") for j in range(len(rest[0]))]
        return PackedBatch(data, index, int(channels.pop()), kind, image_at, fields, unkeyed.keys, sizes, sample_type)

    def _kind(self, sample: Any) -> tuple[str, Any, type | None]:
        """The sample's kind (sample_kind), where its image is (a key or a position), its namedtuple type."""
        kind = sample_kind(sample)
        if kind == "dict":
            key = "image" if self.image is None else self.image
            if key not in sample:
                raise ArgumentError(
                    f"Pack: samples: a dict sample needs its image under key {key!r}; got keys {list(sample)}"
                )
            targets = [t for t in TARGETS if t in sample]
            if targets:
                raise ArgumentError(
                    f"Pack: samples: a dict sample with {', '.join(map(repr, targets))}: DeviceLoader does not run "
                    "masks, boxes or keypoints through the pipeline (fastaug.torch.Collate does); rename the field "
                    "if it is not such a target"
                )
            return "dict", key, None
        if kind != "image":
            at = 0 if self.image is None else self.image
            if not isinstance(at, int) or not -len(sample) <= at < len(sample):
                raise ArgumentError(
                    f"Pack: image: expected a position in the samples' tuples (length {len(sample)}), got {at!r}"
                )
            return kind, at % len(sample), type(sample) if kind == "namedtuple" else None
        return "image", None, None


def _empty_bytes(n: int) -> torch.Tensor:
    """(n,) uint8, in shared memory inside a DataLoader worker (the queue then sends a handle, no copy)."""
    if get_worker_info() is not None:
        return empty_shared((n,), torch.uint8)
    return torch.empty(n, dtype=torch.uint8)


def _collate(values: list[Any], name: str) -> Any:
    from torch.utils.data import default_collate

    try:
        return default_collate(values)
    except (TypeError, RuntimeError) as e:
        raise ArgumentError(f"Pack: {name}: torch's default_collate cannot batch these values: {e}") from e


class _HostSync:
    """device="cpu": everything runs in order on the host; nothing to order."""

    def context(self) -> Any:
        return contextlib.nullcontext()

    def record(self) -> Any:
        return None

    def hand_over(self, event: Any, tensors: list[torch.Tensor]) -> None:
        pass


class _CudaSync:
    """The side stream a batch is prepared on, and the hand-over to the caller's stream."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.side = torch.cuda.Stream(device=device)

    def context(self) -> Any:
        return torch.cuda.stream(self.side)

    def record(self) -> Any:
        event = torch.cuda.Event()
        event.record(self.side)
        return event

    def hand_over(self, event: Any, tensors: list[torch.Tensor]) -> None:
        # The caller's stream waits for this batch's event only: the side stream may already hold the next
        # batch's work, which the training step must not wait for. record_stream: these tensors were
        # allocated on the side stream; once the caller drops them, the allocator must not give their
        # blocks to the side stream (the next batches) before the caller's queued work has read them.
        current = torch.cuda.current_stream(self.device)
        current.wait_event(event)
        for t in tensors:
            t.record_stream(current)


class _Staged:
    """A batch whose work is queued: its result and the event that marks the end of that work."""

    def __init__(self, result: Any, event: Any, buffers: list[torch.Tensor]) -> None:
        self.result = result
        self.event = event
        self.buffers = buffers  # kept alive until the hand-over (the side stream's inputs)


class DeviceLoader:
    """Iterates a DataLoader whose collate_fn is fastaug.torch.Pack and runs `pipeline` on each batch on
    `device`, yielding the samples' structure with the images replaced by the pipeline's output and every
    tensor on the device: ``for images, labels in DeviceLoader(loader, pipeline): ...``.

    - device: "cuda", "cuda:k" (or a torch.device) or "cpu".
    - On CUDA each batch is prepared on a side stream `prefetch` batches ahead of the one the caller holds
      (default 1: batch k + 1 is copied and augmented while the caller trains on batch k); the caller's
      current stream waits on an event, and the tensors handed over are record_stream-ed on it. Give the
      DataLoader pin_memory=True so that the copies are asynchronous (from pageable memory a copy waits
      for the host).
    - Images come out as the pipeline's Normalize writes them ((N, C, H, W) float32 by default; its layout
      and dtype). A pipeline that does not end with Normalize gets Normalize(mean=0, std=1) appended
      (float32 in [0, 1], NCHW), as fastaug.torch.Collate does: the same batches from the same keys.
    - Keyed samples (fastaug Keyed, e.g. from KeyedDataset) draw from SampleRandom(keys), with the
      source sizes of a reduced decode: the same parameters as fastaug.torch.Collate or a call by hand.
      Other samples draw from the pipeline's own generator, batch after batch.
    - A pipeline with copies=K or a first Tiles gives several outputs per sample: each carries its source
      sample's fields (labels), as with Collate.
    - A batch of equal-sized images is a dense (N, H, W, C) view of the buffer (any pipeline works);
      images of different sizes need a pipeline that starts with geometric transforms ending at a fixed
      size (one ragged warp).
    - device="cpu" runs the pipeline in the main process (for CPU training prefer fastaug.torch.Collate,
      which runs it in the workers, in parallel).

    len() is the DataLoader's; set_epoch(e) is passed to the sampler, batch sampler and dataset that have
    one (the main process's objects: workers see it from the next epoch's start, or, persistent, through
    shared state such as KeyedDataset's). Iterate it once per epoch; breaking out early drops the prepared
    batches and the DataLoader's iterator (its workers stop unless persistent)."""

    def __init__(self, loader: Any, pipeline: Compose, device: Any = "cuda", *, prefetch: int = 1) -> None:
        collate = getattr(loader, "collate_fn", None)
        if not isinstance(collate, Pack):
            raise ArgumentTypeError(
                f"DeviceLoader: loader: expected a DataLoader whose collate_fn is fastaug.torch.Pack() (the "
                f"workers only pack, the pipeline runs here), got collate_fn={collate!r}; build it as "
                "DataLoader(dataset, batch_size=..., collate_fn=fastaug.torch.Pack(), pin_memory=True)"
            )
        if not isinstance(pipeline, Compose):
            raise ArgumentTypeError(f"DeviceLoader: pipeline: expected a fastaug Compose, got {pipeline!r:.120}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ArgumentError(f"DeviceLoader: prefetch: expected a non-negative int, got {prefetch!r}")
        self.loader = loader
        self.device = _device(device)
        self.prefetch = prefetch
        pipeline = ending_in_normalize(pipeline)
        self.pipeline = pipeline

    def __repr__(self) -> str:
        return f"DeviceLoader(device={str(self.device)!r}, prefetch={self.prefetch}, pipeline={self.pipeline!r})"

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        """epoch passed to the loader's sampler, batch sampler and dataset, each that has set_epoch."""
        seen: set[int] = set()
        batch_sampler = getattr(self.loader, "batch_sampler", None)
        for part in (
            getattr(self.loader, "sampler", None),
            batch_sampler,
            getattr(batch_sampler, "sampler", None),
            getattr(self.loader, "dataset", None),
        ):
            if part is not None and id(part) not in seen and callable(getattr(part, "set_epoch", None)):
                seen.add(id(part))
                part.set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.loader)  # workers start (fork) before this process touches CUDA
        sync: _HostSync | _CudaSync = _CudaSync(self.device) if self.device.type == "cuda" else _HostSync()
        staged: deque[_Staged] = deque()
        try:
            done = False
            while True:
                # the batch to hand over, and `prefetch` batches queued behind it while the caller works
                while not done and len(staged) < self.prefetch + 1:
                    packed = next(batches, None)
                    if packed is None:
                        done = True
                    else:
                        staged.append(self._stage(packed, sync))
                if not staged:
                    return
                batch = staged.popleft()
                # the device buffer is used on the side stream only (the caller gets the pipeline's outputs,
                # except where no transform changed a dense batch: then a view of it), so it is recorded too
                # (nothing is lost: its block is free again once the caller's stream passes this point)
                sync.hand_over(batch.event, _tensors(batch.result) + batch.buffers)
                result = batch.result
                del batch  # the caller alone holds the batch while it works
                yield result
        finally:
            staged.clear()
            del batches

    def _stage(self, packed: Any, sync: _HostSync | _CudaSync) -> _Staged:
        """Queues one batch's copy, pipeline and label copy (on the side stream on CUDA)."""
        if not isinstance(packed, PackedBatch):
            raise ArgumentTypeError(
                f"DeviceLoader: loader: expected batches made by fastaug.torch.Pack, got {type(packed).__name__}"
            )
        with sync.context():
            data = packed.data.to(self.device, non_blocking=True)
            images = packed.images(data)
            kw: dict[str, Any] = {}
            if packed.keys is not None:
                kw["rng"] = SampleRandom(packed.keys)
                if packed.source_sizes is not None:
                    kw["source_sizes"] = packed.source_sizes
            out, drawn = self.pipeline(images, return_params=True, **kw)
            fields = packed.fields
            index = source_index(self.pipeline, len(packed), drawn)
            if index is not None:  # copies, tiles: each output sample takes its source sample's fields
                fields = _reindex(fields, index, len(packed))
            fields = _map_tensors(fields, lambda t: t.to(self.device, non_blocking=True))
            result = packed.structure(out, fields)
            event = sync.record()
        return _Staged(result, event, [data])


def _reindex(fields: Any, index: np.ndarray, n: int) -> Any:
    """Collated fields of n samples as the fields of samples `index`: a tensor's rows, a list of n values
    (default_collate's strings), through dicts and the per-position lists default_collate makes of tuples."""
    if isinstance(fields, torch.Tensor):
        return fields[torch.from_numpy(index)] if fields.ndim and fields.shape[0] == n else fields
    if isinstance(fields, Mapping):
        return {k: _reindex(v, index, n) for k, v in fields.items()}
    if isinstance(fields, (list, tuple)):
        if all(isinstance(v, (torch.Tensor, Mapping, list, tuple)) for v in fields):
            return type(fields)(_reindex(v, index, n) for v in fields)
        if len(fields) == n:
            return [fields[int(i)] for i in index]
    return fields


def _device(device: Any) -> torch.device:
    accepts = '"cuda", "cuda:<index>", "cpu" or a torch.device of those'
    if not isinstance(device, (str, torch.device)):
        raise ArgumentTypeError(f"DeviceLoader: device: expected {accepts}, got {device!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as e:
        raise ArgumentError(f"DeviceLoader: device: expected {accepts}, got {device!r}") from e
    if dev.type not in ("cpu", "cuda"):
        raise ArgumentError(f"DeviceLoader: device: expected {accepts}, got {device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ArgumentError(
                f"DeviceLoader: device: got {device!r}, but torch sees no CUDA device (a CPU build of torch or "
                'no GPU); use device="cpu" (or fastaug.torch.Collate for CPU training)'
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ArgumentError(f"DeviceLoader: device: got {device!r}, but torch sees {count} CUDA device(s)")
    return dev
