"""fastaug.train.policies: DiffAugment and ADA against plain-PyTorch transcriptions of the references
(fastaug/train/_reference.py) for the same draws, their parameter distributions (KS distances and
frequencies with fixed seeds), gradients into a small generator, the gating, p's adaptation and cap, the
state round trip and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastaug import ArgumentError  # noqa: E402
from fastaug.train import (  # noqa: E402
    ADA,
    DiffAugment,
    Identity,
    make_policy,
    policies,
)
from fastaug.train import _reference as ref  # noqa: E402

N_DRAW = 20000
KS_CRIT = 1.95 / math.sqrt(N_DRAW)  # the KS distance's 0.1% critical value: a wrong law exceeds it


def ks(sample: torch.Tensor, cdf) -> float:
    """Kolmogorov-Smirnov distance of a sample from a continuous law's CDF."""
    x = np.sort(sample.double().numpy().ravel())
    f = cdf(x)
    n = len(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def uniform_cdf(a: float, b: float):
    return lambda x: np.clip((x - a) / (b - a), 0, 1)


def normal_cdf(std: float):
    erf = np.vectorize(math.erf)
    return lambda x: 0.5 * (1 + erf(x / (std * math.sqrt(2))))


def images(n: int = 8, c: int = 3, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g) * 2 - 1


# -------------------------------------------------------------------------------------- DiffAugment
@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout", "cutout,color"])
@pytest.mark.parametrize("hw", [(32, 32), (28, 20), (17, 64)])
def test_diffaugment_equals_reference(policy, hw):
    x = images(16, 3, *hw)
    aug = DiffAugment(policy, seed=1)
    params = aug.sample(16, *hw)
    out, want = aug.apply_params(x, params), ref.diffaugment(x, params)
    if "color" in policy:
        torch.testing.assert_close(out, want, rtol=0, atol=2e-6)
    else:  # translation and cutout: the very values
        assert torch.equal(out, want)


@pytest.mark.parametrize("c", [1, 4])
def test_diffaugment_other_channel_counts(c):
    x = images(8, c, 16, 16)
    aug = DiffAugment(seed=2)
    params = aug.sample(8, 16, 16)
    torch.testing.assert_close(aug.apply_params(x, params), ref.diffaugment(x, params), rtol=0, atol=2e-6)


def test_diffaugment_torch_color_backend():
    x = images(8)
    native, fused = DiffAugment(seed=3, color_backend="native"), DiffAugment(seed=3, color_backend="torch")
    params = native.sample(8, 32, 32)
    torch.testing.assert_close(fused.apply_params(x, params), ref.diffaugment(x, params), rtol=0, atol=2e-6)
    torch.testing.assert_close(fused.apply_params(x, params), native.apply_params(x, params), rtol=0, atol=2e-6)


def test_diffaugment_translation_and_cutout_geometry():
    x = images(2, 1, 8, 8)
    aug = DiffAugment("translation,cutout", seed=0)
    params = [
        ("translation", {"shift": torch.tensor([[2, -3], [0, 0]])}),
        ("cutout", {"centre": torch.tensor([[0, 7], [4, 4]])}),
    ]
    out = aug.apply_params(x, params)
    want0 = torch.zeros(8, 8)
    want0[:6, 3:] = x[0, 0, 2:, :5]  # out[i, j] = x[i + 2, j - 3]
    want0[:2, 5:] = 0  # cutout side 4 centred at (0, 7): rows -2..1, columns 5..8
    assert torch.equal(out[0, 0], want0)
    want1 = x[1, 0].clone()
    want1[2:6, 2:6] = 0
    assert torch.equal(out[1, 0], want1)


def test_diffaugment_distributions():
    aug = DiffAugment(seed=123)
    draw = dict(aug.sample(N_DRAW, 64, 48))
    c = draw["color"]
    assert ks(c["brightness"], uniform_cdf(-0.5, 0.5)) < KS_CRIT
    assert ks(c["saturation"], uniform_cdf(0, 2)) < KS_CRIT
    assert ks(c["contrast"], uniform_cdf(0.5, 1.5)) < KS_CRIT
    shift = draw["translation"]["shift"]
    for axis, r in ((0, 8), (1, 6)):  # int(64 * 0.125 + 0.5), int(48 * 0.125 + 0.5)
        counts = torch.bincount(shift[:, axis] + r, minlength=2 * r + 1)
        assert counts.numel() == 2 * r + 1 and shift[:, axis].min() == -r and shift[:, axis].max() == r
        assert np.allclose(counts.numpy() / N_DRAW, 1 / (2 * r + 1), atol=0.012)
    centre = draw["cutout"]["centre"]  # side 32 x 24 (even): centres in [0, H] x [0, W]
    assert centre[:, 0].min() == 0 and centre[:, 0].max() == 64 and centre[:, 1].max() == 48
    assert ks(centre[:, 0].double() + torch.rand(N_DRAW, dtype=torch.float64), uniform_cdf(0, 65)) < KS_CRIT
    # an odd side: centres in [0, H - 1]
    odd = dict(DiffAugment("cutout", seed=1).sample(4000, 30, 30))["cutout"]["centre"]
    assert odd.min() == 0 and odd.max() == 29
    assert DiffAugment().cutout_size(30, 30) == (15, 15) and DiffAugment().cutout_size(28, 28) == (14, 14)


def test_diffaugment_seeded_and_state():
    x = images()
    a, b = DiffAugment(seed=5), DiffAugment(seed=5)
    assert torch.equal(a(x), b(x))
    state = a.state_dict()
    y1 = a(x)
    c = DiffAugment(seed=99)
    c.load_state_dict(state)
    assert torch.equal(c(x), y1)
    with pytest.raises(ArgumentError, match="policy"):
        DiffAugment("color").load_state_dict(state)


# ---------------------------------------------------------------------------------------- gradients
class TinyGenerator(torch.nn.Module):
    def __init__(self, c: int = 3, size: int = 16) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.c, self.size = c, size
        self.fc = torch.nn.Linear(8, c * size * size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, self.c, self.size, self.size)


def generator_grads(policy_fn, c: int = 3) -> torch.Tensor:
    g = TinyGenerator(c)
    z = torch.randn(12, 8, generator=torch.Generator().manual_seed(1))
    w = torch.randn(12, c, 16, 16, generator=torch.Generator().manual_seed(2))
    (policy_fn(g(z)) * w).sum().backward()
    return torch.cat([p.grad.flatten() for p in g.parameters()])


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_diffaugment_gradient_equals_reference(policy):
    aug = DiffAugment(policy, seed=3)
    params = aug.sample(12, 16, 16)
    grad = generator_grads(lambda x: aug.apply_params(x, params))
    want = generator_grads(lambda x: ref.diffaugment(x, params))
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    torch.testing.assert_close(grad, want, rtol=1e-4, atol=1e-5)


def test_diffaugment_contrast_mean_gradient():
    """Contrast's mean depends on every pixel: the gradient of one output pixel reaches all inputs."""
    x = images(1, 3, 8, 8).requires_grad_()
    params = [
        (
            "color",
            {"brightness": torch.tensor([0.1]), "saturation": torch.tensor([1.0]), "contrast": torch.tensor([0.5])},
        )
    ]
    DiffAugment("color").apply_params(x, params)[0, 0, 0, 0].backward()
    g = x.grad[0]
    assert g[0, 0, 0] == pytest.approx(0.5 + 0.5 / 192, rel=1e-5)
    assert torch.allclose(g.flatten()[1:], torch.full((191,), 0.5 / 192))


@pytest.mark.parametrize("op", list(policies.ADA_OPS))
def test_ada_gradient_through_each_op(op):
    ada = ADA(p=1.0, ops=op, seed=4)
    params = ada.sample(12, 16, 16)
    grad = generator_grads(lambda x: ada.apply_params(x, params))
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    want = generator_grads(lambda x: ref.ada(x, params))
    torch.testing.assert_close(grad, want, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("policy", ["diffaugment", "ada"])
def test_second_order_through_image_path(policy):
    """An R1-style penalty through the augmentation (the gradient of D's output w.r.t. its input,
    differentiated again): equal to the plain-PyTorch reference's."""
    aug = DiffAugment(seed=1) if policy == "diffaugment" else ADA(p=1.0, seed=6)
    params = aug.sample(4, 16, 16)
    run = ref.diffaugment if policy == "diffaugment" else ref.ada
    w = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def r1(fn):
        x = images(4, 3, 16, 16).requires_grad_()
        (g,) = torch.autograd.grad((fn(x) ** 2 * w).sum(), x, create_graph=True)
        g.square().sum().backward()
        return x.grad

    got, want = r1(lambda x: aug.apply_params(x, params)), r1(lambda x: run(x, params))
    assert torch.isfinite(got).all() and got.abs().sum() > 0
    torch.testing.assert_close(got, want, rtol=1e-4, atol=2e-5 * float(want.abs().max()))


# ---------------------------------------------------------------------------------------------- ADA
@pytest.mark.parametrize("p", [0.6, 1.0])
def test_ada_matrices_equal_reference_composition(p):
    """The closed forms against augment.py's one-op-at-a-time products, and the pixel matrices against the
    inverse of T(c) G_inv T(-c)."""
    ada = ADA(p=p, seed=7)
    params = ada.sample(64, 32, 24)
    g = ref.ada_geometry(params)
    np.testing.assert_allclose(policies.geometry_inverse(params).numpy(), g, atol=1e-12)
    np.testing.assert_allclose(policies.color_matrix(params).numpy(), ref.ada_color(params), atol=1e-12)
    centre, back = np.eye(3), np.eye(3)
    centre[:2, 2], back[:2, 2] = (11.5, 15.5), (-11.5, -15.5)
    want = np.linalg.inv(centre @ g @ back)[:, :2]
    np.testing.assert_allclose(policies.warp_matrices(torch.from_numpy(g), 32, 24).numpy(), want, atol=1e-10)


@pytest.mark.parametrize("backend", ["native", "torch"])
@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("hw", [(32, 32), (24, 40)])
def test_ada_pixels_equal_plain_torch(c, hw, backend):
    """One fastaug warp (reflect101) + colour matrix vs grid_sample (reflection, align_corners=True) + the
    reference's colour product, for the same draw: bilinear sampling at the same points."""
    ada = ADA(p=1.0, seed=8, color_backend=backend)
    x = images(16, c, *hw)
    params = ada.sample(16, *hw, channels=c)
    if c == 1:  # hue and saturation are off on grey images (the identity there), as augment.py
        assert (params["hue"] == 0).all() and (params["saturation"] == 1).all()
    torch.testing.assert_close(ada.apply_params(x, params), ref.ada(x, params), rtol=0, atol=2e-4)


def test_ada_blit_ops_are_exact():
    x = images(4, 3, 8, 6)
    ada = ADA(p=1.0, ops="xflip")
    params = ada.sample(4, 8, 6)
    params["xflip"] = torch.tensor([1.0, 0, 1, 0], dtype=torch.float64)
    out = ada.apply_params(x, params)
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1])
    sq = images(4, 3, 8, 8)
    ada = ADA(p=1.0, ops="rotate90")
    params = ada.sample(4, 8, 8)
    params["rotate90"] = torch.tensor([0.0, 1, 2, 3], dtype=torch.float64)
    out = ada.apply_params(sq, params)
    want = ref.ada(sq, params)
    for i in range(4):  # rotate90's matrices are exact (cos and sin from a table): a permutation of the pixels
        assert torch.allclose(out[i], want[i], atol=1e-6)
        assert torch.equal(out[i], torch.rot90(sq[i], i, (1, 2)))


def test_ada_distributions():
    ada = ADA(p=1.0, seed=11)
    d = ada.sample(N_DRAW, 64, 32)
    ln2 = math.log(2)
    for name, std in (("scale", 0.2), ("aniso", 0.2), ("contrast", 0.5), ("saturation", 1.0)):
        assert ks(torch.log(d[name]) / ln2, normal_cdf(std)) < KS_CRIT, name
        assert ks(torch.log(d[name]) / ln2, normal_cdf(std * 1.1)) > KS_CRIT  # a 10% wrong std is caught
    assert ks(d["brightness"], normal_cdf(0.2)) < KS_CRIT
    assert ks(d["hue"], uniform_cdf(-math.pi, math.pi)) < KS_CRIT
    for name in ("rotate_pre", "rotate_post"):  # p = 1: p_rot = 1 - sqrt(0) = 1
        assert ks(d[name], uniform_cdf(-math.pi, math.pi)) < KS_CRIT
    assert (
        ks(d["xfrac"][:, 0], normal_cdf(0.125 * 32)) < KS_CRIT
        and ks(d["xfrac"][:, 1], normal_cdf(0.125 * 64)) < KS_CRIT
    )
    for name, k in (("xflip", 2), ("rotate90", 4), ("lumaflip", 2)):
        counts = torch.bincount(d[name].long(), minlength=k).double() / N_DRAW
        assert counts.numel() == k and torch.allclose(
            counts, torch.full((k,), 1 / k, dtype=torch.float64), atol=0.015
        ), name
    xint = d["xint"]  # round(U(-0.125, 0.125) * size): integers in [-4, 4] (x, width 32) and [-8, 8] (y)
    assert torch.equal(xint, xint.round()) and xint[:, 0].abs().max() == 4 and xint[:, 1].abs().max() == 8
    # the rounded uniform: the end values get half the mass of the interior ones
    counts = torch.bincount((xint[:, 0] + 4).long(), minlength=9).double() / N_DRAW
    want = torch.tensor([0.5] + [1.0] * 7 + [0.5], dtype=torch.float64) / 8
    assert torch.allclose(counts, want, atol=0.012)


def test_ada_gate_probabilities():
    p = 0.3
    ada = ADA(p=p, seed=12)
    d = ada.sample(N_DRAW, 32, 32)
    ident = {
        "scale": 1.0,
        "aniso": 1.0,
        "contrast": 1.0,
        "saturation": 1.0,
        "brightness": 0.0,
        "hue": 0.0,
        "xfrac": 0.0,
    }
    tol = 4 * math.sqrt(p * (1 - p) / N_DRAW)
    for name, v in ident.items():
        frac = (d[name] != v).reshape(N_DRAW, -1).any(1).double().mean().item()
        assert abs(frac - p) < tol, name
    p_rot = 1 - math.sqrt(1 - p)
    for name in ("rotate_pre", "rotate_post"):
        assert abs((d[name] != 0).double().mean().item() - p_rot) < tol
    either = ((d["rotate_pre"] != 0) | (d["rotate_post"] != 0)).double().mean().item()
    assert abs(either - p) < tol  # P(pre or post) = p
    # xflip: gated with p, then a fair coin
    assert abs(d["xflip"].mean().item() - p / 2) < tol
    # a sample is geometric-free with probability (1 - p)^7 (six gates and the rotation's two: 1 - p)
    assert abs((~d["geometric"]).double().mean().item() - (1 - p) ** 7) < tol
    assert abs((~d["color"]).double().mean().item() - (1 - p) ** 5) < tol


@pytest.mark.parametrize("p", [0.02, 0.1])
def test_ada_gated_off_samples_untouched(monkeypatch, p):
    """Few samples with an op: one sub-batch of them goes through the native calls. Most (over _SUBSET_BELOW of
    the batch): the whole batch does, the others with the identity matrices (exact copies of finite values)."""
    seen = []
    real_warp, real_color = policies._warp, policies._color
    monkeypatch.setattr(policies, "_warp", lambda x, *a: seen.append(("warp", x.shape[0])) or real_warp(x, *a))
    monkeypatch.setattr(policies, "_color", lambda x, *a: seen.append(("color", x.shape[0])) or real_color(x, *a))
    ada = ADA(p=p, seed=13)
    x = images(32)
    params = ada.sample(32, 32, 32)
    geo, col = params["geometric"], params["color"]
    assert 0 < geo.sum() < 32 and 0 < col.sum() < 32
    out = ada.apply_params(x, params)
    active = int((geo | col).sum())
    subset = active <= policies._SUBSET_BELOW * 32
    assert subset == (p < 0.05)  # the two draws cover both cases
    calls = active if subset else 32
    assert seen == [("warp", calls), ("color", calls)]
    off = ~(geo | col)
    assert off.any() and torch.equal(out[off], x[off])
    torch.testing.assert_close(out, ref.ada(x, params), rtol=0, atol=2e-4)
    seen.clear()
    assert ADA(p=0.0)(x) is x and seen == []  # p = 0: no draw, no call, x itself


def test_ada_update_and_cap():
    ada = ADA(p=0.0, target=0.6, interval=4, speed_kimg=1.0)  # 1k images move p by 1
    logits = torch.ones(64, 1)  # E[sign] = 1 > 0.6: p rises
    for i in range(3):
        assert ada.update(logits) == 0.0, i  # no change before the 4th minibatch
    assert ada.update(logits) == pytest.approx(256 / 1000)
    assert ada.last_rt == 1.0
    for _ in range(40):
        ada.update(logits)
    assert ada.p == 0.8  # capped at p_max
    for _ in range(4):
        ada.update(-torch.ones(64))  # E[sign] = -1 < 0.6: p falls
    assert ada.p == pytest.approx(0.8 - 0.256)
    for _ in range(40):
        ada.update(torch.full((64,), -2.0))
    assert ada.p == 0.0
    un = ADA(p=0.9, p_max=None, speed_kimg=1.0)
    for _ in range(8):
        un.update(0.9, n=64)
    assert un.p == 1.0
    paper = ADA(p=0.5)  # the paper's speed: 500k images from 0 to 1; batch 64, interval 4 -> 256 / 500000
    for _ in range(4):
        paper.update(torch.tensor([1.0, 1.0, -1.0, 1.0]))  # E[sign] = 0.5 < 0.6
    assert paper.p == pytest.approx(0.5 - 16 / 500000)
    patch = ADA(p=0.5, speed_kimg=1.0)  # a patch discriminator: 16 logits per image, the step counts images
    for _ in range(4):
        patch.update(torch.ones(8, 1, 4, 4))
    assert patch.p == pytest.approx(0.5 + 32 / 1000)
    frozen = ADA(p=0.3, adaptive=False)
    for _ in range(8):
        frozen.update(torch.ones(4))
    assert frozen.p == 0.3 and frozen.last_rt == 1.0


def test_ada_state_dict_round_trip():
    ada = ADA(p=0.1, speed_kimg=1.0, seed=21)
    for _ in range(6):  # one adjustment and two minibatches accumulated
        ada.update(torch.ones(32))
    x = images()
    state = ada.state_dict()
    assert state["_extra_state"]["p"] == pytest.approx(0.228)
    want = ada(x)
    other = ADA(seed=0, speed_kimg=1.0)
    other.load_state_dict(state)
    assert other.p == pytest.approx(0.228)
    assert torch.equal(other(x), want)  # the generator's state travels too
    for _ in range(2):
        ada.update(torch.ones(32))
        other.update(torch.ones(32))
    assert other.p == ada.p == pytest.approx(0.356)
    # nested in a model's state (a checkpoint), through torch.save
    import io

    holder = torch.nn.Module()
    holder.ada = ada
    buf = io.BytesIO()
    torch.save(holder.state_dict(), buf)
    buf.seek(0)
    fresh = torch.nn.Module()
    fresh.ada = ADA()
    fresh.load_state_dict(torch.load(buf, weights_only=False))
    assert fresh.ada.p == ada.p


# ------------------------------------------------------------------------------------------ factory
def test_make_policy():
    assert isinstance(make_policy("none"), Identity)
    assert make_policy("diffaugment").policy == "color,translation,cutout"
    assert make_policy("diffaugment:color,translation").policy == "color,translation"
    assert make_policy("DiffAugment:cutout", seed=1).policy == "cutout"
    assert make_policy("ada").ops == list(policies.ADA_OPS)
    assert make_policy("ada:bg", p=0.2).ops == list(policies.ADA_GEOMETRIC)
    assert make_policy("ada:xflip,hue").ops == ["xflip", "hue"]
    x = images()
    assert make_policy("none")(x) is x


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("dfiaugment", r"policy: unknown policy 'dfiaugment'; expected 'none', 'diffaugment'"),
        (
            "diffaugment:colour",
            r"unknown DiffAugment op 'colour' in 'colour'; expected ops from 'color', 'translation'",
        ),
        ("ada:xflip,blur", r"unknown ADA op 'blur'.*'xflip'.*preset"),
        ("diffaugment:,", r"at least one DiffAugment op"),
        ("none:x", r"unknown policy 'none:x'"),
    ],
)
def test_make_policy_errors(spec, match):
    with pytest.raises(ArgumentError, match=match):
        make_policy(spec)


def test_argument_errors():
    with pytest.raises(ArgumentError, match=r"p_max: expected a probability"):
        ADA(p_max=1.5)
    with pytest.raises(ArgumentError, match=r"p: expected a probability"):
        ADA(p=-0.1)
    with pytest.raises(ArgumentError, match=r"x: expected an \(N, C, H, W\) tensor with C = 1 or 3"):
        ADA(p=0.5)(torch.zeros(2, 4, 8, 8))
    with pytest.raises(TypeError, match="float32"):
        DiffAugment()(torch.zeros(2, 3, 8, 8, dtype=torch.float64))
    with pytest.raises(ArgumentError, match=r"n: expected the number of images"):
        ADA().update(0.5)
    with pytest.raises(ArgumentError, match=r"color_backend: expected 'native' or 'torch', got 'cuda'"):
        ADA(color_backend="cuda")
    with pytest.raises(ArgumentError, match="translation_ratio"):
        DiffAugment(translation_ratio=2)


def test_import_fastaug_does_not_import_train():
    import subprocess
    import sys

    code = "import sys, fastaug; assert 'fastaug.train' not in sys.modules and 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
