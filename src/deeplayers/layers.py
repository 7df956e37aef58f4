"""The building block: one dense layer l with W[l], b[l] and g[l].

    Forward:  Z[l] = W[l] A[l-1] + b[l];  A[l] = g[l](Z[l]);  cache (A[l-1], Z[l]) (and A[l]).
    Backward: dZ[l] = dA[l] * g'[l](Z[l]);  dW[l] = (1/m) dZ[l] A[l-1]^T;
              db[l] = (1/m) sum(dZ[l], axis=1, keepdims=True);  dA[l-1] = W[l]^T dZ[l].

When ``reuse=True`` (the training loop) every array is written into buffers the layer allocated
once per batch size m, so steady-state training allocates nothing per mini-batch; shapes were
checked once at the boundary, so the per-batch checks are skipped too.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation, get_activation
from .shapes import check_A_prev, check_b, check_grad, check_W

__all__ = ["Dense", "linear_forward", "linear_backward"]


def linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Z = W A_prev + b, shape (n[l], m). Shapes are the caller's to check."""
    Z = np.dot(W, A_prev, out=out)
    Z += b
    return Z


def linear_backward(
    dZ: np.ndarray,
    A_prev: np.ndarray,
    W: np.ndarray,
    dW: np.ndarray | None = None,
    db: np.ndarray | None = None,
    dA_prev: np.ndarray | bool | None = True,
    prescaled: bool = False,
    ones: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dW = (1/m) dZ A_prev^T, db = (1/m) sum(dZ, axis=1, keepdims=True), dA_prev = W^T dZ.

    ``dW``/``db`` are output buffers (or None to allocate); ``dA_prev`` is a buffer, True to
    allocate one, or False/None to skip it (layer 1 never needs dA[0]). With ``prescaled`` the
    caller already multiplied dZ by 1/m (the training loop folds 1/m, and for plain gradient
    descent the learning rate, into dZ[L] once; every later dZ[l] is linear in it). ``ones``, an
    (m, 1) column of ones, computes db as dZ @ ones.
    """
    # dA[l-1] uses W[l] before any update to it
    if dA_prev is True:
        dA_prev = np.dot(W.T, dZ)
    elif dA_prev is not None and dA_prev is not False:
        np.dot(W.T, dZ, out=dA_prev)
    else:
        dA_prev = None
    dW = np.dot(dZ, A_prev.T, out=dW)
    if ones is not None:  # sum over the m columns as a matrix-vector product: faster than a reduce
        db = np.dot(dZ, ones, out=db)
    else:
        db = np.add.reduce(dZ, axis=1, keepdims=True, out=db)
    if not prescaled:
        k = 1.0 / A_prev.shape[1]
        dW *= k
        db *= k
    return dA_prev, dW, db


class _Workspace:
    """Buffers for one batch size m: Z[l], A[l] and dA[l-1]."""

    __slots__ = ("Z", "A", "dA_prev", "ones")

    def __init__(self, n: int, m: int, dtype: np.dtype, same_ZA: bool) -> None:
        self.Z = np.empty((n, m), dtype)
        self.A = self.Z if same_ZA else np.empty((n, m), dtype)
        self.ones = np.ones((m, 1), dtype)
        self.dA_prev: np.ndarray | None = None  # allocated on first use (never for layer 1)


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
        self.keep_prob = 1.0  # inverted dropout on A[l] while training
        self.cache: tuple | None = None
        self._ws: dict[int, _Workspace] = {}

    # -- parameters ------------------------------------------------------------------------
    def set_parameters(self, W: np.ndarray, b: np.ndarray, copy: bool = True) -> None:
        """Replace W[l], b[l] after checking their shapes."""
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

    def _workspace(self, m: int) -> _Workspace:
        ws = self._ws.get(m)
        if ws is None:
            if len(self._ws) > 4:  # many batch sizes (e.g. predict in chunks): keep it bounded
                self._ws.clear()
            ws = self._ws[m] = _Workspace(self.n, m, self.dtype, self.g.name == "linear")
        return ws

    # -- forward ---------------------------------------------------------------------------
    def forward(self, A_prev: np.ndarray, *, cache: bool = True, reuse: bool = False,
                rng: np.random.Generator | None = None) -> np.ndarray:
        """A[l] = g(W[l] A[l-1] + b[l]); keeps the cache (A[l-1], Z[l]) when ``cache``.

        ``rng`` turns on inverted dropout with keep probability ``self.keep_prob`` (training only).
        """
        if reuse:  # the training loop, which also silences overflow warnings once for all layers
            ws = self._ws.get(A_prev.shape[1]) or self._workspace(A_prev.shape[1])
            Z = linear_forward(A_prev, self.W, self.b, out=ws.Z)
            A = self.g.forward(Z, out=ws.A if cache else Z)
        else:
            check_A_prev(A_prev, self.l, self.n_prev)
            Z = linear_forward(A_prev, self.W, self.b)
            # without a cache Z is not needed afterwards, so g works in place; saturating
            # activations overflow exp() to inf on purpose, giving exact 0/1
            with np.errstate(over="ignore"):
                A = self.g.forward(Z, out=None if cache else Z)
        A_out, D = A, None
        if rng is not None and self.keep_prob < 1.0:
            # inverted dropout: keep each unit with probability keep_prob, scale by 1/keep_prob
            D = (rng.random(A.shape, dtype=self.dtype) < self.keep_prob).astype(self.dtype)
            D *= 1.0 / self.keep_prob
            A_out = A * D
        # the cache keeps the pre-dropout A: some g'(Z) rules read it
        self.cache = (A_prev, Z, A, D) if cache else None
        return A_out

    # -- backward --------------------------------------------------------------------------
    def backward(self, dA: np.ndarray | None = None, *, dZ: np.ndarray | None = None,
                 need_dA_prev: bool = True, reuse: bool = False, prescaled: bool = False,
                 ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """From dA[l] (or an already computed dZ[l]) return (dA[l-1], dW[l], db[l]).

        dA[l-1] is None when ``need_dA_prev`` is False (layer 1 never needs dA[0]).
        dW[l], db[l] are the layer's own arrays ``self.dW``, ``self.db`` (overwritten each call);
        with ``reuse`` dA[l-1] is a reused buffer too and dA is overwritten by dZ.
        ``prescaled``: dA (or dZ) already carries the factor 1/m, see :func:`linear_backward`.
        """
        if self.cache is None:
            raise RuntimeError(f"layer {self.l}: backward needs a forward pass with cache=True first")
        A_prev, Z, A, D = self.cache
        if not reuse:
            check_grad(dA if dZ is None else dZ, f"{'dA' if dZ is None else 'dZ'}[{self.l}]", Z.shape,
                       f"(n[{self.l}], m)")
        if dZ is None:
            if D is not None:
                dA = np.multiply(dA, D, out=dA if reuse else None)  # dropout: only kept units pass
            # dZ = dA * g'(Z); in the training loop dA is our own buffer, so overwrite it
            dZ = self.g.backward(dA, Z, A, out=dA if reuse else None)
        dA_buf: np.ndarray | bool = need_dA_prev
        ones = None
        if reuse:
            ws = self._ws[A_prev.shape[1]]
            ones = ws.ones
            if need_dA_prev:
                if ws.dA_prev is None:
                    ws.dA_prev = np.empty((self.n_prev, A_prev.shape[1]), self.dtype)
                dA_buf = ws.dA_prev
        # dW[l], db[l] always land in the layer's own arrays, where optimizers read them
        return linear_backward(dZ, A_prev, self.W, self.dW, self.db, dA_buf, prescaled, ones)

    def __repr__(self) -> str:
        keep = f", keep_prob={self.keep_prob}" if self.keep_prob < 1 else ""
        return f"Dense(l={self.l}, W[{self.l}]: ({self.n}, {self.n_prev}), g={self.g.name}{keep})"
