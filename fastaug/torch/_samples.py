"""What Collate (collate.py) and Pack (loader.py) both do to a DataLoader batch before their own work: unwrap
Keyed samples, tell the samples' structure, read each image as an (H, W, C) view, complete the pipeline
with Normalize, and map output samples to their sources. One place, so that both read the same batch the
same way (an ambiguous 3-D tensor above all); each keeps its own error messages (ImageRules)."""

from __future__ import annotations

import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._errors import ArgumentError, ArgumentTypeError
from ..transforms.compose import Compose
from ..transforms.geometric import Tiles
from ..transforms.keyed import Keyed
from ..transforms.pixel import Normalize

TARGETS = ("mask", "boxes", "keypoints")  # dict fields Compose transforms with the image
PIL_MODES = ("L", "RGB", "RGBA")
_UINT64 = (1 << 64) - 1


def is_pil(x: Any) -> bool:
    """Whether x is a PIL image (tested by duck type, so that PIL is never imported here)."""
    return type(x).__module__.startswith("PIL.") and hasattr(x, "mode") and hasattr(x, "size")


def is_chw(shape: Sequence[int]) -> bool:
    """How an ambiguous 3-D tensor is read: (C, H, W) when its first size is a channel count (1, 3, 4) and
    its last is not, else (H, W, C). torchvision decodes to (C, H, W); numpy images are (H, W, C)."""
    return shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4)


def sample_kind(sample: Any) -> str:
    """'dict', 'namedtuple', 'tuple', 'list', or 'image' for anything else (checked when it is read)."""
    if isinstance(sample, Mapping):
        return "dict"
    if isinstance(sample, tuple):
        return "namedtuple" if hasattr(sample, "_fields") else "tuple"
    if isinstance(sample, list):
        return "list"
    return "image"


# -- Keyed samples ---------------------------------------------------------------------------------------------


def keyed_mix(samples: Sequence[Any]) -> int | None:
    """The first sample that is Keyed when samples[0] is not, or not Keyed when it is; None when all agree
    (a batch draws either from its keys or from a generator, never both)."""
    first = isinstance(samples[0], Keyed)
    return next((i for i, s in enumerate(samples) if isinstance(s, Keyed) != first), None)


@dataclass(frozen=True)
class Unkeyed:
    """A batch without its Keyed wrappers: keys (N,) uint64 and the source sizes the wrappers gave (a
    reduced decode's originals; None per sample without one), both None when the samples were not Keyed."""

    items: list[Any]
    keys: np.ndarray | None = None
    given_sizes: list[tuple[int, ...] | None] | None = None

    def source_sizes(self, shapes: Sequence[Sequence[int]]) -> np.ndarray | None:
        """(N, 2) int64 (height, width) of each sample's original: the given one, else the image's own
        shape[:2]; None when no sample gave one (nothing was decoded reduced)."""
        if self.given_sizes is None or all(g is None for g in self.given_sizes):
            return None
        return np.array(
            [tuple(s[:2]) if g is None else g for g, s in zip(self.given_sizes, shapes, strict=True)], np.int64
        )


def unwrap_keyed(samples: Sequence[Any]) -> Unkeyed:
    """The samples without their Keyed wrappers; the caller has refused a mix (keyed_mix)."""
    if not isinstance(samples[0], Keyed):
        return Unkeyed(list(samples))
    keys = np.array([int(s.key) & _UINT64 for s in samples], np.uint64)
    given = [None if s.source_size is None else tuple(int(v) for v in s.source_size) for s in samples]
    return Unkeyed([s.item for s in samples], keys, given)


# -- images ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRules:
    """What images a reader accepts, and its error messages (str.format templates with {name} and the
    field each names: {mode}, {device}, {dtype}, {type}, {shape})."""

    dtypes: tuple[str, ...]
    channels: tuple[int, ...] | None  # None: any channel count
    pil_mode: str
    device: str
    tensor_dtype: str
    array_dtype: str
    kind: str
    shape: str


def read_hwc(x: Any, name: str, rules: ImageRules, layout: str = "auto") -> np.ndarray | torch.Tensor:
    """x (numpy array, PIL image or CPU torch tensor) as an (H, W, C) view, a numpy array or a tensor as
    given (PIL pixels become a numpy array). layout: how a 3-D image is laid out, "HWC", "CHW", or "auto":
    numpy arrays (H, W, C), tensors as is_chw says. name starts each error message."""
    if is_pil(x):
        if x.mode not in PIL_MODES:
            raise ArgumentTypeError(rules.pil_mode.format(name=name, mode=x.mode))
        x = np.asarray(x)
    if isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            raise ArgumentError(rules.device.format(name=name, device=x.device))
        if x.dtype not in tuple(getattr(torch, d) for d in rules.dtypes):
            raise ArgumentTypeError(rules.tensor_dtype.format(name=name, dtype=x.dtype))
    elif isinstance(x, np.ndarray):
        if x.dtype not in rules.dtypes:
            raise ArgumentTypeError(rules.array_dtype.format(name=name, dtype=x.dtype))
    else:
        raise ArgumentTypeError(rules.kind.format(name=name, type=type(x).__name__))
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim == 3:
        chw = layout == "CHW" or (layout == "auto" and isinstance(x, torch.Tensor) and is_chw(x.shape))
        if chw:
            x = x.permute(1, 2, 0) if isinstance(x, torch.Tensor) else x.transpose(1, 2, 0)
    if x.ndim != 3 or (rules.channels is not None and x.shape[2] not in rules.channels):
        raise ArgumentError(rules.shape.format(name=name, shape=tuple(x.shape)))
    return x


# -- the pipeline ----------------------------------------------------------------------------------------------


def ending_in_normalize(pipeline: Compose) -> Compose:
    """pipeline, or, when it does not end with Normalize, the same pipeline (its generator, its options)
    with Normalize(mean=0, std=1) appended: the training tensor float32 in [0, 1], NCHW (ToTensor)."""
    if pipeline.transforms and isinstance(pipeline.transforms[-1], Normalize):
        return pipeline
    return Compose(
        [*pipeline.transforms, Normalize(mean=0.0, std=1.0)],
        seed=pipeline.rng,
        antialias=pipeline.antialias,
        mask_fill=pipeline.mask_fill,
        min_box_area=pipeline.min_box_area,
        drop_empty_boxes=pipeline.drop_empty_boxes,
        copies=pipeline.copies,
    )


def source_index(pipeline: Compose, n: int, drawn: list[Any]) -> np.ndarray | None:
    """For each output sample of a batch of n, its input sample (copies, a first Tiles), or None when they
    are the same; drawn: the pipeline's return_params."""
    first_tiles = isinstance(pipeline.transforms[0], Tiles)
    if pipeline.copies == 1 and not first_tiles:
        return None
    index = np.repeat(np.arange(n), pipeline.copies)
    return index[np.asarray(drawn[0]["source"], np.int64)] if first_tiles else index


def empty_shared(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor in shared memory: a DataLoader worker's queue then sends a handle, not the
    data. Its pages are mapped in one madvise call (prefault_writable) rather than one page fault at a time
    on the first write."""
    numel = int(np.prod(shape, dtype=np.int64))
    nbytes = numel * torch.empty((), dtype=dtype).element_size()
    storage = torch.UntypedStorage._new_shared(nbytes)
    prefault_writable(storage.data_ptr(), nbytes)
    return torch.empty((0,), dtype=dtype).set_(storage, 0, shape)  # type: ignore[call-overload]


_MADV_POPULATE_WRITE = 23  # Linux >= 5.14
_madvise: Any = None  # libc's madvise once looked up; False where it is missing or the kernel refused


def prefault_writable(address: int, nbytes: int) -> None:
    """Maps the pages of [address, address + nbytes) writable now, with madvise(MADV_POPULATE_WRITE): torch
    fallocates a shared buffer's pages but maps each on its first write, one fault per 4 KiB page; one call
    maps them all (measured: 38.5 MB, 17.8 ms of faults in the first write -> 8.5 ms madvise + 5.1 ms
    write). Silently nothing where the call is unavailable (not Linux, older kernels): the first write then
    faults the pages in as before. The contents are untouched (the pages stay zero)."""
    global _madvise
    if _madvise is False or nbytes <= 0:
        return
    if _madvise is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            libc.madvise.restype = ctypes.c_int
            _madvise = libc.madvise
        except (OSError, AttributeError):
            _madvise = False
            return
    page = mmap.PAGESIZE
    start = address & ~(page - 1)
    length = (address + nbytes - start + page - 1) & ~(page - 1)
    if _madvise(start, length, _MADV_POPULATE_WRITE) != 0:
        _madvise = False
