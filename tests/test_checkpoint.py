"""Checkpoints: an interrupted and resumed run ends with the same parameters, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.training import Callback, EarlyStopping


@pytest.fixture
def problem():
    rng = np.random.RandomState(0)
    X = rng.randn(6, 150)
    Y = np.eye(3)[(X[0] > 0).astype(int) + (X[1] > 0.7)].T
    return X, Y


def _net():
    return dl.Network([6, 12, 8, 3], output="softmax", seed=7)


OPTIONS = dict(optimizer="adam", learning_rate=0.01, batch_size=32, keep_prob=[0.8, 0.9], l2=0.01,
               validation_split=0.2, lr_schedule="exponential", early_stopping=EarlyStopping(patience=50))


def test_stop_and_resume_equals_an_uninterrupted_run(problem, tmp_path):
    X, Y = problem
    full = _net()
    h_full = full.fit(X, Y, epochs=8, **OPTIONS)
    ckpt = tmp_path / "run.ckpt"
    first = _net()
    first.fit(X, Y, epochs=3, checkpoint=ckpt, **{**OPTIONS, "early_stopping": EarlyStopping(patience=50)})
    resumed = _net()  # a fresh process would start from a fresh network
    h = resumed.fit(X, Y, epochs=8, resume=ckpt, **{**OPTIONS, "early_stopping": EarlyStopping(patience=50)})
    for k, v in full.parameters.items():
        assert np.array_equal(v, resumed.parameters[k]), k
    assert h.cost == h_full.cost and h.val_cost == h_full.val_cost and h.n_iter == h_full.n_iter


def test_ctrl_c_mid_epoch_saves_the_epoch_start_and_resumes_exactly(problem, tmp_path):
    X, Y = problem
    full = _net()
    full.fit(X, Y, epochs=5, **OPTIONS)

    class CtrlC(Callback):
        def on_epoch_end(self, loop, epoch, logs):
            if epoch == 2:  # interrupt inside epoch 3, after a few mini-batches
                original = loop.net._backward
                calls = []

                def interrupted(*a, **kw):
                    calls.append(1)
                    if len(calls) == 3:
                        raise KeyboardInterrupt
                    return original(*a, **kw)

                loop.net._backward = interrupted

    ckpt = tmp_path / "run.ckpt"
    net = _net()
    with pytest.raises(KeyboardInterrupt, match=r"interrupted in epoch 3; .* resume="):
        net.fit(X, Y, epochs=5, checkpoint=ckpt, checkpoint_every=100, callbacks=[CtrlC()],
                **{**OPTIONS, "early_stopping": EarlyStopping(patience=50)})
    resumed = _net()
    resumed.fit(X, Y, epochs=5, resume=ckpt, callbacks=[Callback()],
                **{**OPTIONS, "early_stopping": EarlyStopping(patience=50)})
    for k, v in full.parameters.items():
        assert np.array_equal(v, resumed.parameters[k]), k


def test_resume_refuses_a_different_network_or_options(problem, tmp_path):
    X, Y = problem
    ckpt = tmp_path / "run.ckpt"
    _net().fit(X, Y, epochs=1, checkpoint=ckpt, optimizer="adam", batch_size=32)
    with pytest.raises(dl.ModelFileError, match=r"layer_dims = \[6, 12, 8, 3\], but this network has \[6, 10, 3\]"):
        dl.Network([6, 10, 3], output="softmax").fit(X, Y, epochs=2, resume=ckpt, optimizer="adam", batch_size=32)
    with pytest.raises(dl.ConfigError, match="written with batch_size=32, but this run asks for batch_size=64"):
        _net().fit(X, Y, epochs=2, resume=ckpt, optimizer="adam", batch_size=64)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        _net().fit(X, Y, epochs=2, resume=tmp_path / "missing.ckpt")
    model = tmp_path / "model.npz"
    dl.save(_net(), model)
    with pytest.raises(dl.ModelFileError, match="is not a training checkpoint"):
        _net().fit(X, Y, epochs=2, resume=model)


def test_resume_refuses_another_leaky_relu_slope_or_activation(problem, tmp_path):
    """The checkpoint records each g with its parameters: a changed slope is another network."""
    from deeplayers._atomic import load_npz_with_header, save_npz_with_header
    from deeplayers.activations import LeakyReLU

    X, Y = problem

    def net(alpha, g2="tanh"):
        return dl.Network([6, 12, 8, 3], hidden=[LeakyReLU(alpha), g2], output="softmax", seed=7)

    ckpt = tmp_path / "leaky.ckpt"
    net(0.2).fit(X, Y, epochs=1, checkpoint=ckpt, batch_size=32)
    with pytest.raises(dl.ModelFileError, match=r"leaky.ckpt was written for a network with g\[1\] = leaky_relu\(alpha=0.2\), "
                                                r"but this network has g\[1\] = leaky_relu\(alpha=0.01\); resume with the same"):
        net(0.01).fit(X, Y, epochs=2, resume=ckpt, batch_size=32)
    with pytest.raises(dl.ModelFileError, match=r"g\[2\] = tanh, but this network has g\[2\] = relu"):
        net(0.2, "relu").fit(X, Y, epochs=2, resume=ckpt, batch_size=32)
    # the same slope resumes, and ends where an uninterrupted run ends
    resumed, full = net(0.2), net(0.2)
    resumed.fit(X, Y, epochs=2, resume=ckpt, batch_size=32)
    full.fit(X, Y, epochs=2, batch_size=32)
    for k, v in full.parameters.items():
        assert np.array_equal(v, resumed.parameters[k]), k
    # a checkpoint from before activation parameters were recorded cannot vouch for the slope
    arrays, header = load_npz_with_header(ckpt)
    old = {k: v for k, v in header.items() if k not in ("activation_params", "format", "format_version", "arrays", "sha256")}
    save_npz_with_header(tmp_path / "old.ckpt", arrays, old)
    with pytest.raises(dl.ModelFileError, match=r"recorded without their parameters \(by an older deeplayers\), but this "
                                                r"network has g\[1\] = leaky_relu\(alpha=0.2\)"):
        net(0.2).fit(X, Y, epochs=2, resume=tmp_path / "old.ckpt", batch_size=32)
    # a damaged spec in the header is a damaged checkpoint, not a crash
    save_npz_with_header(tmp_path / "bad.ckpt", arrays, {**old, "activation_params": [{"alpha": "x"}, {}, {}]})
    with pytest.raises(dl.ModelFileError, match=r"bad.ckpt: the checkpoint's network does not hold together \(g\[1\] = "
                                                r"leaky_relu has parameters .* resume from another checkpoint"):
        net(0.2).fit(X, Y, epochs=2, resume=tmp_path / "bad.ckpt", batch_size=32)


@pytest.mark.parametrize("change, message", [
    ({"learning_rate": 0.02}, r"with learning_rate=0.01, but this run asks for learning_rate=0.02"),
    ({"l2": 0.1}, r"with l2=0.01, but this run asks for l2=0.1"),
    ({"keep_prob": [0.8, 1.0]}, r"with keep_prob=\[0.8, 0.9\], but this run asks for keep_prob=\[0.8, 1.0\]"),
    ({"validation_split": 0.3}, r"with validation_split=0.2, but this run asks for validation_split=0.3"),
    ({"lr_schedule": ("exponential", {"rate": 0.9})}, r"with lr_schedule='ExponentialDecay\(rate=0.95\)', but .*rate=0.9\)'"),
    ({"optimizer": dl.Adam(0.01, beta2=0.99)}, r"optimizer_hyperparameters=\{.*'beta2': 0.999.*\}, but .*'beta2': 0.99\b"),
    ({"seed": 5}, r"written training on other data .* resume with the same data, scaling, validation split and seed"),
    ({"X": "scaled"}, r"written training on other data"),
    ({"X": "fewer"}, r"written training on other data \(m, sums \[120, "),
    ({"sample_weight": "twos"}, r"written training on other data"),
    ({"epochs": 2}, r"has already trained 3 epochs, but this run asks for epochs=2; resume with at least as many"),
])
def test_resume_refuses_any_option_or_data_that_would_change_the_run(problem, tmp_path, change, message):
    """Only optimizer, batch_size and shuffle were compared: a resume with another learning rate, L2,
    dropout, validation split, schedule or data went on silently and matched no uninterrupted run."""
    X, Y = problem
    ckpt = tmp_path / "run.ckpt"
    _net().fit(X, Y, epochs=3, checkpoint=ckpt, seed=1, **OPTIONS)
    change = dict(change)
    data = {"X": X, "Y": Y, "epochs": change.pop("epochs", 8)}
    what = change.pop("X", None)
    if what == "scaled":
        data["X"] = X * 2
    elif what == "fewer":
        data["X"], data["Y"] = X[:, :140], Y[:, :140]
    if change.get("sample_weight") == "twos":
        change["sample_weight"] = np.full(150, 2.0)
    with pytest.raises(dl.ConfigError, match=message):
        _net().fit(resume=ckpt, **{**OPTIONS, "seed": 1, **data, **change})
    h = _net().fit(X, Y, epochs=8, resume=ckpt, seed=1, **OPTIONS)  # the same options still resume
    assert len(h.cost) == 8


def _stopping_run(X, Y, **kw):
    """A run that early stopping ends well before its 200 epochs (the validation cost turns up)."""
    net = _net()
    h = net.fit(X, Y, **{**OPTIONS, "epochs": 200, "learning_rate": 0.05, "early_stopping": EarlyStopping(patience=3), **kw})
    return net, h


def test_resuming_a_run_that_stopped_early_trains_no_further(problem, tmp_path):
    """The last checkpoint of a run ended by early stopping (a run killed while its model was being
    saved, or a --resume run again) trained on from there: more epochs, other parameters."""
    X, Y = problem
    full, h_full = _stopping_run(X, Y)
    assert h_full.stopped_early and len(h_full.cost) < 200
    ckpt = tmp_path / "run.ckpt"
    _stopping_run(X, Y, checkpoint=ckpt)
    resumed, h = _stopping_run(X, Y, resume=ckpt)
    assert h.cost == h_full.cost and h.val_cost == h_full.val_cost and h.best_epoch == h_full.best_epoch
    for k, v in full.parameters.items():
        assert np.array_equal(v, resumed.parameters[k]), k


def test_callback_states_go_back_to_their_own_callback(problem, tmp_path):
    """Callback states were handed back by position: a run checkpointed with a callback of its own and
    resumed without it gave early stopping's state to nobody (best and wait started over)."""
    X, Y = problem
    full, h_full = _stopping_run(X, Y)
    ckpt = tmp_path / "run.ckpt"
    _stopping_run(X, Y, epochs=h_full.best_epoch + 2, checkpoint=ckpt, callbacks=[Callback()])
    resumed, h = _stopping_run(X, Y, resume=ckpt)  # without the callback
    assert h.cost == h_full.cost and h.best_epoch == h_full.best_epoch
    for k, v in full.parameters.items():
        assert np.array_equal(v, resumed.parameters[k]), k


@pytest.mark.parametrize("stopping, message", [
    (False, r"written with early stopping, but this run trains without it; resume with the same early stopping"),
    (EarlyStopping(patience=10), r"written with early stopping's patience=3, but this run asks for patience=10; "
                                 r"resume with the same early stopping"),
    (EarlyStopping(patience=3, min_delta=0.1), r"early stopping's min_delta=0.0001, but this run asks for min_delta=0.1"),
    (EarlyStopping(patience=3, monitor="cost"), r"early stopping's monitor=None, but this run asks for monitor='cost'"),
])
def test_resume_refuses_other_early_stopping(problem, tmp_path, stopping, message):
    """Early stopping decides when the run ends and what it returns: another one went on silently."""
    X, Y = problem
    ckpt = tmp_path / "run.ckpt"
    _stopping_run(X, Y, epochs=3, checkpoint=ckpt)
    with pytest.raises(dl.ConfigError, match=message):
        _stopping_run(X, Y, resume=ckpt, early_stopping=stopping)


def test_resume_with_a_cosine_over_other_epochs_names_epochs(problem, tmp_path):
    """A cosine's length is the run's: more epochs was refused as another lr_schedule, naming a repr."""
    X, Y = problem
    ckpt = tmp_path / "run.ckpt"
    _net().fit(X, Y, epochs=3, checkpoint=ckpt, optimizer="adam", batch_size=32, lr_schedule="cosine")
    with pytest.raises(dl.ConfigError, match=r"run.ckpt was written with a cosine schedule over epochs=3, but this run "
                                             r"asks for epochs=5: the cosine's length sets every epoch's learning "
                                             r"rate; resume with the same epochs"):
        _net().fit(X, Y, epochs=5, resume=ckpt, optimizer="adam", batch_size=32, lr_schedule="cosine")


def test_resume_is_exact_on_the_same_thread_count_and_to_rounding_on_another(tmp_path):
    """The documented condition of a bit-for-bit resume: a fixed threads= (products divided among
    another number of BLAS threads round differently; the automatic choice follows the load)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((784, 512))
    Y = np.eye(10)[rng.integers(0, 10, 512)].T
    kw = dict(optimizer="adam", learning_rate=0.001, batch_size=128)

    def net():
        return dl.Network([784, 128, 10], output="softmax", seed=0, dtype="float32")

    full = net()
    full.fit(X, Y, epochs=3, threads=1, **kw)
    ckpt = tmp_path / "t.ckpt"
    net().fit(X, Y, epochs=1, threads=1, checkpoint=ckpt, **kw)
    same, other = net(), net()
    same.fit(X, Y, epochs=3, threads=1, resume=ckpt, **kw)
    other.fit(X, Y, epochs=3, threads=2, resume=ckpt, **kw)
    for k, v in full.parameters.items():
        assert np.array_equal(v, same.parameters[k]), k
        np.testing.assert_allclose(other.parameters[k], v, rtol=0, atol=1e-4)


def test_resume_refuses_other_validation_data(problem, tmp_path):
    """validation_data scores every epoch and picks early stopping's best: a resume on another held-out
    set went on silently (only the training data was compared)."""
    X, Y = problem
    kw = dict(optimizer="adam", learning_rate=0.05, batch_size=32, early_stopping=EarlyStopping(patience=3))
    ckpt = tmp_path / "run.ckpt"
    _net().fit(X[:, :100], Y[:, :100], epochs=3, checkpoint=ckpt, validation_data=(X[:, 100:], Y[:, 100:]), **kw)
    with pytest.raises(dl.ConfigError, match=r"run.ckpt was written validating on other data \(m, sums \[50, .*; now "
                                             r"\[40, .*\): resume with the same validation data"):
        _net().fit(X[:, :100], Y[:, :100], epochs=50, resume=ckpt, validation_data=(X[:, 110:], Y[:, 110:]), **kw)
    h = _net().fit(X[:, :100], Y[:, :100], epochs=50, resume=ckpt, validation_data=(X[:, 100:], Y[:, 100:]), **kw)
    assert len(h.val_cost) == len(h.cost) > 3


@pytest.mark.parametrize("change", ["samples", "features"])
def test_resume_refuses_the_same_data_in_another_order(problem, tmp_path, change):
    """Only shapes and plain sums were compared: a shuffled file (another mini-batch order) or the
    features in another order resumed silently, matching no uninterrupted run."""
    X, Y = problem
    ckpt = tmp_path / "run.ckpt"
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=32)
    _net().fit(X, Y, epochs=2, checkpoint=ckpt, **kw)
    order = np.random.default_rng(0).permutation(X.shape[1] if change == "samples" else X.shape[0])
    X2, Y2 = (X[:, order], Y[:, order]) if change == "samples" else (X[order], Y)
    with pytest.raises(dl.ConfigError, match=r"written training on other data \(m, sums \[150, .*\) \(the same sums: "
                                             r"the samples or features in another order\?\): resume with the same"):
        _net().fit(X2, Y2, epochs=4, resume=ckpt, **kw)
    # the same data in another memory layout, standardized (its sums near 0), still resumes
    Xs = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    _net().fit(Xs, Y, epochs=2, checkpoint=ckpt, **kw)
    assert len(_net().fit(np.asfortranarray(Xs), Y, epochs=4, resume=ckpt, **kw).cost) == 4


def test_cli_resume_names_full_batch_as_the_option_spells_it(tmp_path, capsys):
    """A full-batch checkpoint resumed with mini-batches said '--batch-size None', a value the option refuses."""
    from deeplayers.cli import main

    common = ["train", "wine", "--layers", "4", "--no-plot", "-q", "--out", str(tmp_path / "m.npz"),
              "--checkpoint", str(tmp_path / "c.ckpt"), "--epochs", "2", "--lr-schedule", "constant"]
    assert main([*common, "--batch-size", "full"]) == 0
    assert main([*common, "--batch-size", "64", "--resume", str(tmp_path / "c.ckpt")]) == 2
    assert "written with --batch-size full, but this run asks for --batch-size 64" in capsys.readouterr().err
