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
* **no dA[0]**: layer 1's dA[l-1] is never used in training, so it is not computed;
* **a plan per batch size** (:meth:`Workspace.forward_pass`): a whole pass without dropout runs
  the layers with their buffers laid out once, no lookups between layers;
* **one step for the whole network** (:class:`FlatParameters`): with gradient descent every
  W[l], b[l] is a view into one array and every dW[l], db[l] into another, so the update of all
  layers is a single subtraction (full batch: into a second array, which keeps the parameters
  the step began from, should the run diverge) and the check that they are finite one product;
* **the step inside the products** (plain gradient descent, :func:`_stepping_backward_layer`):
  W[l] -= dZ[l] A[l-1]^T as one gemm into W[l] where that gives the subtraction's bits, so dW[l] is
  never written; full batch only when a bound proves the result finite first (:func:`_bounded`);
* **b[l] and db[l] inside the products** (a small network's mini-batch descent, :class:`FlatParameters`
  ``joined``): W[l] and b[l] are the two parts of one array ``[W[l] b[l]]``, and each A[l-1] has a
  row of ones below it, so dW[l] and db[l] come out of one product ``dZ[l] [A[l-1]; 1]^T``, and
  ``Z[l] = [W[l] b[l]] [A[l-1]; 1]`` where that gives the same numbers to the bit as
  W[l] A[l-1] + b[l] (:func:`_folds`): for a small network each NumPy call is a noticeable part of
  the step;
* **BLAS's faster operand order** for a thin product (:func:`_faster_form`): Z[l] = W[l] A[l-1]
  with a long inner dimension (the course's 12288 inputs) is also computed as
  Z[l]^T = A[l-1]^T W[l]^T, which some BLAS kernels run twice as fast, and used only when it
  gives the same numbers to the bit.

Shapes are checked once at the boundary (``fit``), not per batch; the caller silences overflow
warnings once for the whole run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from . import _gemm
from .layers import Cache, dropout_mask
from .threads import SMALL_GEMM, _dot  # np.dot's C function, without the dispatch

if TYPE_CHECKING:
    from .layers import Dense
    from .losses import Loss

__all__ = ["Workspace", "FlatParameters"]

_new_cache = tuple.__new__
_NOT_YET = object()  # a plan's operand orders before its first pass


class _Buffers:
    """One layer's arrays for one batch size m."""

    __slots__ = ("Z", "A", "A1", "dA_prev", "ones")

    def __init__(self, layer: Dense, m: int) -> None:
        self.Z = np.empty((layer.n, m), layer.dtype)
        # the others on first use: inference needs none of them, layer 1 never needs dA[0]
        self.A: np.ndarray | None = self.Z if layer.g.name == "linear" else None
        self.A1: np.ndarray | None = None  # [A[l]; 1] (n[l] + 1, m), A its first n[l] rows (joined plans)
        self.ones: np.ndarray | None = None
        self.dA_prev: np.ndarray | None = None

    def complete(self, layer: Dense, m: int, ones_row: bool = False) -> None:
        """Every buffer training needs: A[l], dA[l-1] (none for layer 1: dA[0] is never used) and
        the column of ones that sums dZ[l] over the m columns; with ``ones_row``, A[l] as the
        first n[l] rows of [A[l]; 1] (the next layer's [A[l-1]; 1])."""
        if ones_row and self.A1 is None:
            self.A1 = np.empty((layer.n + 1, m), layer.dtype)
            self.A1[-1] = 1
            self.A = self.A1[:-1]
        if self.A is None:
            self.A = np.empty_like(self.Z)
        if self.dA_prev is None and layer.l > 1:
            self.dA_prev = np.empty((layer.n_prev, m), layer.dtype)
        if self.ones is None:
            self.ones = np.ones((m, 1), layer.dtype)


def _forward_layer(layer: Dense, A_prev: np.ndarray, bufs: _Buffers, dot: Callable = _dot,
                   Zt: np.ndarray | None = None) -> np.ndarray:
    """Z[l] = W[l] A[l-1] + b[l] and A[l] = g(Z[l]), into the buffers (``dot``: the run's products);
    with ``Zt`` (the plan's choice, see :func:`_faster_form`) W[l] A[l-1] is computed as
    (A[l-1]^T W[l]^T)^T, the same numbers."""
    if Zt is None:
        Z = dot(layer.W, A_prev, bufs.Z)
        Z += layer.b
    else:  # (Z[l]^T)^T + b[l] in one pass
        Z = np.add(dot(A_prev.T, layer.W.T, Zt).T, layer.b, out=bufs.Z)
    return layer.g.forward(Z, out=bufs.A)


#: a product is tried in the other operand order when its inner dimension n[l-1] is at least this
#: many times its outputs' larger side (a thin output: the case where BLAS kernels differ most)
THIN = 4
#: ... and used when it takes less than this fraction of the usual order's time (best of three
#: timings each). Either order costs the same passes, so a near tie may go either way: course
#: float64 on Zen 4 with OpenBLAS's SkylakeX kernels timed 0.73-0.94x in isolation (0.91x within
#: the iterations), which a margin of 0.8 missed in most runs
FASTER = 1.0


def _probe_weights(shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """Weights drawn at random for checking that two forms of a product give the same bits (a zero
    or regular W[l] could hide a different order of the sums)."""
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _thin(layer: Dense, m: int) -> bool:
    """W[l] A[l-1] has a long inner dimension, n[l-1] >= THIN * max(n[l], m), and at least
    SMALL_GEMM multiply-adds."""
    return layer.n_prev >= THIN * max(layer.n, m) and layer.n * layer.n_prev * m >= SMALL_GEMM


def _faster_form(layer: Dense, A_prev: np.ndarray, Z: np.ndarray, dot: Callable) -> np.ndarray | None:
    """For a thin product W[l] A[l-1] (:func:`_thin`): a buffer for Z[l]^T when BLAS computes
    A[l-1]^T W[l]^T to the same bits and faster (best of three timings each, FASTER), else None.

    BLAS libraries pick their kernels and blocking by the operands' shapes: for the course's
    Z[1] = W[1] X (20 x 12288 by 12288 x 209, float32) OpenBLAS's SkylakeX kernels took 0.46-0.68x
    the time in the transposed order, with the same numbers; its Haswell kernels round some sums
    differently there, so the check is on the bits, with weights drawn at random (a zero or
    regular W[l] could hide a different order of the sums) and the real A[l-1]."""
    n, k = layer.W.shape
    m = A_prev.shape[1]
    if not _thin(layer, m):
        return None
    W = _probe_weights((n, k), layer.dtype)
    if layer.W.flags.f_contiguous and not layer.W.flags.c_contiguous:
        W = np.asfortranarray(W)  # (a caller's column-major W[l]: BLAS packs it another way)
    Zt = np.empty((m, n), layer.dtype)
    if not np.array_equal(dot(W, A_prev, Z), dot(A_prev.T, W.T, Zt).T):
        return None  # different roundings: the formula's own order, W A
    best = [np.inf, np.inf]
    for _ in range(3):
        for i, (a, b, out) in enumerate(((W, A_prev, Z), (A_prev.T, W.T, Zt))):
            t0 = time.perf_counter()
            dot(a, b, out)
            best[i] = min(best[i], time.perf_counter() - t0)
    return Zt if best[1] < FASTER * best[0] else None


def _folds(layer: Dense, A1_prev: np.ndarray, Z: np.ndarray, dot: Callable) -> bool:
    """Whether BLAS computes [W[l] b[l]] [A[l-1]; 1] to the same bits as W[l] A[l-1] + b[l], for
    this shape and layout (``A1_prev`` the real [A[l-1]; 1]; [W b] drawn at random, as in
    :func:`_faster_form`). It does where the kernel adds the inner dimension's terms one after
    another, b[l] times 1 last: OpenBLAS's SkylakeX kernels do for a small network's products, its
    Haswell kernels not always."""
    k = layer.n_prev
    Wb = _probe_weights((layer.n, k + 1), layer.dtype)
    return bool(np.array_equal(dot(Wb, A1_prev, Z), dot(Wb[:, :k], A1_prev[:k]) + Wb[:, k:]))


def _backward_layer(layer: Dense, dZ: np.ndarray, A_prev: np.ndarray, bufs: _Buffers, dot: Callable = _dot,
                    dA_prev: bool = True) -> np.ndarray | None:
    """dA[l-1] = W[l]^T dZ[l] (before W[l] changes; None for layer 1, or with ``dA_prev=False``:
    computed already), dW[l] = dZ[l] A[l-1]^T and db[l] = dZ[l] 1 into ``layer.dW``, ``layer.db``:
    1/m is already in dZ[l]."""
    dA_prev = None if bufs.dA_prev is None or not dA_prev else dot(layer.W.T, dZ, bufs.dA_prev)
    dot(dZ, A_prev.T, layer.dW)
    _dot(dZ, bufs.ones, layer.db)  # sum over the m columns as a matrix-vector product
    return dA_prev


def _subtracts(layer: Dense, dZ: np.ndarray, A_prev: np.ndarray, dot: Callable, subtract: Callable) -> bool:
    """Whether one gemm computes W[l] - dZ[l] A[l-1]^T (``_gemm.subtract_product``) to the same bits as
    W[l] - dW[l] with dW[l] from the run's product, for this shape and layout (W[l] drawn at random,
    dZ[l] and A[l-1] the pass's own). It does where BLAS adds the inner dimension, the batch, in one
    block. Only for products NumPy computes with gemm (no side of 1: those go to gemv) of at least
    SMALL_GEMM multiply-adds (smaller ones are not threaded, and too few numbers to show a different
    order of the sums in one look); elsewhere, or with no BLAS found, the step stays W[l] - dW[l]."""
    (n, k), m = layer.W.shape, dZ.shape[1]
    if min(n, k, m) < 2 or n * k * m < SMALL_GEMM or not _gemm.available(layer.dtype):
        return False
    W = _probe_weights(layer.W.shape, layer.dtype)
    expected = W - dot(dZ, A_prev.T, np.empty_like(W))
    return subtract(W, dZ, A_prev.T) and bool(np.array_equal(W, expected))


def _stepping_backward_layer(layer: Dense, dZ: np.ndarray, A_prev: np.ndarray, bufs: _Buffers, dot: Callable,
                             subtract: Callable | None, dA_prev: bool = True) -> np.ndarray | None:
    """:func:`_backward_layer` and plain gradient descent's step of layer l (alpha is in dZ[l]):
    dA[l-1] = W[l]^T dZ[l] with the old W[l] (not with ``dA_prev=False``: computed already); then
    W[l] -= dZ[l] A[l-1]^T, in the product itself by ``subtract`` where given (dW[l] is then not
    written), and b[l] -= db[l]."""
    dA_prev = None if bufs.dA_prev is None or not dA_prev else dot(layer.W.T, dZ, bufs.dA_prev)
    if not (subtract is not None and subtract(layer.W, dZ, A_prev.T)):
        np.subtract(layer.W, dot(dZ, A_prev.T, layer.dW), out=layer.W)
    np.subtract(layer.b, _dot(dZ, bufs.ones, layer.db), out=layer.b)
    return dA_prev


#: a step goes into W[l], b[l] themselves only when every result is provably below this fraction of
#: the dtype's largest number (:func:`_bounded`): room for the rounding of the bound's own sums
_BOUND_ROOM = 2.0 ** -8


def _norm(a: np.ndarray) -> float:
    """||a|| (Frobenius) from the sum of squares through BLAS; inf or NaN when a square overflows
    or ``a`` is not finite."""
    v = a.ravel(order="K")  # (a view for either layout)
    return float(np.sqrt(_dot(v, v)))


def _bounded(P: np.ndarray, steps: list[tuple[np.ndarray, float]], m: int) -> bool:
    """Whether W[l] - dZ[l] A[l-1]^T and b[l] - dZ[l] 1 are finite for every l, whatever the order
    of the sums, with ``P`` every parameter and ``steps`` each layer's (dZ[l], ||A[l-1]||): each
    entry's change, and each partial sum on the way, is at most ||dZ[l]|| ||A[l-1]|| (W[l]) or
    ||dZ[l]|| sqrt(m) (b[l]) by Cauchy-Schwarz, each old entry at most ||P||. False when a norm is
    not finite (NaN or inf anywhere, or squares too large for the dtype: the swap's step then)."""
    room = float(np.finfo(P.dtype).max) * _BOUND_ROOM
    # sums, not max(): they bound it too, and a NaN anywhere stays NaN (max() may drop one)
    size = sum(_norm(dZ) * (norm_A + np.sqrt(m)) for dZ, norm_A in steps)
    return bool(_norm(P) + size < room)  # (NaN compares False)


class _Plan:
    """One batch size's whole pass, laid out once: each layer with its buffers, so a mini-batch
    runs the layers' formulas back to back with no lookups, checks or allocations between them
    (for a small network, Python's overhead is most of the step)."""

    __slots__ = ("layers", "ws", "thin", "tuned_for", "orders", "ones_row", "A1s", "fold", "folds_for", "subtracts",
                 "norm_A0")

    def __init__(self, ws: Workspace, layers: list[Dense], m: int) -> None:
        self.ws = ws
        self.layers = [(layer, ws.buffers(layer, m), None) for layer in layers]
        # a joined run (ws.ones_row): A[0] comes as [A[0]; 1], and each A[l] below L is kept so too
        self.ones_row = ws.ones_row
        for layer, bufs, _ in self.layers:
            bufs.complete(layer, m, self.ones_row and layer is not layers[-1])
        # layers whose product may run faster in the other operand order; looked at on the first
        # pass and again whenever the run's products change (BLAS's threads, the split)
        thin = [_thin(layer, m) for layer in layers]
        self.thin = thin if any(thin) and not self.ones_row else None
        self.tuned_for: object = _NOT_YET
        self.orders: dict = {}  # the thin layers' orders decided for each (BLAS threads, parts) so far
        # joined: each layer's [A[l-1]; 1] (layer 1's is the batch's, set per pass) and whether its
        # Z[l] is computed as [W b] [A[l-1]; 1] (decided on the first pass, see _folds)
        self.A1s: list = [None] + [bufs.A1 for _, bufs, _ in self.layers[:-1]]
        self.fold: list[bool] = []
        self.folds_for: object = _NOT_YET
        # ws.step: for each (BLAS threads, parts) so far, whether each layer's step is in its product (_subtracts)
        self.subtracts: dict = {}
        self.norm_A0: tuple[np.ndarray, float] | None = None  # (A[0], ||A[0]||): full batch, the same X every pass

    def forward(self, A0: np.ndarray) -> np.ndarray:
        """A[L] from A[0] (from [A[0]; 1] in a joined run), each layer keeping its cache (no dropout)."""
        if self.ones_row:
            return self._joined_forward(A0)
        if self.thin is not None and self.tuned_for != self.ws.products:
            return self._deciding_forward(A0)
        A, dot = A0, self.ws.dot
        for layer, bufs, Zt in self.layers:  # l = 1..L
            A_out = _forward_layer(layer, A, bufs, dot, Zt)
            layer.cache = _new_cache(Cache, (A, bufs.Z, A_out, None))
            A = A_out
        return A

    def _deciding_forward(self, A0: np.ndarray) -> np.ndarray:
        """:meth:`forward`, deciding each thin layer's operand order on the way (on this pass's A[l-1]),
        or taking the orders decided before for these products (a run's threads may change back)."""
        products = self.tuned_for = self.ws.products
        known = self.orders.get(products)
        if known is not None:
            self.layers = [(layer, bufs, Zt) for (layer, bufs, _), Zt in zip(self.layers, known)]
            return self.forward(A0)
        A, dot = A0, self.ws.dot
        for i, (layer, bufs, _) in enumerate(self.layers):
            Zt = _faster_form(layer, A, bufs.Z, dot) if self.thin[i] else None
            self.layers[i] = (layer, bufs, Zt)
            A_out = _forward_layer(layer, A, bufs, dot, Zt)
            layer.cache = _new_cache(Cache, (A, bufs.Z, A_out, None))
            A = A_out
        self.orders[products] = [Zt for _, _, Zt in self.layers]
        return A

    def _joined_forward(self, A1: np.ndarray) -> np.ndarray:
        """:meth:`forward` from A1 = [A[0]; 1]: Z[l] = [W[l] b[l]] [A[l-1]; 1] where that is W[l] A[l-1] + b[l]
        to the bit (the run's joined parameters, ``ws.joined``), else the formula as written."""
        joined, dot = self.ws.joined, self.ws.dot
        deciding = joined is not None and (self.folds_for is not joined or self.tuned_for != self.ws.products)
        if deciding:  # decided on the way, on this pass's [A[l-1]; 1]
            self.folds_for, self.tuned_for, self.fold = joined, self.ws.products, []
        self.A1s[0] = A1
        A = A1[:-1]
        for i, (layer, bufs, _) in enumerate(self.layers):  # l = 1..L
            if deciding:
                self.fold.append(_folds(layer, self.A1s[i], bufs.Z, dot))
            if joined is not None and self.fold[i]:
                A_out = layer.g.forward(dot(joined[i][0], self.A1s[i], bufs.Z), out=bufs.A)
            else:
                A_out = _forward_layer(layer, A, bufs, dot)
            layer.cache = _new_cache(Cache, (A, bufs.Z, A_out, None))
            A = A_out
        return A

    def backward(self, G: np.ndarray, fused: bool, l2_scale: float,
                 on_layer: Callable[[Dense, np.ndarray | None], None] | None) -> None:
        """l = L..1 from G = dZ[L] (``fused``) or dA[L]; dW[l] += l2_scale W[l] (L2); ``on_layer``
        as soon as layer l's gradients are ready. In a joined run [dW[l] db[l]] = dZ[l] [A[l-1]; 1]^T,
        one product."""
        dA, dot = G, self.ws.dot
        joined = self.ws.joined if self.ones_row else None
        step = self.ws.stepped = self.ws.step and joined is None and not l2_scale and on_layer is None
        if step and self.ws.swap is not None:
            self._bounded_backward(G, fused)
            return
        for i in range(len(self.layers) - 1, -1, -1):
            layer, bufs, _ = self.layers[i]
            dZ = dA if fused else layer.g.backward(dA, bufs.Z, bufs.A, out=dA)
            fused = False
            if step:
                dA = _stepping_backward_layer(layer, dZ, layer.cache.A_prev, bufs, dot, self._subtract(i, dZ))
            elif joined is None:
                dA = _backward_layer(layer, dZ, layer.cache.A_prev, bufs, dot)
            else:
                dA = None if bufs.dA_prev is None else dot(layer.W.T, dZ, bufs.dA_prev)
                dot(dZ, self.A1s[i].T, joined[i][1])
            if l2_scale:
                layer.dW += l2_scale * layer.W
            if on_layer is not None:
                on_layer(layer, dA)

    def _subtract(self, i: int, dZ: np.ndarray) -> Callable | None:
        """The run's ``subtract`` where layer i + 1's step goes into its product (_subtracts: decided
        on the first pass that asks for these products, on its dZ[l] and A[l-1]), else None."""
        subtracts = self.subtracts.get(self.ws.products)
        if subtracts is None:
            subtracts = self.subtracts[self.ws.products] = [None] * len(self.layers)
        if subtracts[i] is None:
            layer = self.layers[i][0]
            subtracts[i] = _subtracts(layer, dZ, layer.cache.A_prev, self.ws.dot, self.ws.subtract)
        return self.ws.subtract if subtracts[i] else None

    def _bounded_backward(self, G: np.ndarray, fused: bool) -> None:
        """Full-batch descent (``ws.swap``): every dZ[l] and dA[l-1] first (l = L..1, each with the old
        W[l]), then the steps into W[l], b[l] themselves when :func:`_bounded` proves every result
        finite (``ws.stepped``); otherwise dW[l], db[l] for the swap's step (the last finite
        parameters kept), the same numbers either way."""
        ws, dA, dot = self.ws, G, self.ws.dot
        dZs: list = [None] * len(self.layers)
        for i in range(len(self.layers) - 1, -1, -1):
            layer, bufs, _ = self.layers[i]
            dZ = dZs[i] = dA if fused else layer.g.backward(dA, bufs.Z, bufs.A, out=dA)
            fused = False
            if bufs.dA_prev is not None:
                dA = dot(layer.W.T, dZ, bufs.dA_prev)
        A0 = self.layers[0][0].cache.A_prev
        if self.norm_A0 is None or self.norm_A0[0] is not A0:  # (once a run: X does not change)
            self.norm_A0 = (A0, _norm(A0))
        norms = [self.norm_A0[1]] + [_norm(layer.cache.A_prev) for layer, _, _ in self.layers[1:]]
        ws.stepped = _bounded(ws.swap.P, list(zip(dZs, norms)), A0.shape[1])
        for i, (layer, bufs, _) in enumerate(self.layers):
            if ws.stepped:
                _stepping_backward_layer(layer, dZs[i], layer.cache.A_prev, bufs, dot, self._subtract(i, dZs[i]),
                                         dA_prev=False)
            else:
                _backward_layer(layer, dZs[i], layer.cache.A_prev, bufs, dot, dA_prev=False)


class Workspace:
    """Reused buffers and the loop's folding of 1/m (and plain gradient descent's alpha) into dZ[L].

    ``cache=True`` (training) keeps each layer's cache; ``cache=False`` (inference) keeps none and
    applies g in place on the Z[l] buffer, so a pass holds one buffer per layer. ``scale`` is the
    factor the next :meth:`output_gradient` folds in besides 1/m: 1 (the gradients are the true
    dW[l], db[l]) or the learning rate alpha (they are alpha dW[l]). ``dot(A, B, out)`` computes
    the matrix products: np.dot, or the run's :class:`~deeplayers.threads.SplitProducts`.

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
        self._k, self._k_arr = 1.0, np.array(1.0)  # output_gradient's last scale / m, as an array
        self.dot: Callable = _dot
        self.products: object = None  # what computes the products now (the loop's BLAS threads and split)
        # plain gradient descent's step done in the backward pass, each W[l] -= dZ[l] A[l-1]^T where one
        # gemm gives its bits (_stepping_backward_layer): the training loop sets it for a batch
        self.step = self.stepped = False  # stepped: the last backward pass did the step
        self.subtract: Callable = _gemm.subtract_product  # W -= A B in one gemm (split as the products are)
        # full-batch descent's parameters (FlatParameters swap): with ``step``, each step goes into
        # W[l], b[l] themselves when a bound proves it finite (_Plan._bounded_backward), else the swap's
        self.swap: FlatParameters | None = None
        # a joined run (FlatParameters(joined=True)): A[0] comes as [A[0]; 1] (ones_row) and each
        # layer's [W b], [dW db] arrays are joined[l - 1] (None while the layers hold other arrays)
        self.ones_row = False
        self.joined: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._bufs: dict[tuple[Dense, int], _Buffers] = {}
        self._plans: dict[int, _Plan] = {}
        self.planned: _Plan | None = None  # the plan of the last forward pass, None when it went layer by layer

    def buffers(self, layer: Dense, m: int) -> _Buffers:
        """Layer l's buffers for batch size m, made on first use."""
        key = (layer, m)
        bufs = self._bufs.get(key)
        if bufs is None:
            if len(self._bufs) >= self.MAX_BUFFERS:  # many batch sizes: keep it bounded
                self._bufs.clear()
                self._plans.clear()  # (their buffers are gone from _bufs)
            bufs = self._bufs[key] = _Buffers(layer, m)
        return bufs

    def clear(self) -> None:
        """Drop every buffer, and the run's products function (np.dot again)."""
        self._bufs.clear()
        self._plans.clear()
        self.planned = None
        self.dot = _dot
        self.products = None
        self.step = self.stepped = False
        self.subtract, self.swap = _gemm.subtract_product, None
        self.ones_row, self.joined = False, None

    def forward_pass(self, layers: list[Dense], A0: np.ndarray) -> np.ndarray:
        """The training forward pass (no dropout) for every layer at once, by the plan for A0's m."""
        m = A0.shape[1]
        plan = self._plans.get(m)
        if plan is None or plan.layers[0][0] is not layers[0]:
            if len(self._plans) >= self.MAX_BUFFERS:
                self._plans.clear()
            plan = self._plans[m] = _Plan(self, layers, m)
        self.planned = plan
        return plan.forward(A0)

    # -- forward ---------------------------------------------------------------------------
    def forward(self, layer: Dense, A_prev: np.ndarray, keep_prob: float = 1.0,
                rng: np.random.Generator | None = None) -> np.ndarray:
        """Z[l] = W[l] A[l-1] + b[l] and A[l] = g(Z[l]) into reused buffers; the cache is kept
        (with ``cache=False``: :meth:`predict`)."""
        if not self.cache:
            return self.predict(layer, A_prev)
        self.planned = None  # layer by layer: the backward pass goes layer by layer too
        bufs = self._bufs.get((layer, A_prev.shape[1])) or self.buffers(layer, A_prev.shape[1])
        if bufs.A is None:
            bufs.A = np.empty_like(bufs.Z)
        A = _forward_layer(layer, A_prev, bufs, self.dot)
        D = None if rng is None or keep_prob >= 1.0 else dropout_mask(A.shape, keep_prob, rng, layer.dtype)
        layer.cache = _new_cache(Cache, (A_prev, bufs.Z, A, D))  # Cache(A_prev, Z, A, D), without its Python-level __new__
        return A if D is None else A * D

    def predict(self, layer: Dense, A_prev: np.ndarray) -> np.ndarray:
        """A[l] without a cache: g is applied in place on the Z[l] buffer (inference)."""
        Z = self.linear(layer, A_prev)
        return layer.g.forward(Z, out=Z)

    def linear(self, layer: Dense, A_prev: np.ndarray) -> np.ndarray:
        """Z[l] = W[l] A[l-1] + b[l] into the Z[l] buffer."""
        Z = self.dot(layer.W, A_prev, self.buffers(layer, A_prev.shape[1]).Z)
        Z += layer.b
        return Z

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
            if k != self._k or self._k_arr.dtype != G.dtype:
                # k as a 0-d array of G's type: the multiply skips resolving a Python float's type
                # (0.3 us a call), and k is rounded to that type either way
                self._k, self._k_arr = k, np.array(k, G.dtype)
            np.multiply(G, self._k_arr, out=G)
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
        m = cache.A_prev.shape[1]
        bufs = self._bufs.get((layer, m)) or self.buffers(layer, m)
        bufs.complete(layer, m)
        return _backward_layer(layer, dZ, cache.A_prev, bufs, self.dot), layer.dW, layer.db

    @staticmethod
    def descend(layer: Dense) -> None:
        """W[l] -= dW[l], b[l] -= db[l]: plain gradient descent's step when ``scale`` was alpha."""
        layer.W -= layer.dW
        layer.b -= layer.db


class FlatParameters:
    """W[l], b[l] of every layer as views into one array P, and dW[l], db[l] as views into one
    array G laid out alike, so plain gradient descent (alpha folded into the gradients) updates
    the whole network with P -= G: one ufunc call instead of two per layer (a small network's
    step is mostly such calls). Elementwise the same subtraction, so the same numbers to the bit.

    ``joined``: each layer's W[l], b[l] are the two parts of one array ``[W[l] b[l]]`` of shape
    (n[l], n[l-1] + 1), and dW[l], db[l] of ``[dW[l] db[l]]`` (:attr:`joined`), for plans that compute
    them in one product.

    ``swap`` (full-batch descent): a second array laid out as P holds the parameters as the last
    step began (:attr:`previous`); each step writes P - G into it and the two trade places, so
    the last finite parameters are at hand should the run diverge, with no copy per iteration
    (for the course's 12288-20-7-5-1 network a copy is 2 MB an iteration).

    The layers' own arrays are replaced by the views (their values copied in); the training loop
    puts each W[l], b[l] back in the array it started in when the run ends. A callback that binds
    a layer to new arrays breaks the link, which :meth:`intact` tells."""

    def __init__(self, layers: list[Dense], joined: bool = False, swap: bool = False) -> None:
        dtype = layers[0].W.dtype
        align = max(1, 64 // dtype.itemsize)  # each array starts on a 64-byte boundary, as BLAS likes
        shapes = [(layer.n, layer.n_prev + 1) for layer in layers] if joined else \
            [s for layer in layers for s in (layer.W.shape, layer.b.shape)]
        size = sum(-(-(r * c) // align) * align for r, c in shapes)
        if swap and joined:
            raise ValueError("FlatParameters: joined parameters (mini-batches) do not swap")
        self.swap = swap
        # P, G and (swap) the second array of parameters (the padding stays 0 - 0)
        arrays = [np.zeros(size, dtype) for _ in range(3 if swap else 2)]
        self.P, self.G = arrays[0], arrays[1]
        start = 0

        def place(shape: tuple[int, int]) -> list[np.ndarray]:
            """The next array of this shape in each of P, G (and the second array of parameters)."""
            nonlocal start
            size = shape[0] * shape[1]
            views = [buf[start:start + size].reshape(shape) for buf in arrays]
            start += -(-size // align) * align
            return views

        self.layers = layers
        #: joined: each layer's [W[l] b[l]] and [dW[l] db[l]] (n[l], n[l-1] + 1), W[l] and b[l] their parts
        self.joined: list[tuple[np.ndarray, np.ndarray]] | None = [] if joined else None
        twins = []  # swap: each layer's W[l], b[l] in the second array
        for layer in layers:
            if self.joined is not None:
                (Wb, dWb), k = place((layer.n, layer.n_prev + 1)), layer.n_prev
                Wb[:, :k], Wb[:, k:] = layer.W, layer.b
                layer.W, layer.b, layer.dW, layer.db = Wb[:, :k], Wb[:, k:], dWb[:, :k], dWb[:, k:]
                self.joined.append((Wb, dWb))
                continue
            (W, dW, *W2), (b, db, *b2) = place(layer.W.shape), place(layer.b.shape)
            np.copyto(W, layer.W)
            np.copyto(b, layer.b)
            layer.W, layer.dW, layer.b, layer.db = W, dW, b, db
            twins.append((*W2, *b2))
        self.views = [(layer.W, layer.b, layer.dW, layer.db) for layer in layers]
        if swap:  # the second array starts as a copy: the parameters as the run began
            self._P = arrays[2]
            np.copyto(self._P, self.P)
            self._views = [(W2, b2, dW, db) for (W2, b2), (_, _, dW, db) in zip(twins, self.views)]

    @property
    def previous(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """swap: each layer's (W[l], b[l]) as the last step began (before the first: as the run
        began); None otherwise."""
        return [(W, b) for W, b, _, _ in self._views] if self.swap else None

    @staticmethod
    def applies(layers: list[Dense]) -> bool:
        """Every layer's parameters and gradients of one dtype (a network's always are)."""
        dtype = layers[0].W.dtype
        return all(a.dtype == dtype for layer in layers for a in (layer.W, layer.b, layer.dW, layer.db))

    def intact(self) -> bool:
        """Each layer still holds the views (no callback bound it to other arrays)."""
        return all(layer.W is W and layer.b is b and layer.dW is dW and layer.db is db
                   for layer, (W, b, dW, db) in zip(self.layers, self.views))

    def step(self) -> None:
        """W[l] -= dW[l], b[l] -= db[l] for every l at once (swap: W[l] - dW[l], b[l] - db[l] into
        the second array, which then holds the parameters, and P the previous ones)."""
        if not self.swap:
            np.subtract(self.P, self.G, out=self.P)
            return
        np.subtract(self.P, self.G, out=self._P)
        self.P, self._P = self._P, self.P
        self.views, self._views = self._views, self.views
        for layer, (W, b, _, _) in zip(self.layers, self.views):
            layer.W, layer.b = W, b

    def release(self) -> None:
        """The gradients out of G into arrays of their own (W[l], b[l] go back in their own arrays
        by the training loop's :meth:`~deeplayers.training.divergence._Watch.put_arrays_back`)."""
        for layer in self.layers:
            layer.dW, layer.db = layer.dW.copy(), layer.db.copy()
