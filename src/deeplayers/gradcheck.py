"""Gradient checking: backprop against centered finite differences over every parameter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import Network

__all__ = ["gradient_check"]


def gradient_check(network: Network, X: Any, Y: Any, epsilon: float = 1e-7, l2: float = 0.0) -> float:
    """Relative difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||).

    ``gradapprox`` perturbs each entry of each W[l], b[l] by +-epsilon:
    (J(theta + eps) - J(theta - eps)) / (2 eps). Use float64; below ~1e-7 means backprop is right.
    The parameters are restored exactly afterwards.
    """
    X = network._as_X(X)
    Y = network._as_Y(Y, X.shape[1])
    network.forward(X)
    grads = network.backward(Y, l2=l2)
    analytic, numeric = [], []
    for layer in network.layers:
        for p, key in ((layer.W, f"dW{layer.l}"), (layer.b, f"db{layer.l}")):
            approx = np.empty_like(p)
            flat, out = p.reshape(-1), approx.reshape(-1)  # views: writes go to the live parameter
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + epsilon
                J_plus = network.cost(network._forward(X, cache=False), Y, l2)
                flat[i] = old - epsilon
                J_minus = network.cost(network._forward(X, cache=False), Y, l2)
                flat[i] = old
                out[i] = (J_plus - J_minus) / (2 * epsilon)
            analytic.append(grads[key].ravel())
            numeric.append(out)
    grad, gradapprox = np.concatenate(analytic), np.concatenate(numeric)
    denom = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(grad - gradapprox) / denom)
