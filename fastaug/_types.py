"""Enums mirroring csrc/include/fastaug/types.hpp (values equal OpenCV's constants) and their parsing."""

from __future__ import annotations

from enum import IntEnum

from ._errors import ArgumentError, ArgumentTypeError


class Interp(IntEnum):
    NEAREST = 0
    LINEAR = 1
    CUBIC = 2
    AREA = 3


class Border(IntEnum):
    CONSTANT = 0
    REPLICATE = 1
    REFLECT = 2
    WRAP = 3
    REFLECT101 = 4


class ThresholdMode(IntEnum):
    BINARY = 0
    BINARY_INV = 1
    TRUNC = 2
    TOZERO = 3
    TOZERO_INV = 4


_ALIASES = {"reflect_101": "reflect101", "default": "reflect101", "bilinear": "linear", "bicubic": "cubic"}


def parse_enum(value: object, enum: type[IntEnum], name: str, allowed: tuple[IntEnum, ...] | None = None) -> int:
    """Turns a name ('linear') or an enum member into its int; the error lists what is accepted."""
    choices = allowed or tuple(enum)
    names = ", ".join(repr(m.name.lower()) for m in choices)
    member: IntEnum | None
    if isinstance(value, enum):
        member = value
    elif isinstance(value, str):
        key = _ALIASES.get(value.lower(), value.lower())
        member = enum.__members__.get(key.upper())
        if member is None:
            raise ArgumentError(f"{name}: expected one of {names}, got {value!r}")
    else:
        raise ArgumentTypeError(f"{name}: expected one of {names} (a string), got {type(value).__name__}")
    if member not in choices:
        raise ArgumentError(f"{name}: expected one of {names}, got {member.name.lower()!r}")
    return int(member)
