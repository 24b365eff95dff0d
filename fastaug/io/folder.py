"""Map-style datasets of image files for PyTorch DataLoaders (no torch needed here): ImageFiles (paths and
labels) and ImageFolder (torchvision's root/class_x/image.jpg layout).

With a pipeline, each fetch returns a Keyed sample: its draw key comes from SampleKeys (the k-th fetch of
index i draws from sample_keys(seed, k, i)), so fastaug.torch.Collate draws the same parameters for it in
whichever worker and batch it lands. With crop_aware=True (the default) the dataset draws the pipeline's
leading geometric run for the sample itself (Compose.geometry with the same key: the same draws the
collate will make), reads the size from the file's header, and decodes the JPEG at the smallest DCT scale
(1/2, 1/4, 1/8) that still leaves one source pixel per output pixel (choose_scale); the sample carries the
original size (Keyed.source_size), and the collate's one warp reads the reduced pixels. Decode, crop,
resize, flip and rotation are thus one reduced decode and one warp per image."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import ArgumentError, ArgumentTypeError
from ..transforms.compose import Compose
from ..transforms.geometric import Tiles
from ..transforms.keyed import Keyed, SampleKeys, SampleRandom
from .decode import check_options, choose_scale, decode, image_size, read_source

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


class ImageFiles:
    """A dataset of image files with integer labels: item i is (image, label), the image an (H, W, C) uint8
    array (fastaug.io.decode), or, with a `pipeline` (a Compose starting with its geometric transforms),
    a Keyed((image, label), key, source_size) for fastaug.torch.Collate(pipeline) to augment.

    - seed: the draws' seed (SampleKeys); None draws one from fresh entropy (see set_epoch to resume).
    - crop_aware: decode JPEGs at a reduced scale chosen from the sample's own crop (module docstring);
      False decodes at full size and leaves the antialiasing to the pipeline's warp.
    - mode: "RGB" or "L"; decoder: see fastaug.io.decode.

    Picklable: DataLoader workers started by fork, forkserver or spawn share the fetch counts (SampleKeys),
    so the k-th fetch of a sample draws the same parameters whatever num_workers."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        labels: Sequence[int] | None = None,
        pipeline: Compose | None = None,
        seed: int | None = None,
        *,
        crop_aware: bool = True,
        mode: str = "RGB",
        decoder: str = "auto",
    ) -> None:
        self.paths = [os.fspath(p) for p in paths]
        self.labels = [0] * len(self.paths) if labels is None else [int(v) for v in labels]
        if len(self.labels) != len(self.paths):
            raise ArgumentError(f"labels: expected one per path ({len(self.paths)}), got {len(self.labels)}")
        if pipeline is not None and not isinstance(pipeline, Compose):
            raise ArgumentTypeError(f"pipeline: expected a fastaug Compose or None, got {type(pipeline).__name__}")
        if not isinstance(crop_aware, (bool, np.bool_)):
            raise ArgumentTypeError(f"crop_aware: expected True or False, got {crop_aware!r}")
        if pipeline is not None and crop_aware and (0 not in pipeline.runs or isinstance(pipeline[0], Tiles)):
            raise ArgumentError(
                "crop_aware: the pipeline must start with a geometric transform other than Tiles (its crop "
                "chooses the decode scale); pass crop_aware=False"
            )
        check_options(1, mode, decoder)
        self.pipeline = pipeline
        self.crop_aware = bool(crop_aware)
        self.mode, self.decoder = mode, decoder
        self.keys = SampleKeys(len(self.paths), seed)

    @property
    def seed(self) -> int:
        return self.keys.seed

    def __len__(self) -> int:
        return len(self.paths)

    def set_epoch(self, epoch: int) -> None:
        """Every sample's next fetch draws as the fetch of `epoch` (SampleKeys.set_epoch): call it when
        resuming a run at that epoch."""
        self.keys.set_epoch(epoch)

    def _index(self, index: Any) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise ArgumentTypeError(f"index: expected an int, got {type(index).__name__}")
        i = int(index) + (len(self) if index < 0 else 0)
        if not 0 <= i < len(self):
            raise IndexError(f"index: expected -{len(self)} <= index < {len(self)}, got {index}")
        return i

    def __getitem__(self, index: int) -> Any:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """The samples of `indices` (a DataLoader fetches a batch through this): with crop-aware decoding,
        one Compose.geometry call draws every sample's crop (the draws are per sample: the same as one call
        per sample, for a fraction of the Python overhead)."""
        index = [self._index(i) for i in indices]
        blobs = [read_source(self.paths[i], "paths") for i in index]
        labels = [self.labels[i] for i in index]
        if self.pipeline is None:
            return [(decode(b, 1, self.mode, self.decoder), label) for b, label in zip(blobs, labels, strict=True)]
        keys = [self.keys.key(i) for i in index]
        if not self.crop_aware:
            return [
                Keyed((decode(b, 1, self.mode, self.decoder), label), key)
                for b, label, key in zip(blobs, labels, keys, strict=True)
            ]
        sizes = [image_size(b) for b in blobs]
        mats, size = self.pipeline.geometry(sizes, SampleRandom(np.array(keys, np.uint64)))
        # the least scale of a sample's copies when the pipeline makes several
        scales = choose_scale(mats, size).reshape(len(index), -1).min(axis=1).tolist()
        return [
            Keyed((decode(b, k, self.mode, self.decoder), label), key, hw)
            for b, k, label, key, hw in zip(blobs, scales, labels, keys, sizes, strict=True)
        ]


def find_classes(root: str | os.PathLike[str]) -> tuple[list[str], dict[str, int]]:
    """The class folders of `root`, sorted, and their labels (torchvision's ImageFolder.find_classes)."""
    try:
        classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    except OSError as e:
        raise ArgumentError(f"root: cannot list {os.fspath(root)!r}: {e.strerror or e}") from e
    if not classes:
        raise ArgumentError(f"root: no class folders in {os.fspath(root)!r}")
    return classes, {name: i for i, name in enumerate(classes)}


class ImageFolder(ImageFiles):
    """torchvision's ImageFolder layout: root/<class>/**/<image>, classes sorted by name and labelled 0, 1,
    ...; files with one of `extensions` (case-insensitive) are taken, sorted within each class. The other
    arguments are ImageFiles's. Attributes: classes, class_to_idx, samples ((path, label) pairs), targets."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        pipeline: Compose | None = None,
        seed: int | None = None,
        *,
        crop_aware: bool = True,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        mode: str = "RGB",
        decoder: str = "auto",
    ) -> None:
        self.root = os.fspath(root)
        self.classes, self.class_to_idx = find_classes(root)
        wanted = tuple(e.lower() for e in extensions)
        samples = []
        for name in self.classes:
            found = []
            for folder, _, files in os.walk(os.path.join(self.root, name), followlinks=True):
                found += [os.path.join(folder, f) for f in files if f.lower().endswith(wanted)]
            samples += [(path, self.class_to_idx[name]) for path in sorted(found)]
        if not samples:
            raise ArgumentError(f"root: no files with extensions {wanted} under {self.root!r}")
        self.samples = samples
        self.targets = [label for _, label in samples]
        super().__init__(
            [p for p, _ in samples],
            self.targets,
            pipeline,
            seed,
            crop_aware=crop_aware,
            mode=mode,
            decoder=decoder,
        )
