"""Callbacks: hooks into the training loop, and early stopping."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .loop import _Loop

__all__ = ["Callback", "EarlyStopping"]


class Callback:
    """Hooks into the loop. ``loop.stop = True`` ends training after the current epoch.

    A hook may read each layer's ``dW``, ``db`` (the last batch's, with plain gradient descent
    alpha times the gradient) and change the parameters: so with a callback between batches (or,
    training on the full batch, any callback) each step is ``W[l] - dW[l]`` after the products,
    not inside them, which the loop does otherwise (a few percent faster on large layers)."""

    def on_train_begin(self, loop: _Loop) -> None: ...

    def on_epoch_end(self, loop: _Loop, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, loop: _Loop) -> None: ...

    def on_batch_end(self, loop: _Loop, batch: int, n_batches: int) -> None:
        """After mini-batch ``batch`` (0-based) of ``n_batches`` in ``loop.epoch``. Only callbacks
        that override it are called, so the loop pays nothing per batch otherwise."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best`` the parameters of the best epoch are put back at the end.

    ``mode``: ``"min"`` (a cost: lower is better), ``"max"`` (higher is better) or ``"auto"``,
    which is ``"max"`` for an accuracy (``val_accuracy``) and ``"min"`` otherwise."""

    _passive = True  # reads no gradients, writes no parameters between batches (training loop)

    def __init__(self, patience: int = 10, min_delta: float = 1e-4, monitor: str | None = None,
                 restore_best: bool = True, mode: str = "auto") -> None:
        if patience < 1:
            raise ConfigError(f"patience must be at least 1 epoch, got {patience}")
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.monitor, self.restore_best, self.mode = monitor, restore_best, mode

    def on_train_begin(self, loop: _Loop) -> None:
        self.key = self.monitor or ("val_cost" if loop.has_validation else "cost")
        # an accuracy improves upwards: as a cost it would keep (and restore) the worst epoch
        self.higher = self.mode == "max" or (self.mode == "auto" and "accuracy" in self.key)
        self.best, self.wait, self.best_params = (-math.inf if self.higher else math.inf), 0, None

    def on_epoch_end(self, loop: _Loop, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.key)
        if value is None:
            raise ConfigError(f"early stopping monitors {self.key!r}, which this run does not record")
        if (value > self.best + self.min_delta) if self.higher else (value < self.best - self.min_delta):
            self.best, self.wait = value, 0
            loop.history.best_epoch = epoch
            if self.restore_best:
                self.best_params = {k: v.copy() for k, v in loop.net.parameters.items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                loop.stop = True
                loop.history.stopped_early = True

    def on_train_end(self, loop: _Loop) -> None:
        if self.restore_best and self.best_params is not None:
            loop.net.parameters = self.best_params

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"best": self.best, "wait": self.wait}
        if self.best_params is not None:
            state["best_params"] = {k: v.copy() for k, v in self.best_params.items()}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        best, wait = state["best"], state["wait"]
        if not isinstance(best, (int, float)) or isinstance(best, bool) or math.isnan(best):
            raise ValueError(f"best must be a number, got {best!r:.40}")
        if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
            raise ValueError(f"wait must be a non-negative integer, got {wait!r:.40}")
        self.best, self.wait = float(best), wait
        self.best_params = state.get("best_params")

