"""Saved pipelines: to_dict / from_dict, JSON and YAML files with a format version, and named presets.

The format (albumentations' to_dict is the model): ``{"fastaug_pipeline": 1, "transforms": [{"name":
"RandomResizedCrop", "size": [224, 224], ...}, ...], "options": {...}}``; every transform's constructor
arguments by name, so a file reads as the code that built it. The seed is not saved: it belongs to a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._errors import ArgumentError
from .base import REGISTRY
from .compose import Compose

FORMAT_VERSION = 1
_OPTIONS = ("antialias", "mask_fill", "min_box_area", "drop_empty_boxes", "copies")

#: named pipelines that ship with fastaug (``fastaug.transforms.preset(name)``, ``--pipeline NAME``)
PRESETS: dict[str, list[dict[str, Any]]] = {
    "imagenet-train": [
        {"name": "RandomResizedCrop", "size": [224, 224]},
        {"name": "HorizontalFlip", "p": 0.5},
        {"name": "Normalize"},
    ],
    "imagenet-eval": [
        {"name": "Resize", "size": 256},
        {"name": "CenterCrop", "size": [224, 224]},
        {"name": "Normalize"},
    ],
    "light": [
        {"name": "HorizontalFlip", "p": 0.5},
        {"name": "Affine", "degrees": 10, "translate": [0.05, 0.05], "scale": [0.9, 1.1], "border": "reflect101"},
        {"name": "GaussianBlur", "ksize": 3, "sigma": [0.1, 1.0], "p": 0.3},
    ],
    "heavy": [
        {"name": "RandomResizedCrop", "size": [224, 224], "scale": [0.35, 1.0]},
        {"name": "HorizontalFlip", "p": 0.5},
        {"name": "Affine", "degrees": 15, "border": "reflect101"},
        {"name": "RandomPerspective", "distortion_scale": 0.2, "p": 0.3},
        {"name": "GaussianBlur", "ksize": 5, "sigma": [0.1, 2.0], "p": 0.5},
        {"name": "RandomEqualize", "p": 0.2},
        {"name": "RandomGrayscale", "p": 0.1},
    ],
    # DiffAugment's "color,translation,cutout" with its ranges, not differentiable (brightness here is
    # torchvision's multiplicative factor, DiffAugment's is additive +-0.5 on [-1, 1] images)
    "gan-diffaugment": [
        {"name": "ColorJitter", "brightness": [0.75, 1.25], "contrast": [0.5, 1.5], "saturation": [0.0, 2.0]},
        {"name": "Affine", "translate": [0.125, 0.125], "interp": "nearest", "border": "constant"},
        {"name": "Cutout", "size": 0.5},
    ],
}


def to_dict(pipeline: Compose) -> dict[str, Any]:
    return {
        "fastaug_pipeline": FORMAT_VERSION,
        "transforms": [t.to_dict() for t in pipeline.transforms],
        "options": {k: getattr(pipeline, k) for k in _OPTIONS},
    }


def from_dict(data: dict[str, Any], seed: Any = None) -> Compose:
    """The pipeline a to_dict() (or a saved file) describes."""
    if not isinstance(data, dict) or "transforms" not in data:
        raise ArgumentError(f"pipeline: expected a dict with 'transforms', got {type(data).__name__}")
    version = data.get("fastaug_pipeline", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ArgumentError(
            f"pipeline: format version {version!r} is not readable by this fastaug (reads {FORMAT_VERSION})"
        )
    transforms = []
    for i, spec in enumerate(data["transforms"]):
        spec = dict(spec)
        name = spec.pop("name", None)
        if name not in REGISTRY:
            raise ArgumentError(
                f"pipeline: transforms[{i}]: unknown transform {name!r}; known: {', '.join(sorted(REGISTRY))}"
            )
        try:
            transforms.append(REGISTRY[name](**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}))
        except TypeError as e:
            raise ArgumentError(f"pipeline: transforms[{i}] ({name}): {e}") from e
    options = {k: v for k, v in data.get("options", {}).items() if k in _OPTIONS}
    return Compose(transforms, seed, **options)


def save(pipeline: Compose, path: str | Path) -> None:
    """Writes the pipeline as JSON, or YAML for a .yaml / .yml path (needs PyYAML)."""
    path = Path(path)
    data = to_dict(pipeline)
    if path.suffix in (".yaml", ".yml"):
        text = _yaml().safe_dump(data, sort_keys=False)
    else:
        text = json.dumps(data, indent=1) + "\n"
    path.write_text(text)


def load(source: str | Path, seed: Any = None) -> Compose:
    """A pipeline from a preset name, or a JSON / YAML file."""
    if str(source) in PRESETS:
        return preset(str(source), seed)
    path = Path(source)
    if not path.is_file():
        raise ArgumentError(f"pipeline: {str(source)!r} is neither a file nor a preset ({', '.join(PRESETS)})")
    text = path.read_text()
    data = _yaml().safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    return from_dict(data, seed)


def preset(name: str, seed: Any = None) -> Compose:
    if name not in PRESETS:
        raise ArgumentError(f"preset: expected one of {', '.join(PRESETS)}, got {name!r}")
    return from_dict({"transforms": PRESETS[name]}, seed)


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as e:
        raise ArgumentError("pipeline: YAML files need PyYAML (pip install pyyaml); JSON needs nothing") from e
    return yaml
