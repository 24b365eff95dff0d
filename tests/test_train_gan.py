"""fastaug.train.gan and the run infrastructure (fastaug.train._run): the models' shapes and errors, the losses'
values, R1 in both modes, the EMA, tiny training runs (finite losses, the run folder's files), resume giving
bit-identical next steps (parameters and ADA's p), refusing another configuration's checkpoint, and a
2-process gloo run under torchrun. Tiny sizes (16 px, batch 8, a few steps) on the CPU."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastaug import ArgumentError  # noqa: E402
from fastaug.train import ADA, DiffAugment, Identity, make_policy  # noqa: E402
from fastaug.train import _run as run  # noqa: E402
from fastaug.train.gan import (  # noqa: E402
    EMA,
    Discriminator,
    GANConfig,
    GANStep,
    GANTrainer,
    Generator,
    d_loss,
    g_loss,
    r1_penalty,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """torch on one thread: two threads on this loaded 2-core machine ran the tiny models ~10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(out: Path, **kw) -> GANConfig:
    base = dict(size=16, batch=8, steps=4, out=str(out), eval_n=32, log_every=2, sample_every=2, progress=False)
    base.update(device="cpu", width=4, z_dim=8, threads=1)  # 2 threads on a loaded 2-core machine: 10x slower
    base.update(kw)
    return GANConfig(**base)


def images(n: int = 8, c: int = 1, s: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ------------------------------------------------------------------------------------------------- models
@pytest.mark.parametrize("size", [8, 16, 32])
@pytest.mark.parametrize("c", [1, 3])
def test_models_shapes(size, c):
    torch.manual_seed(0)
    g, d = Generator(size, c, z_dim=8, width=4), Discriminator(size, c, width=4)
    x = g(torch.randn(5, 8))
    assert x.shape == (5, c, size, size)
    assert x.abs().max() <= 1
    assert d(x).shape == (5,)


@pytest.mark.parametrize("size", [4, 12, 24, 33])
def test_models_refuse_sizes_that_are_not_powers_of_two(size):
    with pytest.raises(ArgumentError, match=r"--size: .*power of two >= 8.*got " + str(size)):
        Generator(size, 1)


def test_channels_refused():
    with pytest.raises(ArgumentError, match="--channels"):
        Discriminator(16, 2)


# ------------------------------------------------------------------------------------------------- losses
def test_losses_values():
    r, f = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sp = lambda v: math.log1p(math.exp(v))
    assert d_loss(r, f, "ns").item() == pytest.approx((sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3)) / 2, rel=1e-6)
    assert d_loss(r, f, "hinge").item() == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert g_loss(f, "ns").item() == pytest.approx((sp(-0.5) + sp(3)) / 2, rel=1e-6)
    assert g_loss(f, "hinge").item() == pytest.approx(1.25)
    with pytest.raises(ArgumentError, match="--loss"):
        d_loss(r, f, "wgan")


def test_r1_penalty_of_a_linear_discriminator():
    """D(x) = <w, x>: grad = w for every image, so R1 = |w|^2."""
    w = torch.randn(1, 3, 4, 4, requires_grad=True)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    pen = r1_penalty((x * w).flatten(1).sum(1), x)
    assert pen.item() == pytest.approx(w.square().sum().item(), rel=1e-5)
    assert pen.requires_grad  # create_graph: the penalty's gradient reaches D's weights


def step_for(policy, **kw):
    torch.manual_seed(1)
    g, d = Generator(16, 1, z_dim=8, width=4), Discriminator(16, 1, width=4)
    return GANStep(g, d, policy, latent_generator=torch.Generator().manual_seed(2), **kw)


def test_r1_modes_agree_without_augmentation():
    """With the identity policy, R1 on the augmented reals and on the un-augmented ones is the same penalty:
    the same D update."""
    x = images()
    a, b = step_for(Identity(), r1_gamma=5.0, r1_on="augmented"), step_for(Identity(), r1_gamma=5.0, r1_on="real")
    oa, ob = a.d_step(x), b.d_step(x)
    assert oa["r1"].item() == ob["r1"].item() > 0
    for pa, pb in zip(a.D.parameters(), b.D.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


@pytest.mark.parametrize("policy", ["diffaugment", "ada"])
def test_r1_on_real_differentiates_through_the_policy(policy):
    """R1 on the un-augmented reals: the penalty is the gradient norm of D(T(x)) w.r.t. x, which differs from
    the one w.r.t. T(x) (the augmented mode) and still trains D (finite, D moves)."""
    x = images()

    def pol():
        return make_policy(policy, seed=3, **({"p": 1.0} if policy == "ada" else {}))

    real, aug = step_for(pol(), r1_gamma=5.0, r1_on="real"), step_for(pol(), r1_gamma=5.0, r1_on="augmented")
    before = [p.clone() for p in real.D.parameters()]
    r, a = real.d_step(x)["r1"].item(), aug.d_step(x)["r1"].item()
    assert math.isfinite(r) and r > 0 and r != a
    assert any(not torch.equal(p, q) for p, q in zip(before, real.D.parameters(), strict=True))


def test_r1_on_real_refuses_a_policy_without_double_backward():
    class Blur(torch.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(ArgumentError, match=r"--r1-on: 'real'.*Blur"):
        step_for(Blur(), r1_gamma=1.0, r1_on="real")
    step_for(Blur(), r1_gamma=1.0, r1_on="augmented")  # fine


@pytest.mark.parametrize("policy", ["none", "diffaugment", "ada:bgc"])
@pytest.mark.parametrize("loss", ["ns", "hinge"])
def test_gan_step_losses_finite_and_generator_trained_through_policy(policy, loss):
    pol = make_policy(policy, **({} if policy == "none" else {"seed": 0}))
    if isinstance(pol, ADA):
        pol.p = 1.0
    step = step_for(pol, loss=loss, r1_gamma=1.0)
    g0 = [p.clone() for p in step.G.parameters()]
    for _ in range(2):
        out = step(images())
    assert set(out) >= {"loss_d", "loss_g", "d_real", "d_fake", "r1"}
    assert all(math.isfinite(v.item()) for v in out.values())
    assert all(not torch.equal(a, b) for a, b in zip(g0, step.G.parameters(), strict=True))


def test_policy_sees_reals_and_fakes_in_d_step_and_fakes_in_g_step():
    """T is applied to the reals and the fakes in the D step (one call on both, reals first: per-sample draws,
    one call's fixed costs), and to the fakes in the G step, where its output carries gradient to G."""

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls, self.inputs = [], []

        def forward(self, x):
            self.calls.append((x.shape[0], x.requires_grad))
            self.inputs.append(x.detach().clone())
            return x.flip(3)

    spy = Spy()
    step = step_for(spy)
    reals = images(6)
    step(reals)
    assert spy.calls == [(12, False), (6, True)]  # reals + fakes (no grad), fakes of the G step
    assert torch.equal(spy.inputs[0][:6], reals) and not torch.equal(spy.inputs[0][6:], reals)


def test_samples_come_from_the_ema_generator():
    step = step_for(Identity(), ema_kimg=1e9, ema_rampup=None)  # a half-life of 1e12 images: EMA stays put
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        initial = step.G(z)
    step(images())
    torch.testing.assert_close(step.sample(z), initial, rtol=0, atol=1e-6)
    with torch.no_grad():
        assert not torch.allclose(step.G(z), initial)  # G itself moved


def test_ada_p_moves_from_real_logits():
    ada = ADA(p=0.0, seed=0, speed_kimg=0.008, interval=1)  # one step of 8 images moves p by 1 (capped 0.8)
    step = step_for(ada)
    step.D.logit.bias.data.fill_(10.0)  # D(real) > 0: r_t = 1 > 0.6, p rises
    step.d_step(images())
    assert ada.p == pytest.approx(0.8)


def test_ema_half_life_and_rampup():
    m = torch.nn.Linear(1, 1, bias=False)
    m.weight.data.fill_(0.0)
    ema = EMA(m, half_life_images=64, rampup=None)
    m.weight.data.fill_(1.0)
    for _ in range(8):  # 8 steps of 8 images = one half-life: the old weight keeps half
        ema.update(m, 8, 0)
    assert ema.module.weight.item() == pytest.approx(0.5)
    assert EMA(m, 64, rampup=0.05).beta(8, 0) == 0.0  # no image seen: the copy follows the module
    assert EMA(m, 64, rampup=0.05).beta(8, 640) == pytest.approx(0.5 ** (8 / 32))
    assert EMA(m, 0, rampup=None).beta(8, 10) == 0.0


# ----------------------------------------------------------------------------------------- run infrastructure
def test_stream_seeds_differ_by_rank_name_and_seed():
    seeds = {run.stream_seed(s, r, n) for s in (0, 1) for r in (0, 1) for n in ("data", "policy")}
    assert len(seeds) == 8
    assert run.stream_seed(3, 1, "data") == run.stream_seed(3, 1, "data")


def test_batches_cover_each_epoch_once_and_resume():
    b = run.Batches(torch.arange(10), 4, seed=5)
    first = torch.cat([b.next() for _ in range(5)])  # 20 draws = 2 epochs
    assert sorted(first[:10].tolist()) == list(range(10)) and sorted(first[10:].tolist()) == list(range(10))
    state = b.state_dict()
    nxt = [b.next() for _ in range(3)]
    c = run.Batches(torch.arange(10), 4, seed=0)
    c.load_state_dict(state)
    assert all(torch.equal(x, c.next()) for x in nxt)


def test_checkpoint_is_written_atomically(tmp_path, monkeypatch):
    rd = run.RunDir(tmp_path)
    rd.save_checkpoint({"config": {}, "v": torch.ones(2)})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        rd.save_checkpoint({"config": {}, "v": torch.zeros(2)})
    assert torch.equal(run.load_checkpoint(rd.checkpoint_path)["v"], torch.ones(2))  # the old one, whole
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left


def test_grid_layout():
    x = -torch.ones(5, 3, 2, 2)
    x[1] = 1
    grid = run.image_grid(x, nrow=3)
    assert grid.shape == (2 * 3 - 1, 3 * 3 - 1, 3) and grid.dtype == np.uint8
    assert (grid[0:2, 3:5] == 255).all() and (grid[0:2, 0:2] == 0).all()


# ------------------------------------------------------------------------------------------------ tiny runs
def test_tiny_run_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    metrics = GANTrainer(tiny(out, policy="ada", r1_gamma=1.0, eval_every=2)).fit()
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    kinds = [r["kind"] for r in lines]
    assert kinds.count("config") == 1 and kinds.count("train") == 2 and kinds.count("eval") == 2
    train = [r for r in lines if r["kind"] == "train"]
    assert all(math.isfinite(r[k]) for r in train for k in ("loss_d", "loss_g", "r1", "images_per_s"))
    assert all(0 <= r["ada_p"] <= 0.8 for r in train)
    assert metrics == lines[-1] and metrics["n"] == 32 and metrics["features"] == "digits"
    assert math.isfinite(metrics["fid"]) and metrics["fid"] > metrics["fid_floor"] > 0
    for name in ("samples.png", "samples/0000002.png", "samples/0000004.png", "losses.png"):
        assert (out / name).stat().st_size > 100, name
    state = run.load_checkpoint(out / "last.pt")
    assert state["step"] == 4 and state["kind"] == "gan" and state["config"]["policy"] == "ada"
    assert set(state["ranks"][0]["trainer"]) >= {"G", "D", "G_ema", "opt_g", "opt_d", "policy", "latents"}


def test_rgb_data_is_scored_with_the_photos_features(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "rgb.npy", rgb)
    metrics = GANTrainer(tiny(tmp_path / "run", data=str(tmp_path / "rgb.npy"), steps=2, eval_n=8)).fit()
    assert metrics["features"] == "photos" and metrics["fid"] > 0 and math.isfinite(metrics["kid_mean"])
    grey = GANTrainer(tiny(tmp_path / "grey", data=str(tmp_path / "rgb.npy"), steps=2, eval_n=8, channels=1)).fit()
    assert grey["features"] == "digits" and grey["fid"] > 0


def params_of(trainer: GANTrainer) -> dict[str, torch.Tensor]:
    g = trainer.gan
    return {
        **{f"G.{k}": v for k, v in g.G.state_dict().items()},
        **{f"D.{k}": v for k, v in g.D.state_dict().items()},
        **{f"E.{k}": v for k, v in g.ema.module.state_dict().items()},
    }


@pytest.mark.parametrize("policy", ["ada", "diffaugment"])
def test_resume_gives_bit_identical_next_steps(tmp_path, policy):
    """N + M steps straight vs N steps, stop, resume, M more: the same parameters bit for bit, the same p."""
    kw = dict(policy=policy, r1_gamma=1.0, r1_on="real", ada_kimg=0.05, ada_interval=1, eval_n=16)
    straight = GANTrainer(tiny(tmp_path / "a", steps=6, **kw))
    straight.fit()
    GANTrainer(tiny(tmp_path / "b", steps=3, **kw)).fit()
    resumed = GANTrainer(tiny(tmp_path / "b", steps=6, resume=True, **kw))
    assert resumed.step == 3
    if policy == "ada":
        assert resumed.gan.policy.p > 0  # restored: a fresh ADA starts at p = 0
    resumed.fit()
    a, b = params_of(straight), params_of(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    if policy == "ada":
        assert straight.gan.policy.p == resumed.gan.policy.p
    ra = [r for r in run.RunDir(tmp_path / "a").records("train")]
    rb = [r for r in run.RunDir(tmp_path / "b").records("train")]
    # the lines whose averaging windows coincide (b also logged at its stop, step 3)
    pick = lambda recs: [(r["step"], r["loss_d"], r.get("ada_p")) for r in recs if r["step"] in (2, 6)]
    assert pick(ra) == pick(rb)


def test_resume_refuses_another_shape(tmp_path):
    GANTrainer(tiny(tmp_path / "r", steps=1)).fit()
    with pytest.raises(
        ArgumentError, match=r"--resume: checkpoint .*last.pt' was written for size 16, this run has size 8"
    ):
        GANTrainer(tiny(tmp_path / "r", size=8, steps=2, resume=True))
    with pytest.raises(ArgumentError, match="was written for width 4, this run has width 8"):
        GANTrainer(tiny(tmp_path / "r", width=8, steps=2, resume=True))
    with pytest.raises(ArgumentError, match=r"--out: .* already holds a run"):
        GANTrainer(tiny(tmp_path / "r", steps=2))


def test_policy_classes_allow_double_backward():
    from fastaug.train.gan import supports_double_backward

    assert all(supports_double_backward(p) for p in (Identity(), DiffAugment(seed=0), ADA(seed=0)))


# ---------------------------------------------------------------------------------------------- torchrun
def test_torchrun_two_gloo_processes(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    out = tmp_path / "ddp"
    args = ["--size", "16", "--batch", "8", "--steps", "4", "--width", "4", "--z-dim", "8", "--eval-n", "16",
            "--policy", "ada", "--ada-kimg", "0.05", "--ada-interval", "1", "--r1-gamma", "1", "--log-every", "2",
            "--device", "cpu", "--threads", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "fastaug", "train", "gan", *args]
    try:
        done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired as e:  # a hung rank fails the test instead of hanging it
        pytest.fail(f"torchrun did not finish in 150 s:\n{e.stderr}")
    assert done.returncode == 0, done.stderr[-4000:]
    recs = run.RunDir(out).records()
    assert recs[0]["world"] == 2 and recs[-1]["kind"] == "eval" and math.isfinite(recs[-1]["fid"])
    state = run.load_checkpoint(out / "last.pt")
    assert state["world"] == 2 and len(state["ranks"]) == 2
    r0, r1 = (s["trainer"] for s in state["ranks"])
    for k in r0["G"]:  # gradients averaged: both ranks hold the same weights
        assert torch.equal(r0["G"][k], r1["G"][k])
    assert r0["policy"]["_extra_state"]["p"] == r1["policy"]["_extra_state"]["p"]  # p from gathered logits
    assert not torch.equal(r0["latents"], r1["latents"])  # each rank its own streams
    assert not torch.equal(r0["policy"]["_extra_state"]["generator"], r1["policy"]["_extra_state"]["generator"])


def test_a_trainer_without_matplotlib_refuses_to_start(tmp_path, monkeypatch):
    """The pictures need the [train] extra's matplotlib: say so before training, not at the first picture."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ArgumentError, match=r"matplotlib.*fastaug\[train\]"):
        GANTrainer(GANConfig(size=16, steps=1, out=str(tmp_path / "run"), progress=False))
    assert not (tmp_path / "run").exists()
