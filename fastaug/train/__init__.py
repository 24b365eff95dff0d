"""fastaug.train: GAN/VAE training on top of fastaug's differentiable operators (the [train] extra: needs
torch; ``import fastaug`` never imports it)."""

from .policies import ADA, DiffAugment, Identity, make_policy

__all__ = ["ADA", "DiffAugment", "Identity", "make_policy"]

# datasets and offline metrics (fastaug.train.data, fastaug.train.metrics)
from .data import Dataset, load_dataset
from .metrics import Features, Scores, bits_per_dim, elbo_nats, fid_kid, floor, frechet_distance, kid

__all__ += ["Dataset", "Features", "Scores", "bits_per_dim", "elbo_nats", "fid_kid", "floor", "frechet_distance"]
__all__ += ["kid", "load_dataset"]
