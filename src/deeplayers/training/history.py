"""History: what a training run recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["History"]


@dataclass
class History:
    """What a training run recorded; it also behaves as the list of training costs.

    ``cost[i]`` is the training cost of iteration i (full batch, the course) or the mean cost of
    epoch i (mini-batches); ``val_cost``, ``metrics["val_accuracy"]``, ``lr`` and ``time``
    (seconds since the start) are recorded once per epoch. ``warnings`` keeps the text of every
    :class:`~deeplayers.TrainingWarning` the run gave (a stall near the cost of guessing).
    """

    unit: str = "iteration"
    cost: list[float] = field(default_factory=list)
    val_cost: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    n_iter: int = 0
    best_epoch: int | None = None
    stopped_early: bool = False
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cost)

    def __getitem__(self, i: Any) -> Any:
        return self.cost[i]

    def __iter__(self) -> Iterator[float]:
        return iter(self.cost)

    @property
    def costs(self) -> list[float]:
        return self.cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit, "cost": list(self.cost), "val_cost": list(self.val_cost),
            "metrics": {k: list(v) for k, v in self.metrics.items()}, "lr": list(self.lr),
            "time": list(self.time), "n_iter": self.n_iter, "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early, "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        notes = fields.get("warnings")  # files written before warnings were kept have none
        fields["warnings"] = [w for w in notes if isinstance(w, str)] if isinstance(notes, list) else []
        return cls(**fields)

