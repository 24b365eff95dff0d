"""fastaug's Numba CUDA fallback: the operators of fastaug._numba (same names, same positional arguments,
same checks and error messages, same bits) over numba.cuda device arrays of shape (N, H, W, C) with any
strides, dst written in place, plus a keyword-only stream= (a numba.cuda stream, or 0 for the default
stream) on which everything is queued: no operator synchronises the device or copies back to the host.

The host-side work (checks, inverse maps, kernels, tables) is fastaug._numba's own; the per-pixel maths is
its helpers compiled as device functions (see _device.py). Imported lazily: importing it imports
numba.cuda; kernels compile on first use."""

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
