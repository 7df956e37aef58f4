"""The building block: one dense layer l with W[l], b[l] and g[l].

Without a workspace, :meth:`Dense.forward` and :meth:`Dense.backward` are the notation's six lines:

    Forward:  Z[l] = W[l] A[l-1] + b[l];  A[l] = g[l](Z[l]);  cache (A[l-1], Z[l], A[l], D[l]).
    Backward: dZ[l] = dA[l] * g'[l](Z[l]);  dW[l] = (1/m) dZ[l] A[l-1]^T;
              db[l] = (1/m) sum(dZ[l], axis=1, keepdims=True);  dA[l-1] = W[l]^T dZ[l].

The training loop passes a :class:`~deeplayers.workspace.Workspace` (``ws=``) instead: the same
formulas, computed into buffers reused per batch size, with 1/m folded into dZ[L] once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .activations import Activation, get_activation
from .shapes import as_float_array, check_A_prev, check_b, check_grad, check_W

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["Cache", "Dense", "linear_forward", "linear_backward", "dropout_mask"]


class Cache(NamedTuple):
    """What layer l keeps from its forward pass for the backward pass.

    ``A`` is g(Z) before dropout (some g'(Z) rules read it); ``D`` is the dropout mask already
    scaled by 1/keep_prob, or None without dropout.
    """

    A_prev: np.ndarray
    Z: np.ndarray
    A: np.ndarray
    D: np.ndarray | None


def linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Z = W A_prev + b, shape (n[l], m). Shapes are the caller's to check."""
    return np.dot(W, A_prev) + b


def linear_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dA_prev, dW, db): dW = (1/m) dZ A_prev^T, db = (1/m) sum(dZ, axis=1, keepdims=True),
    dA_prev = W^T dZ. Shapes are the caller's to check."""
    m = A_prev.shape[1]
    dW = (1.0 / m) * np.dot(dZ, A_prev.T)
    db = (1.0 / m) * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def dropout_mask(shape: tuple[int, int], keep_prob: float, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Inverted dropout's D: each unit kept with probability keep_prob, kept ones scaled by 1/keep_prob."""
    D = (rng.random(shape, dtype=dtype) < keep_prob).astype(dtype)
    D *= 1.0 / keep_prob
    return D


class Dense:
    """Layer l of the network: holds W[l] (n[l], n[l-1]), b[l] (n[l], 1) and g[l].

    Parameters
    ----------
    n_prev, n : int
        n[l-1] and n[l].
    activation : str or Activation
        g[l]: ``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``, ``softmax`` or ``linear``.
    l : int
        The layer's index, used in error messages.
    dtype : str or dtype
        float64 or float32, for W, b and every buffer.

    Examples
    --------
    >>> layer = Dense(3, 4, "relu", l=1)
    >>> A = layer.forward(np.ones((3, 5)))               # A[1]: (4, 5), cache kept
    >>> dA_prev, dW, db = layer.backward(np.ones((4, 5)))
    >>> dW.shape, db.shape
    ((4, 3), (4, 1))
    """

    def __init__(self, n_prev: int, n: int, activation: str | Activation = "relu", l: int = 1,
                 dtype: np.dtype | str = np.float64) -> None:
        self.l = l
        self.n, self.n_prev = int(n), int(n_prev)
        self.g = get_activation(activation)
        self.dtype = np.dtype(dtype)
        self.W = np.zeros((self.n, self.n_prev), self.dtype)
        self.b = np.zeros((self.n, 1), self.dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.cache: Cache | None = None

    # -- parameters ------------------------------------------------------------------------
    def set_parameters(self, W: np.ndarray, b: np.ndarray, copy: bool = True) -> None:
        """Replace W[l], b[l] after checking their shapes (and that they hold real numbers)."""
        W, b = as_float_array(W, f"W[{self.l}]"), as_float_array(b, f"b[{self.l}]")
        check_W(W, self.l, self.n, self.n_prev)
        check_b(b, self.l, self.n)
        if copy or W.dtype != self.dtype or b.dtype != self.dtype:
            self.W = np.array(W, dtype=self.dtype, order="C")
            self.b = np.array(b, dtype=self.dtype, order="C")
        else:  # share the caller's arrays (the course functions update them in place)
            self.W, self.b = W, b

    @property
    def n_params(self) -> int:
        return self.W.size + self.b.size

    # -- forward ---------------------------------------------------------------------------
    def forward(self, A_prev: np.ndarray, keep_prob: float = 1.0, rng: np.random.Generator | None = None,
                *, ws: Workspace | None = None) -> np.ndarray:
        """A[l] = g(W[l] A[l-1] + b[l]), keeping ``self.cache`` = Cache(A[l-1], Z[l], A[l], D[l]).

        With ``keep_prob`` < 1 and an ``rng`` (training only), inverted dropout: the returned A[l]
        is g(Z[l]) * D[l]. ``ws``: the training loop's workspace computes the same into its buffers.
        """
        if ws is not None:
            return ws.forward(self, A_prev, keep_prob, rng)
        check_A_prev(A_prev, self.l, self.n_prev)
        Z = linear_forward(A_prev, self.W, self.b)
        with np.errstate(over="ignore"):  # saturating g overflow exp() to inf on purpose: exact 0/1
            A = self.g.forward(Z, out=None)
        D = None if rng is None or keep_prob >= 1.0 else dropout_mask(A.shape, keep_prob, rng, self.dtype)
        self.cache = Cache(A_prev, Z, A, D)
        return A if D is None else A * D

    # -- backward --------------------------------------------------------------------------
    def backward(self, dA: np.ndarray | None = None, *, dZ: np.ndarray | None = None,
                 ws: Workspace | None = None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """From dA[l], return (dA[l-1], dW[l], db[l]); dW[l], db[l] also become ``self.dW``,
        ``self.db``, where optimizers read them.

        ``dZ`` instead of dA: the output layer whose loss gives dZ[L] = A[L] - Y directly.
        ``ws``: the training loop's workspace (its buffers, 1/m already in the gradient, dA[0]
        skipped: then dA[l-1] is None for layer 1).
        """
        if ws is not None:
            return ws.backward(self, dA, dZ)
        A_prev, Z, A, D = self._cache()
        if dZ is None:
            check_grad(dA, f"dA[{self.l}]", Z.shape, f"(n[{self.l}], m)")
            if D is not None:
                dA = dA * D  # dropout: only the kept units pass the gradient
            dZ = self.g.backward(dA, Z, A)
        else:
            check_grad(dZ, f"dZ[{self.l}]", Z.shape, f"(n[{self.l}], m)")
        dA_prev, self.dW, self.db = linear_backward(dZ, A_prev, self.W)
        return dA_prev, self.dW, self.db

    def _cache(self) -> Cache:
        if self.cache is None:
            raise RuntimeError(f"layer {self.l}: backward needs a forward pass first")
        return self.cache

    def __repr__(self) -> str:
        return f"Dense(l={self.l}, W[{self.l}]: ({self.n}, {self.n_prev}), g={self.g.name})"
