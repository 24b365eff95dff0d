"""fastaug: batched image augmentation with OpenCV semantics, native C++ kernels and a Numba fallback.

Images are (H, W), (H, W, C) or (N, H, W, C) numpy arrays, torch tensors or any DLPack producer, uint8 or
float32, C in {1, 3, 4}; results come back as the caller's type on the caller's device, never copied."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import transforms
from ._backend import backend, backends, get_num_threads, set_buffer_cache, set_num_threads
from ._errors import ArgumentError, ArgumentTypeError, FastaugError
from ._types import Border, Interp, ThresholdMode
from .functional import (
    affine_matrix,
    box_blur,
    channel_mean,
    color_transform,
    crop,
    edges,
    equalize,
    filter2d,
    flip,
    gaussian_blur,
    hue_shift,
    invert,
    lut,
    median_blur,
    normalize,
    resize,
    rotate90,
    sep_filter2d,
    sobel,
    threshold,
    tiles,
    to_gray,
    warp_affine,
    warp_perspective,
)
from .transforms import Compose

__version__ = "0.1.0"


if TYPE_CHECKING:
    cmake_prefix_path: str  # where the C++ package is (the folder holding include/ and lib/cmake/fastaug)
else:
    # Hidden from type checkers: a module __getattr__ would type every unknown attribute of fastaug as str.

    def __getattr__(name: str) -> str:
        # fastaug.cmake_prefix_path: found on first use, so that `import fastaug` stays light
        if name == "cmake_prefix_path":
            from ._cmake import cmake_prefix_path

            return cmake_prefix_path()
        raise AttributeError(f"module 'fastaug' has no attribute {name!r}")


OPERATORS = (
    "warp_affine",
    "warp_perspective",
    "resize",
    "flip",
    "rotate90",
    "crop",
    "tiles",
    "filter2d",
    "sep_filter2d",
    "gaussian_blur",
    "box_blur",
    "median_blur",
    "equalize",
    "sobel",
    "edges",
    "to_gray",
    "threshold",
    "invert",
    "normalize",
    "lut",
    "color_transform",
    "channel_mean",
    "hue_shift",
)

__all__ = [
    "OPERATORS",
    "ArgumentError",
    "ArgumentTypeError",
    "Border",
    "Compose",
    "FastaugError",
    "Interp",
    "ThresholdMode",
    "__version__",
    "affine_matrix",
    "backend",
    "backends",
    "box_blur",
    "channel_mean",
    "color_transform",
    "crop",
    "edges",
    "equalize",
    "filter2d",
    "flip",
    "gaussian_blur",
    "get_num_threads",
    "hue_shift",
    "invert",
    "lut",
    "median_blur",
    "normalize",
    "resize",
    "rotate90",
    "sep_filter2d",
    "set_buffer_cache",
    "set_num_threads",
    "sobel",
    "threshold",
    "tiles",
    "to_gray",
    "transforms",
    "warp_affine",
    "warp_perspective",
]
