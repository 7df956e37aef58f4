"""Exceptions raised by deeplayers.

Every error subclasses both :class:`DeeplayersError` (catch everything from this library) and the
matching built-in (``ValueError``, ``TypeError``, ...), so generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "DeeplayersError",
    "ShapeError",
    "DataError",
    "ConfigError",
    "DivergenceError",
    "ModelFileError",
    "NotFittedError",
    "TrainingWarning",
]


class DeeplayersError(Exception):
    """Base class of every error deeplayers raises on purpose."""


class ShapeError(DeeplayersError, ValueError):
    """An array does not have the shape the notation requires (which layer, which array, expected vs got)."""


class DataError(DeeplayersError, ValueError):
    """Input data is unusable: NaN/inf, empty, non-numeric, or labels that do not fit the output."""


class ConfigError(DeeplayersError, ValueError):
    """A hyperparameter or option is invalid (unknown name, out of range, incompatible pair)."""


class DivergenceError(DeeplayersError, FloatingPointError):
    """Training went wrong: the cost or the parameters became NaN or infinite, or the cost ran far
    above both its starting value and the cost of guessing (see the README's "Errors and
    guarantees"). The message names the learning rate; ``history`` holds what the run recorded."""

    history: object = None


class ModelFileError(DeeplayersError, ValueError):
    """A model or checkpoint file is damaged, foreign, or of a newer format."""


class NotFittedError(DeeplayersError, AttributeError):
    """A model was used before it was trained or loaded."""


class TrainingWarning(UserWarning):
    """Training finished but learned (almost) nothing: the cost stalled near the cost of guessing,
    or ended above both its start and guessing. The message names the usual causes (initialisation,
    learning rate); the run's ``History.warnings`` keeps it."""


def from_registry(registry: dict[str, type], key: object, kind: str, base: type) -> object:
    """A new ``registry[key]`` (the name in any case), or ``key`` itself when it already is a ``base``;
    an unknown name is a ConfigError that lists the choices. The one lookup behind every registry."""
    if isinstance(key, base):
        return key
    cls = registry.get(str(key).lower())
    if cls is None:
        raise ConfigError(f"unknown {kind} {key!r}; choose one of: {', '.join(sorted(registry))}")
    return cls()
