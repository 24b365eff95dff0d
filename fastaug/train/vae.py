"""A convolutional VAE (Kingma & Welling 2014) trained on fastaug-augmented inputs, with a true ELBO.

The model (`VAE`), one optimisation step (`vae_step`) and the held-out evaluation (`evaluate`) work on their
own; `VAETrainer(VAEConfig(...)).fit()` runs them with a run folder (fastaug/train/_run.py).

What the numbers mean. Images are treated as 8-bit data: every input (N, C, H, W) in [-1, 1] is first
rounded to its 8-bit level k = round((x + 1) * 127.5) (digits, enlarged by bilinear interpolation, are not
on that grid until then; photos and image folders already are).

- ``likelihood="gaussian"``: p(x|z) = N(x; mu(z), sigma^2) per pixel, a proper density, with sigma learned
  (one per channel, shared by all pixels: the "sigma-VAE" of Rybkin et al. 2021; ``sigma=None``) or fixed
  (``sigma=s``). The decoder models the dequantised images y = k / 127.5 - 1 + u, u ~ U(-1/255, 1/255)
  (uniform dequantisation, in training and evaluation), so that its density cannot collapse onto the 8-bit
  grid, and the reported ELBO adds D log(2/255) (metrics.elbo_nats' bin_width): by Jensen,
  E_u[ELBO(y)] + D log(2/255) <= log P(k), a lower bound on the log probability of the 8-bit image, in
  nats, and bits per dimension are -ELBO / (D ln 2) (8 for a uniform model of 256 levels).
- ``likelihood="bernoulli"``: the images are binarised, b = [k >= 128] (mid-grey, fixed, not resampled),
  and p(b|z) is a product of Bernoullis on the decoder's logits. The ELBO is then a true lower bound on
  log P(b) of the binarised image; its bits per dimension are per binary pixel (at most 1 for a useful
  model) and compare only with other Bernoulli runs. Soft targets (the [0, 1] intensities in the
  cross-entropy) were not chosen: that "likelihood" is not normalised over [0, 1] (the continuous Bernoulli's
  missing constant, Loaiza-Ganem & Cunningham 2019), so its "ELBO" bounds nothing.

KL(q(z|x) || N(0, I)) is the closed form for a diagonal Gaussian q = N(mu, diag(exp(logvar))):
0.5 sum(mu^2 + exp(logvar) - 1 - logvar). The training loss is -(E_q log p(x|z) - beta KL), one
reparameterised sample z = mu + exp(logvar / 2) eps per image; the reported ELBO is always the beta = 1
quantity, whatever beta trains with.

Randomness is counter-based (a run's step, not a stream's position, fixes it): the batch of step s, the
fastaug augmentation of each sample (keys (seed, epoch, dataset index)), the dequantisation noise and eps
all derive from (seed, rank, step), so a resumed run repeats the straight run's steps bit for bit."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

import fastaug.transforms as T

from .._errors import ArgumentError, ArgumentTypeError, FastaugError
from ._run import RunConfig, Trainer, _help, _is_int, _want, all_reduce_grads, broadcast_module, stream_seed
from .data import _check_int
from .metrics import bits_per_dim, elbo_nats

LIKELIHOODS = ("gaussian", "bernoulli")
BIN_WIDTH = 2.0 / 255.0  # one 8-bit level of images mapped to [-1, 1] by k / 127.5 - 1
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
SIGMA_SPEED = 10.0  # a learned log sigma is 10 x its parameter (see VAE.__init__)


# ------------------------------------------------------------------------------------------------- checks


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not 0.0 < float(value) < math.inf:
        raise ArgumentError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)


def check_likelihood(value: Any) -> str:
    if value not in LIKELIHOODS:
        raise ArgumentError(f"likelihood: expected one of {', '.join(LIKELIHOODS)}, got {value!r}")
    return str(value)


def check_size(value: Any) -> int:
    size = _check_int("size", value, 8)
    if size & (size - 1):
        raise ArgumentError(f"size: expected a power of two >= 8, got {size}")
    return size


def _check_images(x: Any, channels: int, size: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise ArgumentTypeError(f"x: expected a torch tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ArgumentTypeError(f"x: expected float images in [-1, 1], got dtype {x.dtype}")
    if x.dim() != 4 or tuple(x.shape[1:]) != (channels, size, size):
        raise ArgumentError(f"x: expected shape (N, {channels}, {size}, {size}), got {tuple(x.shape)}")
    return x


# ----------------------------------------------------------------------------------------- 8-bit images


def to_levels(x: Tensor) -> Tensor:
    """Images in [-1, 1] -> their 8-bit levels, uint8 round((x + 1) * 127.5) clipped to 0..255 (the inverse of
    data.load_dataset's k / 127.5 - 1)."""
    return torch.round((x.float() + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)


def from_levels(k: Tensor) -> Tensor:
    """8-bit levels -> float32 images in [-1, 1] (k / 127.5 - 1)."""
    return k.float() / 127.5 - 1.0


def _uniform(shape: torch.Size, generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=generator, device=device)


def _normal(shape: torch.Size, generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.randn(shape, generator=generator, device=device)


# -------------------------------------------------------------------------------------------------- model


@dataclass
class ELBOTerms:
    """One pass of the VAE over a batch: per image (N,) E_q log p(x|z) (one sample; a density for the
    Gaussian decoder, without the discretisation offset) and KL(q(z|x) || p(z)); the decoder output (the
    Gaussian mean or the Bernoulli logits), the posterior mean and log-variance."""

    log_px_z: Tensor
    kl: Tensor
    out: Tensor
    mu: Tensor
    logvar: Tensor

    def elbo(self, offset: float = 0.0) -> Tensor:
        """The beta = 1 ELBO per image (N,), plus `offset` (VAE.log_bin_offset for the Gaussian decoder)."""
        return self.log_px_z - self.kl + offset


def _widths(size: int, width: int) -> list[int]:
    """Channels after each stride-2 stage from size down to 4 x 4: width doubling, capped at 8 * width."""
    return [min(width << i, 8 * width) for i in range(int(math.log2(size)) - 2)]


class VAE(nn.Module):
    """A convolutional VAE for size x size images (size a power of two >= 8) with 1 or 3 channels.

    Encoder: per stage a 4x4 stride-2 convolution and SiLU, from size x size down to 4 x 4, channels width,
    2 width, ... (capped at 8 width); then a linear layer to the posterior mean and log-variance (latent
    each). Decoder: the mirror image (linear, then 4x4 stride-2 transposed convolutions), its last layer
    giving the Gaussian mean or the Bernoulli logits. No normalisation layers, so an image's ELBO never
    depends on the rest of its batch. Like torch's (and the pytorch/examples VAE's) nn.Module: `forward`
    takes the prepared input and target (`prepare`) and returns ELBOTerms.

    sigma (Gaussian only): None learns log sigma, one per channel (initialised at sigma = 0.1, stored as
    log_sigma_param = log sigma / SIGMA_SPEED so that it learns SIGMA_SPEED times faster than the weights);
    a number fixes it."""

    def __init__(
        self,
        size: int = 32,
        channels: int = 1,
        latent: int = 32,
        width: int = 32,
        likelihood: str = "gaussian",
        sigma: float | None = None,
    ) -> None:
        super().__init__()
        self.size = check_size(size)
        if isinstance(channels, bool) or channels not in (1, 3):
            raise ArgumentError(f"channels: expected 1 or 3, got {channels!r}")
        self.channels = int(channels)
        self.latent = _check_int("latent", latent, 1)
        self.width = _check_int("width", width, 1)
        self.likelihood = check_likelihood(likelihood)
        widths = _widths(self.size, self.width)
        top = widths[-1]
        enc: list[nn.Module] = []
        c_in = self.channels
        for w in widths:
            enc += [nn.Conv2d(c_in, w, 4, 2, 1), nn.SiLU()]
            c_in = w
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(top * 16, 2 * self.latent))
        dec: list[nn.Module] = [nn.Linear(self.latent, top * 16), nn.SiLU(), nn.Unflatten(1, (top, 4, 4))]
        for w_in, w_out in zip(widths[::-1], [*widths[::-1][1:], self.channels], strict=True):
            dec += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1), nn.SiLU()]
        self.decoder = nn.Sequential(*dec[:-1])  # no activation after the last layer
        self.learned_sigma = self.likelihood == "gaussian" and sigma is None
        log_sigma = torch.full((self.channels,), math.log(0.1 if sigma is None else _check_positive("sigma", sigma)))
        # log sigma = speed * parameter: an optimiser's steps on the parameter move log sigma `speed` times as
        # far (Adam: ~speed * lr per step), so sigma reaches the reconstruction error's scale in hundreds of
        # steps instead of thousands (measured at lr 1e-3, speed 1: 0.1 -> 0.096 in 1300 steps, while the
        # optimum sqrt(mse) was 0.05)
        self.sigma_speed = SIGMA_SPEED if self.learned_sigma else 1.0
        if self.learned_sigma:
            self.log_sigma_param = nn.Parameter(log_sigma / self.sigma_speed)
        else:
            self.register_buffer("log_sigma_param", log_sigma)

    @property
    def log_sigma(self) -> Tensor:
        """log sigma of the Gaussian decoder, one per channel (C,)."""
        return self.log_sigma_param * self.sigma_speed

    @property
    def dims(self) -> int:
        """D, the dimensions of one image (C H W)."""
        return self.channels * self.size * self.size

    @property
    def bin_width(self) -> float | None:
        """metrics.elbo_nats' bin_width: 2/255 for the Gaussian density, None for the (discrete) Bernoulli."""
        return BIN_WIDTH if self.likelihood == "gaussian" else None

    @property
    def log_bin_offset(self) -> float:
        """D log(bin_width) for the Gaussian decoder (its density -> a bound on the 8-bit log probability), 0
        for the Bernoulli."""
        return self.dims * math.log(BIN_WIDTH) if self.likelihood == "gaussian" else 0.0

    def prepare(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(encoder input, decoder target) of images x (N, C, H, W) in [-1, 1]: rounded to 8-bit levels,
        then dequantised with U(-1/255, 1/255) noise drawn from `generator` (Gaussian: input = target), or
        binarised at mid-grey (Bernoulli: target in {0, 1}, input 2 target - 1)."""
        x = _check_images(x, self.channels, self.size)
        levels = to_levels(x)
        if self.likelihood == "bernoulli":
            target = (levels >= 128).float()
            return target * 2.0 - 1.0, target
        noise = _uniform(levels.shape, generator, levels.device)
        target = from_levels(levels) + (noise - 0.5) * BIN_WIDTH
        return target, target

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The posterior q(z|x)'s mean and log-variance, each (N, latent)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """The decoder output (N, C, H, W) for latents z (N, latent): the Gaussian mean or Bernoulli logits."""
        out: Tensor = self.decoder(z)
        return out

    def mean(self, out: Tensor) -> Tensor:
        """The decoder's mean image in [-1, 1] (for pictures and the reconstruction error): the Gaussian mean
        clipped, or 2 sigmoid(logits) - 1."""
        return out.clamp(-1.0, 1.0) if self.likelihood == "gaussian" else torch.sigmoid(out) * 2.0 - 1.0

    def log_likelihood(self, out: Tensor, target: Tensor) -> Tensor:
        """log p(target | z) per image (N,) from the decoder output: the Gaussian log-density
        sum(-(t - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2), or the Bernoulli log probability
        -sum(BCE(logits, t)) (torch.nn.functional.binary_cross_entropy_with_logits)."""
        if self.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, target, reduction="none").flatten(1).sum(1)
        log_sigma = self.log_sigma.view(1, -1, 1, 1)
        z = (target - out) * torch.exp(-log_sigma)
        return (-0.5 * z * z - log_sigma - _HALF_LOG_2PI).flatten(1).sum(1)

    @staticmethod
    def kl(mu: Tensor, logvar: Tensor) -> Tensor:
        """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row (N,), in closed form."""
        return 0.5 * (mu * mu + torch.exp(logvar) - 1.0 - logvar).sum(1)

    def forward(self, x: Tensor, target: Tensor, generator: torch.Generator | None = None) -> ELBOTerms:
        """ELBOTerms of a prepared batch, with one reparameterised sample z = mu + exp(logvar / 2) eps, eps
        from `generator`."""
        mu, logvar = self.encode(x)
        eps = _normal(mu.shape, generator, mu.device)
        out = self.decode(mu + torch.exp(0.5 * logvar) * eps)
        return ELBOTerms(self.log_likelihood(out, target), self.kl(mu, logvar), out, mu, logvar)

    def sample(self, z: Tensor) -> Tensor:
        """The decoder's mean images in [-1, 1] for latents z (N, latent) (samples: z ~ N(0, I))."""
        with torch.no_grad():
            return self.mean(self.decode(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        """The decoder's mean images at the posterior mean of x's prepared input (no sampling)."""
        with torch.no_grad():
            inp, _ = self.prepare(x, torch.Generator(x.device).manual_seed(0))
            return self.mean(self.decode(self.encode(inp)[0]))


# ------------------------------------------------------------------------------------------------ the step


@dataclass
class StepStats:
    """One training step's batch means (0-d tensors, detached; .item() syncs, so the trainer reads them only
    when it logs): the loss (-(log p - beta KL)), the beta = 1 ELBO in nats per image (with the Gaussian's
    discretisation offset), E_q log p(x|z) (without it) and KL."""

    loss: Tensor
    elbo: Tensor
    log_px_z: Tensor
    kl: Tensor

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in ("loss", "elbo", "log_px_z", "kl")}


def unwrap(model: nn.Module) -> VAE:
    """The VAE inside a DistributedDataParallel (or the VAE itself)."""
    inner = getattr(model, "module", model)
    if not isinstance(inner, VAE):
        what = type(inner).__name__
        raise ArgumentTypeError(f"model: expected a VAE (or a DistributedDataParallel of one), got {what}")
    return inner


def vae_loss(terms: ELBOTerms, beta: float = 1.0) -> Tensor:
    """The training loss, -(E_q log p(x|z) - beta KL) averaged over the batch (nats per image)."""
    return -(terms.log_px_z - beta * terms.kl).mean()


def vae_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    *,
    beta: float = 1.0,
    generator: torch.Generator | None = None,
    before_update: Callable[[], None] | None = None,
) -> StepStats:
    """One optimisation step on images x (N, C, H, W) in [-1, 1] (already augmented, on the model's device):
    prepare (8-bit rounding, then dequantisation or binarisation), one reparameterised pass, the beta loss,
    backward, `before_update()` if given (the trainer's gradient all-reduce over processes), then
    optimizer.step(). `model` is a VAE or a DistributedDataParallel of one (its forward then averages the
    gradients). `generator` (on x's device) draws the dequantisation noise and eps.

        vae = VAE(32, 1)
        opt = torch.optim.Adam(vae.parameters(), 1e-3)
        stats = vae_step(vae, opt, images, beta=1.0, generator=torch.Generator().manual_seed(0))
        stats.elbo.item()   # nats per image, beta = 1, on this batch"""
    vae = unwrap(model)
    beta = _check_positive("beta", beta)
    model.train()
    inp, target = vae.prepare(x, generator)
    terms: ELBOTerms = model(inp, target, generator)
    loss = vae_loss(terms, beta)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if before_update is not None:
        before_update()
    optimizer.step()
    with torch.no_grad():
        return StepStats(
            loss.detach(),
            terms.elbo(vae.log_bin_offset).mean(),
            terms.log_px_z.mean(),
            terms.kl.mean(),
        )


# ------------------------------------------------------------------------------------------ evaluation


def evaluate(model: nn.Module, images: Tensor, *, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """The held-out metrics of `model` on `images` (N, C, H, W) in [-1, 1] (never augmented), in eval mode,
    the dequantisation noise and eps from torch.Generator(seed) so every evaluation of a run sees the same
    noise:

    - elbo_nats: the mean beta = 1 ELBO per image (one z sample per image: an unbiased estimate of the
      mean ELBO), through metrics.elbo_nats (bin_width 2/255 for the Gaussian decoder);
    - bits_per_dim: -elbo_nats / (D ln 2) (metrics.bits_per_dim);
    - log_px_z, kl: the mean E_q log p(x|z) (a density for the Gaussian, without the offset) and KL;
    - recon_mse: the mean squared error per pixel, in [-1, 1] units, between the 8-bit image (Bernoulli: the
      binarised image, 2b - 1) and the decoder's mean at the posterior mean;
    - n: the image count."""
    vae = unwrap(model)
    batch_size = _check_int("batch_size", batch_size, 1)
    device = next(vae.parameters()).device
    g = torch.Generator(device).manual_seed(int(seed))
    lp, kl, se = [], [], []
    was_training = vae.training
    vae.eval()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].to(device)
            inp, target = vae.prepare(x, g)
            terms = vae(inp, target, g)
            lp.append(terms.log_px_z.double().cpu())
            kl.append(terms.kl.double().cpu())
            clean = from_levels(to_levels(x)) if vae.likelihood == "gaussian" else target * 2.0 - 1.0
            recon = vae.mean(vae.decode(terms.mu))
            se.append(((recon - clean) ** 2).double().flatten(1).mean(1).cpu())
    vae.train(was_training)
    log_px_z, kl_t = torch.cat(lp).numpy(), torch.cat(kl).numpy()
    elbo = float(elbo_nats(log_px_z, kl_t, dims=vae.dims, bin_width=vae.bin_width).mean())
    return {
        "elbo_nats": elbo,
        "bits_per_dim": float(bits_per_dim(elbo, vae.dims)),
        "log_px_z": float(log_px_z.mean()),
        "kl": float(kl_t.mean()),
        "recon_mse": float(torch.cat(se).mean()),
        "n": len(log_px_z),
    }


# ------------------------------------------------------------------------------------------- augmentation


def load_augmentation(source: str) -> T.Compose | None:
    """The input augmentation: None for 'none', else the fastaug pipeline of a .json / .yaml file or a preset
    name (fastaug.transforms.load, as `fastaug augment --pipeline`); errors name --augment."""
    if not isinstance(source, str) or source == "":
        raise ArgumentError(f"--augment: expected 'none', a pipeline file or a preset, got {source!r}")
    if source == "none":
        return None
    try:
        pipeline = T.load(source)
    except FastaugError as e:
        msg = str(e).removeprefix("pipeline:").strip()
        raise ArgumentError(f"--augment: {msg}") from None
    except Exception as e:  # noqa: BLE001  json, yaml and OS errors of a file that does not parse
        raise ArgumentError(f"--augment: cannot read the pipeline file {source!r}: {type(e).__name__}: {e}") from None
    if pipeline.transforms and isinstance(pipeline.transforms[-1], T.Normalize):
        raise ArgumentError(f"--augment: {source!r} ends with Normalize; the VAE needs images: remove it")
    return pipeline


def augment_levels(pipeline: T.Compose, levels: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The pipeline applied to 8-bit images (N, H, W, C) uint8, sample i drawing from its own key (fastaug's
    SampleRandom: its draws depend on keys[i] only, not on the batch); the result must keep the shape."""
    try:
        out = np.asarray(pipeline(levels, rng=T.SampleRandom(keys)))
    except FastaugError as e:
        raise ArgumentError(f"--augment: the pipeline fails on {levels.shape[1:]} uint8 images: {e}") from None
    if out.shape != levels.shape or out.dtype != np.uint8:
        raise ArgumentError(
            f"--augment: the pipeline turns uint8 images {levels.shape[1:]} into {out.dtype} {out.shape[1:]}; the "
            "VAE needs the same size and channels (end geometric runs at the data's size)"
        )
    return out


# ------------------------------------------------------------------------------------------------ trainer


@dataclass
class VAEConfig(RunConfig):
    """VAETrainer's options: RunConfig's plus the VAE's."""

    lr: float = field(default=1e-3, metadata=_help("Adam learning rate"))
    likelihood: str = field(
        default="gaussian",
        metadata=_help(
            "decoder: 'gaussian' (density on the dequantised 8-bit images) or 'bernoulli' (images binarised at "
            "mid-grey)",
            choices=LIKELIHOODS,
        ),
    )
    beta: float = field(default=1.0, metadata=_help("KL weight of the training loss (the reported ELBO uses 1)"))
    latent: int = field(default=32, metadata=_help("latent dimensions"))
    width: int = field(default=32, metadata=_help("channels of the first encoder stage (doubling per halving)"))
    sigma: float | None = field(
        default=None, metadata=_help("the Gaussian decoder's fixed standard deviation (None: learned, one per channel)")
    )
    augment: str = field(
        default="none",
        metadata=_help("input augmentation: 'none', a fastaug pipeline file (.json/.yaml) or a preset name"),
    )

    resume_keys: ClassVar[tuple[str, ...]] = (
        *RunConfig.resume_keys,
        "likelihood",
        "latent",
        "width",
        "sigma",
        "augment",
    )

    def validate(self) -> None:
        super().validate()
        _want(self, "size", self.size >= 8 and not self.size & (self.size - 1), "a power of two >= 8")
        _want(self, "likelihood", self.likelihood in LIKELIHOODS, " or ".join(map(repr, LIKELIHOODS)))
        finite = (int, float, np.integer, np.floating)
        _want(self, "beta", isinstance(self.beta, finite) and 0 < self.beta < math.inf, "a number > 0")
        _want(self, "latent", _is_int(self.latent) and self.latent >= 1, "an int >= 1")
        _want(self, "width", _is_int(self.width) and self.width >= 1, "an int >= 1")
        ok = self.sigma is None or (isinstance(self.sigma, finite) and 0 < self.sigma < math.inf)
        _want(self, "sigma", ok, "a number > 0 (or None: learned)")
        if self.sigma is not None and self.likelihood != "gaussian":
            raise ArgumentError(f"--sigma: only the gaussian likelihood has one, this run is {self.likelihood!r}")
        load_augmentation(self.augment)


class VAETrainer(Trainer):
    """Trains a VAE on fastaug-augmented inputs (see VAEConfig; the loop is fastaug.train._run.Trainer):

        from fastaug.train import VAEConfig, VAETrainer
        metrics = VAETrainer(VAEConfig(data="digits", data_fraction=0.1, augment="digits_affine.yaml",
                                       steps=2000, out="runs/vae10")).fit()
        metrics["elbo_nats"], metrics["bits_per_dim"]   # on the held-out split

    Attributes after construction: ``vae`` (the VAE), ``optimizer`` (Adam), ``generator`` (the training
    noise: dequantisation and eps), ``augmentation`` (a fastaug Compose or None), ``data``, ``run``,
    ``device``, ``dist``. The training batch of step s is augmented on the CPU, sample j of this rank
    drawing from the key (stream_seed(seed, rank, 'augment'), s, j); the held-out split never is.
    Evaluation (rank 0): `evaluate` on the first eval_n (default all) held-out images. Pictures:
    samples/<step>.png and samples.png (the decoder's mean for 64 fixed latents), reconstructions.png (rows
    of held-out images over their reconstructions at the posterior mean), losses.png."""

    kind = "vae"
    config: VAEConfig
    curve_panels = (("elbo", "loss"), ("kl",), ("sigma",))

    def __init__(self, config: VAEConfig) -> None:
        if not isinstance(config, VAEConfig):
            raise ArgumentError(f"config: expected a VAEConfig, got {type(config).__name__}")
        super().__init__(config)

    def build(self) -> None:
        cfg, rank = self.config, self.dist.rank
        c, size, _ = self.data.shape
        torch.manual_seed(stream_seed(cfg.seed, 0, "weights"))  # every rank the same initial weights
        self.vae = VAE(size, c, cfg.latent, cfg.width, cfg.likelihood, cfg.sigma).to(self.device)
        broadcast_module(self.vae, self.dist)
        torch.manual_seed(stream_seed(cfg.seed, rank, "torch"))
        self.optimizer = torch.optim.Adam(self.vae.parameters(), lr=cfg.lr)
        self.generator = torch.Generator(self.device).manual_seed(stream_seed(cfg.seed, rank, "noise"))
        self.augmentation = load_augmentation(cfg.augment)
        self._augment_seed = stream_seed(cfg.seed, rank, "augment")
        self._levels = to_levels(self.data.train).permute(0, 2, 3, 1).contiguous().numpy()
        if self.augmentation is not None:  # fail now, naming --augment, rather than at the first step
            augment_levels(self.augmentation, self._levels[:2], np.arange(2, dtype=np.uint64))
        grid = torch.Generator().manual_seed(stream_seed(cfg.seed, 0, "grid"))
        self.grid_z = torch.randn(64, cfg.latent, generator=grid).to(self.device)

    def reals(self, idx: Tensor) -> Tensor:
        """The training batch of the coming step (self.step): the images at idx, augmented (8-bit, per sample,
        keyed by step and position), on the device. Only the training loop calls it."""
        if self.augmentation is None:
            return super().reals(idx)
        keys = T.sample_keys(self._augment_seed, self.step, np.arange(len(idx)))
        out = augment_levels(self.augmentation, self._levels[idx.numpy()], keys)
        return from_levels(torch.from_numpy(out).permute(0, 3, 1, 2)).contiguous().to(self.device)

    def train_step(self, reals: Tensor) -> dict[str, Tensor]:
        """One vae_step on reals (this rank's batch, on the device), the gradients averaged over processes."""
        params = list(self.vae.parameters())
        stats = vae_step(
            self.vae,
            self.optimizer,
            reals,
            beta=self.config.beta,
            generator=self.generator,
            before_update=lambda: all_reduce_grads(params, self.dist),
        )
        return {"loss": stats.loss, "elbo": stats.elbo, "log_px_z": stats.log_px_z, "kl": stats.kl}

    def extra_log(self) -> dict[str, Any]:
        if self.vae.likelihood != "gaussian":
            return {}
        return {"sigma": float(torch.exp(self.vae.log_sigma.detach()).mean())}

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.vae.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.vae.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.generator.set_state(state["generator"])
        except (KeyError, RuntimeError, ValueError) as e:
            raise ArgumentError(f"--resume: the checkpoint does not fit this VAE: {type(e).__name__}: {e}") from None
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr  # a resumed run may change the learning rate

    def write_samples(self, step: int) -> None:
        samples = self.vae.sample(self.grid_z)
        self.run.save_grid(samples, f"samples/{step:07d}.png", nrow=8)
        self.run.save_grid(samples, "samples.png", nrow=8)
        cols = min(8, len(self.data.held_out))
        k = min(32, len(self.data.held_out)) // cols * cols  # whole rows of `cols` held-out images
        held = self.data.held_out[:k].to(self.device)
        recon = self.vae.reconstruct(held)
        shape = (k // cols, cols, *held.shape[1:])
        rows = torch.stack([held.view(shape), recon.view(shape)], 1)  # a row of images over its reconstructions
        self.run.save_grid(rows.flatten(0, 2), "reconstructions.png", nrow=cols)

    def evaluate(self) -> dict[str, Any]:
        """`evaluate` on the held-out split (the first eval_n images, default all), never augmented."""
        held = self.data.held_out
        n = min(self.config.eval_n or len(held), len(held))
        out: dict[str, Any] = {"split": "held_out", **evaluate(self.vae, held[:n], seed=self.config.seed)}
        out.update(likelihood=self.vae.likelihood, dims=self.vae.dims, beta=self.config.beta)
        return out
