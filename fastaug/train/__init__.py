"""fastaug.train: GAN/VAE training on top of fastaug's differentiable operators (the [train] extra: needs
torch; ``import fastaug`` never imports it): augmentation policies, offline datasets and metrics."""

from .data import Dataset, load_dataset
from .metrics import Features, Scores, bits_per_dim, elbo_nats, fid_kid, floor, frechet_distance, kid
from .policies import ADA, DiffAugment, Identity, make_policy

__all__ = [
    "ADA",
    "Dataset",
    "DiffAugment",
    "Features",
    "Identity",
    "Scores",
    "bits_per_dim",
    "elbo_nats",
    "fid_kid",
    "floor",
    "frechet_distance",
    "kid",
    "load_dataset",
    "make_policy",
]
