"""fastaug's Numba fallback backend: the same operators, names and argument lists as the native module
fastaug._C, over numpy arrays of shape (N, H, W, C) (any strides; dst written in place) instead of DLPack
capsules. Each module mirrors its C++ twin in csrc/ops/ (and _common.py mirrors csrc/common/), doing the
arithmetic in float32 in the same order, so that both backends give the same bits.

Imported lazily by fastaug._backend: importing this package imports numba; kernels compile on first use
and are cached on disk."""

from .copy import crop, flip, rotate90, tiles
from .filter import box_blur, filter2d, gaussian_blur, median_blur, sep_filter2d
from .intensity import (
    channel_mean,
    color_transform,
    equalize,
    hue_shift,
    invert,
    lut,
    normalize,
    threshold,
    to_gray,
)
from .resize import resize
from .sobel import edges, sobel
from .warp import warp_affine, warp_affine_backward, warp_perspective, warp_perspective_backward

__all__ = [
    "box_blur",
    "channel_mean",
    "color_transform",
    "crop",
    "edges",
    "equalize",
    "filter2d",
    "flip",
    "gaussian_blur",
    "hue_shift",
    "invert",
    "lut",
    "median_blur",
    "normalize",
    "resize",
    "rotate90",
    "sep_filter2d",
    "sobel",
    "threshold",
    "tiles",
    "to_gray",
    "warp_affine",
    "warp_affine_backward",
    "warp_perspective",
    "warp_perspective_backward",
]
