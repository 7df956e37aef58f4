"""The course's own functions, with its names, signatures and return structures (public as
:mod:`deeplayers.course`, which adds ``check``; :mod:`deeplayers.course_check` checks a learner's
functions against these).

A learner's notebook runs unchanged against these; each is a thin face over the engine
(:class:`~deeplayers.layers.Dense`, :class:`~deeplayers.network.Network`, the optimizers), so the
math lives in one place. Caches have the course's format: ``linear_cache = (A_prev, W, b)`` and
``cache = (linear_cache, Z)``; hand-built ones are accepted too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError, DataError, ShapeError
from .initializers import initialize
from .layers import Cache, Dense
from .layers import linear_backward as _linear_backward
from .layers import linear_forward as _linear_forward
from .losses import BinaryCrossEntropy
from .network import Network
from .shapes import as_float_array, check_A_prev, check_b, check_grad, check_layer_dims, check_W, check_Y
from .workspace import Workspace

__all__ = [
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "linear_activation_forward",
    "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "predict", "two_layer_model", "L_layer_model", "trace",
]

if TYPE_CHECKING:
    from .trace import Trace

Params = dict[str, np.ndarray]


def initialize_parameters(n_x: int, n_h: int, n_y: int, seed: int = 1, method: str = "small") -> Params:
    """W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1); W = randn * 0.01 after seed(1)."""
    (W1, b1), (W2, b2) = initialize(check_layer_dims([n_x, n_h, n_y]), method, seed)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims: list[int], seed: int = 1, method: str = "course") -> Params:
    """W[l] = randn(n[l], n[l-1]) / sqrt(n[l-1]) after seed(1), b[l] = 0, for l = 1..L."""
    params: Params = {}
    for l, (W, b) in enumerate(initialize(check_layer_dims(layer_dims), method, seed), start=1):
        params[f"W{l}"], params[f"b{l}"] = W, b
    return params


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype NumPy's own arithmetic on these arrays gives (float64 unless all are float32/16)."""
    dtype = np.result_type(*arrays)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _describe(x: object) -> str:
    """What a wrong cache is, for messages: None, a tuple of 2 items, an int ..."""
    if x is None:
        return "None"
    name = type(x).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name}" + (f" of {len(x)} items" if isinstance(x, (tuple, list)) else "")


def _check_linear(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, l: int | str = "l") -> None:
    check_W(W, l, None, None)
    n, n_prev = W.shape
    check_b(b, l, n)
    check_A_prev(A_prev, l, n_prev)


def linear_forward(A: Any, W: Any, b: Any) -> tuple[np.ndarray, tuple]:
    """Z = W A + b, shape (n[l], m); cache = (A, W, b)."""
    A, W, b = (as_float_array(a, n) for a, n in ((A, "A"), (W, "W"), (b, "b")))
    _check_linear(A, W, b)
    return _linear_forward(A, W, b), (A, W, b)


def _layer(W: np.ndarray, b: np.ndarray, activation: str, l: int | str = "l") -> Dense:
    layer = Dense(W.shape[1], W.shape[0], activation, l=l if isinstance(l, int) else 1, dtype=W.dtype)
    layer.l = l  # keeps "l" in messages when the index is unknown
    layer.set_parameters(W, b, copy=False)
    return layer


def linear_activation_forward(A_prev: Any, W: Any, b: Any, activation: str) -> tuple[np.ndarray, tuple]:
    """A = g(W A_prev + b); cache = ((A_prev, W, b), Z)."""
    A_prev, W, b = (as_float_array(a, n) for a, n in ((A_prev, "A_prev"), (W, "W"), (b, "b")))
    _check_linear(A_prev, W, b)
    layer = _layer(W, b, activation)
    A = layer.forward(A_prev)
    return A, ((A_prev, W, b), layer.cache.Z)


def L_model_forward(X: Any, parameters: Params) -> tuple[np.ndarray, list[tuple]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID; returns A[L] and the L caches."""
    X = as_float_array(X, "X")
    dtype = _float_dtype(X, *(np.asarray(v) for k, v in parameters.items() if k[:1] in "Wb"))
    net = Network.from_parameters(parameters, "relu", "sigmoid", copy=False, dtype=dtype)
    AL = net.forward(X)
    caches = [((layer.cache.A_prev, layer.W, layer.b), layer.cache.Z) for layer in net.layers]
    return AL, caches


def _check_labels(Y: np.ndarray, name: str = "Y", use: str = "the cross-entropy cost", binary: bool = False) -> None:
    """Labels in [0, 1], as the cross-entropy needs them; ``binary``: exactly 0 or 1, as an accuracy needs."""
    if not np.isfinite(Y).all():  # nanmin would report the finite labels only
        at = ", ".join(str(int(i)) for i in np.argwhere(~np.isfinite(Y))[0])
        raise DataError(f"{name} contains NaN or infinity (first at [{at}]); labels are 0 (non-cat) or 1 (cat)")
    if Y.min() < 0 or Y.max() > 1:
        raise DataError(f"{name} must hold values in [0, 1] for {use} (found {Y.min():g} .. "
                        f"{Y.max():g}); labels are 0 (non-cat) or 1 (cat)")
    off = np.argwhere((Y != 0) & (Y != 1))
    if binary and off.size:  # a 0/1 prediction never equals a label of 0.5: the accuracy would be silently low
        at = tuple(int(i) for i in off[0])
        raise DataError(f"{name} must hold the labels 0 (non-cat) or 1 (cat) for {use}, found {Y[at]:g} at "
                        f"[{', '.join(map(str, at))}]")


def _check_finite_labels(AL: np.ndarray, Y: np.ndarray, fn: str) -> None:
    if not np.isfinite(AL).all():
        bad = ", ".join(str(int(i)) for i in np.argwhere(~np.isfinite(AL))[0])
        raise DataError(f"AL contains NaN or infinity (first at [{bad}]); {fn} needs the sigmoid output A[L]")
    _check_labels(Y)


def _check_probabilities(AL: np.ndarray, Y: np.ndarray, fn: str) -> None:
    _check_finite_labels(AL, Y, fn)
    if AL.min() < 0 or AL.max() > 1:  # log of a negative number: the course's formula gives NaN
        raise DataError(f"AL must hold probabilities in [0, 1] (the sigmoid output A[L]) for {fn}, found "
                        f"{AL.min():g} .. {AL.max():g}")


def compute_cost(AL: Any, Y: Any) -> float:
    """Cross-entropy J = -(1/m) sum(Y log(AL) + (1 - Y) log(1 - AL)); AL and Y of shape (1, m).

    An AL of exactly 0 where Y > 0 (or exactly 1 where Y < 1) makes the cost infinite: ``inf`` is
    returned, as the course's formula gives. Where Y agrees with such an AL the term is 0 (the
    limit of y log y), where the course's formula would give NaN (0 * log 0).
    """
    AL = as_float_array(AL, "AL")
    Y = as_float_array(Y, "Y")
    if AL.ndim == 1:
        AL = AL.reshape(1, -1)
    check_Y(Y, AL.shape[0], AL.shape[1])
    if AL.shape[1] == 0:
        raise DataError("compute_cost got no samples: AL and Y are (1, 0); the cost averages over m >= 1 columns")
    _check_probabilities(AL, Y, "compute_cost")
    if ((AL == 0) & (Y > 0)).any() or ((AL == 1) & (Y < 1)).any():
        return float("inf")  # log(0) with a nonzero weight
    return BinaryCrossEntropy().cost(AL, Y)


def _unpack(cache: Any, where: str = "cache") -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """((A_prev, W, b), Z) as arrays of one float dtype, or a ShapeError saying what the cache holds."""
    try:
        linear_cache, Z = cache
        A_prev, W, b = linear_cache
    except (TypeError, ValueError):
        raise ShapeError(f"{where} must be ((A_prev, W, b), Z), as linear_activation_forward returns; "
                         f"got {_describe(cache)}") from None
    arrays = [as_float_array(a, n) for a, n in ((A_prev, "A_prev"), (W, "W"), (b, "b"), (Z, "Z"))]
    dtype = _float_dtype(*arrays)
    A_prev, W, b, Z = (a.astype(dtype, copy=False) for a in arrays)
    return (A_prev, W, b), Z


def linear_backward(dZ: Any, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dA_prev = W^T dZ, dW = (1/m) dZ A_prev^T, db = (1/m) sum(dZ, axis=1, keepdims=True)."""
    try:
        A_prev, W, b = cache
    except (TypeError, ValueError):
        raise ShapeError(f"cache must be (A_prev, W, b), as linear_forward returns; got {_describe(cache)}") from None
    A_prev, W, b = (as_float_array(a, n) for a, n in ((A_prev, "A_prev"), (W, "W"), (b, "b")))
    _check_linear(A_prev, W, b)
    dZ = as_float_array(dZ, "dZ")
    check_grad(dZ, "dZ[l]", (W.shape[0], A_prev.shape[1]), "(n[l], m)")
    return _linear_backward(dZ, A_prev, W)


def _activation_backward(dA: Any, cache: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                         activation: str, l: int | str = "l") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dZ[l] = dA[l] * g'(Z[l]) with Z[l] from the cache, then the linear step: the engine's layer l."""
    (A_prev, W, b), Z = cache
    _check_linear(A_prev, W, b, l)
    check_grad(Z, f"Z[{l}]", (W.shape[0], A_prev.shape[1]), f"(n[{l}], m)")
    dA = as_float_array(dA, "dA")
    dtype = _float_dtype(A_prev, dA)
    layer = _layer(W.astype(dtype, copy=False), b.astype(dtype, copy=False), activation, l)
    with np.errstate(over="ignore"):  # a saturated sigmoid overflows exp() to inf on purpose
        A = layer.g.forward(Z.astype(dtype, copy=True))  # g(Z[l]) for the rules that read A[l]
    layer.cache = Cache(A_prev.astype(dtype, copy=False), Z.astype(dtype, copy=False), A, None)
    return layer.backward(dA.astype(dtype, copy=False))


def linear_activation_backward(dA: Any, cache: tuple, activation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dZ = dA * g'(Z) with Z from the cache (not the cached A), then :func:`linear_backward`."""
    return _activation_backward(dA, _unpack(cache), activation)


def L_model_backward(AL: Any, Y: Any, caches: list[tuple]) -> dict[str, np.ndarray]:
    """The course's chain: dAL = -(Y/AL - (1-Y)/(1-AL)), the sigmoid layer L, then the relu layers.

    Gradients ``dA{l-1}``, ``dW{l}``, ``db{l}`` for l = L..1. Each layer's derivative comes from
    the Z[l] in its cache, so AL need not be sigmoid(Z[L]) (the training loop, where it is, uses the
    fused dZ[L] = A[L] - Y instead). AL must not be exactly 0 or 1: there dAL
    divides by zero. Any other AL is taken as is, as the course's formula does (its own test case
    draws AL with randn).
    """
    if not isinstance(caches, (list, tuple)) or len(caches) == 0:
        raise ShapeError(f"caches must be the list of L caches that L_model_forward returns, got {_describe(caches)}")
    unpacked = [_unpack(c, f"caches[{i}]") for i, c in enumerate(caches)]
    L = len(unpacked)
    m = None
    for l, ((A_prev, W, b), Z) in enumerate(unpacked, start=1):
        _check_linear(A_prev, W, b, l)
        if l > 1 and W.shape[1] != unpacked[l - 2][0][1].shape[0]:
            raise ShapeError(f"caches disagree: W[{l}] in caches[{l - 1}] is {W.shape}, so n[{l - 1}] = {W.shape[1]}, "
                             f"but W[{l - 1}] in caches[{l - 2}] is {unpacked[l - 2][0][1].shape}")
        m = A_prev.shape[1] if m is None else m
        if A_prev.shape[1] != m:
            raise ShapeError(f"caches disagree: A[{l - 1}] in caches[{l - 1}] has m = {A_prev.shape[1]} columns, "
                             f"A[0] in caches[0] has m = {m}")
        check_grad(Z, f"Z[{l}]", (W.shape[0], m), f"(n[{l}], m)")
    nL = unpacked[-1][0][1].shape[0]
    AL = as_float_array(AL, "AL")
    if AL.shape != (nL, m):
        raise ShapeError(f"AL must be (n[{L}], m) = ({nL}, {m}) like Z[{L}] in the last cache, got {AL.shape}")
    Y = as_float_array(Y, "Y")
    if Y.ndim == 1 and Y.size == AL.size:
        Y = Y.reshape(AL.shape)  # the course's Y.reshape(AL.shape)
    check_Y(Y, nL, m, L)
    # any AL but 0 and 1: the course's own test case draws AL with randn, values above 1 included
    _check_finite_labels(AL, Y, "L_model_backward")
    if (AL == 0).any() or (AL == 1).any():
        at = ", ".join(str(int(i)) for i in np.argwhere((AL == 0) | (AL == 1))[0])
        raise DataError(f"AL holds an exact 0 or 1 (first at [{at}]): dAL = -(Y/AL - (1-Y)/(1-AL)) divides by zero "
                        "there; a saturated output needs the fused dZ[L] = A[L] - Y of Network.backward")
    dAL = BinaryCrossEntropy.dAL_exact(AL, Y)
    return _backward_chain(dAL, unpacked, ["relu"] * (L - 1) + ["sigmoid"])


def _backward_chain(dA: np.ndarray, unpacked: list, activations: list[str]) -> dict[str, np.ndarray]:
    """From dA[L] down to layer 1 through the engine's layers: grads dA{l-1}, dW{l}, db{l}."""
    grads: dict[str, np.ndarray] = {}
    for l in range(len(unpacked), 0, -1):
        dA, grads[f"dW{l}"], grads[f"db{l}"] = _activation_backward(dA, unpacked[l - 1], activations[l - 1], l)
        grads[f"dA{l - 1}"] = dA
    return grads


def update_parameters(parameters: Params, grads: dict[str, np.ndarray], learning_rate: float) -> Params:
    """W[l] = W[l] - alpha dW[l], b[l] = b[l] - alpha db[l]; returns a new dict (``parameters`` is untouched).

    Any finite ``learning_rate`` is applied as the formula reads (0 leaves the parameters as they are).
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.integer, np.floating)) \
            or not np.isfinite(learning_rate):
        raise ConfigError(f"learning_rate must be a finite number, got {learning_rate!r}")
    L = sum(1 for k in parameters if k.startswith("W"))
    missing = [k for l in range(1, L + 1) for k in (f"dW{l}", f"db{l}") if k not in grads]
    if missing:
        want = "dW1, db1" + (f", ..., dW{L}, db{L}" if L > 1 else "")
        raise DataError(f"grads is missing {', '.join(missing)}: it must hold {want} (as L_model_backward returns)")
    g = {k: as_float_array(grads[k], k) for l in range(1, L + 1) for k in (f"dW{l}", f"db{l}")}
    dtype = _float_dtype(*(np.asarray(v) for k, v in parameters.items() if k[:1] in "Wb"), *g.values())
    net = Network.from_parameters(parameters, copy=True, dtype=dtype)
    for layer in net.layers:
        dW, db = g[f"dW{layer.l}"], g[f"db{layer.l}"]
        check_grad(dW, f"dW[{layer.l}]", layer.W.shape, f"(n[{layer.l}], n[{layer.l - 1}])")
        check_grad(db, f"db[{layer.l}]", layer.b.shape, f"(n[{layer.l}], 1)")
        layer.dW = (learning_rate * dW).astype(dtype, copy=False)  # alpha dW[l], folded as the training loop does
        layer.db = (learning_rate * db).astype(dtype, copy=False)
        Workspace.descend(layer)  # W[l] -= alpha dW[l]
    return dict(net.parameters)  # the course's plain dict


def predict(X: Any, y: Any, parameters: Params) -> np.ndarray:
    """0/1 predictions (1, m) as floats, as the course's; prints the accuracy against y (1, m)."""
    X = as_float_array(X, "X")
    dtype = _float_dtype(X, *(np.asarray(v) for k, v in parameters.items() if k[:1] in "Wb"))
    net = Network.from_parameters(parameters, "relu", "sigmoid", copy=False, dtype=dtype)
    p = net.predict(X).astype(np.float64)
    m = p.shape[1]
    y = as_float_array(y, "y")
    check_Y(y, p.shape[0], m)
    _check_labels(y, "y", "the accuracy", binary=True)
    print("Accuracy: " + str(np.sum((p == y) / m)))
    return p


def _train(layers_dims: Any, init: str, seed: int, X: Any, Y: Any, learning_rate: float,
           num_iterations: int, print_cost: bool, threads: int | None) -> tuple[Params, list[float]]:
    net = Network(layers_dims, hidden="relu", output="sigmoid", init=init, seed=seed)
    history = net.fit(X, Y, learning_rate, num_iterations, print_cost, threads=threads)
    return {k: v.copy() for k, v in net.parameters.items()}, history.cost[::100]


def two_layer_model(X: Any, Y: Any, layers_dims: Any, learning_rate: float = 0.0075,
                    num_iterations: int = 3000, print_cost: bool = False, *, seed: int = 1,
                    method: str = "small", threads: int | None = None) -> tuple[Params, list[float]]:
    """LINEAR -> RELU -> LINEAR -> SIGMOID, trained by gradient descent; costs every 100 iterations.
    ``threads``: BLAS threads, as :meth:`Network.fit`'s (None: the automatic choice)."""
    try:
        sizes = len(layers_dims)
    except TypeError:
        sizes = 3  # not a list at all: _train's layer_dims check says so
    if sizes != 3:  # the course unpacks (n_x, n_h, n_y): more sizes would silently train a deeper network
        raise ConfigError(f"two_layer_model takes layers_dims = (n_x, n_h, n_y), 3 sizes, got {sizes}: "
                          f"{list(layers_dims)}; L_layer_model(X, Y, layers_dims) trains [n0, n1, ..., nL] of any depth")
    return _train(layers_dims, method, seed, X, Y, learning_rate, num_iterations, print_cost, threads)


def L_layer_model(X: Any, Y: Any, layers_dims: Any, learning_rate: float = 0.0075,
                  num_iterations: int = 3000, print_cost: bool = False, *, seed: int = 1,
                  method: str = "course", threads: int | None = None) -> tuple[Params, list[float]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID by gradient descent; costs every 100 iterations.
    ``threads``: BLAS threads, as :meth:`Network.fit`'s (None: the automatic choice)."""
    return _train(layers_dims, method, seed, X, Y, learning_rate, num_iterations, print_cost, threads)


def trace(X: Any, parameters: Params, Y: Any = None, *, hidden: str | list[str] = "relu", output: str = "sigmoid",
          show: bool = True) -> Trace:
    """The shape trace of the pass ``L_model_forward(X, parameters)`` (and with Y, the cost and
    ``L_model_backward``) makes: every array with its shape and the equation that made it, printed
    unless ``show`` is False; see :mod:`deeplayers.trace`.

    Parameters whose W[l] do not chain (W1 reused in layer 2, a W[l] stored transposed, a 1-D b[l])
    are traced layer by layer, up to the line where the dimensions stop agreeing.
    """
    from .trace import trace_parameters

    try:
        net = Network.from_parameters(parameters, hidden=hidden, output=output, copy=False)
    except ShapeError:
        net = None
    return trace_parameters(parameters, X, Y, network=net, hidden=hidden, output=output, show=show)
