"""Network.to_spec() / Network.from_spec(): the one description of a network in every file.

Model files, checkpoints, the estimators' pickled state and search all go through this pair, so
it must round-trip every architecture exactly and refuse anything it cannot rebuild.
"""

from __future__ import annotations

import itertools
import json
import pickle

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.activations import ACTIVATIONS, LeakyReLU, Sigmoid
from deeplayers.errors import ConfigError, ShapeError
from deeplayers.initializers import INITIALIZERS
from deeplayers.losses import LOSSES, MeanSquaredError

HIDDEN = ["relu", "tanh", "sigmoid", "linear", "leaky_relu", LeakyReLU(alpha=0.3)]
OUTPUTS = ["sigmoid", "softmax", "linear"]


def _architectures():
    """Every hidden g (leaky ReLU with its default and another slope), every output, every loss
    name that pairs with it, both dtypes, every initializer."""
    cases = []
    for output, loss in itertools.product(OUTPUTS, [None, *sorted(LOSSES)]):
        try:
            dl.Network([3, 2], output=output, loss=loss)
        except ConfigError:
            continue  # e.g. cross-entropy after a linear output: refused by the constructor itself
        cases.append((output, loss))
    assert {loss for _, loss in cases} >= set(LOSSES)  # every loss is covered
    for i, (output, loss) in enumerate(cases):
        hidden = [HIDDEN[i % len(HIDDEN)], HIDDEN[(i + 1) % len(HIDDEN)]]
        for dtype, init in itertools.product(("float64", "float32"), INITIALIZERS):
            yield hidden, output, loss, dtype, init
    for g in HIDDEN:  # each hidden g on every layer once
        yield [g, g], "sigmoid", None, "float64", "he"


ARCHS = list(_architectures())


@pytest.mark.parametrize("hidden, output, loss, dtype, init", ARCHS,
                         ids=[f"{i}-{a[1]}-{a[2]}-{a[3]}-{a[4]}" for i, a in enumerate(ARCHS)])
def test_the_spec_round_trips_every_architecture(hidden, output, loss, dtype, init):
    net = dl.Network([4, 5, 3, 2], hidden=hidden, output=output, loss=loss, init=init, seed=11, dtype=dtype)
    spec = net.to_spec()
    assert json.loads(json.dumps(spec)) == spec  # plain JSON, nothing lost on the way to a header
    assert spec["layer_dims"] == [4, 5, 3, 2] and spec["dtype"] == dtype and spec["init"] == init
    assert spec["seed"] == 11 and spec["loss"] == net.loss.name
    back = dl.Network.from_spec(json.loads(json.dumps(spec)), net.parameters)
    assert back.to_spec() == spec
    for a, b in zip(net.layers, back.layers, strict=True):
        assert type(a.g) is type(b.g) and a.g.params == b.g.params
        assert a.W.dtype == b.W.dtype == np.dtype(dtype)
        assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
        assert a.W is not b.W  # copied by default
    assert type(back.loss) is type(net.loss)
    X = np.random.RandomState(0).randn(4, 6)
    assert np.array_equal(back.predict_proba(X), net.predict_proba(X))
    # without arrays, the spec's init and seed draw the very same W[l] as the constructor did
    fresh = dl.Network.from_spec(spec)
    assert all(np.array_equal(p, q) for p, q in zip(fresh.parameters.values(), net.parameters.values(), strict=True))


def test_the_spec_carries_activation_parameters():
    net = dl.Network([2, 3, 3, 1], hidden=[LeakyReLU(0.2), "leaky_relu"], seed=0)
    spec = net.to_spec()
    assert spec["activations"] == ["leaky_relu", "leaky_relu", "sigmoid"]
    assert spec["activation_params"] == [{"alpha": 0.2}, {"alpha": 0.01}, {}]
    assert dl.Network.from_spec(spec, net.parameters)[1].g.alpha == 0.2
    # a spec written before activation parameters were recorded means the defaults
    old = {k: v for k, v in spec.items() if k != "activation_params"}
    assert [layer.g.params for layer in dl.Network.from_spec(old).layers] == [{"alpha": 0.01}, {"alpha": 0.01}, {}]


def test_shared_arrays_without_copy():
    net = dl.Network([2, 3, 1], seed=0)
    arrays = {k: v.copy() for k, v in net.parameters.items()}
    back = dl.Network.from_spec(net.to_spec(), arrays, copy=False)
    assert back.parameters["W1"] is arrays["W1"]


def test_a_seed_that_is_not_an_int_is_not_described():
    net = dl.Network([2, 3, 1], seed=np.int64(5))
    assert net.to_spec()["seed"] == 5 and type(net.to_spec()["seed"]) is int
    assert dl.Network([2, 3, 1], seed=np.random.RandomState(0)).to_spec()["seed"] is None


def test_custom_activations_and_losses_cannot_be_described():
    class Swish(Sigmoid):
        name = "swish"

    class Huber(MeanSquaredError):
        pass

    with pytest.raises(ConfigError, match=r"layer 1 uses a custom activation Swish; only the built-in ones"):
        dl.Network([2, 3, 1], hidden=Swish()).to_spec()
    with pytest.raises(ConfigError, match=r"the network uses a custom loss Huber; only built-in losses"):
        dl.Network([2, 3, 1], output="linear", loss=Huber()).to_spec()


def test_malformed_specs_are_refused_saying_what_is_wrong():
    net = dl.Network([2, 3, 1], hidden="leaky_relu", seed=0)
    spec, arrays = net.to_spec(), net.parameters
    cases = [
        ({**spec, "layer_dims": [2, 0, 1]}, None, ConfigError, r"layer_dims \[2, 0, 1\] is not a list of positive integers"),
        ({**spec, "layer_dims": [2, True, 1]}, None, ConfigError, r"is not a list of positive integers"),
        ({**spec, "activations": ["relu"]}, None, ConfigError, r"it needs 2 activations for layer_dims \[2, 3, 1\]"),
        ({**spec, "activation_params": [{}]}, None, ConfigError, r"it needs 2 activations"),
        ({**spec, "activations": ["eval", "sigmoid"]}, None, ConfigError, r"g\[1\] = 'eval' is not a known activation"),
        ({**spec, "activation_params": [{"alpha": "0.2"}, {}]}, None, ConfigError,
         r"g\[1\] = leaky_relu has parameters .* not all finite numbers"),
        ({**spec, "activation_params": [{"alpha": float("nan")}, {}]}, None, ConfigError, r"not all finite numbers"),
        ({**spec, "activation_params": [{"beta": 1.0}, {}]}, None, ConfigError,
         r"g\[1\] = leaky_relu has invalid parameters \{'beta': 1.0\}"),
        ({**spec, "loss": "hinge"}, None, ConfigError, r"loss 'hinge' is not a known loss"),
        ({**spec, "dtype": "float16"}, None, ConfigError, r"dtype 'float16' is not float32 or float64"),
        ({**spec, "init": "zeros"}, None, ConfigError, r"init 'zeros' is not a known initializer"),
        ({**spec, "seed": -1}, None, ConfigError, r"seed -1 is not a non-negative integer"),
        ({**spec, "seed": 1.5}, None, ConfigError, r"seed 1.5 is not a non-negative integer"),
        ({**spec, "activations": ["softmax", "sigmoid"], "activation_params": [{}, {}]}, None, ConfigError,
         r"it describes an invalid network \(g\[1\] = softmax is only supported on the output layer"),
        ({**spec, "loss": "categorical_crossentropy", "activations": ["relu", "linear"], "activation_params": [{}, {}]},
         None, ConfigError, r"it describes an invalid network \(loss categorical_crossentropy needs outputs in \(0, 1\)"),
        (spec, {k: v for k, v in arrays.items() if k != "b2"}, ConfigError,
         r"layer_dims \[2, 3, 1\] needs arrays \['W1', 'W2', 'b1', 'b2'\], got \['W1', 'W2', 'b1'\]"),
        (spec, {**arrays, "W1": arrays["W1"].T}, ShapeError,
         r"W1 is float64 \(2, 3\), layer_dims \[2, 3, 1\] and dtype float64 need \(3, 2\)"),
        (spec, {**arrays, "b2": arrays["b2"].astype(np.float32)}, ShapeError,
         r"b2 is float32 \(1, 1\), layer_dims \[2, 3, 1\] and dtype float64 need \(1, 1\)"),
        (spec, {**arrays, "W2": [[1.0, 2.0, 3.0]]}, ShapeError, r"W2 is list"),
    ]
    for bad, bad_arrays, exc, message in cases:
        with pytest.raises(exc, match=message):
            dl.Network.from_spec(bad, bad_arrays)
    with pytest.raises(ConfigError, match="a network spec is a dict as Network.to_spec\\(\\) writes it, got list"):
        dl.Network.from_spec([2, 3, 1])


def test_architecture_difference_names_the_first_difference():
    net = dl.Network([4, 5, 3, 2], hidden=[LeakyReLU(0.2), "tanh"], output="softmax", seed=1)
    spec = net.to_spec()
    assert net.architecture_difference(spec) is None
    assert net.architecture_difference({**spec, "seed": 99, "init": "small"}) is None  # where training started
    assert net.architecture_difference({**spec, "activations": ["leaky_relu", "tanh", "softmax"]}) is None
    identity = dl.Network([4, 5, 3, 2], hidden=["identity", "tanh"], output="softmax")
    assert identity.architecture_difference({**spec, "activations": ["linear", "tanh", "softmax"],
                                             "activation_params": [{}, {}, {}]}) is None  # an alias is the same g
    other = {**spec, "activation_params": [{"alpha": 0.01}, {}, {}]}
    assert net.architecture_difference(other) == (
        "g[1] = leaky_relu(alpha=0.01), but this network has g[1] = leaky_relu(alpha=0.2)")
    other = {**spec, "activations": ["leaky_relu", "relu", "softmax"]}
    assert net.architecture_difference(other) == "g[2] = relu, but this network has g[2] = tanh"
    assert net.architecture_difference({**spec, "layer_dims": [4, 6, 3, 2]}) == (
        "layer_dims = [4, 6, 3, 2], but this network has [4, 5, 3, 2]")
    assert net.architecture_difference({**spec, "loss": "mse"}) == (
        "loss = 'mse', but this network has 'categorical_crossentropy'")
    assert net.architecture_difference({**spec, "dtype": "float32"}) == "dtype = 'float32', but this network has 'float64'"
    old = {k: v for k, v in spec.items() if k != "activation_params"}
    assert net.architecture_difference(old) == (
        "activations ['leaky_relu', 'tanh', 'softmax'] recorded without their parameters (by an older deeplayers), "
        "but this network has g[1] = leaky_relu(alpha=0.2)")
    plain = dl.Network([4, 5, 3, 2], hidden=["relu", "tanh"], output="softmax")
    assert plain.architecture_difference({k: v for k, v in plain.to_spec().items() if k != "activation_params"}) is None


def test_every_file_holds_the_spec(tmp_path):
    """Model files and checkpoints write exactly Network.to_spec() into their headers."""
    from deeplayers._atomic import load_npz_with_header

    rng = np.random.RandomState(0)
    X, Y = rng.randn(3, 40), (rng.rand(1, 40) > 0.5).astype(float)
    net = dl.Network([3, 4, 1], hidden=LeakyReLU(0.25), init="xavier", seed=3, dtype="float32")
    net.fit(X, Y, epochs=1, checkpoint=tmp_path / "run.ckpt", batch_size=16)
    dl.save(net, tmp_path / "model.npz")
    spec = net.to_spec()
    for name in ("run.ckpt", "model.npz"):
        header = load_npz_with_header(tmp_path / name)[1]
        assert {k: header[k] for k in spec} == spec, name
    back = dl.load(tmp_path / "model.npz").network
    assert back.to_spec() == spec and back[1].g.alpha == 0.25


def test_an_estimators_pickled_network_goes_through_the_spec():
    sk = pytest.importorskip("deeplayers.sklearn")
    rng = np.random.RandomState(0)
    X, y = rng.randn(30, 3), rng.randint(0, 3, 30)
    est = sk.DNNClassifier((4,), activation="leaky_relu", epochs=2, random_state=0, dtype="float32").fit(X, y)
    state = est.__getstate__()["network_"]
    assert {k: state[k] for k in est.network_.to_spec()} == est.network_.to_spec()
    back = pickle.loads(pickle.dumps(est))
    assert back.network_.to_spec() == est.network_.to_spec()
    assert np.array_equal(back.predict_proba(X), est.predict_proba(X))


def test_activation_params_rebuild_each_built_in_activation():
    for name, cls in ACTIVATIONS.items():
        g = cls()
        assert type(g)(**g.params).params == g.params, name
    assert LeakyReLU(0.3).params == {"alpha": 0.3}
