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


def test_parameters_in_a_callers_column_major_arrays_are_checked_in_place():
    # a layer sharing the caller's arrays (copy=False, as the course functions do) may hold a
    # column-major W[l]: the check must move that array's entries, not a reshaped copy's
    net, X, Y = _problem([4, 5, 3, 1], "tanh", "sigmoid", "binary_crossentropy", 3)
    expected = dl.gradient_check(net, X, Y)
    W1 = np.asfortranarray(net[1].W)
    W2 = net[2].W.T.copy().T  # column-major too, by a transpose of a copy
    net[1].set_parameters(W1, net[1].b, copy=False)
    net[2].set_parameters(W2, net[2].b, copy=False)
    before = W1.copy()
    diff = dl.gradient_check(net, X, Y)
    assert expected < 1e-7 and diff == expected
    assert net[1].W is W1 and np.array_equal(W1, before)  # restored, in the caller's array


def test_gradient_check_catches_a_wrong_derivative(monkeypatch):
    net, X, Y = _problem([4, 5, 1], "relu", "sigmoid", "binary_crossentropy", 0)
    params_before = {k: v.copy() for k, v in net.parameters.items()}
    monkeypatch.setattr(ReLU, "backward", lambda self, dA, Z, A, out=None: np.multiply(dA, 1.0, out=out))
    assert dl.gradient_check(net, X, Y) > 1e-3
    for k, v in net.parameters.items():  # parameters restored exactly
        assert np.array_equal(v, params_before[k])


# -- large networks: a seeded sample of each W[l], b[l] (issue 13) ---------------------------------
def test_sampled_check_finds_a_planted_bug_in_a_large_layer(monkeypatch):
    from deeplayers.activations import Tanh

    net, X, Y = _problem([60, 50, 40, 1], ["tanh", "relu"], "sigmoid", "binary_crossentropy", 3)
    right = dl.gradient_check(net, X, Y)
    # W1 (3,000 entries) and W2 (2,000) sampled at 200 each; b1, b2, W3, b3 whole
    assert right.checked == 200 + 50 + 200 + 40 + 40 + 1 and right.total == net.n_params == 5131
    assert right.per_layer["W1"] == (200, 3000) and right.per_layer["b3"] == (1, 1)
    assert not right.all_checked and right.describe() == ("531 of 5,131 parameters checked (a seeded random sample "
                                                          "of each W[l], b[l])")
    assert right < 1e-7
    # a wrong g' in layer 1 only (tanh' taken as 1): only dW[1], db[1] are wrong, and the sample sees it
    monkeypatch.setattr(Tanh, "backward", lambda self, dA, Z, A, out=None: np.multiply(dA, 1.0, out=out))
    wrong = dl.gradient_check(net, X, Y)
    assert wrong > 1e-3 and wrong.checked == 531
    assert dl.gradient_check(net, X, Y, seed=1) > 1e-3  # another sample, the same verdict


def test_sample_none_checks_every_entry_and_bad_samples_are_refused():
    net, X, Y = _problem([4, 5, 3], "relu", "sigmoid", "binary_crossentropy", 0)
    full = dl.gradient_check(net, X, Y, sample=None)
    assert full.all_checked and full.checked == net.n_params == 43
    assert full.describe() == "43 of 43 parameters checked (every one)"
    assert dl.gradient_check(net, X, Y, sample=3).checked == 3 + 3 + 3 + 3  # W1, b1, W2, b2 (3 entries)
    with pytest.raises(dl.ConfigError, match="sample must be a positive number of entries per W"):
        dl.gradient_check(net, X, Y, sample=0)


def test_cli_gradcheck_samples_large_networks_and_says_how_many(capsys):
    from deeplayers.cli import main

    assert main(["gradcheck", "--layer-dims", "60,50,40,1", "--activation", "tanh"]) == 0
    out = capsys.readouterr().out
    assert "531 of 5,131 parameters checked (a seeded random sample of each W[l], b[l])" in out and "PASS" in out
    assert main(["gradcheck", "--layer-dims", "5,4,1", "--all"]) == 0
    assert "29 of 29 parameters checked (every one)" in capsys.readouterr().out
    assert main(["gradcheck", "--all", "--entries", "10"]) == 2
    assert "--entries samples entries, and --all checks every one" in capsys.readouterr().err
