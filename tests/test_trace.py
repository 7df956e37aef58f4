"""The shape trace: every array's shape in the notation, from the engine's own passes; mismatches named."""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

import deeplayers as dl
from deeplayers import course
from deeplayers.cli import cli
from deeplayers.trace import Trace, trace


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(3, 7)
    return X, (X[0:1] > 0).astype(float)


def test_every_shape_of_a_pass_in_the_notation(data, capsys):
    X, Y = data
    net = dl.Network([3, 5, 4, 1], seed=2)
    tr = net.trace(X, Y)
    assert isinstance(tr, Trace) and tr.ok and tr.error is None
    printed = capsys.readouterr().out
    assert printed.strip() == str(tr)
    dims, m = net.layer_dims, 7
    expected = {"A[0]": (3, m), "J": ()}
    for l in range(1, 4):
        expected |= {f"Z[{l}]": (dims[l], m), f"A[{l}]": (dims[l], m), f"dZ[{l}]": (dims[l], m),
                     f"dW[{l}]": (dims[l], dims[l - 1]), f"db[{l}]": (dims[l], 1)}
        if l > 1:
            expected[f"dA[{l - 1}]"] = (dims[l - 1], m)
    assert tr.shapes == expected
    # the equations and the shapes that met, line by line, in the order the passes ran
    text = str(tr)
    assert "Z[1] = W[1] A[0] + b[1]" in text and "(5, 7) = (5, 3)(3, 7) + (5, 1)" in text
    assert "dZ[2] = dA[2] * relu'(Z[2])" in text and "(4, 7) = (4, 7) * (4, 7)" in text
    assert "dW[1] = (1/m) dZ[1] A[0]^T" in text and "(5, 3) = (5, 7)(7, 3)" in text
    assert "dA[1] = W[2]^T dZ[2]" in text and "(5, 7) = (5, 4)(4, 7)" in text
    assert "dZ[3] = A[3] - Y" in text
    assert text.index("Z[3] =") < text.index("J =") < text.index("dZ[3] =") < text.index("dZ[1] =")
    assert "dA[0]" not in tr.shapes  # never computed
    assert text.endswith("every shape agrees for m = 7")
    # J is the engine's cost of this network on this data
    assert tr.cost == pytest.approx(net.cost(net.forward(X), Y), rel=1e-12)


def test_the_trace_changes_nothing(data):
    X, Y = data
    net = dl.Network([3, 5, 1], seed=2)
    before = {k: v.copy() for k, v in net.parameters.items()}
    net.fit(X, Y, learning_rate=0.1, num_iterations=1)
    grads_before = [(layer.dW.copy(), layer.db.copy()) for layer in net.layers]
    net.trace(X[:, :3], Y[:, :3], show=False)
    for layer, (dW, db) in zip(net.layers, grads_before):
        np.testing.assert_array_equal(layer.dW, dW)
        np.testing.assert_array_equal(layer.db, db)
    # trained once, then traced: the parameters are what one step made, not touched by the trace
    assert any(not np.array_equal(before[k], v) for k, v in net.parameters.items())
    after_fit = {k: v.copy() for k, v in net.parameters.items()}
    net.trace(X, Y, show=False)
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, after_fit[k])


def test_runs_the_engines_passes(data, monkeypatch):
    """No second copy of the math: the layers' own forward and the network's backward make every array."""
    X, Y = data
    net = dl.Network([3, 4, 1], seed=0)
    calls = []
    forward, backward = dl.Dense.forward, dl.Dense.backward
    monkeypatch.setattr(dl.Dense, "forward", lambda self, *a, **k: calls.append(("f", self.l)) or forward(self, *a, **k))
    monkeypatch.setattr(dl.Dense, "backward", lambda self, *a, **k: calls.append(("b", self.l)) or backward(self, *a, **k))
    net.trace(X, Y, show=False)
    assert calls == [("f", 1), ("f", 2), ("b", 2), ("b", 1)]


def test_X_with_samples_in_rows_stops_at_Z1(data, capsys):
    X, Y = data
    net = dl.Network([3, 5, 1], seed=2)
    tr = net.trace(X.T, Y)
    assert not tr.ok and isinstance(tr.error, dl.ShapeError)
    assert "did you mean X.T" in str(tr.error)
    assert tr.failed_at.name == "Z[1]"
    assert tr.shapes == {"A[0]": (7, 3)}
    out = capsys.readouterr().out
    assert "Z[1] = W[1] A[0] + b[1]   (5, 3)(7, 3) + (5, 1): W[1] has 3 columns, A[0] has 7 rows   <-- shapes disagree" in out
    assert out.strip().splitlines()[-1].startswith("stopped: X must be (n[0], m) = (3, m), got (7, 3)")
    assert repr(tr) == "<Trace of 1 arrays: stops at Z[1]>"


def test_Y_as_a_column_stops_at_the_cost(data):
    X, Y = data
    tr = dl.Network([3, 5, 1], seed=2).trace(X, Y.T, show=False)
    assert tr.failed_at.name == "J" and "did you mean Y.T" in str(tr.error)
    assert "A[2] (1, 7) against Y (7, 1)   <-- shapes disagree" in str(tr)
    assert set(tr.shapes) == {"A[0]", "Z[1]", "A[1]", "Z[2]", "A[2]"}  # the forward pass went through


def test_a_learners_parameters_that_do_not_chain(data):
    """W1 reused in layer 2: the trace goes as far as the shapes allow and names the product that fails."""
    X, _ = data
    W1 = np.random.RandomState(0).randn(4, 3)
    params = {"W1": W1, "b1": np.zeros((4, 1)), "W2": W1, "b2": np.zeros((1, 1))}
    tr = course.trace(X, params, show=False)
    assert tr.failed_at.name == "Z[2]" and isinstance(tr.error, dl.ShapeError)
    assert "Z[2] = W[2] A[1] + b[2]   (4, 3)(4, 7) + (1, 1): W[2] has 3 columns, A[1] has 4 rows" in str(tr)
    assert tr.shapes == {"A[0]": (3, 7), "Z[1]": (4, 7), "A[1]": (4, 7)}
    # a 1-D b[l] is named on its line, with the fix
    params = {"W1": W1, "b1": np.zeros(4), "W2": np.ones((1, 4)), "b2": np.zeros((1, 1))}
    tr = course.trace(X, params, show=False)
    assert tr.failed_at.name == "Z[1]" and "b.reshape(-1, 1)" in str(tr.error)
    assert "b[1] must be a column (n[1], 1) = (4, 1)" in str(tr)
    # parameters that chain are traced through a network, with the cost and the backward pass
    params["b1"] = np.zeros((4, 1))
    tr = course.trace(X, params, (X[:1] > 0) * 1.0, hidden="tanh", show=False)
    assert tr.ok and tr.shapes["dW[1]"] == (4, 3) and "tanh(Z[1])" in str(tr)
    # the trace of a Network wants a Network, and says where a dict goes
    with pytest.raises(TypeError, match=r"use deeplayers.course.trace\(X, parameters, Y\)"):
        trace(params, X)


def test_a_transposed_W_is_blamed_not_the_A_before_it(data):
    """W[1] says n[1] = 4; a W[2] stored as (4, 1) must not make the trace infer n[1] = 1 from it."""
    X, _ = data
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(4, 3), "b1": np.zeros((4, 1)), "W2": rng.randn(4, 1), "b2": np.zeros((1, 1))}
    tr = course.trace(X, params, show=False)
    assert tr.failed_at.name == "Z[2]" and isinstance(tr.error, dl.ShapeError)
    assert str(tr.error) == ("W[2] must be (n[2], n[1]) = (1, 4) but is (4, 1): A[1] has n[1] = 4 rows (from W[1]); "
                             "it looks stored transposed: did you mean W2.T?")
    assert "n[1], m) = (1, m)" not in str(tr)
    # W1 reused in layer 2: W[2] is still the one at fault, but W2.T (3, 4) does not fit b[2]: no such hint
    params["W2"] = params["W1"]
    tr = course.trace(X, params, show=False)
    assert str(tr.error) == "W[2] must be (n[2], n[1]) = (1, 4) but is (4, 3): A[1] has n[1] = 4 rows (from W[1])"
    # b[2] 2-D but not a column says nothing about n[2]: the hint still comes, n[2] shown as ?
    params.update(W2=rng.randn(4, 2), b2=np.zeros((2, 2)))
    assert str(course.trace(X, params, show=False).error) == (
        "W[2] must be (n[2], n[1]) = (?, 4) but is (4, 2): A[1] has n[1] = 4 rows (from W[1]); it looks stored "
        "transposed: did you mean W2.T?")
    # W[1] transposed, with b[1] saying n[1] = 4: W[1] is named, not X
    params = {"W1": rng.randn(3, 4), "b1": np.zeros((4, 1)), "W2": rng.randn(1, 4), "b2": np.zeros((1, 1))}
    assert str(course.trace(X, params, show=False).error) == (
        "W[1] must be (n[1], n[0]) = (4, 3) but is (3, 4): A[0] has n[0] = 3 rows; it looks stored transposed: "
        "did you mean W1.T?")
    # with nothing to tell X from W[1] (b[1] agrees with neither), X's shape is named, as before
    params["b1"] = np.zeros((5, 1))
    assert str(course.trace(X, params, show=False).error) == "A[0] must be (n[0], m) = (4, m), got (3, 7)"


def test_softmax_and_unfused_losses(data):
    X, _ = data
    Y = np.eye(3)[:, np.arange(7) % 3]
    tr = dl.Network([3, 4, 3], output="softmax", seed=0).trace(X, Y, show=False)
    assert tr.ok and tr.shapes["dZ[2]"] == (3, 7) and "dZ[2] = A[2] - Y" in str(tr)
    tr = dl.Network([3, 4, 1], output="sigmoid", loss="mse", seed=0).trace(X, X[:1], show=False)
    assert "dA[2] = dJ/dA[2] (mse)" in str(tr) and "dZ[2] = dA[2] * sigmoid'(Z[2])" in str(tr)


def test_cli_train_trace_prints_one_batch_and_trains_the_same(tmp_path):
    runner = CliRunner()
    args = ["train", "breast_cancer", "--layers", "5,3", "--epochs", "2", "--batch-size", "64", "--no-plot", "-q"]
    r1 = runner.invoke(cli, [*args, "--out", str(tmp_path / "a.npz"), "--trace"])
    assert r1.exit_code == 0, r1.output
    assert "shape trace of one batch (m = 64):" in r1.output
    assert "dW[1] = (1/m) dZ[1] A[0]^T" in r1.output and "(5, 30) = (5, 64)(64, 30)" in r1.output
    r2 = runner.invoke(cli, [*args, "--out", str(tmp_path / "b.npz")])
    assert r2.exit_code == 0 and "shape trace" not in r2.output
    a, b = dl.load(tmp_path / "a.npz"), dl.load(tmp_path / "b.npz")
    for k, v in a.network.parameters.items():
        np.testing.assert_array_equal(v, b.network.parameters[k])


def test_the_docs_show_the_real_trace():
    """docs/companion.md shows the table and the mismatch of its own example, as printed."""
    from conftest import REPO

    page = (REPO / "docs" / "companion.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n(.*?)```", page, flags=re.S)
    rng = np.random.RandomState(1)
    X = rng.randn(3, 5)
    Y = (X[0:1] + X[1:2] > 0).astype(float)
    net = dl.Network([3, 4, 2, 1], seed=1)
    assert blocks[0].rstrip("\n") == str(net.trace(X, Y, show=False))
    assert blocks[1].rstrip("\n") == str(net.trace(X.T, show=False))
