"""The issue's "Done when" session, end to end, with the documented commands (docs/cli.md): train on the MNIST
IDX directory from the command line, evaluate, predict to CSV, plot each picture, export to ONNX
and check it with onnxruntime, kill a checkpointed training run (SIGKILL) and resume it bit for
bit, and stop a run with SIGINT (status 130, one line saying how to resume)."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import deeplayers as dl
from deeplayers._atomic import load_npz_with_header
from deeplayers.cli import main
from deeplayers.datasets import load_mnist

pytestmark = pytest.mark.slow  # a few real training processes: ~30 s on an idle 2-core machine

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "deeplayers"
# the installed console script, as the docs type it; python -m deeplayers is the same program
PROG = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "deeplayers"]
# one BLAS thread: faster on a shared machine, and the same threading in every run compared bit for bit
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "MPLBACKEND": "Agg"}

TRAIN = "deeplayers train $MNIST --limit 3000 --layers 32 --epochs 4 --batch-size 32 --out mnist.npz"
EVALUATE = "deeplayers evaluate mnist.npz $MNIST --split test"
PREDICT = "deeplayers predict mnist.npz $MNIST --split test --limit 500 --out predictions.csv --proba"
PLOTS = [f"deeplayers plot mnist.npz --what {w} --out {w}.png" for w in ("curves", "weights", "architecture")]
EXPORT = "deeplayers export mnist.npz --onnx mnist.onnx"
MOONS_TRAIN = "deeplayers train moons.csv --layers 16,8 --epochs 60 --batch-size 32 --lr 0.01 --out moons.npz"
BOUNDARY = "deeplayers plot moons.npz --what boundary --data moons.csv --out boundary.png"
LONG = ("deeplayers train $MNIST --limit 2000 --layers 32 --epochs 30 --batch-size 32 --seed 5 --checkpoint run.ckpt "
        "--checkpoint-every 2 --out run.npz")
RESUME = LONG + " --resume run.ckpt"


def documented_commands() -> list[str]:
    """The `deeplayers ...` lines of the command line's documentation page, docs/cli.md."""
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip().startswith("deeplayers ")]


def test_the_docs_show_exactly_these_commands() -> None:
    shown = documented_commands()
    for cmd in [TRAIN, EVALUATE, PREDICT, *PLOTS, EXPORT, MOONS_TRAIN, BOUNDARY, LONG, RESUME]:
        assert cmd in shown, f"docs/cli.md does not show: {cmd}"


def argv(cmd: str, mnist: Path) -> list[str]:
    """The documented line as an argument list after 'deeplayers', with $MNIST filled in."""
    return [str(mnist) if a == "$MNIST" else a for a in shlex.split(cmd)[1:]]


def spawn(cmd: str, mnist: Path, cwd: Path, *extra: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([*PROG, *argv(cmd, mnist), *extra], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def assert_png(path: Path) -> None:
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    # not blank: many distinct colours, not one background colour
    assert np.unique(img.reshape(-1, img.shape[-1]).round(3), axis=0).shape[0] > 20, f"{path} looks blank"


@pytest.fixture(scope="module")
def session(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The documented first command, as a real process: train on the MNIST IDX directory."""
    work = tmp_path_factory.mktemp("cli-session")
    t0 = time.perf_counter()
    code, out, err = finish(spawn(TRAIN, mnist_dir, work))
    return {"work": work, "mnist": mnist_dir, "code": code, "out": out, "err": err,
            "seconds": time.perf_counter() - t0}


def run_in(work: Path, cmd: str, mnist: Path, capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch) -> str:
    """A documented line in-process (same program as the console script, without the start-up time)."""
    monkeypatch.chdir(work)
    code = main(argv(cmd, mnist))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_train_on_the_mnist_idx_directory(session: dict) -> None:
    assert session["code"] == 0, session["err"]
    out = session["out"]
    assert "n[0] = 784 features, output softmax" in out
    assert "layer_dims = [784, 32, 10]" in out  # the summary table
    assert re.search(r"epoch 4/4 .*val_accuracy", out)  # the progress lines (no terminal: one per tenth)
    assert re.search(r"validation: cost [\d.]+, accuracy 0\.[89]", out)
    model = dl.load(session["work"] / "mnist.npz")
    assert model.preprocessing.to_dict() == {"type": "divide", "value": 255.0}
    assert model.classes == list(range(10))
    assert model.metadata["image_shape"] == [28, 28]
    assert_png(session["work"] / "mnist.png")  # the cost curve, next to the model


def test_evaluate_matches_an_independent_computation(session: dict, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_in(session["work"], EVALUATE, session["mnist"], capsys, monkeypatch)
    printed = float(re.search(r"accuracy: ([\d.]+)", out).group(1))
    got = json.loads(run_in(session["work"], EVALUATE + " --json", session["mnist"], capsys, monkeypatch))
    # independently: the raw test images straight from the IDX files, the model straight from its file
    images, labels = load_mnist(session["mnist"], "test")
    X = images.reshape(len(images), -1).T.astype(np.float64)
    W = np.load(session["work"] / "mnist.npz")  # plain arrays W1, b1, W2, b2 (+ a JSON header)
    A1 = np.maximum(0, W["W1"] @ (X / 255.0) + W["b1"])
    Z2 = W["W2"] @ A1 + W["b2"]
    P = np.exp(Z2 - Z2.max(axis=0))
    P /= P.sum(axis=0)
    accuracy = float(np.mean(np.argmax(P, axis=0) == labels))
    assert got["m"] == 10000
    assert got["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert printed == pytest.approx(accuracy, abs=5e-5)
    assert got["log_loss"] == pytest.approx(-np.mean(np.log(np.clip(P[labels, np.arange(10000)], 1e-15, 1))), rel=1e-6)
    cm = np.array(got["confusion_matrix"])
    assert cm.sum() == 10000 and np.trace(cm) == round(accuracy * 10000)
    assert cm.sum(axis=1).tolist() == np.bincount(labels, minlength=10).tolist()
    assert accuracy > 0.85, f"MNIST test accuracy {accuracy:.4f}"
    print(f"\nMNIST from the command line: test accuracy {accuracy:.4f}, train command took {session['seconds']:.1f} s")


def test_predict_to_csv(session: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_in(session["work"], PREDICT, session["mnist"], capsys, monkeypatch)
    with open(session["work"] / "predictions.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["sample", "prediction", *(f"proba_{k}" for k in range(10))]
    assert len(rows) == 501
    images, _ = load_mnist(session["mnist"], "test")
    model = dl.load(session["work"] / "mnist.npz")
    X = images[:500].reshape(500, -1).T
    assert [int(r[1]) for r in rows[1:]] == model.predict(X).ravel().tolist()
    np.testing.assert_array_equal(np.array([[float(v) for v in r[2:]] for r in rows[1:]]).T, model.predict_proba(X))


def test_plot_each_picture(session: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    work = session["work"]
    for cmd in PLOTS:
        run_in(work, cmd, session["mnist"], capsys, monkeypatch)
    for what in ("curves", "weights", "architecture"):
        assert_png(work / f"{what}.png")
    # the decision boundary needs two features: the documented moons CSV
    from sklearn.datasets import make_moons

    X, y = make_moons(300, noise=0.2, random_state=0)
    np.savetxt(tmp_path / "moons.csv", np.c_[X, y], delimiter=",", header="x1,x2,label", comments="")
    run_in(tmp_path, MOONS_TRAIN, session["mnist"], capsys, monkeypatch)
    run_in(tmp_path, BOUNDARY, session["mnist"], capsys, monkeypatch)
    assert_png(tmp_path / "boundary.png")


def test_export_to_onnx_matches_predict_proba(session: dict, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ort = pytest.importorskip("onnxruntime")
    out = run_in(session["work"], EXPORT, session["mnist"], capsys, monkeypatch)
    assert "onnxruntime check" in out and "OK" in out
    images, _ = load_mnist(session["mnist"], "test")
    model = dl.load(session["work"] / "mnist.npz")
    X_rows = images[:1000].reshape(1000, -1)  # raw uint8 pixels, as read from the files: the graph divides by 255
    sess = ort.InferenceSession(str(session["work"] / "mnist.onnx"), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].type == "tensor(uint8)"
    got = sess.run(None, {sess.get_inputs()[0].name: X_rows})[0]
    want = model.predict_proba(X_rows.T).T
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (status {proc.returncode}) before writing {path}: {err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {path} after {timeout} s")
        time.sleep(0.002)


def test_kill_a_checkpointed_run_and_resume_it_bit_for_bit(mnist_dir: Path, tmp_path: Path) -> None:
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    killed.mkdir()
    reference.mkdir()
    # the same command, uninterrupted, beside it
    ref = spawn(LONG, mnist_dir, reference)
    proc = spawn(LONG, mnist_dir, killed)
    _wait_for(killed / "run.ckpt", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "run.npz").exists()  # it never got to the end
    _, header = load_npz_with_header(killed / "run.ckpt")
    assert header["kind"] == "checkpoint" and 2 <= header["epoch"] < 30, header["epoch"]
    code, out, err = finish(spawn(RESUME, mnist_dir, killed))
    assert code == 0, err
    code_ref, _, err_ref = finish(ref)
    assert code_ref == 0, err_ref
    resumed, uninterrupted = dl.load(killed / "run.npz"), dl.load(reference / "run.npz")
    assert len(resumed.history.cost) == len(uninterrupted.history.cost) == 30
    for key, value in uninterrupted.parameters.items():
        assert resumed.parameters[key].dtype == value.dtype
        assert np.array_equal(resumed.parameters[key], value), f"{key} differs after kill -9 and resume"
    assert resumed.history.cost == uninterrupted.history.cost


def test_ctrl_c_stops_cleanly_and_the_printed_command_resumes(tmp_path: Path) -> None:
    cmd = ("deeplayers train digits --layers 32 --epochs 40 --batch-size 32 --seed 2 --checkpoint ctrlc.ckpt "
           "--out digits.npz --no-plot")
    # a run started in the background (nohup, cmd &) inherits SIGINT ignored, and Python then never
    # raises KeyboardInterrupt: give the child the default disposition, as a terminal would
    proc = spawn(cmd, tmp_path, tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for(tmp_path / "ctrlc.ckpt", proc)
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc, timeout=120)
    assert code == 130, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    said = re.match(r"interrupted in epoch (\d+)/40: checkpoint saved to ctrlc\.ckpt; resume with: ", lines[0])
    assert said, lines[0]
    resume_cmd = lines[0].split("resume with: ", 1)[1]
    assert resume_cmd.endswith("--checkpoint ctrlc.ckpt --out digits.npz --no-plot --resume ctrlc.ckpt")
    # the checkpoint is whole and loadable: the state as the interrupted epoch began
    from deeplayers.checkpoint import load_checkpoint
    from deeplayers.defaults import DEFAULTS

    state = load_checkpoint(tmp_path / "ctrlc.ckpt", dl.Network([64, 32, 10], output="softmax", dtype=DEFAULTS["dtype"]))
    assert 0 <= state["epoch"] < 40
    assert int(said.group(1)) == state["epoch"] + 1  # the epoch it was in, counted from 1; it repeats it
    assert len(state["history"]["cost"]) == state["epoch"]
    # the printed command (deeplayers ... or python -m deeplayers ...) finishes the run
    args = shlex.split(resume_cmd)
    args = args[1:] if args[0] == "deeplayers" else args[3:]
    proc = subprocess.run([*PROG, *args], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(dl.load(tmp_path / "digits.npz").history.cost) == 40
