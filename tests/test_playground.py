"""The playground's server and sessions (issue 14): every message, every refusal, the downloads,
independent tabs, freeing a closed tab, Ctrl-C. The page itself is driven in test_playground_browser.py."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="pip install 'deeplayers[playground]'")
pytest.importorskip("httpx", reason="Starlette's test client needs httpx: pip install httpx")

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

import deeplayers as dl  # noqa: E402
from deeplayers.cli import main  # noqa: E402
from deeplayers.errors import ConfigError, DataError  # noqa: E402
from deeplayers.playground import data as D  # noqa: E402
from deeplayers.playground.server import create_app  # noqa: E402
from deeplayers.playground.session import DEFAULTS, GRID, NEURON_GRID, Session, check_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "deeplayers" / "playground" / "static"


# -- helpers ------------------------------------------------------------------------------------------
def bytes_of(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8)


def receive_until(ws, kind: str, limit: int = 200) -> dict:
    """The next message of type ``kind`` (frames pushed while playing are skipped)."""
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg
        assert msg["type"] != "error", msg
    raise AssertionError(f"no {kind!r} message in {limit} messages")


def open_tab(client: TestClient):
    ws = client.websocket_connect("/ws").__enter__()
    hello = ws.receive_json()
    assert hello["type"] == "hello"
    first = [ws.receive_json()["type"] for _ in range(3)]
    assert first == ["config", "points", "frame"]
    return ws, hello["session"]


def shut(ws) -> None:
    """Close a test WebSocket as the browser does when its tab closes, and wait for the server's handler."""
    ws.__exit__(None, None, None)


@pytest.fixture
def client():
    app = create_app()
    with TestClient(app) as c:
        c.pg = app.state.playground
        yield c


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


# -- data -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", D.DATASETS)
def test_every_data_set_is_seeded_balanced_and_on_the_plane(name: str) -> None:
    P, y = D.make_dataset(name, 0.0, 3)
    P2, y2 = D.make_dataset(name, 0.0, 3)
    np.testing.assert_array_equal(P, P2)
    assert not np.array_equal(P, D.make_dataset(name, 0.0, 4)[0])
    m = 500 if name in D.CLASSIFICATION else 1200
    assert P.shape == (m, 2) and y.shape == (m,)
    assert np.abs(P).max() <= 6.5
    if name in D.CLASSIFICATION:
        assert set(np.unique(y)) == {0.0, 1.0}
        assert 0.4 <= y.mean() <= 0.6
    else:
        assert -1.0 <= y.min() < 0 < y.max() <= 1.0
    noisy, y_noisy = D.make_dataset(name, 0.5, 3)
    changed = y_noisy if name in D.REGRESSION else noisy  # regression noise is in the targets, as in TF Playground
    assert not np.array_equal(changed, y if name in D.REGRESSION else P)


def test_circle_and_xor_labels_follow_their_rule() -> None:
    P, y = D.make_dataset("circle", 0.0, 1)
    np.testing.assert_array_equal(y == 1, np.hypot(P[:, 0], P[:, 1]) < 2.5)
    P, y = D.make_dataset("xor", 0.0, 1)
    np.testing.assert_array_equal(y == 1, P[:, 0] * P[:, 1] > 0)


def test_features_are_the_named_functions_of_the_point() -> None:
    P = np.array([[1.0, -2.0], [0.5, 3.0]])
    X = D.features(P, list(D.FEATURES))
    want = np.array([[1, 0.5], [-2, 3], [1, 0.25], [4, 9], [-2, 1.5], [np.sin(1), np.sin(0.5)], [np.sin(-2), np.sin(3)]])
    np.testing.assert_allclose(X, want)


def test_the_split_follows_the_ratio_and_covers_every_sample() -> None:
    tr, te = D.split(500, 0.3, 1)
    assert len(tr) == 150 and len(te) == 350
    assert sorted(np.concatenate([tr, te])) == list(range(500))


# -- sessions on the real engine -------------------------------------------------------------------------
def test_heatmaps_are_the_networks_forward_pass_over_the_grid() -> None:
    s = Session({"dataset": "xor", "layers": [3, 2], "activations": ["tanh", "relu"]})
    s.train(5)
    hm = s.heatmaps()
    # an independent forward pass with the network's W[l], b[l]
    xs = np.linspace(-6, 6, GRID)
    g1, g2 = np.meshgrid(xs, xs[::-1])
    X = np.stack([g1.ravel(), g2.ravel()])
    p = s.net.parameters
    A1 = np.tanh(p["W1"] @ X + p["b1"])
    A2 = np.maximum(p["W2"] @ A1 + p["b2"], 0)
    A3 = sigmoid(p["W3"] @ A2 + p["b3"])
    out = bytes_of(hm["output"])
    np.testing.assert_allclose(out, np.rint((2 * A3[0] - 1 + 1) * 127.5), atol=1)
    sub = lambda A: A.reshape(-1, GRID, GRID)[:, ::2, ::2].ravel()  # noqa: E731
    np.testing.assert_allclose(bytes_of(hm["layers"][0]["data"]), np.rint((sub(A1) + 1) * 127.5), atol=1)
    scale = np.maximum(np.abs(A2).max(axis=1), 1e-12)
    np.testing.assert_allclose(hm["layers"][1]["scale"], scale)
    np.testing.assert_allclose(bytes_of(hm["layers"][1]["data"]), np.rint((sub(A2 / scale[:, None]) + 1) * 127.5), atol=1)
    assert len(bytes_of(hm["inputs"]["data"])) == 2 * NEURON_GRID**2


def test_costs_and_accuracy_match_an_independent_computation() -> None:
    s = Session({"dataset": "gauss", "layers": [2], "activations": ["tanh"]})
    s.train(3)
    c = s.costs()
    p = s.net.parameters
    AL = sigmoid(p["W2"] @ np.tanh(p["W1"] @ s.X_test + p["b1"]) + p["b2"])[0]
    y = s.y_test
    J = -np.mean(y * np.log(AL) + (1 - y) * np.log(1 - AL))
    assert c["test_loss"] == pytest.approx(J, rel=1e-9)
    assert c["test_accuracy"] == pytest.approx(np.mean((AL > 0.5) == (y == 1)))


def test_training_keeps_the_optimizers_state_between_updates() -> None:
    s = Session({"optimizer": "adam", "batch_size": 25})
    s.train(2)
    assert s.opt.t == 2 * 10  # 250 training samples / 25 per step, 2 epochs
    s.train(1)
    assert s.opt.t == 30 and s.epoch == 3


def test_softmax_output_has_two_units_and_one_hot_targets() -> None:
    s = Session({"output": "softmax"})
    assert s.net.layer_dims[-1] == 2 and s.net.loss.name == "categorical_crossentropy"
    np.testing.assert_array_equal(s.Y_train.sum(axis=0), 1)
    np.testing.assert_array_equal(s.Y_train[1], s.y_train)


def test_regression_sets_use_a_linear_output_and_mse() -> None:
    s = Session({"dataset": "reg-plane", "output": "softmax"})
    assert s.output == "linear" and s.net.loss.name == "mse" and s.net.layer_dims[-1] == 1
    assert s.costs()["test_accuracy"] is None


def test_the_spiral_reaches_90_percent_with_the_engine() -> None:
    s = Session({"dataset": "spiral", "layers": [8, 8], "optimizer": "adam",
                 "features": ["x1", "x2", "sinx1", "sinx2"]})
    s.train(150)
    assert s.costs()["test_accuracy"] >= 0.9


def test_shapes_are_read_off_the_network_with_the_real_m() -> None:
    s = Session({"layers": [8, 3], "activations": ["relu", "tanh"], "features": ["x1", "x2", "x1x2"], "train_ratio": 70})
    sh = s.shapes()
    assert sh["m"] == 350 and sh["m_test"] == 150 and sh["layer_dims"] == [3, 8, 3, 1]
    assert sh["layers"][1] == {"l": 1, "W": [8, 3], "b": [8, 1], "Z": [8, 350], "A": [8, 350], "g": "relu"}
    assert sh["layers"][3]["W"] == [1, 3] and sh["layers"][3]["g"] == "sigmoid"


def test_a_learning_rate_change_keeps_training_but_an_architecture_change_restarts() -> None:
    s = Session()
    s.train(3)
    assert s.configure({"learning_rate": 0.1}) is False
    assert s.epoch == 3 and s.opt.learning_rate == 0.1
    assert s.configure({"layers": [4, 3]}) is True
    assert s.epoch == 0 and s.net.layer_dims == [2, 4, 3, 1]


BAD_CONFIGS = [
    ([], "config must be an object"),
    ({"colour": 1}, "unknown setting 'colour'"),
    ({"dataset": "donut"}, "dataset must be one of"),
    ({"dataset": "csv"}, "upload it again"),
    ({"noise": 55}, "noise (percent) must be a whole number from 0 to 50"),
    ({"noise": 7.5}, "noise (percent) must be a whole number"),
    ({"train_ratio": 95}, "train_ratio (percent) must be a whole number from 10 to 90"),
    ({"seed": -1}, "seed must be a whole number"),
    ({"features": []}, "choose at least one input feature"),
    ({"features": "x1"}, "features must be a list"),
    ({"features": ["x1", "x3"]}, "unknown feature 'x3'"),
    ({"features": ["x1", "x1"]}, "lists a feature twice"),
    ({"layers": [2] * 7, "activations": ["tanh"] * 7}, "0 to 6 hidden layer sizes"),
    ({"layers": [9, 2]}, "n[1] (units in hidden layer 1) must be a whole number from 1 to 8"),
    ({"layers": [4, 0]}, "n[2] (units in hidden layer 2)"),
    ({"layers": [4, True]}, "n[2]"),
    ({"layers": [4, 2, 2]}, "activations must list one g[l] per hidden layer (3)"),
    ({"activations": ["tanh", "softmax"]}, "g[2] must be one of"),
    ({"output": "linear"}, "output must be sigmoid or softmax"),
    ({"learning_rate": 0}, "learning_rate must be a number > 0"),
    ({"learning_rate": "0.1"}, "learning_rate must be a number"),
    ({"learning_rate": 11}, "<= 10"),
    ({"learning_rate": float("nan")}, "learning_rate must be a number"),
    ({"l2": -0.1}, "l2 (regularization rate) must be a number >= 0"),
    ({"batch_size": 0}, "batch_size must be a whole number from 1 to 30"),
    ({"batch_size": 31}, "batch_size must be a whole number from 1 to 30"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of gd, momentum, rmsprop, adam"),
    ({"epochs_per_update": 0}, "epochs_per_update must be a whole number from 1 to 50"),
    ({"discretize": "yes"}, "discretize must be true or false"),
]


@pytest.mark.parametrize("changes, message", BAD_CONFIGS)
def test_bad_settings_are_refused_with_a_message(changes, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_config(changes, DEFAULTS)
    assert message in str(err.value)


def test_every_default_setting_passes_its_own_check() -> None:
    assert check_config({}, DEFAULTS) == DEFAULTS


# -- CSV uploads ------------------------------------------------------------------------------------------
def csv_text(n: int = 40, labels=("a", "b"), header: bool = True) -> str:
    rng = np.random.default_rng(0)
    rows = ["x,y,label"] if header else []
    for i in range(n):
        rows.append(f"{rng.normal():.3f},{rng.normal() * 10:.3f},{labels[i % len(labels)]}")
    return "\n".join(rows) + "\n"


def test_a_two_class_csv_becomes_a_classification_task_on_the_plane() -> None:
    P, y, task, classes = D.parse_csv(csv_text())
    assert task == "classification" and classes == ["a", "b"]
    assert P.shape == (40, 2) and list(y[:4]) == [0, 1, 0, 1]
    assert np.abs(P).max() == pytest.approx(6.0)  # the larger range spans [-6, 6]


def test_a_numeric_target_becomes_regression_in_minus_one_to_one() -> None:
    text = "\n".join(f"{i},{i % 7},{i * 0.5}" for i in range(30))
    P, y, task, _ = D.parse_csv(text)
    assert task == "regression" and y.min() == -1 and y.max() == 1


def test_labels_are_counted_as_numbers_so_1_and_1_0_are_one_class() -> None:
    # "1" and "1.0" were two distinct strings: three values, so a regression task
    cells = ["0", "1", "1.0"]
    text = "x1,x2,y\n" + "\n".join(f"{i},{i % 7},{cells[i % 3]}" for i in range(60))
    P, y, task, classes = D.parse_csv(text)
    assert task == "classification" and classes == [0, 1]
    np.testing.assert_array_equal(y, [0.0 if i % 3 == 0 else 1.0 for i in range(60)])
    s = Session()
    s.load_csv(text, "c.csv")
    assert s.task == "classification" and s.output == "sigmoid" and s.describe()["classes"] == ["0", "1"]
    assert {line.rsplit(",", 1)[1] for line in s.data_csv().splitlines()[1:]} == {"0", "1"}
    # text labels stay text; two numbers that are not integers keep their value
    assert D.parse_csv(csv_text(labels=("b", "a")))[3] == ["a", "b"]
    assert D.parse_csv(csv_text(labels=("2.5", "-1", "2.50")))[3] == [-1, 2.5]


def upload(m: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw columns (m, 2) far from the plane's units, and the target t = 100 a + 7."""
    rng = np.random.default_rng(seed)
    R = np.column_stack([rng.uniform(-3, 5, m), rng.uniform(10, 20, m)])
    return R, 100 * R[:, 0] + 7


def write_csv(path: Path, header: str, R: np.ndarray, t) -> Path:
    path.write_text(header + "\n" + "\n".join(f"{float(a)!r},{float(b)!r},{v}" for (a, b), v in zip(R, t)) + "\n")
    return path


def evaluate_json(model: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def plane_of(R: np.ndarray) -> np.ndarray:
    """The playground's plane, computed here: centre each column, the larger range onto [-6, 6]."""
    lo, hi = R.min(axis=0), R.max(axis=0)
    return ((R - (lo + hi) / 2) * (12 / np.max(hi - lo))).T


def test_a_regression_upload_downloads_a_model_for_the_files_own_units(tmp_path: Path, capsys) -> None:
    # the model file had no preprocessing and predicted the targets scaled into [-1, 1]:
    # `deeplayers evaluate` on the uploaded data gave R^2 0.0036 and no error
    R, t = upload()
    s = Session({"layers": [4], "activations": ["tanh"], "optimizer": "adam"})
    s.load_csv(write_csv(tmp_path / "a.csv", "a,b,t", R, t).read_text(), "a.csv")
    s.train(60)
    half, centre = (t.max() - t.min()) / 2, (t.max() + t.min()) / 2
    a_L = s.net.predict_proba(plane_of(R))[0]  # the session's network on the plane, scaled targets
    y = (t - centre) / half
    r2 = 1 - np.sum((a_L - y) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 > 0.9
    dl.save(s.model(), tmp_path / "pg.npz")
    model = dl.load(tmp_path / "pg.npz")
    assert model.metadata["feature_names"] == ["x1", "x2"] and model.preprocessing.type == "standard"
    np.testing.assert_allclose(model.predict(R.T)[0], half * a_L + centre, rtol=1e-12, atol=1e-9)
    (tmp_path / "pg.csv").write_text(s.data_csv())
    for data in (write_csv(tmp_path / "orig.csv", "x1,x2,t", R, t), tmp_path / "pg.csv"):
        got = evaluate_json(tmp_path / "pg.npz", data, capsys)
        assert got["r2"] == pytest.approx(r2, abs=1e-9)
        assert got["mse"] == pytest.approx(np.mean((half * a_L + centre - t) ** 2), rel=1e-9)
    # the data download holds the file's own numbers: x1, x2, then t
    rows = np.array([[float(v) for v in line.split(",")] for line in s.data_csv().splitlines()[1:]])
    assert s.data_csv().splitlines()[0] == "x1,x2,label"
    order = np.lexsort(R.T[::-1])
    np.testing.assert_allclose(rows[np.lexsort(rows[:, :2].T[::-1])], np.column_stack([R, t])[order], rtol=1e-12)


def test_a_classification_upload_model_takes_the_files_columns(tmp_path: Path, capsys) -> None:
    R, t = upload(seed=1)
    labels = np.where(R[:, 0] + 0.3 * R[:, 1] > 5, "yes", "no")
    s = Session({"layers": [4], "activations": ["tanh"], "learning_rate": 0.3})
    s.load_csv(write_csv(tmp_path / "c.csv", "a,b,ok", R, labels).read_text(), "c.csv")
    s.train(30)
    want = np.where(s.net.predict_proba(plane_of(R))[0] > 0.5, "yes", "no")
    dl.save(s.model(), tmp_path / "c.npz")
    model = dl.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(model.predict(R.T)[0], want)
    got = evaluate_json(tmp_path / "c.npz", write_csv(tmp_path / "orig.csv", "x1,x2,ok", R, labels), capsys)
    assert got["accuracy"] == pytest.approx(np.mean(want == labels))
    # only x2 chosen: the model takes that column alone, still in the file's units
    s.configure({"features": ["x2"]})
    assert s.model().preprocessing.to_dict() == {
        "type": "standard", "mean": [(R[:, 1].max() + R[:, 1].min()) / 2],
        "scale": [float(np.max(R.max(axis=0) - R.min(axis=0)) / 12)]}


def test_derived_features_of_an_upload_are_named_as_plane_features(tmp_path: Path, capsys) -> None:
    # sin x1 of the plane is no preprocessing a model file holds: the names say the inputs are of the
    # plane, so the file's own x1, x2 are refused by name instead of silently misread
    R, t = upload()
    s = Session({"layers": [4], "activations": ["tanh"], "optimizer": "adam", "features": ["x1", "sinx1"]})
    s.load_csv(write_csv(tmp_path / "a.csv", "a,b,t", R, t).read_text(), "a.csv")
    s.train(30)
    model = s.model()
    assert model.metadata["feature_names"] == ["plane_x1", "plane_sinx1"] and model.preprocessing.type == "none"
    assert s.data_csv().splitlines()[0] == "plane_x1,plane_sinx1,label"
    dl.save(model, tmp_path / "d.npz")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "d.npz"), str(write_csv(tmp_path / "o.csv", "x1,x2,t", R, t))]) == 2
    assert ("none of its column names ('x1', 'x2') is a feature the model was trained on ('plane_x1', "
            "'plane_sinx1')") in capsys.readouterr().err
    # the data download is what the model takes: the plane's features, and targets in the file's units
    p = plane_of(R)
    X = np.stack([p[0], np.sin(p[0])])
    half, centre = (t.max() - t.min()) / 2, (t.max() + t.min()) / 2
    a_L = half * s.net.predict_proba(X)[0] + centre
    (tmp_path / "d.csv").write_text(s.data_csv())
    got = evaluate_json(tmp_path / "d.npz", tmp_path / "d.csv", capsys)
    assert got["r2"] == pytest.approx(1 - np.sum((a_L - t) ** 2) / np.sum((t - t.mean()) ** 2), abs=1e-9)
    assert model.metadata["plane"]["scale"] == pytest.approx(np.max(R.max(axis=0) - R.min(axis=0)) / 12)


BAD_CSVS = [
    ("x" * (D.MAX_UPLOAD_BYTES + 1), "larger than the limit of 1000 kB"),
    ("PK\x03\x04\x00\x00binary", "not a CSV text file"),
    ("", "the file is empty"),
    ("1,2\n3,4\n", "every row needs exactly 3 columns (x1, x2, label); row 1 has 2"),
    (csv_text(5), "need at least 10 data rows, got 5"),
    ("\n".join(f"{i},{i},{i % 2}" for i in range(D.MAX_UPLOAD_ROWS + 1)), "at most 5000 rows"),
    ("a,b,c\n" + "\n".join(f"{i},{'oops' if i == 3 else i},{i % 2}" for i in range(12)),
     "the features must be numbers: row 5, b is 'oops'"),
    (csv_text(labels=("same",)), "only one value ('same')"),
    (csv_text(labels=("cat", "dog", "bird")), "3 different values and 'cat' is not a number"),
    (csv_text(labels=("1", "2", "1.0", "nan")), "3 different values and 'nan' is not a number"),
]


@pytest.mark.parametrize("text, message", BAD_CSVS)
def test_bad_uploads_are_refused_with_a_message(text: str, message: str) -> None:
    with pytest.raises(DataError) as err:
        D.parse_csv(text, "mine.csv")
    assert message in str(err.value) and "mine.csv" in str(err.value)


# -- the server: page, messages, refusals -----------------------------------------------------------------
TESTIDS_IN_HTML = ["play", "step", "reset", "add-layer", "remove-layer", "learning-rate", "l2", "batch-size", "optimizer",
                   "noise", "train-ratio", "epoch", "train-loss", "test-loss", "test-accuracy", "output-heatmap", "shapes",
                   "save-run", "compare-curves", "upload-csv", "export-model", "export-onnx"]


def test_the_page_and_its_assets_come_from_the_package_with_no_outside_address(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for tid in TESTIDS_IN_HTML:
        assert f'data-testid="{tid}"' in page.text, tid
    for asset in ("playground.js", "playground.css"):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and r.text == (STATIC / asset).read_text(encoding="utf-8")
    js = (STATIC / "playground.js").read_text(encoding="utf-8")
    # the test ids the page builds: dataset-<name>, add-unit-<l>, remove-unit-<l>, activation-<l>, feature-<f>, neuron-<l>-<j>
    for pattern in ("`dataset-${name}`", "`add-unit-${l}`", "`remove-unit-${l}`", "`activation-${l}`", "`feature-${f}`",
                    "`neuron-${l}-${j}`"):
        assert pattern in js, pattern
    for text in (page.text, js, (STATIC / "playground.css").read_text(encoding="utf-8")):
        assert not re.search(r"(src|href)=\"https?://|url\(https?:|import .* from \"http", text), "no CDN: works offline"


def test_a_tab_gets_hello_config_points_and_a_compact_frame(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["defaults"] == DEFAULTS
        assert hello["limits"]["upload_bytes"] == D.MAX_UPLOAD_BYTES
        cfg = ws.receive_json()
        assert cfg["config"] == DEFAULTS and cfg["shapes"]["layer_dims"] == [2, 4, 2, 1]
        pts = ws.receive_json()
        assert len(pts["train"]["y"]) == 250 and len(pts["test"]["x1"]) == 250
        frame = ws.receive_json()
        assert frame["epoch"] == 0 and 0 <= frame["test_accuracy"] <= 1
        assert len(bytes_of(frame["heatmaps"]["output"])) == GRID * GRID
        assert [len(bytes_of(x["data"])) for x in frame["heatmaps"]["layers"]] == [4 * NEURON_GRID**2, 2 * NEURON_GRID**2]
        assert [len(w["W"]) for w in frame["weights"]] == [8, 8, 2]
        assert len(json.dumps(frame)) < 60_000  # compact: bytes as base64, not JSON numbers


def test_config_changes_reply_with_the_new_shapes_points_and_frame(client: TestClient) -> None:
    ws, sid = open_tab(client)
    ws.send_json({"type": "config", "config": {"dataset": "spiral", "layers": [8, 8, 5],
                                               "activations": ["relu", "tanh", "sigmoid"],
                                               "features": ["x1", "x2", "sinx1"], "train_ratio": 80}})
    cfg = ws.receive_json()
    assert cfg["type"] == "config" and cfg["config"]["dataset"] == "spiral"
    layers = cfg["shapes"]["layers"]
    assert [r.get("W") for r in layers[1:]] == [[8, 3], [8, 8], [5, 8], [1, 5]]
    assert layers[2]["A"] == [8, 400]
    assert ws.receive_json()["type"] == "points"
    assert ws.receive_json()["type"] == "frame"
    ws.send_json({"type": "config", "config": {"learning_rate": 0.3}})  # no new data: no points
    assert [ws.receive_json()["type"] for _ in range(2)] == ["config", "frame"]
    shut(ws)


def test_play_pause_step_reset_regenerate(client: TestClient) -> None:
    ws, sid = open_tab(client)
    ws.send_json({"type": "step"})
    assert receive_until(ws, "status")["playing"] is False
    assert ws.receive_json()["epoch"] == 1
    ws.send_json({"type": "play"})
    assert receive_until(ws, "status")["playing"] is True
    epochs = [receive_until(ws, "frame")["epoch"] for _ in range(3)]
    assert epochs == sorted(epochs) and epochs[0] >= 2
    ws.send_json({"type": "pause"})
    st = receive_until(ws, "status")
    assert st["playing"] is False
    last = ws.receive_json()["epoch"]
    assert last == st["epoch"] == client.pg.tabs[sid].session.epoch
    W_before = client.pg.tabs[sid].session.net.parameters["W1"].copy()
    ws.send_json({"type": "reset"})
    cfg = ws.receive_json()
    assert cfg["type"] == "config" and cfg["epoch"] == 0 and ws.receive_json()["epoch"] == 0
    assert not np.array_equal(W_before, client.pg.tabs[sid].session.net.parameters["W1"])
    pts = client.pg.tabs[sid].session.P_train.copy()
    ws.send_json({"type": "regenerate"})
    assert ws.receive_json()["config"]["seed"] == 2
    assert ws.receive_json()["type"] == "points"
    assert not np.array_equal(pts, client.pg.tabs[sid].session.P_train)
    shut(ws)


def test_step_trains_the_chosen_epochs_per_update(client: TestClient) -> None:
    ws, sid = open_tab(client)
    ws.send_json({"type": "config", "config": {"epochs_per_update": 5}})
    receive_until(ws, "frame")
    ws.send_json({"type": "step"})
    assert receive_until(ws, "frame")["epoch"] == 5
    shut(ws)


BAD_MESSAGES = [
    ("not json", "message is not valid JSON"),
    ("[1, 2]", 'a message must be a JSON object with a "type"'),
    ('{"kind": "play"}', 'a message must be a JSON object with a "type"'),
    ('{"type": 3}', 'a message must be a JSON object with a "type"'),
    ('{"type": "fly"}', "unknown message type 'fly'"),
    ('{"type": "play", "speed": 3}', "play: unexpected field 'speed'"),
    ('{"type": "config"}', 'config: give the settings to change as "config"'),
    ('{"type": "config", "config": {"noise": 99}}', "noise (percent) must be a whole number from 0 to 50"),
    ('{"type": "config", "config": {"layers": [4, 2, 1, 1, 1, 1, 1], "activations": []}}', "0 to 6 hidden layer sizes"),
    ('{"type": "upload_csv", "name": "x.csv"}', "x.csv: the file's content must be sent as text"),
    ('{"type": "upload_csv", "name": 5, "text": "1,2,3"}', "name must be the file's name"),
    (json.dumps({"type": "upload_csv", "name": "big.csv", "text": "1" * (D.MAX_UPLOAD_BYTES + 10)}), "larger than the limit"),
    (json.dumps({"type": "upload_csv", "name": "two.csv", "text": "1,2\n3,4\n"}), "exactly 3 columns"),
    (json.dumps({"type": "upload_csv", "name": "words.csv", "text": csv_text(labels=("x", "y", "z"))}),
     "3 different values and 'x' is not a number"),
]


@pytest.mark.parametrize("text, message", BAD_MESSAGES)
def test_a_bad_message_is_answered_with_an_error_and_changes_nothing(client: TestClient, text: str, message: str) -> None:
    ws, sid = open_tab(client)
    s = client.pg.tabs[sid].session
    before = (json.dumps(s.config), s.epoch, s.net.layer_dims, s.P_train.tobytes())
    ws.send_text(text)
    err = ws.receive_json()
    assert err["type"] == "error" and message in err["message"], err
    assert (json.dumps(s.config), s.epoch, s.net.layer_dims, s.P_train.tobytes()) == before
    ws.send_json({"type": "step"})  # the tab still works
    assert receive_until(ws, "frame")["epoch"] == 1
    shut(ws)


def test_binary_messages_and_oversized_ones_are_refused(client: TestClient) -> None:
    ws, sid = open_tab(client)
    ws.send_bytes(b"\x00\x01")
    assert "JSON text, not binary" in ws.receive_json()["message"]
    ws.send_text(" " * 1_100_000)
    assert "message too large" in ws.receive_json()["message"]
    shut(ws)


def test_regenerating_an_uploaded_csv_is_refused(client: TestClient) -> None:
    ws, sid = open_tab(client)
    ws.send_json({"type": "upload_csv", "name": "mine.csv", "text": csv_text(60)})
    cfg = ws.receive_json()
    assert cfg["config"]["dataset"] == "csv" and cfg["task"] == "classification" and cfg["classes"] == ["a", "b"]
    assert cfg["csv_name"] == "mine.csv" and cfg["shapes"]["m"] == 30
    pts = ws.receive_json()
    assert len(pts["train"]["y"]) + len(pts["test"]["y"]) == 60
    receive_until(ws, "frame")
    ws.send_json({"type": "regenerate"})
    assert "cannot be regenerated" in ws.receive_json()["message"]
    shut(ws)


def test_a_regression_csv_trains_with_mse(client: TestClient) -> None:
    ws, sid = open_tab(client)
    text = "\n".join(f"{i % 10},{i // 10},{(i % 10) * 0.3 - (i // 10) * 0.1}" for i in range(100))
    ws.send_json({"type": "upload_csv", "name": "r.csv", "text": text})
    cfg = ws.receive_json()
    assert cfg["task"] == "regression" and cfg["output"] == "linear" and cfg["loss"] == "mse"
    ws.send_json({"type": "step"})
    frame = receive_until(ws, "frame")
    assert frame["test_accuracy"] is None and np.isfinite(frame["test_loss"])
    shut(ws)


def test_cross_site_pages_cannot_connect(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as err:
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example", "host": "testserver"}) as ws:
            ws.receive_json()
    assert err.value.code == 1008


def test_divergence_is_reported_and_pauses(client: TestClient) -> None:
    ws, sid = open_tab(client)
    ws.send_json({"type": "config", "config": {"dataset": "reg-plane", "learning_rate": 10, "layers": [8, 8],
                                               "activations": ["linear", "linear"], "features": ["x1", "x2", "x1sq", "x2sq"]}})
    receive_until(ws, "frame")
    ws.send_json({"type": "play"})
    err = receive_until(ws, "error")
    assert "training diverged" in err["message"] and "smaller learning rate" in err["message"]
    assert receive_until(ws, "status")["playing"] is False
    assert all(np.isfinite(v).all() for v in client.pg.tabs[sid].session.net.parameters.values())
    shut(ws)


# -- tabs: independent, freed on close ----------------------------------------------------------------------
def test_two_tabs_train_independently(client: TestClient) -> None:
    a, sa = open_tab(client)
    b, sb = open_tab(client)
    assert sa != sb
    a.send_json({"type": "config", "config": {"dataset": "spiral", "layers": [8, 8], "activations": ["tanh", "tanh"]}})
    receive_until(a, "frame")
    a.send_json({"type": "play"})
    receive_until(a, "status")
    for _ in range(3):
        receive_until(a, "frame")
    b.send_json({"type": "step"})
    assert receive_until(b, "frame")["epoch"] == 1
    tab_a, tab_b = client.pg.tabs[sa], client.pg.tabs[sb]
    assert tab_a.session.config["dataset"] == "spiral" and tab_b.session.config["dataset"] == "circle"
    assert tab_b.session.net is not tab_a.session.net and tab_b.session.epoch == 1 and tab_a.session.epoch >= 3
    a.send_json({"type": "pause"})
    receive_until(a, "status")
    shut(a)
    shut(b)


def wait_for(condition, what: str, tries: int = 500) -> None:
    event = threading.Event()
    for _ in range(tries):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError(what)


def test_closing_a_tab_stops_its_training_and_frees_it(client: TestClient) -> None:
    threads_before = threading.active_count()
    ws, sid = open_tab(client)
    ws.send_json({"type": "play"})
    receive_until(ws, "status")
    receive_until(ws, "frame")
    tab = client.pg.tabs[sid]
    task = tab.task
    assert task is not None and not task.done() and client.pg.live_tasks() == 1
    shut(ws)
    wait_for(lambda: sid not in client.pg.tabs, "the closed tab's session was not freed")
    wait_for(task.done, "the closed tab's training task still runs")
    assert task.cancelled()
    assert client.pg.tabs == {} and client.pg.live_tasks() == 0
    assert threading.active_count() == threads_before, "no thread is left behind"


# -- downloads ----------------------------------------------------------------------------------------------
def test_the_model_download_loads_and_predicts_like_the_page(client: TestClient, tmp_path: Path) -> None:
    ws, sid = open_tab(client)
    ws.send_json({"type": "config", "config": {"dataset": "xor", "features": ["x1", "x2", "x1x2"], "layers": [4],
                                               "activations": ["tanh"]}})
    receive_until(ws, "frame")
    ws.send_json({"type": "config", "config": {"epochs_per_update": 20}})
    receive_until(ws, "frame")
    ws.send_json({"type": "step"})
    frame = receive_until(ws, "frame")
    r = client.get(f"/export/model?session={sid}")
    assert r.status_code == 200 and 'filename="playground-xor-4.npz"' in r.headers["content-disposition"]
    (tmp_path / "m.npz").write_bytes(r.content)
    model = dl.load(tmp_path / "m.npz")
    s = client.pg.tabs[sid].session
    assert model.layer_dims == [3, 4, 1] and model.classes == [0, 1]
    assert model.metadata["features"] == ["x1", "x2", "x1x2"] and model.hyperparameters["epochs"] == 20
    np.testing.assert_array_equal(model.predict_proba(s.X_test), s.net.predict_proba(s.X_test))
    assert len(model.history.cost) == 2  # the curve: epoch 0 and epoch 20
    # the data download and `deeplayers evaluate` give the page's accuracy over train + test
    d = client.get(f"/export/data?session={sid}")
    assert d.status_code == 200 and d.text.splitlines()[0] == "x1,x2,x1x2,label"
    (tmp_path / "data.csv").write_text(d.text)
    out = tmp_path / "metrics.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["evaluate", str(tmp_path / "m.npz"), str(tmp_path / "data.csv"), "--json"]) == 0
    out.write_text(buf.getvalue())
    metrics = json.loads(buf.getvalue())
    want = (frame["test_accuracy"] * 250 + s.costs()["train_accuracy"] * 250) / 500
    assert metrics["accuracy"] == pytest.approx(want)
    shut(ws)


def test_the_onnx_download_matches_the_network(client: TestClient, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    ws, sid = open_tab(client)
    ws.send_json({"type": "step"})
    receive_until(ws, "frame")
    r = client.get(f"/export/onnx?session={sid}")
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('.onnx"')
    (tmp_path / "m.onnx").write_bytes(r.content)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    s = client.pg.tabs[sid].session
    got = sess.run(None, {sess.get_inputs()[0].name: s.X_test.T.copy()})[0]
    np.testing.assert_allclose(got.T, s.net.predict_proba(s.X_test), atol=1e-9)
    shut(ws)


def test_a_download_for_an_unknown_session_is_refused(client: TestClient) -> None:
    for what in ("model", "onnx", "data"):
        r = client.get(f"/export/{what}?session=nope")
        assert r.status_code == 404 and "no such session" in r.text


# -- the command ----------------------------------------------------------------------------------------------
def test_importing_the_command_line_does_not_load_the_web_server() -> None:
    code = "import sys, deeplayers.cli; print('starlette' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_a_busy_port_is_refused_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["playground", "--no-browser", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"error: port {port} is already in use; choose another with --port" in err


def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "deeplayers", "playground", "--no-browser", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline()
    match = re.search(r"(http://\S+/)", line)
    assert match, line + proc.stderr.read()
    return proc, match.group(1)


def test_ctrl_c_stops_the_server_cleanly_while_a_tab_trains() -> None:
    ws_client = pytest.importorskip("websockets.sync.client")
    proc, url = start_server()
    try:
        with ws_client.connect(url.replace("http", "ws") + "ws") as conn:
            assert json.loads(conn.recv())["type"] == "hello"
            conn.send(json.dumps({"type": "play"}))
            for _ in range(10):  # frames arrive: it is training
                msg = json.loads(conn.recv())
            assert msg["type"] == "frame" and msg["epoch"] >= 1
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "playground stopped" in out and "Traceback" not in err


def test_another_host_than_this_machine_warns() -> None:
    proc, url = start_server("--host", "0.0.0.0")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert "warning: --host 0.0.0.0 makes the playground reachable from other machines" in err
    assert proc.returncode == 0 and url.startswith("http://127.0.0.1:")
