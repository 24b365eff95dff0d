"""fastaug.train: GAN/VAE training on top of fastaug's differentiable operators (the [train] extra: needs
torch; ``import fastaug`` never imports it): augmentation policies, offline datasets and metrics, the GAN and
VAE trainers (``fastaug train gan|vae`` on the command line) and the options every trainer shares (RunConfig)."""

from ._run import RunConfig
from .data import Dataset, load_dataset
from .gan import Discriminator, GANConfig, GANStep, GANTrainer, Generator
from .metrics import Features, Scores, bits_per_dim, elbo_nats, fid_kid, floor, frechet_distance, kid
from .policies import ADA, DiffAugment, Identity, make_policy
from .vae import VAE, VAEConfig, VAETrainer, vae_step

__all__ = [
    "ADA",
    "VAE",
    "Dataset",
    "DiffAugment",
    "Discriminator",
    "Features",
    "GANConfig",
    "GANStep",
    "GANTrainer",
    "Generator",
    "Identity",
    "RunConfig",
    "Scores",
    "VAEConfig",
    "VAETrainer",
    "bits_per_dim",
    "elbo_nats",
    "fid_kid",
    "floor",
    "frechet_distance",
    "kid",
    "load_dataset",
    "make_policy",
    "vae_step",
]
