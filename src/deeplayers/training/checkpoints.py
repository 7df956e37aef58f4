"""Checkpoint glue: the run's state written at epoch ends (and on Ctrl-C), and read back on resume."""

from __future__ import annotations

import json
import re
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
            "callbacks": [_callback_state(cb) for cb in self.cbs],
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


def _callback_state(cb: Callback) -> dict[str, Any]:
    """A callback's state tagged with its class: resume hands it back by type, not by position in
    the list (a run resumed with one callback more or fewer must not give early stopping's state to
    another callback, or drop it)."""
    return {_TYPE: type(cb).__name__, **cb.get_state()} if hasattr(cb, "get_state") else {}


_TYPE = "_callback"


def _hyper(opt: Optimizer) -> dict[str, float]:
    return {k: v for k, v in vars(opt).items() if isinstance(v, float)}


def run_options(opt: Optimizer, schedule: Any, *, batch_size: Any, shuffle: bool, l2: float,
                keep_prob: Any, validation_split: float, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
                early_stopping: Callback | None = None, validation: tuple[np.ndarray, np.ndarray] | None = None,
                ) -> dict[str, Any]:
    """What a resumed run must share with the checkpoint's run to continue it exactly: the options
    that shape the steps, and the training data's shape and sums (a changed file, scaling,
    validation split or seed shows there). A schedule given as a function is not compared; a
    built-in one by its repr (a cosine's with the run's length: it sets every epoch's rate).
    Early stopping decides when the run ends and which parameters it returns: whether it is on,
    and its settings."""
    hyper = {k: v for k, v in _hyper(opt).items() if k != "learning_rate"}  # (the schedule moves it)
    schedule = getattr(schedule, "schedule", schedule)  # (inside its checking wrapper)
    options = {"optimizer": opt.name, "batch_size": batch_size, "shuffle": shuffle,
               "learning_rate": opt.learning_rate, "optimizer_hyperparameters": hyper, "l2": l2,
               "keep_prob": None if keep_prob is None else np.asarray(keep_prob, float).tolist(),
               "validation_split": validation_split,
               "training_data": _fingerprint(X, Y, w)}
    if isinstance(schedule, tuple(SCHEDULES.values())):
        options["lr_schedule"] = repr(schedule)
    if validation is not None:  # it scores every epoch and decides early stopping's best
        X_val, Y_val = validation
        options["validation_data"] = _fingerprint(X_val, Y_val, None)
    options["early_stopping"] = early_stopping is not None
    if early_stopping is not None:
        options.update({k: getattr(early_stopping, k) for k in _STOPPING if hasattr(early_stopping, k)})
    return json.loads(json.dumps(options))  # as the checkpoint's header gives them back


def _fingerprint(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> list[Any]:
    """Shape, sums, and sums weighted by position: the same samples in another order (a shuffled
    file: another mini-batch order) or the features in another order have the same plain sums."""
    cols = np.sum(X, axis=0, dtype=np.float64)
    rows = np.sum(X, axis=1, dtype=np.float64)
    m, n = X.shape[1], X.shape[0]
    return [*X.shape, float(np.sum(X, dtype=np.float64)), float(np.sum(Y, dtype=np.float64)),
            None if w is None else float(np.sum(w, dtype=np.float64)),
            float(cols @ np.arange(1, m + 1) / m), float(rows @ np.arange(1, n + 1) / n),
            float(np.sum(Y, axis=0, dtype=np.float64) @ np.arange(1, m + 1) / m),
            float(np.einsum("ij,ij->", X, X, dtype=np.float64))]  # (the scale of X's rounding)


_STOPPING = ("patience", "min_delta", "monitor", "mode", "restore_best")  # EarlyStopping's settings
_COSINE = re.compile(r"CosineDecay\(epochs=(\d+), (.*)\)")


def _differs(key: str, was: Any, now: Any) -> bool:
    if key in ("training_data", "validation_data"):  # sums of the same data agree to rounding (another layout)
        # (a checkpoint from before the weighted sums holds the first five: those are compared).
        # Sums near 0 (standardized data) are compared to the rounding of sum |x| <= sqrt(n m sum x^2)
        atol = 1e-12 * float(np.sqrt(was[0] * was[1] * was[8])) if len(was) > 8 and len(now) > 8 else 0.0
        return len(was) < 5 or len(now) < 5 or any(
            (a is None) != (b is None) or (a is not None and not np.isclose(a, b, rtol=1e-9, atol=atol))
            for a, b in zip(was, now))
    return was != now


def _resume(path: Any, net: Network, opt: Optimizer, rng: np.random.Generator, options: dict[str, Any]
            ) -> dict[str, Any]:
    state = load_checkpoint(path, net)
    for key, value in options.items():
        if key in state["options"] and _differs(key, state["options"][key], value):
            was = state["options"][key]
            if key == "validation_data":
                raise ConfigError(f"{path} was written validating on other data (m, sums {was[1:4]!r}; now "
                                  f"{value[1:4]!r}): resume with the same validation data")
            if key == "training_data":
                order = " (the same sums: the samples or features in another order?)" if not _differs(
                    key, was[:5], value[:5]) else ""
                raise ConfigError(f"{path} was written training on other data (m, sums {was[1:5]!r}; now "
                                  f"{value[1:5]!r}){order}: resume with the same data, scaling, validation split and seed")
            if key == "early_stopping":
                raise ConfigError(f"{path} was written {'with' if was else 'without'} early stopping, but this run "
                                  f"trains {'without' if was else 'with'} it; resume with the same early stopping")
            if key in _STOPPING:
                raise ConfigError(f"{path} was written with early stopping's {key}={was!r}, but this run asks for "
                                  f"{key}={value!r}; resume with the same early stopping")
            cosines = [_COSINE.fullmatch(str(v)) for v in (was, value)]
            if key == "lr_schedule" and all(cosines) and cosines[0].group(2) == cosines[1].group(2):
                # (the cosine's length is the run's: only epochs changed)
                raise ConfigError(f"{path} was written with a cosine schedule over epochs={cosines[0].group(1)}, but "
                                  f"this run asks for epochs={cosines[1].group(1)}: the cosine's length sets every "
                                  f"epoch's learning rate; resume with the same epochs")
            raise ConfigError(f"{path} was written with {key}={was!r}, but this run asks for "
                              f"{key}={value!r}; resume with the same training options")
    net.parameters = state["params"]
    opt.set_state(state["optimizer"]["state"])
    rng.bit_generator.state = state["rng"]
    return state


def _restore_callbacks(loop: _Loop) -> None:
    """Put the checkpoint's callback states back (after on_train_begin, which resets them): each
    callback takes the next state saved by a callback of its type (files written before states were
    tagged: the state at its position)."""
    states = loop.resumed["callbacks"]
    if any(_TYPE in s for s in states):
        by_type: dict[str, list[dict[str, Any]]] = {}
        for s in states:
            if s:
                by_type.setdefault(str(s.get(_TYPE)), []).append(s)
        states = [(by_type.get(type(cb).__name__) or [{}]).pop(0) for cb in loop.callbacks]
    for cb, cb_state in zip(loop.callbacks, states):
        cb_state = {k: v for k, v in cb_state.items() if k != _TYPE}
        if cb_state and hasattr(cb, "set_state"):
            try:
                cb.set_state(cb_state)
            except (TypeError, ValueError, KeyError) as exc:
                raise ModelFileError(f"{loop.resume_path}: the checkpoint's state for {type(cb).__name__} is "
                                     f"damaged ({exc}); resume from another checkpoint or start again") from None
