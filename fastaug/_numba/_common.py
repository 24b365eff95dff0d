"""Per-pixel maths shared by the Numba kernels, mirroring csrc/common/border.hpp (map_border),
interp.hpp (cubic_weights, clamp_coord, accumulate_taps, sample) and saturate.hpp (saturate, half_bits,
bfloat16_bits).

All arithmetic is float32 as in C++: Numba promotes float32 op int64 (and float literals) to float64,
so every constant is an f32(...) and every integer is cast with f32() before it meets a float.

Per-pixel helpers that take arrays are inline="always": a real call passes each array with atomic
reference counting, which costs more than the pixel's maths and contends between threads."""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ._view import Layout

f32 = np.float32

# Border (values of OpenCV's BORDER_*).
CONSTANT, REPLICATE, REFLECT, WRAP, REFLECT101 = 0, 1, 2, 3, 4
# Interp (values of OpenCV's INTER_*).
NEAREST, LINEAR, CUBIC, AREA = 0, 1, 2, 3

# ---- border.hpp ---------------------------------------------------------------------------------------


@numba.njit(cache=True)
def floor_mod(a: int, m: int) -> int:
    # Python's (and Numba's) integer % already rounds towards -inf: the C++ r < 0 fix-up is built in.
    return a % m


@numba.njit(cache=True)
def map_border(i: int, n: int, border: int) -> int:
    """Maps coordinate i to [0, n), or -1 for CONSTANT outside the image (cv::borderInterpolate)."""
    if 0 <= i < n:
        return i
    if border == CONSTANT:
        return -1
    if border == REPLICATE:
        return 0 if i < 0 else n - 1
    if border == REFLECT:  # fedcba|abcdefgh|hgfedcb
        m = floor_mod(i, 2 * n)
        return m if m < n else 2 * n - 1 - m
    if border == REFLECT101:  # gfedcb|abcdefgh|gfedcba
        if n == 1:
            return 0
        m = floor_mod(i, 2 * n - 2)
        return m if m < n else 2 * n - 2 - m
    if border == WRAP:
        return floor_mod(i, n)
    return -1


# ---- interp.hpp ---------------------------------------------------------------------------------------


@numba.njit(cache=True)
def cubic_weights(t: float, w: np.ndarray) -> None:
    """Keys' cubic convolution weights with A = -0.75 (OpenCV's interpolateCubic) into w[0:4]."""
    A = f32(-0.75)
    one = f32(1.0)
    t1 = t + one
    w[0] = ((A * t1 - f32(5.0) * A) * t1 + f32(8.0) * A) * t1 - f32(4.0) * A
    w[1] = ((A + f32(2.0)) * t - (A + f32(3.0))) * t * t + one
    u = one - t
    w[2] = ((A + f32(2.0)) * u - (A + f32(3.0))) * u * u + one
    w[3] = one - w[0] - w[1] - w[2]


@numba.njit(cache=True)
def clamp_coord(v: float) -> float:
    """Keeps the conversion to an integer from overflowing; this far out every border maps alike."""
    lim = f32(4194304.0)  # 2^22: the integer conversions and the rounding trick are exact below it
    return -lim if v < -lim else (lim if v > lim else v)


@numba.njit(cache=True, inline="always")
def accumulate_taps(
    src: np.ndarray,
    s: Layout,
    base: int,
    y0: int,
    x0: int,
    k: int,
    wy: np.ndarray,
    wx: np.ndarray,
    border: int,
    fill: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[c] = sum over the k x k taps from (y0, x0) of (wy[i] * wx[j]) * pixel, over i then j (the C++
    order, on both paths: same bits). base is the buffer index of the image's pixel (0, 0, 0)."""
    for c in range(s.c):
        out[c] = f32(0.0)
    if y0 >= 0 and x0 >= 0 and y0 + k <= s.h and x0 + k <= s.w:  # interior: no border lookups
        row = base + y0 * s.sh + x0 * s.sw
        for i in range(k):
            for j in range(k):
                wgt = wy[i] * wx[j]
                p = row + j * s.sw
                for c in range(s.c):
                    out[c] += wgt * f32(src[p + c * s.sc])
            row += s.sh
        return
    for i in range(k):
        yy = map_border(y0 + i, s.h, border)
        for j in range(k):
            xx = map_border(x0 + j, s.w, border)
            wgt = wy[i] * wx[j]
            if yy < 0 or xx < 0:
                for c in range(s.c):
                    out[c] += wgt * fill[c]
            else:
                p = base + yy * s.sh + xx * s.sw
                for c in range(s.c):
                    out[c] += wgt * f32(src[p + c * s.sc])


@numba.njit(cache=True)
def fast_floor(v: float) -> int:
    """floor() of a clamped coordinate (|v| <= 2^22) through a 32-bit int, as C++ (same result as floorf)."""
    i = np.int32(v)
    return np.int64(i - 1 if f32(i) > v else i)


@numba.njit(cache=True)
def round_half_even(v: float) -> int:
    """C++'s (v + 1.5 * 2^23) - 1.5 * 2^23 then static_cast<int>: nearest, ties to even (cvRound), exact for
    |v| < 2^22, the clamp of every coordinate."""
    magic = f32(12582912.0)
    return np.int64(np.int32((v + magic) - magic))


@numba.njit(cache=True, inline="always")
def window(fy: float, fx: float, interp: int, wy: np.ndarray, wx: np.ndarray) -> tuple[int, int, int]:
    """interp.hpp's window<I>: the k x k window of taps that interp reads at (fy, fx) (clamped here), as its
    first tap (y0, x0) and k, with its row and column weights in wy[0:k] and wx[0:k]. The one place these are
    computed: sample and the warps' backward both take them from here."""
    fy = clamp_coord(fy)
    fx = clamp_coord(fx)
    if interp == NEAREST:
        wy[0] = wx[0] = f32(1.0)
        return round_half_even(fy), round_half_even(fx), 1
    if interp == LINEAR:
        y0 = fast_floor(fy)
        x0 = fast_floor(fx)
        ty = fy - f32(y0)
        tx = fx - f32(x0)
        wy[0] = f32(1.0) - ty
        wy[1] = ty
        wx[0] = f32(1.0) - tx
        wx[1] = tx
        return y0, x0, 2
    y0 = fast_floor(fy)
    x0 = fast_floor(fx)
    cubic_weights(fy - f32(y0), wy)
    cubic_weights(fx - f32(x0), wx)
    return y0 - 1, x0 - 1, 4


@numba.njit(cache=True, inline="always")
def sample(
    src: np.ndarray,
    s: Layout,
    base: int,
    fy: float,
    fx: float,
    interp: int,
    border: int,
    fill: np.ndarray,
    wy: np.ndarray,
    wx: np.ndarray,
    out: np.ndarray,
) -> None:
    """Samples the image at (fy, fx) into out[0:C]; wy and wx are 4-float scratch arrays. One
    accumulate_taps call site for every interpolation keeps the inlined code (and the compile time) small."""
    y0, x0, k = window(fy, fx, interp, wy, wx)
    accumulate_taps(src, s, base, y0, x0, k, wy, wx, border, fill, out)


# ---- saturate.hpp -------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def saturate_u8(v: float) -> np.uint8:
    """saturate_cast<uint8_t>(v): clamp to [0, 255] (NaN -> 0), then round half to even with C++'s
    (v + 1.5 * 2^23) - 1.5 * 2^23 (exact on that range; np.rint has no CUDA implementation)."""
    v = f32(v)  # a double (math.sqrt under the CUDA simulator) is rounded first, as C++ does
    v = v if v > f32(0.0) else f32(0.0)
    v = v if v < f32(255.0) else f32(255.0)
    magic = f32(12582912.0)
    return np.uint8((v + magic) - magic)


def saturate(v: float, out: np.ndarray):  # type: ignore[no-untyped-def]
    """saturate_cast<T>(v) for T = out's dtype: saturate_u8 for uint8, v itself for float32. Inside Numba
    kernels (CPU and CUDA) the overload below picks the branch at compile time; this Python body is what
    the CUDA simulator runs."""
    return saturate_u8(v) if out.dtype == np.uint8 else v


@overload(saturate, jit_options={"cache": True})
def _saturate(v, out):  # type: ignore[no-untyped-def]
    if out.dtype == types.uint8:
        return lambda v, out: saturate_u8(v)
    return lambda v, out: v


# ---- saturate.hpp: float16 and bfloat16 outputs -------------------------------------------------------

# normalize's output formats: float32, float16, bfloat16. Numba has neither 16-bit float, so those outputs
# are written as their bit patterns through a uint16 view (fastaug._interop passes a bfloat16 array, which
# NumPy cannot hold, as its uint16 bits).
F32, F16, BF16 = 0, 1, 2


@intrinsic
def _bitcast_f32(typingctx, v):  # type: ignore[no-untyped-def]
    """The bits of a float32 as a uint32 (an LLVM bitcast, on the CPU and on CUDA)."""
    if v != types.float32:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(32))

    return types.uint32(types.float32), codegen


def float_bits(v):  # type: ignore[no-untyped-def]
    """saturate.hpp's float_bits: v's float32 bits as an integer (Python body for the CUDA simulator)."""
    return int(np.float32(v).view(np.uint32))


@overload(float_bits, jit_options={"cache": True})
def _float_bits(v):  # type: ignore[no-untyped-def]
    return lambda v: _bitcast_f32(f32(v))


@numba.njit(cache=True, inline="always")
def half_bits(v):  # type: ignore[no-untyped-def]
    """saturate.hpp's half_bits: float32 -> IEEE binary16 bits, round to nearest even (NaN -> quiet NaN)."""
    x = float_bits(v)
    sign = (x >> 16) & 0x8000
    a = x & 0x7FFFFFFF
    if a >= 0x47800000:  # inf, NaN, or a value that rounds to inf
        return sign | (0x7E00 if a > 0x7F800000 else 0x7C00)
    if a >= 0x38800000:  # a normal float16: rebias, round the 13 dropped bits to even
        return sign | ((a - 0x38000000 + 0xFFF + ((a >> 13) & 1)) >> 13)
    return sign | (float_bits(abs(f32(v)) + f32(0.5)) - 0x3F000000)  # a subnormal: units of 2^-24


@numba.njit(cache=True, inline="always")
def bfloat16_bits(v):  # type: ignore[no-untyped-def]
    """saturate.hpp's bfloat16_bits: float32 -> bfloat16 bits, round to nearest even (NaN -> 0x7FC0)."""
    x = float_bits(v)
    if (x & 0x7FFFFFFF) > 0x7F800000:
        return 0x7FC0
    return (x + 0x7FFF + ((x >> 16) & 1)) >> 16


@numba.njit(cache=True, inline="always")
def store_float(out: np.ndarray, i: int, v: float, fmt: int) -> None:
    """out[i] = saturate_cast<float / Half / BFloat16>(v): v into a float32 array, or its float16 or bfloat16
    bits into a uint16 array (fmt F16 or BF16)."""
    if fmt == F32:
        out[i] = v
    elif fmt == F16:
        out[i] = half_bits(v)
    else:
        out[i] = bfloat16_bits(v)


# ---- a pixel's bytes as one word (CPU kernels) --------------------------------------------------------


@intrinsic
def load_word(typingctx, buf, i):  # type: ignore[no-untyped-def]
    """The 4 bytes of the uint8 array buf from index i as one uint32, byte i in bits 0-7 (little-endian, as
    every CPU Numba targets): an unaligned load, the scalar form of the C++ AVX2 paths' 32-bit gathers, that
    reads a pixel of up to 4 uint8 channels at once. Unchecked: the caller keeps i + 4 within buf."""
    if not (isinstance(buf, types.Array) and buf.dtype == types.uint8 and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        at = builder.gep(data, [context.cast(builder, args[1], signature.args[1], types.intp)])
        return builder.load(builder.bitcast(at, ir.IntType(32).as_pointer()), align=1)

    return types.uint32(buf, i), codegen


@numba.njit(cache=True, inline="always")
def word_channel(v: int, c: int) -> np.int32:
    """Byte c of a load_word word (channel c of its pixel), as an int32: Numba's uint32 maths is 64-bit, and
    64-bit lanes would halve the vectors of the loops that use it."""
    return np.int32((v >> np.uint32(8 * c)) & np.uint32(255))
