"""fastaug for PyTorch: differentiable operators registered as torch custom operators (torch.ops.fastaug.*,
traced by torch.compile). Importing this package needs torch; ``import fastaug`` never does."""

from __future__ import annotations

from . import ops
from .collate import Collate, KeyedDataset
from .functional import (
    box_blur,
    brightness,
    contrast,
    erase,
    filter2d,
    gamma,
    gaussian_blur,
    hue,
    normalize,
    resize,
    saturation,
    sep_filter2d,
    sobel,
    warp_affine,
    warp_perspective,
)
from .loader import DeviceLoader, Pack, PackedBatch

__all__ = [
    "Collate",
    "DeviceLoader",
    "KeyedDataset",
    "Pack",
    "PackedBatch",
    "box_blur",
    "brightness",
    "contrast",
    "erase",
    "filter2d",
    "gamma",
    "gaussian_blur",
    "hue",
    "normalize",
    "ops",
    "resize",
    "saturation",
    "sep_filter2d",
    "sobel",
    "warp_affine",
    "warp_perspective",
]
