"""Backprop agrees with centered finite differences for every activation x output x loss."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.activations import ReLU

HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "linear"]
# every output activation with every loss it can pair with
OUTPUT_LOSS = [
    ("sigmoid", "binary_crossentropy"), ("softmax", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"), ("sigmoid", "categorical_crossentropy"),
    ("linear", "mse"), ("sigmoid", "mse"), ("softmax", "mse"), ("tanh", "mse"), ("relu", "mse"),
    ("leaky_relu", "mse"),
]


def _problem(layer_dims, hidden, output, loss, seed):
    rng = np.random.RandomState(seed)
    net = dl.Network(layer_dims, hidden=hidden, output=output, loss=loss, init="xavier", seed=seed)
    for layer in net.layers:  # non-zero biases keep ReLU units away from the kink at Z = 0
        layer.b[:] = rng.uniform(0.5, 1.0, layer.b.shape)
    m, nL = 6, layer_dims[-1]
    X = 2 * rng.randn(layer_dims[0], m)  # inputs of unit scale and more keep gradients well above rounding noise
    if output == "softmax" or loss == "categorical_crossentropy":
        Y = np.eye(nL)[rng.randint(0, nL, m)].T
    elif loss == "binary_crossentropy":
        Y = (rng.rand(nL, m) > 0.5).astype(float)
    else:
        Y = rng.randn(nL, m)
    return net, X, Y


@pytest.mark.parametrize("hidden,output_loss", list(itertools.product(HIDDEN, OUTPUT_LOSS)))
def test_every_combination(hidden, output_loss):
    output, loss = output_loss
    for seed, dims in ((0, [4, 5, 3]), (1, [3, 4, 4, 2])):
        net, X, Y = _problem(dims, hidden, output, loss, seed)
        assert dl.gradient_check(net, X, Y) < 1e-7, (dims, seed)


def test_l2_and_mixed_activations():
    net, X, Y = _problem([4, 5, 4, 3, 2], ["tanh", "relu", "leaky_relu"], "sigmoid", "binary_crossentropy", 2)
    assert dl.gradient_check(net, X, Y, l2=0.7) < 1e-7


def test_gradient_check_catches_a_wrong_derivative(monkeypatch):
    net, X, Y = _problem([4, 5, 1], "relu", "sigmoid", "binary_crossentropy", 0)
    params_before = {k: v.copy() for k, v in net.parameters.items()}
    monkeypatch.setattr(ReLU, "backward", lambda self, dA, Z, A, out=None: np.multiply(dA, 1.0, out=out))
    assert dl.gradient_check(net, X, Y) > 1e-3
    for k, v in net.parameters.items():  # parameters restored exactly
        assert np.array_equal(v, params_before[k])
