"""One spelling per concept (issue 12 item 5): dropout's KEEP probability is ``keep_prob`` on every
face (the course's word); ``dropout``, which means the DROP rate everywhere else, is refused with
the conversion, and model files written before the rename still load with the same meaning."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.cli import main
from deeplayers.sklearn import DNNClassifier, estimator_from_payload


def _data(m: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(seed).normal(size=(3, m))
    return X, (X[:1] - X[1:2] > 0).astype(float)


def test_fit_takes_keep_prob_and_refuses_dropout():
    X, Y = _data()
    kept = dl.Network([3, 16, 1], seed=2).fit(X, Y, epochs=3, keep_prob=0.5, batch_size=20)
    plain = dl.Network([3, 16, 1], seed=2).fit(X, Y, epochs=3, batch_size=20)
    assert kept.cost != plain.cost  # keep_prob=0.5 really drops units
    with pytest.raises(dl.ConfigError, match=r"use keep_prob = 1 - dropout \(got dropout=0.2\)"):
        dl.Network([3, 16, 1]).fit(X, Y, epochs=1, dropout=0.2)


def test_estimators_take_keep_prob_and_old_files_with_dropout_load_as_keep_prob():
    X, Y = _data(80)
    y = Y.ravel().astype(int)
    clf = DNNClassifier(hidden_layer_sizes=(8,), keep_prob=0.9, epochs=5, random_state=0).fit(X.T, y)
    assert clf.get_params()["keep_prob"] == 0.9 and "dropout" not in clf.get_params()
    _, net, arrays, header = clf.model_file_payload()
    old = copy.deepcopy(header)
    params = old["estimator"]["params"]
    params["dropout"] = params.pop("keep_prob")  # a file written before the rename
    back = estimator_from_payload(net, arrays, old)
    assert back.keep_prob == 0.9 and "dropout" not in back.get_params()
    np.testing.assert_array_equal(back.predict_proba(X.T), clf.predict_proba(X.T))
    with pytest.raises(TypeError, match="dropout"):
        DNNClassifier(dropout=0.9)


def test_command_line_takes_keep_prob_and_refuses_dropout(capsys, tmp_path):
    assert main(["train", "iris", "--layers", "8", "--keep-prob", "0.9", "--epochs", "2", "--out",
                 str(tmp_path / "m.npz"), "--no-plot", "-q"]) == 0
    assert dl.load(tmp_path / "m.npz").hyperparameters["keep_prob"] == 0.9
    capsys.readouterr()
    assert main(["train", "iris", "--dropout", "0.2", "--out", str(tmp_path / "n.npz")]) == 2
    err = capsys.readouterr().err
    assert "--dropout is not an option: give --keep-prob" in err and "--keep-prob 0.8" in err
    assert not (tmp_path / "n.npz").exists()


def test_a_search_space_takes_keep_prob_and_refuses_dropout():
    X, Y = _data()
    res = dl.search(X, Y, {"keep_prob": [0.8], "hidden": [[8]]}, epochs=2, storage=None)
    assert res.trials[0]["config"]["fit"]["keep_prob"] == 0.8 and res.trials[0]["status"] == "ok"
    with pytest.raises(dl.ConfigError, match="use keep_prob = 1 - dropout"):
        dl.search(X, Y, {"dropout": [0.2]}, epochs=2, storage=None)


def test_network_takes_hidden_and_output_or_a_full_activations_list():
    X = np.random.default_rng(1).normal(size=(3, 7))
    by_list = dl.Network([3, 4, 5, 2], activations=["tanh", "relu", "softmax"], seed=0)
    by_parts = dl.Network([3, 4, 5, 2], hidden=["tanh", "relu"], output="softmax", seed=0)
    assert by_list.activations == by_parts.activations == ["tanh", "relu", "softmax"]
    np.testing.assert_array_equal(by_list.predict_proba(X), by_parts.predict_proba(X))
    # a hidden list of all L names used to drop output= silently: refused, saying what to write
    with pytest.raises(dl.ConfigError, match=r"got 3 names, which would leave output='linear' unused: give all L "
                                             r"as activations=\[\.\.\.\]"):
        dl.Network([3, 4, 5, 2], hidden=["tanh", "relu", "softmax"], output="linear")
    with pytest.raises(dl.ConfigError, match="give either activations=.* or hidden=/output=, not both"):
        dl.Network([3, 4, 2], activations=["tanh", "sigmoid"], output="softmax")
    with pytest.raises(dl.ConfigError, match="activations= needs one activation per layer l = 1..L: 2 names"):
        dl.Network([3, 4, 2], activations=["tanh"])
    assert dl.Network.from_spec(by_list.to_spec(), by_list.parameters).activations == by_list.activations
