"""The course's own functions, with its names, signatures and return structures.

A learner's notebook runs unchanged against these; each is a thin face over the engine
(:class:`~deeplayers.layers.Dense`, :class:`~deeplayers.network.Network`, the optimizers), so the
math lives in one place. Caches have the course's format: ``linear_cache = (A_prev, W, b)`` and
``cache = (linear_cache, Z)``; hand-built ones are accepted too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DataError
from .initializers import initialize
from .layers import Dense
from .layers import linear_backward as _linear_backward
from .layers import linear_forward as _linear_forward
from .losses import BinaryCrossEntropy
from .network import Network
from .optimizers import GradientDescent
from .shapes import as_float_array, check_A_prev, check_b, check_grad, check_W, check_Y

__all__ = [
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "linear_activation_forward",
    "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "predict", "two_layer_model", "L_layer_model",
]

Params = dict[str, np.ndarray]


def initialize_parameters(n_x: int, n_h: int, n_y: int, seed: int = 1, method: str = "small") -> Params:
    """W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1); W = randn * 0.01 after seed(1)."""
    (W1, b1), (W2, b2) = initialize([n_x, n_h, n_y], method, seed)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims: list[int], seed: int = 1, method: str = "course") -> Params:
    """W[l] = randn(n[l], n[l-1]) / sqrt(n[l-1]) after seed(1), b[l] = 0, for l = 1..L."""
    params: Params = {}
    for l, (W, b) in enumerate(initialize(list(layer_dims), method, seed), start=1):
        params[f"W{l}"], params[f"b{l}"] = W, b
    return params


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
    Z = layer.cache[1]
    return A, ((A_prev, W, b), Z)


def L_model_forward(X: Any, parameters: Params) -> tuple[np.ndarray, list[tuple]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID; returns A[L] and the L caches."""
    net = Network.from_parameters(parameters, "relu", "sigmoid", copy=False)
    AL = net.forward(X)
    caches = [((layer.cache[0], layer.W, layer.b), layer.cache[1]) for layer in net.layers]
    return AL, caches


def compute_cost(AL: Any, Y: Any) -> float:
    """Cross-entropy J = -(1/m) sum(Y log(AL) + (1 - Y) log(1 - AL)); AL and Y of shape (1, m)."""
    AL = as_float_array(AL, "AL")
    Y = as_float_array(Y, "Y")
    if AL.ndim == 1:
        AL = AL.reshape(1, -1)
    check_Y(Y, AL.shape[0], AL.shape[1])
    if AL.shape[1] == 0:
        raise DataError("compute_cost got no samples: AL and Y are (1, 0); the cost averages over m >= 1 columns")
    if Y.min() < 0 or Y.max() > 1:
        raise DataError(f"Y must hold values in [0, 1] for the cross-entropy cost (found {Y.min():g} .. "
                        f"{Y.max():g}); labels are 0 (non-cat) or 1 (cat)")
    return BinaryCrossEntropy().cost(AL, Y)


def _unpack(cache: tuple) -> tuple[tuple, np.ndarray]:
    try:
        linear_cache, Z = cache
        A_prev, W, b = linear_cache
    except (TypeError, ValueError):
        raise ValueError("cache must be ((A_prev, W, b), Z), as linear_activation_forward returns") from None
    return (np.asarray(A_prev), np.asarray(W), np.asarray(b)), np.asarray(Z)


def linear_backward(dZ: Any, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dA_prev = W^T dZ, dW = (1/m) dZ A_prev^T, db = (1/m) sum(dZ, axis=1, keepdims=True)."""
    try:
        A_prev, W, b = (np.asarray(a) for a in cache)
    except (TypeError, ValueError):
        raise ValueError("cache must be (A_prev, W, b), as linear_forward returns") from None
    _check_linear(A_prev, W, b)
    dZ = as_float_array(dZ, "dZ")
    check_grad(dZ, "dZ[l]", (W.shape[0], A_prev.shape[1]), "(n[l], m)")
    return _linear_backward(dZ, A_prev, W)


def linear_activation_backward(dA: Any, cache: tuple, activation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dZ = dA * g'(Z), then :func:`linear_backward`."""
    (A_prev, W, b), Z = _unpack(cache)
    _check_linear(A_prev, W, b)
    check_grad(Z, "Z[l]", (W.shape[0], A_prev.shape[1]), "(n[l], m)")
    layer = _layer(W, b, activation)
    with np.errstate(over="ignore"):  # a saturated sigmoid overflows exp() to inf on purpose
        A = layer.g.forward(Z.copy())
    layer.cache = (A_prev, Z, A, None)
    return layer.backward(as_float_array(dA, "dA"))


def L_model_backward(AL: Any, Y: Any, caches: list[tuple]) -> dict[str, np.ndarray]:
    """Gradients ``dA{l-1}``, ``dW{l}``, ``db{l}`` for l = L..1 of the relu/sigmoid model."""
    unpacked = [_unpack(c) for c in caches]
    params: Params = {}
    for l, ((_, W, b), _) in enumerate(unpacked, start=1):
        params[f"W{l}"], params[f"b{l}"] = W, b
    net = Network.from_parameters(params, "relu", "sigmoid", copy=False)
    AL = as_float_array(AL, "AL", net.dtype)
    for layer, ((A_prev, _, _), Z) in zip(net.layers, unpacked):
        check_A_prev(A_prev, layer.l, layer.n_prev)
        check_grad(Z, f"Z[{layer.l}]", (layer.n, A_prev.shape[1]), f"(n[{layer.l}], m)")
        A = AL if layer.l == net.L else unpacked[layer.l][0][0]  # A[l] is the next layer's A_prev
        layer.cache = (A_prev, Z, A, None)
    Y = net._as_Y(Y, AL.shape[1])
    grads: dict[str, np.ndarray] = {}

    def collect(layer: Dense, dA_prev: np.ndarray | None) -> None:
        grads[f"dA{layer.l - 1}"] = dA_prev
        grads[f"dW{layer.l}"] = layer.dW.copy()
        grads[f"db{layer.l}"] = layer.db.copy()

    net._backward(Y, need_dA0=True, on_layer=collect)
    return grads


def update_parameters(parameters: Params, grads: dict[str, np.ndarray], learning_rate: float) -> Params:
    """W[l] = W[l] - alpha dW[l], b[l] = b[l] - alpha db[l]; returns a new dict."""
    net = Network.from_parameters(parameters, copy=True)
    gd = GradientDescent(learning_rate)
    for layer in net.layers:
        layer.dW = as_float_array(grads[f"dW{layer.l}"], f"dW{layer.l}", layer.dtype)
        layer.db = as_float_array(grads[f"db{layer.l}"], f"db{layer.l}", layer.dtype)
        check_grad(layer.dW, f"dW[{layer.l}]", layer.W.shape, f"(n[{layer.l}], n[{layer.l - 1}])")
        check_grad(layer.db, f"db[{layer.l}]", layer.b.shape, f"(n[{layer.l}], 1)")
        gd.update(layer)
    return net.parameters


def predict(X: Any, y: Any, parameters: Params) -> np.ndarray:
    """0/1 predictions (1, m) of the relu/sigmoid model; prints the accuracy against y."""
    net = Network.from_parameters(parameters, "relu", "sigmoid", copy=False)
    p = net.predict(X)
    m = p.shape[1]
    print("Accuracy: " + str(np.sum((p == np.asarray(y)) / m)))
    return p


def _train(layers_dims: Any, init: str, seed: int, X: Any, Y: Any, learning_rate: float,
           num_iterations: int, print_cost: bool) -> tuple[Params, list[float]]:
    net = Network(list(layers_dims), hidden="relu", output="sigmoid", init=init, seed=seed)
    history = net.fit(X, Y, learning_rate, num_iterations, print_cost)
    return {k: v.copy() for k, v in net.parameters.items()}, history.cost[::100]


def two_layer_model(X: Any, Y: Any, layers_dims: Any, learning_rate: float = 0.0075,
                    num_iterations: int = 3000, print_cost: bool = False, *, seed: int = 1,
                    method: str = "small") -> tuple[Params, list[float]]:
    """LINEAR -> RELU -> LINEAR -> SIGMOID, trained by gradient descent; costs every 100 iterations."""
    return _train(layers_dims, method, seed, X, Y, learning_rate, num_iterations, print_cost)


def L_layer_model(X: Any, Y: Any, layers_dims: Any, learning_rate: float = 0.0075,
                  num_iterations: int = 3000, print_cost: bool = False, *, seed: int = 1,
                  method: str = "course") -> tuple[Params, list[float]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID by gradient descent; costs every 100 iterations."""
    return _train(layers_dims, method, seed, X, Y, learning_rate, num_iterations, print_cost)
