"""Pictures: each is drawn from a trained model, saved as a valid non-blank PNG of the expected size,
and shows the right data (curves = the recorded costs, tiles = the rows of W[1], one node column
per layer, the regions = the model's predictions)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

import matplotlib.image as mpimg  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from sklearn.datasets import make_blobs, make_moons  # noqa: E402

import deeplayers as dl  # noqa: E402
from deeplayers import plots  # noqa: E402
from deeplayers.datasets import load_mnist, to_columns  # noqa: E402
from deeplayers.errors import ConfigError, DataError, ShapeError  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png(path, fig, min_std=0.04, min_colours=20):
    """Valid PNG (magic bytes, decodes), exactly figsize * dpi pixels, not blank."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    img = mpimg.imread(path)
    w, h = (fig.get_size_inches() * fig.dpi).round().astype(int)
    assert img.shape[:2] == (h, w)
    rgb = img[..., :3]
    assert rgb.std() > min_std, f"picture looks blank (pixel std {rgb.std():.3f})"
    colours = np.unique((rgb * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours, f"only {len(colours)} distinct colours"
    # atomic write leaves no temporary file behind
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    return img


def texts(fig):
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return out


@pytest.fixture(scope="module")
def moons():
    """A trained 2-feature binary classifier on make_moons, X (2, m) columns."""
    Xr, y = make_moons(300, noise=0.2, random_state=0)
    X, Y = Xr.T, y.reshape(1, -1).astype(float)
    net = dl.Network([2, 16, 8, 1], hidden="relu", output="sigmoid", seed=1)
    history = net.fit(X[:, :240], Y[:, :240], learning_rate=0.01, epochs=150, optimizer="adam", batch_size=64,
                      validation_data=(X[:, 240:], Y[:, 240:]), seed=0)
    assert np.mean(net.predict(X) == Y) > 0.93  # it really learned the moons
    return net, history, X, Y


# -- cost curves ---------------------------------------------------------------------------------
def test_plot_costs_history_train_and_validation(moons, tmp_path):
    net, history, X, Y = moons
    path = tmp_path / "costs.png"
    fig = plots.plot_costs(history, path)
    check_png(path, fig)
    assert tuple((fig.get_size_inches() * fig.dpi).round()) == (640, 480)
    ax = fig.axes[0]
    train, val = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(train.get_ydata(), history.cost)
    np.testing.assert_array_equal(val.get_ydata(), history.val_cost)
    np.testing.assert_array_equal(train.get_xdata(), np.arange(len(history.cost)))
    assert ax.get_ylabel() == "cost"
    assert ax.get_xlabel() == "epochs"  # mini-batches: History.unit == "epoch"
    assert ax.get_title() == "Learning rate =0.01"  # read from history.lr
    assert {"train cost", "validation cost"} <= set(texts(fig))
    # a Network after fit plots its own history
    assert plots.plot_costs(net).axes[0].lines[0].get_ydata().tolist() == history.cost


def test_plot_costs_course_list_is_labelled_like_the_course(tmp_path):
    from deeplayers.course import L_layer_model

    rng = np.random.RandomState(1)
    X = rng.randn(4, 60)
    Y = (X[0:1] + X[1:2] > 0).astype(float)
    _, costs = L_layer_model(X, Y, [4, 5, 1], learning_rate=0.0075, num_iterations=800)
    assert len(costs) == 8  # the course records every 100 iterations
    path = tmp_path / "course.png"
    fig = plots.plot_costs(costs, path, learning_rate=0.0075)
    check_png(path, fig, min_std=0.02, min_colours=10)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "iterations (per hundreds)"
    assert ax.get_title() == "Learning rate =0.0075"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.squeeze(costs))


def test_plot_costs_full_batch_history_dict_and_early_stopping(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(2, 200)
    Y = (X[0:1] > 0).astype(float)
    net = dl.Network([2, 4, 1], seed=0)
    h = net.fit(X, Y, learning_rate=0.05, epochs=200, optimizer="adam", batch_size=32, validation_split=0.3,
                early_stopping=dl.EarlyStopping(patience=5), seed=0)
    fig = plots.plot_costs(h.as_dict(), title="early stopping")
    assert fig.axes[0].get_title() == "early stopping (Learning rate =0.05)"
    if h.best_epoch is not None:
        assert any(t.startswith("best epoch") for t in texts(fig))
    h2 = dl.Network([2, 3, 1], seed=0).fit(X, Y, learning_rate=0.1, num_iterations=30)
    fig2 = plots.plot_costs(h2, learning_rate=0.1)
    assert fig2.axes[0].get_xlabel() == "iterations"  # full batch records every iteration


def test_plot_costs_errors():
    with pytest.raises(DataError, match="no costs to plot"):
        plots.plot_costs([])
    with pytest.raises(DataError, match="'cost' list"):
        plots.plot_costs({"val_cost": [1.0]})
    with pytest.raises(DataError, match="no training history"):
        plots.plot_costs(dl.Network([2, 1]))


# -- decision boundary ---------------------------------------------------------------------------
def test_decision_boundary_binary_network(moons, tmp_path):
    net, _, X, Y = moons
    path = tmp_path / "boundary.png"
    fig = plots.plot_decision_boundary(net, X, Y, path)
    img = check_png(path, fig)
    ax = fig.axes[0]
    # the A[L] = 0.5 contour is drawn, and the data points are all there
    assert any(list(getattr(c, "levels", [])) == [0.5] for c in ax.collections)
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1 and points[0].get_offsets().shape == (X.shape[1], 2)
    np.testing.assert_allclose(points[0].get_offsets(), X.T)
    assert ax.get_title() == "Decision boundary: A[L] = 0.5"
    assert {"y = 0", "y = 1"} <= set(texts(fig))
    # both predicted regions are visible: reddish (class 1) and bluish (class 0) pixels
    rgb = img[..., :3]
    assert ((rgb[..., 0] - rgb[..., 2]) > 0.2).mean() > 0.05
    assert ((rgb[..., 2] - rgb[..., 0]) > 0.2).mean() > 0.05


def test_decision_boundary_regions_follow_the_model(moons):
    """The shaded probability is the network's A[L] on the grid (an independent forward pass)."""
    net, _, X, Y = moons
    fig = plots.plot_decision_boundary(net, X, Y.ravel(), resolution=50)
    filled = fig.axes[0].collections[0]
    # contourf levels split [0, 1]; the grid's A[L] spans both sides of 0.5
    assert list(np.round(filled.levels, 6)) == list(np.round(np.linspace(0, 1, 11), 6))
    lo, hi = fig.axes[0].get_xlim(), fig.axes[0].get_ylim()
    grid = np.array(np.meshgrid(np.linspace(*lo, 50), np.linspace(*hi, 50))).reshape(2, -1)
    A = grid
    for l in range(1, net.L + 1):  # independent forward pass
        Z = net.parameters[f"W{l}"] @ A + net.parameters[f"b{l}"]
        A = np.maximum(Z, 0) if l < net.L else 1 / (1 + np.exp(-Z))
    assert A.min() < 0.1 and A.max() > 0.9


def test_decision_boundary_softmax_estimator_and_course_lambda(tmp_path):
    Xr, y = make_blobs(240, centers=4, random_state=3)
    Xr = (Xr - Xr.mean(0)) / Xr.std(0)
    X, Yoh = Xr.T, np.eye(4)[y].T
    net = dl.Network([2, 10, 4], output="softmax", seed=0)
    net.fit(X, Yoh, learning_rate=0.01, epochs=150, optimizer="adam")
    assert np.mean(net.predict(X)[0] == y) > 0.95
    fig = plots.plot_decision_boundary(net, X, Yoh, tmp_path / "softmax.png")  # one-hot labels accepted
    check_png(tmp_path / "softmax.png", fig)
    assert {"y = 0", "y = 1", "y = 2", "y = 3"} <= set(texts(fig))
    assert fig.axes[0].get_title() == "Decision boundary: argmax of A[L]"

    # the course's way: a function of grid points as ROWS
    fig = plots.plot_decision_boundary(lambda x: net.predict(x.T), X, y, resolution=120)
    assert fig.axes[0].get_title() == "Decision boundary: model.predict"

    # a scikit-learn estimator predicting string labels on rows
    from sklearn.neighbors import KNeighborsClassifier

    labels = np.array(["a", "b", "c", "d"])[y]
    est = KNeighborsClassifier().fit(Xr, labels)
    fig = plots.plot_decision_boundary(est, X, labels, tmp_path / "knn.png", resolution=120)
    check_png(tmp_path / "knn.png", fig)
    assert {"y = a", "y = d"} <= set(texts(fig))


def test_decision_boundary_deeplayers_estimator(moons, tmp_path):
    """A fitted DNNClassifier predicts on rows; its P(class 1) is shaded with the P = 0.5 line."""
    dnn = pytest.importorskip("deeplayers.sklearn")
    _, _, X, Y = moons
    est = dnn.DNNClassifier(hidden_layer_sizes=(16,), epochs=60, random_state=0).fit(X.T, Y.ravel())
    fig = plots.plot_decision_boundary(est, X, Y, tmp_path / "est.png", resolution=100)
    check_png(tmp_path / "est.png", fig)
    assert fig.axes[0].get_title() == "Decision boundary: P = 0.5"
    assert any(list(getattr(c, "levels", [])) == [0.5] for c in fig.axes[0].collections)
    fig = plots.plot_costs(est)  # its loss_curve_, one cost per epoch
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), est.loss_curve_)
    assert fig.axes[0].get_xlabel() == "epochs"
    fig = plots.plot_weights(est, (2, 1), max_units=4)  # W[1] of the estimator's network_
    assert len([ax for ax in fig.axes if ax.images]) == 4


def test_decision_boundary_multilabel_and_regression():
    Xr, _ = make_blobs(200, centers=4, random_state=3)
    X = ((Xr - Xr.mean(0)) / Xr.std(0)).T
    Yml = np.vstack([X[0] > 0, X[1] > 0]).astype(float)
    net = dl.Network([2, 8, 2], output="sigmoid", seed=0)
    net.fit(X, Yml, learning_rate=0.02, epochs=100, optimizer="adam")
    fig = plots.plot_decision_boundary(net, X, Yml)
    assert "units on: 1, 2" in texts(fig) and "units on: none" in texts(fig)
    yr = np.sin(2 * X[0:1]) + X[1:2]
    netr = dl.Network([2, 8, 1], hidden="tanh", output="linear", seed=0)
    netr.fit(X, yr, learning_rate=0.01, epochs=50, optimizer="adam")
    fig = plots.plot_decision_boundary(netr, X, yr)
    assert fig.axes[0].get_title().startswith("Output A[L]")


def test_decision_boundary_loaded_model_repeats_preprocessing(moons, tmp_path):
    from deeplayers.modelfile import Model, Preprocessing

    _, _, X, Y = moons
    X_raw = X * 100 + 500  # raw data in other units; the model standardizes it
    pre = Preprocessing("standard").fit(X_raw)
    net = dl.Network([2, 8, 1], seed=0)
    net.fit(pre.transform(X_raw), Y, learning_rate=0.02, epochs=150, optimizer="adam")
    dl.save(Model(net, pre), tmp_path / "m.npz")
    model = dl.load(tmp_path / "m.npz")
    fig = plots.plot_decision_boundary(model, X_raw, Y, tmp_path / "loaded.png")
    check_png(tmp_path / "loaded.png", fig)
    x0, x1 = fig.axes[0].get_xlim()
    assert x0 < X_raw[0].min() and x1 > X_raw[0].max()  # drawn in raw units


def test_decision_boundary_errors(moons):
    net, _, X, Y = moons
    with pytest.raises(ShapeError, match=r"two-feature data X of shape \(2, m\).*did you mean X.T"):
        plots.plot_decision_boundary(net, X.T, Y)
    with pytest.raises(ShapeError, match=r"\(2, m\); got \(3, 300\)"):
        plots.plot_decision_boundary(net, np.vstack([X, X[:1]]), Y)
    with pytest.raises(ShapeError, match=r"n\[0\] = 2 input features; this one has n\[0\] = 3"):
        plots.plot_decision_boundary(dl.Network([3, 2, 1]), X, Y)
    with pytest.raises(ShapeError, match="one label per column"):
        plots.plot_decision_boundary(net, X, Y[:, :10])
    with pytest.raises(DataError, match="NaN"):
        plots.plot_decision_boundary(net, np.where(X > 1.5, np.nan, X), Y)


# -- what layer 1 learned ------------------------------------------------------------------------
def test_plot_weights_mnist(mnist_dir, tmp_path):
    images, labels = load_mnist(mnist_dir, "train")
    X = to_columns(images[:300])  # (784, 300)
    Y = np.eye(10)[labels[:300]].T
    net = dl.Network([784, 24, 10], output="softmax", seed=0)
    h = net.fit(X, Y, learning_rate=0.01, epochs=5, optimizer="adam", batch_size=50, seed=0)
    assert h.cost[-1] < h.cost[0]
    path = tmp_path / "weights.png"
    fig = plots.plot_weights(net, (28, 28), path, max_units=16)
    check_png(path, fig)
    tiles = [ax for ax in fig.axes if ax.images]
    assert len(tiles) == 16
    W1 = net.parameters["W1"]
    for j in (0, 7, 15):  # each tile is row j of W[1] as a 28 x 28 image, scaled by its max |w|
        np.testing.assert_allclose(tiles[j].images[0].get_array(), W1[j].reshape(28, 28) / np.abs(W1[j]).max())
    assert "16 of 24 units" in fig._suptitle.get_text()

    # reshaping follows to_columns: a unit whose weights ARE a digit shows that digit
    net.parameters["W1"][0] = X[:, 0]
    fig = plots.plot_weights(net, (28, 28), max_units=4)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), images[0] / images[0].max())


def test_plot_weights_cat_colour(cat_data, tmp_path):
    X, Y, _, _ = cat_data
    net = dl.Network([12288, 6, 1], seed=1)
    net.fit(X, Y, learning_rate=0.005, num_iterations=3)
    path = tmp_path / "cat_weights.png"
    fig = plots.plot_weights(net, (64, 64, 3), path)
    check_png(path, fig)
    assert len([ax for ax in fig.axes if ax.images]) == 6
    # colour tiles are min-max scaled per unit; a unit set to a cat picture shows that picture
    net.parameters["W1"][2] = X[:, 0]
    fig = plots.plot_weights(net, (64, 64, 3))
    x = X[:, 0].reshape(64, 64, 3)
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), (x - x.min()) / (x.max() - x.min()))


def test_plot_weights_errors():
    net = dl.Network([784, 4, 1])
    with pytest.raises(ShapeError, match=r"n\[0\] = 784 columns, which cannot be reshaped to image_shape \(28, 27\)"):
        plots.plot_weights(net, (28, 27))
    with pytest.raises(ShapeError, match="image_shape must be"):
        plots.plot_weights(net, (784,))
    with pytest.raises(TypeError, match="expected a deeplayers Network"):
        plots.plot_weights("net.npz", (28, 28))


# -- the architecture ----------------------------------------------------------------------------
def test_plot_architecture_course_network(tmp_path):
    net = dl.Network([12288, 20, 7, 5, 1], seed=1)
    path = tmp_path / "arch.png"
    fig = plots.plot_architecture(net, path)
    check_png(path, fig, min_std=0.04)
    t = texts(fig)
    assert "layer 0 (input)\nn[0] = 12,288\nX = A[0]" in t
    assert "layer 2\nn[2] = 7\nrelu\nA[2]\nW[2]: (7, 20)" in t
    assert "layer 4 = L (output)\nn[4] = 1\nsigmoid\nA[L] = ŷ\nW[4]: (1, 5)" in t
    assert t.count("⋮") == 2  # layers 0 (12288 units) and 1 (20 units) are elided
    ax = fig.axes[0]
    nodes = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in nodes] == [7, 7, 7, 5, 1]  # one column per layer l = 0..L
    assert [float(c.get_offsets()[0, 0]) for c in nodes] == [0, 1, 2, 3, 4]
    # every drawn node of layer l-1 is joined to every drawn node of layer l
    assert len(ax.lines) == 7 * 7 + 7 * 7 + 7 * 5 + 5 * 1
    assert "$x_{12288}$" in t and "$a^{[1]}_{20}$" in t and r"$\hat{y}$" in t


def test_plot_architecture_small_and_max_nodes():
    fig = plots.plot_architecture(dl.Network([2, 3, 2], hidden="tanh", output="softmax"))
    t = texts(fig)
    assert "⋮" not in t and "layer 1\nn[1] = 3\ntanh\nA[1]\nW[1]: (3, 2)" in t
    assert len(fig.axes[0].lines) == 2 * 3 + 3 * 2
    fig = plots.plot_architecture(dl.Network([100, 50, 10], output="softmax"), max_nodes=4)
    nodes = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in nodes] == [3, 3, 3]
    assert "$x_{100}$" in texts(fig)
    with pytest.raises(ConfigError, match="max_nodes must be at least 3"):
        plots.plot_architecture(dl.Network([4, 2, 1]), max_nodes=2)


def test_headless_without_display_or_pyplot(tmp_path):
    """No display, no MPLBACKEND: the pictures still render, and pyplot is never imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    code = (
        "import sys, deeplayers as dl\n"
        "from deeplayers import plots\n"
        f"plots.plot_architecture(dl.Network([4, 3, 1]), {str(tmp_path / 'a.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG_MAGIC


def test_overwrites_existing_file_atomically(tmp_path):
    path = tmp_path / "arch.png"
    path.write_bytes(b"old")
    plots.plot_architecture(dl.Network([4, 3, 1]), path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.png"]
