"""A DCGAN-style GAN trained with differentiable augmentation (DiffAugment, Zhao et al. 2020; StyleGAN2-ADA,
Karras et al. 2020) through fastaug's native torch operators.

- ``Generator`` / ``Discriminator``: DCGAN (Radford et al. 2016) sized by the image size (a power of two >= 8)
  and channels (1 or 3): the generator maps z ~ N(0, I) through a linear layer to 4x4 and doubles the
  resolution with ConvTranspose2d(4, stride 2) + BatchNorm + ReLU blocks, then a 3x3 conv and tanh; the
  discriminator mirrors it with Conv2d(4, stride 2) + LeakyReLU(0.2) blocks and no normalisation (so the R1
  penalty's double backward and multi-process runs need no batch statistics), then a linear logit.
- ``GANStep``: one training step, usable without the trainer: the D step on augmented reals and fakes
  (non-saturating or hinge loss, optional R1 penalty), ADA's p updated from D(real), the G step through the
  augmented fakes, and the generator's EMA.
- ``GANConfig`` / ``GANTrainer``: data, run folder, evaluation (FID/KID of EMA samples against the held-out
  split with the shipped digits features, and the real-vs-real floor at the same n), pictures, checkpoints,
  resume and torchrun (see fastaug.train._run.Trainer for the loop).

The R1 penalty gamma/2 E||grad_x D(x)||^2 is taken on the augmented reals by default (DiffAugment's choice:
x = T(real) detached), or with ``r1_on='real'`` on the un-augmented reals (x = real, D(T(x))), which
differentiates twice through the augmentation: fastaug's warp and colour operators are twice differentiable
(tests/test_train_policies.py checks R1 gradients through DiffAugment and ADA against plain-PyTorch
references), so 'none', 'diffaugment[:ops]' and 'ada[:ops]' all allow it; a policy module passed in by hand
must say so with a ``supports_double_backward = True`` attribute.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._errors import ArgumentError
from ._run import (
    Dist,
    RunConfig,
    Trainer,
    _help,
    _is_int,
    _want,
    all_gather_cat,
    all_reduce_grads,
    broadcast_module,
    stream_seed,
)
from .policies import ADA, DiffAugment, Identity, make_policy

__all__ = [
    "EMA",
    "Discriminator",
    "GANConfig",
    "GANStep",
    "GANTrainer",
    "Generator",
    "d_loss",
    "g_loss",
    "r1_penalty",
]

LOSSES = ("ns", "hinge")
R1_ON = ("augmented", "real")


def _levels(size: int, option: str = "--size") -> int:
    """log2(size) - 2: the number of 2x blocks between 4x4 and size x size."""
    if not (_is_int(size) and size >= 8 and size & (size - 1) == 0):
        raise ArgumentError(f"{option}: the DCGAN models need a power of two >= 8 (8, 16, 32, 64, ...), got {size!r}")
    return int(math.log2(size)) - 2


def _widths(size: int, width: int) -> list[int]:
    """Channels at 4x4, 8x8, ..., size x size: width at full size, doubling per halving, capped at 8 width."""
    n = _levels(size)
    return [width * min(2 ** (n - i), 8) for i in range(n + 1)]


class Generator(nn.Module):
    """DCGAN generator: z (N, z_dim) -> images (N, channels, size, size) in [-1, 1]. BatchNorm uses the batch's
    statistics in every mode (track_running_stats=False): samples depend on the batch they are drawn with,
    and no running averages go stale under the EMA (the trainer samples in batches of 64 or more)."""

    def __init__(self, size: int = 32, channels: int = 1, z_dim: int = 64, width: int = 32) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ArgumentError(f"--channels: the models take 1 or 3 channels, got {channels!r}")
        w = _widths(size, width)
        self.size, self.channels, self.z_dim = size, channels, z_dim
        self.fc = nn.Linear(z_dim, w[0] * 16, bias=False)
        self.bn0 = nn.BatchNorm2d(w[0], track_running_stats=False)
        blocks: list[nn.Module] = []
        for cin, cout in itertools.pairwise(w):
            blocks += [
                nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout, track_running_stats=False),
                nn.ReLU(inplace=True),
            ]
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.Conv2d(w[-1], channels, 3, 1, 1)

    def forward(self, z: Tensor) -> Tensor:
        x = self.fc(z).view(z.shape[0], -1, 4, 4)
        x = F.relu(self.bn0(x))
        return torch.tanh(self.to_image(self.blocks(x)))


class Discriminator(nn.Module):
    """DCGAN discriminator without normalisation: images (N, channels, size, size) -> logits (N,)."""

    def __init__(self, size: int = 32, channels: int = 1, width: int = 32) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ArgumentError(f"--channels: the models take 1 or 3 channels, got {channels!r}")
        w = _widths(size, width)[::-1]  # full size ... 4x4
        layers: list[nn.Module] = [nn.Conv2d(channels, w[0], 3, 1, 1), nn.LeakyReLU(0.2)]
        for cin, cout in itertools.pairwise(w):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.logit = nn.Linear(w[-1] * 16, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.logit(self.features(x).flatten(1)).squeeze(1)


# ---------------------------------------------------------------------------------------------- losses
def d_loss(d_real: Tensor, d_fake: Tensor, kind: str = "ns") -> Tensor:
    """The discriminator's loss on logits: 'ns' (the non-saturating GAN's, softplus(-D(real)) +
    softplus(D(fake)), i.e. binary cross-entropy with logits) or 'hinge' (relu(1 - D(real)) + relu(1 +
    D(fake))), each averaged over its batch."""
    if kind == "ns":
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if kind == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    raise ArgumentError(f"--loss: expected one of {LOSSES}, got {kind!r}")


def g_loss(d_fake: Tensor, kind: str = "ns") -> Tensor:
    """The generator's loss: 'ns' softplus(-D(fake)) (Goodfellow et al.'s non-saturating loss), 'hinge'
    -D(fake) (the hinge GAN's generator loss), averaged."""
    if kind == "ns":
        return F.softplus(-d_fake).mean()
    if kind == "hinge":
        return -d_fake.mean()
    raise ArgumentError(f"--loss: expected one of {LOSSES}, got {kind!r}")


def r1_penalty(d_real: Tensor, inputs: Tensor) -> Tensor:
    """E_x ||grad_x D(x)||^2 (Mescheder et al. 2018) with the graph kept (create_graph) so that the penalty's
    own gradient reaches D's weights: d_real = D(...(inputs)), one logit per image."""
    (grad,) = torch.autograd.grad(d_real.sum(), inputs, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def supports_double_backward(policy: nn.Module) -> bool:
    """Whether R1 on the un-augmented reals can differentiate twice through `policy`."""
    return isinstance(policy, (Identity, DiffAugment, ADA)) or bool(getattr(policy, "supports_double_backward", False))


class EMA:
    """An exponential moving average of a module's parameters (a frozen deep copy, ``.module``): after each
    step p_ema <- beta p_ema + (1 - beta) p with beta = 0.5 ** (images_per_step / half_life), the half-life
    in images (StyleGAN2-ADA's ema_kimg), ramped up as min(half_life, rampup * images_seen) early on
    (its ema_rampup; None: no ramp). Buffers are copied. half_life_images 0: the copy follows the module."""

    def __init__(self, module: nn.Module, half_life_images: float, rampup: float | None = 0.05) -> None:
        self.module = copy.deepcopy(module).requires_grad_(False)
        self.half_life, self.rampup = float(half_life_images), rampup

    def beta(self, images_per_step: int, images_seen: int) -> float:
        half = self.half_life
        if self.rampup is not None:
            half = min(half, images_seen * self.rampup)
        return 0.5 ** (images_per_step / half) if half > 0 else 0.0

    @torch.no_grad()
    def update(self, module: nn.Module, images_per_step: int, images_seen: int) -> None:
        b = self.beta(images_per_step, images_seen)
        for pe, p in zip(self.module.parameters(), module.parameters(), strict=True):
            pe.lerp_(p, 1 - b)
        for be, bm in zip(self.module.buffers(), module.buffers(), strict=True):
            be.copy_(bm)


# ------------------------------------------------------------------------------------------------ the step
class GANStep:
    """One GAN training step on a batch of reals, without data loading or a run folder:

        step = GANStep(Generator(32, 1), Discriminator(32, 1), make_policy("diffaugment", seed=0))
        for reals in batches:            # (N, C, H, W) float32 in [-1, 1], on the models' device
            losses = step(reals)         # 0-dim tensors, left on the device
        images = step.sample(torch.randn(64, 64))   # the EMA generator

    D step: fakes = G(z) (no grad), logits = D(T(cat[reals, fakes])) (one call of the policy T, which draws per
    sample: reals and fakes get independent draws, as with two calls, for one call's fixed costs), d_loss
    (+ r1_gamma / 2 * R1); ADA's p updated from D(real) (gathered over the ranks so every rank keeps the same p).
    G step: fresh z, g_loss(D(T(G(z)))) with D frozen. Then the EMA.
    Adam (betas 0.5, 0.999, DCGAN's) for both. Latents come from ``latent_generator`` (a torch.Generator on the
    device; saved with the step's state). ``dist``: gradients averaged over torchrun ranks."""

    def __init__(
        self,
        generator: Generator,
        discriminator: nn.Module,
        policy: nn.Module | None = None,
        *,
        loss: str = "ns",
        r1_gamma: float = 0.0,
        r1_on: str = "augmented",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        ema_kimg: float = 2.0,
        ema_rampup: float | None = 0.05,
        latent_generator: torch.Generator | None = None,
        dist: Dist | None = None,
    ) -> None:
        if loss not in LOSSES:
            raise ArgumentError(f"--loss: expected one of {LOSSES}, got {loss!r}")
        if r1_on not in R1_ON:
            raise ArgumentError(f"--r1-on: expected one of {R1_ON}, got {r1_on!r}")
        self.G, self.D = generator, discriminator
        self.policy = policy if policy is not None else Identity()
        if r1_gamma > 0 and r1_on == "real" and not supports_double_backward(self.policy):
            raise ArgumentError(
                f"--r1-on: 'real' differentiates twice through the policy, and {type(self.policy).__name__} does "
                "not declare supports_double_backward; use --r1-on augmented"
            )
        self.loss, self.r1_gamma, self.r1_on = loss, float(r1_gamma), r1_on
        self.dist = dist or Dist()
        device = next(self.G.parameters()).device
        self.latents = latent_generator or torch.Generator(device).manual_seed(0)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        self.ema = EMA(self.G, ema_kimg * 1000, ema_rampup)
        self.images_seen = 0

    def z(self, n: int) -> Tensor:
        dev = next(self.G.parameters()).device
        return torch.randn(n, self.G.z_dim, device=dev, generator=self.latents)

    def __call__(self, reals: Tensor) -> dict[str, Tensor]:
        n = reals.shape[0]
        out = self.d_step(reals)
        out.update(self.g_step(n))
        self.images_seen += n * self.dist.world
        self.ema.update(self.G, n * self.dist.world, self.images_seen)
        return out

    def d_step(self, reals: Tensor) -> dict[str, Tensor]:
        n, r1 = reals.shape[0], self.r1_gamma > 0
        with torch.no_grad():
            fakes = self.G(self.z(n))
        x_real = reals.detach().requires_grad_(r1 and self.r1_on == "real")
        # one policy call for reals and fakes (per-sample draws either way): one call's fixed costs, not two
        augmented = self.policy(torch.cat([x_real, fakes]))
        if r1 and self.r1_on == "augmented":
            x_real = augmented[:n].detach().requires_grad_(True)
            augmented = torch.cat([x_real, augmented[n:]])
        logits = self.D(augmented)
        d_real, d_fake = logits[:n], logits[n:]
        loss = d_loss(d_real, d_fake, self.loss)
        out = {"loss_d": loss.detach(), "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}
        if r1:
            penalty = r1_penalty(d_real, x_real)
            loss = loss + 0.5 * self.r1_gamma * penalty
            out["r1"] = penalty.detach()
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        all_reduce_grads(list(self.D.parameters()), self.dist)
        self.opt_d.step()
        if isinstance(self.policy, ADA):
            self.policy.update(all_gather_cat(d_real, self.dist))
        return out

    def g_step(self, n: int) -> dict[str, Tensor]:
        self.D.requires_grad_(False)
        try:
            loss = g_loss(self.D(self.policy(self.G(self.z(n)))), self.loss)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.D.requires_grad_(True)
        all_reduce_grads(list(self.G.parameters()), self.dist)
        self.opt_g.step()
        return {"loss_g": loss.detach()}

    @torch.no_grad()
    def sample(self, z: Tensor, batch: int = 500) -> Tensor:
        """Images from the EMA generator for latents z (in batches of `batch`), on z's device."""
        g = self.ema.module
        return torch.cat([g(part) for part in z.split(batch)])

    def state_dict(self) -> dict[str, Any]:
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.ema.module.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "policy": self.policy.state_dict(),
            "latents": self.latents.get_state(),
            "images_seen": self.images_seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.ema.module.load_state_dict(state["G_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.policy.load_state_dict(state["policy"])
        self.latents.set_state(state["latents"])
        self.images_seen = int(state["images_seen"])


# ------------------------------------------------------------------------------------------------- trainer
@dataclass
class GANConfig(RunConfig):
    """GANTrainer's options: RunConfig's plus the GAN's."""

    policy: str = field(
        default="none",
        metadata=_help("augmentation: 'none', 'diffaugment[:color,translation,cutout]' or 'ada[:ops or presets]'"),
    )
    loss: str = field(default="ns", metadata=_help("'ns' (non-saturating) or 'hinge'", choices=LOSSES))
    r1_gamma: float = field(default=0.0, metadata=_help("R1 penalty weight gamma (0: off)"))
    r1_on: str = field(
        default="augmented",
        metadata=_help("R1 on the 'augmented' reals (DiffAugment's) or the un-augmented 'real' ones", choices=R1_ON),
    )
    z_dim: int = field(default=64, metadata=_help("latent dimensions"))
    width: int = field(default=16, metadata=_help("channels of the models' full-size layer (doubling per halving)"))
    ema_kimg: float = field(default=2.0, metadata=_help("EMA half-life of the generator's weights, in kimg (0: off)"))
    ema_rampup: float = field(default=0.05, metadata=_help("EMA half-life at most this share of images seen (0: off)"))
    ada_target: float = field(default=0.6, metadata=_help("ADA: the target E[sign(D(real))]"))
    ada_p_max: float = field(default=0.8, metadata=_help("ADA: the cap on p"))
    ada_kimg: float = field(default=100.0, metadata=_help("ADA: kimg for p to move by 1 (the reference's 500)"))
    ada_interval: int = field(default=4, metadata=_help("ADA: steps between p updates"))

    resume_keys: ClassVar[tuple[str, ...]] = (*RunConfig.resume_keys, "policy", "z_dim", "width")

    def validate(self) -> None:
        super().validate()
        _levels(self.size)
        _want(self, "loss", self.loss in LOSSES, " or ".join(map(repr, LOSSES)))
        _want(self, "r1_on", self.r1_on in R1_ON, " or ".join(map(repr, R1_ON)))
        for name in ("r1_gamma", "ema_kimg", "ema_rampup"):
            v = getattr(self, name)
            _want(self, name, isinstance(v, (int, float)) and 0 <= v < math.inf, "a number >= 0")
        _want(self, "z_dim", _is_int(self.z_dim) and self.z_dim >= 1, "an int >= 1")
        _want(self, "width", _is_int(self.width) and self.width >= 1, "an int >= 1")
        _want(self, "ada_target", isinstance(self.ada_target, (int, float)) and -1 <= self.ada_target <= 1, "[-1, 1]")
        _want(self, "ada_p_max", isinstance(self.ada_p_max, (int, float)) and 0 <= self.ada_p_max <= 1, "[0, 1]")
        _want(self, "ada_kimg", isinstance(self.ada_kimg, (int, float)) and self.ada_kimg > 0, "a number > 0")
        _want(self, "ada_interval", _is_int(self.ada_interval) and self.ada_interval >= 1, "an int >= 1")
        self.make_policy(0)

    def make_policy(self, seed: int) -> nn.Module:
        """The policy module for this config, its parameter stream seeded `seed`; errors name --policy."""
        name = self.policy.strip().partition(":")[0].lower() if isinstance(self.policy, str) else ""
        kwargs: dict[str, Any] = {}
        if name in ("diffaugment", "ada"):
            kwargs["seed"] = seed
        if name == "ada":
            kwargs.update(
                target=self.ada_target, p_max=self.ada_p_max, speed_kimg=self.ada_kimg, interval=self.ada_interval
            )
        try:
            return make_policy(self.policy, **kwargs)
        except (ValueError, TypeError) as e:  # make_policy's messages start with "policy:"
            msg = str(e).removeprefix("policy:").strip()
            raise ArgumentError(f"--policy: {msg}") from None


class GANTrainer(Trainer):
    """Trains a DCGAN with an augmentation policy (see GANConfig; the loop is fastaug.train._run.Trainer):

        from fastaug.train import GANConfig, GANTrainer
        metrics = GANTrainer(GANConfig(data="digits", data_fraction=0.1, policy="diffaugment",
                                       steps=2000, out="runs/dg10")).fit()
        metrics["fid"], metrics["fid_floor"], metrics["n"]

    Attributes after construction: ``gan`` (the GANStep: G, D, EMA, policy, optimisers), ``data``,
    ``run`` (the RunDir), ``device``, ``dist``. ``train_step(reals)`` is one step on a batch on the device.
    Evaluation (rank 0): n = eval_n or the held-out size EMA samples (latents from a fixed seed), FID and KID
    against the held-out split with the shipped features for the data's channels (Features('digits') for
    1 channel, Features('photos') for 3; named in the metrics line); fid_floor / kid_floor: n training images (of the
    whole training split, whatever the fraction) against the same held-out reference."""

    kind = "gan"
    config: GANConfig
    curve_panels = (("loss_d", "loss_g", "r1"), ("d_real", "d_fake"), ("ada_p",))

    def __init__(self, config: GANConfig) -> None:
        if not isinstance(config, GANConfig):
            raise ArgumentError(f"config: expected a GANConfig, got {type(config).__name__}")
        self._held_features: Any = None
        super().__init__(config)

    def build(self) -> None:
        cfg, rank = self.config, self.dist.rank
        c, size, _ = self.data.shape
        torch.manual_seed(stream_seed(cfg.seed, 0, "weights"))  # every rank the same initial weights
        g = Generator(size, c, cfg.z_dim, cfg.width).to(self.device)
        d = Discriminator(size, c, cfg.width).to(self.device)
        broadcast_module(g, self.dist)
        broadcast_module(d, self.dist)
        torch.manual_seed(stream_seed(cfg.seed, rank, "torch"))
        latents = torch.Generator(self.device).manual_seed(stream_seed(cfg.seed, rank, "latents"))
        self.gan = GANStep(
            g,
            d,
            cfg.make_policy(stream_seed(cfg.seed, rank, "policy")).to(self.device),
            loss=cfg.loss,
            r1_gamma=cfg.r1_gamma,
            r1_on=cfg.r1_on,
            lr=cfg.lr,
            ema_kimg=cfg.ema_kimg,
            ema_rampup=cfg.ema_rampup or None,
            latent_generator=latents,
            dist=self.dist,
        )
        grid = torch.Generator().manual_seed(stream_seed(cfg.seed, 0, "grid"))
        self.grid_z = torch.randn(64, cfg.z_dim, generator=grid).to(self.device)

    def train_step(self, reals: Tensor) -> dict[str, Tensor]:
        """One GAN step (GANStep.__call__) on reals (this rank's batch, on the device)."""
        return self.gan(reals)

    def extra_log(self) -> dict[str, Any]:
        if isinstance(self.gan.policy, ADA):
            return {"ada_p": self.gan.policy.p, "ada_rt": self.gan.policy.last_rt}
        return {}

    def state_dict(self) -> dict[str, Any]:
        return self.gan.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gan.load_state_dict(state)
        for group in (*self.gan.opt_g.param_groups, *self.gan.opt_d.param_groups):
            group["lr"] = self.config.lr  # a resumed run may change the learning rate

    def write_samples(self, step: int) -> None:
        images = self.gan.sample(self.grid_z)
        self.run.save_grid(images, f"samples/{step:07d}.png", nrow=8)
        self.run.save_grid(images, "samples.png", nrow=8)

    def samples(self, n: int, seed: int | None = None) -> Tensor:
        """n EMA-generator samples from latents drawn with a fixed seed (the evaluation's), on the CPU."""
        g = torch.Generator().manual_seed(stream_seed(self.config.seed if seed is None else seed, 0, "eval"))
        z = torch.randn(n, self.config.z_dim, generator=g).to(self.device)
        return self.gan.sample(z).cpu()

    def evaluate(self) -> dict[str, Any]:
        from .metrics import fid_kid

        held = self.data.held_out
        n = self.config.eval_n or len(held)
        fakes = self.samples(n)
        out: dict[str, Any] = {"n": n, "n_real": len(held), "reference": "held_out"}
        features = self._features()
        if self._held_features is None:
            self._held_features = features(held)
        # KID subsets of min(1000, n_real, n_fake) rows: when both sets fit in one, every subset is the whole
        # of both (the same MMD^2 each time), so one is computed, and kid_std is 0 by construction
        subsets = 1 if max(n, len(held)) <= _KID_SUBSET else 100
        s = fid_kid(self._held_features, fakes, features, kid_subsets=subsets, kid_subset_size=_KID_SUBSET)
        out.update(fid=s.fid, kid_mean=s.kid_mean, kid_std=s.kid_std, features=features.name)
        fl = self._floor(n)
        if fl is not None:
            out.update(fid_floor=fl.fid, kid_floor=fl.kid_mean, kid_floor_std=fl.kid_std)
        return out

    def _floor(self, n: int) -> Any:
        """FID/KID of n training images (metrics.floor's seeded subset of the whole training split, loaded
        with seed 0 so every run of a table shares it) against the held-out reference; None when the
        training split has fewer than n images. Cached per process (the table's runs share it)."""
        cfg = self.config
        key = (cfg.data, cfg.size, self.data.shape[0], n)
        if key not in _FLOORS:
            from .data import load_dataset
            from .metrics import floor

            full = load_dataset(cfg.data, cfg.size, 1.0, 0, channels=cfg.channels)
            ok = 2 <= n <= len(full.train)
            subsets = 1 if max(n, len(self.data.held_out)) <= _KID_SUBSET else 100
            scores = floor(self._held_features, full.train, self._features(), n, kid_subsets=subsets) if ok else None
            _FLOORS[key] = scores
        return _FLOORS[key]

    def _features(self) -> Any:
        """The shipped feature extractor for the data's channels (cached per process)."""
        from .metrics import Features, _default_features

        return _default_features(Features.name_for_channels(self.data.shape[0]))


_FLOORS: dict[tuple[Any, ...], Any] = {}
_KID_SUBSET = 1000  # fid_kid's default subset size


def parameters(modules: Iterable[nn.Module]) -> int:
    """The parameter count of modules."""
    return sum(p.numel() for m in modules for p in m.parameters())
