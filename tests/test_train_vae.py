"""fastaug.train.vae: the ELBO against closed forms (a hand-built model whose decoder output and posterior are
known), beta weighting the loss but not the reported ELBO, input augmentation on training batches only,
bit-identical resume, the run folder's files, the CLI, and errors naming the option. Tiny runs: 16 x 16
digits, batch 8, a few steps."""

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
pytest.importorskip("sklearn")

from fastaug import ArgumentError  # noqa: E402
from fastaug.train._run import RunDir, load_checkpoint  # noqa: E402
from fastaug.train.vae import (  # noqa: E402
    BIN_WIDTH,
    VAE,
    VAEConfig,
    VAETrainer,
    evaluate,
    from_levels,
    to_levels,
    vae_step,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = {"size": 16, "batch": 8, "latent": 4, "width": 4, "progress": False, "log_every": 2, "threads": 1}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared: small convolutions only lose time to threading
    yield
    torch.set_num_threads(threads)


def config(tmp_path, name="run", **kw):
    return VAEConfig(**{**TINY, "out": str(tmp_path / name), **kw})


def write_pipeline(tmp_path, transforms, name="aug.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"transforms": transforms}))
    return str(path)


# ------------------------------------------------------------------------------------------ the ELBO


def constant_vae(likelihood, mu, logvar, out_value, sigma=None, size=8):
    """A VAE whose weights are all zero: the posterior is N(mu, exp(logvar)) (the encoder's last bias) and
    the decoder output is out_value at every pixel (its last bias), whatever the image and z."""
    vae = VAE(size, 1, latent=len(mu), width=2, likelihood=likelihood, sigma=sigma)
    with torch.no_grad():
        for p in vae.parameters():
            if p is not vae.log_sigma_param:
                p.zero_()
        vae.encoder[-1].bias.copy_(torch.tensor([*mu, *logvar]))
        vae.decoder[-1].bias.fill_(out_value)
    return vae


def kl_by_hand(mu, logvar):
    return sum(0.5 * (m * m + math.exp(lv) - 1.0 - lv) for m, lv in zip(mu, logvar, strict=True))


def test_bernoulli_elbo_matches_closed_form():
    mu, logvar, a = [0.5, -1.0, 2.0], [0.0, -1.0, 0.7], 0.3
    vae = constant_vae("bernoulli", mu, logvar, a)
    rng = np.random.default_rng(0)
    levels = torch.from_numpy(rng.integers(0, 256, (20, 1, 8, 8), dtype=np.uint8))
    images = from_levels(levels)
    m = evaluate(vae, images, batch_size=7)
    ones = (levels >= 128).double().flatten(1).sum(1).numpy()
    log_p = ones * math.log(1 / (1 + math.exp(-a))) + (64 - ones) * math.log(1 - 1 / (1 + math.exp(-a)))
    want = float(np.mean(log_p - kl_by_hand(mu, logvar)))
    assert m["elbo_nats"] == pytest.approx(want, rel=1e-6)
    assert m["kl"] == pytest.approx(kl_by_hand(mu, logvar), rel=1e-6)
    assert m["bits_per_dim"] == pytest.approx(-want / (64 * math.log(2)), rel=1e-6)
    assert m["n"] == 20


def test_gaussian_elbo_matches_closed_form_with_discretisation():
    """Constant images at level 128, a decoder mean at that level and sigma fixed at h = 1/255: the
    dequantised pixel is x0 + d, d ~ U(-h, h), so E log N(x0 + d; x0, h^2) = -1/6 - log h - log(2 pi)/2 per
    pixel, and the reported ELBO adds D log(2/255) (the 8-bit bin) and subtracts KL."""
    mu, logvar = [0.3, -0.2], [-0.5, 0.4]
    x0 = 128 / 127.5 - 1
    h = 1 / 255
    vae = constant_vae("gaussian", mu, logvar, x0, sigma=h)
    images = torch.full((400, 1, 8, 8), x0)
    m = evaluate(vae, images, batch_size=100, seed=3)
    per_pixel = -1 / 6 - math.log(h) - 0.5 * math.log(2 * math.pi) + math.log(BIN_WIDTH)
    want = 64 * per_pixel - kl_by_hand(mu, logvar)
    # the noise's share: per image sd 64^0.5 * sd(u^2 / 2) ~ 1.2 nats, so the mean of 400 has sd ~ 0.06
    assert m["elbo_nats"] == pytest.approx(want, abs=0.4)
    assert m["log_px_z"] == pytest.approx(want + kl_by_hand(mu, logvar) - 64 * math.log(BIN_WIDTH), abs=0.4)
    assert m["recon_mse"] == pytest.approx(0.0, abs=1e-12)


def test_log_likelihood_and_kl_match_torch_distributions():
    torch.manual_seed(0)
    vae = VAE(8, 3, latent=5, width=4)  # learned sigma, one per channel
    with torch.no_grad():
        vae.log_sigma_param.copy_(torch.tensor([-1.0, -2.0, -0.5]) / vae.sigma_speed)
    out, target = torch.randn(4, 3, 8, 8), torch.rand(4, 3, 8, 8) * 2 - 1
    sigma = torch.exp(torch.tensor([-1.0, -2.0, -0.5])).view(1, 3, 1, 1)
    normal = torch.distributions.Normal(out, sigma)
    torch.testing.assert_close(vae.log_likelihood(out, target), normal.log_prob(target).sum((1, 2, 3)))
    mu, logvar = torch.randn(4, 5), torch.randn(4, 5)
    q, p = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), torch.distributions.Normal(0.0, 1.0)
    torch.testing.assert_close(VAE.kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1))
    b = VAE(8, 1, likelihood="bernoulli")
    logits, bits = torch.randn(4, 1, 8, 8), (torch.rand(4, 1, 8, 8) > 0.5).float()
    bern = torch.distributions.Bernoulli(logits=logits)
    torch.testing.assert_close(b.log_likelihood(logits, bits), bern.log_prob(bits).sum((1, 2, 3)))


def test_prepare_rounds_to_8_bit_then_dequantises_or_binarises():
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    levels = to_levels(x)
    inp, target = VAE(8, 1).prepare(x, torch.Generator().manual_seed(0))
    assert torch.equal(inp, target)
    assert (target - from_levels(levels)).abs().max() <= BIN_WIDTH / 2
    assert torch.equal(to_levels(target), levels)  # the noise never leaves the level's bin
    inp, target = VAE(8, 1, likelihood="bernoulli").prepare(x)
    assert torch.equal(target, (levels >= 128).float())
    assert torch.equal(inp, target * 2 - 1)


@pytest.mark.parametrize(("likelihood", "gain"), [("gaussian", 100), ("bernoulli", 3)])
def test_training_gives_finite_improving_elbo(tmp_path, likelihood, gain):
    """30 steps (measured: gaussian -6826 -> -4598 nats, bernoulli -170.5 -> -164.3 with this tiny model)."""
    trainer = VAETrainer(config(tmp_path, steps=30, likelihood=likelihood, lr=3e-3))
    before = evaluate(trainer.vae, trainer.data.held_out, seed=0)
    m = trainer.fit()
    for key in ("elbo_nats", "bits_per_dim", "log_px_z", "kl", "recon_mse"):
        assert math.isfinite(m[key]), key
    assert m["elbo_nats"] > before["elbo_nats"] + gain
    assert m["kl"] >= 0
    assert m["n"] == len(trainer.data.held_out)


def test_beta_weights_the_loss_not_the_reported_elbo():
    torch.manual_seed(0)
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    runs = {}
    for beta in (1.0, 4.0):
        torch.manual_seed(1)
        vae = VAE(16, 1, latent=4, width=4)
        with torch.no_grad():
            vae.encoder[-1].bias[:4] += 1.0  # posterior means near 1: KL ~ 2 nats, well above the loss's rounding
        opt = torch.optim.Adam(vae.parameters(), 1e-3)
        stats = vae_step(vae, opt, x, beta=beta, generator=torch.Generator().manual_seed(2))
        runs[beta] = (stats, torch.cat([p.detach().flatten() for p in vae.parameters()]))
    (s1, p1), (s4, p4) = runs[1.0], runs[4.0]
    assert torch.equal(s1.elbo, s4.elbo) and torch.equal(s1.kl, s4.kl)  # the same pass, beta = 1 reported
    assert float(s1.kl) > 0
    torch.testing.assert_close(s4.loss - s1.loss, 3 * s1.kl, rtol=0, atol=5e-3)  # float32 losses ~ 5e3
    torch.testing.assert_close(s1.elbo, -s1.loss + 256 * math.log(BIN_WIDTH))
    assert not torch.equal(p1, p4)  # beta changed the gradient


# -------------------------------------------------------------------------------------- augmentation


def test_augmentation_reaches_training_batches_only(tmp_path):
    flip = write_pipeline(tmp_path, [{"name": "VerticalFlip", "p": 1.0}])
    trainer = VAETrainer(config(tmp_path, steps=2, augment=flip))
    idx = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    plain = from_levels(to_levels(trainer.data.train[idx]))
    assert torch.equal(trainer.reals(idx), plain.flip(-2))
    seen = []
    step = trainer.train_step
    trainer.train_step = lambda reals: (seen.append(reals.clone()), step(reals))[1]
    m = trainer.fit()
    train_levels = to_levels(trainer.data.train).flatten(1).int()
    for batch in seen:  # every batch the loop trained on is made of flipped training images
        flipped_back = to_levels(batch.flip(-2)).flatten(1).int()
        assert (torch.cdist(flipped_back.float(), train_levels.float()).min(1).values == 0).all()
    # the evaluation saw the held-out images as they are
    plain_eval = evaluate(trainer.vae, trainer.data.held_out, seed=trainer.config.seed)
    assert m["elbo_nats"] == pytest.approx(plain_eval["elbo_nats"], rel=1e-12)


def test_augmentation_is_per_sample_and_seeded(tmp_path):
    flip = write_pipeline(tmp_path, [{"name": "HorizontalFlip", "p": 0.5}])
    trainer = VAETrainer(config(tmp_path, batch=64, augment=flip))
    same = torch.zeros(64, dtype=torch.long)  # one image 64 times: each copy draws its own flip
    a = trainer.reals(same)
    assert torch.equal(a, trainer.reals(same))  # the same step and seed: the same draws
    flipped = (a != a[:, :, :, :].flip(-1)[0:1]).flatten(1).any(1)
    assert 10 < int(flipped.sum()) < 54
    trainer.step = 1
    assert not torch.equal(a, trainer.reals(same))  # the next step draws anew


# ------------------------------------------------------------------------------------ resume and files


def test_resume_is_bit_identical(tmp_path):
    aug = write_pipeline(tmp_path, [{"name": "Affine", "degrees": 10, "translate": [0.1, 0.1], "border": "constant"}])
    straight = VAETrainer(config(tmp_path, "straight", steps=6, augment=aug, log_every=1))
    straight.fit()
    VAETrainer(config(tmp_path, "split", steps=3, augment=aug, log_every=1)).fit()
    resumed = VAETrainer(config(tmp_path, "split", steps=6, augment=aug, resume=True, log_every=1))
    assert resumed.step == 3
    resumed.fit()
    for (name, a), b in zip(straight.vae.state_dict().items(), resumed.vae.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    sa, sb = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(sa[k]["exp_avg_sq"], sb[k]["exp_avg_sq"]) for k in sa)
    lines = [RunDir(tmp_path / n).records("train") for n in ("straight", "split")]
    assert [r["loss"] for r in lines[0]] == [r["loss"] for r in lines[1]]


def test_run_folder_files(tmp_path):
    VAETrainer(config(tmp_path, steps=4, sample_every=2)).fit()
    run = tmp_path / "run"
    for name in ("metrics.jsonl", "last.pt", "losses.png", "samples.png", "reconstructions.png"):
        assert (run / name).stat().st_size > 0, name
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["0000002.png", "0000004.png"]
    kinds = [json.loads(line)["kind"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert kinds == ["config", "train", "train", "eval"]
    import matplotlib.image

    assert matplotlib.image.imread(run / "samples.png").shape[:2] == (8 * 17 - 1, 8 * 17 - 1)
    assert matplotlib.image.imread(run / "reconstructions.png").shape[:2] == (8 * 17 - 1, 8 * 17 - 1)
    state = load_checkpoint(run / "last.pt", {"kind": "vae"})
    assert state["step"] == 4
    mine = state["ranks"][0]
    assert {"rng", "batches", "trainer"} <= set(mine)
    assert {"model", "optimizer", "generator"} <= set(mine["trainer"])


def test_rgb_npy_with_a_small_held_out_split(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "rgb.npy", images)
    trainer = VAETrainer(config(tmp_path, data=str(tmp_path / "rgb.npy"), steps=2))
    m = trainer.fit()
    assert trainer.vae.channels == 3 and m["n"] == 4 and m["dims"] == 3 * 16 * 16
    assert math.isfinite(m["elbo_nats"])
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "run" / "reconstructions.png").shape[:2] == (2 * 17 - 1, 4 * 17 - 1)


def test_cli(tmp_path, capsys):
    cli_main = pytest.importorskip("fastaug.train.cli").main
    out = str(tmp_path / "cli")
    args = ["vae", "--size", "16", "--batch", "8", "--steps", "2", "--latent", "4", "--width", "4"]
    assert cli_main([*args, "--out", out, "--no-progress", "--likelihood", "bernoulli"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["likelihood"] == "bernoulli" and math.isfinite(metrics["elbo_nats"])
    assert cli_main([*args, "--out", str(tmp_path / "b"), "--beta", "0"]) == 2
    assert "--beta" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("kw", "option"),
    [
        ({"likelihood": "poisson"}, "--likelihood"),
        ({"beta": 0.0}, "--beta"),
        ({"beta": -1.0}, "--beta"),
        ({"beta": float("nan")}, "--beta"),
        ({"size": 12}, "--size"),
        ({"latent": 0}, "--latent"),
        ({"sigma": 0.0}, "--sigma"),
        ({"sigma": 0.1, "likelihood": "bernoulli"}, "--sigma"),
        ({"augment": "/no/such/pipeline.yaml"}, "--augment"),
    ],
)
def test_bad_options_name_the_option(tmp_path, kw, option):
    with pytest.raises(ArgumentError, match=option):
        VAETrainer(config(tmp_path, **kw))


def test_bad_pipeline_files(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("transforms: [ {name: HorizontalFlip\n")
    with pytest.raises(ArgumentError, match="--augment: cannot read the pipeline file"):
        VAETrainer(config(tmp_path, augment=str(broken)))
    unknown = write_pipeline(tmp_path, [{"name": "Twirl"}], "unknown.json")
    with pytest.raises(ArgumentError, match=r"--augment: .*unknown transform 'Twirl'"):
        VAETrainer(config(tmp_path, augment=unknown))
    shrink = write_pipeline(tmp_path, [{"name": "Resize", "size": 8}], "shrink.json")
    with pytest.raises(ArgumentError, match="--augment: the pipeline turns"):
        VAETrainer(config(tmp_path, augment=shrink))


def test_resume_refuses_another_models_checkpoint(tmp_path):
    VAETrainer(config(tmp_path, steps=1)).fit()
    with pytest.raises(ArgumentError, match=r"--resume: .*latent"):
        VAETrainer(config(tmp_path, steps=2, latent=8, resume=True))
    gan = {"kind": "gan", "step": 1, "world": 1, "config": {**config(tmp_path).as_dict(), "channels": 1}}
    RunDir(tmp_path / "gan").save_checkpoint(gan)
    with pytest.raises(ArgumentError, match=r"--resume: .*kind 'gan'"):
        VAETrainer(config(tmp_path, "other", steps=2, resume=str(tmp_path / "gan" / "last.pt")))
    with pytest.raises(ArgumentError, match="likelihood"):
        VAE(16, 1, likelihood="laplace")


def test_torchrun_two_gloo_processes(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found")
    pytest.importorskip("fastaug.train.cli")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    out = tmp_path / "ddp"
    aug = write_pipeline(tmp_path, [{"name": "HorizontalFlip", "p": 0.5}])
    args = ["--size", "16", "--batch", "8", "--steps", "2", "--latent", "4", "--width", "4", "--augment", aug,
            "--log-every", "1", "--eval-n", "16", "--device", "cpu", "--no-progress", "--out", str(out)]  # fmt: skip
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "fastaug", "train", "vae", *args]
    try:
        done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired as e:  # a hung rank fails the test instead of hanging it
        pytest.fail(f"torchrun did not finish in 150 s:\n{e.stderr}")
    assert done.returncode == 0, done.stderr[-4000:]
    recs = RunDir(out).records()
    assert recs[0]["world"] == 2 and recs[-1]["kind"] == "eval" and math.isfinite(recs[-1]["elbo_nats"])
    state = load_checkpoint(out / "last.pt")
    assert state["world"] == 2 and len(state["ranks"]) == 2
    r0, r1 = (s["trainer"] for s in state["ranks"])
    for k in r0["model"]:  # gradients averaged: both ranks hold the same weights after 2 steps
        assert torch.equal(r0["model"][k], r1["model"][k]), k
    assert not torch.equal(r0["generator"], r1["generator"])  # each rank its own noise stream
