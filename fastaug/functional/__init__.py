"""The functional API: one function per operator, batched, per-sample parameters."""

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
from .warp import affine_matrix, warp_affine, warp_perspective

__all__ = [
    "affine_matrix",
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
    "warp_perspective",
]
