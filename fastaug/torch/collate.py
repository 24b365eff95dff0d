"""The DataLoader collate accelerator: ``DataLoader(dataset, collate_fn=Collate(pipeline))``.

Collate takes the list of samples a Dataset returns, images of different sizes, and runs the pipeline ONCE
on the ragged list (one native call per stage: the leading geometric run is one warp over the whole list,
reading each image where it lies), writing the normalised (N, C, H, W) batch tensor once, in place. The
other fields are collated with torch's default_collate, in the structure of the samples.

Randomness, so that no worker_init_fn is needed and a run is reproducible:

- Keyed samples (KeyedDataset, fastaug.io): each sample draws from its own key, sample_keys(seed, epoch,
  index), alone: the same (seed, epoch, index) gives the same parameters whatever num_workers, batch size,
  worker, persistent_workers or world size.
- Other samples: each process draws from its own numpy Generator seeded from (Collate's seed, the
  distributed rank, torch.utils.data.get_worker_info().seed). DataLoader gives its workers new seeds for
  every epoch (drawn from torch's generator, so torch.manual_seed makes them reproducible), and persistent
  workers keep advancing theirs: every worker and every epoch draw differently, reproducibly for a fixed
  num_workers.

OpenMP does not survive fork(): a forked worker that starts a multi-threaded native region after its
parent ran one hangs. Collate therefore sets fastaug's threads to threads_per_worker (default 1) in each
worker before its first native call, and uses 1 in forked workers whatever threads_per_worker says."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info
from torch.utils.data._utils.collate import default_collate

from .. import _backend
from .._errors import ArgumentError, ArgumentTypeError
from ..transforms import Compose, Normalize, SampleKeys, SampleRandom
from ..transforms.keyed import Keyed
from ._samples import (
    TARGETS,
    ImageRules,
    empty_shared,
    ending_in_normalize,
    is_pil,
    keyed_mix,
    read_hwc,
    sample_kind,
    source_index,
    unwrap_keyed,
)

__all__ = ["Collate", "KeyedDataset"]

_SAMPLES = "an (image, label, ...) tuple, a dict with an 'image', a bare image, or Keyed(...) of one of these"
_IMAGES = ImageRules(
    dtypes=("uint8", "float32"),
    channels=(1, 3, 4),
    pil_mode="{name}: expected a PIL image of mode L, RGB, RGBA, got mode {mode!r} (convert it in the dataset: "
    ".convert('RGB'))",
    device="{name}: expected a CPU tensor, got one on {device} (Collate runs in DataLoader workers, on the CPU; "
    "fastaug.torch.DeviceLoader augments on the GPU)",
    tensor_dtype="{name}: expected a uint8 or float32 tensor, got {dtype}",
    array_dtype="{name}: expected dtype uint8 or float32, got {dtype}",
    kind="{name}: expected an image (a numpy (H, W, C) or (H, W) uint8/float32 array, a PIL image, or a torch "
    "uint8/float32 tensor (H, W, C), (C, H, W) or (H, W)), got {type}",
    shape="{name}: expected (H, W, C) with C in 1, 3, 4, or (H, W), got shape {shape}",
)


def _torch_seed() -> int:
    """A 63-bit seed from torch's global generator (torch.manual_seed makes it reproducible)."""
    return int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))


def _rank() -> int:
    """This process's distributed rank: the initialised process group's, else torchrun's RANK, else 0."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return int(os.environ.get("RANK", "0") or 0)


class KeyedDataset(Dataset):
    """Wraps a map-style dataset so that sample i comes as Keyed(item, key): the k-th fetch of index i gets
    key sample_keys(seed, k, i) (fastaug.transforms.SampleKeys, fetch counts in shared memory), so Collate
    draws its parameters from (seed, epoch, index) alone.

    seed: an int, or None to draw one from torch's global generator now (torch.manual_seed before makes it
    reproducible; every rank of a distributed run seeded alike gets the same seed, and DistributedSampler
    gives the ranks disjoint indices, so their draws never repeat). An item that is already Keyed
    (fastaug.io) keeps its source_size and gets this dataset's key.

    set_epoch(e) sets every fetch count to e: call it when resuming at epoch e, and every epoch together
    with DistributedSampler.set_epoch (an index fetched by another rank last epoch was not counted here).
    The padding DistributedSampler adds (indices repeated so that every rank gets as many) repeats those
    samples' draws too: the same sample, the same augmentation.

    The fetch counts live in shared memory that travels to DataLoader workers when they start (fork,
    forkserver, spawn); pickle.dumps outside a process start refuses it."""

    def __init__(self, dataset: Any, seed: int | None = None) -> None:
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise ArgumentTypeError(
                f"KeyedDataset: dataset: expected a map-style dataset (with __getitem__ and __len__), got "
                f"{type(dataset).__name__}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ArgumentTypeError(f"KeyedDataset: seed: expected an int or None, got {seed!r}")
        self.dataset = dataset
        self.keys = SampleKeys(len(dataset), _torch_seed() if seed is None else int(seed))

    @property
    def seed(self) -> int:
        return self.keys.seed

    def __len__(self) -> int:
        return self.keys.n

    def __getitem__(self, index: int) -> Keyed:
        i = int(index) + (self.keys.n if int(index) < 0 else 0)
        key = self.keys.key(i)
        item = self.dataset[i]
        if isinstance(item, Keyed):
            return Keyed(item.item, key, item.source_size)
        return Keyed(item, key)

    def set_epoch(self, epoch: int) -> None:
        self.keys.set_epoch(epoch)


class Collate:
    """A DataLoader collate_fn that runs a fastaug pipeline on the whole batch at once.

    ``Collate(pipeline, *, seed=None, threads_per_worker=1, pin_memory=False)``; pipeline is a
    fastaug.Compose that starts with a geometric run ending at a fixed size (RandomResizedCrop, Resize((h,
    w)), CenterCrop...), since the images have different sizes.

    Samples (the list a Dataset returns): (image, label, ...) tuples, dicts with the image under "image"
    ("mask", "boxes" and "keypoints" go through the pipeline with it), bare images, or Keyed(...) wrappers
    of those (KeyedDataset, fastaug.io). Images: numpy (H, W, C) / (H, W) uint8 or float32 arrays, PIL
    images (L, RGB, RGBA), torch uint8/float32 CPU tensors (H, W, C), (C, H, W) or (H, W); a (C, H, W)
    tensor is read as its permuted (H, W, C) view, never copied. A 3-D tensor is (C, H, W) when its first
    size is 1, 3 or 4 and its last is not, else (H, W, C) (a torchvision decode is (C, H, W)); every image
    of a batch has the same channel count and dtype.

    Returns the samples' structure with the image replaced by the batch tensor: (batch, labels, ...) for
    tuples (a namedtuple keeps its type), a dict for dicts, the batch alone for bare images. The batch is
    the pipeline's Normalize output as a torch tensor ((N, C, H, W) float32 by default; its layout and
    dtype: float16, bfloat16), allocated once and written once by Normalize: in a DataLoader worker it is
    allocated in shared memory, so handing it to the main process copies nothing. A pipeline that does not
    end with Normalize gets Normalize(mean=0, std=1) appended: float32 in [0, 1], NCHW (torchvision's
    ToTensor). Other fields go through default_collate; "mask" comes back as an (N, H, W[, C]) tensor,
    "boxes" and "keypoints" as lists of float32 (K, ...) tensors (their counts differ per sample). With
    copies=K (or a first Tiles) every output sample carries its source sample's other fields.

    seed: for samples that are not Keyed (see the module's notes); None draws one from torch's global
    generator now. threads_per_worker: fastaug threads in each DataLoader worker (set once per process;
    the main process keeps its own setting). Above 1 it needs workers that were not forked (DataLoader's
    multiprocessing_context="forkserver" or "spawn"): a forked worker uses 1 and warns, since GNU OpenMP
    hangs in a child forked after its parent ran a parallel region.

    pin_memory: allocate the batch in pinned (page-locked) memory where that needs no CUDA initialisation
    in a worker, i.e. in the main process (num_workers=0) with a CUDA build of torch; DataLoader's
    pin_memory then finds it pinned and copies nothing. Workers cannot pin without initialising CUDA in a
    forked process, so they use shared memory and DataLoader(pin_memory=True) copies each batch once into
    pinned memory in the main process. On a CPU build of torch there is no pinned memory: ignored."""

    def __init__(
        self,
        pipeline: Compose,
        *,
        seed: int | None = None,
        threads_per_worker: int = 1,
        pin_memory: bool = False,
    ) -> None:
        if not isinstance(pipeline, Compose):
            raise ArgumentTypeError(f"Collate: pipeline: expected a fastaug.Compose, got {type(pipeline).__name__}")
        if 0 not in pipeline.runs:
            raise ArgumentError(
                "Collate: pipeline: expected a pipeline that starts with geometric transforms ending at a fixed "
                "size (RandomResizedCrop, Resize((h, w)), CenterCrop, RandomCrop), since the samples' images "
                f"have different sizes; it starts with {type(pipeline.transforms[0]).__name__}"
                if len(pipeline)
                else "Collate: pipeline: got an empty Compose"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ArgumentTypeError(f"Collate: seed: expected an int or None, got {seed!r}")
        if isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, (int, np.integer)):
            raise ArgumentTypeError(f"Collate: threads_per_worker: expected a positive int, got {threads_per_worker!r}")
        if threads_per_worker < 1:
            raise ArgumentError(f"Collate: threads_per_worker: expected a positive int, got {threads_per_worker!r}")
        if not isinstance(pin_memory, (bool, np.bool_)):
            raise ArgumentTypeError(f"Collate: pin_memory: expected True or False, got {pin_memory!r}")
        self.pipeline = ending_in_normalize(pipeline)
        self.seed = _torch_seed() if seed is None else int(seed)
        self.threads_per_worker = int(threads_per_worker)
        self.pin_memory = bool(pin_memory)
        self._process: tuple[int, int | None] | None = None  # (pid, worker seed) the generator belongs to
        self._rng: np.random.Generator | None = None
        self._home = os.getpid()  # the process that made (or unpickled) this object: any other got it by fork

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_process"] = state["_rng"] = None  # per process: a worker makes its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._home = os.getpid()

    def __repr__(self) -> str:
        return (
            f"Collate({self.pipeline!r}, seed={self.seed}, threads_per_worker={self.threads_per_worker}, "
            f"pin_memory={self.pin_memory})"
        )

    # -- per process ---------------------------------------------------------------------------------------

    def _enter_process(self) -> np.random.Generator:
        """The generator of this process (made on its first batch), after setting a worker's threads."""
        info = get_worker_info()
        process = (os.getpid(), None if info is None else int(info.seed))
        if self._process != process:
            if info is not None and (self._process is None or self._process[0] != process[0]):
                self._set_worker_threads()
            entropy = [self.seed & (2**63 - 1), _rank()] + ([] if info is None else [int(info.seed) & (2**64 - 1)])
            self._rng = np.random.default_rng(entropy)
            self._process = process
        assert self._rng is not None
        return self._rng

    def _set_worker_threads(self) -> None:
        threads = self.threads_per_worker
        if threads > 1 and self._home != os.getpid():
            warnings.warn(
                f"Collate: threads_per_worker={threads} in a forked DataLoader worker: using 1 (GNU OpenMP hangs "
                "in a child forked after its parent ran a parallel region); pass multiprocessing_context="
                "'forkserver' or 'spawn' to the DataLoader for more threads per worker",
                RuntimeWarning,
                stacklevel=3,
            )
            threads = 1
        _backend.set_num_threads(threads)

    def _allocate(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """The batch tensor: shared memory in a worker (the queue to the main process then moves a file
        descriptor, not the pixels), pinned memory where asked for and possible, else plain."""
        if get_worker_info() is not None:
            return empty_shared(shape, dtype)
        if self.pin_memory and torch.cuda.is_available():
            return torch.empty(shape, dtype=dtype, pin_memory=True)
        return torch.empty(shape, dtype=dtype)

    # -- the call ------------------------------------------------------------------------------------------

    def __call__(self, batch: Sequence[Any]) -> Any:
        if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence):
            raise ArgumentTypeError(f"Collate: batch: expected a list of samples, got {type(batch).__name__}")
        if len(batch) == 0:
            raise ArgumentError(f"Collate: batch: got an empty list; expected a list of samples, each {_SAMPLES}")
        rng = self._enter_process()
        mix = keyed_mix(batch)
        if mix is not None:
            keyed = isinstance(batch[0], Keyed)
            raise ArgumentError(
                f"Collate: batch[{mix}]: expected every sample Keyed or none (batch[0] is "
                f"{'' if keyed else 'not '}Keyed, batch[{mix}] is {'not ' if keyed else ''}Keyed)"
            )
        unkeyed = unwrap_keyed(batch)
        samples = unkeyed.items
        kind, images, targets = _split(samples)
        arrays = _images(images)
        draws: Any = rng if unkeyed.keys is None else SampleRandom(unkeyed.keys)
        sizes = unkeyed.source_sizes([a.shape for a in arrays])
        norm = self.pipeline.transforms[-1]
        assert isinstance(norm, Normalize)
        out_dtype = getattr(torch, norm.dtype)

        def allocate(x: Any) -> torch.Tensor:
            n, h, w, c = (int(s) for s in x.shape)
            return self._allocate((n, c, h, w) if norm.layout == "NCHW" else (n, h, w, c), out_dtype)

        result, drawn = self.pipeline(
            arrays, **targets, out=allocate, rng=draws, source_sizes=sizes, return_params=True
        )
        image = result["image"] if isinstance(result, dict) else result
        index = source_index(self.pipeline, len(arrays), drawn)
        return _assemble(kind, samples, image, result if isinstance(result, dict) else {}, index)


def _split(samples: list[Any]) -> tuple[str, list[Any], dict[str, Any]]:
    """The samples' kind ('tuple', 'dict' or 'image'), their images, and the pipeline's targets."""
    first = samples[0]
    kind = sample_kind(first)
    if kind in ("namedtuple", "list"):
        kind = "tuple"  # Collate's image is always at position 0; _assemble rebuilds the type
    elif kind == "image" and not _is_image(first):
        raise ArgumentTypeError(f"Collate: batch[0]: expected {_SAMPLES}, got {type(first).__name__}")
    images = []
    for i, s in enumerate(samples):
        if kind == "dict":
            if not isinstance(s, Mapping) or "image" not in s:
                what = f"keys {sorted(map(str, s))}" if isinstance(s, Mapping) else type(s).__name__
                raise ArgumentError(f"Collate: batch[{i}]: expected a dict with an 'image' like batch[0], got {what}")
            images.append(s["image"])
        elif kind == "tuple":
            if not isinstance(s, (tuple, list)) or len(s) != len(first) or not s:
                raise ArgumentError(
                    f"Collate: batch[{i}]: expected an (image, ...) tuple of {len(first)} like batch[0], got "
                    f"{type(s).__name__}{f' of {len(s)}' if isinstance(s, (tuple, list)) else ''}"
                )
            images.append(s[0])
        else:
            images.append(s)
    targets: dict[str, Any] = {}
    if kind == "dict":
        for name in TARGETS:
            if name in first:
                values = []
                for i, s in enumerate(samples):
                    if name not in s:
                        raise ArgumentError(f"Collate: batch[{i}]: expected a '{name}' like batch[0]")
                    values.append(_target(s[name], name, i))
                targets[name] = values
    return kind, images, targets


def _target(value: Any, name: str, i: int) -> Any:
    """A mask, boxes or keypoints of one sample as numpy (views of torch tensors and PIL pixels)."""
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if name == "mask" and is_pil(value):
        return np.asarray(value)
    if name == "mask" and not isinstance(value, np.ndarray):
        raise ArgumentTypeError(
            f"Collate: batch[{i}]['mask']: expected a numpy array, a torch tensor or a PIL image, got "
            f"{type(value).__name__}"
        )
    return value


def _is_image(x: Any) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor)) or is_pil(x)


def _images(images: list[Any]) -> list[np.ndarray]:
    """Every image as a numpy (H, W, C) view (no copy, except PIL's pixels), checked to agree."""
    arrays = [_image(x, i) for i, x in enumerate(images)]
    c, dtype = arrays[0].shape[2], arrays[0].dtype
    for i, a in enumerate(arrays[1:], 1):
        if a.shape[2] != c:
            raise ArgumentError(
                f"Collate: batch[{i}]: image has {a.shape[2]} channel{'s' if a.shape[2] > 1 else ''}, batch[0] "
                f"has {c}: every image of a batch needs the same channel count (convert them in the dataset, "
                "e.g. PIL's .convert('RGB'))"
            )
        if a.dtype != dtype:
            raise ArgumentTypeError(
                f"Collate: batch[{i}]: image has dtype {a.dtype}, batch[0] has {dtype}: every image of a batch "
                "needs the same dtype"
            )
    return arrays


def _image(x: Any, i: int) -> np.ndarray:
    """One image as a numpy (H, W, C) view (a (C, H, W) tensor permuted, not copied)."""
    a = read_hwc(x, f"Collate: batch[{i}] image", _IMAGES)
    return a.detach().numpy() if isinstance(a, torch.Tensor) else a


def _assemble(kind: str, samples: list[Any], image: torch.Tensor, targets: dict[str, Any], index: Any) -> Any:
    """The batch in the samples' structure: the image tensor, the pipeline's targets, default_collate for the
    rest (each output sample taking its source sample's fields)."""
    rows = samples if index is None else [samples[int(i)] for i in index]
    if kind == "image":
        return image
    if kind == "tuple":
        first = samples[0]
        fields = [image, *(default_collate([s[k] for s in rows]) for k in range(1, len(first)))]
        if isinstance(first, list):
            return fields
        return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)
    out: dict[str, Any] = {}
    for name in samples[0]:
        if name == "image":
            out[name] = image
        elif name == "mask":
            out[name] = torch.from_numpy(np.asarray(targets["mask"]))
        elif name in ("boxes", "keypoints"):
            out[name] = [torch.from_numpy(np.asarray(v, np.float32)) for v in targets[name]]
        else:
            out[name] = default_collate([s[name] for s in rows])
    return out
