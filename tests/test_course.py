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
