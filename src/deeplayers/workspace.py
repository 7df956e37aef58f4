"""The training loop's workspace: the layer formulas computed fast.

A :class:`Workspace` computes exactly what :meth:`Dense.forward <deeplayers.layers.Dense.forward>`
and :meth:`Dense.backward <deeplayers.layers.Dense.backward>` compute, with four savings the
training loop (which owns one workspace per run) can afford:

* **buffers reused per batch size m**: Z[l], A[l] and dA[l-1] are written into arrays allocated
  once per (layer, m), so steady-state training allocates nothing per mini-batch; dW[l], db[l]
  land in the layer's own ``dW``, ``db``;
* **1/m folded into dZ[L]**: the loop multiplies the output gradient by ``scale / m`` once
  (:meth:`output_gradient`); every later dZ[l], dW[l], db[l] is linear in it, so the layers skip
  their own 1/m. For plain gradient descent ``scale`` is the learning rate, so dW[l] already holds
  alpha dW[l] and the update is W[l] -= dW[l] (:meth:`descend`);
* **db[l] as dZ[l] times a column of ones**, a matrix-vector product, faster than a reduction;
* **no dA[0]**: layer 1's dA[l-1] is never used in training, so it is not computed.

Shapes are checked once at the boundary (``fit``), not per batch; the caller silences overflow
warnings once for the whole run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .layers import Cache, dropout_mask

if TYPE_CHECKING:
    from .layers import Dense
    from .losses import Loss

__all__ = ["Workspace"]

_new_cache = tuple.__new__


class _Buffers:
    """One layer's arrays for one batch size m."""

    __slots__ = ("Z", "A", "dA_prev", "ones")

    def __init__(self, layer: Dense, m: int) -> None:
        self.Z = np.empty((layer.n, m), layer.dtype)
        # the others on first use: inference needs none of them, layer 1 never needs dA[0]
        self.A: np.ndarray | None = self.Z if layer.g.name == "linear" else None
        self.ones: np.ndarray | None = None
        self.dA_prev: np.ndarray | None = None


class Workspace:
    """Reused buffers and the loop's folding of 1/m (and plain gradient descent's alpha) into dZ[L].

    ``cache=True`` (training) keeps each layer's cache; ``cache=False`` (inference) keeps none and
    applies g in place on the Z[l] buffer, so a pass holds one buffer per layer. ``scale`` is the
    factor the next :meth:`output_gradient` folds in besides 1/m: 1 (the gradients are the true
    dW[l], db[l]) or the learning rate alpha (they are alpha dW[l]).

    Examples
    --------
    >>> from deeplayers import Network
    >>> net = Network([3, 4, 1], seed=0)
    >>> ws = Workspace()
    >>> X, Y = np.ones((3, 8)), np.ones((1, 8))
    >>> _ = net.forward(X)
    >>> dW1 = net.backward(Y)["dW1"]                      # the formulas, 1/m in each layer
    >>> AL = net._forward(X, ws=ws)                       # buffers for m = 8, reused next time
    >>> _ = net._backward(Y, ws=ws)                       # layer.dW = dW[l] (scale 1), 1/m folded once
    >>> bool(np.allclose(net[1].dW, dW1))
    True
    """

    MAX_BUFFERS = 64  # (layer, batch size) pairs kept; beyond, every buffer is dropped and made anew

    def __init__(self, cache: bool = True) -> None:
        self.cache = cache
        self.scale = 1.0
        self._bufs: dict[tuple[Dense, int], _Buffers] = {}

    def buffers(self, layer: Dense, m: int) -> _Buffers:
        """Layer l's buffers for batch size m, made on first use."""
        key = (layer, m)
        bufs = self._bufs.get(key)
        if bufs is None:
            if len(self._bufs) >= self.MAX_BUFFERS:  # many batch sizes: keep it bounded
                self._bufs.clear()
            bufs = self._bufs[key] = _Buffers(layer, m)
        return bufs

    def clear(self) -> None:
        """Drop every buffer."""
        self._bufs.clear()

    # -- forward ---------------------------------------------------------------------------
    def forward(self, layer: Dense, A_prev: np.ndarray, keep_prob: float = 1.0,
                rng: np.random.Generator | None = None) -> np.ndarray:
        """Z[l] = W[l] A[l-1] + b[l] and A[l] = g(Z[l]) into reused buffers; the cache is kept
        (with ``cache=False``: :meth:`predict`)."""
        if not self.cache:
            return self.predict(layer, A_prev)
        bufs = self._bufs.get((layer, A_prev.shape[1])) or self.buffers(layer, A_prev.shape[1])
        Z = np.dot(layer.W, A_prev, out=bufs.Z)
        Z += layer.b
        if bufs.A is None:
            bufs.A = np.empty_like(Z)
        A = layer.g.forward(Z, out=bufs.A)
        D = None if rng is None or keep_prob >= 1.0 else dropout_mask(A.shape, keep_prob, rng, layer.dtype)
        layer.cache = _new_cache(Cache, (A_prev, Z, A, D))  # Cache(A_prev, Z, A, D), without its Python-level __new__
        return A if D is None else A * D

    def predict(self, layer: Dense, A_prev: np.ndarray) -> np.ndarray:
        """A[l] without a cache: g is applied in place on the Z[l] buffer (inference)."""
        bufs = self.buffers(layer, A_prev.shape[1])
        Z = np.dot(layer.W, A_prev, out=bufs.Z)
        Z += layer.b
        return layer.g.forward(Z, out=Z)

    # -- backward --------------------------------------------------------------------------
    def output_gradient(self, loss: Loss, out: Dense, Y: np.ndarray, w: np.ndarray | None = None
                        ) -> tuple[np.ndarray, bool]:
        """(G, fused): dZ[L] (fused=True, A[L] - Y for the loss's own g[L]) or dA[L], computed in
        place of A[L], times ``scale / m`` and the sample weights ``w``."""
        AL = out.cache.A
        fused = loss.fused_with == out.g.name
        G = loss.fused_dZ(AL, Y, out=AL) if fused else loss.dAL(AL, Y)
        k = self.scale / AL.shape[1]
        if k != 1.0:
            G *= k
        if w is not None:
            G *= w  # sample weights scale each column's gradient
        return G, fused

    def backward(self, layer: Dense, dA: np.ndarray | None, dZ: np.ndarray | None = None
                 ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """dZ[l] = dA[l] * g'(Z[l]) computed in place of dA[l] (a buffer of ours), unless dZ[l] is
        given; then dA[l-1] = W[l]^T dZ[l] (before W[l] changes; skipped for layer 1),
        dW[l] = dZ[l] A[l-1]^T, db[l] = dZ[l] 1: 1/m is already in the gradient. dW[l], db[l]
        land in ``layer.dW``, ``layer.db``."""
        cache = layer.cache
        if dZ is None:
            if cache.D is not None:
                np.multiply(dA, cache.D, out=dA)  # dropout: only the kept units pass the gradient
            dZ = layer.g.backward(dA, cache.Z, cache.A, out=dA)
        A_prev = cache.A_prev
        m = A_prev.shape[1]
        bufs = self._bufs.get((layer, m)) or self.buffers(layer, m)
        dA_prev = None
        if layer.l > 1:
            if bufs.dA_prev is None:
                bufs.dA_prev = np.empty((layer.n_prev, m), layer.dtype)
            dA_prev = np.dot(layer.W.T, dZ, out=bufs.dA_prev)
        if bufs.ones is None:
            bufs.ones = np.ones((m, 1), layer.dtype)
        np.dot(dZ, A_prev.T, out=layer.dW)
        np.dot(dZ, bufs.ones, out=layer.db)  # sum over the m columns as a matrix-vector product
        return dA_prev, layer.dW, layer.db

    @staticmethod
    def descend(layer: Dense) -> None:
        """W[l] -= dW[l], b[l] -= db[l]: plain gradient descent's step when ``scale`` was alpha."""
        layer.W -= layer.dW
        layer.b -= layer.db
