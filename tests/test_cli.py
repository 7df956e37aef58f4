"""The command line: help texts, one-line user errors with status 2, and train / predict / evaluate
checked against an independent computation (scikit-learn's metrics) from the saved model."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import deeplayers as dl
from deeplayers.cli import cli, main

COMMANDS = {
    "train": ["--labels", "--layers", "--activation", "--output", "--optimizer", "--lr", "--epochs", "--iterations",
              "--batch-size", "--l2", "--keep-prob", "--val-split", "--early-stopping", "--seed", "--dtype", "--scale",
              "--out", "--plot", "--checkpoint", "--checkpoint-every", "--resume", "--limit", "--split"],
    "predict": ["--out", "--proba"],
    "evaluate": ["--json", "--split"],
    "summary": [],
    "gradcheck": ["--layer-dims", "--activation", "--output", "--seed"],
    "plot": ["--what", "curves", "boundary", "weights", "architecture", "--data", "--out"],
    "export": ["--onnx"],
    "search": ["--space", "--strategy"],
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """deeplayers ARGS in-process through main(): (status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# -- help ------------------------------------------------------------------------------------------
def test_group_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
    assert "status 2" in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_is_complete(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {command}") or f"{command} [OPTIONS]" in result.output
    for word in COMMANDS[command]:
        assert word in result.output, f"{command} --help does not mention {word}"
    # every option has a help text (no bare option lines)
    cmd = cli.get_command(None, command)  # type: ignore[arg-type]
    for p in cmd.params:
        if p.param_type_name == "option" and p.name not in ("help",):
            assert p.help or command == "search", f"{command} {p.opts} has no help text"


def test_no_command_runs_the_demo_in_both_spellings(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # deeplayers and python -m deeplayers are one program: no command runs 'demo' (the README's first command)
    calls = []
    monkeypatch.setattr("deeplayers.demo.run_demo", lambda *a: calls.append(a) or 0.9)
    code, out, _ = run([], capsys)
    assert code == 0 and calls == [(None, 2500, 0.0075)] and "deeplayers --help" in out
    code, _, _ = run(["demo", "--iterations", "7", "--lr", "0.5"], capsys)
    assert code == 0 and calls[-1] == (None, 7, 0.5)
    result = CliRunner().invoke(cli, ["demo", "--help"])
    for word in ("--cat", "--iterations", "--lr", "2500", "0.0075"):
        assert word in result.output


def test_python_m_deeplayers_runs_the_course_demo() -> None:
    proc = subprocess.run([sys.executable, "-m", "deeplayers", "demo", "--iterations", "101"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Cost after iteration 0:" in proc.stdout and "Cost after iteration 100:" in proc.stdout
    assert "Train Accuracy" in proc.stdout and "Test Accuracy" in proc.stdout and "layer_dims = [30, 20, 7, 5, 1]" in proc.stdout


# -- user errors: one line on stderr, status 2 ---------------------------------------------------------
@pytest.fixture(scope="module")
def iris_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("iris")
    path = d / "iris.npz"
    # float64: the metrics below are compared with scikit-learn's to 1e-9 (the defaults train in float32)
    code = main(["train", "iris", "--layers", "8", "--epochs", "60", "--batch-size", "32", "--lr", "0.02",
                 "--seed", "3", "--dtype", "float64", "--out", str(path), "-q"])
    assert code == 0
    assert path.is_file() and path.with_suffix(".png").is_file()
    return path


def _bad_csv(tmp: Path) -> Path:
    p = tmp / "bad.csv"
    p.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    return p


def _damaged_model(tmp: Path, iris_model: Path) -> Path:
    p = tmp / "damaged.npz"
    data = bytearray(iris_model.read_bytes())
    p.write_bytes(bytes(data[: len(data) // 2]))
    return p


@pytest.mark.parametrize("case, expected", [
    ("missing data file", "nosuch.csv: no such file or directory"),
    ("missing model file", "no such model file"),
    ("bad option value", "Invalid value for '--output'"),
    ("bad layers", "'--layers': give a comma-separated list of positive integers such as 20,7,5, got '20,x'"),
    ("unknown option", "No such option"),
    ("bad val split", "--val-split"),
    ("bad dropout", "KEEP probability"),
    ("non-numeric csv cell", "line 3, column 2 ('b') holds 'oops'"),
    ("labels do not fit the output", "one sigmoid output unit separates only 2"),
    ("shape mismatch at predict", "features"),
    ("damaged model file", "damaged"),
    ("foreign model file", "not an npz"),
    ("bad limit", "'--limit': must be a positive integer, got '0'"),
    ("resume without checkpoint", "--resume none.ckpt: no checkpoint at"),
    ("boundary without data", "needs --data"),
    ("missing output directory", "does not exist"),
    ("bad split of an IDX directory", "--split for an IDX directory"),
    ("empty IDX directory", "no train-images-idx3-ubyte"),
])
def test_user_errors_print_one_line_and_exit_2(case: str, expected: str, iris_model: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing lands in the working directory even if a case trains by mistake
    args = {
        "missing data file": ["train", "nosuch.csv"],
        "missing model file": ["summary", tmp_path / "nosuch.npz"],
        "bad option value": ["train", "iris", "--output", "foo"],
        "bad layers": ["train", "iris", "--layers", "20,x"],
        "unknown option": ["train", "iris", "--bogus"],
        "bad val split": ["train", "iris", "--val-split", "1.5"],
        "bad dropout": ["train", "iris", "--keep-prob", "1.5"],
        "non-numeric csv cell": ["train", _bad_csv(tmp_path)],
        "labels do not fit the output": ["train", "iris", "--output", "sigmoid"],
        "shape mismatch at predict": ["predict", iris_model, "digits", "--out", tmp_path / "p.csv"],
        "damaged model file": ["evaluate", _damaged_model(tmp_path, iris_model), "iris"],
        "foreign model file": ["summary", _bad_csv(tmp_path)],
        "bad limit": ["train", "iris", "--limit", "0"],
        "resume without checkpoint": ["train", "iris", "--resume", "none.ckpt"],
        "boundary without data": ["plot", iris_model, "--what", "boundary"],
        "missing output directory": ["train", "iris", "--out", tmp_path / "no" / "dir" / "m.npz"],
        "bad split of an IDX directory": ["train", tmp_path, "--split", "validation"],
        "empty IDX directory": ["evaluate", iris_model, tmp_path, "--limit", "10"],
    }[case]
    code, out, err = run(args, capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in err + out


def test_user_error_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "deeplayers", "evaluate", str(tmp_path / "x.npz"), "iris"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: no such model file: {tmp_path / 'x.npz'}"]
    assert "Traceback" not in proc.stderr


def test_python_m_help_in_a_real_process() -> None:
    proc = subprocess.run([sys.executable, "-m", "deeplayers", "train", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "--checkpoint-every" in proc.stdout


# -- gradcheck ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("output, dims", [("sigmoid", "5,4,1"), ("softmax", "4,5,3"), ("linear", "3,4,2")])
def test_gradcheck_passes(output: str, dims: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["gradcheck", "--layer-dims", dims, "--activation", "tanh", "--output", output], capsys)
    assert code == 0
    diff = float(out.split("relative difference ")[1].split()[0])
    assert diff < 2e-7 and "PASS" in out


def test_gradcheck_fail_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["gradcheck", "--layer-dims", "5,4,1", "--threshold", "0"], capsys)
    assert code == 1 and "FAIL" in out


# -- train, predict, evaluate against an independent computation -----------------------------------
def test_train_prints_summary_metrics_and_saves_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["train", "wine", "--layers", "10,6", "--epochs", "40", "--batch-size", "32",
                          "--val-split", "0.2", "--seed", "1", "--out", tmp_path / "wine.npz",
                          "--plot", tmp_path / "curve.png"], capsys)
    assert code == 0, err
    assert "layer_dims = [13, 10, 6, 3]" in out  # the summary table's last line
    assert "train:      cost" in out and "validation: cost" in out
    model = dl.load(tmp_path / "wine.npz")
    assert model.classes == ["class_0", "class_1", "class_2"]
    assert model.preprocessing.type == "standard"
    assert model.hyperparameters["layers"] == [10, 6] and model.hyperparameters["seed"] == 1
    assert len(model.history.cost) == 40 and len(model.history.val_cost) == 40
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the printed validation accuracy is the last one recorded
    printed = float(out.split("validation: cost")[1].split("accuracy ")[1].split()[0])
    assert printed == pytest.approx(model.history.metrics["val_accuracy"][-1], abs=5e-5)


def test_train_with_the_cosine_schedule_records_its_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["train", "wine", "--layers", "6", "--epochs", "8", "--optimizer", "adam", "--lr", "0.01",
                        "--lr-schedule", "cosine", "--seed", "0", "--out", tmp_path / "w.npz"], capsys)
    assert code == 0, err
    lr = dl.load(tmp_path / "w.npz").history.lr
    assert lr == pytest.approx([0.01 * (1 + np.cos(np.pi * e / 8)) / 2 for e in range(8)])


def test_predict_csv_matches_the_saved_model(iris_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_csv = tmp_path / "pred.csv"
    code, _, err = run(["predict", iris_model, "iris", "--out", out_csv, "--proba"], capsys)
    assert code == 0, err
    with open(out_csv, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["sample", "prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    model = dl.load(iris_model)
    from deeplayers.datasets import load_builtin

    X = load_builtin("iris").X
    A = model.predict_proba(X)
    names = np.array(model.classes)[np.argmax(A, axis=0)]
    assert [r[1] for r in rows[1:]] == names.tolist()
    P = np.array([[float(v) for v in r[2:]] for r in rows[1:]]).T
    np.testing.assert_array_equal(P, A)  # repr() round-trips floats exactly


def test_predict_reads_a_feature_only_csv(iris_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from deeplayers.datasets import load_builtin

    ds = load_builtin("iris")
    X = ds.X[:, :5]
    want = dl.load(iris_model).predict(X)[0].tolist()
    # with a header: the columns are the model's features by name
    src = tmp_path / "new.csv"
    np.savetxt(src, X.T, delimiter=",", header=",".join(ds.feature_names), comments="")
    code, out, err = run(["predict", iris_model, src, "--out", "-"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "sample,prediction" and len(lines) == 6
    assert [line.split(",")[1] for line in lines[1:]] == want
    # without a header: n[0] = 4 columns in training order, all features
    bare = tmp_path / "bare.csv"
    np.savetxt(bare, X.T, delimiter=",")
    code, out, err = run(["predict", iris_model, bare, "--out", "-"], capsys)
    assert code == 0, err
    assert [line.split(",")[1] for line in out.strip().splitlines()[1:]] == want


def test_evaluate_classification_matches_sklearn(iris_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sk = pytest.importorskip("sklearn.metrics")
    from deeplayers.datasets import load_builtin

    code, out, err = run(["evaluate", iris_model, "iris", "--json"], capsys)
    assert code == 0, err
    got = json.loads(out)
    ds = load_builtin("iris")
    model = dl.load(iris_model)
    A = model.predict_proba(ds.X)  # independent: straight from the saved file and the raw data
    y_pred = np.argmax(A, axis=0)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(ds.y, y_pred), abs=1e-12)
    assert got["log_loss"] == pytest.approx(sk.log_loss(ds.y, A.T, labels=[0, 1, 2]), rel=1e-9)
    assert got["confusion_matrix"] == sk.confusion_matrix(ds.y, y_pred, labels=[0, 1, 2]).tolist()
    np.testing.assert_allclose(got["precision"], sk.precision_score(ds.y, y_pred, average=None, zero_division=0))
    np.testing.assert_allclose(got["recall"], sk.recall_score(ds.y, y_pred, average=None, zero_division=0))
    assert got["classes"] == ["setosa", "versicolor", "virginica"]
    assert got["accuracy"] > 0.85
    # the table version prints the same numbers
    code, out, _ = run(["evaluate", iris_model, "iris"], capsys)
    assert f"accuracy: {got['accuracy']:.4f}" in out and "confusion matrix" in out and "precision" in out


def test_evaluate_binary_and_regression_match_sklearn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sk = pytest.importorskip("sklearn.metrics")
    from deeplayers.datasets import load_builtin

    bc = tmp_path / "bc.npz"
    assert run(["train", "breast_cancer", "--layers", "6", "--epochs", "15", "--dtype", "float64", "--out", bc,
                "--no-plot", "-q"], capsys)[0] == 0
    code, out, _ = run(["evaluate", bc, "breast_cancer", "--json"], capsys)
    got = json.loads(out)
    ds = load_builtin("breast_cancer")
    p = dl.load(bc).predict_proba(ds.X)[0]
    assert dl.load(bc).classes == ["malignant", "benign"]
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(ds.y, p > 0.5))
    assert got["log_loss"] == pytest.approx(sk.log_loss(ds.y, p), rel=1e-9)
    assert got["confusion_matrix"] == sk.confusion_matrix(ds.y, (p > 0.5).astype(int)).tolist()

    reg = tmp_path / "diabetes.npz"
    assert run(["train", "diabetes", "--layers", "8", "--epochs", "30", "--lr", "0.01", "--dtype", "float64", "--out",
                reg, "--no-plot", "-q"], capsys)[0] == 0
    model = dl.load(reg)
    assert model.network.activations[-1] == "linear"
    code, out, _ = run(["evaluate", reg, "diabetes", "--json"], capsys)
    got = json.loads(out)
    ds = load_builtin("diabetes")
    pred = model.predict_proba(ds.X)[0]
    assert got["r2"] == pytest.approx(sk.r2_score(ds.y, pred), rel=1e-9)
    assert got["mse"] == pytest.approx(sk.mean_squared_error(ds.y, pred), rel=1e-9)
    code, out, _ = run(["evaluate", reg, "diabetes"], capsys)
    assert "R^2:" in out and "MSE:" in out


def test_summary_shows_the_table_and_training_options(iris_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["summary", iris_model], capsys)
    assert code == 0
    assert "layer_dims = [4, 8, 3]" in out and "classes: ['setosa', 'versicolor', 'virginica']" in out
    assert "optimizer=adam" in out and "history: 60 epochs" in out


def test_ctrl_c_prints_one_resume_line_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # in-process stand-in for Ctrl-C (the real signal is sent in test_end_to_end.py)
    ck = tmp_path / "run.ckpt"

    def interrupted(*args: object, **kwargs: object) -> None:
        if kwargs.get("checkpoint"):
            Path(kwargs["checkpoint"]).write_bytes(b"stand-in")
            raise dl.TrainingInterrupted(f"training interrupted in epoch 2; the state at its start was saved to {ck}",
                                         2, ck)
        raise dl.TrainingInterrupted("training interrupted in epoch 0; nothing was saved", 0)

    monkeypatch.chdir(tmp_path)
    # an earlier run's checkpoint (--resume is checked to be one before the data is read)
    assert main(["train", "iris", "--epochs", "1", "--checkpoint", "old.ckpt", "--no-plot", "-q"]) == 0
    monkeypatch.setattr(dl.Network, "fit", interrupted)
    monkeypatch.setattr(sys, "argv", ["deeplayers"])  # the hint names the program as it was started
    code, _, err = run(["train", "iris", "--epochs", "5", "--checkpoint", ck, "--resume=old.ckpt"], capsys)
    assert code == 130
    # the exact command, with the earlier --resume replaced by this checkpoint
    assert err.strip().splitlines() == [
        f"interrupted in epoch 3/5: checkpoint saved to {ck}; resume with: deeplayers train iris --epochs 5 "
        f"--checkpoint {ck} --resume {ck}"]
    code, _, err = run(["train", "iris", "--epochs", "5"], capsys)
    assert code == 130 and len(err.strip().splitlines()) == 1 and "--checkpoint" in err


def test_plots_and_export_from_a_small_model(iris_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for what in ("curves", "architecture"):
        png = tmp_path / f"{what}.png"
        code, _, err = run(["plot", iris_model, "--what", what, "--out", png], capsys)
        assert code == 0, err
        assert png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(["plot", iris_model, "--what", "weights"], capsys)  # 4 inputs: a 2x2 "image"
    assert code == 0, err
    assert Path(str(iris_model.with_suffix("")) + "-weights.png").is_file()
    pytest.importorskip("onnxruntime")
    code, out, err = run(["export", iris_model, "--onnx", tmp_path / "iris.onnx"], capsys)
    assert code == 0, err
    assert "OK" in out


@pytest.mark.skipif(os.name != "posix", reason="console script path")
def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "deeplayers"
    if not script.exists():
        pytest.skip("the deeplayers script is not installed in this environment")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "deeplayers" in proc.stdout


def test_train_reproduces_the_course_on_the_cat_pictures(cat_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # the course's 4-layer model from the command line: its published costs (iterations 0 and 100)
    h5 = cat_dir / "train_catvnoncat.h5"
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # the suite's machine is small and shared
        code, out, err = run(["train", h5, "--layers", "20,7,5", "--init", "course", "--optimizer", "gd", "--lr",
                              "0.0075", "--iterations", "101", "--batch-size", "full", "--val-split", "0", "--seed", "1",
                              "--lr-schedule", "constant", "--l2", "0", "--dtype", "float64",
                              "--out", tmp_path / "cat.npz", "--no-plot", "-q"], capsys)
    assert code == 0, err
    model = dl.load(tmp_path / "cat.npz")
    assert model.classes == ["non-cat", "cat"] and model.history.unit == "iteration"
    assert model.history.cost[0] == pytest.approx(0.771749, abs=1e-6)
    assert model.history.cost[100] == pytest.approx(0.672053, abs=1e-6)


def test_train_at_an_absurd_learning_rate_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # issue 11: this ended at cost 456, accuracy 0.36 and exit 0; the engine's divergence rule by the
    # cost now stops it, and the command line says so in one line, exit 2, and writes no model
    code, out, err = run(["train", "iris", "--lr", "1e6", "--epochs", "50", "--out", tmp_path / "m.npz", "--no-plot",
                          "-q"], capsys)
    assert code == 2
    assert err.startswith("error: training diverged at iteration ") and err.count("\n") == 1
    assert "try a smaller learning rate (it was 1e+06, " in err  # the one --lr set (then the schedule's)
    assert not (tmp_path / "m.npz").exists()
