"""The course's functions: published numbers on the real cat data, and agreement with a direct
transcription of the course's code on hand-built inputs."""

from __future__ import annotations

import numpy as np
import pytest

from deeplayers import course

# -- a direct transcription of the course's helper functions (the independent reference) ---------


def ref_sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def ref_forward(X, parameters):
    caches, A, L = [], X, len(parameters) // 2
    for l in range(1, L + 1):
        A_prev, W, b = A, parameters["W" + str(l)], parameters["b" + str(l)]
        Z = np.dot(W, A_prev) + b
        A = ref_sigmoid(Z) if l == L else np.maximum(0, Z)
        caches.append(((A_prev, W, b), Z))
    return A, caches


def ref_cost(AL, Y):
    m = Y.shape[1]
    return float(np.squeeze((1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))))


def ref_linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def ref_backward(AL, Y, caches):
    grads, L = {}, len(caches)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    (lin, Z) = caches[L - 1]
    s = ref_sigmoid(Z)
    dZ = dAL * s * (1 - s)
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = ref_linear_backward(dZ, lin)
    for l in reversed(range(L - 1)):
        lin, Z = caches[l]
        dZ = np.array(grads["dA" + str(l + 1)], copy=True)
        dZ[Z <= 0] = 0
        grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = ref_linear_backward(dZ, lin)
    return grads


@pytest.fixture
def small():
    rng = np.random.RandomState(3)
    X = rng.randn(5, 8)
    Y = (rng.rand(1, 8) > 0.5).astype(float)
    params = {"W1": rng.randn(4, 5), "b1": rng.randn(4, 1), "W2": rng.randn(3, 4), "b2": rng.randn(3, 1),
              "W3": rng.randn(1, 3), "b3": rng.randn(1, 1)}
    return X, Y, params


def test_initializers_follow_the_course_stream():
    p = course.initialize_parameters_deep([12288, 20, 7, 5, 1])
    np.random.seed(1)  # the course's own code
    for l, (n, n_prev) in enumerate([(20, 12288), (7, 20), (5, 7), (1, 5)], start=1):
        W = np.random.randn(n, n_prev) / np.sqrt(n_prev)
        assert np.array_equal(p["W" + str(l)], W)
        assert np.array_equal(p["b" + str(l)], np.zeros((n, 1)))
    q = course.initialize_parameters(3, 2, 1)
    np.random.seed(1)
    assert np.array_equal(q["W1"], np.random.randn(2, 3) * 0.01)
    assert np.array_equal(q["W2"], np.random.randn(1, 2) * 0.01)
    assert course.initialize_parameters(3, 2, 1, seed=2)["W1"][0, 0] != q["W1"][0, 0]


def test_forward_cost_backward_match_the_transcription(small):
    X, Y, params = small
    AL, caches = course.L_model_forward(X, params)
    AL_ref, caches_ref = ref_forward(X, params)
    np.testing.assert_allclose(AL, AL_ref, rtol=1e-14)
    assert len(caches) == 3
    for ((A_prev, W, b), Z), ((A_ref, W_ref, b_ref), Z_ref) in zip(caches, caches_ref):
        np.testing.assert_allclose(A_prev, A_ref, rtol=1e-14)
        assert W is not None and np.array_equal(W, W_ref) and np.array_equal(b, b_ref)
        np.testing.assert_allclose(Z, Z_ref, rtol=1e-14, atol=1e-15)
    assert course.compute_cost(AL, Y) == pytest.approx(ref_cost(AL_ref, Y), rel=1e-14)
    grads = course.L_model_backward(AL, Y, caches)
    ref = ref_backward(AL_ref, Y, caches_ref)
    assert set(grads) == set(ref) == {"dA0", "dA1", "dA2", "dW1", "dW2", "dW3", "db1", "db2", "db3"}
    for k in ref:
        np.testing.assert_allclose(grads[k], ref[k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_hand_built_caches_and_single_steps(small):
    X, Y, params = small
    W, b = params["W1"], params["b1"]
    Z, lin_cache = course.linear_forward(X, W, b)
    np.testing.assert_allclose(Z, W @ X + b, rtol=1e-14)
    assert lin_cache[0] is not None and len(lin_cache) == 3
    for act, g in (("relu", lambda z: np.maximum(0, z)), ("sigmoid", ref_sigmoid)):
        A, cache = course.linear_activation_forward(X, W, b, act)
        np.testing.assert_allclose(A, g(W @ X + b), rtol=1e-14)
        (A_prev, W_c, b_c), Z_c = cache
        np.testing.assert_allclose(Z_c, W @ X + b, rtol=1e-14)
    dZ = np.random.RandomState(0).randn(4, 8)
    hand_cache = (X.tolist(), W, b)  # lists are accepted too, as long as the shapes are right
    for got, want in zip(course.linear_backward(dZ, hand_cache), ref_linear_backward(dZ, (X, W, b))):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    dA = np.random.RandomState(1).randn(4, 8)
    Zh = W @ X + b
    dA_prev, dW, db = course.linear_activation_backward(dA, ((X, W, b), Zh), "relu")
    dZ_ref = np.array(dA, copy=True)
    dZ_ref[Zh <= 0] = 0
    for got, want in zip((dA_prev, dW, db), ref_linear_backward(dZ_ref, (X, W, b))):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    s = ref_sigmoid(Zh)
    got = course.linear_activation_backward(dA, ((X, W, b), Zh), "sigmoid")
    for g, want in zip(got, ref_linear_backward(dA * s * (1 - s), (X, W, b))):
        np.testing.assert_allclose(g, want, rtol=1e-12)


def test_update_parameters_and_predict(small, capsys):
    X, Y, params = small
    AL, caches = course.L_model_forward(X, params)
    grads = course.L_model_backward(AL, Y, caches)
    new = course.update_parameters(params, grads, 0.1)
    for l in (1, 2, 3):
        np.testing.assert_allclose(new[f"W{l}"], params[f"W{l}"] - 0.1 * grads[f"dW{l}"], rtol=1e-15)
        np.testing.assert_allclose(new[f"b{l}"], params[f"b{l}"] - 0.1 * grads[f"db{l}"], rtol=1e-15)
    assert not np.array_equal(new["W1"], params["W1"])  # a new dict; the input is untouched
    p = course.predict(X, Y, params)
    assert p.shape == (1, 8) and set(np.unique(p)) <= {0, 1}
    np.testing.assert_array_equal(p, (ref_forward(X, params)[0] > 0.5).astype(int))
    out = capsys.readouterr().out
    assert out.startswith("Accuracy: ") and float(out.split()[1]) == pytest.approx(np.mean(p == Y))


# -- the published results on the real cat data ---------------------------------------------------


def test_two_layer_model_published_cost_at_iteration_0(cat_data):
    X, Y, _, _ = cat_data
    _, costs = course.two_layer_model(X, Y, (12288, 7, 1), learning_rate=0.0075, num_iterations=1)
    assert abs(costs[0] - 0.6930497356599888) < 1e-9


def test_L_layer_model_published_costs_at_iterations_0_and_100(cat_data, capsys):
    X, Y, _, _ = cat_data
    _, costs = course.L_layer_model(X, Y, [12288, 20, 7, 5, 1], num_iterations=101, print_cost=True)
    assert abs(costs[0] - 0.7717493284237686) < 1e-9
    assert abs(costs[1] - 0.6720534400822914) < 1e-9
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Cost after iteration 0: {costs[0]}"
    assert out[1] == f"Cost after iteration 100: {costs[1]}"


def test_the_models_take_fits_threads_option(cat_data, monkeypatch):
    """threads= reaches the one training loop's BLAS setting (the benchmark's --threads uses it) and
    is checked there, with the course's numbers unchanged."""
    from deeplayers import threads
    from deeplayers.errors import ConfigError

    X, Y, _, _ = cat_data
    counts: list[int] = []
    apply = threads.BlasThreads.apply

    def recording(self):  # type: ignore[no-untyped-def]
        counts.append(self.count)
        return apply(self)

    monkeypatch.setattr(threads.BlasThreads, "apply", recording)
    _, costs = course.L_layer_model(X, Y, [12288, 20, 7, 5, 1], num_iterations=1, threads=1)
    assert counts == [1] and abs(costs[0] - 0.7717493284237686) < 1e-9
    course.two_layer_model(X, Y, (12288, 7, 1), num_iterations=1, threads=-1)
    assert counts[1] == threads.available_cores()
    with pytest.raises(ConfigError, match="threads must not be 0"):
        course.L_layer_model(X, Y, [12288, 20, 7, 5, 1], num_iterations=1, threads=0)


@pytest.mark.slow
def test_two_layer_model_full_run(cat_data, capsys):
    X, Y, Xt, Yt = cat_data
    params, costs = course.two_layer_model(X, Y, (12288, 7, 1), learning_rate=0.0075, num_iterations=2500)
    assert len(costs) == 25
    assert abs(costs[0] - 0.6930497356599888) < 1e-9
    assert abs(costs[24] - 0.048554785628770226) < 1e-9
    # two_layer_model's parameters go through the same relu/sigmoid forward as the course's predict
    assert np.mean(course.predict(X, Y, params) == Y) == pytest.approx(1.0)
    assert np.mean(course.predict(Xt, Yt, params) == Yt) == pytest.approx(0.72)


@pytest.mark.slow
def test_L_layer_model_full_run(cat_data):
    X, Y, Xt, Yt = cat_data
    params, costs = course.L_layer_model(X, Y, [12288, 20, 7, 5, 1], num_iterations=2500)
    assert abs(costs[0] - 0.7717493284237686) < 1e-9
    assert abs(costs[1] - 0.6720534400822914) < 1e-9
    assert abs(costs[24] - 0.09287821526472397) < 1e-9
    assert np.mean(course.predict(X, Y, params) == Y) == pytest.approx(0.985645933014)
    assert np.mean(course.predict(Xt, Yt, params) == Yt) == pytest.approx(0.8)


# -- fidelity for ANY inputs of the right shapes (issue 11): not only what the engine would produce --


def ref_relu_backward(dA, Z):
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def ref_sigmoid_backward(dA, Z):
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def ref_linear_activation_backward(dA, cache, activation):
    linear_cache, Z = cache
    dZ = ref_relu_backward(dA, Z) if activation == "relu" else ref_sigmoid_backward(dA, Z)
    return ref_linear_backward(dZ, linear_cache)


def ref_update_parameters(parameters, grads, learning_rate):
    out = dict(parameters)
    for l in range(len(parameters) // 2):
        out["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]
        out["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]
    return out


def random_caches(rng, dims, m):
    """Caches of the right shapes whose A_prev, Z are drawn independently: A[l] != relu(Z[l]), Z != W A + b."""
    caches = []
    for l in range(1, len(dims)):
        lin = (rng.randn(dims[l - 1], m), rng.randn(dims[l], dims[l - 1]), rng.randn(dims[l], 1))
        caches.append((lin, rng.randn(dims[l], m)))
    return caches


@pytest.mark.parametrize("dims", [[3, 1], [4, 3, 1], [6, 5, 2, 3, 1]], ids=["L=1", "L=2", "L=4"])
@pytest.mark.parametrize("m", [1, 7])
def test_L_model_backward_is_the_course_chain_for_independent_AL_and_caches(dims, m):
    rng = np.random.RandomState(len(dims) * 10 + m)
    caches = random_caches(rng, dims, m)
    AL = rng.uniform(0.02, 0.98, (1, m))
    Y = (rng.rand(1, m) > 0.5).astype(float)
    Z_L = caches[-1][1]
    assert not np.allclose(AL, ref_sigmoid(Z_L))  # the case where the fused dZ[L] = AL - Y is wrong
    grads = course.L_model_backward(AL, Y, caches)
    ref = ref_backward(AL, Y, caches)
    L = len(dims) - 1
    want_keys = {f"dA{l}" for l in range(L)} | {f"dW{l}" for l in range(1, L + 1)} | {f"db{l}" for l in range(1, L + 1)}
    assert set(grads) == set(ref) == want_keys
    for k in ref:
        assert grads[k].shape == ref[k].shape, k
        np.testing.assert_allclose(grads[k], ref[k], rtol=1e-12, atol=1e-14, err_msg=k)
    # what the fused shortcut would have given for the output layer differs from the course's answer
    fused_dW = (AL - Y) @ caches[-1][0][0].T / m
    assert not np.allclose(fused_dW, ref[f"dW{L}"])
    # the course reshapes Y to AL's shape: a flat Y of m labels is the same call
    flat = course.L_model_backward(AL, Y.ravel(), caches)
    for k in ref:
        np.testing.assert_array_equal(flat[k], grads[k])


def test_L_model_backward_keeps_the_course_output_for_fractional_labels_and_float32_caches():
    rng = np.random.RandomState(5)
    caches = random_caches(rng, [4, 3, 2], 6)
    AL, Y = rng.uniform(0.1, 0.9, (2, 6)), rng.rand(2, 6)  # two sigmoid units, soft labels
    ref = ref_backward(AL, Y, caches)
    grads = course.L_model_backward(AL, Y, caches)
    for k in ref:
        np.testing.assert_allclose(grads[k], ref[k], rtol=1e-12, atol=1e-14, err_msg=k)
    c32 = [((A.astype(np.float32), W.astype(np.float32), b.astype(np.float32)), Z.astype(np.float32))
           for (A, W, b), Z in caches]
    ref32 = ref_backward(AL.astype(np.float32), Y.astype(np.float32), c32)
    grads32 = course.L_model_backward(AL.astype(np.float32), Y.astype(np.float32), c32)
    for k in ref32:
        assert grads32[k].dtype == ref32[k].dtype == np.float32, k
        np.testing.assert_allclose(grads32[k], ref32[k], rtol=2e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_linear_activation_backward_reads_Z_from_the_cache_not_W_A_plus_b(activation):
    rng = np.random.RandomState(11)
    (A_prev, W, b), Z = random_caches(rng, [5, 3], 4)[0]
    Z[0, 0] = 0.0  # the course's relu derivative is 0 at Z == 0
    dA = rng.randn(3, 4)
    got = course.linear_activation_backward(dA, ((A_prev, W, b), Z), activation)
    want = ref_linear_activation_backward(dA, ((A_prev, W, b), Z), activation)
    for g, w, name in zip(got, want, ("dA_prev", "dW", "db")):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=name)
    # m = 1 and float32 caches keep the course's shapes and dtype
    (A1, W1, b1), Z1 = random_caches(rng, [2, 4], 1)[0]
    c32 = ((A1.astype(np.float32), W1.astype(np.float32), b1.astype(np.float32)), Z1.astype(np.float32))
    d32 = rng.randn(4, 1).astype(np.float32)
    got32 = course.linear_activation_backward(d32, c32, activation)
    for g, w in zip(got32, ref_linear_activation_backward(d32, c32, activation)):
        assert g.dtype == w.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def test_forward_functions_match_the_course_for_any_shapes_and_dtypes():
    rng = np.random.RandomState(2)
    for n, n_prev, m in [(1, 1, 1), (3, 7, 1), (7, 3, 5)]:
        A, W, b = rng.randn(n_prev, m), rng.randn(n, n_prev), rng.randn(n, 1)
        Z, cache = course.linear_forward(A, W, b)
        np.testing.assert_array_equal(Z, np.dot(W, A) + b)
        assert all(x is y for x, y in zip(cache, (A, W, b)))
        for act, g in (("relu", lambda z: np.maximum(0, z)), ("sigmoid", ref_sigmoid)):
            A_out, ((Ac, Wc, bc), Zc) = course.linear_activation_forward(A, W, b, act)
            np.testing.assert_array_equal(Zc, np.dot(W, A) + b)
            np.testing.assert_allclose(A_out, g(np.dot(W, A) + b), rtol=1e-15)
            assert Ac is A and Wc is W and bc is b
    # float32 parameters and a float64 X: the course's np.dot gives float64, so does deeplayers
    params = {"W1": rng.randn(4, 3).astype(np.float32), "b1": np.zeros((4, 1), np.float32),
              "W2": rng.randn(1, 4).astype(np.float32), "b2": np.zeros((1, 1), np.float32)}
    X = rng.randn(3, 6)
    AL, caches = course.L_model_forward(X, params)
    AL_ref, caches_ref = ref_forward(X, params)
    assert AL.dtype == AL_ref.dtype == np.float64
    np.testing.assert_allclose(AL, AL_ref, rtol=1e-14)
    for ((A, _, _), Z), ((A_r, _, _), Z_r) in zip(caches, caches_ref):
        np.testing.assert_allclose(A, A_r, rtol=1e-14)
        np.testing.assert_allclose(Z, Z_r, rtol=1e-13, atol=1e-15)


def test_compute_cost_is_the_course_formula_for_any_probabilities():
    rng = np.random.RandomState(4)
    for m in (1, 2, 9):
        AL, Y = rng.uniform(1e-6, 1 - 1e-6, (1, m)), (rng.rand(1, m) > 0.5).astype(float)
        assert course.compute_cost(AL, Y) == pytest.approx(ref_cost(AL, Y), rel=1e-13)
        soft = rng.rand(1, m)
        assert course.compute_cost(AL, soft) == pytest.approx(ref_cost(AL, soft), rel=1e-13)
    # an exact 0 where the label is 1 costs infinity, as the formula (the course returns inf with a warning)
    assert course.compute_cost(np.array([[0.0, 0.5]]), np.array([[1.0, 0.0]])) == float("inf")
    assert course.compute_cost(np.array([[1.0, 0.5]]), np.array([[0.0, 0.0]])) == float("inf")
    # an exact 0 where the label agrees adds nothing (the course's 0 * log 0 would be NaN)
    assert course.compute_cost(np.array([[0.0, 0.5]]), np.array([[0.0, 1.0]])) == pytest.approx(np.log(2) / 2, rel=1e-15)


def test_update_parameters_is_the_course_formula_for_any_learning_rate():
    rng = np.random.RandomState(6)
    dims = [4, 1, 3, 1]  # a one-unit hidden layer: non-square everywhere
    params = {}
    grads = {}
    for l in range(1, 4):
        params[f"W{l}"], params[f"b{l}"] = rng.randn(dims[l], dims[l - 1]), rng.randn(dims[l], 1)
        grads[f"dW{l}"], grads[f"db{l}"] = rng.randn(dims[l], dims[l - 1]), rng.randn(dims[l], 1)
    before = {k: v.copy() for k, v in params.items()}
    for lr in (0.0075, 1.3, 0, -0.5):
        new = course.update_parameters(params, grads, lr)
        want = ref_update_parameters(params, grads, lr)
        assert set(new) == set(want)
        for k in want:
            np.testing.assert_array_equal(new[k], want[k], err_msg=f"{k} at learning_rate={lr}")
    for k in before:
        np.testing.assert_array_equal(params[k], before[k])  # the input dict is untouched


def test_predict_returns_the_course_float_predictions(capsys):
    rng = np.random.RandomState(8)
    params = {"W1": rng.randn(3, 2), "b1": rng.randn(3, 1), "W2": rng.randn(1, 3), "b2": rng.randn(1, 1)}
    X, y = rng.randn(2, 11), (rng.rand(1, 11) > 0.5).astype(int)
    p = course.predict(X, y, params)
    probas, _ = ref_forward(X, params)
    want = np.zeros((1, 11))
    for i in range(11):
        want[0, i] = 1 if probas[0, i] > 0.5 else 0
    assert p.dtype == want.dtype and p.shape == want.shape
    np.testing.assert_array_equal(p, want)
    assert capsys.readouterr().out == "Accuracy: " + str(np.sum((want == y) / 11)) + "\n"


def test_course_functions_raise_the_library_errors_with_the_notation():
    from deeplayers.errors import ConfigError, DataError, ShapeError

    rng = np.random.RandomState(9)
    caches = random_caches(rng, [3, 2, 1], 4)
    AL, Y = rng.uniform(0.1, 0.9, (1, 4)), np.array([[1.0, 0, 1, 0]])
    with pytest.raises(ShapeError, match=r"^cache must be \(\(A_prev, W, b\), Z\), as linear_activation_forward returns; "
                                         r"got a tuple of 3 items$"):
        course.linear_activation_backward(np.ones((2, 4)), caches[0][0], "relu")
    with pytest.raises(ShapeError, match=r"^cache must be \(A_prev, W, b\), as linear_forward returns; got a tuple of 2 items$"):
        course.linear_backward(np.ones((2, 4)), caches[0])
    with pytest.raises(ShapeError, match=r"^cache must be \(A_prev, W, b\), as linear_forward returns; got None$"):
        course.linear_backward(np.ones((2, 4)), None)
    with pytest.raises(ShapeError, match=r"^caches\[1\] must be \(\(A_prev, W, b\), Z\), as linear_activation_forward "
                                         r"returns; got an int$"):
        course.L_model_backward(AL, Y, [caches[0], 7])
    with pytest.raises(ShapeError, match=r"^caches must be the list of L caches that L_model_forward returns, "
                                         r"got a list of 0 items$"):
        course.L_model_backward(AL, Y, [])
    with pytest.raises(ShapeError, match=r"^caches disagree: W\[2\] in caches\[1\] is \(1, 2\), so n\[1\] = 2, "
                                         r"but W\[1\] in caches\[0\] is \(3, 3\)$"):
        course.L_model_backward(AL, Y, [random_caches(rng, [3, 3], 4)[0], caches[1]])
    with pytest.raises(ShapeError, match=r"^Z\[2\] must be \(n\[2\], m\) = \(1, 4\), got \(4, 1\)$"):
        course.L_model_backward(AL, Y, [caches[0], (caches[1][0], caches[1][1].T)])
    with pytest.raises(ShapeError, match=r"^AL must be \(n\[2\], m\) = \(1, 4\) like Z\[2\] in the last cache, got \(1, 3\)$"):
        course.L_model_backward(AL[:, :3], Y, caches)
    with pytest.raises(ShapeError, match=r"^Y must be \(n\[2\], m\) = \(1, 4\), got \(4, 1\): samples go in columns"):
        course.L_model_backward(AL, np.ones((4, 1)), caches)
    with pytest.raises(DataError, match=r"^AL holds an exact 0 or 1 \(first at \[0, 2\]\): dAL = -\(Y/AL - \(1-Y\)/\(1-AL\)\) "
                                        r"divides by zero there"):
        course.L_model_backward(np.array([[0.5, 0.5, 1.0, 0.5]]), Y, caches)
    with pytest.raises(DataError, match=r"^AL contains NaN or infinity \(first at \[0, 3\]\); L_model_backward needs"):
        course.L_model_backward(np.array([[0.5, 0.5, 0.5, np.inf]]), Y, caches)
    with pytest.raises(DataError, match=r"^AL must hold probabilities in \[0, 1\] \(the sigmoid output A\[L\]\) for "
                                        r"compute_cost, found 0\.5 \.\. 1\.5$"):
        course.compute_cost(np.array([[0.5, 1.5]]), np.array([[1.0, 0.0]]))
    with pytest.raises(DataError, match=r"^AL contains NaN or infinity \(first at \[0, 1\]\); compute_cost needs"):
        course.compute_cost(np.array([[0.5, np.nan]]), np.array([[1.0, 0.0]]))
    with pytest.raises(DataError, match=r"^A_prev has dtype <U\d+; it must hold numbers"):
        course.linear_backward(np.ones((2, 4)), (np.full((3, 4), "x"), caches[0][0][1], caches[0][0][2]))
    params = {"W1": np.ones((2, 3)), "b1": np.zeros((2, 1))}
    with pytest.raises(DataError, match=r"^grads is missing db1: it must hold dW1, db1 \(as L_model_backward returns\)$"):
        course.update_parameters(params, {"dW1": np.ones((2, 3))}, 0.1)
    with pytest.raises(ShapeError, match=r"^dW\[1\] must be \(n\[1\], n\[0\]\) = \(2, 3\), got \(3, 2\)$"):
        course.update_parameters(params, {"dW1": np.ones((3, 2)), "db1": np.zeros((2, 1))}, 0.1)
    with pytest.raises(ConfigError, match=r"^learning_rate must be a finite number, got nan$"):
        course.update_parameters(params, {"dW1": np.ones((2, 3)), "db1": np.zeros((2, 1))}, float("nan"))
    with pytest.raises(ShapeError, match=r"^Y must be \(n\[L\], m\) = \(1, 5\), got \(5,\): labels must be a row"):
        course.predict(np.ones((3, 5)), np.ones(5), params | {"W1": np.ones((1, 3)), "b1": np.zeros((1, 1))})


def test_the_course_own_test_cases_give_its_published_outputs():
    """The course's unit test cases (seeded as in its testCases module) and the expected outputs its notebook prints."""
    def near(got, published):
        np.testing.assert_allclose(got, np.array(published), rtol=0, atol=6e-9)

    np.random.seed(3)  # L_model_backward_test_case: AL drawn with randn, 1.79 > 1 included, caches independent
    AL, Y = np.random.randn(1, 2), np.array([[1, 0]])
    c1 = ((np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1)), np.random.randn(3, 2))
    c2 = ((np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)), np.random.randn(1, 2))
    grads = course.L_model_backward(AL, Y, (c1, c2))
    near(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167], [0, 0, 0, 0],
                        [0.05283652, 0.01005865, 0.01777766, 0.0135308]])
    near(grads["db1"], [[-0.22007063], [0], [-0.02835349]])
    near(grads["dA1"], [[0.12913162, -0.44014127], [-0.14175655, 0.48317296], [0.01663708, -0.05670698]])

    np.random.seed(1)  # linear_backward_test_case
    dZ, A, W, b = np.random.randn(3, 4), np.random.randn(5, 4), np.random.randn(3, 5), np.random.randn(3, 1)
    dA_prev, dW, db = course.linear_backward(dZ, (A, W, b))
    near(dA_prev[:, 0], [-1.15171336, 0.60345879, -0.4319552, -0.38981415, -2.52214926])
    near(dW, [[0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716],
              [0.85508818, 0.37530413, -0.59912655, 0.71278189, -0.58931808],
              [0.97913304, -0.24376494, -0.08839671, 0.55151192, -0.10290907]])
    near(db, [[-0.14713786], [-0.11313155], [-0.13209101]])

    np.random.seed(2)  # linear_activation_backward_test_case
    dA, A, W, b, Z = (np.random.randn(*s) for s in ((1, 2), (3, 2), (1, 3), (1, 1), (1, 2)))
    dA_prev, dW, db = course.linear_activation_backward(dA, ((A, W, b), Z), "sigmoid")
    near(dA_prev, [[0.11017994, 0.01105339], [0.09466817, 0.00949723], [-0.05743092, -0.00576154]])
    near(dW, [[0.10266786, 0.09778551, -0.01968084]])
    near(db, [[-0.05729622]])
    dA_prev, dW, db = course.linear_activation_backward(dA, ((A, W, b), Z), "relu")
    near(dA_prev, [[0.44090989, 0], [0.37883606, 0], [-0.2298228, 0]])
    near(dW, [[0.44513824, 0.37371418, -0.10478989]])
    near(db, [[-0.20837892]])

    np.random.seed(2)  # update_parameters_test_case: parameters after seed(2), grads after seed(3)
    params = {"W1": np.random.randn(3, 4), "b1": np.random.randn(3, 1), "W2": np.random.randn(1, 3), "b2": np.random.randn(1, 1)}
    np.random.seed(3)
    grads = {"dW1": np.random.randn(3, 4), "db1": np.random.randn(3, 1), "dW2": np.random.randn(1, 3),
             "db2": np.random.randn(1, 1)}
    new = course.update_parameters(params, grads, 0.1)
    near(new["W1"], [[-0.59562069, -0.09991781, -2.14584584, 1.82662008], [-1.76569676, -0.80627147, 0.51115557, -1.18258802],
                     [-1.0535704, -0.86128581, 0.68284052, 2.20374577]])
    near(new["b1"], [[-0.04659241], [-1.28888275], [0.53405496]])
    near(new["W2"], [[-0.55569196, 0.0354055, 1.32964895]])
    near(new["b2"], [[-0.84610769]])

    np.random.seed(1)  # linear_forward_test_case
    A, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    near(course.linear_forward(A, W, b)[0], [[3.26295337, -1.23429987]])
    np.random.seed(2)  # linear_activation_forward_test_case
    A, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    near(course.linear_activation_forward(A, W, b, "sigmoid")[0], [[0.96890023, 0.11013289]])
    near(course.linear_activation_forward(A, W, b, "relu")[0], [[3.43896131, 0]])
    np.random.seed(6)  # L_model_forward_test_case_2hidden
    X = np.random.randn(5, 4)
    P = {}
    for l, shape in enumerate([(4, 5), (3, 4), (1, 3)], start=1):
        P[f"W{l}"], P[f"b{l}"] = np.random.randn(*shape), np.random.randn(shape[0], 1)
    AL, caches = course.L_model_forward(X, P)
    near(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])
    assert len(caches) == 3
    assert course.compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]])) == pytest.approx(0.2797765635793422, rel=1e-14)
    p = course.initialize_parameters_deep([5, 4, 3], seed=3, method="small")  # the step-by-step notebook's initializer
    near(p["W1"][0], [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388])
    near(p["W2"][2], [-0.00768836, -0.00230031, 0.00745056, 0.01976111])


def test_two_layer_model_refuses_layers_dims_that_are_not_n_x_n_h_n_y():
    """The course's two_layer_model unpacks (n_x, n_h, n_y): 4 sizes used to train 3 layers silently."""
    from deeplayers.errors import ConfigError

    rng = np.random.RandomState(5)
    X, Y = rng.randn(3, 6), np.array([[0.0, 1, 1, 0, 1, 0]])
    for dims in ((3, 4, 2, 1), [3, 1], [3]):
        with pytest.raises(ConfigError, match=rf"^two_layer_model takes layers_dims = \(n_x, n_h, n_y\), 3 sizes, got "
                                              rf"{len(dims)}: \[{', '.join(map(str, dims))}\]; L_layer_model\(X, Y, "
                                              r"layers_dims\) trains \[n0, n1, \.\.\., nL\] of any depth$"):
            course.two_layer_model(X, Y, dims, num_iterations=1)
    params, _ = course.two_layer_model(X, Y, (3, 4, 1), num_iterations=1)
    assert sorted(params) == ["W1", "W2", "b1", "b2"]


def test_the_initializers_check_layer_dims_as_Network_does():
    from deeplayers import Network
    from deeplayers.errors import ShapeError

    for dims, message in (([3, 0, 1], r"n\[1\] must be a positive integer, got 0 in layer_dims=\[3, 0, 1\]"),
                          ([4], r"layer_dims must hold at least two sizes \[n0, \.\.\., nL\] \(input and output\), got \[4\]"),
                          ([4, 3.5, 1], r"n\[1\] must be a positive integer, got 3\.5 in layer_dims=\[4, 3\.5, 1\]"),
                          ([-2, 1], r"n\[0\] must be a positive integer, got -2 in layer_dims=\[-2, 1\]"),
                          ([4, True, 1], r"n\[1\] must be a positive integer, got True in layer_dims=\[4, True, 1\]")):
        with pytest.raises(ShapeError, match=f"^{message}$"):
            course.initialize_parameters_deep(dims)
        with pytest.raises(ShapeError, match=f"^{message}$"):  # the same words as the engine's
            Network(dims)
    with pytest.raises(ShapeError, match=r"^n\[1\] must be a positive integer, got 0 in layer_dims=\[2, 0, 1\]$"):
        course.initialize_parameters(2, 0, 1)
    # a whole-number float is a size, as Network takes it: the course's numbers for [4, 3, 1]
    p = course.initialize_parameters_deep([4, 3.0, np.float64(1.0)])
    np.random.seed(1)
    W1, W2 = np.random.randn(3, 4) / np.sqrt(4), np.random.randn(1, 3) / np.sqrt(3)
    assert np.array_equal(p["W1"], W1) and np.array_equal(p["W2"], W2)
    assert p["b1"].shape == (3, 1) and p["b2"].shape == (1, 1)
    assert course.initialize_parameters(3.0, 2, 1)["W1"].shape == (2, 3)


def test_predict_refuses_labels_that_are_not_0_or_1(capsys):
    """predict's accuracy counts p == y: labels 0/2 used to print 'Accuracy: 0.0' without complaint."""
    from deeplayers.errors import DataError

    rng = np.random.RandomState(8)
    params = {"W1": rng.randn(3, 2), "b1": rng.randn(3, 1), "W2": rng.randn(1, 3), "b2": rng.randn(1, 1)}
    X, y = rng.randn(2, 5), np.array([[0.0, 1, 1, 0, 1]])
    with pytest.raises(DataError, match=r"^y must hold values in \[0, 1\] for the accuracy \(found 0 \.\. 2\); "
                                        r"labels are 0 \(non-cat\) or 1 \(cat\)$"):
        course.predict(X, 2 * y, params)
    with pytest.raises(DataError, match=r"^Y must hold values in \[0, 1\] for the cross-entropy cost \(found 0 \.\. 2\); "
                                        r"labels are 0 \(non-cat\) or 1 \(cat\)$"):  # compute_cost's words for the same labels
        course.compute_cost(np.full((1, 5), 0.5), 2 * y)
    with pytest.raises(DataError, match=r"^y must hold the labels 0 \(non-cat\) or 1 \(cat\) for the accuracy, "
                                        r"found 0\.5 at \[0, 1\]$"):
        course.predict(X, y * 0.5, params)
    with pytest.raises(DataError, match=r"^y contains NaN or infinity \(first at \[0, 2\]\); labels are 0 \(non-cat\) or 1"):
        course.predict(X, np.where(np.arange(5) == 2, np.nan, y), params)
    with pytest.raises(DataError, match=r"^Y contains NaN or infinity \(first at \[0, 2\]\); labels are 0 \(non-cat\) or 1"):
        course.compute_cost(np.full((1, 5), 0.5), np.where(np.arange(5) == 2, np.nan, y))
    assert capsys.readouterr().out == ""  # no accuracy printed for labels it cannot count
    p = course.predict(X, y.astype(bool), params)  # True/False labels are 1/0
    assert capsys.readouterr().out == "Accuracy: " + str(np.sum((p == y) / 5)) + "\n"
