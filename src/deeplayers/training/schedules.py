"""Learning-rate schedules: epoch -> learning rate, from the run's base rate lr0.

The built-in schedules check their parameters when made, and ``get_schedule`` checks every rate a
schedule returns (a finite number > 0): a rate <= 0 would stop training or climb the cost, a NaN
would surface later as a divergence blamed on the learning rate.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["Constant", "StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineDecay", "CheckedSchedule",
           "SCHEDULES", "get_schedule"]


def _is_number(x: object) -> bool:
    """A real number (a Python or NumPy int or float, or a 0-d array of one), not a bool."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x.dtype.kind in "iuf"
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _name(schedule: object) -> str:
    return f"lr_schedule {type(schedule).__name__}"


def _check_fraction(schedule: object, name: str, value: object, what: str) -> None:
    if not _is_number(value) or not 0 < value <= 1:
        raise ConfigError(f"{_name(schedule)}: {name} {what}, so it must be a number in (0, 1] (1 keeps lr0; "
                          f"above 1 the learning rate would grow without end), got {value!r}")


def _check_count(schedule: object, name: str, value: object) -> None:
    if not _is_number(value) or not 1 <= value < math.inf or int(value) != value:
        raise ConfigError(f"{_name(schedule)}: {name} must be a whole number of epochs >= 1, got {value!r}")


@dataclass
class Constant:
    """lr0 every epoch."""

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0


@dataclass
class StepDecay:
    """lr0 * factor ** floor(epoch / every)."""

    factor: float = 0.5
    every: int = 10

    def __post_init__(self) -> None:
        _check_fraction(self, "factor", self.factor,
                        "is the factor applied every `every` epochs (lr0 * factor ** (epoch // every))")
        _check_count(self, "every", self.every)

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 * self.factor ** (epoch // self.every)


@dataclass
class ExponentialDecay:
    """lr0 * rate ** epoch."""

    rate: float = 0.95

    def __post_init__(self) -> None:
        _check_fraction(self, "rate", self.rate, "is the factor applied every epoch (lr0 * rate ** epoch)")

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 * self.rate**epoch


@dataclass
class InverseTimeDecay:
    """lr0 / (1 + decay_rate * floor(epoch / time_interval)), the course's schedule."""

    decay_rate: float = 1.0
    time_interval: int = 1

    def __post_init__(self) -> None:
        if not _is_number(self.decay_rate) or not 0 <= self.decay_rate < math.inf:
            raise ConfigError(f"{_name(self)}: decay_rate must be a finite number >= 0 (0 keeps lr0), "
                              f"got {self.decay_rate!r}")
        _check_count(self, "time_interval", self.time_interval)

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 / (1 + self.decay_rate * (epoch // self.time_interval))


@dataclass
class CosineDecay:
    """lr0 * (f + (1 - f) * (1 + cos(pi * epoch / epochs)) / 2) with f = ``min_fraction``: half a
    cosine from lr0 down towards f * lr0 over the run's ``epochs`` (filled in by ``fit`` when
    None), then f * lr0."""

    epochs: int | None = None
    min_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs is not None:
            _check_count(self, "epochs", self.epochs)
        if not _is_number(self.min_fraction) or not 0 <= self.min_fraction <= 1:
            raise ConfigError(f"{_name(self)}: min_fraction must be a number in [0, 1] (the last rate as a "
                              f"fraction of lr0), got {self.min_fraction!r}")

    def __call__(self, epoch: int, lr0: float) -> float:
        if not self.epochs:
            raise ConfigError("CosineDecay needs the run's length: CosineDecay(epochs=...)")
        f = self.min_fraction
        return lr0 * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(epoch, self.epochs) / self.epochs)))


class CheckedSchedule:
    """A schedule whose every rate is checked: a finite number > 0, or a ConfigError naming the
    schedule and the epoch (a rate <= 0 stops training or climbs the cost, a NaN would surface
    later as a divergence blamed on the learning rate)."""

    def __init__(self, schedule: Callable[[int, float], Any]) -> None:
        self.schedule = schedule

    def __call__(self, epoch: int, lr0: float) -> float:
        lr = self.schedule(epoch, lr0)
        if _is_number(lr) and math.isfinite(lr) and lr > 0:
            return float(lr)
        raise ConfigError(f"lr_schedule {_describe(self.schedule)} returned {lr!r:.60} for epoch {epoch} "
                          f"(counting from 0, lr0 = {lr0:g}); a schedule must return that epoch's learning rate, "
                          f"a finite number > 0{_hint(self.schedule, epoch)}")

    def __repr__(self) -> str:
        return repr(self.schedule)


def _describe(schedule: object) -> str:
    if isinstance(schedule, tuple(SCHEDULES.values())):
        return repr(schedule)
    qualname = getattr(schedule, "__qualname__", None)
    return f"function {qualname}" if qualname else f"{schedule!r:.80}"


def _hint(schedule: object, epoch: int) -> str:
    if isinstance(schedule, CosineDecay) and schedule.epochs and epoch >= schedule.epochs:
        return (f" (this cosine ends at min_fraction * lr0 after its epochs={schedule.epochs}: give it the run's "
                "length, or a min_fraction > 0)")
    if isinstance(schedule, (StepDecay, ExponentialDecay)):
        return " (the decay has brought it below the smallest float: decay more slowly, or train fewer epochs)"
    return ""


SCHEDULES: dict[str, type] = {
    "constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "inverse_time": InverseTimeDecay,
    "cosine": CosineDecay,
}


def get_schedule(spec: Any, epochs: int | None = None) -> CheckedSchedule:
    """None/``"constant"``, ``"step"``, ``"exponential"``, ``"inverse_time"``, ``"cosine"``
    (defaults), a ``(name, {params})`` pair, or any callable ``(epoch, lr0) -> lr``, as a
    :class:`CheckedSchedule`. ``epochs``, the run's length, completes a cosine schedule given
    without one."""
    if spec is None:
        spec = Constant()
    elif not callable(spec):
        spec = _built_in(spec)
    if isinstance(spec, CosineDecay) and spec.epochs is None and epochs:
        spec = replace(spec, epochs=int(epochs))
    return CheckedSchedule(spec)


def _built_in(spec: Any) -> Any:
    """The built-in schedule a name or a ``(name, {params})`` pair describes; unknown names and
    parameters are ConfigErrors that list the choices."""
    try:
        name, params = (spec, {}) if isinstance(spec, str) else spec
        params = dict(params)
    except (TypeError, ValueError):
        raise ConfigError(f"lr_schedule must be a name, a (name, {{params}}) pair or a callable, got {spec!r:.80}") from None
    key = str(name).lower().replace("-", "_")
    if key not in SCHEDULES:
        raise ConfigError(f"unknown lr_schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    cls = SCHEDULES[key]
    accepted = {f.name: f.default for f in fields(cls)}
    unknown = [k for k in params if k not in accepted]
    if unknown:
        listing = ", ".join(f"{k} (default {v!r})" for k, v in accepted.items()) or "none"
        raise ConfigError(f"lr_schedule {name!r}: unexpected keyword argument {unknown[0]!r}; {cls.__name__}'s "
                          f"parameters are: {listing}")
    return cls(**params)
