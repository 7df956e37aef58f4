"""Export a trained network to ONNX: the same A[L] from onnxruntime, ONNX.js, TensorRT, ...

The graph works on samples as ROWS (the ONNX and scikit-learn convention), so layer l is
``A[l] = g[l](A[l-1] W[l]^T + b[l])``: one ``Gemm`` with ``transB=1`` (W[l] is stored as its own
(n[l], n[l-1]) matrix, the course's layout and PyTorch's ``nn.Linear``) and one activation node.
onnx is an optional dependency (``pip install 'deeplayers[onnx]'``), imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._atomic import atomic_write_bytes
from .errors import ConfigError, NotFittedError

if TYPE_CHECKING:
    from .network import Network

__all__ = ["export_onnx", "OPSET"]

OPSET = 17  # Softmax with axis=-1 over one axis (opset >= 13); widely supported by runtimes
IR_VERSION = 8  # the IR version that goes with opset 17, so older runtimes load the file too


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "export_onnx needs the onnx package: pip install 'deeplayers[onnx]' (adds onnx and onnxruntime)"
        ) from None
    return onnx


def _unwrap(model: Any) -> tuple[Network, Any]:
    """(network, preprocessing found on the model) for a Network, an estimator or a loaded model."""
    from .network import Network

    if isinstance(model, Network):
        return model, None  # a bare network works on the prepared A[0]
    for attr in ("network_", "network"):
        net = getattr(model, attr, None)
        if isinstance(net, Network):
            # a loaded model carries its preprocessing; the estimators take features as they are
            return net, getattr(model, "preprocessing", None)
    if hasattr(model, "fit") and not hasattr(model, "network_"):
        if type(model).__module__.startswith("deeplayers."):
            raise NotFittedError(f"{type(model).__name__} is not fitted yet: call fit before export_onnx")
        # another library's estimator (a fitted Pipeline too) is no deeplayers model, fitted or not
        hint = (" For a Pipeline, export its deeplayers step and give the steps before it as preprocessing, e.g. "
                "export_onnx(pipe[-1], path, preprocessing={'type': 'standard', 'mean': scaler.mean_, "
                "'scale': scaler.scale_})." if hasattr(model, "steps") else "")
        raise TypeError(f"export_onnx expects a deeplayers Network, a fitted deeplayers estimator (network_) or a "
                        f"loaded model (network); got {type(model).__name__}.{hint}")
    raise TypeError(f"export_onnx expects a deeplayers Network, a fitted estimator (network_) or a loaded "
                    f"model (network); got {type(model).__name__}")


def _preprocessing_dict(pre: Any) -> dict[str, Any] | None:
    """The declarative preprocessing as a dict, from a dict or an object with ``to_dict()``."""
    if pre is None:
        return None
    if hasattr(pre, "to_dict"):
        pre = pre.to_dict()
    if not isinstance(pre, Mapping):
        raise ConfigError(f"preprocessing must be a dict or have to_dict(); got {type(pre).__name__}")
    pre = dict(pre)
    kind = pre.get("type")
    if kind in (None, "none", "identity"):
        return None
    if kind not in ("standard", "minmax", "divide"):
        raise ConfigError(f"cannot export preprocessing of type {kind!r}: ONNX export knows 'standard' "
                          "((X - mean) / scale), 'minmax' ((X - min) / scale) and 'divide' (X / value)")
    return pre


def _numbers(pre: Mapping[str, Any], key: str) -> np.ndarray:
    """``pre[key]`` as a flat float64 array; ConfigError when it is not numbers (KeyError when absent)."""
    try:
        return np.asarray(pre[key], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"preprocessing {key} must be a number or a list of numbers, got {pre[key]!r:.100}") from None


def _check_finite(name: str, v: np.ndarray) -> None:
    # a NaN or infinity here would make the graph answer NaN for every input, without an error
    if not np.isfinite(v).all():
        i = int(np.argmax(~np.isfinite(v)))
        raise ConfigError(f"preprocessing {name} holds {v[i]} (at index {i}); every {name} must be a finite number: "
                          "refit the preprocessing on clean data")


def _preprocessing_nodes(pre: dict[str, Any], n0: int, np_dtype: np.dtype, helper: Any, numpy_helper: Any,
                         X: str = "X") -> tuple[list[Any], list[Any], str]:
    """Nodes and initializers that turn raw X into the network's input A[0] (rows)."""
    nodes, inits = [], []
    if pre["type"] in ("standard", "minmax"):
        key = "mean" if pre["type"] == "standard" else "min"
        try:
            mean, scale = _numbers(pre, key), _numbers(pre, "scale")
        except KeyError as exc:
            raise ConfigError(f"{pre['type']!r} preprocessing needs {key!r} and 'scale'; missing {exc}") from None
        for name, v in ((key, mean), ("scale", scale)):
            if v.size not in (1, n0):
                raise ConfigError(f"preprocessing {name} has {v.size} values; the network has n[0] = {n0} inputs")
            _check_finite(name, v)
        if np.any(scale == 0):
            raise ConfigError("preprocessing scale contains 0; a constant feature should have scale 1")
        inits += [numpy_helper.from_array(mean.astype(np_dtype), "pre_mean"),
                  numpy_helper.from_array(scale.astype(np_dtype), "pre_scale")]
        nodes += [helper.make_node("Sub", [X, "pre_mean"], ["X_centered"], name="pre_sub"),
                  helper.make_node("Div", ["X_centered", "pre_scale"], ["A_0"], name="pre_div")]
    else:
        try:
            value = _numbers(pre, "value")
        except KeyError:
            raise ConfigError("'divide' preprocessing needs 'value' (e.g. 255)") from None
        if value.size != 1:
            raise ConfigError(f"'divide' preprocessing value must be one number, got {value.size} values")
        _check_finite("value", value)
        value = float(value[0])
        if value == 0:
            raise ConfigError("'divide' preprocessing value must not be 0")
        inits.append(numpy_helper.from_array(np.asarray([value], dtype=np_dtype), "pre_value"))
        nodes.append(helper.make_node("Div", [X, "pre_value"], ["A_0"], name="pre_div"))
    return nodes, inits, "A_0"


def _activation_nodes(g: Any, Z: str, A: str, l: int, np_dtype: np.dtype, helper: Any, numpy_helper: Any,
                      ) -> tuple[list[Any], list[Any]]:
    """The node(s) computing A[l] = g(Z[l]), named after the notation."""
    name = g.name
    if name == "relu":
        return [helper.make_node("Relu", [Z], [A], name=f"g{l}_relu")], []
    if name == "leaky_relu":
        return [helper.make_node("LeakyRelu", [Z], [A], alpha=float(g.alpha), name=f"g{l}_leaky_relu")], []
    if name == "tanh":
        return [helper.make_node("Tanh", [Z], [A], name=f"g{l}_tanh")], []
    if name == "sigmoid":
        return [helper.make_node("Sigmoid", [Z], [A], name=f"g{l}_sigmoid")], []
    if name == "softmax":
        # the network's softmax runs over the units of each column; with samples as rows that is the last axis
        return [helper.make_node("Softmax", [Z], [A], axis=-1, name=f"g{l}_softmax")], []
    if name in ("linear", "identity"):
        return [helper.make_node("Identity", [Z], [A], name=f"g{l}_linear")], []
    raise ConfigError(f"layer {l}: no ONNX export for activation {name!r} (relu, leaky_relu, tanh, sigmoid, "
                      "softmax, linear are supported)")


INPUT_TYPES = ("uint8", "float32", "float64")


def _pixel_scaling(pre: dict[str, Any] | None) -> bool:
    """Whether the preprocessing is the division of 8-bit pixels by 255."""
    if pre is None or pre["type"] != "divide":
        return False
    try:
        return float(pre.get("value", 0)) == 255.0
    except (TypeError, ValueError):  # reported by _preprocessing_nodes
        return False


def _default_input_type(pre: dict[str, Any] | None, dtype: np.dtype) -> str:
    """The type the model is fed: 8-bit pixels for a division by 255; float64 where the preprocessing
    subtracts a mean or minimum (a float32 input would lose a raw feature's digits before the
    subtraction, as a Unix timestamp does: probabilities off by 0.36); else the network's dtype."""
    if _pixel_scaling(pre):
        return "uint8"
    if pre is not None and pre["type"] in ("standard", "minmax"):
        return "float64"
    return dtype.name


def _add_metadata(proto: Any, net: Network, pre: dict[str, Any] | None, input_type: str, classes: Any) -> None:
    """The model's metadata: layer_dims, activations, loss, the input's layout and type, the
    preprocessing's type and the class labels (JSON) when known."""
    import json

    meta = {"layer_dims": str(net.layer_dims), "activations": ",".join(net.activations),
            "loss": net.loss.name, "input_layout": "rows (batch, n0)", "input_type": input_type}
    if pre is not None:
        meta["preprocessing"] = pre["type"]
    if classes is not None:
        meta["classes"] = json.dumps(np.asarray(classes).tolist())
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def export_onnx(model: Any, path: str | os.PathLike, *, preprocessing: Any = None,
                input_type: str | None = None, check: bool = True) -> Any:
    """Write the network as an ONNX graph whose output matches ``predict_proba``.

    Parameters
    ----------
    model : Network, fitted estimator or loaded model
        A :class:`~deeplayers.Network`; or anything holding one in ``network_`` (the scikit-learn
        estimators) or ``network`` (a model loaded from a file), whose ``preprocessing`` is
        exported too unless ``preprocessing`` is given.
    path : str or path
        The ``.onnx`` file to write (atomically: temporary file, fsync, rename).
    preprocessing : dict or object with ``to_dict()``, optional
        What to do to raw inputs first, declaratively: ``{"type": "standard", "mean": [...],
        "scale": [...]}`` gives ``(X - mean) / scale`` (n[0] values each, or one);
        ``{"type": "minmax", "min": [...], "scale": [...]}`` gives ``(X - min) / scale``;
        ``{"type": "divide", "value": 255}`` gives ``X / value``; ``{"type": "none"}`` nothing.
        :class:`deeplayers.modelfile.Preprocessing` objects are accepted as they are.
    input_type : {"uint8", "float32", "float64"}, optional
        The element type of the graph's input ``X``. By default the type the model is fed: raw
        8-bit pixels (``uint8``) when the preprocessing divides by 255 (what ``deeplayers train``
        chooses for 8-bit images, so the graph takes the same images ``deeplayers predict``
        takes); ``float64`` when the preprocessing subtracts a mean or minimum (``standard``,
        ``minmax``: raw features, whose digits a float32 input would lose before the subtraction);
        otherwise the network's dtype. The preprocessing runs in float64 (``Cast`` in front),
        as :meth:`Preprocessing.transform` does, and its result is cast to the network's type; without
        preprocessing, a type other than the network's is cast to it.
    check : bool
        Run ``onnx.checker.check_model`` on the graph before writing it.

    Returns
    -------
    onnx.ModelProto
        The model written. Its graph has

        - input ``X``: shape (batch, n[0]), samples as **rows** (the ONNX / scikit-learn
          convention; the transpose of the course's X = A[0] of shape (n[0], m)), element type
          ``input_type``: ``tensor(uint8)`` for pixels scaled by 255, ``tensor(double)`` for a
          standard or minmax preprocessing, else the network's dtype (float32 -> ``tensor(float)``,
          float64 -> ``tensor(double)``);
        - output ``A_L``: shape (batch, n[L]) equal to ``network.predict_proba(X.T).T``
          (probabilities for sigmoid/softmax outputs, values for linear ones).

    Raises
    ------
    ImportError
        When onnx is not installed (``pip install 'deeplayers[onnx]'``).
    ConfigError
        For a preprocessing the graph cannot express, or whose sizes do not fit n[0], or an
        unknown ``input_type``.

    Notes
    -----
    ``A_L`` is the network's A[L]: for a binary ``DNNClassifier`` that is one column P(class 1),
    where its ``predict_proba`` shows two (1 - p, p). Class labels, when known, are stored in the
    model's metadata (``classes``, JSON), with ``layer_dims``, ``activations`` and ``loss``.

    Examples
    --------
    >>> net = Network([4, 8, 3], output="softmax", seed=0)          # doctest: +SKIP
    >>> export_onnx(net, "net.onnx")                                 # doctest: +SKIP
    >>> import onnxruntime as ort                                    # doctest: +SKIP
    >>> ort.InferenceSession("net.onnx").run(None, {"X": X_rows})[0]  # (batch, 3)  # doctest: +SKIP
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    net, found = _unwrap(model)
    pre = _preprocessing_dict(preprocessing if preprocessing is not None else found)
    np_dtype = np.dtype(net.dtype)
    elem = TensorProto.DOUBLE if np_dtype == np.float64 else TensorProto.FLOAT
    n0, nL = net.layer_dims[0], net.layer_dims[-1]
    if input_type is None:
        input_type = _default_input_type(pre, np_dtype)
    if str(input_type) not in INPUT_TYPES:
        raise ConfigError(f"input_type must be one of {', '.join(INPUT_TYPES)}, got {input_type!r}")
    input_type = str(input_type)
    elem_in = {"uint8": TensorProto.UINT8, "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}[input_type]

    nodes: list[Any] = []
    inits: list[Any] = []
    A_prev = "X"
    # the preprocessing runs in float64, as Preprocessing.transform does, and only A[0] is cast to
    # the network's type: raw values far from 0 (timestamps, ...) cast to float32 first lose the
    # digits that (X - mean) / scale keeps
    work = TensorProto.DOUBLE if pre is not None else elem
    if elem_in != work:  # e.g. uint8 pixels: to a float type first
        nodes.append(helper.make_node("Cast", ["X"], ["X_cast"], to=work, name="cast_input"))
        A_prev = "X_cast"
    if pre is not None:
        pre_nodes, pre_inits, A_prev = _preprocessing_nodes(pre, n0, np.dtype(np.float64), helper, numpy_helper,
                                                            A_prev)
        nodes += pre_nodes
        inits += pre_inits
        if elem != TensorProto.DOUBLE:
            nodes.append(helper.make_node("Cast", [A_prev], ["A_0_cast"], to=elem, name="cast_A0"))
            A_prev = "A_0_cast"
    for layer in net.layers:  # l = 1..L
        l = layer.l
        W = np.ascontiguousarray(layer.W, dtype=np_dtype)  # (n[l], n[l-1]): Gemm's transB=1 multiplies by W^T
        b = np.asarray(layer.b, dtype=np_dtype).reshape(-1)  # (n[l],) broadcast over the batch rows
        inits += [numpy_helper.from_array(W, f"W{l}"), numpy_helper.from_array(b, f"b{l}")]
        Z, A = f"Z_{l}", ("A_L" if l == net.L else f"A_{l}")
        nodes.append(helper.make_node("Gemm", [A_prev, f"W{l}", f"b{l}"], [Z], transB=1, name=f"linear{l}"))
        g_nodes, g_inits = _activation_nodes(layer.g, Z, A, l, np_dtype, helper, numpy_helper)
        nodes += g_nodes
        inits += g_inits
        A_prev = A

    graph = helper.make_graph(
        nodes, "deeplayers",
        [helper.make_tensor_value_info("X", elem_in, ["batch", n0])],
        [helper.make_tensor_value_info("A_L", elem, ["batch", nL])],
        initializer=inits,
        doc_string=(f"deeplayers Network layer_dims={net.layer_dims} g={net.activations}; "
                    "input X: (batch, n[0]) samples as rows; output A_L = A[L] as rows"),
    )
    from ._version import __version__

    proto = helper.make_model(graph, producer_name="deeplayers", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    _add_metadata(proto, net, pre, input_type, getattr(model, "classes_", getattr(model, "classes", None)))
    if check:
        onnx.checker.check_model(proto)
    atomic_write_bytes(path, proto.SerializeToString())
    return proto
