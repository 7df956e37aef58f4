"""The baseline: a straightforward course-style NumPy transcription (no deeplayers).

Written the way the course's notebooks write it: a parameters dict, caches of
``((A_prev, W, b), Z)``, fresh arrays on every step (``dW = 1/m * np.dot(dZ, A_prev.T)``,
``update_parameters`` builds new arrays), mini-batches as column slices of a per-epoch shuffled
copy (``random_mini_batches``). It is the reference the engine must beat, and the independent
computation every implementation's final loss and parameters are compared with.

Samples are columns: X is (n[0], m), Y is (n[L], m).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "L_model_forward", "compute_cost", "L_model_backward", "update_parameters",
    "train_epoch", "L_layer_model", "predict_proba",
]


# -- activations (the course's helper functions) ------------------------------------------------
def sigmoid(Z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-Z))


def relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(0, Z)


def softmax(Z: np.ndarray) -> np.ndarray:
    T = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return T / np.sum(T, axis=0, keepdims=True)


def relu_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def sigmoid_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


# -- forward ---------------------------------------------------------------------------------------
def linear_activation_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str
                              ) -> tuple[np.ndarray, tuple]:
    Z = np.dot(W, A_prev) + b
    if activation == "relu":
        A = relu(Z)
    elif activation == "sigmoid":
        A = sigmoid(Z)
    else:
        A = softmax(Z)
    return A, ((A_prev, W, b), Z)


def L_model_forward(X: np.ndarray, parameters: dict[str, np.ndarray], output: str = "sigmoid"
                    ) -> tuple[np.ndarray, list[tuple]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID (or SOFTMAX); A[L] and the caches."""
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], output)
    caches.append(cache)
    return AL, caches


def predict_proba(X: np.ndarray, parameters: dict[str, np.ndarray], output: str = "sigmoid") -> np.ndarray:
    return L_model_forward(X, parameters, output)[0]


# -- cost ----------------------------------------------------------------------------------------------
def compute_cost(AL: np.ndarray, Y: np.ndarray, output: str = "sigmoid") -> float:
    """Cross-entropy averaged over the m columns (outputs clipped to [eps, 1 - eps], as deeplayers
    and scikit-learn do, so a saturated output cannot turn the comparison into NaN)."""
    m = Y.shape[1]
    eps = np.finfo(AL.dtype).eps
    AL = np.clip(AL, eps, 1 - eps)
    if output == "sigmoid":
        cost = (-1 / m) * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    else:
        cost = (-1 / m) * np.sum(Y * np.log(AL))
    return float(np.squeeze(cost))


# -- backward --------------------------------------------------------------------------------------
def linear_backward(dZ: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def L_model_backward(AL: np.ndarray, Y: np.ndarray, caches: list[tuple], output: str = "sigmoid"
                     ) -> dict[str, np.ndarray]:
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    linear_cache, Z = caches[L - 1]
    # dZ[L] = A[L] - Y (the course's week-3 form, dZ2 = A2 - Y; softmax with cross-entropy alike).
    # The week-4 chain dAL = -(Y/AL - (1-Y)/(1-AL)), sigmoid_backward is the same math, but in
    # float32 a saturated output AL == 1.0 makes it 0/0 = NaN.
    dZ = AL - Y
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_backward(dZ, linear_cache)
    for l in reversed(range(L - 1)):
        linear_cache, Z = caches[l]
        dZ = relu_backward(grads["dA" + str(l + 1)], Z)
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = linear_backward(dZ, linear_cache)
    return grads


def update_parameters(parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray], learning_rate: float
                      ) -> dict[str, np.ndarray]:
    params = parameters.copy()
    L = len(params) // 2
    for l in range(L):
        params["W" + str(l + 1)] = params["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]
        params["b" + str(l + 1)] = params["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]
    return params


# -- training ---------------------------------------------------------------------------------------
def train_epoch(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], learning_rate: float,
                batch_size: int | None, permutation: np.ndarray | None, output: str
                ) -> tuple[dict[str, np.ndarray], float]:
    """One epoch of mini-batch gradient descent in the course's style; returns (parameters, mean cost)."""
    m = X.shape[1]
    if batch_size is None or batch_size >= m:
        batches = [(X, Y)]
    else:
        # random_mini_batches: shuffle once per epoch, then column slices
        shuffled_X = X[:, permutation]
        shuffled_Y = Y[:, permutation]
        batches = [(shuffled_X[:, k:k + batch_size], shuffled_Y[:, k:k + batch_size])
                   for k in range(0, m, batch_size)]
    cost_total = 0.0
    for Xb, Yb in batches:
        AL, caches = L_model_forward(Xb, parameters, output)
        cost_total += compute_cost(AL, Yb, output) * Xb.shape[1]
        grads = L_model_backward(AL, Yb, caches, output)
        parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, cost_total / m


def L_layer_model(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], learning_rate: float = 0.0075,
                  num_iterations: int = 3000) -> tuple[dict[str, np.ndarray], list[float]]:
    """The course's L_layer_model loop (full-batch gradient descent); costs every 100 iterations."""
    costs = []
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % 100 == 0:
            costs.append(cost)
    return parameters, costs
