"""fastaug's exceptions: each also derives from the builtin a caller would catch."""

from __future__ import annotations


class FastaugError(Exception):
    """Base of every error fastaug raises on purpose."""


class ArgumentError(FastaugError, ValueError):
    """An argument has the right type but a value fastaug does not accept."""


class ArgumentTypeError(FastaugError, TypeError):
    """An argument has a type (or dtype) fastaug does not accept."""
