"""Pipelines that together use every transform: the GPU test and the torch-tensor test run each of them and
compare with the NumPy result."""

from __future__ import annotations

import fastaug.transforms as T

EVERY = [
    [T.RandomResizedCrop(96), T.HorizontalFlip(), T.Affine(degrees=15, border="reflect101")],
    [T.Resize((112, 112)), T.RandomPerspective(0.3, p=1), T.RandomRotate90()],
    [T.CenterCrop(200), T.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8)],
    [T.CenterCrop(200), T.RandomGamma(p=0.5), T.Solarize(p=0.5), T.Posterize(p=0.5)],
    [T.CenterCrop(200), T.GaussianBlur(5, p=0.5), T.BoxBlur(3, p=0.5), T.MedianBlur(3, p=0.5), T.Sharpen(p=0.5)],
    [T.CenterCrop(200), T.RandomEqualize(p=0.5), T.RandomGrayscale(p=0.5), T.RandomInvert(p=0.5)],
    [T.CenterCrop(200), T.RandomThreshold(p=0.5), T.EdgeDetect(p=0.5), T.GaussianNoise(p=0.5)],
    [T.CenterCrop(200), T.RandomErasing(p=0.5), T.Cutout(p=0.5), T.Normalize()],
    [T.Tiles(100), T.HorizontalFlip()],
]
