"""Optimizer state belongs to its network; optimizer, schedule and gradient-check options are checked;
a float32 network's gradient check runs on a float64 copy."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.sklearn import DNNClassifier
from deeplayers.training import CosineDecay, ExponentialDecay, InverseTimeDecay, StepDecay, get_schedule

OPTIMIZERS = [lambda: dl.Adam(learning_rate=0.1), lambda: dl.Momentum(learning_rate=0.1),
              lambda: dl.RMSprop(learning_rate=0.1)]


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(3, 40)
    return X, (X[:1] > 0).astype(float)


# -- bug 1: an optimizer object's state belongs to the network it trained ---------------------------
@pytest.mark.parametrize("make", OPTIMIZERS, ids=["adam", "momentum", "rmsprop"])
def test_a_used_optimizer_starts_from_zero_on_another_network(data, make):
    X, Y = data
    fresh = dl.Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, optimizer=make()).cost
    used = make()
    dl.Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, optimizer=used)
    again = dl.Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, optimizer=used).cost
    assert again == fresh and used.t == 3
    # another architecture whose b[2] has the same shape (1, 1): nothing of the first network is reused
    other_fresh = dl.Network([3, 5, 1], seed=1).fit(X, Y, epochs=3, optimizer=make()).cost
    assert dl.Network([3, 5, 1], seed=1).fit(X, Y, epochs=3, optimizer=used).cost == other_fresh


def test_adams_first_step_on_another_network_is_the_bias_corrected_first_step(data):
    # independent of fit: at t = 1, v_corr = dW and s_corr = dW^2, so W -= alpha dW / (|dW| + eps)
    X, Y = data
    adam = dl.Adam(learning_rate=0.1)
    dl.Network([3, 4, 1], seed=0).fit(X, Y, epochs=5, optimizer=adam)
    net = dl.Network([3, 4, 1], seed=3)
    W0 = {k: v.copy() for k, v in net.parameters.items()}
    net.forward(X)
    grads = net.backward(Y)
    net.fit(X, Y, epochs=1, optimizer=adam)
    for key, W in W0.items():
        g = grads[f"d{key}"]
        np.testing.assert_allclose(net.parameters[key], W - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-10, atol=1e-12)
    assert adam.t == 1


def test_the_same_network_continues_with_its_optimizer(data):
    X, Y = data
    once = dl.Network([3, 4, 1], seed=0)
    once.fit(X, Y, epochs=6, optimizer=dl.Adam(learning_rate=0.1))
    twice, adam = dl.Network([3, 4, 1], seed=0), dl.Adam(learning_rate=0.1)
    twice.fit(X, Y, epochs=3, optimizer=adam)
    twice.fit(X, Y, epochs=3, optimizer=adam)
    assert adam.t == 6
    for key, W in once.parameters.items():
        np.testing.assert_allclose(twice.parameters[key], W, rtol=1e-12)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_network_and_optimizer_stay_bound(data, how):
    X, Y = data
    net, adam = dl.Network([3, 4, 1], seed=0), dl.Adam(learning_rate=0.1)
    net.fit(X, Y, epochs=3, optimizer=adam)
    net2, adam2 = copy.deepcopy((net, adam)) if how == "deepcopy" else pickle.loads(pickle.dumps((net, adam)))
    net.fit(X, Y, epochs=3, optimizer=adam)
    net2.fit(X, Y, epochs=3, optimizer=adam2)
    assert adam2.t == adam.t == 6
    for key, W in net.parameters.items():
        np.testing.assert_array_equal(net2.parameters[key], W)


def test_resuming_a_checkpoint_keeps_its_state_with_a_used_optimizer(data, tmp_path: Path):
    X, Y = data
    straight = dl.Network([3, 4, 1], seed=0)
    straight.fit(X, Y, epochs=4, optimizer=dl.Adam(learning_rate=0.1))
    ckpt = tmp_path / "run.ckpt"
    dl.Network([3, 4, 1], seed=0).fit(X, Y, epochs=2, optimizer=dl.Adam(learning_rate=0.1), checkpoint=ckpt)
    used = dl.Adam(learning_rate=0.1)
    dl.Network([3, 7, 1], seed=5).fit(X, Y, epochs=2, optimizer=used)  # another network's moments
    resumed = dl.Network([3, 4, 1], seed=0)
    resumed.fit(X, Y, epochs=4, optimizer=used, resume=ckpt)
    assert used.t == 4  # the checkpoint's 2 steps and 2 more, not the other network's
    for key, W in straight.parameters.items():
        np.testing.assert_array_equal(resumed.parameters[key], W)


def test_an_estimator_given_a_used_optimizer_trains_as_with_a_fresh_one():
    rng = np.random.RandomState(1)
    X = rng.randn(60, 3)
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(4,), learning_rate=0.05, epochs=5, lr_schedule="constant", batch_size=None,
                  random_state=0, dtype="float64")
    used = dl.Adam(learning_rate=0.05)
    dl.Network([3, 4, 1], seed=0).fit(X.T, y[None], epochs=7, optimizer=used)
    fresh = DNNClassifier(optimizer=dl.Adam(learning_rate=0.05), **params).fit(X, y)
    reused = DNNClassifier(optimizer=used, **params).fit(X, y)
    assert reused.loss_curve_ == fresh.loss_curve_


# -- bug 2: optimizer hyperparameters ---------------------------------------------------------------
@pytest.mark.parametrize("make,message", [
    (lambda: dl.Adam(beta1=1.0), r"Adam: beta1 must be a number in \[0, 1\) .*got 1\.0"),
    (lambda: dl.Adam(beta2=2.0), r"Adam: beta2 must be a number in \[0, 1\) .*got 2\.0"),
    (lambda: dl.Adam(beta1=-0.1), r"Adam: beta1 must be a number in \[0, 1\) .*got -0\.1"),
    (lambda: dl.Adam(epsilon=0), r"Adam: epsilon must be a positive number .*got 0"),
    (lambda: dl.Adam(epsilon=float("nan")), r"Adam: epsilon must be a positive number .*got nan"),
    (lambda: dl.Momentum(beta=1.5), r"Momentum: beta must be a number in \[0, 1\) .*got 1\.5"),
    (lambda: dl.Momentum(beta="0.9"), r"Momentum: beta must be a number in \[0, 1\) .*got '0\.9'"),
    (lambda: dl.RMSprop(beta=1.0), r"RMSprop: beta must be a number in \[0, 1\) .*got 1\.0"),
    (lambda: dl.RMSprop(epsilon=-1e-8), r"RMSprop: epsilon must be a positive number .*got -1e-08"),
])
def test_optimizer_hyperparameters_are_checked(make, message):
    with pytest.raises(dl.ConfigError, match=message):
        make()


def test_the_edges_of_the_ranges_are_accepted():
    assert dl.Adam(beta1=0.0, beta2=0.0).beta2 == 0.0
    assert dl.Momentum(beta=0.0).beta == 0.0 and dl.RMSprop(epsilon=1e-12).epsilon == 1e-12


# -- bug 3: every rate a schedule returns is checked ------------------------------------------------
@pytest.mark.parametrize("schedule,shown", [
    (lambda e, lr0: -lr0, "-0.1"), (lambda e, lr0: 0.0, "0.0"), (lambda e, lr0: "x", "'x'"),
    (lambda e, lr0: float("nan"), "nan"), (lambda e, lr0: float("inf"), "inf"), (lambda e, lr0: None, "None"),
])
def test_a_schedule_returning_no_positive_rate_is_refused(data, schedule, shown):
    X, Y = data
    net = dl.Network([3, 4, 1], seed=0)
    W1 = net[1].W.copy()
    with pytest.raises(dl.ConfigError, match=rf"lr_schedule function .*<lambda> returned {shown} for epoch 0 .*"
                                             r"a finite number > 0"):
        net.fit(X, Y, learning_rate=0.1, epochs=3, lr_schedule=schedule)
    np.testing.assert_array_equal(net[1].W, W1)  # refused before its epoch ran


def test_the_epoch_where_a_schedule_goes_wrong_is_named(data):
    X, Y = data
    with pytest.raises(dl.ConfigError, match=r"returned -0\.05 for epoch 2 \(counting from 0, lr0 = 0\.1\)"):
        dl.Network([3, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=4,
                                          lr_schedule=lambda e, lr0: lr0 if e < 2 else -lr0 / 2)
    with pytest.raises(dl.ConfigError, match=r"CosineDecay\(epochs=2, min_fraction=0.0\) returned 0\.0 for epoch 2"):
        dl.Network([3, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=3, lr_schedule=CosineDecay(epochs=2))


def test_valid_schedules_give_their_rates(data):
    X, Y = data
    h = dl.Network([3, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=3, lr_schedule=("exponential", {"rate": 0.5}))
    assert h.lr == pytest.approx([0.1, 0.05, 0.025], rel=1e-15)
    h = dl.Network([3, 4, 1], seed=0).fit(X, Y, learning_rate=0.1, epochs=2, lr_schedule=lambda e, lr0: np.float32(0.5))
    assert h.lr == [0.5, 0.5]
    assert get_schedule(("exponential", {"rate": 1}))(7, 0.3) == 0.3  # rate 1: no decay


@pytest.mark.parametrize("spec,message", [
    (("exponential", {"rate": 0}), r"ExponentialDecay: rate is the factor applied every epoch .*\(0, 1\].* got 0$"),
    (("exponential", {"rate": 2}), r"ExponentialDecay: rate .*above 1 the learning rate would grow.* got 2$"),
    (("step", {"factor": 1.5}), r"StepDecay: factor is the factor applied every `every` epochs .*got 1\.5$"),
    (("step", {"every": 0}), r"StepDecay: every must be a whole number of epochs >= 1, got 0$"),
    (("step", {"every": 2.5}), r"StepDecay: every must be a whole number of epochs >= 1, got 2\.5$"),
    (("inverse_time", {"decay_rate": -1}), r"InverseTimeDecay: decay_rate must be a finite number >= 0.*got -1$"),
    (("inverse_time", {"time_interval": 0}), r"InverseTimeDecay: time_interval must be a whole number .*got 0$"),
    (("cosine", {"min_fraction": 1.5}), r"CosineDecay: min_fraction must be a number in \[0, 1\].*got 1\.5$"),
    (("cosine", {"epochs": 0}), r"CosineDecay: epochs must be a whole number of epochs >= 1, got 0$"),
])
def test_built_in_schedule_parameters_are_checked(spec, message):
    with pytest.raises(dl.ConfigError, match=message):
        get_schedule(spec)


def test_built_in_schedules_check_their_parameters_when_made():
    for make in (lambda: ExponentialDecay(-0.5), lambda: StepDecay(0.5, 0), lambda: InverseTimeDecay(float("inf"))):
        with pytest.raises(dl.ConfigError, match="lr_schedule (ExponentialDecay|StepDecay|InverseTimeDecay): "):
            make()


# -- bug 4: an unknown schedule parameter lists the real ones ---------------------------------------
def test_an_unknown_schedule_parameter_lists_the_accepted_ones(data):
    X, Y = data
    with pytest.raises(dl.ConfigError, match=r"^lr_schedule 'step': unexpected keyword argument 'step_size'; "
                                             r"StepDecay's parameters are: factor \(default 0\.5\), every \(default 10\)$"):
        dl.Network([3, 4, 1]).fit(X, Y, epochs=1, lr_schedule=("step", {"step_size": 2, "gamma": 0.5}))
    with pytest.raises(dl.ConfigError, match=r"Constant's parameters are: none$"):
        get_schedule(("constant", {"lr": 1}))


# -- bugs 5 and 6: gradient checks -------------------------------------------------------------------
def test_a_float32_network_is_checked_on_a_float64_copy(data):
    X, Y = data
    net = dl.Network([3, 4, 1], hidden="tanh", seed=1, dtype="float32")
    before = {k: v for k, v in net.parameters.items()}
    values = {k: v.copy() for k, v in before.items()}
    diff = dl.gradient_check(net, X, Y)
    # the same parameters in a float64 network, checked the ordinary way, give the same number
    as64 = dl.Network.from_parameters({k: v.astype(np.float64) for k, v in values.items()}, hidden="tanh")
    reference = dl.gradient_check(as64, X, Y)
    assert diff < 1e-7 and float(diff) == float(reference) and not reference.on_float64_copy
    assert diff.on_float64_copy and diff.describe() == ("21 of 21 parameters checked (every one, on a float64 copy "
                                                        "of the float32 network)")
    # the user's network is untouched: still float32, the same arrays with the same values
    assert net.dtype == np.float32
    for k, v in net.parameters.items():
        assert v is before[k] and v.dtype == np.float32 and np.array_equal(v, values[k])


@pytest.mark.parametrize("kwargs,message", [
    ({"epsilon": 0}, r"epsilon \(the finite-difference step\) must be a positive number such as 1e-7, got 0$"),
    ({"epsilon": -1e-7}, r"epsilon .* must be a positive number .*got -1e-07$"),
    ({"epsilon": float("nan")}, r"epsilon .* must be a positive number .*got nan$"),
    ({"epsilon": "1e-7"}, r"epsilon .* must be a positive number .*got '1e-7'$"),
    ({"l2": -1}, r"l2 \(lambda\) must be a non-negative number, got -1$"),
    ({"l2": float("inf")}, r"l2 \(lambda\) must be a non-negative number, got inf$"),
])
def test_gradient_check_options_are_checked(data, kwargs, message):
    X, Y = data
    with pytest.raises(dl.ConfigError, match=message):
        dl.gradient_check(dl.Network([3, 4, 1], seed=0), X, Y, **kwargs)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_estimator_continues_with_its_optimizer_state(how):
    rng = np.random.RandomState(2)
    X = rng.randn(50, 3)
    y = (X[:, 1] > 0).astype(int)
    clf = DNNClassifier(hidden_layer_sizes=(4,), epochs=3, lr_schedule="constant", batch_size=None, random_state=0,
                        dtype="float64", warm_start=True, n_iter_no_change=100).fit(X, y)
    twin = copy.deepcopy(clf) if how == "deepcopy" else pickle.loads(pickle.dumps(clf))
    clf.fit(X, y)
    twin.fit(X, y)
    assert twin._optimizer.t == clf._optimizer.t == 6 and twin.loss_curve_ == clf.loss_curve_
