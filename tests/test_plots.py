"""Pictures: each is drawn from a trained model, saved as a valid non-blank PNG of the expected size,
and shows the right data (curves = the recorded costs, tiles = the rows of W[1], one node column
per layer, the regions = the model's predictions)."""

from __future__ import annotations

import os
import re
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


def visible_ticks(axis):
    """The major tick locations the axis draws (those inside its view interval), as numbers."""
    lo, hi = sorted(axis.get_view_interval())
    eps = 1e-9 * (hi - lo)
    return [float(v) for v in axis.get_majorticklocs() if lo - eps <= v <= hi + eps]


def drawn_texts(fig):
    """Every text artist the figure draws: visible, non-empty, and for tick labels only the ticks
    inside the view (matplotlib keeps label objects for ticks it does not draw)."""
    from matplotlib.text import Text

    skip = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not ax.axison:  # ax.axis("off"): no ticks, tick labels or axis labels drawn
                skip.update(id(t) for t in axis.findobj(Text))
                continue
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * (hi - lo)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - eps <= tick.get_loc() <= hi + eps:
                    skip.update(id(t) for t in (tick.label1, tick.label2))
    out = []
    for t in fig.findobj(Text):
        if id(t) in skip or not t.get_visible() or not t.get_text().strip():
            continue
        if t.axes is None or t.axes.get_visible():
            out.append(t)
    return out


def off_canvas(fig):
    """(text, extent) of every drawn text artist that reaches beyond the canvas, measured with the
    figure's own renderer after a full draw."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    bad = []
    for t in drawn_texts(fig):
        bb = t.get_window_extent(renderer)
        if bb.x0 < -0.5 or bb.y0 < -0.5 or bb.x1 > W + 0.5 or bb.y1 > H + 0.5:
            bad.append((t.get_text(), tuple(round(v) for v in bb.extents), (W, H)))
    return bad


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
    # epochs counted as the console counts them ("epoch 1/150" ... "epoch 150/150")
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, len(history.cost) + 1))
    np.testing.assert_array_equal(val.get_xdata(), np.arange(1, len(history.val_cost) + 1))
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
    # as the course prints them: "Cost after iteration 0", 100, ..., 700 -> 0, 1, ..., 7 hundreds
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(8))
    assert visible_ticks(ax.xaxis) == list(range(8))


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


def forward(net, A, hidden):
    """A[L] of a network by hand (independent of deeplayers' forward pass)."""
    for l in range(1, net.L + 1):
        Z = net.parameters[f"W{l}"] @ A + net.parameters[f"b{l}"]
        A = hidden(Z) if l < net.L else Z
    return A


def plane_grid(ax, resolution):
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return np.array(np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))).reshape(2, -1)


def point_colours(ax):
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return points


def test_multi_output_regression_colours_points_by_the_first_output():
    """A linear [2, 8, 2] network: the surface is A[L]'s first row and the points are coloured by y's
    first row on that scale (they were coloured by argmax(y), 0 or 1)."""
    rng = np.random.RandomState(0)
    X = rng.randn(2, 200)
    Y = np.vstack([X[0] * 3, X[1] * 100])
    net = dl.Network([2, 8, 2], output="linear", seed=0)
    net.fit(X, Y, learning_rate=0.01, epochs=50, optimizer="adam", verbose=0)
    fig = plots.plot_decision_boundary(net, X, Y, resolution=60)
    ax = fig.axes[0]
    np.testing.assert_allclose(point_colours(ax).get_array(), Y[0])
    assert fig.axes[1].get_ylabel() == "first of 2 outputs: A[L] and y"
    assert "first of 2 outputs" in ax.get_title()
    # the colour scale is that of the first output (about +-9), not the second's (+-300)
    A = forward(net, plane_grid(ax, 60), lambda Z: np.maximum(Z, 0))
    levels = ax.collections[0].levels
    assert levels[0] <= min(A[0].min(), Y[0].min()) and levels[-1] >= max(A[0].max(), Y[0].max())
    assert levels[-1] - levels[0] < 3 * (max(A[0].max(), Y[0].max()) - min(A[0].min(), Y[0].min()))
    with pytest.raises(ShapeError, match=r"the model has 2 outputs and the surface shows the first: give y with "
                                         r"all of them, \(2, 200\) with m = 200.*got shape \(200,\)"):
        plots.plot_decision_boundary(net, X, Y[0])
    with pytest.raises(DataError, match="y holds <U1 values: give the numeric targets"):
        plots.plot_decision_boundary(net, X, np.array(["a", "b"])[np.arange(400) % 2].reshape(2, 200))


def test_a_dnn_regressor_draws_its_surface_not_thousands_of_classes(tmp_path):
    """A fitted DNNRegressor (rows) draws its predict surface (it was drawn as ~90,000 classes, all
    black), its points coloured by y; y (m, n_targets) as rows for a multi-output one."""
    dnn = pytest.importorskip("deeplayers.sklearn")
    rng = np.random.RandomState(0)
    Xr = rng.randn(200, 2)
    yr = np.sin(Xr[:, 0]) + Xr[:, 1]
    reg = dnn.DNNRegressor(hidden_layer_sizes=(8,), epochs=20, random_state=0).fit(Xr, yr)
    fig = plots.plot_decision_boundary(reg, Xr.T, yr, tmp_path / "reg.png", resolution=60)
    check_png(tmp_path / "reg.png", fig)
    ax = fig.axes[0]
    assert ax.get_title() == "predict(X) over the plane, points coloured by y"
    np.testing.assert_allclose(point_colours(ax).get_array(), yr)
    pred = forward(reg.network_, plane_grid(ax, 60), lambda Z: np.maximum(Z, 0))[0]
    levels = ax.collections[0].levels
    assert len(levels) <= 20 and levels[0] <= pred.min() and levels[-1] >= pred.max()
    Y2 = np.c_[yr, 10 * yr]
    reg2 = dnn.DNNRegressor(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(Xr, Y2)
    fig = plots.plot_decision_boundary(reg2, Xr.T, Y2, resolution=40)
    np.testing.assert_allclose(point_colours(fig.axes[0]).get_array(), yr)
    assert fig.axes[1].get_ylabel() == "first of 2 outputs: predict and y"


def test_a_class_keeps_its_colour_whichever_classes_y_holds(moons):
    """Points of class 1 alone are drawn red (class 1), not blue (they were coloured by their place
    among the classes present); a label the network has no class for is refused."""
    from matplotlib.colors import to_rgba

    net, _, X, Y = moons
    for c, colour in [(1, "#b2182b"), (0, "#2166ac")]:
        keep = Y[0] == c
        fig = plots.plot_decision_boundary(net, X[:, keep], Y[:, keep], resolution=40)
        np.testing.assert_allclose(point_colours(fig.axes[0]).get_facecolors(), [to_rgba(colour)] * keep.sum())
        (handle,) = fig.axes[0].get_legend().legend_handles
        assert to_rgba(handle.get_markerfacecolor()) == to_rgba(colour)
    with pytest.raises(DataError, match=r"y holds \[2\], not among the model's classes \[0, 1\]"):
        plots.plot_decision_boundary(net, X, np.where(Y > 0, 2, 0))


def test_softmax_classes_keep_their_colour_when_y_holds_a_few():
    """tab10's colour of the class index, in the regions and the points, with one class of four in y
    (class 3 alone was drawn in the blue of a two-class palette)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba

    Xr, y = make_blobs(240, centers=4, random_state=3)
    Xb = ((Xr - Xr.mean(0)) / Xr.std(0)).T
    soft = dl.Network([2, 10, 4], output="softmax", seed=0)
    soft.fit(Xb, np.eye(4)[y].T, learning_rate=0.01, epochs=100, optimizer="adam", verbose=0)
    tab10 = [to_rgba(colormaps["tab10"](i)) for i in range(4)]
    for keep, labels in [(y == 3, np.eye(4)[y[y == 3]].T), (y == 2, y[y == 2]), (y >= 1, y[y >= 1])]:
        fig = plots.plot_decision_boundary(soft, Xb[:, keep], labels, resolution=50)
        ax = fig.axes[0]
        np.testing.assert_allclose(point_colours(ax).get_facecolors(), [tab10[c] for c in y[keep]])
        predicted = np.unique(np.argmax(forward(soft, plane_grid(ax, 50), lambda Z: np.maximum(Z, 0)), axis=0))
        np.testing.assert_allclose(ax.collections[0].get_facecolor()[:, :3], [tab10[c][:3] for c in predicted])


def test_plot_costs_marks_costs_that_are_not_finite(tmp_path):
    """NaN and inf costs, which matplotlib leaves out, are marked: a line from the first, named in the
    x axis' count, and a cross for each (the curve ended at 0.5 looking like a clean run)."""
    fig = plots.plot_costs([0.7, 0.5, float("nan"), float("inf")], tmp_path / "c.png")
    check_png(tmp_path / "c.png", fig, min_std=0.02, min_colours=10)
    ax = fig.axes[0]
    assert "cost not finite from iteration 2 (per hundreds)" in texts(fig)
    assert [list(ln.get_xdata()) for ln in ax.lines[1:]] == [[2, 2], [2, 3]]  # the line, the crosses
    assert off_canvas(fig) == []
    h = {"unit": "epoch", "cost": [0.7, 0.6, 0.5, 0.45], "val_cost": [0.8, 0.7, float("inf"), 0.9]}
    fig = plots.plot_costs(h)
    assert "validation cost not finite from epoch 3" in texts(fig)
    assert not any("cost not finite" in t and "validation" not in t for t in texts(fig))
    assert not any("not finite" in t for t in texts(plots.plot_costs([0.7, 0.5, 0.4])))
    fig = plots.plot_costs({"cost": [1.0, 0.5, float("nan")], "unit": "iteration"}, every=10)
    assert "cost not finite from iteration 3 (per 10)" in texts(fig)


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


# -- the x axis counts as the console does ---------------------------------------------------------
def test_cost_curve_x_axis_starts_at_epoch_1_with_whole_numbers(moons):
    net, history, X, Y = moons
    for n in (1, 2, 4, 10, 150):
        fig = plots.plot_costs({"unit": "epoch", "cost": history.cost[:n], "val_cost": history.val_cost[:n]})
        ax = fig.axes[0]
        for line in ax.lines[:2]:
            np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n + 1))
        ticks = visible_ticks(ax.xaxis)
        assert ticks and all(v == int(v) for v in ticks), ticks  # no 0.5 steps
        assert min(ticks) >= 1 and max(ticks) <= n, (n, ticks)  # no epoch 0, none after the last
        if n <= 10:
            assert ticks[0] == 1
    assert visible_ticks(plots.plot_costs({"unit": "epoch", "cost": history.cost[:4]}).axes[0].xaxis) == [1, 2, 3, 4]


def test_best_epoch_line_is_where_the_console_puts_it(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(2, 200)
    Y = (X[0:1] > 0).astype(float)
    h = dl.Network([2, 4, 1], seed=0).fit(X, Y, learning_rate=0.05, epochs=200, optimizer="adam", batch_size=32,
                                         validation_split=0.3, early_stopping=dl.EarlyStopping(patience=5), seed=0)
    assert h.best_epoch is not None and h.stopped_early
    ax = plots.plot_costs(h).axes[0]
    best = ax.lines[-1]
    # `deeplayers train` prints "(early stopping: best epoch {best_epoch + 1})"
    assert list(best.get_xdata()) == [h.best_epoch + 1] * 2
    assert f"best epoch ({h.best_epoch + 1})" in texts(ax.figure)
    # the best epoch's validation cost sits on that x
    val = ax.lines[1]
    assert val.get_ydata()[list(val.get_xdata()).index(h.best_epoch + 1)] == min(h.val_cost)


# -- every picture stays on its canvas ---------------------------------------------------------------
LONG_NAME = "fashion-mnist-train-images-from-the-zalando-research-benchmark-in-a-long-directory-name"
NAMES = [LONG_NAME, "train_catvnoncat.h5:train", "x" * 300,
         "/data/" + "/".join(["a-very-long-folder-name"] * 8) + "/train-images-idx3-ubyte.gz"]


@pytest.mark.parametrize("name", NAMES, ids=["long", "cat", "one-word", "path"])
def test_cost_curve_title_with_a_long_data_name_stays_on_the_canvas(moons, name):
    _, history, _, _ = moons
    title = f"{name}: layer_dims = [12288, 20, 7, 5, 1]"
    fig = plots.plot_costs(history, title=title, learning_rate=0.001)
    assert off_canvas(fig) == []
    shown = fig.axes[0].get_title()
    assert shown.endswith("(Learning rate =0.001)") and "layer_dims = [12288, 20, 7, 5, 1]" in shown
    full = f"{title} (Learning rate =0.001)"
    if name.startswith("xxx"):  # a word with nothing to break it at is shortened in its middle: both ends stay
        kept = next(line for line in shown.split("\n") if "…" in line)
        head, tail = kept.split("…")
        assert set(head + tail.rstrip(":")) == {"x"} and len(head) > 10 and len(tail) > 10
        assert shown.replace(kept, "").split() == full.replace(name + ":", "").split()
    else:  # wrapped at spaces, and a long path or name after its / - _: nothing lost
        assert "…" not in shown and "".join(shown.split()) == "".join(full.split())


def test_every_picture_kind_stays_on_its_canvas(moons):
    """Each plot function at its default size, with its default and with long titles, labels and
    shapes: no text artist reaches beyond the canvas."""
    from deeplayers.course import L_layer_model

    net, history, X, Y = moons
    long_title = " ".join(NAMES)
    figs = {
        "costs": plots.plot_costs(history),
        "costs, one epoch": plots.plot_costs({"unit": "epoch", "cost": [0.7], "val_cost": [0.8]}),
        "costs, course list": plots.plot_costs(L_layer_model(X, Y, [2, 3, 1], num_iterations=600)[1],
                                               learning_rate=0.0075),
        "costs, long title": plots.plot_costs(net, title=long_title),
        "boundary": plots.plot_decision_boundary(net, X, Y, resolution=60),
        "boundary, long title": plots.plot_decision_boundary(net, X, Y, resolution=60, title=long_title),
    }
    Xb, yb = make_blobs(200, centers=4, random_state=3)
    Xb = ((Xb - Xb.mean(0)) / Xb.std(0)).T
    softmax = dl.Network([2, 6, 4], output="softmax", seed=0)
    softmax.fit(Xb, np.eye(4)[yb].T, learning_rate=0.02, epochs=30, optimizer="adam")
    names = np.array([f"class {k} " + "with a long descriptive name " * 3 + LONG_NAME for k in range(4)])
    figs["boundary, long class names"] = plots.plot_decision_boundary(
        lambda rows: names[softmax.predict(rows.T)[0]], Xb, names[yb], resolution=60)
    reg = dl.Network([2, 4, 1], output="linear", seed=0)
    figs["boundary, regression"] = plots.plot_decision_boundary(reg, Xb, Xb[0] * 1e6, resolution=40)
    for units, shape in ((1, (28, 28)), (9, (28, 28)), (64, (28, 28)), (6, (8, 8, 3)), (100, (2, 3))):
        w = dl.Network([int(np.prod(shape)), units, 1], seed=0)
        figs[f"weights {units} x {shape}"] = plots.plot_weights(w, shape)
        figs[f"weights {units} x {shape}, long title"] = plots.plot_weights(w, shape, title=long_title)
    for dims in ([2, 1], [12288, 20, 7, 5, 1], [784, *[512] * 9, 10], [1234567, 2, 1]):
        a = dl.Network(dims, seed=0, dtype="float32")
        figs[f"architecture {dims}"] = plots.plot_architecture(a)
        figs[f"architecture {dims}, long title"] = plots.plot_architecture(a, title=long_title)
    for name, fig in figs.items():
        assert off_canvas(fig) == [], name



# -- the search's figure -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris_search():
    from sklearn.datasets import load_iris

    d = load_iris()
    X = (d.data.T - d.data.T.mean(axis=1, keepdims=True)) / d.data.T.std(axis=1, keepdims=True)
    Y = np.eye(3)[d.target].T
    space = {"learning_rate": {"loguniform": [1e-3, 1.0]}, "hidden": [[8], [8, 8]], "optimizer": ["adam", "gd"],
             "batch_size": [16, 32], "l2": [0.0, 0.001], "activation": ["relu", "tanh"]}
    random = dl.search(X, Y, space, strategy="random", n_trials=5, epochs=8, seed=1, storage=None)
    halving = dl.search(X, Y, space, strategy="halving", n_trials=6, epochs=8, seed=1, storage=None)
    return random, halving


def test_search_curves_count_epochs_from_1_and_stay_on_the_canvas(iris_search):
    for res in iris_search:
        for log in (None, True, False):
            fig = res.plot(log=log)
            assert off_canvas(fig) == [], (res.strategy, log)
            ax = fig.axes[0]
            xs = [np.asarray(line.get_xdata(), dtype=float) for line in ax.lines]
            curves = [x for x in xs if len(x) > 1 and x[0] != x[-1]]  # not the rungs' vertical lines
            assert curves and all(x[0] == 1 and (np.diff(x) == 1).all() for x in curves)  # epoch 1, 2, ... as the console
            ticks = visible_ticks(ax.xaxis)
            assert ticks and all(v == int(v) and v >= 1 for v in ticks), ticks
    # many hyperparameters: the best's label wraps inside the axes, all of it there
    label = next(t.get_text() for t in iris_search[0].plot().axes[0].get_legend().get_texts())
    assert "\n" in label
    assert all(k in label for k in ("learning_rate=", "hidden=", "optimizer=", "batch_size=", "l2=", "activation="))


def test_search_log_axis_reads_as_plain_numbers(iris_search):
    res = iris_search[0]
    fig = res.plot(log=True)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    shown = [(t.get_text(), t.get_position()[1]) for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi]
    assert len(shown) >= 3, shown
    for text, value in shown:  # "0.3", "1", "3": the number itself, no 3x10^0 or mathtext
        assert re.fullmatch(r"\d+(\.\d+)?", text), text
        assert float(text) == pytest.approx(value, rel=1e-12)
    assert all(not t.get_text() for t in ax.yaxis.get_minorticklabels())  # minor ticks unlabelled
    # every curve lies inside the axis
    values = [v for line in ax.lines for v in line.get_ydata() if len(line.get_ydata())]
    assert lo < min(values) and max(values) < hi
    # the ticks follow 1-2-3-5 per decade (or a subset of it): what a learner reads at a glance
    assert {text.rstrip("0").replace(".", "").lstrip("0")[:1] for text, _ in shown} <= {"1", "2", "3", "5"}


# -- the command line's pictures, long data names included -----------------------------------------
def _write_idx(path, array):
    import gzip

    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_command_line_pictures_stay_on_the_canvas(mnist_dir, tmp_path, monkeypatch, capsys):
    """train (its cost curve) and every `deeplayers plot --what` kind, on MNIST in a directory with a
    long name, the course's cat file under a long name and a moons CSV: every figure they write is
    measured, and the curve's x axis is the console's epochs."""
    from deeplayers.cli import main

    drawn = []
    save = plots._save

    def recording_save(fig, path):  # the figures written (the command line draws with path None, then writes)
        if path is not None:
            drawn.append((str(path), fig))
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", recording_save)

    images, labels = load_mnist(mnist_dir, "train")
    data = tmp_path / LONG_NAME
    data.mkdir()
    _write_idx(data / "train-images-idx3-ubyte.gz", images[:600])
    _write_idx(data / "train-labels-idx1-ubyte.gz", labels[:600])
    model = tmp_path / "fm.npz"
    assert main(["train", str(data), "--layers", "16", "--epochs", "4", "--batch-size", "32", "--out", str(model)]) == 0
    console = capsys.readouterr().out
    epochs = [int(k) for k in re.findall(r"^epoch (\d+)/4 ", console, flags=re.M)]
    assert epochs == [1, 2, 3, 4]
    path, fig = drawn[-1]
    assert path == str(tmp_path / "fm.png")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), epochs)  # the plot counts as the console
    assert visible_ticks(ax.xaxis) == [1, 2, 3, 4]
    assert "".join(LONG_NAME.split()) in "".join(ax.get_title().split())  # the whole name, wrapped
    for what in ("curves", "weights", "architecture"):
        assert main(["plot", str(model), "--what", what, "--out", str(tmp_path / f"{what}.png")]) == 0
    assert ax.get_title() == drawn[-3][1].axes[0].get_title()  # plot --what curves titles it as train does

    from conftest import CAT_DIR

    if (CAT_DIR / "train_catvnoncat.h5").is_file():
        cat = tmp_path / "train_catvnoncat_the_course_cat_pictures_week4_assignment_with_a_long_name.h5"
        cat.symlink_to(CAT_DIR / "train_catvnoncat.h5")
        assert main(["train", str(cat), "--layers", "20,7,5", "--epochs", "2", "--out", str(tmp_path / "cat.npz"),
                     "-q"]) == 0
        assert main(["plot", str(tmp_path / "cat.npz"), "--what", "weights"]) == 0

    Xm, ym = make_moons(200, noise=0.2, random_state=0)
    csv_path = tmp_path / f"{LONG_NAME}-moons.csv"
    np.savetxt(csv_path, np.c_[Xm, ym], delimiter=",", header="x1,x2,label", comments="")
    assert main(["train", str(csv_path), "--layers", "8", "--epochs", "5", "--out", str(tmp_path / "moons.npz"),
                 "-q"]) == 0
    assert main(["plot", str(tmp_path / "moons.npz"), "--what", "boundary", "--data", str(csv_path)]) == 0
    assert len(drawn) >= 7
    for path, fig in drawn:
        assert off_canvas(fig) == [], path


def test_a_picture_is_written_in_the_format_its_name_ends_with(tmp_path):
    """plot_costs(h, "curve.pdf") once wrote PNG bytes under the .pdf name."""
    h = dl.Network([2, 3, 1], seed=0).fit(np.random.default_rng(0).standard_normal((2, 30)),
                                           np.ones((1, 30)) * (np.arange(30) % 2), epochs=3)
    heads = {"pdf": b"%PDF", "svg": b"<?xml", "png": b"\x89PNG"}
    for ext, head in heads.items():
        plots.plot_costs(h, tmp_path / f"curve.{ext}")
        assert (tmp_path / f"curve.{ext}").read_bytes()[:len(head)] == head, ext
    plots.plot_costs(h, tmp_path / "curve")
    assert (tmp_path / "curve").read_bytes()[:4] == b"\x89PNG"  # no ending: PNG


@pytest.mark.parametrize("hidden", ["relu", "leaky_relu", "tanh"])
def test_plot_features_calls_only_relu_units_dead(hidden):
    """Unit 1 of each hidden layer is pushed below 0 for every image (b = -50): only a relu unit is
    then dead (skipped and counted); a tanh or leaky_relu unit still moves with its input and is
    drawn (tanh units were labelled dead and skipped)."""
    rng = np.random.RandomState(0)
    X = rng.rand(16, 60)
    net = dl.Network([16, 5, 4, 1], hidden=hidden, seed=0)
    for b in ("b1", "b2"):
        bias = net.parameters[b].copy()
        bias[0] = -50
        net.parameters[b] = bias
    fig = plots.plot_features(net, X, (4, 4), units=8, top=4)
    labels = [t.get_text() for t in fig.texts[1:]]
    tiles = [ax for ax in fig.axes if ax.images]
    names = [ax.get_title() for ax in tiles]
    # an independent forward pass
    g = {"relu": lambda Z: np.maximum(Z, 0), "tanh": np.tanh, "leaky_relu": lambda Z: np.where(Z > 0, Z, 0.01 * Z)}
    A1 = g[hidden](net.parameters["W1"] @ X + net.parameters["b1"])
    A2 = g[hidden](net.parameters["W2"] @ A1 + net.parameters["b2"])
    if hidden == "relu":
        live = [np.flatnonzero(A.max(axis=1) > 0) + 1 for A in (A1, A2)]
        assert 0 not in live[0] and 0 not in live[1]  # unit 1 is dead in both
        assert labels == [f"layer 1: W[1] rows\n({5 - len(live[0])} dead)", f"layer 2: top 4\n({4 - len(live[1])} dead)"]
        assert names == [f"unit {j}" for j in (*live[0], *live[1])]
        return
    assert labels == ["layer 1: W[1] rows", "layer 2: top 4"]
    assert names == [f"unit {j}" for j in range(1, 6)] + [f"unit {j}" for j in range(1, 5)]
    # layer 2's unit 1: its top image fills the mosaic's first tile
    best = X[:, np.argmax(A2[0])].reshape(4, 4)
    mosaic = tiles[5].images[0].get_array()
    np.testing.assert_allclose(mosaic[:4, :4], (best - best.min()) / (best.max() - best.min()))
