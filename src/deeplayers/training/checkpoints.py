"""Checkpoint glue: the run's state written at epoch ends (and on Ctrl-C), and read back on resume."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import ConfigError, ModelFileError
from ..optimizers import Optimizer
from .callbacks import Callback
from .history import History

if TYPE_CHECKING:
    from ..network import Network
    from .loop import _Loop

__all__ = ["_Checkpoints", "_resume", "_restore_callbacks"]


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


def _resume(path: Any, net: Network, opt: Optimizer, rng: np.random.Generator, options: dict[str, Any]
            ) -> dict[str, Any]:
    state = load_checkpoint(path, net)
    for key, value in options.items():
        if key in state["options"] and state["options"][key] != value:
            raise ConfigError(f"{path} was written with {key}={state['options'][key]!r}, but this run asks for "
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
