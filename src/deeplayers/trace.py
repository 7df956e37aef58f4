"""A shape trace: one forward (and backward) pass, every array with its shape and the equation that made it.

The trace runs the engine's own passes (the layers' ``Dense.forward`` and the network's backward
pass, which reports each layer as it finishes); it only reads shapes off the arrays they produce.
Where the dimensions stop agreeing, the trace ends with that line, marked, in the notation::

    Z[1] = W[1] A[0] + b[1]    (4, 3)(5, 10) + (4, 1)   X  W[1] has n[0] = 3 columns, A[0] has 5 rows
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DataError, ShapeError
from .layers import Dense
from .shapes import as_float_array, check_A_prev, check_X

__all__ = ["Trace", "TraceLine", "trace"]

BAD = "<-- shapes disagree"


def _s(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass
class TraceLine:
    """One array of the trace: ``name = equation``, the shapes that met, the result's shape."""

    step: str  # "forward", "cost" or "backward"
    name: str  # "Z[1]"
    equation: str  # "W[1] A[0] + b[1]"
    shapes: str  # "(4, 5) = (4, 3)(3, 5) + (4, 1)"
    shape: tuple[int, ...] | None  # the array's shape; None on the line that failed
    error: str | None = None


@dataclass
class Trace:
    """The trace of one pass; ``str()`` is the table, ``ok`` says whether every shape agreed.

    ``shapes`` maps each array's name (``"Z[1]"``, ``"dW[2]"``, ...) to its shape; ``error`` is the
    exception the engine raised where the dimensions stopped agreeing (None when they all did).
    """

    lines: list[TraceLine] = field(default_factory=list)
    error: Exception | None = None
    m: int | None = None
    cost: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {ln.name: ln.shape for ln in self.lines if ln.shape is not None}

    @property
    def failed_at(self) -> TraceLine | None:
        """The line where the dimensions stopped agreeing."""
        return next((ln for ln in self.lines if ln.error is not None), None)

    def __str__(self) -> str:
        left = [f"{ln.name} = {ln.equation}" for ln in self.lines]
        width = max((len(s) for s in left), default=0)
        out: list[str] = []
        step = None
        for ln, lhs in zip(self.lines, left):
            if ln.step != step:
                step = ln.step
                out.append(step)
            row = f"  {lhs.ljust(width)}   {ln.shapes}"
            if ln.error is not None:
                row += f"   {BAD}"
            out.append(row.rstrip())
        if self.error is not None:
            out.append(f"stopped: {self.error}")
        else:
            m = f" for m = {self.m}" if self.m is not None else ""
            out.append(f"every shape agrees{m}")
        return "\n".join(out)

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"stops at {self.failed_at.name if self.failed_at else '?'}"
        return f"<Trace of {len(self.shapes)} arrays: {state}>"


def _loose_layer(params: dict[str, np.ndarray], l: int, L: int, hidden: Any, output: str, A_prev: np.ndarray) -> Dense:
    """Layer l built from W[l]'s own shape; raises ShapeError where A[l-1] or b[l] does not fit it."""
    W, b = np.asarray(params[f"W{l}"]), np.asarray(params[f"b{l}"])
    if W.ndim != 2:
        raise ShapeError(f"W[{l}] must be a matrix (n[{l}], n[{l - 1}]), got shape {W.shape}")
    g = output if l == L else (hidden if isinstance(hidden, str) else list(hidden)[l - 1])
    layer = Dense(W.shape[1], W.shape[0], g, l=l, dtype=np.float64)
    layer.W, layer.b = W, b  # for the failure line; checked next
    _check_W_fits(W, b, l, A_prev)
    check_A_prev(A_prev, l, W.shape[1])
    layer.set_parameters(W, b, copy=False)
    return layer


def _n_from_b(b: np.ndarray) -> int | None:
    """n[l] as b[l] says it: a column (n, 1) or a vector (n,); None when b[l] says nothing clear."""
    if b.ndim == 2 and b.shape[1] == 1 or b.ndim == 1:
        return int(b.shape[0])
    return None


def _check_W_fits(W: np.ndarray, b: np.ndarray, l: int, A_prev: np.ndarray) -> None:
    """W[l]'s columns must be n[l-1], the rows of A[l-1]; when they are not, W[l] is at fault (not A[l-1])
    for l >= 2, where W[l-1] made A[l-1], and for l = 1 when W[1].T fits both X and b[1]."""
    if getattr(A_prev, "ndim", 0) != 2 or A_prev.shape[0] == W.shape[1]:
        return
    n_prev, n_l = int(A_prev.shape[0]), _n_from_b(b)
    transposed = W.shape[0] == n_prev and n_l in (None, W.shape[1])
    if l == 1 and not (transposed and n_l is not None):
        return  # X or W[1]: nothing tells which; check_A_prev names X's shape
    rows = "?" if n_l is None else str(n_l)
    made = f" (from W[{l - 1}])" if l > 1 else ""
    hint = f"; it looks stored transposed: did you mean W{l}.T?" if transposed else ""
    raise ShapeError(f"W[{l}] must be (n[{l}], n[{l - 1}]) = ({rows}, {n_prev}) but is {_s(W.shape)}: A[{l - 1}] "
                     f"has n[{l - 1}] = {n_prev} rows{made}{hint}")


def trace(net: Any, X: Any, Y: Any = None, *, show: bool = True) -> Trace:
    """Trace one forward pass (and with ``Y`` the cost and the backward pass) through the Network ``net``.

    Prints the table unless ``show`` is False and returns the :class:`Trace`. The engine's passes
    compute every array; nothing is trained (W[l], b[l] and the layers' dW[l], db[l] stay as they
    were). For the course's parameters dict, see :func:`deeplayers.course.trace`.
    """
    if not (hasattr(net, "layers") and hasattr(net, "_backward")):
        raise TypeError(f"trace needs a deeplayers Network, got {type(net).__name__}; for the course's parameters "
                        "dict use deeplayers.course.trace(X, parameters, Y)")
    return _trace(net, None, X, Y, "relu", "sigmoid", show)


def trace_parameters(parameters: dict[str, Any], X: Any, Y: Any = None, *, network: Any = None,
                     hidden: str | Sequence[str] = "relu", output: str = "sigmoid", show: bool = True) -> Trace:
    """The trace of the course's parameters dict: through ``network`` (the Network around them, when
    their W[l] chain), else layer by layer, each layer built from its own W[l], up to the first
    product whose dimensions disagree. :func:`deeplayers.course.trace` is the way in."""
    return _trace(network, parameters, X, Y, hidden, output, show)


def _trace(net: Any, params: dict[str, Any] | None, X: Any, Y: Any, hidden: Any, output: str, show: bool) -> Trace:
    L = net.L if net is not None else sum(1 for k in params if k.startswith("W"))
    tr = Trace()
    A = as_float_array(X, "X", net.dtype if net is not None else np.dtype(np.float64))
    tr.lines.append(TraceLine("forward", "A[0]", "X", _s(A.shape), A.shape))
    if A.ndim == 2:
        tr.m = A.shape[1]
    if net is not None:
        try:
            check_X(A, net.layer_dims[0])
        except (ShapeError, DataError) as exc:
            return _done(_fail_linear(tr, net.layers[0], A, exc), show)
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(1, L + 1):
            try:
                if net is not None:
                    layer = net.layers[l - 1]
                else:
                    layer = _loose_layer(params, l, L, hidden, output, A)
                out = layer.forward(A)
            except ShapeError as exc:
                bad = layer if net is not None else _Shapes(params, l)
                return _done(_fail_linear(tr, bad, A, exc), show)
            A_prev, Z, A_l = layer.cache.A_prev, layer.cache.Z, layer.cache.A
            tr.lines.append(TraceLine("forward", f"Z[{l}]", f"W[{l}] A[{l - 1}] + b[{l}]",
                                      f"{_s(Z.shape)} = {_s(layer.W.shape)}{_s(A_prev.shape)} + {_s(layer.b.shape)}",
                                      Z.shape))
            tr.lines.append(TraceLine("forward", f"A[{l}]", f"{layer.g.name}(Z[{l}])", _s(A_l.shape), A_l.shape))
            A = out
        if Y is None or net is None:
            return _done(tr, show)
        _trace_backward(tr, net, A, Y)
    return _done(tr, show)


class _Shapes:
    """W[l] and b[l] of a parameters dict, for the line that reports them."""

    def __init__(self, params: dict[str, np.ndarray], l: int) -> None:
        self.l = l
        self.W, self.b = np.asarray(params[f"W{l}"]), np.asarray(params[f"b{l}"])


def _fail_linear(tr: Trace, layer: Dense, A_prev: np.ndarray, exc: Exception) -> Trace:
    l = layer.l
    W, b = layer.W, layer.b
    if A_prev.ndim != 2:
        why = f"A[{l - 1}] must be a matrix (n[{l - 1}], m), it has {A_prev.ndim} dimension(s)"
    elif W.ndim == 2 and A_prev.shape[0] != W.shape[1]:
        why = f"W[{l}] has {W.shape[1]} columns, A[{l - 1}] has {A_prev.shape[0]} rows"
    else:
        why = f"b[{l}] must be a column (n[{l}], 1) = ({W.shape[0]}, 1) to add to W[{l}] A[{l - 1}]"
    tr.lines.append(TraceLine("forward", f"Z[{l}]", f"W[{l}] A[{l - 1}] + b[{l}]",
                              f"{_s(W.shape)}{_s(A_prev.shape)} + {_s(getattr(b, 'shape', ()))}: {why}", None, str(exc)))
    tr.error = exc
    return tr


def _trace_backward(tr: Trace, net: Any, AL: np.ndarray, Y: Any) -> None:
    L = net.L
    m = AL.shape[1]
    Yarr = as_float_array(Y, "Y", net.dtype)
    try:
        Yarr = net._as_Y(Yarr, m)
    except ShapeError as exc:
        tr.lines.append(TraceLine("cost", "J", f"{net.loss.name}(A[{L}], Y)",
                                  f"A[{L}] {_s(AL.shape)} against Y {_s(Yarr.shape)}", None, str(exc)))
        tr.error = exc
        return
    tr.cost = float(net.loss.cost(AL, Yarr))
    tr.lines.append(TraceLine("cost", "J", f"{net.loss.name}(A[{L}], Y)",
                              f"() from {_s(AL.shape)}, {_s(Yarr.shape)}: J = {tr.cost:.6g}", ()))
    out = net.layers[-1]
    fused = net.loss.fused_with == out.g.name
    if not fused:
        tr.lines.append(TraceLine("backward", f"dA[{L}]", f"dJ/dA[{L}] ({net.loss.name})",
                                  f"{_s(AL.shape)} from {_s(AL.shape)}, {_s(Yarr.shape)}", AL.shape))
    dA: list[np.ndarray | None] = [None]

    def report(layer: Dense, dA_prev: np.ndarray | None) -> None:
        l = layer.l
        A_prev, Z = layer.cache.A_prev, layer.cache.Z
        dZ_shape = np.broadcast_shapes(AL.shape, Yarr.shape) if (l == L and fused) else \
            np.broadcast_shapes(dA[0].shape if dA[0] is not None else AL.shape, Z.shape)
        if l == L and fused:
            tr.lines.append(TraceLine("backward", f"dZ[{l}]", f"A[{l}] - Y",
                                      f"{_s(dZ_shape)} = {_s(AL.shape)} - {_s(Yarr.shape)}", dZ_shape))
        else:
            dA_shape = dA[0].shape if dA[0] is not None else AL.shape
            tr.lines.append(TraceLine("backward", f"dZ[{l}]", f"dA[{l}] * {layer.g.name}'(Z[{l}])",
                                      f"{_s(dZ_shape)} = {_s(dA_shape)} * {_s(Z.shape)}", dZ_shape))
        tr.lines.append(TraceLine("backward", f"dW[{l}]", f"(1/m) dZ[{l}] A[{l - 1}]^T",
                                  f"{_s(layer.dW.shape)} = {_s(dZ_shape)}{_s(A_prev.T.shape)}", layer.dW.shape))
        tr.lines.append(TraceLine("backward", f"db[{l}]", f"(1/m) sum(dZ[{l}], axis=1, keepdims=True)",
                                  f"{_s(layer.db.shape)}", layer.db.shape))
        if dA_prev is not None:
            tr.lines.append(TraceLine("backward", f"dA[{l - 1}]", f"W[{l}]^T dZ[{l}]",
                                      f"{_s(dA_prev.shape)} = {_s(layer.W.T.shape)}{_s(dZ_shape)}", dA_prev.shape))
        dA[0] = dA_prev

    # keep the layers' gradients as they were: the trace changes nothing a training run reads
    saved = [(layer.dW.copy(), layer.db.copy()) for layer in net.layers]
    try:
        net._backward(Yarr, on_layer=report)
    finally:
        for layer, (dW, db) in zip(net.layers, saved):
            np.copyto(layer.dW, dW)
            np.copyto(layer.db, db)


def _done(tr: Trace, show: bool) -> Trace:
    if show:
        print(tr)
    return tr
