"""Cost functions J(A[L], Y), their gradient dA[L], and the fused output gradients.

Y has the shape of A[L]: (n[L], m). Costs are averaged over the m samples. For the pairs
sigmoid + binary cross-entropy and softmax + categorical cross-entropy the output gradient is
fused: dZ[L] = A[L] - Y, which is exact and never divides by a saturated A[L].
"""

from __future__ import annotations

import numpy as np

from .errors import from_registry

__all__ = ["Loss", "LOSSES", "get_loss", "default_loss"]


_BOUNDS: dict[np.dtype, tuple[np.floating, np.floating]] = {}


def _clip(AL: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # keeps log(A) and log(1 - A) finite when an output saturates at exactly 0 or 1, and changes
    # nothing else: the bounds are the smallest normal number and the largest number below 1
    dtype = AL.dtype if AL.dtype.kind == "f" else np.dtype(np.float64)
    bounds = _BOUNDS.get(dtype)
    if bounds is None:
        bounds = _BOUNDS[dtype] = (np.finfo(dtype).tiny, np.nextafter(dtype.type(1), dtype.type(0)))
    A = np.maximum(AL, bounds[0], out=out)  # two ufuncs: cheaper than np.clip's wrapper
    return np.minimum(A, bounds[1], out=A)


class Loss:
    name = "loss"
    #: the output activation whose pairing gives dZ[L] = A[L] - Y
    fused_with: str | None = None
    #: whether A[L] must lie in (0, 1)
    needs_probabilities = False

    def cost(self, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None, reuse: bool = False) -> float:
        """J averaged over the m columns; with sample weights ``w`` (shape (m,), mean 1 over the
        training set) each column's loss is weighted. ``reuse`` computes it in scratch arrays kept
        for the batch shape (the training loop), allocating nothing."""
        if w is None:
            return self._cost(AL, Y, self._scratch(AL) if reuse else None)
        return float(np.dot(self.per_sample(AL, Y), w) / AL.shape[1])

    def _scratch(self, AL: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bufs = self.__dict__.setdefault("_buffers", {})
        key = (AL.shape, AL.dtype)
        if key not in bufs:
            bufs.clear()
            bufs[key] = (np.empty_like(AL), np.empty_like(AL))
        return bufs[key]

    def _cost(self, AL: np.ndarray, Y: np.ndarray, scratch: tuple[np.ndarray, np.ndarray] | None = None) -> float:
        return float(np.sum(self.per_sample(AL, Y)) / AL.shape[1])

    def per_sample(self, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The loss of each column (sample), shape (m,)."""
        raise NotImplementedError

    def dAL(self, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """dJ/dA[L] times m (the 1/m is applied in each layer's dW, db)."""
        raise NotImplementedError

    def fused_dZ(self, AL: np.ndarray, Y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """dZ[L] = A[L] - Y for the fused pair (times m, like dAL)."""
        return np.subtract(AL, Y, out=out)

    def __repr__(self) -> str:
        return self.name


class BinaryCrossEntropy(Loss):
    """J = -(1/m) sum(Y log A + (1 - Y) log(1 - A)); one or more independent sigmoid outputs."""

    name = "binary_crossentropy"
    fused_with = "sigmoid"
    needs_probabilities = True

    def _cost(self, AL, Y, scratch=None):
        m = AL.shape[1]
        if scratch is None:
            A = _clip(AL)
            # the course's form: (1/m) (-Y log(A)^T - (1-Y) log(1-A)^T), summed over output units
            total = -(np.vdot(Y, np.log(A)) + np.vdot(1 - Y, np.log1p(-A)))
            return float(total / m)
        log_A, log_1mA = scratch  # the same sum, in place: (1-Y).log(1-A) = sum(log(1-A)) - Y.log(1-A)
        _clip(AL, out=log_A)
        np.negative(log_A, out=log_1mA)
        np.log1p(log_1mA, out=log_1mA)
        np.log(log_A, out=log_A)
        total = -(np.vdot(Y, log_A) + (np.add.reduce(log_1mA, axis=None) - np.vdot(Y, log_1mA)))
        return float(total / m)

    def per_sample(self, AL, Y):
        A = _clip(AL)
        return -np.sum(Y * np.log(A) + (1 - Y) * np.log1p(-A), axis=0)

    def dAL(self, AL, Y):
        return self.dAL_exact(_clip(AL), Y)

    @staticmethod
    def dAL_exact(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """-(Y/AL - (1-Y)/(1-AL)) as written, unclipped: any AL other than 0 and 1 (the course's L_model_backward)."""
        return -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))


class CategoricalCrossEntropy(Loss):
    """J = -(1/m) sum(Y log A) with one-hot Y of shape (n[L], m); softmax output."""

    name = "categorical_crossentropy"
    fused_with = "softmax"
    needs_probabilities = True

    def _cost(self, AL, Y, scratch=None):
        m = AL.shape[1]
        log_A = _clip(AL, out=None if scratch is None else scratch[0])
        return float(-np.vdot(Y, np.log(log_A, out=log_A)) / m)

    def per_sample(self, AL, Y):
        return -np.sum(Y * np.log(_clip(AL)), axis=0)

    def dAL(self, AL, Y):
        return -np.divide(Y, _clip(AL))


class MeanSquaredError(Loss):
    """J = (1/(2m)) sum((A - Y)^2), so that dZ[L] = A[L] - Y for a linear output."""

    name = "mse"
    fused_with = "linear"

    def _cost(self, AL, Y, scratch=None):
        m = AL.shape[1]
        diff = np.subtract(AL, Y, out=None if scratch is None else scratch[0])
        return float(np.vdot(diff, diff) / (2 * m))

    def per_sample(self, AL, Y):
        diff = AL - Y
        return 0.5 * np.sum(diff * diff, axis=0)

    def dAL(self, AL, Y):
        return AL - Y


LOSSES: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "cce": CategoricalCrossEntropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}

_DEFAULT_FOR_OUTPUT = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy"}


def default_loss(output: str) -> str:
    """The loss that pairs with an output activation: sigmoid -> BCE, softmax -> CCE, else MSE."""
    return _DEFAULT_FOR_OUTPUT.get(output, "mse")


def get_loss(loss: str | Loss) -> Loss:
    """Look a loss up by name (``binary_crossentropy``/``bce``, ``categorical_crossentropy``/``cce``, ``mse``)."""
    return from_registry(LOSSES, loss, "loss", Loss)  # type: ignore[return-value]
