"""The command line speaks command-line (issues 11 and 16): every option described in --help, every
option checked before any data is read, options that do not apply refused, library messages
translated into option names, columns matched to the model's by name, one set of defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest

import deeplayers as dl
from deeplayers.cli import cli, cli_message, main
from deeplayers.defaults import DEFAULTS


def run(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


# -- help ------------------------------------------------------------------------------------------
def test_every_option_of_every_command_is_described_with_its_default() -> None:
    from click.testing import CliRunner

    commands = _commands(cli)
    assert {c[0][-1] for c in commands} >= {"train", "predict", "evaluate", "summary", "gradcheck", "plot", "export",
                                             "search", "demo"}
    bare, no_default = [], []
    for path, command in commands:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, result.output
        for p in command.params:
            if not isinstance(p, click.Option) or p.name == "help":
                continue
            where = f"{' '.join(path)} {'/'.join(p.opts)}"
            if not (p.help or "").strip():
                bare.append(where)
            # a value option says its default: shown by click, or written in its help, or it is required
            if not p.is_flag and not p.required and not p.show_default and "[default:" not in (p.help or ""):
                no_default.append(where)
            assert p.opts[-1] in result.output or p.secondary_opts, where
    assert bare == [], f"options without a description: {bare}"
    assert no_default == [], f"options whose help does not give the default: {no_default}"


def test_predict_help_explains_the_csv_columns() -> None:
    from click.testing import CliRunner

    text = " ".join(CliRunner().invoke(cli, ["predict", "--help"]).output.split())
    assert "one column fewer" not in text
    assert "matched to the model's features by column name, in any order" in text
    assert "A CSV without a header must hold the model's n[0] feature columns in training order" in text


# -- one spelling per option -------------------------------------------------------------------------
def test_one_spelling_per_option_across_commands() -> None:
    spellings: dict[str, set[str]] = {}
    for _, command in _commands(cli):
        for p in command.params:
            if isinstance(p, click.Option):
                spellings.setdefault(p.name or "", set()).update(o for o in p.opts if o.startswith("--"))
    assert spellings["val_split"] == {"--val-split"}
    assert spellings["scale"] == {"--scale"}
    assert "validation_split" not in spellings and "preprocessing" not in spellings
    # gradcheck's whole layer_dims has its own name; --layers means hidden sizes wherever it appears
    gradcheck = cli.commands["gradcheck"]
    assert [p.opts for p in gradcheck.params if p.name == "dims"] == [["--layer-dims"]]
    assert all(p.name != "layers" for p in gradcheck.params)


# -- refused, one line, status 2, nothing printed before ------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    paths = {"iris": d / "iris.npz", "diabetes": d / "diabetes.npz"}
    for name, path in paths.items():
        assert main(["train", name, "--layers", "4", "--epochs", "2", "--out", str(path), "--no-plot", "-q"]) == 0
    return paths


REFUSED = {
    "batch size 0": (["train", "iris", "--batch-size", "0"], "'--batch-size': give a positive number of samples or "
                                                             "'full', got '0'"),
    "empty layer size": (["train", "iris", "--layers", "16,,8"], "'--layers': '16,,8' has an empty size"),
    "negative lr": (["train", "iris", "--lr", "-0.01"], "'--lr': must be a positive number, got '-0.01'"),
    "zero epochs": (["train", "iris", "--epochs", "0"], "'--epochs' / '--iterations': must be a positive integer, got '0'"),
    "labels on a built-in set": (["train", "iris", "--labels", "species"], "--labels does not apply to the built-in"),
    "labels on an IDX directory": (["train", "{tmp}", "--labels", "y.npy"], "--labels does not apply to an IDX dir"),
    "split on a built-in set": (["evaluate", "{iris}", "iris", "--split", "test"], "--split does not apply to a built-in"),
    "split on a CSV": (["predict", "{iris}", "{csv}", "--split", "test"], "--split does not apply to a CSV file"),
    "proba for regression": (["predict", "{diabetes}", "diabetes", "--proba"], "--proba applies to classifiers"),
    "patience without early stopping": (["train", "iris", "--patience", "3"], "--patience applies only with "
                                                                               "--early-stopping"),
    "checkpoint-every without checkpoint": (["train", "iris", "--checkpoint-every", "2"], "--checkpoint-every applies "
                                                                                          "only with --checkpoint"),
    "plot with no-plot": (["train", "iris", "--plot", "c.png", "--no-plot"], "--plot names the cost-curve file, but "
                                                                              "--no-plot"),
    "verbose with quiet": (["train", "iris", "-q", "-v"], "--verbose asks for a line per epoch, but --quiet"),
    "activation without hidden layers": (["train", "iris", "--layers", "", "--activation", "tanh"],
                                         "--activation applies to hidden layers"),
    "dropout without hidden layers": (["train", "iris", "--layers", "", "--keep-prob", "0.8"],
                                      "--keep-prob applies to hidden layers"),
    "gradcheck activation without hidden layers": (["gradcheck", "--layer-dims", "3,1", "--activation", "tanh"],
                                                   "--activation applies to hidden layers"),
    "gradcheck old --layers": (["gradcheck", "--layers", "5,4,1"], "No such option '--layers'. Did you mean '--layer-dims'?"),
    "plot data for curves": (["plot", "{iris}", "--what", "curves", "--data", "iris"], "--data applies only to "
                                                                                        "--what boundary"),
    "plot labels for weights": (["plot", "{iris}", "--what", "weights", "--labels", "x"], "--labels applies only to "
                                                                                          "--what boundary"),
    "plot max-units for curves": (["plot", "{iris}", "--what", "curves", "--max-units", "3"], "--max-units applies "
                                                                                              "only to --what weights"),
    "plot image-shape for architecture": (["plot", "{iris}", "--what", "architecture", "--image-shape", "2,2"],
                                          "--image-shape applies only to --what weights"),
    "search eta without halving": (["search", "iris", "--space", "{{}}", "--eta", "4"], "--eta applies only to "
                                                                                        "--strategy halving"),
    "search n-jobs with a cluster": (["search", "iris", "--space", "{{}}", "--scheduler", "tcp://h:8786", "--n-jobs",
                                      "2"], "--n-jobs sets local processes"),
    "search labels on a built-in set": (["search", "iris", "--space", "{{}}", "--labels", "x"], "--labels does not "
                                                                                                 "apply to the built-in"),
    "search epochs named twice": (["search", "iris", "--space", '{{"epochs": [2, 3]}}', "--epochs", "4"],
                                  "--epochs conflicts with the space's 'epochs'"),
    "search bad val split": (["search", "iris", "--space", "{{}}", "--val-split", "1"], "'--val-split': must be a "
                                                                                        "fraction in (0, 1)"),
    "search old --validation-split": (["search", "iris", "--space", "{{}}", "--validation-split", "0.1"],
                                      "No such option '--validation-split'. Did you mean '--val-split'?"),
    "search old --preprocessing": (["search", "iris", "--space", "{{}}", "--preprocessing", "none"],
                                   "No such option '--preprocessing'"),
    "predict into a missing folder": (["predict", "{iris}", "iris", "--out", "{tmp}/no/p.csv"],
                                      "--out {tmp}/no/p.csv: the directory {tmp}/no does not exist"),
    "plot into a missing folder": (["plot", "{iris}", "--what", "curves", "--out", "{tmp}/no/c.png"],
                                   "--out {tmp}/no/c.png: the directory"),
    "export into a missing folder": (["export", "{iris}", "--onnx", "{tmp}/no/m.onnx"], "--onnx {tmp}/no/m.onnx: the "
                                                                                        "directory"),
    "checkpoint into a missing folder": (["train", "iris", "--checkpoint", "{tmp}/no/r.ckpt"], "--checkpoint "
                                                                                               "{tmp}/no/r.ckpt: the"),
    "demo missing folder": (["demo", "--cat", "{tmp}/nowhere"], "--cat"),
    "header on a built-in set": (["train", "iris", "--header", "yes"], "--header applies only to a CSV file (whether "
                                                                       "its first row holds column names); iris is a "
                                                                       "built-in data set"),
    "header on an NPZ file": (["evaluate", "{iris}", "{iris}", "--header", "no"], "--header applies only to a CSV "
                                                                                  "file (whether its first row holds "
                                                                                  "column names); {iris} is an NPZ file"),
    "header on an IDX directory": (["predict", "{iris}", "{tmp}", "--header", "yes"], "{tmp} is an IDX directory"),
    "plot header for curves": (["plot", "{iris}", "--what", "curves", "--header", "no"], "--header applies only to "
                                                                                         "--what boundary or features"),
    "search header on a built-in set": (["search", "iris", "--space", "{{}}", "--header", "yes"], "--header applies "
                                                                                                  "only to a CSV file"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_one_line_before_anything_is_printed(case: str, models: dict[str, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "x.csv"
    csv.write_text("a,b,c,d\n1,2,3,4\n")
    args, expected = REFUSED[case]
    fill = {"tmp": tmp_path, "iris": models["iris"], "diabetes": models["diabetes"], "csv": csv}
    code, out, err = run([a.format(**fill) for a in args], capsys)
    expected = expected.format(**fill)
    assert code == 2, (out, err)
    assert out == ""  # nothing printed before the refusal (no data summary, no progress)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == [csv]  # nothing written either


def test_export_verify_without_onnxruntime(models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    code, out, err = run(["export", models["iris"], "--onnx", tmp_path / "a.onnx", "--verify"], capsys)
    assert (code, out) == (2, "") and err.strip() == ("error: --verify needs onnxruntime: pip install onnxruntime "
                                                      "(or give --no-verify)")
    assert not (tmp_path / "a.onnx").exists()
    code, out, err = run(["export", models["iris"], "--onnx", tmp_path / "b.onnx"], capsys)  # the default says so
    assert code == 0 and "onnxruntime is not installed: skipped the check" in out, err


# -- the library's messages in the command line's words ------------------------------------------------
def test_one_translation_turns_keywords_into_options() -> None:
    assert cli_message("learning_rate must be a positive number, got -1") == "--lr must be a positive number, got -1"
    assert cli_message("l2 (lambda) must be a non-negative number") == "--l2 must be a non-negative number"
    assert cli_message("3 classes; use output='softmax' for multi-class labels") == \
        "3 classes; use --output softmax for multi-class labels"
    assert cli_message("holds several sets; choose one with split=...") == "holds several sets; choose one with --split"
    assert cli_message("fix it, or choose the label column with labels=...") == \
        "fix it, or choose the label column with --labels"
    assert cli_message("validation_split=0.5 of m = 1 leaves none") == "--val-split 0.5 of m = 1 leaves none"
    assert cli_message("X has 10 features (rows) but the preprocessing was fitted on 13; give X as (n[0], m) = "
                       "(13, m)", data="new.csv") == "the model expects 13 features, new.csv has 10"
    # only the running command's options; a search-space key or plain prose stays as it is
    assert cli_message("learning_rate must be positive", ["--epochs"]) == "learning_rate must be positive"
    assert cli_message("trained for 3 epochs on the labels") == "trained for 3 epochs on the labels"
    assert cli_message("space['learning_rate']: bad") == "space['learning_rate']: bad"


def test_errors_from_the_library_name_options(models: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    code, _, err = run(["evaluate", models["iris"], "wine"], capsys)
    assert code == 2 and err.strip() == "error: the model expects 4 features, wine has 13"
    code, _, err = run(["predict", models["iris"], "wine", "--out", tmp_path / "p.csv"], capsys)
    assert code == 2 and err.strip() == "error: the model expects 4 features, wine has 13"
    code, _, err = run(["train", "iris", "--output", "sigmoid", "--out", tmp_path / "m.npz"], capsys)
    assert code == 2 and "use --output softmax for multi-class labels" in err and "output=" not in err
    code, _, err = run(["search", "iris", "--space", '{"learning_rate": {"loguniform": [0.001, 0.1]}}', "--out",
                        tmp_path / "s"], capsys)
    assert code == 2 and err.strip() == "error: --strategy random needs --n-trials (how many settings to draw)"


def test_divergence_is_one_line_and_status_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    message = ("training diverged at iteration 3 (epoch 3): the cost became inf. The parameters were left at their "
               "last finite values; try a smaller learning rate (it was 1e+06).")

    def diverge(*args: object, **kwargs: object) -> None:  # a forced divergence, as the engine reports it
        raise dl.DivergenceError(message)

    monkeypatch.setattr(dl.Network, "fit", diverge)
    code, _, err = run(["train", "iris", "--lr", "1e6", "--epochs", "50", "--out", tmp_path / "m.npz", "-q"], capsys)
    assert code == 2 and err.strip().splitlines() == [f"error: {message}"]
    assert not (tmp_path / "m.npz").exists()


def test_library_warnings_are_one_line_in_the_command_lines_words(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    # a warning class of the library (the engine's TrainingWarning is one), raised during training
    LibraryWarning = type("LibraryWarning", (UserWarning,), {"__module__": "deeplayers.errors"})
    fit = dl.Network.fit

    def fit_and_warn(self: dl.Network, *args: object, **kwargs: object) -> object:
        history = fit(self, *args, **kwargs)
        warnings.warn("the cost stalled near guessing;\n a smaller learning_rate may help", LibraryWarning,
                      stacklevel=2)
        warnings.warn("not ours", UserWarning, stacklevel=2)
        return history

    monkeypatch.setattr(dl.Network, "fit", fit_and_warn)
    with pytest.warns(UserWarning, match="not ours") as caught:  # anything else goes where Python sends it
        code, _, err = run(["train", "iris", "--epochs", "2", "--out", tmp_path / "m.npz", "--no-plot", "-q"], capsys)
    assert code == 0
    assert err.strip().splitlines() == ["warning: the cost stalled near guessing; a smaller --lr may help"]
    assert [type(w.message).__name__ for w in caught] == ["UserWarning"]


# -- features and labels by name -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from sklearn.datasets import load_wine

    d = tmp_path_factory.mktemp("wine")
    data = load_wine()
    names = [str(n) for n in data.feature_names]
    cultivar = np.array(data.target_names)[data.target]

    def write(path: Path, columns: list[str]) -> Path:
        table = {**{n: data.data[:, j].astype(str) for j, n in enumerate(names)}, "cultivar": cultivar,
                 "colour": np.ones(len(cultivar)).astype(str)}
        rows = [",".join(columns)] + [",".join(table[c][i] for c in columns) for i in range(len(cultivar))]
        path.write_text("\n".join(rows) + "\n")
        return path

    shuffled = [names[j] for j in np.random.default_rng(0).permutation(len(names))]
    files = {
        "train": write(d / "wine.csv", [*names, "cultivar"]),
        "shuffled": write(d / "shuffled.csv", shuffled[:5] + ["cultivar"] + shuffled[5:]),  # labels in the middle
        "features": write(d / "features.csv", shuffled),
        "missing": write(d / "missing.csv", shuffled[1:] + ["cultivar"]),
        "unknown": write(d / "unknown.csv", [*shuffled, "cultivar", "colour"]),
    }
    files["model"] = d / "wine.npz"
    assert main(["train", str(files["train"]), "--labels", "cultivar", "--out", str(files["model"]), "--no-plot",
                 "-q"]) == 0  # the defaults: 100 hidden units, 200 epochs of Adam
    return files


def test_shuffled_columns_predict_and_evaluate_as_the_original_order(wine: dict[str, Path], tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    model = dl.load(wine["model"])
    assert model.metadata["label_name"] == "cultivar" and len(model.metadata["feature_names"]) == 13
    outputs = {}
    for name in ("train", "shuffled", "features"):
        code, out, err = run(["predict", wine["model"], wine[name], "--out", "-", "--proba"], capsys)
        assert code == 0, err
        outputs[name] = out
    assert outputs["shuffled"] == outputs["train"] == outputs["features"]
    lines = outputs["train"].splitlines()
    assert lines[0] == "sample,prediction,proba_class_0,proba_class_1,proba_class_2" and len(lines) == 179
    # the predictions are the model's on the data in training order (an independent computation)
    from sklearn.datasets import load_wine

    want = model.predict(load_wine().data.T)[0]
    assert [line.split(",")[1] for line in lines[1:]] == list(want)
    metrics = {}
    for name in ("train", "shuffled"):
        code, out, err = run(["evaluate", wine["model"], wine[name], "--json"], capsys)
        assert code == 0, err
        metrics[name] = json.loads(out)
    assert metrics["shuffled"] == metrics["train"]
    assert metrics["train"]["accuracy"] == pytest.approx(np.mean(want == np.array(load_wine().target_names)[
        load_wine().target]))
    assert metrics["train"]["accuracy"] > 0.9


def test_missing_or_unknown_columns_are_named(wine: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    first = dl.load(wine["model"]).metadata["feature_names"]
    missing = [n for n in first if n not in wine["missing"].read_text().splitlines()[0].split(",")]
    code, _, err = run(["predict", wine["model"], wine["missing"], "--out", "-"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"no column {missing[0]!r}: the model was trained on 13 features" in err
    code, _, err = run(["evaluate", wine["model"], wine["unknown"]], capsys)
    assert code == 2 and "unknown column 'colour'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["evaluate", wine["model"], wine["features"]], capsys)  # no label column at all
    assert code == 2 and "no label column (the model was trained with labels in 'cultivar')" in err


def test_columns_with_no_name_in_common_and_models_saved_without_a_label_name(wine: dict[str, Path], tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture[str]
                                                                               ) -> None:
    lines = wine["train"].read_text().splitlines()
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join([",".join(f"c{j}" for j in range(13)) + ",cultivar", *lines[1:]]) + "\n")
    code, _, err = run(["evaluate", wine["model"], renamed], capsys)
    assert code == 2 and "none of its column names ('c0', 'c1'," in err and "remove the header row" in err
    bare = tmp_path / "bare.csv"  # without the header: by position, the labels last
    bare.write_text("\n".join(lines[1:]) + "\n")
    code, out, err = run(["evaluate", wine["model"], bare, "--json"], capsys)
    assert code == 0, err
    code, want, _ = run(["evaluate", wine["model"], wine["train"], "--json"], capsys)
    assert json.loads(out) == json.loads(want)
    # a model without a label column name (trained on a built-in set, or saved before label names were): the last
    # column, when it is no feature, is the labels
    model = dl.load(wine["model"])
    old = tmp_path / "old.npz"
    meta = {k: v for k, v in model.metadata.items() if k != "label_name"}
    dl.save(model.network, old, preprocessing=model.preprocessing, classes=model.classes, metadata=meta)
    code, out, err = run(["evaluate", old, wine["train"], "--json"], capsys)
    assert code == 0 and json.loads(out) == json.loads(want), err
    code, _, err = run(["evaluate", old, wine["shuffled"]], capsys)  # labels in the middle: they must be named
    assert code == 2 and "unknown column 'cultivar'" in err and "--labels" in err
    code, out, err = run(["evaluate", old, wine["shuffled"], "--labels", "cultivar", "--json"], capsys)
    assert code == 0 and json.loads(out) == json.loads(want), err
    builtin = tmp_path / "builtin.npz"  # trained on the built-in set: the same feature names, no label name
    assert main(["train", "wine", "--layers", "4", "--epochs", "2", "--out", str(builtin), "--no-plot", "-q"]) == 0
    assert dl.load(builtin).metadata["label_name"] is None
    code, out, err = run(["evaluate", builtin, wine["train"], "--json"], capsys)
    assert code == 0, err
    code, again, err = run(["evaluate", builtin, "wine", "--json"], capsys)
    assert code == 0 and json.loads(out)["accuracy"] == json.loads(again)["accuracy"], err


def test_estimators_refuse_reordered_dataframe_columns_as_scikit_learn_does(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_wine

    from deeplayers.sklearn import DNNClassifier

    data = load_wine(as_frame=True)
    clf = DNNClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(data.data, data.target)
    assert list(clf.feature_names_in_) == list(data.data.columns)
    shuffled = data.data[list(np.random.default_rng(0).permutation(data.data.columns))]
    dl.save(clf, tmp_path / "clf.npz")
    for est in (clf, dl.load(tmp_path / "clf.npz")):
        with pytest.raises(ValueError, match="Feature names must be in the same order as they were in fit"):
            est.predict(shuffled)
        with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing:\\s+- alcohol"):
            est.predict(data.data.drop(columns=["alcohol"]))
        np.testing.assert_array_equal(est.predict(shuffled[list(data.data.columns)]), clf.predict(data.data))
    assert isinstance(shuffled, pd.DataFrame)


# -- --split defaults to train for files holding both parts ---------------------------------------------
def test_split_defaults_to_train_for_files_holding_both_parts(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "both.npz", X_train=X[:60], y_train=y[:60], X_test=X[60:], y_test=y[60:])
    with h5py.File(tmp_path / "both.h5", "w") as f:
        f["train_set_x"], f["train_set_y"], f["test_set_x"], f["test_set_y"] = X[:70], y[:70], X[70:], y[70:]
    for name, m_train in (("both.npz", 60), ("both.h5", 70)):
        out = tmp_path / f"{name}.model.npz"
        code, _, err = run(["train", tmp_path / name, "--layers", "4", "--epochs", "3", "--val-split", "0",
                            "--out", out, "--no-plot", "-q"], capsys)
        assert code == 0, err
        assert dl.load(out).metadata["m_train"] == m_train
        code, text, err = run(["evaluate", out, tmp_path / name, "--split", "test", "--json"], capsys)
        assert code == 0 and json.loads(text)["m"] == 90 - m_train, err


# -- one set of defaults ---------------------------------------------------------------------------------
def test_the_cli_and_the_estimator_train_with_the_same_defaults(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.datasets import load_iris

    from deeplayers.sklearn import DNNClassifier

    code, _, err = run(["train", "iris", "--epochs", "6", "--out", tmp_path / "cli.npz", "--no-plot", "-q"], capsys)
    assert code == 0, err
    model = dl.load(tmp_path / "cli.npz")
    iris = load_iris()
    clf = DNNClassifier(epochs=6, random_state=0).fit(iris.data, iris.target)
    net, h = model.network, model.history
    assert net.dtype == clf.network_.dtype == np.dtype(DEFAULTS["dtype"]) == np.float32
    assert net.layer_dims[1:-1] == clf.network_.layer_dims[1:-1] == list(DEFAULTS["hidden_layer_sizes"])
    assert net.activations == clf.network_.activations
    hyper = model.hyperparameters
    assert (hyper["init"], clf.init, clf.network_.init) == (DEFAULTS["init"],) * 3 == ("xavier",) * 3
    assert (hyper["optimizer"], clf.optimizer, type(clf._optimizer).__name__) == ("adam", "adam", "Adam")
    assert hyper["learning_rate"] == clf.learning_rate == DEFAULTS["learning_rate"] == 1e-3
    assert (hyper["lr_schedule"], clf.lr_schedule) == ("cosine", "cosine")
    assert (hyper["batch_size"], clf.batch_size) == (128, 128)
    assert (hyper["l2"], clf.l2) == (1e-4, 1e-4)
    # the rates actually used, epoch by epoch: the same cosine from the same alpha
    assert h.lr == pytest.approx([1e-3 * (1 + np.cos(np.pi * e / 6)) / 2 for e in range(6)])
    assert clf.network_.history.lr == pytest.approx(h.lr)
    # the search fills in the same defaults for what the space does not name
    from deeplayers.search import _task_config

    net_cfg, fit_cfg = _task_config({}, 4, 3, "softmax", DEFAULTS["epochs"])
    assert (net_cfg["init"], net_cfg["dtype"], net_cfg["layer_dims"]) == ("xavier", "float32", [4, 100, 3])
    assert fit_cfg == {"optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "cosine", "batch_size": 128,
                       "l2": 1e-4, "epochs": 200}


# -- one program -------------------------------------------------------------------------------------------
def test_python_m_deeplayers_search_runs_without_a_runtime_warning(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "deeplayers.search", "iris", "--space",
                           '{"learning_rate": [0.01]}', "--epochs", "2", "--out", str(tmp_path / "s"), "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and "1 settings ranked by val_cost" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "deeplayers.search", "iris", "--space", "{}", "--eta", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: --eta applies only to --strategy halving (see 'deeplayers search --help')"]


def test_choices_are_the_engine_registries() -> None:
    from deeplayers.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
    from deeplayers.initializers import INITIALIZERS
    from deeplayers.optimizers import OPTIMIZERS
    from deeplayers.preprocessing import Preprocessing
    from deeplayers.training import SCHEDULES

    def choices(command: str, option: str) -> list[str]:
        p = next(p for p in cli.commands[command].params if option in p.opts)
        return list(p.type.choices)

    assert choices("train", "--activation") == sorted(set(ACTIVATIONS) - {"softmax"})
    assert choices("gradcheck", "--activation") == choices("train", "--activation")
    assert choices("train", "--output") == ["auto", *OUTPUT_ACTIVATIONS]
    assert choices("gradcheck", "--output") == list(OUTPUT_ACTIVATIONS)
    assert choices("train", "--init") == list(INITIALIZERS)
    assert set(choices("train", "--optimizer")) == {cls.name for cls in OPTIMIZERS.values()}
    assert choices("train", "--lr-schedule") == list(SCHEDULES)
    assert choices("train", "--scale") == ["auto", *Preprocessing.TYPES] == choices("search", "--scale")
    assert choices("train", "--dtype") == list(dl.network.DTYPES) == ["float32", "float64"]


# -- outputs: never an input, never another output, never a directory, in a format they can be ----------
@pytest.fixture()
def files(models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A small CSV, a model file and a space file in an empty working directory."""
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "iris.csv"
    csv.write_text("a,b,c,d,label\n" + "".join(f"{i},{i % 3},{i % 5},{i % 7},{i % 3}\n" for i in range(30)))
    model = tmp_path / "m.npz"
    model.write_bytes(models["iris"].read_bytes())
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: [0.01]\n")
    return {"csv": csv, "model": model, "space": space}


CLASHES = {
    "train --out m.png: the default plot is the model file": (
        ["train", "{csv}", "--epochs", "1", "--out", "w.png"],
        "--out w.png and --plot (default: the --out name with .png) w.png are the same file"),
    "train --out and --plot": (["train", "{csv}", "--out", "x.npz", "--plot", "./x.npz"],
                               "--out x.npz and --plot ./x.npz are the same file"),
    "train --out DATA": (["train", "{csv}", "--out", "{csv}"], "--out {csv} is the input DATA {csv}"),
    "train --checkpoint and --out": (["train", "{csv}", "--checkpoint", "r.npz", "--out", "r.npz"],
                                     "--out r.npz and --checkpoint r.npz are the same file"),
    "train --checkpoint DATA": (["train", "{csv}", "--checkpoint", "{csv}"], "--checkpoint {csv} is the input DATA"),
    "predict --out MODEL": (["predict", "{model}", "{csv}", "--out", "{model}"], "--out {model} is the input MODEL"),
    "predict --out DATA": (["predict", "{model}", "{csv}", "--out", "{csv}"], "--out {csv} is the input DATA"),
    "export --onnx MODEL": (["export", "{model}", "--onnx", "{model}"], "--onnx {model} is the input MODEL"),
    "plot --out MODEL": (["plot", "{model}", "--what", "curves", "--out", "{model}"], "--out {model} is the input MODEL"),
    "plot --out --data": (["plot", "{model}", "--what", "boundary", "--data", "{csv}", "--out", "{csv}"],
                          "--out {csv} is the input --data {csv}"),
    "search --storage DATA": (["search", "{csv}", "--space", "{space}", "--storage", "{csv}"],
                              "--storage {csv} is the input DATA {csv}"),
    "search --storage --space": (["search", "{csv}", "--space", "{space}", "--storage", "{space}"],
                                 "--storage {space} is the input --space {space}"),
    "search --out a file": (["search", "{csv}", "--space", "{space}", "--out", "{csv}"], "--out {csv}: is a file"),
    "train --out a directory": (["train", "{csv}", "--out", "."], "--out .: is a directory"),
    "plot --out a directory": (["plot", "{model}", "--what", "curves", "--out", "{tmp}"],
                               "--out {tmp}: is a directory; name a file"),
    "train --out -": (["train", "{csv}", "--out", "-"], "--out -: this output is a file, not text for stdout"),
    "train --plot -": (["train", "{csv}", "--plot", "-"], "--plot -: this output is a file"),
    "export --onnx -": (["export", "{model}", "--onnx", "-"], "--onnx -: this output is a file"),
    "plot --out -": (["plot", "{model}", "--what", "curves", "--out", "-"], "--out -: this output is a file"),
    "plot --out in a format matplotlib does not write": (["plot", "{model}", "--what", "curves", "--out", "c.txt"],
                                                          "--out c.txt: the picture's format comes from the name's "
                                                          "ending; give one of .png, .pdf, .svg"),
    "train --plot with no picture ending": (["train", "{csv}", "--plot", "curve"], "--plot curve: the picture's format"),
}


@pytest.mark.parametrize("case", sorted(CLASHES))
def test_an_output_that_is_an_input_another_output_or_a_directory_is_refused(
        case: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    args, expected = CLASHES[case]
    fill = {**files, "tmp": tmp_path}
    code, out, err = run([a.format(**fill) for a in args], capsys)
    assert (code, out) == (2, ""), (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected.format(**fill) in lines[0], lines[0]
    # refused before anything is read or written: every file as it was, byte for byte, and nothing new
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_same_checkpoint_file_for_checkpoint_and_resume_is_not_a_clash(files: dict[str, Path],
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    common = ["train", files["csv"], "--layers", "3", "--epochs", "2", "--lr-schedule", "constant", "--no-plot", "-q",
              "--checkpoint", "r.ckpt"]
    assert run([*common, "--out", "a.npz"], capsys)[0] == 0
    code, _, err = run([*common, "--epochs", "3", "--out", "b.npz", "--resume", "r.ckpt"], capsys)
    assert code == 0, err


def test_pictures_are_written_in_the_format_of_the_names_ending(files: dict[str, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["train", files["csv"], "--layers", "3", "--epochs", "2", "-q", "--out", "w.npz", "--plot",
                        "w.pdf"], capsys)
    assert code == 0, err
    assert (tmp_path / "w.pdf").read_bytes().startswith(b"%PDF")
    for name, magic in (("c.svg", b"<?xml"), ("c.jpg", b"\xff\xd8\xff"), ("c.png", b"\x89PNG")):
        code, _, err = run(["plot", "w.npz", "--what", "curves", "--out", name], capsys)
        assert code == 0, err
        assert (tmp_path / name).read_bytes().startswith(magic), name


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_an_output_that_cannot_be_written_names_the_option(files: dict[str, Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["predict", files["model"], "iris", "--out", "/proc/deeplayers-predictions.csv"], capsys)
    assert code == 2 and err.strip().splitlines() == [
        "error: --out: cannot write /proc/deeplayers-predictions.csv: no such file or directory in /proc"]


# -- values checked up front ----------------------------------------------------------------------------
UP_FRONT = {
    "lr nan": (["train", "iris", "--lr", "nan"], "'--lr': must be a positive number (a finite number), got 'nan'"),
    "lr inf": (["train", "iris", "--lr", "inf"], "'--lr': must be a positive number (a finite number), got 'inf'"),
    "l2 inf": (["train", "iris", "--l2", "inf"], "'--l2': must be a non-negative number (a finite number)"),
    "l2 nan": (["train", "iris", "--l2", "nan"], "'--l2': must be a non-negative number (a finite number)"),
    "keep-prob nan": (["train", "iris", "--keep-prob", "nan"], "'--keep-prob': must be a KEEP probability"),
    "gradcheck threshold inf": (["gradcheck", "--threshold", "inf"], "'--threshold': must be a non-negative number"),
    "train seed too large": (["train", "iris", "--seed", "99999999999"],
                             "'--seed': must be an integer from 0 to 4294967295 (2**32 - 1), got '99999999999'"),
    "gradcheck seed too large": (["gradcheck", "--seed", "99999999999"], "'--seed': must be an integer from 0 to "),
    "search seed too large": (["search", "iris", "--space", "{{}}", "--seed", "4294967296"],
                              "'--seed': must be an integer from 0 to "),
    "threads below -cores": (["train", "iris", "--threads", "-100000"], "'--threads': give a positive number of "
                             "threads, -1 for every core, -2 for all but one"),
    "a network larger than memory": (["train", "iris", "--layers", "99999999999"],
                                     "--layers: the network's weights alone need"),
    "a gradcheck network larger than memory": (["gradcheck", "--layer-dims", "1000000,100000,1"],
                                               "--layer-dims: the network's weights alone need"),
    "softmax over one unit": (["gradcheck", "--layer-dims", "5,4,1", "--output", "softmax"],
                              "--output softmax needs at least 2 output units, but --layer-dims 5,4,1 ends with 1"),
}


@pytest.mark.parametrize("case", sorted(UP_FRONT))
def test_values_are_refused_before_anything_is_read(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    args, expected = UP_FRONT[case]
    code, out, err = run([a.format() for a in args], capsys)
    assert (code, out) == (2, ""), (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert list(tmp_path.iterdir()) == []


def test_threads_help_says_what_negative_counts_mean() -> None:
    from click.testing import CliRunner

    text = " ".join(CliRunner().invoke(cli, ["train", "--help"]).output.split())
    assert "-2 all but one" in text


def test_running_out_of_memory_is_one_line_naming_the_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    def too_large(*args: object, **kwargs: object) -> None:
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (100000, 100000)")

    monkeypatch.setattr(dl.Network, "__init__", too_large)
    code, out, err = run(["train", "iris", "--out", tmp_path / "m.npz"], capsys)
    assert code == 2 and err.strip().splitlines() == [
        "error: the network or the data does not fit in memory; give smaller --layers, or fewer samples with --limit"]
    code, out, err = run(["gradcheck"], capsys)
    assert code == 2 and err.strip() == "error: the network does not fit in memory; give smaller --layer-dims"


def test_a_closed_stdout_does_not_lose_the_model(tmp_path: Path) -> None:
    """deeplayers train ... | head -1: the reader goes away; the model and the curve are still saved."""
    proc = subprocess.Popen([sys.executable, "-m", "deeplayers", "train", "iris", "--layers", "3", "--epochs", "3",
                             "--out", str(tmp_path / "p.npz")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the first line: every write to stdout now meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert dl.load(tmp_path / "p.npz").network.layer_dims == [4, 3, 3]
    assert (tmp_path / "p.png").is_file()


# -- messages in the command line's words ----------------------------------------------------------------
def test_checkpoint_and_time_limit_messages_name_options() -> None:
    assert cli_message("c.ckpt: holds a 'checkpoint'; a training checkpoint is resumed with fit(resume=...)") == \
        "c.ckpt: holds a 'checkpoint'; a training checkpoint is resumed with 'deeplayers train ... --resume FILE'"
    assert cli_message("w.npz is not a training checkpoint (kind 'network'); resume needs a file written by "
                       "fit(..., checkpoint=...)") == ("w.npz is not a training checkpoint (kind 'network'); resume "
                                                       "needs a file written by 'deeplayers train ... --checkpoint "
                                                       "FILE'")
    assert cli_message("time_limit must be a positive number of seconds, got nan", ["--time-limit"]) == \
        "--time-limit must be a positive number of seconds, got nan"


def test_split_of_a_file_with_one_part_names_split(tmp_path: Path, models: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "rows.npz"
    np.savez(rows, X=np.random.default_rng(0).normal(size=(20, 4)), y=np.arange(20) % 3)
    code, _, err = run(["evaluate", models["iris"], rows, "--split", "test"], capsys)
    assert code == 2 and err.startswith(f"error: --split test: {rows} has no test part (no features array X/x_test"), err


def test_summary_of_a_directory_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.npz").mkdir()
    code, _, err = run(["summary", tmp_path / "m.npz"], capsys)
    assert code == 2 and err.strip() == (f"error: {tmp_path / 'm.npz'} is a directory, not a model file; give the "
                                         ".npz file written by 'deeplayers train' or deeplayers.save")


def test_demo_cat_takes_the_folder_or_one_of_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import deeplayers.demo

    ran: list[object] = []
    monkeypatch.setattr(deeplayers.demo, "run_demo", lambda cat, *args: ran.append(cat))
    code, _, err = run(["demo", "--cat", tmp_path], capsys)
    assert code == 2 and err.strip() == (f"error: --cat {tmp_path}: no train_catvnoncat.h5 or test_catvnoncat.h5 in "
                                         f"{tmp_path}; --cat expects the folder holding train_catvnoncat.h5 and "
                                         "test_catvnoncat.h5")
    for name in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
        (tmp_path / name).write_bytes(b"")
    assert run(["demo", "--cat", tmp_path / "train_catvnoncat.h5"], capsys)[0] == 0
    assert ran == [str(tmp_path)]


# -- CSV files as pandas and numpy write them ------------------------------------------------------------
def _moons_frame(m: int = 60) -> Any:
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = rng.randn(m, 2)
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": (X[:, 0] * X[:, 1] > 0).astype(int)})


def test_pandas_row_index_is_refused_alike_by_train_predict_and_evaluate(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    df = _moons_frame()
    df.to_csv(tmp_path / "indexed.csv")  # pandas' default: the row index as a first, unnamed column
    df.to_csv(tmp_path / "plain.csv", index=False)
    model = tmp_path / "m.npz"
    said = (f"error: {tmp_path / 'indexed.csv'}: column 1 has no name and holds 0, 1, ..., 59 in order: the row index "
            "pandas writes with DataFrame.to_csv, not a feature (a model would learn the row number); write the file "
            "with to_csv(..., index=False), or drop that column (or name it in the header if it really is a feature)")
    code, out, err = run(["train", tmp_path / "indexed.csv", "--epochs", "2", "--out", model, "--no-plot"], capsys)
    assert (code, out, err.strip()) == (2, "", said)
    assert not model.exists()
    assert run(["train", tmp_path / "plain.csv", "--epochs", "2", "--out", model, "--no-plot", "-q"], capsys)[0] == 0
    for args in (["predict", model, tmp_path / "indexed.csv", "--out", "-"], ["evaluate", model, tmp_path / "indexed.csv"],
                 ["evaluate", model, tmp_path / "indexed.csv", "--labels", "y"]):
        code, out, err = run(args, capsys)
        assert (code, out, err.strip()) == (2, "", said), args


def test_a_file_of_the_models_features_and_no_label_column_says_so(models: dict[str, Path], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    np.savetxt(tmp_path / "nolab.csv", iris.data, delimiter=",")  # the 4 features, no header, no labels
    code, out, err = run(["evaluate", models["iris"], tmp_path / "nolab.csv"], capsys)
    assert (code, out) == (2, "")
    assert err.strip() == (f"error: {tmp_path / 'nolab.csv'} seems to have no label column: it holds 4 columns, as many "
                           "as the model's n[0] = 4 features, so taking the last one as the labels would leave one "
                           "feature short; add the label column, or name it with --labels if it is there (predict "
                           "needs no labels)")
    code, out, err = run(["predict", models["iris"], tmp_path / "nolab.csv", "--out", "-"], capsys)
    assert code == 0, err
    want = dl.load(models["iris"]).predict(iris.data.T)[0]
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == [str(c) for c in want]
    names = np.array(iris.target_names)[iris.target]  # with its labels (the class names) it evaluates
    rows = [",".join([*map(repr, x.tolist()), n]) for x, n in zip(iris.data, names)]
    (tmp_path / "lab.csv").write_text("\n".join(rows) + "\n")
    code, out, err = run(["evaluate", models["iris"], tmp_path / "lab.csv", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(np.mean(want == names))


def test_a_file_holding_samples_as_columns_is_said_in_the_command_lines_words(
        models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.datasets import load_iris

    np.savez(tmp_path / "cols.npz", X=load_iris().data.T)  # (4, 150): the notation's layout, no labels to tell it
    bare = tmp_path / "bare.npz"  # --scale none: the model's own check (modelfile) speaks, not the preprocessing's
    assert main(["train", "iris", "--layers", "4", "--epochs", "2", "--scale", "none", "--out", str(bare), "--no-plot",
                 "-q"]) == 0
    for model in (models["iris"], bare):
        code, out, err = run(["predict", model, tmp_path / "cols.npz", "--out", "-"], capsys)
        assert (code, out) == (2, "")
        assert err.strip() == (f"error: the model expects 4 features, {tmp_path / 'cols.npz'} has 150. "
                               f"{tmp_path / 'cols.npz'} seems to hold samples as columns, (4, 150) = (n[0], m); the "
                               "command line reads an .npz's X as rows, (m, n[0]), unless labels y stored with it (one "
                               "per sample) show it the other way round: save X transposed, or store y with it")
    iris = load_iris()  # with its labels (the class names) the layout is told
    np.savez(tmp_path / "cols.npz", X=iris.data.T, y=np.array(iris.target_names)[iris.target])
    code, out, err = run(["evaluate", models["iris"], tmp_path / "cols.npz", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out) == json.loads(run(["evaluate", models["iris"], "iris", "--json"], capsys)[1])


def test_resume_names_a_checkpoint_and_is_checked_before_the_data_is_read(files: dict[str, Path],
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (files["csv"].parent / "junk.ckpt").write_bytes(b"not a checkpoint")
    before = {p: p.read_bytes() for p in files["csv"].parent.iterdir()}
    said = {
        "m.npz": "--resume m.npz: is not a training checkpoint (kind 'network', a model file); resume needs a file "
                 "written by 'deeplayers train ... --checkpoint FILE'",
        "none.ckpt": "--resume none.ckpt: no checkpoint at none.ckpt: nothing to resume (a run writes one with "
                     "--checkpoint FILE)",
        "junk.ckpt": "--resume junk.ckpt: cannot be read as a deeplayers model file: it is not an npz (zip) archive "
                     "(File is not a zip file); check the path; if it is a model file it is damaged: re-save it or "
                     "restore a backup; --resume takes the checkpoint a run wrote with --checkpoint FILE",
    }
    for resume, message in said.items():
        code, out, err = run(["train", files["csv"], "--epochs", "2", "--out", "w.npz", "--resume", resume], capsys)
        # refused before the data is read: no summary printed, nothing written
        assert (code, out, err.strip()) == (2, "", f"error: {message}")
    assert {p: p.read_bytes() for p in files["csv"].parent.iterdir()} == before
    common = ["train", files["csv"], "--layers", "3", "--lr-schedule", "constant", "--no-plot", "-q"]
    assert run([*common, "--epochs", "2", "--checkpoint", "r.ckpt", "--out", "a.npz"], capsys)[0] == 0
    code, _, err = run([*common, "--epochs", "3", "--out", "b.npz", "--resume", "r.ckpt"], capsys)  # a checkpoint
    assert code == 0, err
    assert len(dl.load("b.npz").history.cost) == 3


def test_an_integer_labels_is_refused_as_ambiguous_when_matching_columns_by_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = _moons_frame().rename(columns={"a": "0", "b": "1", "y": "2"})
    df.insert(0, "x", np.linspace(0, 1, len(df)))
    df.to_csv(tmp_path / "train.csv", index=False)  # x,0,1,2: the labels last, named 2
    df[["x", "2", "0", "1"]].to_csv(tmp_path / "moved.csv", index=False)  # the same, the labels second
    model = tmp_path / "m.npz"
    assert main(["train", str(tmp_path / "train.csv"), "--epochs", "2", "--out", str(model), "--no-plot", "-q"]) == 0
    code, out, err = run(["evaluate", model, tmp_path / "moved.csv", "--labels", "2"], capsys)
    assert (code, out) == (2, "")
    assert err.strip() == (f"error: {tmp_path / 'moved.csv'}: --labels 2 is ambiguous: column 2 is named '2', but "
                           "0-based index 2 is column 3 ('0'); say which with a negative index: --labels -3 for the "
                           "column named '2', --labels -2 for the column at that index (or rename the columns)")
    code, out, err = run(["evaluate", model, tmp_path / "moved.csv", "--labels", "-3", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out) == json.loads(run(["evaluate", model, tmp_path / "train.csv", "--json"], capsys)[1])
    code, _, err = run(["predict", model, tmp_path / "moved.csv", "--labels", "2", "--out", "-"], capsys)
    assert code == 2 and "--labels 2 is ambiguous" in err


def test_header_says_whether_the_first_row_holds_column_names(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import deeplayers.cli

    rng = np.random.RandomState(0)
    cells = np.c_[rng.randint(0, 9, (40, 2)), rng.randint(1, 3, 40)]
    data = tmp_path / "amb.csv"  # a first row 0,1,2 above whole numbers that fit it as a sample too
    data.write_text("0,1,2\n" + "".join(",".join(map(str, r)) + "\n" for r in cells))
    rows = np.loadtxt(data, delimiter=",")
    code, out, err = run(["train", data, "--epochs", "2", "--no-plot"], capsys)
    assert (code, out) == (2, "")
    assert "pass header=" not in err and err.strip().endswith(
        "but the whole numbers below fit it as a sample too; give --header yes or --header no, or write the file with "
        "real column names, or without names (to_csv(..., header=False))")
    common = ["--epochs", "2", "--val-split", "0", "--no-plot", "-q"]
    assert run(["train", data, "--header", "no", *common, "--out", tmp_path / "no.npz"], capsys)[0] == 0
    assert run(["train", data, "--header", "yes", *common, "--out", tmp_path / "yes.npz"], capsys)[0] == 0
    no, yes = dl.load(tmp_path / "no.npz"), dl.load(tmp_path / "yes.npz")
    assert (no.metadata["m_train"], no.metadata["feature_names"]) == (41, None)
    assert (yes.metadata["m_train"], yes.metadata["feature_names"], yes.metadata["label_name"]) == (40, ["0", "1"], "2")
    code, out, err = run(["predict", tmp_path / "no.npz", data, "--header", "no", "--out", "-"], capsys)
    assert code == 0, err
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == [str(v) for v in no.predict(rows[:, :2].T)[0]]
    assert run(["predict", tmp_path / "yes.npz", data, "--out", "-"], capsys)[0] == 2  # auto cannot tell
    code, out, err = run(["evaluate", tmp_path / "yes.npz", data, "--header", "yes", "--json"], capsys)
    assert code == 0 and json.loads(out)["m"] == 40, err
    seen = []

    def record(X: np.ndarray, Y: np.ndarray, *args: object, **kwargs: object) -> None:
        seen.append(X)
        raise dl.ConfigError("stop here")

    monkeypatch.setattr(deeplayers.cli, "run_search", record)
    for header, want in (("no", rows), ("yes", rows[1:])):
        code, _, err = run(["search", data, "--header", header, "--space", '{"learning_rate": [0.01]}', "--out",
                            tmp_path / "s"], capsys)
        assert code == 2 and "stop here" in err
        assert np.array_equal(seen.pop(), want[:, :2].T)
