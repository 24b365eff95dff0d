"""Random augmentation pipelines: ``fastaug.Compose([...])`` of the transforms below, each sample of a
batch with its own draw, every run of geometric transforms fused into one warp (see Compose)."""

from .base import Transform
from .compose import Compose, reduction_factors
from .geometric import (
    Affine,
    CenterCrop,
    Geometric,
    HorizontalFlip,
    Pad,
    RandomAffine,
    RandomCrop,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotate90,
    Resize,
    VerticalFlip,
)
from .pixel import (
    BoxBlur,
    GaussianBlur,
    MedianBlur,
    Normalize,
    Pixel,
    RandomEqualize,
    RandomGrayscale,
    RandomInvert,
    RandomThreshold,
    Sharpen,
)
from .serialize import FORMAT_VERSION, PRESETS, from_dict, load, preset, save, to_dict

__all__ = [
    "FORMAT_VERSION",
    "PRESETS",
    "Affine",
    "BoxBlur",
    "CenterCrop",
    "Compose",
    "GaussianBlur",
    "Geometric",
    "HorizontalFlip",
    "MedianBlur",
    "Normalize",
    "Pad",
    "Pixel",
    "RandomAffine",
    "RandomCrop",
    "RandomEqualize",
    "RandomGrayscale",
    "RandomInvert",
    "RandomPerspective",
    "RandomResizedCrop",
    "RandomRotate90",
    "RandomThreshold",
    "Resize",
    "Sharpen",
    "Transform",
    "VerticalFlip",
    "from_dict",
    "load",
    "preset",
    "reduction_factors",
    "save",
    "to_dict",
]
