"""Plain-PyTorch transcriptions of the reference augmentations, the yardstick for fastaug.train.policies
(tests: the same pixels and gradients for the same draw; benchmarks/policies.py: the time to beat).

- DiffAugment as DiffAugment_pytorch.py computes it: elementwise torch ops for the colour, pad + gather
  (advanced indexing) for the translation, a mask built by index assignment and multiplied for cutout.
- ADA's geometry as a plain affine_grid-style pixel grid and one bilinear grid_sample (reflection padding
  with align_corners=True, i.e. mirrored about the edge pixels' centres: reflect101), and its colour as a
  batched matrix product, the reference's matrices composed one sample at a time with NumPy.

Written from the references' definitions (CONVENTIONS 12 and 13), not copied from them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


# ------------------------------------------------------------------------------------------- DiffAugment
def diffaugment_draw(x: Tensor, policy: str, t_ratio: float = 0.125, c_ratio: float = 0.5) -> list[tuple[str, Any]]:
    """Parameters drawn as the reference draws them: torch.rand / randint on x's device."""
    n, _, h, w = x.shape
    dev = x.device
    out: list[tuple[str, Any]] = []
    for op in policy.split(","):
        if op == "color":
            b = torch.rand(n, device=dev) - 0.5
            s = torch.rand(n, device=dev) * 2
            k = torch.rand(n, device=dev) + 0.5
            out.append((op, {"brightness": b, "saturation": s, "contrast": k}))
        elif op == "translation":
            ry, rx = int(h * t_ratio + 0.5), int(w * t_ratio + 0.5)
            shift = torch.stack(
                [torch.randint(-ry, ry + 1, (n,), device=dev), torch.randint(-rx, rx + 1, (n,), device=dev)], 1
            )
            out.append((op, {"shift": shift}))
        else:
            sy, sx = int(h * c_ratio + 0.5), int(w * c_ratio + 0.5)
            cy = torch.randint(0, h + (1 - sy % 2), (n,), device=dev)
            cx = torch.randint(0, w + (1 - sx % 2), (n,), device=dev)
            out.append((op, {"centre": torch.stack([cy, cx], 1), "size": (sy, sx)}))
    return out


def diffaugment(x: Tensor, params: list[tuple[str, Any]], c_ratio: float = 0.5) -> Tensor:
    """The reference's DiffAugment for a draw (DiffAugment.sample's or diffaugment_draw's)."""
    n, _, h, w = x.shape
    for op, p in params:
        if op == "color":
            x = x + p["brightness"].to(x).view(n, 1, 1, 1)
            mean = x.mean(dim=1, keepdim=True)
            x = (x - mean) * p["saturation"].to(x).view(n, 1, 1, 1) + mean
            mean = x.mean(dim=[1, 2, 3], keepdim=True)
            x = (x - mean) * p["contrast"].to(x).view(n, 1, 1, 1) + mean
        elif op == "translation":
            x = _translate(x, p["shift"].to(x.device))
        else:
            size = p.get("size", (int(h * c_ratio + 0.5), int(w * c_ratio + 0.5)))
            x = _cutout(x, p["centre"].to(x.device), size)
    return x


def _translate(x: Tensor, shift: Tensor) -> Tensor:
    """Zero-pad by one pixel and gather: out[i, j] = pad[clamp(i + dy + 1), clamp(j + dx + 1)]."""
    n, _, h, w = x.shape
    dev = x.device
    bi = torch.arange(n, device=dev)[:, None, None]
    rows = (torch.arange(h, device=dev)[None, :, None] + shift[:, 0, None, None] + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=dev)[None, None, :] + shift[:, 1, None, None] + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    return padded.permute(0, 2, 3, 1)[bi, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: Tensor, centre: Tensor, size: tuple[int, int]) -> Tensor:
    """A (N, H, W) mask of ones with each sample's square set to 0 by index assignment, multiplied in."""
    n, _, h, w = x.shape
    dev = x.device
    sy, sx = size
    bi = torch.arange(n, device=dev)[:, None, None]
    rows = (torch.arange(sy, device=dev)[None, :, None] + centre[:, 0, None, None] - sy // 2).clamp(0, h - 1)
    cols = (torch.arange(sx, device=dev)[None, None, :] + centre[:, 1, None, None] - sx // 2).clamp(0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=dev)
    mask[bi, rows, cols] = 0
    return x * mask.unsqueeze(1)


# --------------------------------------------------------------------------------------------------- ADA
def _m(*rows: Any) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def _scale_inv(sx: float, sy: float) -> np.ndarray:
    return _m([1 / sx, 0, 0], [0, 1 / sy, 0], [0, 0, 1])


def _rotate(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return _m([c, -s, 0], [s, c, 0], [0, 0, 1])


def _translate_inv(tx: float, ty: float) -> np.ndarray:
    return _m([1, 0, -tx], [0, 1, -ty], [0, 0, 1])


def ada_geometry(params: dict[str, Tensor]) -> np.ndarray:
    """augment.py's G_inv, one sample at a time: I @ scale_inv(1 - 2 flip, 1) @ rotate_inv(-pi/2 r90) @
    translate_inv(xint) @ scale_inv(s, s) @ rotate_inv(-pre) @ scale_inv(a, 1/a) @ rotate_inv(-post) @
    translate_inv(xfrac), with rotate_inv(t) = rotate(-t)."""
    out = []
    for i in range(params["xflip"].shape[0]):
        q: dict[str, Any] = {k: v[i].tolist() for k, v in params.items()}
        g = np.eye(3)
        g = g @ _scale_inv(1 - 2 * q["xflip"], 1)
        g = g @ _rotate(math.pi / 2 * q["rotate90"])
        g = g @ _translate_inv(*q["xint"])
        g = g @ _scale_inv(q["scale"], q["scale"])
        g = g @ _rotate(q["rotate_pre"])  # rotate_inv(-t) = rotate(t)
        g = g @ _scale_inv(q["aniso"], 1 / q["aniso"])
        g = g @ _rotate(q["rotate_post"])
        g = g @ _translate_inv(*q["xfrac"])
        out.append(g)
    return np.stack(out)


def ada_color(params: dict[str, Tensor]) -> np.ndarray:
    """augment.py's 4x4 colour matrix, one sample at a time: C = sat @ hue @ lumaflip @ contrast @
    brightness."""
    v = np.array([1, 1, 1, 0], dtype=np.float64) / math.sqrt(3)
    vv = np.outer(v, v)
    eye = np.eye(4)
    out = []
    for i in range(params["brightness"].shape[0]):
        q = {
            k: float(v_[i].reshape(-1)[0])
            for k, v_ in params.items()
            if k in ("brightness", "contrast", "lumaflip", "hue", "saturation")
        }
        b, k = q["brightness"], q["contrast"]
        c = _m([1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1])
        c = np.diag([k, k, k, 1.0]) @ c
        c = (eye - 2 * vv * q["lumaflip"]) @ c
        th = q["hue"]
        # the axis-angle rotation about v: cos I + sin [v]x + (1 - cos) v v^T on the RGB block
        u = v[:3]
        cross = _m([0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0])
        rot = eye.copy()
        rot[:3, :3] = math.cos(th) * np.eye(3) + math.sin(th) * cross + (1 - math.cos(th)) * np.outer(u, u)
        c = rot @ c
        c = (vv + (eye - vv) * q["saturation"]) @ c
        out.append(c)
    return np.stack(out)


def ada_warp(x: Tensor, g_inv: Tensor) -> Tensor:
    """One bilinear grid_sample of x through the centred inverse maps g_inv (N, 3, 3): each output pixel
    (i, j) reads the input at c + G_inv (p - c), mirrored about the edge pixels' centres (reflect101)."""
    n, _, h, w = x.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    theta = g_inv[:, :2].to(x)
    # normalised coordinates with align_corners=True: u = (px - cx) / cx
    scale = torch.tensor([cx, cy], dtype=x.dtype, device=x.device)
    norm = theta.clone()
    norm[:, :, :2] = theta[:, :, :2] * scale[None, None, :] / scale[None, :, None]
    norm[:, :, 2] = theta[:, :, 2] / scale[None, :]
    grid = F.affine_grid(norm, [n, x.shape[1], h, w], align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)


def ada_apply_color(x: Tensor, c: Tensor) -> Tensor:
    """The colour matrices (N, 4, 4) applied as the reference does (a batched product; grey images use the
    mean of the RGB rows)."""
    n, ch, h, w = x.shape
    c = c.to(x)
    flat = x.reshape(n, ch, h * w)
    if ch == 3:
        flat = c[:, :3, :3] @ flat + c[:, :3, 3:]
    else:
        row = c[:, :3, :].mean(dim=1, keepdim=True)
        flat = flat * row[:, :, :3].sum(dim=2, keepdim=True) + row[:, :, 3:]
    return flat.reshape(n, ch, h, w)


def ada(x: Tensor, params: dict[str, Tensor]) -> Tensor:
    """ADA in plain PyTorch for a draw (every sample through grid_sample and the colour product)."""
    g = torch.from_numpy(ada_geometry(params))
    x = ada_warp(x, g)
    return ada_apply_color(x, torch.from_numpy(ada_color(params)))
