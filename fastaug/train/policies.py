"""Differentiable augmentation policies for GAN training: DiffAugment (Zhao et al. 2020) and StyleGAN2-ADA's
adaptive 'bgc' pipeline (Karras et al. 2020), on NCHW float32 images in [-1, 1], run through fastaug's native
torch operators (fastaug/torch/ops.py) so that gradients flow to the images (and on into a generator).

Every random parameter is drawn on the CPU from the policy's own seeded ``torch.Generator`` (a CUDA batch
never waits for a draw), one value per sample; ``sample`` draws them and ``apply_params`` applies a draw, so a draw
can be replayed (the tests compare against plain-PyTorch transcriptions of the references with the same
parameters: fastaug/train/_reference.py).

- DiffAugment: the colour ops (brightness, saturation, contrast) of a sample fused into one colour matrix
  (contrast's image mean enters the offset as a torch mean, so its gradient reaches every pixel), the integer
  translation as one nearest-neighbour warp with a zero constant border (the same values as the reference's
  pad + gather), cutout as a 0/1 mask multiplied in (the reference's mask, built by broadcasting).
- ADA: every geometric op of a sample composed into one 3x3 matrix and one bilinear warp with the reflect101
  border (torch's 'reflect' padding, which the reference pads with), every colour op into the reference's 4x4
  colour matrix and one native colour transform; the samples whose ops were all gated off are left out of the
  native calls (one sub-batch), and p adapts towards E[sign(D(real))] = target with a cap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

import fastaug.torch.ops  # noqa: F401  (registers torch.ops.fastaug.*)

from .._errors import ArgumentError, ArgumentTypeError

__all__ = ["ADA", "ADA_OPS", "ADA_PRESETS", "DIFFAUGMENT_OPS", "DiffAugment", "Identity", "make_policy"]

_fa = torch.ops.fastaug

DIFFAUGMENT_OPS = ("color", "translation", "cutout")
ADA_GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
ADA_COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
ADA_OPS = ADA_GEOMETRIC + ADA_COLOR
ADA_PRESETS = {
    "blit": ("xflip", "rotate90", "xint"),
    "geom": ("scale", "rotate", "aniso", "xfrac"),
    "color": ADA_COLOR,
    "bg": ADA_GEOMETRIC,
    "bgc": ADA_OPS,
}


# ---------------------------------------------------------------------------------------------- helpers
def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    if generator is not None:
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            raise ArgumentTypeError(f"generator: expected a CPU torch.Generator, got {generator!r}")
        return generator
    g = torch.Generator()
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


def _check_images(x: Any, channels: tuple[int, ...] = (1, 3, 4)) -> None:
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"x: expected a torch tensor, got {type(x).__name__}")
    if x.dtype != torch.float32:
        raise ArgumentTypeError(f"x: expected a float32 tensor (images in [-1, 1]), got {x.dtype}")
    if x.dim() != 4 or x.shape[1] not in channels:
        want = " or ".join(map(str, channels))
        raise ArgumentError(f"x: expected an (N, C, H, W) tensor with C = {want}, got shape {tuple(x.shape)}")


def _ops_list(
    spec: str | Sequence[str], allowed: Sequence[str], what: str, presets: dict[str, Any] | None = None
) -> list[str]:
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for name in names:
        if presets and name in presets:
            out += [n for n in presets[name] if n not in out]
        elif name in allowed:
            if name not in out or what == "DiffAugment":
                out.append(name)
        elif name:
            more = f", or a preset ({', '.join(map(repr, presets))})" if presets else ""
            raise ArgumentError(
                f"policy: unknown {what} op {name!r} in {spec!r}; "
                f"expected ops from {', '.join(map(repr, allowed))}{more}"
            )
    if not out:
        raise ArgumentError(f"policy: expected at least one {what} op, got {spec!r}")
    return out


def _warp(x: Tensor, m: Tensor, interp: str, border: str) -> Tensor:
    """One native warp of an NCHW batch with forward matrices m (N, 2, 3) float64 (host)."""
    return _fa.warp_affine(x, m, x.shape[2], x.shape[3], interp, border, [0.0], True)


def _color(x: Tensor, lin: Tensor, offset: Tensor, backend: str = "native") -> Tensor:
    """One colour transform of an NCHW batch, out[c] = sum_k lin[n, c, k] x[k] + offset[n, c]: the native
    fastaug.color_transform, or (backend 'torch') one batched matrix product (torch.baddbmm)."""
    if backend == "torch":
        n, c, h, w = x.shape
        lin, offset = lin.to(x.device, x.dtype), offset.to(x.device, x.dtype)
        return torch.baddbmm(offset[:, :, None], lin, x.reshape(n, c, h * w)).view(n, c, h, w)
    return _fa.color_transform(x, lin, offset, True)


def _backend(value: Any) -> str:
    if value not in ("native", "torch"):
        raise ArgumentError(f"color_backend: expected 'native' or 'torch', got {value!r}")
    return str(value)


def _host(t: Tensor) -> np.ndarray:
    """A draw's CPU tensor as a NumPy array (no copy)."""
    return t.detach().cpu().numpy()


def _outside_boxes(lo: Any, size: tuple[int, int], ys: Any, xs: Any) -> Any:
    """(N, H, W) bool: whether each pixel lies outside its sample's box (rows lo[:, 0] + [0, size[0]), columns
    lo[:, 1] + [0, size[1])), for row and column indices ys, xs; NumPy arrays or torch tensors alike."""
    in_y = (ys >= lo[:, :1]) & (ys < lo[:, :1] + size[0])
    in_x = (xs >= lo[:, 1:]) & (xs < lo[:, 1:] + size[1])
    return ~(in_y[:, :, None] & in_x[:, None, :])


class Identity(torch.nn.Module):
    """The 'none' policy: returns its input."""

    def forward(self, x: Tensor) -> Tensor:
        return x


# ------------------------------------------------------------------------------------------- DiffAugment
class DiffAugment(torch.nn.Module):
    """DiffAugment (DiffAugment_pytorch.py) on NCHW float32 images in [-1, 1], differentiable with respect
    to x. policy: ops from 'color', 'translation', 'cutout', comma-separated, applied in the order written
    (a list works too). Per sample:

    - color: brightness x + b, b ~ U(-0.5, 0.5); saturation (x - mean_c) * s + mean_c, s ~ U(0, 2), mean_c the
      mean over the channels of each pixel; contrast (x - m) * k + m, k ~ U(0.5, 1.5), m the image's mean over
      C, H, W. As one colour matrix: out = k s x + k (1 - s) mean_c(x) + b + (1 - k) mean(x) (saturation keeps
      each pixel's channel mean, so contrast's m is mean(x) + b).
    - translation: an integer shift (dy, dx), each uniform in [-r, r], r = int(H * translation_ratio + 0.5)
      (int(W * ...) for dx): out[i, j] = x[i + dy, j + dx], 0 outside. A nearest warp with a constant 0
      border: the very values of the reference's pad + gather.
    - cutout: a square of side (int(H * cutout_ratio + 0.5), int(W * ...)) zeroed, its centre uniform as the
      reference draws it (it may hang over the edges): a 0/1 mask multiplied in.

    color_backend: 'torch' (default: the fused colour matrix as one torch.baddbmm, whose forward and backward
    run in torch's C++ autograd, measured 3-8% faster per step than the native op on both 2-core CPUs
    (benchmarks/policies.py); on a GPU it also keeps contrast's mean on the device) or 'native' (fastaug's
    colour transform, a torch custom operator: the same values within float rounding). seed or generator (a
    CPU torch.Generator): the parameter stream (drawn on the CPU). state_dict() carries the generator's
    state."""

    def __init__(
        self,
        policy: str | Sequence[str] = "color,translation,cutout",
        *,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
        color_backend: str = "torch",
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.ops = _ops_list(policy, DIFFAUGMENT_OPS, "DiffAugment")
        self.color_backend = _backend(color_backend)
        for name, v in (("translation_ratio", translation_ratio), ("cutout_ratio", cutout_ratio)):
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise ArgumentError(f"{name}: expected a number in [0, 1], got {v!r}")
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)
        self.generator = _generator(seed, generator)

    @property
    def policy(self) -> str:
        return ",".join(self.ops)

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}"

    def sample(self, n: int, height: int, width: int) -> list[tuple[str, dict[str, Tensor]]]:
        """One draw for a batch of n images of height x width: [(op, params)] in the policy's order (CPU
        tensors: color {brightness, saturation, contrast} (n,) float32, translation {shift} (n, 2) int64
        (dy, dx), cutout {centre} (n, 2) int64 (row, column) as the reference's offsets)."""
        g, out = self.generator, []
        for op in self.ops:
            if op == "color":  # the reference's three draws, in its order
                b = torch.rand(n, generator=g) - 0.5
                s = torch.rand(n, generator=g) * 2
                k = torch.rand(n, generator=g) + 0.5
                out.append((op, {"brightness": b, "saturation": s, "contrast": k}))
            elif op == "translation":
                ry, rx = int(height * self.translation_ratio + 0.5), int(width * self.translation_ratio + 0.5)
                dy = torch.randint(-ry, ry + 1, (n,), generator=g)
                dx = torch.randint(-rx, rx + 1, (n,), generator=g)
                out.append((op, {"shift": torch.stack([dy, dx], 1)}))
            else:
                sy, sx = self.cutout_size(height, width)
                cy = torch.randint(0, height + (1 - sy % 2), (n,), generator=g)
                cx = torch.randint(0, width + (1 - sx % 2), (n,), generator=g)
                out.append((op, {"centre": torch.stack([cy, cx], 1)}))
        return out

    def cutout_size(self, height: int, width: int) -> tuple[int, int]:
        return int(height * self.cutout_ratio + 0.5), int(width * self.cutout_ratio + 0.5)

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x)
        return self.apply_params(x, self.sample(x.shape[0], x.shape[2], x.shape[3]))

    def apply_params(self, x: Tensor, params: list[tuple[str, dict[str, Tensor]]]) -> Tensor:
        """x augmented with a draw from sample()."""
        for op, p in params:
            if op == "color":
                x = self._color(x, p["brightness"], p["saturation"], p["contrast"])
            elif op == "translation":
                x = self._translate(x, p["shift"])
            else:
                x = self._cutout(x, p["centre"])
        return x

    def _color(self, x: Tensor, b: Tensor, s: Tensor, k: Tensor) -> Tensor:
        n, c = x.shape[:2]
        kh, sh = _host(k), _host(s)  # the matrices in NumPy: a few tiny operations, each a fraction of torch's
        lin = torch.from_numpy(
            (kh * sh)[:, None, None] * np.eye(c, dtype=np.float32) + (kh * (1 - sh) / c)[:, None, None]
        )
        mean = x.mean((1, 2, 3))  # contrast's mean, a torch mean: its gradient reaches every pixel
        kd, bd = k.to(x.device, non_blocking=True), b.to(x.device, non_blocking=True)
        if x.device.type == "cpu" or self.color_backend == "torch":  # the native op reads offset on the host
            offset = (bd + (1 - kd) * mean)[:, None].expand(n, c)
            return _color(x, lin, offset, self.color_backend)
        # native on a GPU: the image-dependent term added by torch (no device -> host read of the mean)
        out = _color(x, lin, bd[:, None].expand(n, c).contiguous())
        return out + ((1 - kd) * mean)[:, None, None, None]

    @staticmethod
    def _translate(x: Tensor, shift: Tensor) -> Tensor:
        d = _host(shift)
        m = np.zeros((x.shape[0], 2, 3))
        m[:, 0, 0] = m[:, 1, 1] = 1
        m[:, 0, 2] = -d[:, 1]  # out[i, j] = x[i + dy, j + dx]: destination = source - shift
        m[:, 1, 2] = -d[:, 0]
        return _warp(x, torch.from_numpy(m), "nearest", "constant")

    def _cutout(self, x: Tensor, centre: Tensor) -> Tensor:
        """x times a 0/1 mask built by broadcasting the boxes' row and column ranges (measured cheaper than
        fastaug.torch.erase's torch.where, forward + backward, and the same values); for a CPU batch the mask is
        built in NumPy (a quarter of the time of torch's small operations at 32 px)."""
        h, w = x.shape[2:]
        sy, sx = self.cutout_size(h, w)
        lo = _host(centre) - np.array([sy // 2, sx // 2])
        if x.device.type == "cpu":
            keep = torch.from_numpy(_outside_boxes(lo, (sy, sx), np.arange(h), np.arange(w)).astype(np.float32))
        else:
            ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
            lo_dev = torch.from_numpy(lo).to(x.device, non_blocking=True)
            keep = _outside_boxes(lo_dev, (sy, sx), ys, xs).to(x.dtype)
        return x * keep[:, None]

    def get_extra_state(self) -> dict[str, Any]:
        return {"policy": self.policy, "generator": self.generator.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if state.get("policy") != self.policy:
            raise ArgumentError(
                f"state_dict: a DiffAugment state for policy {state.get('policy')!r}, this one is {self.policy!r}"
            )
        self.generator.set_state(state["generator"])


# --------------------------------------------------------------------------------------------------- ADA
# The matrices in closed form, elementwise over the batch (a few dozen (N,)-array operations: composing 3x3 and 4x4
# matrices one op at a time took about five times as long, 0.66 vs 0.13 ms at batch 64 on a 2-core Zen 3, as long as
# the warp at 32 px). The tests hold them to the one-op-at-a-time transcriptions of augment.py (_reference.py).
_COS90, _SIN90 = np.array([1.0, 0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0, -1.0])  # rotate90's exact cos and sin
_LUMA = np.array([1.0, 1.0, 1.0]) / math.sqrt(3)
_P = np.outer(_LUMA, _LUMA)  # projection onto the luma axis
_Q = np.eye(3) - _P  # onto the chroma plane
_K = np.array([[0, -_LUMA[2], _LUMA[1]], [_LUMA[2], 0, -_LUMA[0]], [-_LUMA[1], _LUMA[0], 0]])  # [luma]x
_PQK = np.stack([_P, _Q, _K]).reshape(3, 9)


def _np(t: Tensor) -> np.ndarray:
    return _host(t.double())  # (the draws are float64 CPU tensors already: no copy)


def _arrays(params: dict[str, Tensor]) -> dict[str, np.ndarray]:
    return {k: _np(v) for k, v in params.items() if k not in ("geometric", "color")}


def _geometry(q: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """G_inv = [L | t] of a draw (L (N, 2, 2), t (N, 2)): augment.py's product xflip @ rotate90 @ xint @ scale @
    pre-rotation @ aniso @ post-rotation @ xfrac of the ops' inverses. The linear ops multiply out as F R90 (1/s)
    R(pre) diag(1/a, a) R(post); the translations enter as t = F R90 (-xint) + L (-xfrac)."""
    r90 = q["rotate90"].astype(np.intp)
    c0, s0 = _COS90[r90], _SIN90[r90]
    f = 1 - 2 * q["xflip"]  # xflip's inverse scale 1 / (1 - 2 flip), which is 1 - 2 flip for flip 0 or 1
    c1, s1 = np.cos(q["rotate_pre"]), np.sin(q["rotate_pre"])
    c2, s2 = np.cos(q["rotate_post"]), np.sin(q["rotate_post"])
    a, b = 1 / q["aniso"], q["aniso"]
    inv_s = 1 / q["scale"]
    # R(pre) diag(a, b) R(post), times 1 / s
    m00, m01 = (c1 * a * c2 - s1 * b * s2) * inv_s, (-c1 * a * s2 - s1 * b * c2) * inv_s
    m10, m11 = (s1 * a * c2 + c1 * b * s2) * inv_s, (-s1 * a * s2 + c1 * b * c2) * inv_s
    # F R90 = [[f c0, -f s0], [s0, c0]]
    l00, l01, l10, l11 = f * c0, -f * s0, s0, c0
    lin = np.empty((len(f), 2, 2))
    lin[:, 0, 0], lin[:, 0, 1] = l00 * m00 + l01 * m10, l00 * m01 + l01 * m11
    lin[:, 1, 0], lin[:, 1, 1] = l10 * m00 + l11 * m10, l10 * m01 + l11 * m11
    xi, xf = q["xint"], q["xfrac"]
    t = np.empty((len(f), 2))
    t[:, 0] = -(l00 * xi[:, 0] + l01 * xi[:, 1]) - (lin[:, 0, 0] * xf[:, 0] + lin[:, 0, 1] * xf[:, 1])
    t[:, 1] = -(l10 * xi[:, 0] + l11 * xi[:, 1]) - (lin[:, 1, 0] * xf[:, 0] + lin[:, 1, 1] * xf[:, 1])
    return lin, t


def _pixel_matrices(lin: np.ndarray, t: np.ndarray, height: int, width: int) -> np.ndarray:
    """The forward pixel matrices (N, 2, 3) of centred inverse maps [lin | t]: T(c) G T(-c) = [L | c + t - L c],
    whose inverse is [L^-1 | c - L^-1 (c + t)], c the image centre ((W - 1) / 2, (H - 1) / 2)."""
    det = lin[:, 0, 0] * lin[:, 1, 1] - lin[:, 0, 1] * lin[:, 1, 0]
    out = np.empty((len(lin), 2, 3))
    out[:, 0, 0], out[:, 0, 1] = lin[:, 1, 1] / det, -lin[:, 0, 1] / det
    out[:, 1, 0], out[:, 1, 1] = -lin[:, 1, 0] / det, lin[:, 0, 0] / det
    cx, cy = (width - 1) / 2, (height - 1) / 2
    ux, uy = cx + t[:, 0], cy + t[:, 1]
    out[:, 0, 2] = cx - (out[:, 0, 0] * ux + out[:, 0, 1] * uy)
    out[:, 1, 2] = cy - (out[:, 1, 0] * ux + out[:, 1, 1] * uy)
    return out


def geometry_inverse(params: dict[str, Tensor]) -> Tensor:
    """The reference's G_inv (N, 3, 3) float64 for a draw: output -> input pixel coordinates, origin at the
    image centre, composed in augment.py's order (xflip, rotate90, xint, scale, pre-rotation, aniso,
    post-rotation, xfrac; each op's inverse multiplied on the right). xint and xfrac are in pixels."""
    lin, t = _geometry(_arrays(params))
    g = np.zeros((len(lin), 3, 3))
    g[:, :2, :2], g[:, :2, 2], g[:, 2, 2] = lin, t, 1
    return torch.from_numpy(g)


def warp_matrices(g_inv: Tensor, height: int, width: int) -> Tensor:
    """The forward pixel matrices (N, 2, 3) (source -> destination, pixel centres at integers, as
    fastaug.warp_affine takes them) of centred inverse maps G_inv: the inverse of T(c) G_inv T(-c), c the
    image centre ((W - 1) / 2, (H - 1) / 2)."""
    g = _np(g_inv)
    return torch.from_numpy(_pixel_matrices(g[:, :2, :2], g[:, :2, 2], height, width))


def _color_coefficients(q: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The RGB rows [lin | offset] of the reference's colour matrix, with k = contrast, f = luma flip, s =
    saturation, theta = hue: saturation (P + s Q), hue (P + cos Q + sin K) and the flip (I - 2 f P) commute (P
    the luma projection, Q = I - P, K the cross product with the luma axis: PQ = PK = 0, QK = K, K^2 = -Q), so
    lin = k ((1 - 2 f) P + s cos(theta) Q + s sin(theta) K), and the brightness b along the luma axis, which
    all of them keep up to the flip's sign, gives offset = k b (1 - 2 f) on every channel. Returns the
    coefficients of P, Q, K (N, 3) and the offset (N,)."""
    k, flip = q["contrast"], 1 - 2 * q["lumaflip"]
    ks = k * q["saturation"]
    return np.stack([k * flip, ks * np.cos(q["hue"]), ks * np.sin(q["hue"])], 1), k * q["brightness"] * flip


def _color_rows(q: dict[str, np.ndarray], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(lin (N, C, C), offset (N, C)) float32 of the colour transform: _color_coefficients' rows, or for one channel the
    mean of the RGB rows (the reference's grey case: brightness, contrast and the flip; hue and saturation are
    off there)."""
    coef, offset = _color_coefficients(q)
    if channels == 1:  # the RGB rows of P average to (1, 1, 1) / 3, those of Q and K to 0
        return coef[:, :1, None].astype(np.float32), offset[:, None].astype(np.float32)
    lin = coef @ _PQK
    return lin.reshape(-1, 3, 3).astype(np.float32), np.repeat(offset[:, None], 3, 1).astype(np.float32)


def color_matrix(params: dict[str, Tensor]) -> Tensor:
    """The reference's 4x4 colour matrices (N, 4, 4) float64 for a draw: brightness, contrast, luma flip, hue
    rotation about the luma axis, saturation, each multiplied on the left, acting on (r, g, b, 1) (the last
    row (0, 0, 0, saturation), as augment.py's product leaves it)."""
    q = _arrays(params)
    coef, offset = _color_coefficients(q)
    c = np.zeros((len(offset), 4, 4))
    c[:, :3, :3] = (coef @ _PQK).reshape(-1, 3, 3)
    c[:, :3, 3] = offset[:, None]
    c[:, 3, 3] = q["saturation"]  # augment.py scales the homogeneous row by the saturation too (unused)
    return torch.from_numpy(c)


# the draw's columns: a gate per op (the rotation's two), then the uniform and normal values
_GATES = ("xflip", "rotate90", "xint", "scale", "rotate_pre", "aniso", "rotate_post", "xfrac", *ADA_COLOR)
_OP_OF = {"rotate_pre": "rotate", "rotate_post": "rotate"}
_U = {
    name: i
    for i, name in enumerate(
        (
            *_GATES,
            "v_xflip",
            "v_rotate90",
            "v_xint_x",
            "v_xint_y",
            "v_rotate_pre",
            "v_rotate_post",
            "v_lumaflip",
            "v_hue",
        )
    )
}
_Z = {
    name: i for i, name in enumerate(("scale", "aniso", "xfrac_x", "xfrac_y", "brightness", "contrast", "saturation"))
}
_IDENTITY = {name: (1.0 if name in ("scale", "aniso", "contrast", "saturation") else 0.0) for name in _GATES}
_GEOMETRIC_GATES = [j for j, name in enumerate(_GATES) if _OP_OF.get(name, name) in ADA_GEOMETRIC]
_COLOR_GATES = [j for j, name in enumerate(_GATES) if name in ADA_COLOR]


class ADA(torch.nn.Module):
    """StyleGAN2-ADA's augmentation pipeline ('bgc' by default: augment.py's AugmentPipe with xflip, rotate90,
    xint, scale, rotate, aniso, xfrac, brightness, contrast, lumaflip, hue, saturation at multiplier 1) on NCHW
    float32 images in [-1, 1] (C = 1 or 3), differentiable with respect to x, with the adaptive probability p.

    Each op is applied to a sample with probability p (the rotation twice, before and after the anisotropic
    scaling, each with 1 - sqrt(1 - p), so that one of them happens with probability p), with augment.py's
    distributions: xflip and rotate90 uniform over their 2 and 4 cases; xint U(-xint_max, xint_max) of the
    size, rounded to pixels; scale 2^N(0, scale_std); rotation U(-pi, pi) * rotate_max; aniso 2^N(0,
    aniso_std) on x, its inverse on y; xfrac N(0, xfrac_std) of the size; brightness N(0, brightness_std)
    added; contrast 2^N(0, contrast_std); luma flip (a Householder reflection about the luma axis) with
    probability 1/2; hue rotation about the luma axis U(-pi, pi) * hue_max; saturation 2^N(0,
    saturation_std) of the chroma. The std values are log2 (as augment.py: scale_std 0.2 is lognormal(0, 0.2
    ln 2)).

    Execution: a sample's geometric ops compose into one matrix and one bilinear warp (fastaug's reflect101
    border: the reference pads with torch's 'reflect', which mirrors about the edge pixel, i.e. reflect101;
    it then resamples at 2x with a wavelet low-pass, which this single warp does not do: aliasing is the
    plain bilinear warp's; its padding holds one mirror image at most, beyond which its grid_sample reads
    zeros where reflect101 keeps mirroring: only strong zoom-outs differ), its colour ops into one 4x4 colour
    matrix and one native colour transform.
    Samples with no op drawn are left out of the batch the native calls see when they are at least half of it
    (the output is x itself when no sample has one); otherwise the whole batch goes through, those samples with
    the identity matrices (exact copies of finite values; -0 becomes +0), which is cheaper than cutting a
    sub-batch out and putting it back, forward and backward (measured: see _SUBSET_BELOW).

    Adaptation: ``update(real_logits)`` (D's outputs on the reals of a minibatch) accumulates sign(D(real));
    every ``interval`` calls r_t = E[sign] is compared with ``target`` and p moves by sign(r_t - target) *
    (images in the interval) / (speed_kimg * 1000), clamped to [0, p_max] (p_max = 0.8 by default: uncapped p
    is a known failure of the reference, stylegan2-ada-pytorch#175; None: [0, 1]). The accumulated sign sum
    stays on the logits' device until the interval ends (one read every `interval` steps). p, the
    accumulators and the generator's state are in state_dict() (as extra state), so p survives a resume.
    color_backend: 'torch' (default: the colour matrix as one torch.baddbmm) or 'native' (fastaug's colour
    transform), as DiffAugment's."""

    def __init__(
        self,
        p: float = 0.0,
        target: float = 0.6,
        *,
        ops: str | Sequence[str] = "bgc",
        interval: int = 4,
        speed_kimg: float = 500.0,
        p_max: float | None = 0.8,
        adaptive: bool = True,
        xint_max: float = 0.125,
        scale_std: float = 0.2,
        rotate_max: float = 1.0,
        aniso_std: float = 0.2,
        xfrac_std: float = 0.125,
        brightness_std: float = 0.2,
        contrast_std: float = 0.5,
        hue_max: float = 1.0,
        saturation_std: float = 1.0,
        color_backend: str = "torch",
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.ops = _ops_list(ops, ADA_OPS, "ADA", ADA_PRESETS)
        self.color_backend = _backend(color_backend)
        cap = 1.0 if p_max is None else p_max
        if not (isinstance(cap, (int, float)) and 0 <= cap <= 1):
            raise ArgumentError(f"p_max: expected a probability in [0, 1] or None, got {p_max!r}")
        if not (isinstance(p, (int, float)) and 0 <= p <= 1):
            raise ArgumentError(f"p: expected a probability in [0, 1], got {p!r}")
        if not (isinstance(interval, int) and interval >= 1):
            raise ArgumentError(f"interval: expected a positive int (minibatches), got {interval!r}")
        if not (isinstance(speed_kimg, (int, float)) and speed_kimg > 0):
            raise ArgumentError(f"speed_kimg: expected a positive number (thousands of images), got {speed_kimg!r}")
        if not (isinstance(target, (int, float)) and -1 <= target <= 1):
            raise ArgumentError(f"target: expected a number in [-1, 1] (E[sign(D(real))]), got {target!r}")
        self.p = float(p)
        self.target, self.interval, self.speed_kimg = float(target), interval, float(speed_kimg)
        self.p_max, self.adaptive = float(cap), bool(adaptive)
        self.xint_max, self.scale_std, self.rotate_max = float(xint_max), float(scale_std), float(rotate_max)
        self.aniso_std, self.xfrac_std = float(aniso_std), float(xfrac_std)
        self.brightness_std, self.contrast_std = float(brightness_std), float(contrast_std)
        self.hue_max, self.saturation_std = float(hue_max), float(saturation_std)
        self.generator = _generator(seed, generator)
        self._sign_sum: Tensor | float = 0.0
        self._count = 0  # signs summed (logits: one per image, or more for a patch discriminator)
        self._images = 0  # images seen: p's step is counted in images, as the paper's
        self._batches = 0
        self.last_rt: float | None = None

    def extra_repr(self) -> str:
        return f"p={self.p:.4f}, target={self.target}, p_max={self.p_max}, ops={','.join(self.ops)!r}"

    # ----------------------------------------------------------------------------------------------- draws
    def sample(self, n: int, height: int, width: int, channels: int = 3) -> dict[str, Tensor]:
        """One draw for n images (CPU float64 tensors, identity values where an op is gated off or not in
        ops): xflip, rotate90 (n,) whole numbers; xint (n, 2) pixels (x, y), whole numbers; scale, aniso
        (n,); rotate_pre, rotate_post (n,) radians; xfrac (n, 2) pixels; brightness, contrast, lumaflip
        (0/1), hue (radians), saturation (n,); and the per-sample flags geometric, color (n,) bool (an op of
        that family drawn). Two bulk draws from the generator (uniforms and normals), whatever the ops. With
        channels=1, hue and saturation are off (as augment.py: on grey images they are the identity)."""
        return {k: torch.from_numpy(v) for k, v in self._draw(n, height, width, channels).items()}

    def _draw(self, n: int, height: int, width: int, channels: int) -> dict[str, np.ndarray]:
        """sample()'s draw as NumPy arrays."""
        u = torch.rand((n, len(_U)), generator=self.generator, dtype=torch.float64).numpy()
        z = torch.randn((n, len(_Z)), generator=self.generator, dtype=torch.float64).numpy()
        gates = u[:, : len(_GATES)] < self._gate_probabilities(channels)
        size = np.array([width, height], dtype=np.float64)
        values = {
            "xflip": np.floor(u[:, _U["v_xflip"]] * 2),
            "rotate90": np.floor(u[:, _U["v_rotate90"]] * 4),
            "xint": np.round((u[:, [_U["v_xint_x"], _U["v_xint_y"]]] * 2 - 1) * self.xint_max * size),
            "scale": np.exp2(z[:, _Z["scale"]] * self.scale_std),
            "rotate_pre": (u[:, _U["v_rotate_pre"]] * 2 - 1) * np.pi * self.rotate_max,
            "aniso": np.exp2(z[:, _Z["aniso"]] * self.aniso_std),
            "rotate_post": (u[:, _U["v_rotate_post"]] * 2 - 1) * np.pi * self.rotate_max,
            "xfrac": z[:, [_Z["xfrac_x"], _Z["xfrac_y"]]] * self.xfrac_std * size,
            "brightness": z[:, _Z["brightness"]] * self.brightness_std,
            "contrast": np.exp2(z[:, _Z["contrast"]] * self.contrast_std),
            "lumaflip": np.floor(u[:, _U["v_lumaflip"]] * 2),
            "hue": (u[:, _U["v_hue"]] * 2 - 1) * np.pi * self.hue_max,
            "saturation": np.exp2(z[:, _Z["saturation"]] * self.saturation_std),
        }
        out: dict[str, np.ndarray] = {}
        for name, v in values.items():
            gate = gates[:, _U[name]] if v.ndim == 1 else gates[:, _U[name], None]
            out[name] = np.where(gate, v, _IDENTITY[name])
        out["geometric"] = np.asarray(gates[:, _GEOMETRIC_GATES].any(1))
        out["color"] = np.asarray(gates[:, _COLOR_GATES].any(1))
        return out

    def _gate_probabilities(self, channels: int) -> np.ndarray:
        """Each gate's probability (_GATES' order): p, the rotations' 1 - sqrt(1 - p), 0 for an op not drawn."""
        p, on = self.p, set(self.ops) - ({"hue", "saturation"} if channels == 1 else set())
        p_rot = 1 - math.sqrt(min(max(1 - p, 0.0), 1.0))  # pre and post: P(either) = p
        return np.array(
            [(p_rot if name.startswith("rotate_") else p) if _OP_OF.get(name, name) in on else 0.0 for name in _GATES]
        )

    # ------------------------------------------------------------------------------------------- execution
    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, (1, 3))
        if self.p <= 0:
            return x
        n, c, h, w = x.shape
        return self._augment(x, self._draw(n, h, w, c))

    def apply_params(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """x augmented with a draw from sample(). The samples with no op drawn are left out when they are
        many (one sub-batch for the rest; see the class); a sample with colour ops only goes through the warp
        with the identity matrix, one with geometric ops only through the identity colour matrix (both exact
        copies of finite values): cheaper than a second sub-batch per family (measured)."""
        q = _arrays(params)
        q["geometric"], q["color"] = (params[k].cpu().numpy().astype(bool) for k in ("geometric", "color"))
        return self._augment(x, q)

    def _augment(self, x: Tensor, q: dict[str, np.ndarray]) -> Tensor:
        active = q["geometric"] | q["color"]
        if int(active.sum()) > _SUBSET_BELOW * len(active):
            return self._run(x, q)
        if not active.any():
            return x
        idx = active.nonzero()[0]
        dev = torch.from_numpy(idx).to(x.device, non_blocking=True)
        sub = self._run(x.index_select(0, dev), {k: v[idx] for k, v in q.items()})
        return x.index_copy(0, dev, sub)

    def _run(self, x: Tensor, q: dict[str, np.ndarray]) -> Tensor:
        c, h, w = x.shape[1:]
        if q["geometric"].any():
            m = _pixel_matrices(*_geometry(q), h, w)
            x = _warp(x, torch.from_numpy(m), "linear", "reflect101")
        if q["color"].any():
            lin, offset = _color_rows(q, c)
            x = _color(x, torch.from_numpy(lin), torch.from_numpy(offset), self.color_backend)
        return x

    # ------------------------------------------------------------------------------------------ adaptation
    def update(self, real_logits: Tensor | float, n: int | None = None) -> float:
        """Accumulates sign(D(real)) for the adaptation: real_logits the discriminator's outputs on a
        minibatch of reals ((N,) or (N, ...): r_t averages every logit, the step counts N images), or a number
        E[sign(D(real))] already averaged over n images (n required then). Every `interval` calls p is
        adjusted (see the class); returns p."""
        s: Tensor | float
        if isinstance(real_logits, Tensor):
            s = torch.sign(real_logits.detach().float()).sum()
            count = real_logits.numel()
            images = real_logits.shape[0] if real_logits.dim() else 1
        else:
            if n is None or not (isinstance(n, int) and n > 0):
                raise ArgumentError(f"n: expected the number of images a mean sign was taken over, got {n!r}")
            if not (isinstance(real_logits, (int, float)) and -1 <= real_logits <= 1):
                raise ArgumentError(
                    f"real_logits: expected a tensor of logits or a mean sign in [-1, 1], got {real_logits!r}"
                )
            s, count, images = float(real_logits) * n, n, n
        self._sign_sum = self._sign_sum + s
        self._count += count
        self._images += images
        self._batches += 1
        if self._batches >= self.interval:
            total = self._sign_sum.item() if isinstance(self._sign_sum, Tensor) else self._sign_sum
            rt = total / max(self._count, 1)
            self.last_rt = rt
            if self.adaptive:
                step = (self._images / (self.speed_kimg * 1000)) * (
                    1.0 if rt > self.target else -1.0 if rt < self.target else 0.0
                )
                self.p = min(max(self.p + step, 0.0), self.p_max)
            self._sign_sum, self._count, self._images, self._batches = 0.0, 0, 0, 0
        return self.p

    def get_extra_state(self) -> dict[str, Any]:
        total = self._sign_sum.item() if isinstance(self._sign_sum, Tensor) else self._sign_sum
        return {
            "p": self.p,
            "sign_sum": float(total),
            "count": self._count,
            "images": self._images,
            "batches": self._batches,
            "generator": self.generator.get_state(),
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        self._sign_sum, self._count = float(state["sign_sum"]), int(state["count"])
        self._images, self._batches = int(state["images"]), int(state["batches"])
        self.generator.set_state(state["generator"])


# ADA leaves the samples with no op out of the native calls only when at most this fraction of the batch has an op:
# cutting a sub-batch out and putting it back (index_select / index_copy and their backward) cost about as much as
# warping and colouring a third of the batch (batch 64, 32 and 64 px, CPU, 2026-12-02): at p = 0.2, where 94% of
# the samples have an op, the sub-batch made the step 1.25x (32 px) to 1.45x (64 px) slower than the whole batch
_SUBSET_BELOW = 0.5


# ---------------------------------------------------------------------------------------------- factory
def make_policy(spec: str, **kwargs: Any) -> torch.nn.Module:
    """A policy from its name: 'none'; 'diffaugment' (color,translation,cutout) or 'diffaugment:<ops>' with
    ops from color, translation, cutout; 'ada' ('bgc') or 'ada:<ops or presets>' (ops from xflip, rotate90,
    xint, scale, rotate, aniso, xfrac, brightness, contrast, lumaflip, hue, saturation; presets blit, geom,
    color, bg, bgc). kwargs go to the policy's constructor (seed, p, target, p_max, ...)."""
    if not isinstance(spec, str):
        raise ArgumentTypeError(f"policy: expected a string such as 'diffaugment' or 'ada', got {type(spec).__name__}")
    name, _, ops = spec.strip().partition(":")
    name = name.lower()
    if name == "none" and not ops:
        if kwargs:
            raise ArgumentError(f"policy: 'none' takes no options, got {sorted(kwargs)}")
        return Identity()
    if name == "diffaugment":
        return DiffAugment(ops or "color,translation,cutout", **kwargs)
    if name == "ada":
        return ADA(ops=ops or "bgc", **kwargs)
    raise ArgumentError(
        f"policy: unknown policy {spec!r}; expected 'none', 'diffaugment', 'diffaugment:<ops>' (ops from "
        f"{', '.join(DIFFAUGMENT_OPS)}), 'ada' or 'ada:<ops>' (ops from {', '.join(ADA_OPS)}; presets "
        f"{', '.join(ADA_PRESETS)})"
    )
