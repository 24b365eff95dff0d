"""What every transform of a pipeline has: a probability p, its constructor arguments (for repr and
to_dict), validation that names the transform, and the registry from_dict reads.

A transform only says how to draw its per-sample parameters (from an explicit numpy Generator, as arrays of
length N) and what they do: geometric transforms give one 3x3 matrix per sample (Compose multiplies a run of
them into one matrix and warps once), pixel transforms apply an operator to the samples drawn."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._errors import ArgumentError, ArgumentTypeError

REGISTRY: dict[str, type[Transform]] = {}
Params = dict[str, np.ndarray]


class Transform:
    """Base of every transform. Subclasses register under their class name (to_dict / from_dict)."""

    #: constructor arguments, in order (repr and to_dict read them back from attributes of the same names)
    fields: ClassVar[tuple[str, ...]] = ("p",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            REGISTRY[cls.__name__] = cls

    def gate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Which samples this transform applies to: one draw per sample, true with probability p."""
        p: float = getattr(self, "p", 1.0)
        return rng.random(n) < p if p < 1.0 else np.ones(n, bool)

    def to_dict(self) -> dict[str, Any]:
        return {"name": type(self).__name__, **{f: _plain(getattr(self, f)) for f in self.fields}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self.fields)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transform) and type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # equal by value, and mutable

    def error(self, arg: str, got: Any, expected: str) -> ArgumentError:
        return ArgumentError(f"{type(self).__name__}: {arg}: expected {expected}, got {got!r}")


def _plain(value: Any) -> Any:
    """JSON/YAML-friendly: tuples and arrays as lists, numpy scalars as Python numbers."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# Validation: each names the transform and the argument, and says what it accepts.


def probability(t: Transform, p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0.0 <= p <= 1.0:
        raise t.error("p", p, "a probability in [0, 1]")
    return float(p)


def number(t: Transform, name: str, value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ArgumentTypeError(f"{type(t).__name__}: {name}: expected a number, got {value!r}")
    if not (low <= value <= high) or not math.isfinite(value):
        raise t.error(name, value, f"a number in [{low}, {high}]")
    return float(value)


def value_range(
    t: Transform,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    around: float | None = None,
) -> tuple[float, float]:
    """A (min, max) range. A single number v means (around - v, around + v) when `around` is given
    (torchvision's reading of degrees=15 or brightness=0.4), else the fixed range (v, v)."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        v = number(t, name, value)
        if around is not None:
            if v < 0:
                raise t.error(name, value, "a non-negative number or a (min, max) pair")
            lo, hi = around - v, around + v
        else:
            lo, hi = v, v
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        lo, hi = (number(t, name, v) for v in value)
    else:
        raise ArgumentTypeError(f"{type(t).__name__}: {name}: expected a number or a (min, max) pair, got {value!r}")
    if lo > hi:
        raise t.error(name, value, "min <= max")
    if not (low <= lo and hi <= high):
        raise t.error(name, value, f"a range within [{low}, {high}]")
    return (lo, hi)


def size_pair(t: Transform, name: str, value: Any) -> tuple[int, int]:
    """An int (square) or an (height, width) pair of positive ints."""
    items = (value, value) if isinstance(value, (int, np.integer)) else value
    if (
        isinstance(items, (tuple, list))
        and len(items) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in items)
    ):
        return (int(items[0]), int(items[1]))
    raise t.error(name, value, "a positive int or a (height, width) pair of positive ints")


def choice(t: Transform, name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise t.error(name, value, f"one of {', '.join(map(repr, allowed))}")
    return str(value)


def uniform(rng: np.random.Generator, rng_range: Sequence[float], n: int) -> np.ndarray:
    lo, hi = rng_range[0], rng_range[1]
    return rng.uniform(lo, hi, n) if hi > lo else np.full(n, lo)
