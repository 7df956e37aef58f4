"""Hyperparameter search: spaces, ranking against independent training runs, successive-halving
budget, outputs, storage resumed after a real SIGKILL, joblib and a real Dask LocalCluster giving
the serial results, and the command line."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.errors import ConfigError, ShapeError
from deeplayers.search import load_space, sample_settings

SPACE = {
    "learning_rate": {"loguniform": [1e-3, 1e-1]},
    "hidden": [[8], [8, 8]],
    "optimizer": ["adam", "gd"],
}


@pytest.fixture(scope="module")
def iris():
    """Iris as columns: X (4, 150) standardized, Y one-hot (3, 150)."""
    from sklearn.datasets import load_iris

    d = load_iris()
    X = d.data.T
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    return X, np.eye(3)[d.target].T


def _summary(result):
    return [(t["trial"], t["status"], t["val_cost"], t["val_accuracy"], t["cost"]) for t in result.trials]


def _assert_same(a, b):
    assert [t["trial"] for t in a.trials] == [t["trial"] for t in b.trials]
    for x, y in zip(a.trials, b.trials):
        assert x["status"] == y["status"] and x["epochs"] == y["epochs"] and x["params"] == y["params"]
        np.testing.assert_allclose(x["curves"]["val_cost"], y["curves"]["val_cost"], rtol=1e-10, atol=0)
        np.testing.assert_allclose(x["curves"]["cost"], y["curves"]["cost"], rtol=1e-10, atol=0)


# -- the space -------------------------------------------------------------------------------------
def test_space_files_and_distributions(tmp_path):
    yaml_text = textwrap.dedent("""\
        learning_rate: {loguniform: [0.0001, 0.1], num: 4}
        hidden: [[20, 7, 5], [64, 32]]
        activation: [relu, tanh]
        batch_size: [null, 32]
        l2: 0.1
    """)
    (tmp_path / "s.yaml").write_text(yaml_text)
    (tmp_path / "s.json").write_text(json.dumps(load_space(tmp_path / "s.yaml")))
    assert load_space(tmp_path / "s.yaml") == load_space(tmp_path / "s.json")
    grid = sample_settings(tmp_path / "s.yaml", "grid")
    assert len(grid) == 4 * 2 * 2 * 2
    lrs = sorted({s["learning_rate"] for _, s in grid})
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1])  # geometric grid of the log range
    assert {tuple(s["hidden"]) for _, s in grid} == {(20, 7, 5), (64, 32)}
    assert all(s["l2"] == 0.1 for _, s in grid)

    rnd = sample_settings({"learning_rate": {"loguniform": [1e-4, 1e-1]}, "width": {"randint": [4, 9]}},
                          "random", n_trials=200, seed=5)
    lr = np.array([s["learning_rate"] for _, s in rnd])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1
    # log-uniform: about a third of the draws in each decade
    counts = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0]
    assert counts.min() > 40, counts
    assert {s["width"] for _, s in rnd} == set(range(4, 10))
    # setting i depends on (seed, i) only, not on how many are drawn
    assert sample_settings(SPACE, "random", n_trials=3, seed=5) == sample_settings(SPACE, "random", 7, seed=5)[:3]
    assert sample_settings(SPACE, "random", n_trials=3, seed=5) != sample_settings(SPACE, "random", 3, seed=6)


def test_space_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown option.*'lr'.*searchable options are"):
        load_space({"lr": [0.1]})
    with pytest.raises(ConfigError, match="loguniform range has no grid; add \"num\""):
        sample_settings({"learning_rate": {"loguniform": [1e-3, 1e-1]}}, "grid")
    with pytest.raises(ConfigError, match="loguniform needs 0 < low"):
        load_space({"learning_rate": {"loguniform": [0, 1]}}) and sample_settings(
            {"learning_rate": {"loguniform": [0, 1]}}, "random", 1)
    with pytest.raises(ConfigError, match="hidden, or depth and width, not both"):
        load_space({"hidden": [[4]], "depth": [1, 2]})
    with pytest.raises(ConfigError, match="needs n_trials"):
        sample_settings({"learning_rate": {"uniform": [0.1, 0.2]}}, "random")
    with pytest.raises(FileNotFoundError, match="space file .*nope.yaml does not exist"):
        load_space(tmp_path / "nope.yaml")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json is not valid JSON"):
        load_space(tmp_path / "bad.json")


# -- what a search computes --------------------------------------------------------------------------
def test_ranking_matches_independent_training(iris):
    """Each record equals a Network trained by hand with the trial's seed and options."""
    X, Y = iris
    Xv, Yv = X[:, ::4], Y[:, ::4]
    Xt, Yt = np.delete(X, np.s_[::4], axis=1), np.delete(Y, np.s_[::4], axis=1)
    # the course's settings, named (the search's own defaults are the practitioner ones, deeplayers.defaults)
    course = {"optimizer": "gd", "batch_size": None, "lr_schedule": "constant", "init": "he", "dtype": "float64"}
    space = {"learning_rate": [0.3, 0.03], "hidden": [[6], [6, 4]], "l2": 0.5, **course}
    res = dl.search(Xt, Yt, space, strategy="grid", validation_data=(Xv, Yv), epochs=25, storage=None, seed=3)
    assert len(res.trials) == 4
    vals = [t["val_cost"] for t in res.trials]
    assert vals == sorted(vals)
    for t in res.trials:
        net = dl.Network([4, *t["params"]["hidden"], 3], output="softmax", seed=t["seed"])
        h = net.fit(Xt, Yt, learning_rate=t["params"]["learning_rate"], epochs=25, l2=0.5)
        AL = net.predict_proba(Xv)
        # the ranking metric is the validation cost WITHOUT the L2 term
        assert t["val_cost"] == pytest.approx(net.cost(AL, Yv), rel=1e-12)
        assert t["cost"] == pytest.approx(h.cost[-1], rel=1e-12)
        assert t["val_accuracy"] == pytest.approx(np.mean(AL.argmax(0) == Yv.argmax(0)))
    best = res.best_network
    np.testing.assert_allclose(best.predict_proba(Xv)[:, :3].sum(axis=0), 1.0)
    assert res.best["layer_dims"] == best.layer_dims
    # seeds differ between trials, and are the documented function of (seed, i)
    assert len({t["seed"] for t in res.trials}) == 4

    acc = dl.search(Xt, Yt, space, strategy="grid", validation_data=(Xv, Yv), epochs=25, storage=None, seed=3,
                    metric="val_accuracy")
    a = [t["val_accuracy"] for t in acc.trials]
    assert a == sorted(a, reverse=True)


def test_a_flat_list_under_hidden_is_refused_as_ambiguous():
    # [8, 16] was silently ONE two-layer architecture, while a flat list is a choice for every other key
    with pytest.raises(ConfigError) as exc:
        load_space({"hidden": [8, 16], "learning_rate": [0.1, 0.01]})
    assert str(exc.value) == ("space['hidden'] = [8, 16] is ambiguous: write [[8], [16]] to choose between one hidden "
                              "layer of 8 or 16 units, or [[8, 16]] for one architecture of 2 hidden layers (8, 16)")
    with pytest.raises(ConfigError, match=r"write \[\[8\], \[16\], \[4\]\] to choose"):
        sample_settings({"hidden": (8, 16, 4)}, "grid")
    # both spellings say what they mean: two settings of one layer, or one setting of two layers
    assert [s["hidden"] for _, s in sample_settings({"hidden": [[8], [16]]}, "grid")] == [[8], [16]]
    assert [s["hidden"] for _, s in sample_settings({"hidden": [[8, 16]]}, "grid")] == [[8, 16]]
    assert [s["hidden"] for _, s in sample_settings({"hidden": {"value": [8, 16]}}, "grid")] == [[8, 16]]
    # one size reads the same either way, and a whole layer_dims list is one architecture
    assert [s["hidden"] for _, s in sample_settings({"hidden": [32]}, "grid")] == [[32]]
    assert [s["layer_dims"] for _, s in sample_settings({"layer_dims": [4, 8, 3]}, "grid")] == [[4, 8, 3]]


def test_epochs_in_the_space_and_as_the_argument_is_refused(iris):
    X, Y = iris
    with pytest.raises(ConfigError) as exc:
        dl.search(X, Y, {"epochs": [2, 3], "hidden": [[4]]}, epochs=5, storage=None)
    assert str(exc.value) == ("epochs is given twice: epochs=5 and the space's 'epochs' ([2, 3]), which sets each "
                              "trial's epochs; give one of them (in the space to search it)")
    with pytest.raises(ConfigError, match="epochs is given twice: epochs=5 and the space's 'epochs' \\(4\\)"):
        dl.search(X, Y, {"num_iterations": 4}, epochs=5, storage=None)  # the course's name for it
    # the space alone sets each trial's epochs
    res = dl.search(X, Y, {"epochs": [2, 3], "hidden": [[4]]}, storage=None)
    assert sorted(t["epochs"] for t in res.trials) == [2, 3]
    assert sorted(len(t["curves"]["val_cost"]) for t in res.trials) == [2, 3]


def test_errors_are_clear(iris):
    X, Y = iris
    with pytest.raises(ShapeError, match="X has m = 150 columns .* but Y has 149"):
        dl.search(X, Y[:, :-1], SPACE, n_trials=2, strategy="random", storage=None)
    with pytest.raises(ConfigError, match="metric='val_accuracy' needs a classifier"):
        dl.search(X, X[:1], {"learning_rate": [0.01]}, metric="val_accuracy", storage=None, epochs=2)
    with pytest.raises(ConfigError, match="unknown strategy 'bayes'"):
        dl.search(X, Y, SPACE, strategy="bayes", storage=None)
    with pytest.raises(ConfigError, match="'halving' sets each rung's epochs itself"):
        dl.search(X, Y, {"epochs": [1, 2]}, strategy="halving", storage=None)


def test_diverged_trials_rank_last():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 100))
    # the course's settings, named (gradient descent at 10 diverges; the default Adam + cosine need not)
    course = {"optimizer": "gd", "batch_size": None, "lr_schedule": "constant", "init": "he", "dtype": "float64",
              "l2": 0.0, "hidden": [32]}
    res = dl.search(X, 2 * X[:1], {"learning_rate": [10.0, 0.01], **course}, epochs=20, storage=None)  # regression
    assert [t["status"] for t in res.trials] == ["ok", "diverged"]
    assert res.trials[0]["params"]["learning_rate"] == 0.01 and res.trials[0]["layer_dims"] == [3, 32, 1]
    assert res.trials[1]["val_cost"] is None and "training diverged" in res.trials[1]["error"]
    assert res.trials[1]["curves"]["val_cost"]  # the curve up to the divergence is kept


def test_halving_budget_and_exact_retraining(iris):
    X, Y = iris
    space = {"learning_rate": {"loguniform": [1e-3, 0.3]}, "width": [4, 8], "optimizer": "adam"}
    res = dl.search(X, Y, space, strategy="halving", n_trials=9, eta=3, epochs=2, storage=None, seed=1)
    by_rung = {}
    for r in res.records:
        by_rung.setdefault(r["rung"], []).append(r)
    assert {k: len(v) for k, v in by_rung.items()} == {0: 9, 1: 3, 2: 1}
    assert {k: {r["epochs"] for r in v} for k, v in by_rung.items()} == {0: {2}, 1: {6}, 2: {18}}
    assert res.total_epochs == 9 * 2 + 3 * 6 + 1 * 18
    # the best 1/eta of each rung were promoted
    for k in (0, 1):
        ranked = sorted(by_rung[k], key=lambda r: r["val_cost"])
        assert {r["trial"] for r in ranked[:len(by_rung[k + 1])]} == {r["trial"] for r in by_rung[k + 1]}
    top = by_rung[2][0]
    assert res.best["trial"] == top["trial"] and res.best["rank"] == 1 and len(res.trials) == 9
    # retrained from scratch: the 18-epoch curve starts with the 2- and 6-epoch curves exactly
    for k in (0, 1):
        short = next(r for r in by_rung[k] if r["trial"] == top["trial"])
        assert top["curves"]["val_cost"][:len(short["curves"]["val_cost"])] == short["curves"]["val_cost"]


def test_outputs_table_curves_model(iris, tmp_path):
    X, Y = iris
    res = dl.search(X, Y, SPACE, strategy="random", n_trials=5, epochs=10, seed=2, out_dir=tmp_path / "out",
                    storage=tmp_path / "t.jsonl", preprocessing="standard", classes=["a", "b", "c"])
    with open(res.paths["table"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [int(r["trial"]) for r in rows] == [t["trial"] for t in res.trials]
    assert {"learning_rate", "hidden", "optimizer", "cost", "val_cost", "val_accuracy", "time_s"} <= set(rows[0])
    assert [float(r["val_cost"]) for r in rows] == [t["val_cost"] for t in res.trials]  # repr: exact
    text = res.table()
    assert text.splitlines()[0].split()[:3] == ["rank", "trial", "learning_rate"]
    assert "5 settings ranked by val_cost (lower is better)" in text
    png = Path(res.paths["curves"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    assert imread(res.paths["curves"]).shape[:2] == (500, 800)
    model = dl.load(res.paths["model"])
    np.testing.assert_array_equal(model.network.parameters["W1"], res.best_network.parameters["W1"])
    assert model.classes == ["a", "b", "c"]
    # the file predicts on raw data: the preprocessing fitted on the training part goes with it
    raw = X * 3.0 + 1.0
    res2 = dl.search(raw, Y, SPACE, strategy="random", n_trials=5, epochs=10, seed=2, storage=None,
                     preprocessing="standard", out_dir=tmp_path / "raw")
    m2 = dl.load(res2.paths["model"])
    np.testing.assert_allclose(m2.predict_proba(raw), res2.best_network.predict_proba(
        m2.preprocessing.transform(raw)), rtol=1e-12)
    assert m2.metadata["search"]["trial"] == res2.best["trial"]


# -- storage: resume after a real kill ---------------------------------------------------------------
_KILLED = """
import sys, numpy as np, deeplayers as dl
d = np.load(sys.argv[1])
space = {"learning_rate": {"loguniform": [1e-3, 1e-1]}, "hidden": [[16], [16, 16]], "optimizer": ["adam"],
         "batch_size": [16]}
dl.search(d["X"], d["Y"], space, strategy="random", n_trials=10, epochs=40, seed=4, storage=sys.argv[2])
print("finished")
"""


def test_killed_search_resumes_without_repeating(iris, tmp_path):
    X, Y = iris
    np.savez(tmp_path / "data.npz", X=X, Y=Y)
    (tmp_path / "run.py").write_text(_KILLED)
    storage = tmp_path / "trials.jsonl"
    proc = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "data.npz"), str(storage)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if storage.exists() and storage.read_bytes().count(b"\n") >= 3:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        assert proc.poll() is None, "the search finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = storage.read_bytes()
    n_before = before.count(b"\n")
    assert 3 <= n_before < 10
    # a line cut short by a kill mid-write is tolerated (dropped, and cut from the file)
    with open(storage, "ab") as f:
        f.write(before.splitlines()[0][:57])

    space = {"learning_rate": {"loguniform": [1e-3, 1e-1]}, "hidden": [[16], [16, 16]], "optimizer": ["adam"],
             "batch_size": [16]}
    kw = dict(strategy="random", n_trials=10, epochs=40, seed=4)
    resumed = dl.search(X, Y, space, storage=storage, **kw)
    assert resumed.n_reused == n_before and resumed.n_run == 10 - n_before
    lines = storage.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]  # every line parses: the torn one is gone
    assert len(ids) == 10 and len(set(ids)) == 10
    assert storage.read_bytes().startswith(before)  # stored trials were kept as they were
    straight = dl.search(X, Y, space, storage=None, **kw)
    _assert_same(resumed, straight)
    again = dl.search(X, Y, space, storage=storage, **kw)
    assert again.n_run == 0 and again.n_reused == 10 and len(storage.read_text().splitlines()) == 10


# -- parallel and distributed runs give the serial results ------------------------------------------
def test_joblib_processes_equal_serial(iris):
    X, Y = iris
    kw = dict(strategy="random", n_trials=6, epochs=15, seed=7, storage=None)
    serial = dl.search(X, Y, SPACE, **kw)
    par = dl.search(X, Y, SPACE, n_jobs=2, **kw)
    assert par.executor == "joblib, 2 processes"
    _assert_same(serial, par)


def test_dask_local_cluster_equals_serial(iris, monkeypatch):
    distributed = pytest.importorskip("distributed")
    X, Y = iris
    kw = dict(strategy="halving", n_trials=6, eta=2, epochs=3, seed=11, storage=None)
    serial = dl.search(X, Y, SPACE, **kw)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            _check_dask_client(client, serial, X, Y, kw, monkeypatch)
        # a scheduler address (a cluster someone else runs), with no Client of the caller's around
        by_address = dl.search(X, Y, SPACE, scheduler=cluster.scheduler_address, strategy="random", n_trials=3,
                               epochs=5, seed=11, storage=None)
    _assert_same(dl.search(X, Y, SPACE, strategy="random", n_trials=3, epochs=5, seed=11, storage=None), by_address)


def _check_dask_client(client, serial, X, Y, kw, monkeypatch):
    """Same results as the serial run; the data scattered once, every trial carrying only references."""
    import distributed

    scattered, submitted = [], []
    scatter, submit = client.scatter, client.submit

    def spy_scatter(data, *a, **k):
        scattered.append((data, k))
        return scatter(data, *a, **k)

    def spy_submit(fn, *args, **k):
        submitted.append(args)
        return submit(fn, *args, **k)

    monkeypatch.setattr(client, "scatter", spy_scatter)
    monkeypatch.setattr(client, "submit", spy_submit)
    dist = dl.search(X, Y, SPACE, scheduler=client, **kw)
    assert "Dask cluster" in dist.executor and "2 workers" in dist.executor
    _assert_same(serial, dist)
    # the data went out once, to every worker; trials only carry references to it
    assert len(scattered) == 1 and scattered[0][1].get("broadcast") is True
    assert len(submitted) == len(dist.records) == 6 + 3 + 1
    for args in submitted:
        assert isinstance(args[0], dict)
        assert all(isinstance(a, distributed.Future) for a in args[1:])
    monkeypatch.undo()


def test_optional_dependencies_are_imported_lazily():
    code = ("import sys, deeplayers, deeplayers.search; "
            "print([m for m in ('dask', 'distributed', 'joblib', 'yaml', 'click') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- command line ------------------------------------------------------------------------------------
def test_cli_search_command(tmp_path):
    from click.testing import CliRunner

    from deeplayers.cli import main
    from deeplayers.cli import search_command as search_cli

    (tmp_path / "space.yaml").write_text("learning_rate: {loguniform: [0.001, 0.05]}\nhidden: [[8], [16, 8]]\n"
                                         "optimizer: adam\nbatch_size: 32\n")
    out = tmp_path / "out"
    args = ["iris", "--space", str(tmp_path / "space.yaml"), "--strategy", "random", "--n-trials", "4",
            "--epochs", "5", "--seed", "3", "--out", str(out)]
    r = CliRunner().invoke(search_cli, args)
    assert r.exit_code == 0, r.output
    assert "4 settings ranked by val_cost" in r.output
    for name in ("results.csv", "curves.png", "best_model.npz", "trials.jsonl"):
        assert (out / name).is_file(), name
    with open(out / "results.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 4
    model = dl.load(out / "best_model.npz")
    assert model.classes == ["setosa", "versicolor", "virginica"]
    r2 = CliRunner().invoke(search_cli, args)  # same command again: everything from storage
    assert r2.exit_code == 0 and "0 trials run, 4 taken from storage" in r2.output

    # a user error: status 2, as everywhere on the command line (python -m deeplayers.search is the same program)
    assert main(["search", "no_such_data", "--space", '{"learning_rate": [0.1]}', "--out",
                 str(tmp_path / "x")]) == 2
    bad = CliRunner().invoke(search_cli, ["iris", "--space", '{"lr": [0.1]}', "--out", str(tmp_path / "y")])
    assert bad.exit_code == 2 and "unknown option(s) ['lr']" in bad.output
    assert math.isfinite(model.network.parameters["W1"].sum())


def test_deeplayers_search_is_the_module_and_calling_it_searches():
    import importlib
    import types

    import deeplayers.search as module

    assert isinstance(module, types.ModuleType) and module is importlib.import_module("deeplayers.search")
    assert dl.search is module and module.SearchResult.__module__ == "deeplayers.search.results"
    for part in ("space", "trials", "storage", "executors", "results"):
        assert isinstance(importlib.import_module(f"deeplayers.search.{part}"), types.ModuleType)
    X = np.random.default_rng(0).normal(size=(2, 40))
    Y = (X[:1] + X[1:] > 0).astype(float)
    space = {"learning_rate": [0.05], "hidden": [[4]], "optimizer": "adam"}
    by_call = dl.search(X, Y, space, epochs=3, storage=None, seed=1)
    by_function = module.search(X, Y, space, epochs=3, storage=None, seed=1)
    assert by_call.trials[0]["val_cost"] == by_function.trials[0]["val_cost"]


def test_space_values_every_trial_would_fail_on_are_refused_up_front(tmp_path):
    from deeplayers.cli import main

    for space, expected in (('{"batch_size": [0]}', "space['batch_size']: 0 is not a positive integer"),
                            ('{"learning_rate": [0.1, NaN]}', "space['learning_rate']: nan is not a finite positive"),
                            ('{"keep_prob": {"uniform": [0.5, 1.5]}}', "space['keep_prob']: 1.5 is not a keep"),
                            ('{"optimizer": ["adam", "adma"]}', "space['optimizer']: unknown optimizer 'adma'")):
        with pytest.raises(ConfigError, match=re.escape(expected)):
            load_space(space)
        code = main(["search", "iris", "--space", space, "--out", str(tmp_path / "out")])
        assert code == 2
        assert not (tmp_path / "out").exists()  # refused before the data was read or anything written


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the error says it all: no NumPy warning first
def test_a_search_where_every_trial_fails_is_an_error_and_keeps_earlier_results(tmp_path, capsys):
    """Trials that overflow at once (gradient descent at 1e6): each says why; no trial succeeded is status 2, the
    inf/nan costs are stored as null (JSON has no inf), and the results of an earlier search stay intact."""
    import warnings

    from deeplayers.cli import main

    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("an earlier search's table\n")
    space = '{"learning_rate": [1e6, 1e7], "optimizer": "gd", "lr_schedule": "constant", "hidden": [[8]]}'
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. matplotlib's "No artists with labels"
        code = main(["search", "wine", "--space", space, "--epochs", "20", "--out", str(out)])
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and lines[-1].startswith("error: all 2 trials failed: "), err
    reasons = [line for line in lines if " trial " in line]
    # each failed trial's line says why, not only "error"
    assert len(reasons) == 2 and all(re.search(r": val_cost (diverged|error) \(\w+", r) for r in reasons), reasons
    assert (out / "results.csv").read_text() == "an earlier search's table\n"
    assert sorted(p.name for p in out.iterdir()) == ["results.csv", "trials.jsonl"]
    records = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert [r["status"] != "ok" and r["error"] and r["val_cost"] is None for r in records] == [True, True]


def test_inf_and_nan_curves_are_stored_as_null_and_read_back(tmp_path, monkeypatch):
    from deeplayers.search import trials

    run = trials._run_trial

    def with_inf(*args, **kwargs):  # a trial whose curve overflowed on its way to diverging
        rec = run(*args, **kwargs)
        rec["curves"]["cost"][-1] = math.inf
        rec["curves"]["val_cost"][0] = math.nan
        return rec

    monkeypatch.setattr("deeplayers.search.executors._run_trial", with_inf)
    X = np.random.default_rng(0).normal(size=(2, 40))
    Y = (X[:1] > 0).astype(float)
    space = {"learning_rate": [0.05], "hidden": [[4]]}
    storage = tmp_path / "trials.jsonl"
    first = dl.search(X, Y, space, epochs=3, storage=storage, out_dir=tmp_path / "a")
    assert first.trials[0]["status"] == "ok"
    stored = json.loads(storage.read_text())
    assert stored["curves"]["cost"][-1] is None and stored["curves"]["val_cost"][0] is None
    again = dl.search(X, Y, space, epochs=3, storage=storage, out_dir=tmp_path / "b")  # from storage: nulls plotted
    assert again.n_reused == 1 and (tmp_path / "b" / "curves.png").is_file()


def test_with_early_stopping_a_trial_is_scored_by_the_network_it_returns(iris, tmp_path):
    """Early stopping puts the best epoch's parameters back, but the record scored the last epoch:
    the ranking, the table and best_model.npz's val_cost described networks nobody returned (one
    trial 0.47 reported, 0.37 returned, on MNIST)."""
    X, Y = iris
    Xv, Yv = X[:, ::4], Y[:, ::4]
    Xt, Yt = np.delete(X, np.s_[::4], axis=1), np.delete(Y, np.s_[::4], axis=1)
    space = {"learning_rate": [0.3, 0.1], "hidden": [[32, 32]], "optimizer": "adam", "batch_size": 16,
             "l2": 0.0, "lr_schedule": "constant", "dtype": "float64",
             "early_stopping": [{"patience": 2, "min_delta": 0.0}]}
    res = dl.search(Xt, Yt, space, strategy="grid", validation_data=(Xv, Yv), epochs=200, storage=None, seed=0,
                    out_dir=tmp_path)
    assert all(t["epochs"] < 200 for t in res.trials)  # early stopping ended every trial
    assert any(t["curves"]["val_cost"][-1] > min(t["curves"]["val_cost"]) for t in res.trials)
    for t in res.trials:  # the best epoch's scores, as early stopping (min_delta 0) chose it
        e = int(np.argmin(t["curves"]["val_cost"]))
        assert (t["val_cost"], t["cost"], t["val_accuracy"]) == (
            t["curves"]["val_cost"][e], t["curves"]["cost"][e], t["curves"]["val_accuracy"][e])
        assert t["best_epoch"] == e
    assert [t["val_cost"] for t in res.trials] == sorted(t["val_cost"] for t in res.trials)
    best = res.best_network
    assert best.cost(best.predict_proba(Xv), Yv) == pytest.approx(res.best["val_cost"], rel=1e-12)
    model = dl.load(tmp_path / "best_model.npz")
    assert model.metadata["search"]["val_cost"] == res.best["val_cost"]


def test_n_jobs_minus_one_is_the_cores_this_process_may_use(iris, monkeypatch):
    """n_jobs=-1 started os.cpu_count() processes: in a container limited to 2 of a host's 64 cores,
    64 workers (each with one BLAS thread) on 2 cores."""
    import deeplayers.search as search_module
    import deeplayers.threads as threads

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    seen = []
    monkeypatch.setattr(search_module, "_Executor", lambda data, n_jobs, scheduler: seen.append(n_jobs) or 1/0)
    with pytest.raises(ZeroDivisionError):
        dl.search(*iris, {"hidden": [[4]]}, epochs=1, n_jobs=-1, storage=None)
    assert seen == [2]


def test_a_resumed_search_retrains_its_best_on_the_threads_it_ran_on(tmp_path, monkeypatch):
    """A search taken from storage retrains its best network; it did so with the automatic thread
    choice, not the count the trial ran on, so best_model.npz was another network than the trial
    recorded (MNIST 784-512-10, 2 workers: W1 off by 4e-6)."""
    import deeplayers.search as search_module

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 400))
    Y = (X[:2].sum(axis=0, keepdims=True) > 0).astype(float)
    space = {"hidden": [[64], [32]], "learning_rate": 0.01, "batch_size": 100}
    kw = dict(strategy="grid", epochs=2, n_jobs=2, storage=tmp_path / "t.jsonl", seed=0)
    first = dl.search(X, Y, space, **kw)
    seen = []
    real = search_module._run_trial
    monkeypatch.setattr(search_module, "_run_trial", lambda task, *data: seen.append(task.get("threads")) or real(task, *data))
    again = dl.search(X, Y, space, **kw)
    assert again.n_run == 0 and seen == [first.best["threads"]] and isinstance(seen[0], int)
    for k, v in first.best_network.parameters.items():
        assert np.array_equal(v, again.best_network.parameters[k]), k


@pytest.mark.parametrize("option, value", [("n_jobs", True), ("n_jobs", "x"), ("n_jobs", float("nan")),
                                           ("eta", None), ("eta", "x"), ("epochs", "x"), ("epochs", float("inf"))])
def test_counts_of_any_type_are_a_config_error_naming_the_option(iris, option, value):
    """int() of the option turned a string, None or NaN into a bare ValueError/TypeError, and True into 1."""
    kw = {"epochs": 1, "strategy": "halving" if option == "eta" else "grid", option: value}
    with pytest.raises(ConfigError, match=rf"^{option} must be a"):
        dl.search(*iris, {"hidden": [[4]]}, storage=None, **kw)


def test_n_jobs_none_is_one_at_a_time_as_in_scikit_learn(iris):
    res = dl.search(*iris, {"hidden": [[4]]}, epochs=1, n_jobs=None, storage=None)
    assert res.executor == "serial"
