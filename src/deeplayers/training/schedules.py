"""Learning-rate schedules: epoch -> learning rate, from the run's base rate lr0."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigError

__all__ = ["Constant", "StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineDecay", "SCHEDULES", "get_schedule"]


class Constant:
    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0

    def __repr__(self) -> str:
        return "Constant()"


@dataclass
class StepDecay:
    """lr0 * factor ** floor(epoch / every)."""

    factor: float = 0.5
    every: int = 10

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 * self.factor ** (epoch // self.every)


@dataclass
class ExponentialDecay:
    """lr0 * rate ** epoch."""

    rate: float = 0.95

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 * self.rate**epoch


@dataclass
class InverseTimeDecay:
    """lr0 / (1 + decay_rate * floor(epoch / time_interval)), the course's schedule."""

    decay_rate: float = 1.0
    time_interval: int = 1

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 / (1 + self.decay_rate * (epoch // self.time_interval))


@dataclass
class CosineDecay:
    """lr0 * (f + (1 - f) * (1 + cos(pi * epoch / epochs)) / 2) with f = ``min_fraction``: half a
    cosine from lr0 down towards f * lr0 over the run's ``epochs`` (filled in by ``fit`` when
    None), then f * lr0."""

    epochs: int | None = None
    min_fraction: float = 0.0

    def __call__(self, epoch: int, lr0: float) -> float:
        if not self.epochs:
            raise ConfigError("CosineDecay needs the run's length: CosineDecay(epochs=...)")
        f = self.min_fraction
        return lr0 * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(epoch, self.epochs) / self.epochs)))


SCHEDULES: dict[str, type] = {
    "constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "inverse_time": InverseTimeDecay,
    "cosine": CosineDecay,
}


def get_schedule(spec: Any, epochs: int | None = None) -> Callable[[int, float], float]:
    """None/``"constant"``, ``"step"``, ``"exponential"``, ``"inverse_time"``, ``"cosine"``
    (defaults), a ``(name, {params})`` pair, or any callable ``(epoch, lr0) -> lr``. ``epochs``,
    the run's length, completes a cosine schedule given without one."""
    if spec is None:
        return Constant()
    if not callable(spec):
        try:
            name, params = (spec, {}) if isinstance(spec, str) else spec
            params = dict(params)
        except (TypeError, ValueError):
            raise ConfigError(f"lr_schedule must be a name, a (name, {{params}}) pair or a callable, got {spec!r:.80}") from None
        key = str(name).lower().replace("-", "_")
        if key not in SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
        try:
            spec = SCHEDULES[key](**params)
        except TypeError as exc:
            raise ConfigError(f"lr_schedule {name!r}: {exc}") from None
    if isinstance(spec, CosineDecay) and spec.epochs is None and epochs:
        spec = replace(spec, epochs=int(epochs))
    return spec

