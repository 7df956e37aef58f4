"""Optimizers: turn each layer's dW[l], db[l] into an update of W[l], b[l].

The training loop calls ``begin_step()`` once per mini-batch and ``update(layer)`` for each layer
right after that layer's gradients are ready (after dA[l-1] was computed with the old W[l]), so it
never needs to know which optimizer it runs. Formulas are the course's (Improving Deep Neural
Networks, week 2), with t counting mini-batch steps from 1.

An optimizer's state (t, the moments v and s) belongs to the network it trained: ``fit`` calls
``bind(network)``, which keeps the state for the same network (a second ``fit`` continues) and
starts from zero for another one (the moments of one network's gradients mean nothing to another's).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .errors import ConfigError
from .layers import Dense

__all__ = ["Optimizer", "GradientDescent", "Momentum", "RMSprop", "Adam", "OPTIMIZERS", "get_optimizer"]


def _is_real(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _check_learning_rate(learning_rate: object) -> float:
    if not _is_real(learning_rate) or not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ConfigError(f"learning_rate must be a positive number, got {learning_rate!r}")
    return float(learning_rate)


def _check_beta(who: str, name: str, beta: object) -> float:
    # beta = 1 never lets a gradient in (and Adam's bias correction 1 - beta^t divides by 0); past
    # 1 or below 0 the average is no average and the steps grow or flip sign
    if not _is_real(beta) or not 0 <= beta < 1:
        raise ConfigError(f"{who}: {name} must be a number in [0, 1) (the weight of the running average, e.g. 0.9), "
                          f"got {beta!r}")
    return float(beta)


def _check_epsilon(who: str, epsilon: object) -> float:
    # epsilon keeps dW / (sqrt(s) + epsilon) finite where s is 0
    if not _is_real(epsilon) or not np.isfinite(epsilon) or epsilon <= 0:
        raise ConfigError(f"{who}: epsilon must be a positive number (e.g. 1e-8), got {epsilon!r}")
    return float(epsilon)


class Optimizer:
    name = "optimizer"
    #: True when update is exactly W -= alpha dW, b -= alpha db: the training loop may then fold
    #: alpha into dZ[L] (its workspace's ``scale``) and step with W -= dW (``Workspace.descend``)
    folds_learning_rate = False

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = _check_learning_rate(learning_rate)
        self.t = 0
        self.state: dict[str, np.ndarray] = {}
        # the network the state belongs to (a weak reference), None while it belongs to none yet
        self._owner: Any = None

    def bind(self, network: object) -> None:
        """Make the state ``network``'s (``fit`` calls it before the first epoch): the same network
        as last time keeps t and the moments, so training continues; another network starts from
        t = 0 and zero moments. State given by :meth:`set_state` (a checkpoint, a saved estimator)
        or copied with the optimizer (pickle, deepcopy) belongs to the next network bound."""
        owner = getattr(self, "_owner", None)  # (a subclass that skipped __init__ has none)
        if owner is not None and owner() is not network:
            self.reset()
        self._owner = weakref.ref(network)

    def reset(self) -> None:
        """Forget t and the moments: the next step is the first."""
        self.t = 0
        self.state = {}

    def __getstate__(self) -> dict[str, Any]:
        # a copy (pickle, deepcopy) cannot name its network (a weak reference does not travel): like
        # set_state, its state belongs to the next network bound, so an estimator's copy continues
        return {**self.__dict__, "_owner": None}

    def _zeros(self, key: str, like: np.ndarray) -> np.ndarray:
        arr = self.state.get(key)
        if arr is None or arr.shape != like.shape or arr.dtype != like.dtype:
            arr = self.state[key] = np.zeros_like(like)
        return arr

    def begin_step(self) -> None:
        self.t += 1

    def update(self, layer: Dense) -> None:
        raise NotImplementedError

    def get_state(self) -> dict[str, np.ndarray]:
        """Arrays and counters needed to resume exactly (for checkpoints); scratch arrays excluded."""
        return {"t": np.array(self.t), **{k: v.copy() for k, v in self.state.items() if not k.startswith("tmp")}}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`get_state` returned; it belongs to the next network bound."""
        self.t = int(state["t"])
        self.state = {k: np.array(v) for k, v in state.items() if k != "t"}
        self._owner = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


class GradientDescent(Optimizer):
    """W[l] = W[l] - alpha dW[l]; b[l] = b[l] - alpha db[l]."""

    name = "gd"
    folds_learning_rate = True

    def __init__(self, learning_rate: float = 0.0075) -> None:  # the course's alpha
        super().__init__(learning_rate)

    def update(self, layer: Dense) -> None:
        lr = self.learning_rate
        layer.W -= lr * layer.dW
        layer.b -= lr * layer.db


class Momentum(Optimizer):
    """v = beta v + (1 - beta) dW; W = W - alpha v."""

    name = "momentum"

    def __init__(self, learning_rate: float = 0.01, beta: float = 0.9) -> None:
        super().__init__(learning_rate)
        self.beta = _check_beta("Momentum", "beta", beta)

    def update(self, layer: Dense) -> None:
        for p, g, name in ((layer.W, layer.dW, "W"), (layer.b, layer.db, "b")):
            v = self._zeros(f"vd{name}{layer.l}", p)
            tmp = self._zeros(f"tmp{name}{layer.l}", p)  # scratch, so the update allocates nothing
            v *= self.beta
            np.multiply(g, 1 - self.beta, out=tmp)
            v += tmp
            np.multiply(v, self.learning_rate, out=tmp)
            p -= tmp


class RMSprop(Optimizer):
    """s = beta s + (1 - beta) dW^2; W = W - alpha dW / (sqrt(s) + epsilon)."""

    name = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, beta: float = 0.9, epsilon: float = 1e-8) -> None:
        super().__init__(learning_rate)
        self.beta, self.epsilon = _check_beta("RMSprop", "beta", beta), _check_epsilon("RMSprop", epsilon)

    def update(self, layer: Dense) -> None:
        for p, g, name in ((layer.W, layer.dW, "W"), (layer.b, layer.db, "b")):
            s = self._zeros(f"sd{name}{layer.l}", p)
            tmp = self._zeros(f"tmp{name}{layer.l}", p)
            s *= self.beta
            np.multiply(g, g, out=tmp)
            tmp *= 1 - self.beta
            s += tmp
            # W -= alpha dW / (sqrt(s) + eps)
            np.sqrt(s, out=tmp)
            tmp += self.epsilon
            np.divide(g, tmp, out=tmp)
            tmp *= self.learning_rate
            p -= tmp


class Adam(Optimizer):
    """Adam with bias correction:

    v = beta1 v + (1 - beta1) dW;  s = beta2 s + (1 - beta2) dW^2;
    v_corr = v / (1 - beta1^t);  s_corr = s / (1 - beta2^t);
    W = W - alpha v_corr / (sqrt(s_corr) + epsilon).
    """

    name = "adam"

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8) -> None:
        super().__init__(learning_rate)
        self.beta1, self.beta2 = _check_beta("Adam", "beta1", beta1), _check_beta("Adam", "beta2", beta2)
        self.epsilon = _check_epsilon("Adam", epsilon)

    def update(self, layer: Dense) -> None:
        t = self.t
        c1 = 1 - self.beta1**t
        c2 = 1 - self.beta2**t
        for p, g, name in ((layer.W, layer.dW, "W"), (layer.b, layer.db, "b")):
            v = self._zeros(f"vd{name}{layer.l}", p)
            s = self._zeros(f"sd{name}{layer.l}", p)
            tmp = self._zeros(f"tmp{name}{layer.l}", p)  # scratch, so the update allocates nothing
            v *= self.beta1
            np.multiply(g, 1 - self.beta1, out=tmp)
            v += tmp
            s *= self.beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - self.beta2
            s += tmp
            # W -= alpha (v / c1) / (sqrt(s / c2) + eps)
            np.divide(s, c2, out=tmp)
            np.sqrt(tmp, out=tmp)
            tmp += self.epsilon
            np.divide(v, tmp, out=tmp)
            tmp *= self.learning_rate / c1
            p -= tmp


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GradientDescent,
    "sgd": GradientDescent,
    "momentum": Momentum,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def get_optimizer(optimizer: str | Optimizer, learning_rate: float | None = None) -> Optimizer:
    """An optimizer by name (``gd``, ``momentum``, ``rmsprop``, ``adam``) or an instance as is."""
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            optimizer.learning_rate = _check_learning_rate(learning_rate)
        return optimizer
    try:
        cls = OPTIMIZERS[str(optimizer).lower()]
    except KeyError:
        names = ", ".join(OPTIMIZERS)
        raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of: {names}") from None
    return cls() if learning_rate is None else cls(learning_rate)
