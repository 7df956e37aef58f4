"""Training, early stopping and gradient checks against independent computations: a plain NumPy
transcription of the course's loop, accuracies counted by hand, and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.activations import ReLU
from deeplayers.cli import main
from deeplayers.training import EarlyStopping


# -- Network.fit against a NumPy loop ----------------------------------------------------------------
def _reference_fit(P: dict, X: np.ndarray, Y: np.ndarray, optimizer: str, lr: float, epochs: int, B: int,
                   l2: float, w: np.ndarray, seed: int) -> tuple[dict, list[float]]:
    """relu hidden layers, sigmoid output, weighted cross-entropy + lambda/(2 sum w) sum ||W||^2 per
    mini-batch (each batch by its own weights, the last partial one too), the course's optimizers."""
    P = {k: v.copy() for k, v in P.items()}
    L = len(P) // 2
    v = {k: np.zeros_like(a) for k, a in P.items()}
    s = {k: np.zeros_like(a) for k, a in P.items()}
    rng, t, costs = np.random.default_rng(seed), 0, []
    m = X.shape[1]
    for _ in range(epochs):
        order = rng.permutation(m)
        total = 0.0
        for start in range(0, m, B):
            idx = order[start:start + B]
            A, wb = [X[:, idx]], w[idx]
            for l in range(1, L + 1):
                Z = P[f"W{l}"] @ A[-1] + P[f"b{l}"]
                A.append(1 / (1 + np.exp(-Z)) if l == L else np.maximum(Z, 0))
            Yb, sw = Y[:, idx], wb.sum()
            loss = -(Yb * np.log(A[L]) + (1 - Yb) * np.log(1 - A[L])).sum(axis=0)
            total += loss @ wb + l2 / 2 * sum((P[f"W{l}"] ** 2).sum() for l in range(1, L + 1))
            dZ = (A[L] - Yb) * wb / sw
            grads = {}
            for l in range(L, 0, -1):
                grads[f"W{l}"] = dZ @ A[l - 1].T + l2 / sw * P[f"W{l}"]
                grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True)
                dZ = (P[f"W{l}"].T @ dZ) * (A[l - 1] > 0)
            t += 1
            for k, g in grads.items():
                if optimizer == "gd":
                    P[k] = P[k] - lr * g
                elif optimizer == "momentum":
                    v[k] = 0.9 * v[k] + 0.1 * g
                    P[k] = P[k] - lr * v[k]
                elif optimizer == "rmsprop":
                    s[k] = 0.9 * s[k] + 0.1 * g ** 2
                    P[k] = P[k] - lr * g / (np.sqrt(s[k]) + 1e-8)
                else:
                    v[k] = 0.9 * v[k] + 0.1 * g
                    s[k] = 0.999 * s[k] + 0.001 * g ** 2
                    P[k] = P[k] - lr * (v[k] / (1 - 0.9 ** t)) / (np.sqrt(s[k] / (1 - 0.999 ** t)) + 1e-8)
        costs.append(total / w.sum())
    return P, costs


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_fit_equals_a_numpy_loop_with_partial_batches_l2_and_sample_weights(optimizer: str) -> None:
    rng = np.random.RandomState(0)
    X = rng.randn(5, 37)  # batches of 8: the last holds 5 samples and must use its own m (its own sum(w))
    Y = (rng.rand(2, 37) < 0.5).astype(float)  # two sigmoid units: multi-label
    w = rng.rand(37) * 2
    net = dl.Network([5, 7, 6, 2], seed=3)
    P0 = {k: v.copy() for k, v in net.parameters.items()}
    lr = 0.01 if optimizer in ("rmsprop", "adam") else 0.1
    history = net.fit(X, Y, optimizer=optimizer, learning_rate=lr, epochs=4, batch_size=8, l2=0.3,
                      sample_weight=w, seed=5, threads=1)
    P, costs = _reference_fit(P0, X, Y, optimizer, lr, 4, 8, 0.3, w, 5)
    for k in P:
        np.testing.assert_allclose(net.parameters[k], P[k], rtol=1e-11, atol=1e-14, err_msg=k)
    np.testing.assert_allclose(history.cost, costs, rtol=1e-12)


# -- early stopping ------------------------------------------------------------------------------
def _xor(seed: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.randn(2, m)
    return X, (X[0:1] * X[1:2] > 0).astype(float)


def test_early_stopping_on_an_accuracy_keeps_the_most_accurate_epoch() -> None:
    # an accuracy improves upwards: taken as a cost, the first (least accurate) epoch was kept and
    # put back (0.653 handed back where 0.983 had been reached)
    X, Y = _xor(0, 600)
    Xv, Yv = _xor(1, 300)
    net = dl.Network([2, 16, 8, 1], hidden="tanh", seed=1)
    h = net.fit(X, Y, optimizer="adam", learning_rate=0.01, epochs=40, batch_size=32, validation_data=(Xv, Yv),
                early_stopping=EarlyStopping(patience=3, monitor="val_accuracy"))
    acc = h.metrics["val_accuracy"]
    assert h.best_epoch == int(np.argmax(acc)) and h.best_epoch > 0
    assert h.stopped_early and len(acc) == h.best_epoch + 1 + 3
    assert float(np.mean(net.predict(Xv) == Yv)) == max(acc)  # the parameters handed back are that epoch's


def test_early_stopping_mode_can_be_given_and_is_checked() -> None:
    X, Y = _xor(0, 200)
    Xv, Yv = _xor(1, 100)
    net = dl.Network([2, 8, 1], hidden="tanh", seed=1)
    # mode="min" on an accuracy is what the caller asked for: the lowest accuracy is "best"
    h = net.fit(X, Y, optimizer="adam", learning_rate=0.01, epochs=30, batch_size=32, validation_data=(Xv, Yv),
                early_stopping=EarlyStopping(patience=2, monitor="val_accuracy", mode="min"))
    acc = h.metrics["val_accuracy"]
    assert acc[h.best_epoch] == min(acc)
    net = dl.Network([2, 8, 1], hidden="tanh", seed=1)
    h = net.fit(X, Y, optimizer="adam", learning_rate=0.01, epochs=30, batch_size=32, validation_data=(Xv, Yv),
                early_stopping=EarlyStopping(patience=2, mode="max"))  # val_cost, upwards: the worst cost
    assert h.val_cost[h.best_epoch] == max(h.val_cost)
    with pytest.raises(dl.ConfigError, match=r"EarlyStopping: mode must be 'auto', 'min' or 'max', got 'maximum'"):
        EarlyStopping(mode="maximum")


# -- gradient_check at ReLU's kink -----------------------------------------------------------------
def _relu_net_on_a_kink() -> tuple[dl.Network, np.ndarray, np.ndarray]:
    """A ReLU network with b[l] = 0 whose sample 0 leaves every unit of layer 1 at 0, so Z[2] of
    that sample is exactly 0: perturbing b[2] by +-epsilon straddles ReLU's kink."""
    rng = np.random.RandomState(0)
    net = dl.Network([2, 3, 2, 1], hidden="relu", seed=0)
    net.parameters["W1"] = np.abs(net.parameters["W1"]) + 0.1
    X = rng.randn(2, 12)
    X[:, 0] = -1.0
    Y = (rng.rand(1, 12) < 0.5).astype(float)
    return net, X, Y


def test_a_correct_relu_network_passes_even_on_its_kink() -> None:
    net, X, Y = _relu_net_on_a_kink()
    W1 = net.parameters["W1"]
    assert np.all(np.maximum(W1 @ X[:, :1], 0) == 0)  # sample 0's A[1] is all 0, so Z[2] = b[2] = 0
    result = dl.gradient_check(net, X, Y, sample=None)
    assert result < 1e-7, float(result)  # was 2e-2: (relu(eps) - relu(-eps)) / 2 eps = 1/2 against g'(0) = 0
    assert result.kinks == 2  # b[2]'s two entries
    assert "2 of them left out" in result.describe() and "kink" in result.describe()
    # the entries compared are right by an independent finite difference of the course's cost
    net.forward(X)
    grads = net.backward(Y)
    P = {k: v.copy() for k, v in net.parameters.items()}

    def J(P: dict) -> float:
        A = X
        for l in (1, 2, 3):
            Z = P[f"W{l}"] @ A + P[f"b{l}"]
            A = 1 / (1 + np.exp(-Z)) if l == 3 else np.maximum(Z, 0)
        return float(-(Y * np.log(A) + (1 - Y) * np.log(1 - A)).mean())

    for k in ("W1", "b1", "W2", "W3", "b3"):
        num = np.zeros_like(P[k])
        for i in np.ndindex(P[k].shape):
            Pp = {q: a.copy() for q, a in P.items()}
            Pm = {q: a.copy() for q, a in P.items()}
            Pp[k][i] += 1e-6
            Pm[k][i] -= 1e-6
            num[i] = (J(Pp) - J(Pm)) / 2e-6
        np.testing.assert_allclose(grads[f"d{k}"], num, atol=1e-8)


class _WrongReLU(ReLU):
    def backward(self, dA, Z, A, out=None):
        return np.multiply(dA, 1.0, out=out)  # g' = 1 everywhere: wrong wherever Z < 0


def test_a_wrong_relu_derivative_still_fails() -> None:
    net, X, Y = _relu_net_on_a_kink()
    wrong = dl.Network([2, 3, 2, 1], activations=[_WrongReLU(), _WrongReLU(), "sigmoid"], seed=0)
    wrong.parameters = net.parameters
    assert dl.gradient_check(wrong, X, Y, sample=None) > 1e-3


def test_the_gradcheck_command_passes_a_relu_network_with_a_kink(capsys: pytest.CaptureFixture[str]) -> None:
    # the command's defaults (relu, b[l] = 0) put seed 1's 4-3-2-1 network on a kink: it printed FAIL
    code = main(["gradcheck", "--layer-dims", "4,3,2,1", "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "PASS" in out and "left out" in out, out


# -- Network.cost with sample weights is fit's cost --------------------------------------------------
def test_weighted_cost_is_fits_cost_and_counts_a_weight_as_repeated_samples() -> None:
    # it was sum(w loss) / m + lambda/(2m) ||W||^2: doubling every weight doubled the cost, and it
    # disagreed with the cost fit records for the same weights (0.787 against 0.565)
    rng = np.random.RandomState(0)
    X = rng.randn(3, 50)
    Y = (X[:1] > 0).astype(float)
    w = rng.randint(0, 4, 50).astype(float)
    net = dl.Network([3, 4, 1], seed=0)
    AL = net.forward(X)
    loss = -(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)).sum(axis=0)
    sq = sum((net.parameters[f"W{l}"] ** 2).sum() for l in (1, 2))
    expected = loss @ w / w.sum() + 0.5 / (2 * w.sum()) * sq
    assert net.cost(AL, Y, l2=0.5, sample_weight=w) == pytest.approx(expected, rel=1e-13)
    assert net.cost(AL, Y, sample_weight=3 * w) == pytest.approx(loss @ w / w.sum(), rel=1e-13)  # a mean
    repeat = np.repeat(np.arange(50), w.astype(int))  # each sample given w times
    assert net.cost(AL[:, repeat], Y[:, repeat], l2=0.5) == pytest.approx(expected, rel=1e-13)
    history = dl.Network([3, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=1, sample_weight=w, l2=0.5)
    assert history.cost[0] == pytest.approx(expected, rel=1e-13)  # full batch: the cost before the step
    with pytest.raises(dl.ShapeError, match=r"sample_weight must have one weight per sample, shape \(m,\) = \(50,\)"):
        net.cost(AL, Y, sample_weight=w[:10])
