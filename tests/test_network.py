"""The Network object and the Dense building block, checked against independent computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.activations import ACTIVATIONS, ZEROS_CHUNK, get_activation
from deeplayers.losses import get_loss
from deeplayers.workspace import Workspace


def test_dense_block_formulas():
    rng = np.random.RandomState(0)
    layer = dl.Dense(3, 4, "tanh", l=2)
    W, b = rng.randn(4, 3), rng.randn(4, 1)
    layer.set_parameters(W, b)
    A_prev = rng.randn(3, 5)
    A = layer.forward(A_prev)
    Z = W @ A_prev + b
    np.testing.assert_allclose(A, np.tanh(Z), rtol=1e-14)
    A_prev_c, Z_c = layer.cache.A_prev, layer.cache.Z
    assert A_prev_c is A_prev and np.allclose(Z_c, Z)
    dA = rng.randn(4, 5)
    dA_prev, dW, db = layer.backward(dA)
    dZ = dA * (1 - np.tanh(Z) ** 2)
    np.testing.assert_allclose(dW, dZ @ A_prev.T / 5, rtol=1e-13)
    np.testing.assert_allclose(db, dZ.sum(axis=1, keepdims=True) / 5, rtol=1e-13)
    np.testing.assert_allclose(dA_prev, W.T @ dZ, rtol=1e-13)
    first = dl.Dense(3, 4, "tanh", l=1)
    first.set_parameters(W, b)
    ws = Workspace()
    first.forward(A_prev, ws=ws)
    assert first.backward(dA.copy(), ws=ws)[0] is None  # in training, layer 1 never computes dA[0]
    assert "W[2]: (4, 3)" in repr(layer)


def test_reused_buffers_give_the_same_numbers():
    rng = np.random.RandomState(1)
    net = dl.Network([6, 5, 4, 3], output="softmax", seed=0)
    X, Y = rng.randn(6, 7), np.eye(3)[rng.randint(0, 3, 7)].T
    AL = net.forward(X).copy()
    grads = net.backward(Y)
    ws = Workspace()
    AL2 = net._forward(X, ws=ws)
    np.testing.assert_array_equal(AL, AL2)
    got = {}
    net._backward(Y, ws=ws, on_layer=lambda layer, dA: got.update({layer.l: layer.dW.copy()}))
    for l in (1, 2, 3):  # the same up to rounding: training folds 1/m into dZ[L] once
        np.testing.assert_allclose(got[l], grads[f"dW{l}"], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("init,scale", [("he", lambda n, p: np.sqrt(2 / p)), ("course", lambda n, p: 1 / np.sqrt(p)),
                                        ("small", lambda n, p: 0.01), ("xavier", lambda n, p: np.sqrt(2 / (n + p)))])
def test_initializers_draw_the_legacy_stream_in_order(init, scale):
    dims = [7, 5, 3, 1]
    net = dl.Network(dims, init=init, seed=4)
    rs = np.random.RandomState(4)
    for l in (1, 2, 3):
        expected = rs.randn(dims[l], dims[l - 1]) * scale(dims[l], dims[l - 1])
        np.testing.assert_allclose(net[l].W, expected, rtol=1e-15)
        assert np.array_equal(net[l].b, np.zeros((dims[l], 1)))
    f32 = dl.Network(dims, init=init, seed=4, dtype="float32")
    assert f32[1].W.dtype == np.float32 and np.array_equal(f32[1].W, net[1].W.astype(np.float32))
    with pytest.raises(dl.ConfigError, match="unknown initializer 'glorot'"):
        dl.Network(dims, init="glorot")


def test_summary_table():
    text = dl.Network([12288, 20, 7, 5, 1], seed=1).summary(m=209)
    lines = text.splitlines()
    assert lines[0].split() == ["l", "layer", "n[l]", "g[l]", "W[l]", "b[l]", "Z[l],", "A[l]", "params"]
    assert lines[2].split() == ["0", "input", "12288", "-", "-", "-", "(12288,", "209)", "0"]
    assert lines[3].split() == ["1", "hidden", "20", "relu", "(20,", "12288)", "(20,", "1)", "(20,", "209)", "245,780"]
    assert lines[6].split()[:4] == ["4", "output", "1", "sigmoid"]
    assert "245,973 parameters" in lines[-1] and "L = 4 layers" in lines[-1]
    assert (12288 * 20 + 20) + (20 * 7 + 7) + (7 * 5 + 5) + (5 + 1) == 245973


def test_parameters_dict_predict_and_repr():
    net = dl.Network([3, 4, 2], hidden=["tanh"], output="softmax", seed=0)
    assert list(net.parameters) == ["W1", "b1", "W2", "b2"]
    assert net.parameters["W1"] is net[1].W  # live arrays, as the course's dict
    X = np.random.RandomState(0).randn(3, 9)
    P = net.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-12)
    assert net.predict(X).shape == (1, 9) and np.array_equal(net.predict(X)[0], P.argmax(axis=0))
    assert np.allclose(net.predict_proba(X, batch_size=4), P)  # chunked inference gives the same numbers
    assert repr(net) == "Network(layer_dims=[3, 4, 2], g=[tanh, softmax], loss=categorical_crossentropy, dtype=float64)"
    with pytest.raises(dl.ConfigError, match="one activation per layer"):
        dl.Network([3, 4, 4, 2], hidden=["tanh"])
    with pytest.raises(dl.ConfigError, match="only supported on the output layer"):
        dl.Network([3, 4, 2], hidden="softmax")
    with pytest.raises(dl.ConfigError, match="needs outputs in \\(0, 1\\)"):
        dl.Network([3, 4, 2], output="relu", loss="bce")
    with pytest.raises(IndexError, match="l = 1..L = 1..2"):
        net[0]


def test_fit_is_the_course_loop():
    rng = np.random.RandomState(0)
    X = rng.randn(4, 50)
    Y = (X[:1] > 0).astype(float)
    net = dl.Network([4, 3, 1], init="small", seed=1)
    ref = dl.Network([4, 3, 1], init="small", seed=1)
    costs = net.fit(X, Y, 0.1, 20)
    assert len(costs) == 20 and isinstance(costs, dl.History)
    for i in range(20):  # forward, cost, backward, update, by hand
        AL = ref.forward(X)
        assert costs[i] == pytest.approx(ref.cost(AL, Y), rel=1e-12)
        grads = ref.backward(Y)
        for l in (1, 2):
            ref[l].W -= 0.1 * grads[f"dW{l}"]
            ref[l].b -= 0.1 * grads[f"db{l}"]
    for k in net.parameters:
        np.testing.assert_allclose(net.parameters[k], ref.parameters[k], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_stay_finite_and_silent_for_huge_inputs(name, dtype):
    g = get_activation(name)
    Z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]] * 2, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = g.forward(Z.copy())
        dZ = g.backward(np.ones_like(Z), Z, A)
    assert np.isfinite(A).all() and np.isfinite(dZ).all() and A.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("small", [True, False])
def test_activations_into_buffers_equal_the_formulas(name, dtype, small):
    # the training loop's form (out= buffers, ReLU's mask as sign(A), 0-d constants) against the
    # plain one, to the bit, at 0, -0, tiny and large Z; and g' checked by central differences
    g = get_activation(name)
    rng = np.random.default_rng(0)
    # 4 x 40 and 64 x 80 entries: each side of ReLU's switch from sign(A) to a comparison (SIGN_MASK_MAX)
    Z = np.concatenate([rng.standard_normal((3, 40)), [[0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0] * 2 + [0.0] * 28]])
    Z = (Z if small else np.tile(Z, (16, 2))).astype(dtype)
    dA = rng.standard_normal(Z.shape).astype(dtype)
    A = g.forward(Z.copy())
    A_buf = g.forward(Z, out=np.empty_like(Z))
    dZ = g.backward(dA, Z, A)
    dZ_buf = g.backward(dA.copy(), Z, A_buf, out=np.empty_like(Z))
    np.testing.assert_array_equal(A_buf, A)
    np.testing.assert_array_equal(dZ_buf.view(f"u{Z.itemsize}"), dZ.view(f"u{Z.itemsize}"))  # (the signs of zeros too)
    if name == "relu" and not small:  # the mask is cast into a kept scratch, not in the ufunc's 32 KB buffer
        import tracemalloc

        tracemalloc.start()
        try:
            g.backward(dA.copy(), Z, A_buf, out=dZ_buf)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < Z.nbytes + 4096, f"{peak} bytes allocated by ReLU's backward into a buffer"
    if name != "softmax" and dtype == "float64":  # elementwise g: dZ = dA g'(Z), away from ReLU's kink
        h, away = 1e-6, np.abs(Z) > 1e-3
        g_prime = (g.forward(Z + h) - g.forward(Z - h)) / (2 * h)
        np.testing.assert_allclose(dZ[away], (dA * g_prime)[away], rtol=1e-6, atol=1e-9)
        if name in ("relu", "leaky_relu"):  # at Z = 0 the course's choice, g'(0) = 0 (leaky: alpha)
            at0 = Z == 0
            np.testing.assert_array_equal(dZ[at0], (dA * (0.0 if name == "relu" else g.alpha))[at0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 40), (16, 64), (16, 128), (256, 128), (3, ZEROS_CHUNK // 3 + 1), (2, ZEROS_CHUNK + 5),
                                   (7, 2 * ZEROS_CHUNK // 7)])
def test_relu_forward_against_zeros_is_np_maximum_to_the_bit(shape, dtype):
    # ReLU's forward takes max(Z, 0) against an array of zeros, piece by piece on a large Z: the
    # same numbers as np.maximum(Z, 0) (NaN, inf, -0 and the sign of each zero), into out= or not,
    # in place, C or Fortran order, and the zeros it keeps stay zeros
    g = get_activation("relu")
    Z = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    flat = Z.reshape(-1)
    flat[::7], flat[::11], flat[::13], flat[::17] = -0.0, np.nan, np.inf, -np.inf
    ref = np.maximum(Z, 0)
    inplace = Z.copy()
    out = np.full_like(Z, 5.0)
    for A in (g.forward(Z), g.forward(Z, out=out), g.forward(inplace, out=inplace), g.forward(np.asfortranarray(Z)),
              g.forward(Z[:, ::-1])[:, ::-1]):
        np.testing.assert_array_equal(A, ref)
        np.testing.assert_array_equal(np.signbit(A), np.signbit(ref))
    assert g.forward(Z, out=out) is out
    for (key, _, _), zeros in getattr(g, "_buffers", {}).items():
        assert key == "zeros" and not zeros.flags.writeable and not zeros.any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_costs_stay_finite_for_saturated_outputs(dtype):
    AL = np.array([[0.0, 1.0, 1e-30, 1 - 1e-17]], dtype=dtype)
    Y = np.array([[1.0, 0.0, 1.0, 0.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in ("bce", "cce", "mse"):
            assert np.isfinite(get_loss(loss).cost(AL, Y))
        assert np.isfinite(get_loss("bce").dAL(AL, Y)).all()
    # a confident wrong answer costs a lot, but a finite lot
    assert get_loss("bce").cost(AL[:, :1], Y[:, :1]) > 30


def test_notebook_display_is_an_html_table():
    from html.parser import HTMLParser

    class Table(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self.caption, self.cell, self.tags = "", None, []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data
            elif self.tags and self.tags[-1] == "caption":
                self.caption += data

    net = dl.Network([12288, 20, 7, 5, 1], seed=0)
    html = net._repr_html_()
    table = Table()
    table.feed(html)
    assert html.startswith("<table") and html.endswith("</table>")
    assert table.rows == [
        ["l", "layer", "n[l]", "W[l]", "b[l]", "g[l]", "parameters"],
        ["0", "input", "12288", "", "", "", "0"],
        ["1", "hidden", "20", "(20, 12288)", "(20, 1)", "relu", "245,780"],
        ["2", "hidden", "7", "(7, 20)", "(7, 1)", "relu", "147"],
        ["3", "hidden", "5", "(5, 7)", "(5, 1)", "relu", "40"],
        ["4", "output", "1", "(1, 5)", "(1, 1)", "sigmoid", "6"],
    ]
    assert sum(int(r[-1].replace(",", "")) for r in table.rows[1:]) == net.n_params == 245_973
    assert "L = 4 layers" in table.caption and "binary_crossentropy" in table.caption
    assert repr(net).startswith("Network(layer_dims=[12288, 20, 7, 5, 1]")  # the text repr stays


def test_predict_proba_one_pass_in_float32_end_to_end(monkeypatch):
    """Issue 13: 10,000 samples in one pass (chunks only past PREDICT_BYTES), float32 throughout."""
    from deeplayers.workspace import Workspace

    net = dl.Network([20, 16, 3], output="softmax", seed=0, dtype="float32")
    X = np.random.default_rng(0).standard_normal((20, 10_000))  # float64 data
    calls: list[tuple[int, np.dtype]] = []
    linear = Workspace.linear  # Z[l] = W[l] A[l-1] + b[l], once per layer and pass
    monkeypatch.setattr(Workspace, "linear",
                        lambda self, layer, A: (calls.append((A.shape[1], A.dtype)), linear(self, layer, A))[1])
    P = net.predict_proba(X)
    assert P.dtype == np.float32 and P.shape == (3, 10_000)
    assert calls == [(10_000, np.dtype(np.float32)), (10_000, np.dtype(np.float32))]  # one pass, no float64 anywhere
    calls.clear()
    chunked = net.predict_proba(X, batch_size=4096)
    assert [m for m, _ in calls] == [4096, 4096, 4096, 4096, 1808, 1808]
    np.testing.assert_allclose(chunked, P, rtol=1e-5, atol=1e-6)
    # the float64 reference: float32 inference agrees to float32 precision
    ref = dl.Network.from_spec({**net.to_spec(), "dtype": "float64"},
                               {k: v.astype(np.float64) for k, v in net.parameters.items()}).predict_proba(X)
    np.testing.assert_allclose(P, ref, rtol=1e-4, atol=1e-6)
    assert (P.argmax(axis=0) == ref.argmax(axis=0)).mean() > 0.999
    with pytest.raises(dl.ConfigError, match="batch_size must be a positive number of columns or None, got 0"):
        net.predict_proba(X, batch_size=0)


@pytest.mark.parametrize("dims", [[30, 4, 2], [3, 8, 2]])  # n[1] < n[0]: found on Z[1]; n[1] >= n[0]: on X
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_finds_nan_and_inf_in_X_without_a_pass_over_X(dims, bad):
    """Issue 13: predict_proba no longer reads X once just to check it; a NaN or +-inf in X still
    gives the DataError that names its entry (-inf too, which a ReLU would turn into 0)."""
    net = dl.Network(dims, output="softmax", seed=0)
    X = np.random.default_rng(1).standard_normal((dims[0], 50))
    X[2, 41] = bad
    with pytest.raises(dl.DataError, match=r"X contains NaN or infinity \(first at \[2, 41\]\); .* before predicting"):
        net.predict_proba(X)
    with pytest.raises(dl.DataError, match=r"\(first at \[2, 41\]\)"):  # in X's columns, not the chunk's
        net.predict_proba(X, batch_size=16)
    X[2, 41] = 0.0
    np.testing.assert_allclose(net.predict_proba(X), net.forward(X))  # the check changes nothing else


def test_predict_refuses_an_X_that_overflows_Z1():
    """A finite X so large that Z[1] overflows the dtype is an error, not NaN probabilities."""
    net = dl.Network([30, 4, 2], output="softmax", seed=0, dtype="float32")
    X = np.full((30, 5), 3e38, np.float32)
    with pytest.raises(dl.DataError, match="X is too large for float32: Z\\[1\\] = W\\[1\\] X \\+ b\\[1\\] overflows"):
        net.predict_proba(X)
    with pytest.raises(dl.DataError, match="X is too large for float32"):  # in chunks too
        net.predict_proba(X, batch_size=2)


@pytest.mark.parametrize("dims", [[3, 4, 4, 3], [30, 4, 4, 3]])  # Z[1] smaller than X, and not
def test_predict_never_turns_a_nan_A_L_into_a_class(dims):
    """Parameters that are NaN, or finite but overflowing a later Z[l] (what a diverged run leaves),
    once gave NaN probabilities and predict's class 0 for every sample, with no error."""
    X = np.random.default_rng(0).standard_normal((dims[0], 20))
    net = dl.Network(dims, output="softmax", seed=0)
    net.parameters["W2"][...] = 1e300
    net.parameters["W3"][...] = 1e300 * np.array([1, -1, 1, -1])
    for f in (net.predict_proba, net.predict, lambda X: net.predict_proba(X, batch_size=8)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the error, not NumPy's RuntimeWarning first
            with pytest.raises(dl.DataError, match=r"Z\[3\] = W\[3\] A\[2\] \+ b\[3\] overflows float64 for sample 0 "
                               r"\(the largest \|W\[3\]\| is 1e\+300"):
                f(X)
    for l in (1, 2):
        net = dl.Network(dims, seed=0)
        net.parameters[f"b{l}"][1, 0] = np.nan
        with pytest.raises(dl.DataError, match=rf"b\[{l}\] contains NaN or infinity \(first at \[1, 0\]\); the parameters"):
            net.predict(X)
    net.parameters["b2"][1, 0] = 0.0
    np.testing.assert_allclose(net.predict_proba(X), net.forward(X))  # finite: unchanged


def test_assigning_to_parameters_replaces_W_l_after_checking_its_shape():
    """net.parameters["W1"] = W (the course's idiom) once changed a throwaway dict and nothing else."""
    net = dl.Network([3, 4, 1], seed=0)
    W1 = np.arange(12.0).reshape(4, 3)
    net.parameters["W1"] = W1
    np.testing.assert_array_equal(net.layers[0].W, W1)
    assert net.layers[0].W is not W1  # copied, as the setter of the whole dict does
    np.testing.assert_allclose(net.forward(np.eye(3)), 1 / (1 + np.exp(-(net.layers[1].W @ np.maximum(W1, 0)))))
    with pytest.raises(dl.ShapeError, match=r"W\[1\] must be \(n\[1\], n\[0\]\) = \(4, 3\), got \(3, 4\)"):
        net.parameters["W1"] = W1.T
    with pytest.raises(dl.ShapeError, match=r"b\[2\] must be"):
        net.parameters["b2"] = np.zeros((2, 1))
    with pytest.raises(dl.ConfigError, match=r"'W3' is no parameter of this network; its keys are \['W1', 'b1', 'W2', 'b2'\]"):
        net.parameters["W3"] = np.zeros((1, 1))
    with pytest.raises(dl.ConfigError, match="cannot be removed"):
        del net.parameters["b1"]
    with pytest.raises(dl.ConfigError, match=r"\['W3'\] belong to no layer of this network"):
        net.parameters = {**net.parameters, "W3": np.zeros((1, 1))}
    with pytest.raises(dl.DataError, match=r"W\[1\] has dtype complex128; it must hold real numbers"):
        dl.Network.from_parameters({"W1": np.ones((2, 3)) + 1j, "b1": np.zeros((2, 1))})
    assert list(net.parameters) == ["W1", "b1", "W2", "b2"] and dict(net.parameters)["W1"] is net.layers[0].W


def test_a_bool_is_no_layer_size():
    with pytest.raises(dl.ShapeError, match=r"n\[1\] must be a positive integer, got True in layer_dims=\[3, True, 1\]"):
        dl.Network([3, True, 1])


def test_a_softmax_over_one_unit_is_refused():
    """It was built: A[L] = 1 for every sample, every gradient 0, predict always 0 (and gradcheck passed)."""
    with pytest.raises(dl.ConfigError, match=r"a softmax over n\[2\] = 1 unit is always 1 and learns nothing: give "
                       r"n\[2\] = the number of classes \(>= 2\), or output='sigmoid'"):
        dl.Network([3, 4, 1], output="softmax")
    assert dl.Network([3, 4, 2], output="softmax").layer_dims == [3, 4, 2]


@pytest.mark.parametrize("seed", [-1, 1.5, "a", True, 2**32])
def test_a_seed_numpy_cannot_take_is_a_config_error(seed):
    """seed=-1 or 1.5 once raised NumPy's own ValueError / TypeError from deep inside the initializer."""
    with pytest.raises(dl.ConfigError, match=r"seed must be a whole number from 0 to 2\*\*32 - 1 \(or None\), got "):
        dl.Network([3, 4, 1], seed=seed)
    assert dl.Network([3, 4, 1], seed=np.int64(3)).to_spec()["seed"] == 3


def test_finite_values_past_float32s_range_are_not_called_infinity():
    """X * 1e39 is finite; the float32 cast made it inf, and the message said 'contains NaN or infinity'."""
    X = np.random.default_rng(0).standard_normal((5, 10))
    X[2, 3] = 2e39
    with pytest.raises(dl.DataError, match=r"^X holds values beyond float32's range \(its largest magnitude is 2e\+39, "
                       r"the limit 3.4e\+38\): scale it, or use dtype='float64'$"):
        dl.Network([5, 4, 1], dtype="float32").predict_proba(X)
    assert np.isfinite(dl.Network([5, 4, 1], dtype="float64").predict_proba(X)).all()


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the error says it all: no NumPy warning first
def test_a_cost_already_infinite_before_any_update_blames_the_data_not_the_learning_rate():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 10)), rng.standard_normal((1, 10)) * 1e200
    with pytest.raises(dl.DivergenceError, match=r"^the cost of the first batch is inf, before any update: X or Y holds "
                       r"values too large for the cost in float64\. Scale them .*; the learning rate \(0.01\) is not the cause"):
        dl.Network([5, 4, 1], output="linear", seed=0).fit(X, Y, learning_rate=0.01, epochs=3)
    with pytest.raises(dl.DivergenceError, match=r"diverged at iteration \d+ .* try a smaller learning rate \(it was 10\)"):
        dl.Network([5, 4, 1], output="linear", seed=0).fit(X, Y / 1e200, learning_rate=10.0, epochs=50)
