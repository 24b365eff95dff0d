"""fastaug's Numba fallback backend: the same operators, names and argument lists as the native module
fastaug._C, over numpy arrays of shape (N, H, W, C) (any strides; dst written in place) instead of DLPack
capsules. Each module mirrors its C++ twin in csrc/ops/ (and _common.py mirrors csrc/common/), doing the
arithmetic in float32 in the same order, so that both backends give the same bits.

Imported lazily by fastaug._backend: importing this package imports numba; kernels compile on first use
and are cached on disk."""

from .copy import crop, flip, rotate90, tiles
from .filter import box_blur, filter2d, gaussian_blur, median_blur, sep_filter2d
from .intensity import equalize, invert, normalize, threshold, to_gray
from .resize import resize
from .sobel import edges, sobel
from .warp import warp_affine, warp_perspective

__all__ = [
    "warp_affine", "warp_perspective", "resize", "flip", "rotate90", "crop", "tiles", "filter2d", "sep_filter2d",
    "gaussian_blur", "box_blur", "median_blur", "sobel", "edges", "equalize", "to_gray", "threshold", "invert",
    "normalize",
]
