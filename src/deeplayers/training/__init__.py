"""The one training loop, with pluggable optimizers, schedules, regularizers and callbacks.

Each iteration is the course's: forward (A[L] and caches), cost, backward (l = L..1) and update;
the optimizer updates layer l as soon as its dW[l], db[l] are ready. Everything else (mini-batches,
L2, dropout, learning-rate schedules, validation, early stopping, progress) plugs into this loop.

One module per concept: :mod:`.run` (``fit`` = :func:`.prepare.prepare` a run, then
:func:`.loop.run_epochs`), :mod:`.history`, :mod:`.schedules`, :mod:`.callbacks`,
:mod:`.progress`, :mod:`.batching`, :mod:`.validation` (the validation split every face uses),
:mod:`.checkpoints` (checkpoint glue) and :mod:`.divergence` (telling a run that went wrong).
"""

from __future__ import annotations

from ..metrics import accuracy
from .callbacks import Callback, EarlyStopping
from .divergence import (
    DIVERGE_EPOCHS,
    DIVERGE_FACTOR,
    STALL_BAND,
    STALL_FALL,
    STALL_MIN_UPDATES,
    _check_stall,
    reference_costs,
)
from .history import History
from .loop import TrainingInterrupted, _Loop, run_epochs
from .prepare import prepare
from .progress import _Progress
from .run import fit
from .schedules import SCHEDULES, Constant, CosineDecay, ExponentialDecay, InverseTimeDecay, StepDecay, get_schedule
from .validation import split_validation

__all__ = [
    "History", "Callback", "EarlyStopping", "fit", "prepare", "run_epochs", "accuracy", "reference_costs",
    "split_validation", "TrainingInterrupted",
    "Constant", "StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineDecay", "SCHEDULES", "get_schedule",
    "DIVERGE_FACTOR", "DIVERGE_EPOCHS", "STALL_MIN_UPDATES", "STALL_BAND", "STALL_FALL",
    "_Loop", "_Progress", "_check_stall",
]
