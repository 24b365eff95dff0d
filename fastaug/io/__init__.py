"""fastaug.io: decoding for training loaders (JPEG at a reduced DCT scale chosen from each sample's crop)
and map-style datasets of image files. Needs no torch: the datasets work with any loader that indexes
them; fastaug.torch.Collate runs the pipeline on their Keyed samples."""

from __future__ import annotations

from .decode import DECODERS, SCALES, choose_scale, decode, decoders, image_size
from .folder import IMAGE_EXTENSIONS, ImageFiles, ImageFolder, find_classes

__all__ = [
    "DECODERS",
    "IMAGE_EXTENSIONS",
    "SCALES",
    "ImageFiles",
    "ImageFolder",
    "choose_scale",
    "decode",
    "decoders",
    "find_classes",
    "image_size",
]
