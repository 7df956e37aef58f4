"""The training loop: each optimizer against a direct transcription of its update formula, and
every plug-in (mini-batches, schedules, L2, dropout, validation, early stopping, callbacks)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.training import (
    Callback,
    CosineDecay,
    EarlyStopping,
    ExponentialDecay,
    InverseTimeDecay,
    StepDecay,
)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(5, 40)
    Y = (X[:1] + 0.5 * X[1:2] > 0).astype(float)
    return X, Y


def _transcribe(X, Y, steps, update):
    """Run ``steps`` full-batch iterations by hand: forward, backward, then the optimizer formula."""
    ref = dl.Network([5, 4, 3, 1], seed=2)
    state: dict = {}
    for t in range(1, steps + 1):
        ref.forward(X)
        grads = ref.backward(Y)
        for l in (1, 2, 3):
            for p, name in ((ref[l].W, "W"), (ref[l].b, "b")):
                p -= update(grads[f"d{name}{l}"], state.setdefault(f"{name}{l}", {}), t)
    return ref


def _adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    def step(g, s, t):
        s["v"] = b1 * s.get("v", 0) + (1 - b1) * g
        s["s"] = b2 * s.get("s", 0) + (1 - b2) * g**2
        v_corr, s_corr = s["v"] / (1 - b1**t), s["s"] / (1 - b2**t)
        return lr * v_corr / (np.sqrt(s_corr) + eps)
    return step


def _momentum(lr, beta=0.9):
    def step(g, s, t):
        s["v"] = beta * s.get("v", 0) + (1 - beta) * g
        return lr * s["v"]
    return step


def _rmsprop(lr, beta=0.9, eps=1e-8):
    def step(g, s, t):
        s["s"] = beta * s.get("s", 0) + (1 - beta) * g**2
        return lr * g / (np.sqrt(s["s"]) + eps)
    return step


@pytest.mark.parametrize("name,lr,rule", [
    ("gd", 0.05, lambda g, s, t: 0.05 * g),
    ("momentum", 0.05, _momentum(0.05)),
    ("rmsprop", 0.01, _rmsprop(0.01)),
    ("adam", 0.01, _adam(0.01)),
])
def test_optimizer_matches_its_formula(data, name, lr, rule):
    X, Y = data
    net = dl.Network([5, 4, 3, 1], seed=2)
    net.fit(X, Y, optimizer=name, learning_rate=lr, num_iterations=6)
    ref = _transcribe(X, Y, 6, rule)
    for k, v in net.parameters.items():
        np.testing.assert_allclose(v, ref.parameters[k], rtol=1e-10, atol=1e-13, err_msg=k)


def test_optimizer_state_persists_across_fits(data):
    X, Y = data
    a, b = dl.Network([5, 4, 3, 1], seed=2), dl.Network([5, 4, 3, 1], seed=2)
    a.fit(X, Y, optimizer="adam", learning_rate=0.01, epochs=6)
    opt = dl.Adam(0.01)
    for _ in range(3):
        b.fit(X, Y, optimizer=opt, epochs=2)
    assert opt.t == 6
    for k in a.parameters:
        np.testing.assert_allclose(a.parameters[k], b.parameters[k], rtol=1e-12)


def test_schedules():
    assert StepDecay(0.5, 10)(25, 1.0) == 0.25
    assert ExponentialDecay(0.9)(2, 1.0) == pytest.approx(0.81)
    assert InverseTimeDecay(1.0, 1)(3, 0.8) == pytest.approx(0.2)
    rng = np.random.RandomState(0)
    X, Y = rng.randn(3, 20), (rng.rand(1, 20) > 0.5).astype(float)
    h = dl.Network([3, 2, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=5, lr_schedule="inverse_time")
    assert h.lr == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025, 0.02])
    h = dl.Network([3, 2, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=3, lr_schedule=("step", {"factor": 0.1, "every": 2}))
    assert h.lr == pytest.approx([0.1, 0.1, 0.01])
    with pytest.raises(dl.ConfigError, match="unknown lr_schedule 'cosinus'"):
        dl.Network([3, 2, 1]).fit(X, Y, epochs=1, lr_schedule="cosinus")


def test_cosine_schedule_spans_the_run():
    # half a cosine over the run's epochs: lr0 (1 + cos(pi e / E)) / 2, written out for E = 4
    expected = [0.1 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)]
    assert expected[2] == pytest.approx(0.05)
    rng = np.random.RandomState(0)
    X, Y = rng.randn(3, 20), (rng.rand(1, 20) > 0.5).astype(float)
    for spec in ("cosine", CosineDecay(), ("cosine", {}), CosineDecay(epochs=4)):
        h = dl.Network([3, 2, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=4, lr_schedule=spec)
        assert h.lr == pytest.approx(expected, rel=1e-12)
    h = dl.Network([3, 2, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=2,
                                          lr_schedule=("cosine", {"min_fraction": 0.2}))
    assert h.lr == pytest.approx([0.1, 0.1 * (0.2 + 0.8 * 0.5)])
    assert CosineDecay(epochs=4)(9, 1.0) == 0.0  # past the end it stays at the floor
    with pytest.raises(dl.ConfigError, match="CosineDecay needs the run's length"):
        CosineDecay()(0, 1.0)
    with pytest.raises(dl.ConfigError, match="lr_schedule 'cosine': .*unexpected keyword argument 'rate'"):
        dl.Network([3, 2, 1]).fit(X, Y, epochs=1, lr_schedule=("cosine", {"rate": 0.9}))
    with pytest.raises(dl.ConfigError, match=r"lr_schedule must be a name, a \(name, \{params\}\) pair"):
        dl.Network([3, 2, 1]).fit(X, Y, epochs=1, lr_schedule=5)


def test_l2_cost_and_update(data):
    X, Y = data
    net = dl.Network([5, 4, 3, 1], seed=2)
    AL = net.forward(X)
    frob = sum(float(np.sum(net[l].W ** 2)) for l in (1, 2, 3))
    assert net.cost(AL, Y, l2=0.3) == pytest.approx(net.cost(AL, Y) + 0.3 / (2 * 40) * frob, rel=1e-12)
    g0, g = net.backward(Y), net.backward(Y, l2=0.3)
    np.testing.assert_allclose(g["dW2"], g0["dW2"] + 0.3 / 40 * net[2].W, rtol=1e-12)
    np.testing.assert_array_equal(g["db2"], g0["db2"])
    # the training loop uses the same regularized gradient
    trained = dl.Network([5, 4, 3, 1], seed=2)
    h = trained.fit(X, Y, learning_rate=0.1, epochs=1, l2=0.3, validation_data=(X[:, :9], Y[:, :9]))
    assert h.cost[0] == pytest.approx(net.cost(AL, Y, l2=0.3), rel=1e-12)
    # held-out error is the plain loss: the penalty is a training device
    assert h.val_cost[0] == pytest.approx(trained.cost(trained.predict_proba(X[:, :9]), Y[:, :9]), rel=1e-12)


def test_dropout_is_inverted_and_only_in_training(data):
    X, Y = data
    net = dl.Network([5, 50, 50, 1], seed=3)
    P = net.predict_proba(X)
    keep = 0.6
    rng = np.random.default_rng(0)
    A1 = net[1].forward(X, rng=rng)
    Z1 = net[1].cache.Z
    active = Z1 > 0
    np.testing.assert_array_equal(A1, np.maximum(Z1, 0))  # keep_prob 1: nothing dropped
    A1 = net[1].forward(X, keep, np.random.default_rng(0))
    kept = (A1 != 0) & active
    frac = kept.sum() / active.sum()
    assert abs(frac - keep) < 0.05
    np.testing.assert_allclose(A1[kept], np.maximum(Z1, 0)[kept] / keep, rtol=1e-12)  # scaled by 1/keep_prob
    np.testing.assert_array_equal(net.predict_proba(X), P)  # inference never drops
    h1 = dl.Network([5, 50, 50, 1], seed=3).fit(X, Y, epochs=3, keep_prob=1.0)
    h2 = dl.Network([5, 50, 50, 1], seed=3).fit(X, Y, epochs=3)
    assert h1.cost == h2.cost
    h3 = dl.Network([5, 50, 50, 1], seed=3).fit(X, Y, epochs=3, keep_prob=[0.5, 0.9])
    assert h3.cost[0] != h2.cost[0]
    with pytest.raises(dl.ConfigError, match="one keep probability per hidden layer"):
        dl.Network([5, 50, 50, 1]).fit(X, Y, epochs=1, keep_prob=[0.5])


def test_dropout_gradient_matches_finite_differences_with_a_fixed_mask(data):
    X, Y = data
    net = dl.Network([5, 6, 1], hidden="tanh", seed=1)
    keep = [0.7]
    mask_rng = lambda: np.random.default_rng(5)  # noqa: E731 - the same mask every pass
    net._forward(X, keep, mask_rng())
    net._backward(Y)
    dW1 = net[1].dW.copy()
    W = net[1].W
    eps, num = 1e-6, np.zeros_like(W)
    for i in range(W.size):
        old = W.flat[i]
        W.flat[i] = old + eps
        jp = net.loss.cost(net._forward(X, keep, mask_rng()), Y)
        W.flat[i] = old - eps
        jm = net.loss.cost(net._forward(X, keep, mask_rng()), Y)
        W.flat[i] = old
        num.flat[i] = (jp - jm) / (2 * eps)
    np.testing.assert_allclose(dW1, num, rtol=1e-6, atol=1e-9)


def test_minibatches_validation_and_reproducibility():
    rng = np.random.RandomState(0)
    X = rng.randn(4, 103)
    Y = np.eye(3)[(X[0] > 0).astype(int) + (X[1] > 0.5)].T
    run = lambda **kw: dl.Network([4, 8, 3], output="softmax", seed=1).fit(  # noqa: E731
        X, Y, optimizer="adam", learning_rate=0.01, epochs=4, batch_size=16, **kw)
    h1, h2 = run(validation_split=0.2), run(validation_split=0.2)
    assert h1.cost == h2.cost and h1.val_cost == h2.val_cost  # seeded order and split
    assert h1.unit == "epoch" and len(h1.cost) == 4 and len(h1.val_cost) == 4
    assert h1.n_iter == 4 * int(np.ceil(82 / 16))  # ceil(103 * 0.2) = 21 held out
    assert len(h1.metrics["val_accuracy"]) == 4 and 0 <= h1.metrics["val_accuracy"][-1] <= 1
    full = dl.Network([4, 8, 3], output="softmax", seed=1).fit(X, Y, epochs=2, batch_size=103, shuffle=False)
    ref = dl.Network([4, 8, 3], output="softmax", seed=1).fit(X, Y, epochs=2)
    assert full.cost == ref.cost
    with pytest.raises(dl.DataError, match="leaves no training or no validation samples"):
        dl.Network([4, 8, 3], output="softmax").fit(X[:, :1], Y[:, :1], epochs=1, validation_split=0.5)


def test_sample_weights_equal_repeating_samples(data):
    X, Y = data
    w = np.arange(40) % 3  # 0, 1 or 2 copies of each sample
    idx = np.repeat(np.arange(40), w)
    a = dl.Network([5, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=5, sample_weight=w)
    b = dl.Network([5, 4, 1], seed=0).fit(X[:, idx], Y[:, idx], learning_rate=0.1, epochs=5)
    np.testing.assert_allclose(a.cost, b.cost, rtol=1e-12)
    with pytest.raises(dl.ShapeError, match=r"sample_weight must have one weight per sample, shape \(m,\) = \(40,\)"):
        dl.Network([5, 4, 1]).fit(X, Y, epochs=1, sample_weight=np.ones(39))


def test_early_stopping_restores_the_best_parameters(data):
    X, Y = data
    Xv, Yv = X[:, :10], 1 - Y[:, :10]  # validation labels flipped: validation cost rises as training fits

    class Spy(Callback):
        def __init__(self):
            self.params = []

        def on_epoch_end(self, loop, epoch, logs):
            self.params.append({k: v.copy() for k, v in loop.net.parameters.items()})

    spy = Spy()
    net = dl.Network([5, 8, 1], seed=0)
    h = net.fit(X, Y, learning_rate=0.5, epochs=200, validation_data=(Xv, Yv),
                early_stopping=EarlyStopping(patience=5), callbacks=[spy])
    assert h.stopped_early and len(h.cost) < 200
    best = int(np.argmin(h.val_cost))
    assert h.best_epoch == best and len(h.cost) == best + 6
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, spy.params[best][k])


def test_divergence_is_reported_and_parameters_stay_finite():
    rng = np.random.RandomState(0)
    X, Y = rng.randn(3, 30) * 10, rng.randn(1, 30) * 10
    net = dl.Network([3, 20, 20, 1], output="linear", seed=0)
    with pytest.raises(dl.DivergenceError, match=r"diverged at iteration \d+ .*smaller learning rate"):
        net.fit(X, Y, learning_rate=5.0, epochs=200)
    assert all(np.isfinite(v).all() for v in net.parameters.values())
    assert issubclass(dl.DivergenceError, FloatingPointError)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_parameter_check_finds_nan_and_inf_anywhere_and_passes_large_finite_values(dtype):
    # the check squares and sums through BLAS first; squares of large finite values overflow, and
    # then the exact look decides: no false divergence, no NumPy warning
    from deeplayers.training.divergence import _finite_parameters

    net = dl.Network([300, 7, 1], seed=0, dtype=dtype)
    layers = net.layers
    big = float(np.finfo(dtype).max) / 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _finite_parameters(layers)
        layers[0].W[3, 250] = big
        layers[1].b[0, 0] = -big
        assert _finite_parameters(layers)
        for l, name, at in ((0, "W", (6, 299)), (1, "W", (0, 0)), (0, "b", (2, 0))):
            for bad in (np.nan, np.inf, -np.inf):
                arr = getattr(layers[l], name)
                keep = arr[at]
                arr[at] = bad
                assert not _finite_parameters(layers), (l, name, bad)
                arr[at] = keep
        assert _finite_parameters(layers)


def test_bad_data_and_options(data):
    X, Y = data
    net = dl.Network([5, 4, 1])
    Xn = X.copy()
    Xn[2, 7] = np.nan
    with pytest.raises(dl.DataError, match=r"X contains NaN or infinity \(first at \[2, 7\]\)"):
        net.fit(Xn, Y, epochs=1)
    with pytest.raises(dl.DataError, match=r"Y must hold values in \[0, 1\] for binary_crossentropy"):
        net.fit(X, Y * 3, epochs=1)
    with pytest.raises(dl.ConfigError, match="unknown optimizer 'adamw'"):
        net.fit(X, Y, epochs=1, optimizer="adamw")
    with pytest.raises(dl.ConfigError, match="learning_rate must be a positive number"):
        net.fit(X, Y, epochs=1, learning_rate=-1)
    with pytest.raises(dl.ConfigError, match="batch_size must be a positive integer"):
        net.fit(X, Y, epochs=1, batch_size=0)


def test_progress_output_when_not_a_terminal(data, capsys):
    X, Y = data
    dl.Network([5, 4, 1], seed=0).fit(X, Y, epochs=20, verbose=1, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("iteration 20/20  cost ")
    assert "val_cost" in lines[0] and "val_accuracy" in lines[0]
    dl.Network([5, 4, 1], seed=0).fit(X, Y, epochs=20, verbose=0)
    assert capsys.readouterr().out == ""


# -- training that went wrong says so (issues 11 and 15) --------------------------------------------
def _iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.T, np.eye(3)[:, y]


def test_reference_costs_are_the_prior_and_the_untrained_output():
    from deeplayers.training import reference_costs

    rng = np.random.RandomState(0)
    labels = rng.randint(0, 3, 50)
    Y = np.eye(3)[:, labels]
    p = np.bincount(labels, minlength=3) / 50
    prior, guess = reference_costs(dl.Network([2, 3], output="softmax"), Y)
    assert prior == pytest.approx(-np.sum(p * np.log(p)), rel=1e-12)  # the entropy of the class frequencies
    assert guess == pytest.approx(np.log(3), rel=1e-12)  # softmax of Z = 0: 1/K each
    Yb = (rng.rand(2, 40) < [[0.2], [0.7]]).astype(float)  # two independent sigmoid units
    q = Yb.mean(axis=1)
    prior, guess = reference_costs(dl.Network([2, 2]), Yb)
    assert prior == pytest.approx(-np.sum(q * np.log(q) + (1 - q) * np.log(1 - q)), rel=1e-12)
    assert guess == pytest.approx(2 * np.log(2), rel=1e-12)  # 0.693 per unit
    Yr = rng.randn(1, 30) * 3 + 5
    prior, guess = reference_costs(dl.Network([2, 1], output="linear"), Yr)
    assert prior == pytest.approx(Yr.var() / 2, rel=1e-12) and guess == pytest.approx(np.mean(Yr**2) / 2, rel=1e-12)
    # weights count like repeated samples
    w = rng.randint(0, 4, 30)
    rep = np.repeat(np.arange(30), w)
    got = reference_costs(dl.Network([2, 1], output="linear"), Yr, w.astype(float))
    assert got == pytest.approx(reference_costs(dl.Network([2, 1], output="linear"), Yr[:, rep]), rel=1e-12)


def test_a_huge_learning_rate_is_divergence_by_the_cost():
    # issue 11: `deeplayers train iris --lr 1e6` ended at cost 456 with no error, as the clipped
    # cost never becomes NaN; the cost now stays far above guessing, and fit says so
    X, Y = _iris()
    net = dl.Network([4, 20, 7, 5, 3], output="softmax", seed=0)
    with pytest.raises(dl.DivergenceError, match=r"training diverged at iteration \d+ \(epoch 9\): the cost rose to "
                                                 r"[\d.]+, more than 10 times the larger of its starting value .* for 10 "
                                                 r"epochs in a row\. .*try a smaller learning rate \(it was 1e\+06;") as info:
        net.fit(X, Y, optimizer="adam", learning_rate=1e6, batch_size=64, epochs=50)
    history = info.value.history
    assert len(history.cost) == 10 and min(history.cost) > 10 * np.log(3)
    assert all(np.isfinite(v).all() for v in net.parameters.values())
    # a run shorter than 10 epochs is judged by the parameters it hands back
    with pytest.raises(dl.DivergenceError, match=r"when the run ended\..*\(it was 1e\+06;"):
        dl.Network([4, 20, 7, 5, 3], output="softmax", seed=0).fit(X, Y, optimizer="adam", learning_rate=1e6,
                                                                   batch_size=64, epochs=3)


def test_a_sane_learning_rate_is_not_divergence_and_does_not_warn():
    X, Y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("error", dl.TrainingWarning)
        h = dl.Network([4, 20, 7, 5, 3], output="softmax", seed=0).fit(X, Y, optimizer="adam", learning_rate=0.01,
                                                                        batch_size=1, epochs=30)
    assert h.cost[-1] < 0.2 and h.warnings == []


def _stall_data():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 300)
    return X, (X[0] + X[1] > 0).astype(float)[None]


def test_a_stall_at_the_cost_of_guessing_warns_and_is_kept():
    # issue 15: the course's 4-layer model with weights scaled by 0.01 stays at 0.693 (the signal
    # vanishes through the layers); the same network with He initialisation learns, silently
    X, Y = _stall_data()
    net = dl.Network([20, 20, 7, 5, 1], init="small", seed=1)
    with pytest.warns(dl.TrainingWarning, match=r"training stalled near the cost of guessing: the cost is 0\.6931 after "
                                                 r"1000 updates .*Usual causes: an initialisation too small .*He or Xavier"
                                                 r".*a learning rate too small or too large \(it was 0\.0075\)") as rec:
        h = net.fit(X, Y, learning_rate=0.0075, num_iterations=1000)
    assert issubclass(dl.TrainingWarning, UserWarning)
    assert h.warnings == [str(rec[0].message)] and net.history.warnings == h.warnings
    assert "L2 penalty" not in h.warnings[0]  # named only where the penalty is a visible part of the cost
    flat = dl.training.History(cost=[0.70] * 200)  # a penalty that is 7% of the final cost is named
    with pytest.warns(dl.TrainingWarning, match=r"an L2 penalty too strong for the data \(lambda = 3\)"):
        dl.training._check_stall(flat, 0, 200, 0.70, np.log(2), np.log(2), 0.0075, 3.0, 0.05)
    assert h.cost[-1] == pytest.approx(np.log(2), abs=1e-4)
    assert dl.training.History.from_dict(h.as_dict()).warnings == h.warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", dl.TrainingWarning)
        h = dl.Network([20, 20, 7, 5, 1], init="he", seed=1).fit(X, Y, learning_rate=0.0075, num_iterations=1000)
    assert h.warnings == [] and h.cost[-1] < 0.6


def test_a_run_that_ends_worse_than_guessing_warns():
    # gradient descent at 50 overshoots: the cost jumps to 354, falls back, and ends at 0.84, above
    # its start (0.76) and guessing (0.693) but below the divergence limit; not silently
    from sklearn.datasets import make_moons

    X, y = make_moons(400, noise=0.3, random_state=0)
    net = dl.Network([2, 16, 16, 1], seed=0)
    with pytest.warns(dl.TrainingWarning, match=r"training made things worse: the cost ended at 0\.84\d\d after 300 "
                                                 r"updates .*a learning rate too large.*\(it was 50;"):
        h = net.fit(X.T, y[None].astype(float), learning_rate=50.0, epochs=300)
    assert max(h.cost) > 300 and len(h.warnings) == 1


def test_history_files_without_warnings_still_load():
    old = {"unit": "epoch", "cost": [1.0, 0.5], "n_iter": 2}
    assert dl.training.History.from_dict(old).warnings == []
    assert dl.training.History.from_dict({**old, "warnings": "damaged"}).warnings == []


def test_sample_weights_count_in_the_l2_term_like_repeated_samples(data):
    # scikit-learn's MLP convention: lambda / (2 sum(w)) ||W||^2, so a weight of 2 is a repeated
    # row with L2 too (it used to be lambda / (2m), counting rows)
    X, Y = data
    w = np.arange(40) % 3
    idx = np.repeat(np.arange(40), w)
    a = dl.Network([5, 4, 1], seed=0)
    ha = a.fit(X, Y, learning_rate=0.1, epochs=20, l2=0.7, sample_weight=w)
    b = dl.Network([5, 4, 1], seed=0)
    hb = b.fit(X[:, idx], Y[:, idx], learning_rate=0.1, epochs=20, l2=0.7)
    np.testing.assert_allclose(ha.cost, hb.cost, rtol=1e-12)
    for k in a.parameters:
        np.testing.assert_allclose(a.parameters[k], b.parameters[k], rtol=1e-10, atol=1e-14)
    # the scale of the weights is a count: doubling them all halves the L2 term's share
    c = dl.Network([5, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=1, l2=0.7, sample_weight=2.0 * w)
    d = dl.Network([5, 4, 1], seed=0).fit(X[:, np.repeat(idx, 2)], Y[:, np.repeat(idx, 2)], learning_rate=0.1,
                                         epochs=1, l2=0.7)
    assert c.cost[0] == pytest.approx(d.cost[0], rel=1e-12)


def test_one_validation_split_for_fit_the_cli_and_search():
    from deeplayers.training import split_validation

    # an independent computation: ceil(m * fraction) held out, from one permutation of the seeded generator
    m, fraction = 23, 0.3
    order = np.random.default_rng(7).permutation(m)
    train, val = split_validation(m, fraction, 7)
    np.testing.assert_array_equal(val, np.sort(order[:7]))
    np.testing.assert_array_equal(train, np.sort(order[7:]))
    # fit(validation_split) scores exactly those columns: its val_cost is the cost on X[:, val]
    rng = np.random.RandomState(3)
    X = rng.randn(4, m)
    Y = (X[:1] > 0).astype(float)
    net = dl.Network([4, 5, 1], seed=2)
    h = net.fit(X, Y, epochs=1, validation_split=fraction, seed=7)
    assert h.val_cost[0] == net.cost(net.predict_proba(X[:, val]), Y[:, val])
    with pytest.raises(dl.ConfigError, match=r"^validation_split must be between 0 and 1, got 1$"):
        split_validation(10, 1, 0)
    with pytest.raises(dl.DataError, match=r"^validation_split=0.5 of m = 1 samples leaves no training"):
        split_validation(1, 0.5, 0)


def test_ctrl_c_raises_training_interrupted_with_the_epoch_and_the_checkpoint(data, tmp_path):
    X, Y = data

    class CtrlC(Callback):
        def on_epoch_end(self, loop, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(dl.TrainingInterrupted, match=r"^training interrupted in epoch 1; nothing was saved") as info:
        dl.Network([5, 3, 1], seed=0).fit(X, Y, epochs=4, callbacks=[CtrlC()])
    assert isinstance(info.value, KeyboardInterrupt) and info.value.epoch == 1 and info.value.checkpoint is None
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(dl.TrainingInterrupted) as info:
        dl.Network([5, 3, 1], seed=0).fit(X, Y, epochs=4, callbacks=[CtrlC()], checkpoint=ckpt, checkpoint_every=10)
    assert info.value.epoch == 1 and info.value.checkpoint == ckpt and ckpt.is_file()
    # the saved state is the start of epoch 1: resuming ends where an uninterrupted run ends
    resumed = dl.Network([5, 3, 1], seed=0)
    h = resumed.fit(X, Y, epochs=4, resume=ckpt)
    full = dl.Network([5, 3, 1], seed=0)
    assert h.cost == full.fit(X, Y, epochs=4).cost
    for k, v in full.parameters.items():
        np.testing.assert_array_equal(v, resumed.parameters[k])


def test_a_mini_batch_epoch_names_the_first_batch_whose_cost_is_not_finite():
    """Issue 13: a mini-batch epoch's cost is computed as the epoch ends, yet the error still names
    the batch (iteration) where the cost first became inf, and puts back the epoch's starting
    parameters when the updates that followed made them NaN or inf."""
    rng = np.random.RandomState(0)
    X, Y = rng.randn(3, 40), rng.randn(1, 40)
    X[:, 25] = 1e200  # in batch 2 (columns 20..29): Z[2] = W[2] A[1] overflows, and the cost with it
    net = dl.Network([3, 4, 1], output="linear", seed=0)
    start = {k: v.copy() for k, v in net.parameters.items()}
    order = [[np.arange(s, s + 10) for s in range(0, 40, 10)]]
    with pytest.raises(dl.DivergenceError, match=r"diverged at iteration 2 \(epoch 0\): the cost became inf"):
        net.fit(X, Y, epochs=1, batches=order, optimizer="gd", learning_rate=0.01)
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, start[k])


@pytest.mark.parametrize("gather", ["the epoch at once", "batch by batch"])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("more", [False, True])
def test_epoch_cost_is_the_mean_of_the_batch_costs_with_sample_weights(monkeypatch, more, weighted, gather):
    """The deferred epoch cost (training/costs.py) against the batch-by-batch definition: each
    batch's weighted cost J_b at its own parameters, times its weight total, over the weight total
    seen (``more``: epochs that visit 91 of the 50 samples, some twice). Unweighted, an epoch gathered
    at once gives its Y rows to the cost instead of a copy batch by batch."""
    from deeplayers.training import batching

    if gather == "batch by batch":
        monkeypatch.setattr(batching, "EPOCH_GATHER_BYTES", 0)
    rng = np.random.RandomState(1)
    X, Y = rng.randn(5, 50), (rng.rand(1, 50) > 0.5).astype(float)
    w = rng.rand(50) + 0.5 if weighted else np.ones(50)
    order = [[np.arange(s, min(s + 16, 50)) for s in range(0, 50, 16)] for _ in range(2)]
    if more:
        order = [epoch + [np.arange(1, 50, 3), np.arange(0, 24)] for epoch in order]
    net, ref = dl.Network([5, 6, 1], seed=3), dl.Network([5, 6, 1], seed=3)
    h = net.fit(X, Y, epochs=2, batches=order, optimizer="gd", learning_rate=0.3,
                sample_weight=w if weighted else None, l2=0.05)
    want = []
    for epoch in range(2):
        total = 0.0
        for idx in order[epoch]:
            wb = w[idx] * (len(idx) / w[idx].sum())  # mean 1 within the batch, as fit weighs it
            l2b = 0.05 * len(idx) / w[idx].sum()
            total += ref.cost(ref.forward(X[:, idx]), Y[:, idx], l2=l2b, sample_weight=wb) * w[idx].sum()
            # the batch's step: a one-batch full-batch fit weighs and penalises alike
            ref.fit(X[:, idx], Y[:, idx], epochs=1, optimizer="gd", learning_rate=0.3, sample_weight=w[idx], l2=0.05)
        want.append(total / sum(w[idx].sum() for idx in order[epoch]))
    np.testing.assert_allclose(h.cost, want, rtol=1e-12)
    for k, v in net.parameters.items():
        np.testing.assert_allclose(v, ref.parameters[k], rtol=1e-12)


def test_full_batch_descent_keeps_the_callers_arrays():
    """Issue 13: full-batch gradient descent keeps the last finite parameters by swapping arrays,
    not copying them each iteration; the run still ends with W[l], b[l] in the arrays it started in
    (the course functions share the caller's), equal to the course's update applied step by step."""
    rng = np.random.RandomState(2)
    X, Y = rng.randn(6, 30), (rng.rand(1, 30) > 0.5).astype(float)
    params = dl.Network([6, 5, 1], seed=4).parameters
    net = dl.Network.from_parameters(params, "relu", "sigmoid", copy=False)
    ref = dl.Network.from_parameters({k: v.copy() for k, v in params.items()}, "relu", "sigmoid")
    h = net.fit(X, Y, learning_rate=0.5, num_iterations=7)
    want = []
    for _ in range(7):
        want.append(ref.cost(ref.forward(X), Y))
        grads = ref.backward(Y)
        for layer in ref.layers:
            layer.W -= 0.5 * grads[f"dW{layer.l}"]
            layer.b -= 0.5 * grads[f"db{layer.l}"]
    assert all(net[l].W is params[f"W{l}"] and net[l].b is params[f"b{l}"] for l in (1, 2))
    np.testing.assert_allclose(h.cost, want, rtol=1e-12)
    for k, v in params.items():
        np.testing.assert_allclose(v, ref.parameters[k], rtol=1e-12, atol=1e-15)


def test_a_swapping_flat_step_writes_into_the_second_array_and_keeps_the_previous_parameters():
    from deeplayers.workspace import FlatParameters

    net = dl.Network([5, 4, 3, 1], seed=0)
    before = {k: v.copy() for k, v in net.parameters.items()}
    flat = FlatParameters(net.layers, swap=True)
    rng = np.random.default_rng(1)
    for layer in net.layers:
        layer.dW[...] = rng.standard_normal(layer.dW.shape)
        layer.db[...] = rng.standard_normal(layer.db.shape)
    grads = {f"{k}{l.l}": getattr(l, k).copy() for l in net.layers for k in ("dW", "db")}
    P = flat.P
    flat.step()
    assert flat.P is not P and flat.intact()
    for layer, (W, b) in zip(net.layers, flat.previous):
        np.testing.assert_array_equal(W, before[f"W{layer.l}"])  # as the step began
        np.testing.assert_array_equal(b, before[f"b{layer.l}"])
        np.testing.assert_array_equal(layer.W, before[f"W{layer.l}"] - grads[f"dW{layer.l}"])  # the same subtraction
        np.testing.assert_array_equal(layer.b, before[f"b{layer.l}"] - grads[f"db{layer.l}"])
        assert np.shares_memory(layer.W, flat.P) and np.shares_memory(W, P)
    flat.step()  # and back into the first array
    assert flat.P is P and flat.intact()
    for layer, (W, _) in zip(net.layers, flat.previous):
        np.testing.assert_array_equal(W, before[f"W{layer.l}"] - grads[f"dW{layer.l}"])
        np.testing.assert_array_equal(layer.W, W - grads[f"dW{layer.l}"])
    with pytest.raises(ValueError, match="do not swap"):
        FlatParameters(net.layers, joined=True, swap=True)


@pytest.mark.parametrize("kw", [{}, {"l2": 0.05}, {"callbacks": True}])
def test_full_batch_flat_swap_equals_the_step_layer_by_layer(monkeypatch, kw):
    # full batch: every W[l], b[l] in one array, stepped in one subtraction into a second array,
    # against each layer's own arrays swapped one by one (FlatParameters not applying): the same bits
    if "callbacks" in kw:
        kw = {"callbacks": [_RebindFull()]}
    (flat, arrays, h1), (plain, _, h2) = _flat_runs(monkeypatch, full=True, **kw)
    assert h1.cost == h2.cost
    for k, v in flat.parameters.items():
        np.testing.assert_array_equal(v, plain.parameters[k])
    if "callbacks" not in kw:
        assert all(layer.W is W and layer.b is b for layer, (W, b) in zip(flat.layers, arrays))
    assert all(a.base is None for layer in flat.layers for a in (layer.W, layer.b, layer.dW, layer.db))


class _RebindFull(Callback):
    """Binds layer 2 to new arrays (W[2] halved) after iteration 5, as a user's callback may."""

    def on_epoch_end(self, loop, epoch, logs):
        if epoch == 5:
            layer = loop.net[2]
            layer.set_parameters(layer.W * 0.5, layer.b.copy())


class _StopAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.at = epoch

    def on_epoch_end(self, loop, epoch, logs):
        loop.stop = epoch == self.at


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("ends", ["later", "there", "stopped there", "with checkpoints"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_batch_divergence_leaves_the_last_finite_parameters(monkeypatch, tmp_path, flat, ends, dtype):
    # an update that overflows while the cost is still finite: the error names that iteration and
    # the parameters are those its step began from, computed here step by step with the formulas,
    # whether the run goes on ("later"), ends there, is stopped there by a callback, or writes checkpoints.
    # float64 at 1e30: the first steps go into W[l] itself (proven finite), the later ones by the swap
    from deeplayers import workspace
    from deeplayers.workspace import FlatParameters

    proofs = []
    real_bounded = workspace._bounded
    monkeypatch.setattr(workspace, "_bounded", lambda *a: proofs.append(real_bounded(*a)) or proofs[-1])
    if not flat:
        monkeypatch.setattr(FlatParameters, "applies", staticmethod(lambda layers: False))
    rng = np.random.RandomState(1)
    X = (rng.randn(4, 30) * 100).astype(dtype)
    Y = (X[:1] > 0).astype(dtype)
    net = dl.Network([4, 5, 1], dtype=dtype, seed=0)
    ref = dl.Network.from_parameters({k: v.copy() for k, v in net.parameters.items()}, "relu", "sigmoid")
    lr = np.float32(1e36) if dtype == "float32" else 1e30
    last, it = None, 0
    with np.errstate(all="ignore"):
        while True:
            ref.forward(X)
            grads = ref.backward(Y)
            last = {k: v.copy() for k, v in ref.parameters.items()}
            for layer in ref.layers:
                layer.W -= lr * grads[f"dW{layer.l}"]
                layer.b -= lr * grads[f"db{layer.l}"]
            if not all(np.isfinite(v).all() for v in ref.parameters.values()):
                break
            it += 1
    kw = {"later": {"num_iterations": 50}, "there": {"num_iterations": it + 1},
          "stopped there": {"num_iterations": 50, "callbacks": [_StopAt(it)]},
          "with checkpoints": {"num_iterations": 50, "checkpoint": tmp_path / "run.npz"}}[ends]
    with pytest.raises(dl.DivergenceError, match=rf"iteration {it} \(epoch {it}\): the parameters became NaN"):
        net.fit(X, Y, optimizer="gd", learning_rate=float(lr), **kw)
    for k, v in net.parameters.items():
        np.testing.assert_allclose(v, last[k], rtol=1e-6 if dtype == "float32" else 1e-12, err_msg=k)
    assert it >= 1
    # proven steps in place only with the flat parameters and no user callback, then the swap's to the
    # end (every iteration but the run's last looked at: "there" ends with the overflowing one)
    in_place = flat and ends != "stopped there" and dtype == "float64"
    assert (proofs[:4] == [True] * 4 and not any(proofs[4:]) and len(proofs) == it + (ends != "there")) \
        if in_place else not any(proofs)


def test_a_full_batch_run_whose_cost_diverges_after_its_parameters_overflowed_keeps_them_finite():
    # gradient descent at 1e30: an update makes W[l] NaN or inf in the same epoch whose cost is the
    # tenth far above the limit; the parameters are looked at before the epoch's cost rule, so the
    # error is about the parameters and they are left finite (a look at them deferred to the next
    # iteration had let the cost rule raise first, leaving NaN in W[1])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 40))
    Y = (X[:1] > 0).astype(float)
    net = dl.Network([5, 4, 1], seed=0)
    with pytest.raises(dl.DivergenceError, match=r"iteration 10 \(epoch 10\): the parameters became NaN or inf"):
        net.fit(X, Y, learning_rate=1e30, num_iterations=50)
    assert all(np.isfinite(v).all() for v in net.parameters.values())


# -- mini-batch gradient descent's one step for the whole network (workspace.FlatParameters) ----------
class _Rebind(Callback):
    """Binds layer 2 to new arrays (W[2] halved) after batch 3 of epoch 1, as a user's callback may."""

    def on_batch_end(self, loop, batch, n_batches):
        if loop.epoch == 1 and batch == 3:
            layer = loop.net[2]
            layer.set_parameters(layer.W * 0.5, layer.b.copy())


def _flat_runs(monkeypatch, full: bool = False, **kw):
    """The same fit with the flat step (W[l], b[l] in arrays of their own, not joined) and with each
    layer updated on its own: mini-batches, or (``full``) 12 full-batch iterations."""
    from deeplayers.training import loop
    from deeplayers.workspace import FlatParameters

    monkeypatch.setattr(loop, "_joinable", lambda loop: False)
    X = np.random.RandomState(6 if full else 3).randn(6, 40 if full else 90)
    Y = (X[:1] - X[3 if full else 2:4 if full else 3] > 0).astype(float)
    kw.update({"num_iterations": 12} if full else {"epochs": 4, "batch_size": 16, "seed": 1})
    runs = []
    for flat in (True, False):
        if not flat:
            monkeypatch.setattr(FlatParameters, "applies", staticmethod(lambda layers: False))
        net = dl.Network([6, 7, 5, 1], seed=4)
        arrays = [(layer.W, layer.b) for layer in net.layers]
        h = net.fit(X, Y, optimizer="gd", learning_rate=0.3, **kw)
        runs.append((net, arrays, h))
    return runs


@pytest.mark.parametrize("kw", [{}, {"l2": 0.05}, {"callbacks": [_Rebind()]}, {"sample_weight": np.arange(90) % 3}])
def test_flat_step_equals_the_step_layer_by_layer(monkeypatch, kw):
    (flat, arrays, h1), (plain, _, h2) = _flat_runs(monkeypatch, **kw)
    assert h1.cost == h2.cost
    for k, v in flat.parameters.items():
        np.testing.assert_array_equal(v, plain.parameters[k])
    if "callbacks" not in kw:  # each W[l], b[l] ends in the array it started in, holding the final values
        assert all(layer.W is W and layer.b is b for layer, (W, b) in zip(flat.layers, arrays))
    # nothing is left pointing into the run's flat arrays
    assert all(a.base is None for layer in flat.layers for a in (layer.W, layer.b, layer.dW, layer.db))


@pytest.mark.parametrize("verbose", [0, 1])  # (the progress display, a passive callback between batches)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_step_inside_the_products_gives_the_flat_steps_bits(monkeypatch, dtype, verbose):
    """Mini-batch descent with W[l] -= dZ[l] A[l-1]^T as one gemm (beta = 1, Workspace.step) trains to
    the same bits as dW[l] then the flat step, for the layers it is used on (products of at least
    SMALL_GEMM multiply-adds), and the last batch's gradients are at hand after the run."""
    from deeplayers import _gemm
    from deeplayers.training import loop

    if not _gemm.available(np.dtype(dtype)):
        pytest.skip("NumPy's BLAS is not an OpenBLAS found through its build configuration: the step stays "
                    "W[l] - dW[l] (the other tests)")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 600)).astype(dtype)
    Y = (X[:1] + X[1:2] > 0).astype(dtype)
    used = []
    real = _gemm.subtract_product
    monkeypatch.setattr(_gemm, "subtract_product", lambda *a: used.append(real(*a)) or used[-1])
    runs = []
    for inside in (True, False):
        if not inside:
            monkeypatch.setattr(loop, "_steps_in_backward", lambda *a: False)
        net = dl.Network([300, 256, 64, 1], dtype=dtype, seed=0)
        # threads=1: beside other programs the automatic choice splits each product in two (two gemms)
        h = net.fit(X, Y, epochs=3, batch_size=128, optimizer="gd", learning_rate=0.1, seed=2, verbose=verbose,
                    threads=1)
        runs.append((net, h, len(used)))
    (a, ha, n_used), (b, hb, n_after) = runs
    # layers 1 and 2 (256 x 300 and 64 x 256 by 128 columns) in the product, all batches but each
    # epoch's last (4 of 5, its 88 columns through dW[l]), plus one look each at the first
    assert n_used == 3 * 4 * 2 + 2 and all(used) and n_after == n_used
    assert ha.cost == hb.cost
    for k, v in a.parameters.items():
        np.testing.assert_array_equal(v, b.parameters[k])
    for la, lb in zip(a.layers, b.layers):  # the last batch's dW[l], db[l]
        np.testing.assert_array_equal(la.dW, lb.dW)
        np.testing.assert_array_equal(la.db, lb.db)


class _Watcher(Callback):
    """A user's callback that reads each epoch's gradients (so full-batch steps stay out of the products)."""

    def __init__(self) -> None:
        self.dW1: list[np.ndarray] = []

    def on_epoch_end(self, loop, epoch, logs):
        self.dW1.append(loop.net[1].dW.copy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_batch_steps_inside_the_products_give_the_swaps_bits(monkeypatch, dtype):
    """Full-batch descent with each step into W[l], b[l] themselves (proven finite first) trains to
    the same bits as the swap's step, uses the gemm for every iteration but the last (whose gradients
    are at hand after the run), also beside the library's passive callbacks, and not beside a user's
    callback, which sees every iteration's gradients."""
    from deeplayers import _gemm, workspace
    from deeplayers.training import loop

    if not _gemm.available(np.dtype(dtype)):
        pytest.skip("NumPy's BLAS is not an OpenBLAS found through its build configuration")
    rng = np.random.default_rng(7)
    X = rng.standard_normal((600, 150)).astype(dtype)  # layer 1's step: 24 x 600 x 150 multiply-adds >= SMALL_GEMM
    Y = (X[:1] + X[1:2] > 0).astype(dtype)
    used, proofs = [], []
    real_subtract, real_bounded, real_steps = _gemm.subtract_product, workspace._bounded, loop._steps_in_backward
    monkeypatch.setattr(_gemm, "subtract_product", lambda *a: used.append(real_subtract(*a)) or used[-1])
    monkeypatch.setattr(workspace, "_bounded", lambda *a: proofs.append(real_bounded(*a)) or proofs[-1])

    def run(inside: bool, **kw):
        monkeypatch.setattr(loop, "_steps_in_backward", real_steps if inside else lambda *a: False)
        used.clear(), proofs.clear()
        net = dl.Network([600, 24, 6, 1], dtype=dtype, seed=0)
        h = net.fit(X, Y, optimizer="gd", learning_rate=0.05, num_iterations=12, threads=1, **kw)  # (no split)
        return net, h, len(used), list(proofs)

    ref, h_ref, n_ref, _ = run(False)
    assert n_ref == 0
    for kw in ({}, {"early_stopping": dl.training.EarlyStopping(patience=50)}, {"verbose": 1}):
        net, h, n_used, proved = run(True, **kw)
        # 11 proven steps (the last iteration goes through dW[l]), layer 1's in the gemm, plus one look
        assert proved == [True] * 11 and n_used == 11 + 1 and all(used), kw
        assert h.cost == h_ref.cost
        for k, v in net.parameters.items():
            np.testing.assert_array_equal(v, ref.parameters[k], err_msg=k)
        for la, lb in zip(net.layers, ref.layers):  # the last iteration's dW[l], db[l]
            np.testing.assert_array_equal(la.dW, lb.dW)
            np.testing.assert_array_equal(la.db, lb.db)
    watcher = _Watcher()
    net, h, n_used, proved = run(True, callbacks=[watcher])
    assert n_used == 0 and proved == [] and h.cost == h_ref.cost
    assert all(not np.array_equal(a, b) for a, b in zip(watcher.dW1, watcher.dW1[1:]))  # each epoch's own


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # as the training loop, which silences it
def test_the_bound_on_a_step_in_place_refuses_what_it_cannot_prove_finite():
    from deeplayers.workspace import _bounded

    rng = np.random.default_rng(0)
    P, dZ = rng.standard_normal(50), rng.standard_normal((3, 8))
    assert _bounded(P, [(dZ, 10.0), (dZ, 2.0)], 8)
    for bad in (np.nan, np.inf):
        nan_dZ = dZ.copy()
        nan_dZ[1, 2] = bad
        assert not _bounded(P, [(dZ, 10.0), (nan_dZ, 2.0)], 8)  # wherever the non-finite layer comes
        assert not _bounded(P, [(nan_dZ, 2.0), (dZ, 10.0)], 8)
        assert not _bounded(P, [(dZ, bad), (dZ, 2.0)], 8)
        bad_P = P.copy()
        bad_P[3] = bad
        assert not _bounded(bad_P, [(dZ, 10.0)], 8)
    # a step that may reach the dtype's largest numbers: ||dZ|| ||A[l-1]|| = 1e306 (float64), 1e37 (float32)
    assert not _bounded(P, [(dZ / np.linalg.norm(dZ) * 1e300, 1e6)], 8)
    assert not _bounded(P.astype(np.float32), [(dZ.astype(np.float32) / np.linalg.norm(dZ) * 1e30, 1e7)], 8)
    # squares too large for the dtype cannot be proven (float32 entries of 1e20), however small the step
    assert not _bounded(np.full(4, 1e20, np.float32), [(np.zeros((2, 2), np.float32), 1.0)], 2)


def test_subtract_product_is_w_minus_the_product_or_refuses() -> None:
    from deeplayers import _gemm

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        if not _gemm.available(np.dtype(dtype)):
            pytest.skip("no OpenBLAS of NumPy's found")
        W = rng.standard_normal((40, 30)).astype(dtype)
        A, B = rng.standard_normal((40, 20)).astype(dtype), rng.standard_normal((20, 30)).astype(dtype)
        # row-major, transposed views (a column-major array), and a row-major view with a longer row
        wide = np.zeros((40, 25), dtype)
        wide[:, :20] = A
        for lhs, rhs in ((A, B), (np.asfortranarray(A), B), (A, np.asfortranarray(B)), (wide[:, :20], B)):
            out = W.copy()
            assert _gemm.subtract_product(out, lhs, rhs)
            np.testing.assert_array_equal(out, W - np.dot(lhs, rhs))
        out = W.copy()
        assert not _gemm.subtract_product(out, A, B[:10])  # shapes
        assert not _gemm.subtract_product(out, A.astype(np.float16), B)  # dtypes
        assert not _gemm.subtract_product(out, A[:, ::2], B[::2])  # no unit stride
        np.testing.assert_array_equal(out, W)  # refused: W untouched


class _Spy(Callback):
    """Records, at each batch end, whether the run is joined (b[l] and db[l] inside the products)."""

    def __init__(self) -> None:
        self.joined: list[bool] = []

    def on_batch_end(self, loop, batch, n_batches):
        self.joined.append(loop.ws.joined is not None)


def _sgd_by_the_formulas(net, X, Y, order, lr, l2=0.0):
    """Mini-batch gradient descent with the layer blocks' own formulas (Network.forward/backward),
    batch by batch in ``order``: an independent reference for the training loop's workspace."""
    for epoch in order:
        for idx in epoch:
            Xb, Yb = X[:, idx], Y[:, idx]
            net.forward(Xb)
            grads = net.backward(Yb, l2=l2)
            for layer in net.layers:
                layer.W -= lr * grads[f"dW{layer.l}"]
                layer.b -= lr * grads[f"db{layer.l}"]
    return net.parameters


@pytest.mark.parametrize("fold", ["as this BLAS allows", "always", "never"])
@pytest.mark.parametrize("kw", [{}, {"l2": 0.05}, {"callbacks": [_Rebind()]}])
def test_a_joined_run_computes_the_formulas(monkeypatch, kw, fold):
    # [W b] and [dW db] in one array per layer, A[l-1] with a row of ones: the same SGD as the
    # layer blocks' formulas, up to rounding, whether Z[l] is computed as [W b][A; 1] or W A + b
    from deeplayers import workspace

    if fold != "as this BLAS allows":
        monkeypatch.setattr(workspace, "_folds", lambda *a, always=fold == "always": always)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 90))
    Y = (X[:1] - X[2:3] > 0).astype(float)
    order = [[rng.permutation(90)[s:s + 16] for s in range(0, 90, 16)] for _ in range(4)]
    net = dl.Network([6, 7, 5, 1], seed=4)
    ref = dl.Network.from_parameters({k: v.copy() for k, v in net.parameters.items()}, "relu", "sigmoid")
    arrays = [(layer.W, layer.b) for layer in net.layers]
    spy = _Spy()
    cbs = [*kw.pop("callbacks", []), spy]
    net.fit(X, Y, batches=order, epochs=4, optimizer="gd", learning_rate=0.3, callbacks=cbs, **kw)
    assert all(spy.joined) and len(spy.joined) == 4 * 6
    if cbs[0] is not spy:  # the callback's new arrays are layer 2's parameters from then on: the same for the reference
        order_a, order_b = [order[0], order[1][:4]], [order[1][4:], *order[2:]]
        _sgd_by_the_formulas(ref, X, Y, order_a, 0.3)
        ref[2].set_parameters(ref[2].W * 0.5, ref[2].b.copy())
        want = _sgd_by_the_formulas(ref, X, Y, order_b, 0.3)
    else:
        want = _sgd_by_the_formulas(ref, X, Y, order, 0.3, kw.get("l2", 0.0))
    for k, v in net.parameters.items():
        np.testing.assert_allclose(v, want[k], rtol=1e-11, atol=1e-14, err_msg=k)
    # each W[l], b[l] ends in an array of its own (the one it started in), nothing pointing into the run's
    if cbs[0] is spy:
        assert all(layer.W is W and layer.b is b for layer, (W, b) in zip(net.layers, arrays))
    assert all(a.base is None and a.flags.c_contiguous for layer in net.layers
               for a in (layer.W, layer.b, layer.dW, layer.db))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_bias_goes_into_the_product_only_where_the_bits_stay_the_same(monkeypatch, dtype):
    # the real decision on this machine's BLAS, and never folding: the same parameters to the bit
    from deeplayers import workspace

    real = workspace._folds
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, 300)).astype(dtype)
    Y = (X[:1] * X[1:] > 0).astype(dtype)
    got, decided = [], []
    for folds in (real, lambda *a: False):
        def spy(*a, folds=folds):
            decided.append(folds(*a))
            return decided[-1]

        monkeypatch.setattr(workspace, "_folds", spy)
        net = dl.Network([2, 16, 16, 1], seed=1, dtype=dtype)
        net.fit(X, Y, epochs=3, batch_size=64, optimizer="gd", learning_rate=0.1, seed=0)
        got.append(net.parameters)
    assert len(decided) == 2 * 3 * 2  # once per layer and batch size (64 and the last 44), in each run
    for k in got[0]:
        np.testing.assert_array_equal(got[1][k], got[0][k], err_msg=k)


@pytest.mark.parametrize("case", ["adam", "dropout", "full batch", "large layer", "large data"])
def test_runs_that_are_not_joined(case):
    rng = np.random.default_rng(0)
    dims, m = [4, 8, 1], 200
    kw: dict = {"batch_size": 32, "optimizer": "gd"}
    if case == "adam":
        kw["optimizer"] = "adam"
    elif case == "dropout":
        dims, kw["keep_prob"] = [4, 8, 8, 1], 0.8
    elif case == "full batch":
        kw = {"num_iterations": 3}
    elif case == "large layer":
        dims = [4, 128, 128, 1]  # 128 x 129 weights in layer 2 > JOIN_WEIGHTS
    else:
        m = 1 << 18  # (4 + 1) x 2^18 x 8 bytes of [X; 1] > ONES_ROW_BYTES
    X = rng.standard_normal((dims[0], m))
    Y = (X[:1] > 0).astype(float)
    spy = _Spy()
    dl.Network(dims, seed=0).fit(X, Y, learning_rate=0.01, callbacks=[spy], epochs=1, **kw) if "num_iterations" not in kw \
        else dl.Network(dims, seed=0).fit(X, Y, learning_rate=0.01, callbacks=[spy], **kw)
    assert spy.joined and not any(spy.joined)


def test_a_small_run_is_joined():
    spy = _Spy()
    X = np.random.default_rng(0).standard_normal((4, 200))
    dl.Network([4, 8, 1], seed=0).fit(X, (X[:1] > 0).astype(float), learning_rate=0.01, epochs=1, batch_size=32,
                                      optimizer="gd", callbacks=[spy])
    assert spy.joined == [True] * 7


class _ToFloat32(Callback):
    """Binds layer 1 of a float64 network to float32 arrays after batch 2: no flat step is possible then."""

    def on_batch_end(self, loop, batch, n_batches):
        if loop.epoch == 0 and batch == 2:
            layer = loop.net[1]
            layer.W, layer.b = layer.W.astype(np.float32), layer.b.astype(np.float32)
            self.W = layer.W.copy()


def test_training_goes_on_when_a_callback_makes_the_flat_step_impossible():
    X = np.random.default_rng(0).standard_normal((4, 200))
    net = dl.Network([4, 8, 1], seed=0)
    cb = _ToFloat32()
    net.fit(X, (X[:1] > 0).astype(float), learning_rate=0.1, epochs=1, batch_size=32, optimizer="gd", callbacks=[cb])
    # updated after the callback (layer by layer), not frozen at its arrays (the final values end in W[1]'s first array)
    assert not np.allclose(net[1].W, cb.W, rtol=1e-3)


def test_flat_step_updates_shared_arrays_and_keeps_finite_values_on_divergence():
    rng = np.random.RandomState(0)
    X, Y = rng.randn(3, 40), rng.randn(1, 40)
    net = dl.Network([3, 4, 1], output="linear", seed=0)
    W1, b1 = net[1].W.copy(), net[1].b.copy()
    W1_start = W1.copy()
    net[1].set_parameters(W1, b1, copy=False)  # the caller's arrays, updated in place
    net.fit(X, Y, epochs=2, batch_size=10, optimizer="gd", learning_rate=0.01)
    assert net[1].W is W1 and net[1].b is b1 and not np.array_equal(W1, W1_start)
    X[:, 25] = 1e200  # batch 2 overflows: the epoch's starting values are put back, in the same arrays
    start = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(dl.DivergenceError, match=r"diverged at iteration \d+ \(epoch 0\)"):
        net.fit(X, Y, epochs=1, batches=[[np.arange(s, s + 10) for s in range(0, 40, 10)]], optimizer="gd",
                learning_rate=0.01)
    assert net[1].W is W1
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, start[k])


# -- the other operand order for thin products (workspace._faster_form) ----------------------------
def _thin_layer(dtype: str = "float64"):
    # n[0] = 4096 inputs, 4 units, m = 64: n[0] >= THIN * max(4, 64) and 4 * 4096 * 64 = SMALL_GEMM
    net = dl.Network([4096, 4, 1], seed=0, dtype=dtype)
    X = np.random.default_rng(1).random((4096, 64)).astype(dtype)
    return net, net.layers[0], X


def _timed_dot(slow: str, perturb: bool = False):
    """np.dot that sleeps on one operand order ('usual': W A, 'other': A^T W^T) and may change the
    other order's result by one unit in the last place."""
    import time as _time

    calls = []

    def dot(a, b, out):
        other = b.shape[1] < a.shape[0]  # (m, k) x (k, n) with n < m here: A^T W^T
        calls.append("other" if other else "usual")
        np.dot(a, b, out=out)
        if other and perturb:
            out[0, 0] = np.nextafter(out[0, 0], np.inf)
        if slow == calls[-1]:
            _time.sleep(0.02)  # (far past a preempted product's time on a busy machine: 2 ms was not)
        return out

    return dot, calls


def test_the_other_operand_order_is_chosen_only_when_faster_and_the_same_to_the_bit():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):  # two BLAS threads beside other programs took > 20 ms a product
        _check_the_operand_order_choice()


def _check_the_operand_order_choice():
    from deeplayers import workspace

    net, layer, X = _thin_layer()
    Z = np.empty((4, 64))
    dot, calls = _timed_dot(slow="usual")
    Zt = workspace._faster_form(layer, X, Z, dot)
    assert Zt is not None and Zt.shape == (64, 4) and Zt.flags.c_contiguous and "other" in calls
    assert workspace._faster_form(layer, X, Z, _timed_dot(slow="other")[0]) is None  # slower: kept
    dot, calls = _timed_dot(slow="usual", perturb=True)
    assert workspace._faster_form(layer, X, Z, dot) is None  # faster, but one bit different: kept
    assert len(calls) == 2  # decided on the bits, before any timing
    dot, calls = _timed_dot(slow="usual")
    assert workspace._faster_form(layer, X[:, :32], Z[:, :32], dot) is None and not calls  # below SMALL_GEMM
    assert workspace._faster_form(net.layers[1], np.ones((4, 2048)), np.empty((1, 2048)), dot) is None  # not thin
    assert not calls


def test_the_operand_order_probe_uses_the_layout_of_the_real_w():
    # BLAS packs a column-major W[l] (a caller's array shared with copy=False) another way, and may
    # round differently: the bits are compared with probe weights laid out as the layer's W[l]
    from deeplayers import workspace

    for layout in ("C", "F"):
        net, layer, X = _thin_layer()
        if layout == "F":
            layer.set_parameters(np.asfortranarray(layer.W), layer.b, copy=False)
        seen = []

        def dot(a, b, out, seen=seen):
            seen.append((a.shape, b.flags.c_contiguous, b.flags.f_contiguous))
            return np.dot(a, b, out=out)

        workspace._faster_form(layer, X, np.empty((4, 64)), dot)
        usual = [s for s in seen if s[0] == (4, 4096)]  # W A: W is the first operand
        other = [s for s in seen if s[0] == (64, 4096)]  # A^T W^T: W^T the second
        assert usual and other
        # W^T is C-contiguous exactly when W is column-major
        assert all(c == (layout == "F") for _, c, _ in other), (layout, other)


def test_a_fit_in_the_other_operand_order_matches_the_usual_one(monkeypatch: pytest.MonkeyPatch):
    from deeplayers import workspace

    Y = (np.random.default_rng(2).random((1, 64)) > 0.5).astype(float)
    results, chosen = {}, {}
    real = workspace._faster_form
    for form in ("usual", "other"):
        seen = []

        def forced(layer, A_prev, Z, dot, form=form, seen=seen):
            seen.append(layer.l)
            return None if form == "usual" else np.empty(Z.shape[::-1], Z.dtype)

        monkeypatch.setattr(workspace, "_faster_form", forced)
        net, _, X = _thin_layer()
        net.fit(X, Y, learning_rate=0.01, num_iterations=30)
        results[form], chosen[form] = net.parameters, seen
    monkeypatch.setattr(workspace, "_faster_form", real)
    assert chosen["usual"] == chosen["other"] == [1]  # decided once, for the thin layer 1 only
    for k, v in results["usual"].items():  # the same products in another order: equal up to rounding
        np.testing.assert_allclose(results["other"][k], v, rtol=1e-12, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_whatever_order_this_blas_gets_the_fit_is_the_same_to_the_bit(monkeypatch: pytest.MonkeyPatch, dtype):
    # the real decision on this machine's BLAS, made to prefer the other order whenever its bits
    # agree (FASTER huge) and made never to use it (FASTER 0): the same parameters either way
    from deeplayers import workspace

    Y = (np.random.default_rng(2).random((1, 64)) > 0.5).astype(dtype)
    got = []
    for faster in (0.0, 1e9):
        monkeypatch.setattr(workspace, "FASTER", faster)
        net, _, X = _thin_layer(dtype)
        net.fit(X, Y, learning_rate=0.01, num_iterations=20, threads=1)
        got.append(net.parameters)
    for k in got[0]:
        np.testing.assert_array_equal(got[1][k], got[0][k], err_msg=k)


def test_the_operand_order_is_decided_again_when_the_products_change(monkeypatch: pytest.MonkeyPatch):
    # decided for each new (BLAS threads, parts), and taken up again, not re-timed, when a run's
    # threads change back (a run times one thread against BLAS's threads now and then)
    from deeplayers import workspace

    decided, used = [], []
    monkeypatch.setattr(workspace, "FASTER", 1e9)  # the other order wherever it gives the same bits
    real = workspace._faster_form
    monkeypatch.setattr(workspace, "_faster_form", lambda *a: decided.append(a[-1]) or real(*a))
    net, _, X = _thin_layer()
    Y = np.ones((1, 64))
    ws = workspace.Workspace()
    for products in ((2, 1), (2, 1), (1, 2), (1, 2), (2, 1), (1, 1), (1, 2)):
        ws.products = products
        net._forward(X, ws=ws)
        net._backward(Y, ws=ws)
        used.append(ws.planned.layers[0][2])
    assert len(decided) == 3  # (2, 1), (1, 2) and (1, 1): each the first time
    assert used[4] is used[0] and used[6] is used[2]  # the same choice (and buffer) as before
    assert used[0] is not None and used[2] is not None and used[2] is not used[0]


@pytest.mark.parametrize("kw, message", [
    ({"seed": -1}, r"seed must be a whole number from 0 to 2\*\*32 - 1 \(or None\), got -1"),
    ({"seed": "a"}, r"seed must be a whole number from 0 to 2\*\*32 - 1 \(or None\), got 'a'"),
    ({"print_cost": True, "print_every": 0}, r"print_every must be a positive whole number of iterations \(epochs\), got 0"),
    ({"batch_size": 0}, r"batch_size must be a positive integer or None \(full batch\), got 0"),
])
def test_fits_seed_print_every_and_counts_are_checked_up_front(kw, message):
    """seed=-1 raised NumPy's ValueError, print_every=0 a ZeroDivisionError after the first iteration,
    and an int past int64 (the command line's --epochs 99999999999999999999999) a TypeError."""
    X = np.random.default_rng(0).standard_normal((3, 20))
    net = dl.Network([3, 4, 1], seed=0)
    with pytest.raises(dl.ConfigError, match=message):
        net.fit(X, (X[:1] > 0).astype(float), epochs=2, **kw)
    from deeplayers.training.prepare import _is_count

    assert _is_count(10**23) and _is_count(3.0) and not _is_count(-(10**23)) and not _is_count(True)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the error says it all: no NumPy warning first
def test_a_validation_pass_that_overflows_is_left_to_the_divergence_check():
    """Since predict refuses a non-finite A[L] (a DataError naming Z[l]), the loop's validation pass
    must not: a diverging run is a DivergenceError naming the learning rate, as before."""
    from deeplayers.training import Callback

    class Blowup(Callback):  # the weights a huge step leaves, after the epoch's last batch
        def on_batch_end(self, loop, batch, n_batches):
            if batch == n_batches - 1:
                loop.net.layers[1].W[...] = 1e308  # Z[2] = W[2] A[1] overflows: A[2] is NaN

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 60)), np.eye(3)[rng.integers(0, 3, 60)].T
    net = dl.Network([5, 4, 3], output="softmax", seed=0)
    with pytest.raises(dl.DivergenceError, match=r"training diverged at iteration \d+ \(epoch 1\).*try a smaller "
                       r"learning rate \(it was 0.1\)") as err:
        net.fit(X, Y, epochs=3, batch_size=16, learning_rate=0.1, validation_split=0.25, callbacks=[Blowup()])
    assert len(err.value.history.val_cost) == 1 and not np.isfinite(err.value.history.val_cost[0])
