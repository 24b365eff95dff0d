"""Image decoding for training loaders, with JPEG's reduced-scale (DCT) decoding.

libjpeg-turbo can decode a JPEG at 1/2, 1/4 or 1/8 of its size for a fraction of the full decode's work:
it skips the high frequencies of every 8x8 block instead of computing pixels that a later downscale would
throw away. A RandomResizedCrop to 224 of a 512 px photograph reads the crop at 1-2 source pixels per
output pixel or more, so the decode can often be done at 1/2 or 1/4 (`choose_scale`), and the pipeline's
one warp then reads the reduced pixels (Compose(..., source_sizes=)). Three wrappers of libjpeg-turbo are
supported, all giving the same pixels (they call the same library with the same settings):

- simplejpeg (``decoder="simplejpeg"``): decode_jpeg(min_height=, min_width=); the fastest here, used by
  ``"auto"`` when it is installed;
- OpenCV (``"opencv"``): cv2.imdecode with IMREAD_REDUCED_*; ``"auto"``'s choice without simplejpeg;
- Pillow (``"pil"``): Image.draft; the slowest of the three here (it decodes into its own storage, then
  copies into the array).

Other formats (PNG, BMP, WebP, ...) decode at full size with OpenCV or Pillow, whichever is installed (the
scale is ignored: the returned shape tells). EXIF orientation is never applied (as torchvision's
ImageFolder with its PIL loader), so the decoded size always matches `image_size`."""

from __future__ import annotations

import functools
import io
import os
import struct
from typing import Any

import numpy as np

from .._errors import ArgumentError, ArgumentTypeError

SCALES = (1, 2, 4, 8)
DECODERS = ("simplejpeg", "opencv", "pil")
MODES = ("RGB", "L")

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# start-of-frame markers (baseline, extended, progressive, lossless, arithmetic): C0-CF less DHT, JPG, DAC
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@functools.cache
def _available(name: str) -> bool:
    module = {"simplejpeg": "simplejpeg", "opencv": "cv2", "pil": "PIL.Image"}[name]
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def decoders() -> list[str]:
    """The installed decoders, in "auto"'s order of preference (fastest first, as measured on a 2-core Xeon:
    simplejpeg and OpenCV within a few percent of each other, Pillow 1.3-2x slower)."""
    return [name for name in DECODERS if _available(name)]


def read_source(source: Any, name: str = "source") -> bytes:
    """The encoded bytes of `source`: a path (str or os.PathLike), or bytes-like data (returned as bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, np.ndarray) and source.dtype == np.uint8:
        return source.tobytes()
    if not isinstance(source, (str, os.PathLike)):
        raise ArgumentTypeError(f"{name}: expected a path or the encoded bytes, got {type(source).__name__}")
    try:
        with open(source, "rb") as f:
            return f.read()
    except OSError as e:
        raise ArgumentError(f"{name}: cannot read {os.fspath(source)!r}: {e.strerror or e}") from e


def is_jpeg(data: bytes) -> bool:
    return data[:3] == _JPEG_MAGIC


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a JPEG's start-of-frame segment, walking the marker segments from SOI."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # segments without a length
            i += 2
            continue
        (length,) = struct.unpack_from(">H", data, i + 2)
        if marker in _SOF:
            if i + 9 > n:
                return None
            h, w = struct.unpack_from(">HH", data, i + 5)
            return (h, w) if h > 0 and w > 0 else None
        i += 2 + length
    return None


def image_size(source: Any) -> tuple[int, int]:
    """(height, width) of an encoded image read from its header, without decoding its pixels: JPEG and PNG
    by fastaug's own header parsing, other formats through Pillow (which reads headers lazily)."""
    data = read_source(source)
    size: tuple[int, int] | None = None
    if is_jpeg(data):
        size = _jpeg_size(data)
    elif data[:8] == _PNG_MAGIC and data[12:16] == b"IHDR" and len(data) >= 24:
        w, h = struct.unpack_from(">II", data, 16)
        size = (h, w) if h > 0 and w > 0 else None
    elif _available("pil"):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                size = (im.size[1], im.size[0])
        except (UnidentifiedImageError, OSError, ValueError):
            size = None
    else:  # no header reader for this format: decode it
        h, w = decode(data).shape[:2]
        return int(h), int(w)
    if size is None:
        raise ArgumentError(f"source: not a readable image header ({_describe(source, data)})")
    return size


def _describe(source: Any, data: bytes) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    return f"{len(data)} bytes starting {data[:8]!r}"


def check_options(scale: Any, mode: Any, decoder: Any) -> str:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale not in SCALES:
        raise ArgumentError(f"scale: expected one of {SCALES} (the decode keeps 1/scale of each side), got {scale!r}")
    if mode not in MODES:
        raise ArgumentError(f"mode: expected one of {MODES}, got {mode!r}")
    if decoder == "auto":
        found = decoders()
        if not found:
            raise ArgumentError(
                "decoder: no decoder installed; pip install simplejpeg, opencv-python-headless or Pillow"
            )
        return found[0]
    if decoder not in DECODERS:
        raise ArgumentError(f"decoder: expected 'auto' or one of {DECODERS}, got {decoder!r}")
    if not _available(decoder):
        raise ArgumentError(f"decoder: {decoder!r} is not installed")
    return str(decoder)


def decode(source: Any, scale: int = 1, mode: str = "RGB", decoder: str = "auto") -> np.ndarray:
    """Decodes an image file or its bytes into an (H, W, C) uint8 array (C = 3 for mode "RGB", 1 for "L").

    scale in {1, 2, 4, 8}: a JPEG is decoded at 1/scale by libjpeg-turbo's DCT scaling, giving
    ceil(height / scale) x ceil(width / scale) pixels (the exact factor Compose(source_sizes=) expects);
    other formats are decoded at full size whatever the scale (compare the shape with `image_size`).
    decoder: "auto" (the fastest installed: see `decoders()`), "simplejpeg", "opencv" or "pil"; non-JPEG
    images go to OpenCV or Pillow (simplejpeg reads JPEG only)."""
    chosen = check_options(scale, mode, decoder)
    data = read_source(source)
    if not data:
        raise ArgumentError(f"source: no data ({_describe(source, data)})")
    jpeg = is_jpeg(data)
    if not jpeg and chosen == "simplejpeg":
        others = [d for d in decoders() if d != "simplejpeg"]
        if not others:
            raise ArgumentError(f"source: not a JPEG, and only simplejpeg is installed ({_describe(source, data)})")
        chosen = others[0]
    try:
        image = _DECODE[chosen](data, scale if jpeg else 1, mode)
    except (ValueError, OSError, SyntaxError) as e:  # the libraries' "cannot decode" errors
        raise ArgumentError(f"source: cannot decode {_describe(source, data)}: {e}") from e
    if image is None or image.size == 0:
        raise ArgumentError(f"source: cannot decode {_describe(source, data)}")
    return image


def _decode_simplejpeg(data: bytes, scale: int, mode: str) -> np.ndarray:
    import simplejpeg

    colorspace = "RGB" if mode == "RGB" else "GRAY"
    if scale == 1:
        return simplejpeg.decode_jpeg(data, colorspace)
    h, w = simplejpeg.decode_jpeg_header(data)[:2]
    # the smallest libjpeg-turbo scale (n/8) keeping at least these sizes is exactly 1/scale
    return simplejpeg.decode_jpeg(data, colorspace, min_height=-(-h // scale), min_width=-(-w // scale))


def _decode_opencv(data: bytes, scale: int, mode: str) -> np.ndarray:
    import cv2

    grey = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2}
    grey |= {4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
    # IMREAD_COLOR_RGB with a reduced grey flag: the reduced decode in RGB order (no BGR->RGB pass)
    flags = grey[scale] | cv2.IMREAD_IGNORE_ORIENTATION | (cv2.IMREAD_COLOR_RGB if mode == "RGB" else 0)
    image: Any
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as e:
        raise ValueError(str(e).strip()) from e
    if image is not None and image.ndim == 2:
        image = image[:, :, None]
    return image


def _decode_pil(data: bytes, scale: int, mode: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if scale > 1:
            w, h = im.size
            # draft picks the largest power-of-two scale keeping at least the requested size: floor(size /
            # scale) requests exactly 1/scale (size / floor(size / scale) < 2 * scale)
            im.draft(mode, (max(1, w // scale), max(1, h // scale)))
        if im.mode != mode:
            im = im.convert(mode)
        image = np.asarray(im)
    return image[:, :, None] if image.ndim == 2 else image


_DECODE = {"simplejpeg": _decode_simplejpeg, "opencv": _decode_opencv, "pil": _decode_pil}


def choose_scale(mats: Any, size: tuple[int, int]) -> np.ndarray:
    """(N,) decode scales for the samples whose leading geometric run maps source pixels to an output of
    `size` through `mats` (N, 3, 3) (Compose.geometry): per sample, the largest k in {1, 2, 4, 8} that still
    leaves at least one source pixel per output pixel along both axes, i.e. k <= both of its
    reduction_factors (a 1/k decode is then a low-pass the warp's own area pre-reduction would have done)."""
    from ..transforms.compose import reduction_factors

    mats = np.asarray(mats, np.float64)
    if mats.ndim != 3 or mats.shape[1:] != (3, 3):
        raise ArgumentError(f"mats: expected (N, 3, 3) matrices, got shape {mats.shape}")
    factors = reduction_factors(mats, size).min(axis=1)
    scales = np.array(SCALES)
    return scales[np.searchsorted(scales, factors, side="right") - 1]
