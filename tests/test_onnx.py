"""ONNX export: for every activation, output type, dtype and preprocessing, onnxruntime gives
``predict_proba`` (within 1e-5), and the graph passes onnx.checker."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import deeplayers as dl  # noqa: E402
from deeplayers.activations import LeakyReLU  # noqa: E402
from deeplayers.errors import ConfigError, NotFittedError  # noqa: E402
from deeplayers.modelfile import Model, Preprocessing  # noqa: E402
from deeplayers.onnx_export import export_onnx  # noqa: E402

HIDDEN = ["relu", "leaky_relu", LeakyReLU(0.2), "tanh", "sigmoid", "linear"]
OUTPUTS = [("sigmoid", 1), ("sigmoid", 3), ("softmax", 4), ("linear", 2)]  # binary, multi-label, classes, regression
N0 = 6


def run(path, X_rows):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["A_L"], {"X": X_rows})[0]


def make_net(hidden, output, nL, dtype, seed=0):
    net = dl.Network([N0, 7, 5, nL], hidden=hidden, output=output, seed=seed, dtype=dtype)
    # non-zero biases, so a bias mistake cannot hide behind b = 0
    rng = np.random.RandomState(seed + 1)
    for layer in net.layers:
        layer.b[...] = rng.randn(*layer.b.shape)
    return net


PREPROCESSING = {
    None: None,
    "standard": {"type": "standard", "mean": [3.0, -1.0, 0.5, 10.0, 0.0, 2.0], "scale": [2.0, 0.5, 1.0, 4.0, 3.0, 0.25]},
    "divide": {"type": "divide", "value": 255},
}


def reference_input(kind, X_raw):
    """(X - mean) / scale or X / value, computed here independently of deeplayers."""
    pre = PREPROCESSING[kind]
    if pre is None:
        return X_raw
    if pre["type"] == "divide":
        return X_raw / pre["value"]
    return (X_raw - np.array(pre["mean"])[:, None]) / np.array(pre["scale"])[:, None]


@pytest.mark.parametrize("pre", list(PREPROCESSING), ids=lambda p: f"pre={p}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output,nL", OUTPUTS, ids=["binary", "multilabel", "softmax", "regression"])
@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda g: getattr(g, "name", g) + ("0.2" if not isinstance(g, str) else ""))
def test_matches_predict_proba(hidden, output, nL, dtype, pre, tmp_path):
    net = make_net(hidden, output, nL, dtype)
    rng = np.random.RandomState(3)
    # raw inputs in the units the preprocessing expects; wide enough to saturate sigmoid/softmax
    X_raw = rng.randn(N0, 41) * 3
    if pre == "divide":
        X_raw = rng.randint(0, 256, size=(N0, 41)).astype(float)
    elif pre == "standard":
        X_raw = X_raw * np.array(PREPROCESSING["standard"]["scale"])[:, None] + np.array(
            PREPROCESSING["standard"]["mean"])[:, None]
    path = tmp_path / "net.onnx"
    proto = export_onnx(net, path, preprocessing=PREPROCESSING[pre])
    onnx.checker.check_model(onnx.load(str(path)))
    # the type the model is fed: 8-bit pixels when the preprocessing divides by 255, raw float64 when it
    # subtracts a mean or minimum, else its dtype
    fed = np.uint8 if pre == "divide" else "float64" if pre in ("standard", "minmax") else dtype
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.helper.np_dtype_to_tensor_dtype(np.dtype(fed))
    got = run(path, X_raw.T.astype(fed))
    expected = net.predict_proba(reference_input(pre, X_raw).astype(dtype)).T
    assert got.shape == (41, nL) and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # the graph is the course's layers: Gemm (transB=1, W[l] as (n[l], n[l-1])) + g[l] per layer
    gemms = [n for n in proto.graph.node if n.op_type == "Gemm"]
    assert len(gemms) == net.L
    assert all({a.name: a.i for a in n.attribute}.get("transB") == 1 for n in gemms)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for l in range(1, net.L + 1):
        np.testing.assert_array_equal(inits[f"W{l}"], net.parameters[f"W{l}"])
        np.testing.assert_array_equal(inits[f"b{l}"], net.parameters[f"b{l}"].ravel())


def test_graph_interface_and_activation_nodes(tmp_path):
    net = dl.Network([4, 5, 5, 5, 5, 3], hidden=["relu", LeakyReLU(0.3), "tanh", "sigmoid"], output="softmax")
    proto = export_onnx(net, tmp_path / "m.onnx")
    g = proto.graph
    (inp,), (out,) = g.input, g.output
    assert inp.name == "X" and out.name == "A_L"
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["batch", 4]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 3]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    ops = [n.op_type for n in g.node]
    assert ops == ["Gemm", "Relu", "Gemm", "LeakyRelu", "Gemm", "Tanh", "Gemm", "Sigmoid", "Gemm", "Softmax"]
    attrs = {n.op_type: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in g.node}
    assert attrs["LeakyRelu"]["alpha"] == pytest.approx(0.3)
    assert attrs["Softmax"]["axis"] == -1
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["layer_dims"] == "[4, 5, 5, 5, 5, 3]" and meta["input_layout"] == "rows (batch, n0)"
    # any batch size, including a single sample
    X = np.random.RandomState(0).randn(4, 1)
    np.testing.assert_allclose(run(tmp_path / "m.onnx", X.T), net.predict_proba(X).T, atol=1e-12)


def test_input_type_follows_the_model_and_can_be_chosen(tmp_path):
    """float32 networks take tensor(float), float64 ones tensor(double), pixel models tensor(uint8);
    input_type= overrides, with a Cast to the network's type in front."""
    X = np.random.RandomState(0).randint(0, 256, (N0, 20))
    for dtype in ("float32", "float64"):
        net = make_net("relu", "softmax", 4, dtype)
        proto = export_onnx(net, tmp_path / "f.onnx")
        assert proto.graph.input[0].type.tensor_type.elem_type == {"float32": onnx.TensorProto.FLOAT,
                                                                   "float64": onnx.TensorProto.DOUBLE}[dtype]
        assert [n.op_type for n in proto.graph.node][0] == "Gemm"  # nothing in front
        assert run(tmp_path / "f.onnx", X.T.astype(dtype)).dtype == np.dtype(dtype)
        pixels = {"type": "divide", "value": 255}
        proto = export_onnx(net, tmp_path / "u.onnx", preprocessing=pixels)
        assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
        assert [n.op_type for n in proto.graph.node][:2] == ["Cast", "Div"]
        assert {p.key: p.value for p in proto.metadata_props}["input_type"] == "uint8"
        got = run(tmp_path / "u.onnx", X.T.astype(np.uint8))
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, net.predict_proba((X / 255).astype(dtype)).T, rtol=0, atol=1e-6)
        # pixels already in floating point: ask for the network's type
        proto = export_onnx(net, tmp_path / "p.onnx", preprocessing=pixels, input_type=dtype)
        assert proto.graph.input[0].type.tensor_type.elem_type != onnx.TensorProto.UINT8
        np.testing.assert_allclose(run(tmp_path / "p.onnx", X.T.astype(dtype)), got, rtol=0, atol=1e-6)
        # and the other way: a divide by another number keeps the float input
        proto = export_onnx(net, tmp_path / "d.onnx", preprocessing={"type": "divide", "value": 7})
        assert proto.graph.input[0].type.tensor_type.elem_type != onnx.TensorProto.UINT8
    with pytest.raises(ConfigError, match="input_type must be one of uint8, float32, float64, got 'int64'"):
        export_onnx(net, tmp_path / "x.onnx", input_type="int64")
    # the wrong type is refused by the runtime, not silently converted
    with pytest.raises(Exception, match=r"tensor\(uint8\)"):
        run(tmp_path / "u.onnx", X.T.astype(np.float32))


def test_mnist_model_answers_raw_uint8_images_as_predict_does(mnist_dir, tmp_path, capsys):
    """The README's MNIST run: train, export, predict; onnxruntime on the raw uint8 test images (what
    load_mnist and `deeplayers predict` read) gives predict's labels and probabilities."""
    import csv

    from deeplayers.cli import main
    from deeplayers.datasets import load_mnist

    images, _ = load_mnist(mnist_dir, "test")
    X_rows = images[:300].reshape(300, -1)
    assert X_rows.dtype == np.uint8
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        model, graph, preds = (tmp_path / f"mnist-{dtype}.{ext}" for ext in ("npz", "onnx", "csv"))
        assert main(["train", str(mnist_dir), "--limit", "2000", "--layers", "32", "--epochs", "3", "--batch-size", "32",
                     "--dtype", dtype, "--out", str(model), "--no-plot", "-q"]) == 0
        assert main(["export", str(model), "--onnx", str(graph)]) == 0
        out = capsys.readouterr().out
        assert "input X: uint8" in out and "(OK)" in out
        assert main(["predict", str(model), str(mnist_dir), "--split", "test", "--limit", "300", "--proba",
                     "--out", str(preds)]) == 0
        with open(preds, newline="") as f:
            rows = list(csv.DictReader(f))
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        assert session.get_inputs()[0].type == "tensor(uint8)"
        A_L = session.run(["A_L"], {"X": X_rows})[0]
        assert A_L.shape == (300, 10) and A_L.dtype == np.dtype(dtype)
        classes = json.loads({p.key: p.value for p in onnx.load(str(graph)).metadata_props}["classes"])
        assert [str(classes[k]) for k in A_L.argmax(axis=1)] == [r["prediction"] for r in rows]
        proba = np.array([[float(r[f"proba_{k}"]) for k in range(10)] for r in rows])
        np.testing.assert_allclose(A_L, proba, rtol=0, atol=tol)
        assert np.mean(A_L.argmax(axis=1) == load_mnist(mnist_dir, "test")[1][:300]) > 0.7  # a real model


def test_linear_output_adds_identity(tmp_path):
    proto = export_onnx(dl.Network([3, 2, 1], output="linear"), tmp_path / "r.onnx")
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Identity"]


def test_trained_model_with_fitted_preprocessing(tmp_path):
    """A real run: breast-cancer data, standardized, trained; the loaded model's file exports with its
    preprocessing and onnxruntime on RAW rows gives the model's probabilities."""
    from sklearn.datasets import load_breast_cancer

    Xr, y = load_breast_cancer(return_X_y=True)
    X_raw, Y = Xr.T, y.reshape(1, -1).astype(float)
    pre = Preprocessing("standard").fit(X_raw)
    net = dl.Network([30, 16, 8, 1], seed=1, dtype="float32")
    net.fit(pre.transform(X_raw, np.float32), Y, learning_rate=0.01, epochs=20, optimizer="adam", batch_size=64,
            seed=0)
    model_path = tmp_path / "cancer.npz"
    dl.save(Model(net, pre, classes=["malignant", "benign"]), model_path)
    model = dl.load(model_path)
    export_onnx(model, tmp_path / "cancer.onnx")  # preprocessing taken from the model
    got = run(tmp_path / "cancer.onnx", Xr)  # raw rows as they come (float64: the default for standard)
    expected = model.predict_proba(X_raw).T
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.mean((got[:, 0] > 0.5) == y) > 0.95
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "cancer.onnx")).metadata_props}
    assert meta["preprocessing"] == "standard" and json.loads(meta["classes"]) == ["malignant", "benign"]


def test_preprocessing_objects_minmax_and_none(tmp_path):
    rng = np.random.RandomState(0)
    X_raw = rng.rand(N0, 30) * 50 - 10
    net = make_net("tanh", "sigmoid", 1, "float64")
    for p in (Preprocessing("minmax").fit(X_raw), Preprocessing("divide", value=7.0), Preprocessing("none")):
        export_onnx(net, tmp_path / "p.onnx", preprocessing=p)
        expected = net.predict_proba(p.transform(X_raw)).T
        np.testing.assert_allclose(run(tmp_path / "p.onnx", X_raw.T), expected, atol=1e-12)


def test_sklearn_estimator(tmp_path):
    pytest.importorskip("sklearn")
    dnn = pytest.importorskip("deeplayers.sklearn")
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    est = dnn.DNNClassifier(hidden_layer_sizes=(8,), epochs=30, random_state=0).fit(X, y)
    export_onnx(est, tmp_path / "iris.onnx")
    got = run(tmp_path / "iris.onnx", X.astype(est.network_.dtype))
    np.testing.assert_allclose(got, est.predict_proba(X), atol=1e-5)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        export_onnx(dnn.DNNClassifier(), tmp_path / "x.onnx")


def test_errors_leave_existing_file(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous model")
    net = dl.Network([3, 2, 1])
    with pytest.raises(ConfigError, match="cannot export preprocessing of type 'log'"):
        export_onnx(net, path, preprocessing={"type": "log"})
    with pytest.raises(ConfigError, match=r"mean has 2 values; the network has n\[0\] = 3 inputs"):
        export_onnx(net, path, preprocessing={"type": "standard", "mean": [0, 1], "scale": [1, 1, 1]})
    with pytest.raises(ConfigError, match="scale contains 0"):
        export_onnx(net, path, preprocessing={"type": "standard", "mean": [0, 1, 2], "scale": [1, 0, 1]})
    with pytest.raises(ConfigError, match="needs 'value'"):
        export_onnx(net, path, preprocessing={"type": "divide"})
    with pytest.raises(TypeError, match="expects a deeplayers Network"):
        export_onnx({"W1": 1}, path)
    assert path.read_bytes() == b"previous model"
    export_onnx(net, path)  # replaced in one step, no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    onnx.checker.check_model(onnx.load(str(path)))


@pytest.mark.parametrize("pre, what", [
    ({"type": "standard", "mean": [0, float("nan"), 0], "scale": [1, 1, 1]}, r"mean holds nan \(at index 1\)"),
    ({"type": "standard", "mean": [0, 0, 0], "scale": [1, 1, float("inf")]}, r"scale holds inf \(at index 2\)"),
    ({"type": "minmax", "min": [float("-inf")], "scale": [2.0]}, r"min holds -inf \(at index 0\)"),
    ({"type": "divide", "value": float("nan")}, r"value holds nan \(at index 0\)"),
])
def test_non_finite_preprocessing_is_refused(pre, what, tmp_path):
    # a NaN or infinity in the graph's constants made onnxruntime answer NaN for every input
    path = tmp_path / "nan.onnx"
    with pytest.raises(ConfigError, match=what + r"; every \w+ must be a finite number: refit the preprocessing"):
        export_onnx(dl.Network([3, 4, 1], seed=0), path, preprocessing=pre)
    assert not path.exists()


def test_non_numeric_preprocessing_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"preprocessing mean must be a number or a list of numbers, got \['a', 0, 0\]"):
        export_onnx(dl.Network([3, 4, 1], seed=0), tmp_path / "m.onnx",
                    preprocessing={"type": "standard", "mean": ["a", 0, 0], "scale": [1, 1, 1]})
    with pytest.raises(ConfigError, match="value must be one number, got 2 values"):
        export_onnx(dl.Network([3, 4, 1], seed=0), tmp_path / "m.onnx", preprocessing={"type": "divide", "value": [1, 2]})


def test_missing_onnx_gives_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes "import onnx" raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'deeplayers\[onnx\]'"):
        export_onnx(dl.Network([2, 1]), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("input_type", ["float64", "float32"])
def test_preprocessing_runs_in_float64_before_a_float32_network(input_type, tmp_path):
    """A feature far from 0 (Unix timestamps, std 1000 s around 1.7e9): the graph standardizes in
    float64 as Preprocessing.transform does. It used to cast the raw input to float32 first (steps of
    128 s, mean rounded too): probabilities off by up to 0.57, 17 of 400 classes flipped."""
    rng = np.random.RandomState(0)
    X_raw = np.vstack([1.7e9 + rng.randn(400) * 1000.0, rng.randn(400)])
    mean, scale = X_raw.mean(axis=1), X_raw.std(axis=1)
    net = dl.Network([2, 8, 1], hidden="tanh", output="sigmoid", seed=0, dtype="float32")
    net.fit(((X_raw - mean[:, None]) / scale[:, None]).astype(np.float32), (X_raw[:1] > 1.7e9).astype(np.float32),
            learning_rate=0.5, num_iterations=300)
    path = tmp_path / "t.onnx"
    export_onnx(net, path, preprocessing={"type": "standard", "mean": mean.tolist(), "scale": scale.tolist()},
                input_type=input_type)
    fed = X_raw.astype(input_type)  # what the graph is given
    # independent reference: numpy's float64 standardization of the values fed, then the float32 network
    A0 = ((fed.astype(np.float64) - mean[:, None]) / scale[:, None]).astype(np.float32)
    expected = net.predict_proba(A0).T
    got = run(path, np.ascontiguousarray(fed.T))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert np.array_equal(got > 0.5, expected > 0.5)


def test_a_mean_subtracting_preprocessing_takes_float64_by_default(tmp_path):
    """With standard or minmax preprocessing the graph's input is tensor(double) unless asked otherwise:
    it took the float32 network's type, and a float32 timestamp feature (steps of 128 s around 1.7e9)
    gave probabilities off by 0.36 from predict_proba on the same raw data."""
    rng = np.random.RandomState(0)
    X_raw = np.vstack([1.7e9 + rng.randn(400) * 1000.0, rng.randn(400)])
    pre = Preprocessing("standard").fit(X_raw)
    net = dl.Network([2, 8, 1], hidden="tanh", output="sigmoid", seed=0, dtype="float32")
    net.fit(pre.transform(X_raw).astype(np.float32), (X_raw[:1] > 1.7e9).astype(np.float32), learning_rate=0.5,
            num_iterations=300)
    for kind in ("standard", "minmax"):
        p = pre if kind == "standard" else Preprocessing("minmax").fit(X_raw)
        proto = export_onnx(net, tmp_path / f"{kind}.onnx", preprocessing=p)
        assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
        assert {q.key: q.value for q in proto.metadata_props}["input_type"] == "float64"
        expected = net.predict_proba(p.transform(X_raw).astype(np.float32)).T  # deeplayers on the raw data
        got = run(tmp_path / f"{kind}.onnx", np.ascontiguousarray(X_raw.T))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # a division keeps the network's type (no digits lost to a subtraction)
    proto = export_onnx(net, tmp_path / "d.onnx", preprocessing={"type": "divide", "value": 7})
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_a_fitted_pipeline_is_not_called_unfitted(tmp_path):
    """A fitted scikit-learn Pipeline was refused as 'Pipeline is not fitted yet' (NotFittedError)."""
    pytest.importorskip("sklearn")
    dnn = pytest.importorskip("deeplayers.sklearn")
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), dnn.DNNClassifier(hidden_layer_sizes=(8,), epochs=30, random_state=0))
    pipe.fit(X, y)
    with pytest.raises(TypeError, match=r"got Pipeline\. For a Pipeline, export its deeplayers step") as info:
        export_onnx(pipe, tmp_path / "p.onnx")
    assert not isinstance(info.value, NotFittedError)
    # what the message says to do answers as the pipeline does
    scaler = pipe[0]
    export_onnx(pipe[-1], tmp_path / "p.onnx",
                preprocessing={"type": "standard", "mean": scaler.mean_, "scale": scaler.scale_})
    got = run(tmp_path / "p.onnx", X)  # raw float64 rows
    np.testing.assert_allclose(got, pipe.predict_proba(X), rtol=0, atol=1e-6)
    assert not (tmp_path / "x.onnx").exists()
