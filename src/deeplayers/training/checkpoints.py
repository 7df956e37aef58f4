"""Checkpoint glue: the run's state written at epoch ends (and on Ctrl-C), and read back on resume."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import ConfigError, ModelFileError
from ..optimizers import Optimizer
from .callbacks import Callback
from .history import History
from .schedules import SCHEDULES

if TYPE_CHECKING:
    from ..network import Network
    from .loop import _Loop

__all__ = ["_Checkpoints", "_resume", "_restore_callbacks", "run_options"]


class _Checkpoints:
    """Writes checkpoints at epoch ends, and on Ctrl-C the state as the interrupted epoch began."""

    def __init__(self, path: Any, every: int, net: Network, opt: Optimizer, rng: np.random.Generator,
                 cbs: list[Callback], options: dict[str, Any]) -> None:
        if int(every) < 1:
            raise ConfigError(f"checkpoint_every must be a positive number of epochs, got {every!r}")
        net.to_spec()  # a checkpoint describes the network by its spec: refuse what it cannot describe up front
        self.path, self.every, self.net, self.opt, self.rng = path, int(every), net, opt, rng
        self.cbs, self.options = cbs, options
        self.start: dict[str, Any] | None = None

    def _state(self, epoch: int, history: History) -> dict[str, Any]:
        return {
            "params": {k: v.copy() for k, v in self.net.parameters.items()},
            "optimizer": {"name": self.opt.name, "hyper": _hyper(self.opt), "state": self.opt.get_state()},
            "rng": self.rng.bit_generator.state, "epoch": epoch, "history": history.as_dict(),
            "callbacks": [cb.get_state() if hasattr(cb, "get_state") else {} for cb in self.cbs],
            "options": self.options,
        }

    def mark_epoch_start(self, epoch: int, history: History) -> None:
        self.start = self._state(epoch, history)

    def save(self, epoch: int, history: History) -> None:
        save_checkpoint(self.path, self.net, self._state(epoch, history))

    def save_epoch_start(self) -> int:
        self.net.parameters = self.start["params"]
        save_checkpoint(self.path, self.net, self.start)
        return int(self.start["epoch"])


def _hyper(opt: Optimizer) -> dict[str, float]:
    return {k: v for k, v in vars(opt).items() if isinstance(v, float)}


def run_options(opt: Optimizer, schedule: Any, *, batch_size: Any, shuffle: bool, l2: float,
                keep_prob: Any, validation_split: float, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
                ) -> dict[str, Any]:
    """What a resumed run must share with the checkpoint's run to continue it exactly: the options
    that shape the steps, and the training data's shape and sums (a changed file, scaling,
    validation split or seed shows there). A schedule given as a function is not compared; a
    built-in one by its repr (a cosine's with the run's length: it sets every epoch's rate)."""
    hyper = {k: v for k, v in _hyper(opt).items() if k != "learning_rate"}  # (the schedule moves it)
    schedule = getattr(schedule, "schedule", schedule)  # (inside its checking wrapper)
    options = {"optimizer": opt.name, "batch_size": batch_size, "shuffle": shuffle,
               "learning_rate": opt.learning_rate, "optimizer_hyperparameters": hyper, "l2": l2,
               "keep_prob": None if keep_prob is None else np.asarray(keep_prob, float).tolist(),
               "validation_split": validation_split,
               "training_data": [*X.shape, float(np.sum(X, dtype=np.float64)), float(np.sum(Y, dtype=np.float64)),
                                 None if w is None else float(np.sum(w, dtype=np.float64))]}
    if isinstance(schedule, tuple(SCHEDULES.values())):
        options["lr_schedule"] = repr(schedule)
    return json.loads(json.dumps(options))  # as the checkpoint's header gives them back


def _differs(key: str, was: Any, now: Any) -> bool:
    if key == "training_data":  # sums of the same data agree to rounding (another memory layout)
        return len(was) != len(now) or any(
            (a is None) != (b is None) or (a is not None and not np.isclose(a, b, rtol=1e-9, atol=0))
            for a, b in zip(was, now))
    return was != now


def _resume(path: Any, net: Network, opt: Optimizer, rng: np.random.Generator, options: dict[str, Any]
            ) -> dict[str, Any]:
    state = load_checkpoint(path, net)
    for key, value in options.items():
        if key in state["options"] and _differs(key, state["options"][key], value):
            was = state["options"][key]
            if key == "training_data":
                raise ConfigError(f"{path} was written training on other data (m, sums {was[1:]!r}; now {value[1:]!r}): "
                                  f"resume with the same data, scaling, validation split and seed")
            raise ConfigError(f"{path} was written with {key}={was!r}, but this run asks for "
                              f"{key}={value!r}; resume with the same training options")
    net.parameters = state["params"]
    opt.set_state(state["optimizer"]["state"])
    rng.bit_generator.state = state["rng"]
    return state


def _restore_callbacks(loop: _Loop) -> None:
    """Put the checkpoint's callback states back (after on_train_begin, which resets them)."""
    for cb, cb_state in zip(loop.callbacks, loop.resumed["callbacks"]):
        if cb_state and hasattr(cb, "set_state"):
            try:
                cb.set_state(cb_state)
            except (TypeError, ValueError, KeyError) as exc:
                raise ModelFileError(f"{loop.resume_path}: the checkpoint's state for {type(cb).__name__} is "
                                     f"damaged ({exc}); resume from another checkpoint or start again") from None
