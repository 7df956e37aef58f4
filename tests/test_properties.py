"""Property tests (Hypothesis) over random architectures, activations, dtypes and batch sizes.

* forward and backward shapes follow the notation: every cache (A[l-1], Z[l], A[l]), dW[l], db[l]
  and dA[l-1];
* backprop agrees with centered finite differences (float64; ReLU kinks avoided);
* predictions do not depend on how the columns are chunked, and mini-batch training equals the
  course's update rule applied batch by batch (batch_size >= m is full-batch training, bit for bit);
* a trained model with its preprocessing, classes and history survives save/load exactly.

Each test is bounded with ``max_examples`` so the module runs in well under a minute.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import deeplayers as dl
from deeplayers.modelfile import Model, Preprocessing

HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "linear"]
# (g[L], loss): the fused pairs and, through dA[L], the others
OUTPUTS = [("sigmoid", None), ("softmax", None), ("linear", None), ("sigmoid", "mse"), ("tanh", "mse"),
           ("softmax", "mse")]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def networks(draw, dtypes=("float32", "float64"), hidden=HIDDEN):
    """A random Network: 1-4 layers of 1-8 units, a hidden activation per layer, an output and loss."""
    L = draw(st.integers(1, 4))
    dims = draw(st.lists(st.integers(1, 8), min_size=L + 1, max_size=L + 1))
    gs = draw(st.lists(st.sampled_from(hidden), min_size=L - 1, max_size=L - 1))
    output, loss = draw(st.sampled_from(OUTPUTS))
    if output == "softmax":
        dims[-1] = max(2, dims[-1])  # a softmax over one unit is refused (always 1)
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2**16))
    net = dl.Network(dims, activations=gs + [output], loss=loss, dtype=dtype, seed=seed, init="xavier")
    rng = np.random.RandomState(seed)
    for layer in net.layers:  # non-zero biases: no layer starts exactly on a ReLU kink
        layer.b[...] = rng.uniform(-1, 1, layer.b.shape)
    return net, rng


def _targets(net, rng, m):
    nL, g, loss = net.layer_dims[-1], net.activations[-1], net.loss.name
    if loss == "categorical_crossentropy":
        return np.eye(nL)[:, rng.randint(0, nL, m)]
    if loss == "binary_crossentropy":
        return rng.randint(0, 2, (nL, m)).astype(float)
    if g == "softmax" or g == "sigmoid":
        return rng.uniform(0, 1, (nL, m))
    return rng.randn(nL, m)


@settings(max_examples=40, **SETTINGS)
@given(spec=networks(), m=st.integers(1, 9))
def test_forward_and_backward_shapes_follow_the_notation(spec, m):
    net, rng = spec
    dims, dtype = net.layer_dims, net.dtype
    X = rng.randn(dims[0], m)
    AL = net.forward(X)
    assert AL.shape == (dims[-1], m) and AL.dtype == dtype
    for layer in net.layers:
        l = layer.l
        A_prev, Z, A, D = layer.cache.A_prev, layer.cache.Z, layer.cache.A, layer.cache.D
        assert A_prev.shape == (dims[l - 1], m), f"A[{l - 1}]"
        assert Z.shape == A.shape == (dims[l], m), f"Z[{l}], A[{l}]"
        assert Z.dtype == A.dtype == dtype and D is None
        assert layer.W.shape == (dims[l], dims[l - 1]) and layer.b.shape == (dims[l], 1)
    Y = _targets(net, rng, m)
    grads = net.backward(Y)
    assert list(grads) == [f"d{p}{l}" for l in range(1, net.L + 1) for p in "Wb"]
    for l in range(1, net.L + 1):
        assert grads[f"dW{l}"].shape == (dims[l], dims[l - 1]) and grads[f"dW{l}"].dtype == dtype
        assert grads[f"db{l}"].shape == (dims[l], 1) and grads[f"db{l}"].dtype == dtype
    dA_prev = {}
    net.forward(X)
    net._backward(net._as_Y(Y, m), need_dA0=True,
                  on_layer=lambda layer, dA: dA_prev.update({layer.l: dA.shape}))
    assert dA_prev == {l: (dims[l - 1], m) for l in range(1, net.L + 1)}  # dA[l-1], down to dA[0]


@settings(max_examples=30, **SETTINGS)
@given(spec=networks(dtypes=("float64",)), m=st.integers(1, 6), l2=st.sampled_from([0.0, 0.3]))
def test_backprop_matches_finite_differences(spec, m, l2):
    net, rng = spec
    X = rng.randn(net.layer_dims[0], m)
    Y = _targets(net, rng, m)
    AL = net.forward(X)
    for layer in net.layers:  # keep every ReLU input away from its kink at 0
        if layer.g.name in ("relu", "leaky_relu"):
            assume(np.abs(layer.cache.Z).min() > 1e-4)
    if net.activations[-1] in ("sigmoid", "softmax"):
        # the reference's J(theta +- eps) is computed from A[L]: within 1e-3 of 0 or 1, log(A[L]) or
        # log(1 - A[L]) has lost digits that the difference quotient divides by 2 eps (found: A[L] =
        # 1 - 8e-10 with Y = 1, a finite difference 3% off while dZ[L] = A[L] - Y is exact)
        assume(np.minimum(AL, 1 - AL).min() > 1e-3)
    diff = dl.gradient_check(net, X, Y, l2=l2)
    # the difference quotient's own rounding: each J(theta +- eps) is good to about eps_mach |J|, so
    # each gradapprox entry to eps_mach |J| / eps; relative to a gradient that small, no check can be
    # closer (found: a saturated tanh output, J = 1.8 and |grad| = 7e-5, the check at 1.6e-5)
    grads = net.backward(Y, l2=l2)
    g_norm = float(np.sqrt(sum(np.vdot(v, v) for v in grads.values())))
    J = float(net.cost(AL, Y, l2=l2))
    floor = np.finfo(np.float64).eps * max(abs(J), 1.0) / 1e-7 * np.sqrt(net.n_params) / max(g_norm, 1e-300)
    assert diff < 2e-7 + 10 * floor, (net, diff, floor)


@settings(max_examples=25, **SETTINGS)
@given(spec=networks(), m=st.integers(1, 40), chunk=st.integers(1, 40))
def test_predictions_do_not_depend_on_the_chunk_size(spec, m, chunk):
    net, rng = spec
    X = rng.randn(net.layer_dims[0], m).astype(net.dtype)
    whole = net.predict_proba(X)
    chunked = net.predict_proba(X, batch_size=chunk)
    rtol = 1e-5 if net.dtype == np.float32 else 1e-12
    # rounding is relative to the terms summed, not to an output that cancels down to near 0 (found:
    # float32 1.6215e-4 against 1.6232e-4 from terms near 1, one column at a time through another kernel)
    atol = rtol * max(1.0, float(np.abs(whole).max()))
    np.testing.assert_allclose(chunked, whole, rtol=rtol, atol=atol)
    one_by_one = np.hstack([net.predict_proba(X[:, j:j + 1]) for j in range(m)])
    np.testing.assert_allclose(one_by_one, whole, rtol=rtol, atol=atol)
    assert net.predict(X).shape[1] == m


@settings(max_examples=20, **SETTINGS)
@given(spec=networks(), m=st.integers(2, 24), optimizer=st.sampled_from(["gd", "momentum", "adam"]),
       extra=st.integers(0, 5))
def test_batch_size_of_m_or_more_is_full_batch_training(spec, m, optimizer, extra):
    net, rng = spec
    X = rng.randn(net.layer_dims[0], m)
    Y = _targets(net, rng, m)
    start = {k: v.copy() for k, v in net.parameters.items()}
    h_full = net.fit(X, Y, epochs=3, optimizer=optimizer, learning_rate=0.01)
    full = {k: v.copy() for k, v in net.parameters.items()}
    net.parameters = start
    h_m = net.fit(X, Y, epochs=3, optimizer=optimizer, learning_rate=0.01, batch_size=m + extra)
    for k, v in full.items():
        assert v.tobytes() == net.parameters[k].tobytes(), k
    assert h_m.cost == h_full.cost


@settings(max_examples=20, **SETTINGS)
@given(spec=networks(dtypes=("float64",)), m=st.integers(2, 24), batch=st.integers(1, 24))
def test_mini_batches_apply_the_update_rule_batch_by_batch(spec, m, batch):
    """One epoch of unshuffled mini-batch gradient descent = forward/backward/update on each slice."""
    net, rng = spec
    X = rng.randn(net.layer_dims[0], m)
    Y = _targets(net, rng, m)
    ref = dl.Network.from_parameters({k: v.copy() for k, v in net.parameters.items()}, activations=net.activations,
                                     loss=net.loss.name)
    alpha = 0.05
    net.fit(X, Y, epochs=1, learning_rate=alpha, batch_size=batch, shuffle=False)
    for start in range(0, m, batch):
        Xb, Yb = X[:, start:start + batch], Y[:, start:start + batch]
        ref.forward(Xb)
        grads = ref.backward(Yb)
        for layer in ref.layers:
            layer.W -= alpha * grads[f"dW{layer.l}"]
            layer.b -= alpha * grads[f"db{layer.l}"]
    for k, v in ref.parameters.items():
        np.testing.assert_allclose(net.parameters[k], v, rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("roundtrip")


@settings(max_examples=12, **SETTINGS)
@given(spec=networks(), m=st.integers(2, 20), prep=st.sampled_from(["none", "standard", "minmax", "divide"]))
def test_a_trained_model_round_trips_exactly(spec, m, prep, folder):
    net, rng = spec
    X = rng.randn(net.layer_dims[0], m) * 3 + 1
    Y = _targets(net, rng, m)
    p = Preprocessing(prep).fit(X)
    net.fit(p.transform(X, net.dtype), Y, epochs=2, optimizer="adam", learning_rate=0.01)
    g, nL = net.activations[-1], net.layer_dims[-1]
    classes = None
    if g in ("sigmoid", "softmax") and net.loss.name != "mse":
        classes = [f"c{i}" for i in range(2 if (g == "sigmoid" and nL == 1) else nL)]
    model = Model(net, p, classes=classes, hyperparameters={"epochs": 2})
    path = folder / "model.npz"
    dl.save(model, path)
    back = dl.load(path)
    assert back.layer_dims == net.layer_dims and back.activations == net.activations
    assert back.network.loss.name == net.loss.name and back.network.dtype == net.dtype
    for k, v in net.parameters.items():
        w = back.parameters[k]
        assert w.dtype == v.dtype and w.tobytes() == v.tobytes(), k
    assert back.preprocessing == p and back.classes == classes and back.hyperparameters == {"epochs": 2}
    assert back.history.as_dict() == net.history.as_dict()
    assert np.array_equal(back.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(back.predict(X), model.predict(X))
