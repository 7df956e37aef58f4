"""Training in a notebook: the bar chosen, the live cost curve drawn into one output updated in place.

A real kernel runs this too: tests/test_examples.py executes examples/deep-network-tour.ipynb."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import deeplayers as dl
from deeplayers import notebook


class Handle:
    def __init__(self, log: list) -> None:
        self.log = log

    def update(self, obj) -> None:
        self.log.append(("update", obj))


@pytest.fixture
def xor() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(2, 64)
    return X, (X[:1] * X[1:] > 0).astype(float)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_outside_a_notebook_nothing_changes():
    assert notebook.in_notebook() is False
    from tqdm.std import tqdm
    assert notebook.progress_bar_class() is tqdm


def test_a_notebook_gets_the_notebook_bar(monkeypatch):
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as notebook_bar
    from tqdm.std import tqdm as text_bar

    monkeypatch.setattr(notebook, "in_notebook", lambda: True)
    assert notebook.progress_bar_class() is notebook_bar
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed: the text bar, no warning
    assert notebook.progress_bar_class() is text_bar


def test_live_plot_draws_one_output_and_updates_it(xor):
    X, Y = xor
    log: list = []

    def display(obj):
        log.append(("display", obj))
        return Handle(log)

    live = dl.notebook.LivePlot(display=display)
    net = dl.Network([2, 8, 1], hidden="tanh", seed=0)
    net.fit(X, Y, learning_rate=0.5, num_iterations=50, callbacks=[live], validation_data=(X, Y))
    kinds = [k for k, _ in log]
    # one output, shown once, then redrawn in place every 50 // 25 = 2 iterations (25 pictures in all)
    assert kinds == ["display"] + ["update"] * 24 and live.updates == 25
    pictures = [obj.data for _, obj in log]
    assert all(png_size(p) == (640, 400) for p in pictures)
    assert len(set(pictures)) == 25  # each redraw shows more of the curve
    # one figure throughout, whose lines now hold the whole run's costs, 1..50
    train, val = live.figure.axes[0].lines
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 51))
    np.testing.assert_array_equal(train.get_ydata(), net.history.cost)
    np.testing.assert_array_equal(val.get_ydata(), net.history.val_cost)
    assert live.figure.axes[0].get_title() == "layer_dims = [2, 8, 1]: iteration 50/50"
    # and the last picture is that figure
    buf = io.BytesIO()
    live.figure.savefig(buf, format="png")
    assert pictures[-1] == buf.getvalue()


def test_verbose_plot_in_a_notebook_uses_the_live_plot(xor, monkeypatch):
    X, Y = xor
    shown: list = []
    bars: list = []

    class Bar:
        def __init__(self, **kwargs):
            bars.append(kwargs)

        def set_postfix(self, *a, **k): ...

        def update(self, n): ...

        def close(self): ...

    import IPython.display

    monkeypatch.setattr(notebook, "in_notebook", lambda: True)
    monkeypatch.setattr(notebook, "progress_bar_class", lambda: Bar)
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=None: shown.append(display_id) or Handle(shown))
    dl.Network([2, 4, 1], seed=0).fit(X, Y, num_iterations=10, verbose="plot")
    assert bars == [{"total": 10, "initial": 0, "unit": "iteration", "leave": True}]
    assert shown[0] is True and len(shown) == 10  # display(..., display_id=True), then 9 updates


def test_verbose_plot_outside_a_notebook_warns_and_trains(xor, capsys):
    X, Y = xor
    with pytest.warns(UserWarning, match="draws the cost curve live in a notebook; here only the progress"):
        h = dl.Network([2, 4, 1], seed=0).fit(X, Y, num_iterations=10, verbose="plot")
    assert len(h) == 10
    assert "iteration 10/10  cost" in capsys.readouterr().out  # the progress lines, as verbose=1


@pytest.mark.parametrize("verbose", [-1, "bar", 0.5])
def test_verbose_is_checked(xor, verbose):
    X, Y = xor
    with pytest.raises(dl.ConfigError, match=r"verbose must be 0 \(silent\), 1 .* or 'plot'"):
        dl.Network([2, 4, 1], seed=0).fit(X, Y, num_iterations=1, verbose=verbose)


def test_a_reused_live_plot_redraws_about_25_times_each_run(xor):
    """The redraw interval follows each run's length (a second, longer run once kept the first run's
    every = 4 and redrew 250 times); an every the user gave is kept for every run."""
    X, Y = xor
    live = dl.notebook.LivePlot(display=lambda obj: Handle([]))
    net = dl.Network([2, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=100, callbacks=[live])
    assert (live.every, live.updates) == (4, 25)
    net.fit(X, Y, learning_rate=0.1, num_iterations=1000, callbacks=[live])
    assert (live.every, live.updates) == (40, 25)
    net.fit(X, Y, learning_rate=0.1, num_iterations=50, callbacks=[live])
    assert (live.every, live.updates) == (2, 25)
    given = dl.notebook.LivePlot(every=5, display=lambda obj: Handle([]))
    net.fit(X, Y, learning_rate=0.1, num_iterations=10, callbacks=[given])
    assert (given.every, given.updates) == (5, 2)
    net.fit(X, Y, learning_rate=0.1, num_iterations=50, callbacks=[given])
    assert (given.every, given.updates) == (5, 10)
