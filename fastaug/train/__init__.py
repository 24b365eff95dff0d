"""fastaug.train: GAN/VAE training on top of fastaug's differentiable operators (the [train] extra: needs
torch; ``import fastaug`` never imports it)."""

from .policies import ADA, DiffAugment, Identity, make_policy

__all__ = ["ADA", "DiffAugment", "Identity", "make_policy"]
