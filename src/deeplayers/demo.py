"""The main job: the course's 4-layer model [n0, 20, 7, 5, 1] trained by L_layer_model.

On scikit-learn's breast-cancer set by default (standardized, 80/20 split), or on the course's
cat pictures when given the folder holding ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import course
from .network import Network


def _breast_cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError:  # pragma: no cover - the quick start installs it
        raise SystemExit("the built-in data needs scikit-learn: pip install 'deeplayers[data]'") from None
    data = load_breast_cancer()
    rng = np.random.RandomState(0)
    order = rng.permutation(len(data.target))
    n_test = len(order) // 5
    test, train = order[:n_test], order[n_test:]
    mean, std = data.data[train].mean(axis=0), data.data[train].std(axis=0)
    X = ((data.data - mean) / std).T  # (30, m): samples as columns, scaled on the training set
    Y = (data.target == 0).astype(float).reshape(1, -1)  # 1 = malignant
    return X[:, train], Y[:, train], X[:, test], Y[:, test], "breast cancer (scikit-learn)"


def _cat(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    import h5py

    folder = Path(folder)
    with h5py.File(folder / "train_catvnoncat.h5", "r") as f:
        X, Y = f["train_set_x"][:], f["train_set_y"][:]
    with h5py.File(folder / "test_catvnoncat.h5", "r") as f:
        Xt, Yt = f["test_set_x"][:], f["test_set_y"][:]
    flat = lambda a: a.reshape(len(a), -1).T / 255.0  # noqa: E731 - the course's flattening
    return flat(X), Y.reshape(1, -1), flat(Xt), Yt.reshape(1, -1), f"cat vs non-cat ({folder})"


def run_demo(cat: str | Path | None = None, num_iterations: int = 2500, learning_rate: float = 0.0075) -> float:
    """Train, print the summary, the cost every 100 iterations and the accuracies; returns test accuracy."""
    X, Y, Xt, Yt, name = _cat(cat) if cat else _breast_cancer()
    layers_dims = [X.shape[0], 20, 7, 5, 1]
    print(f"Data: {name}: X {X.shape} train, {Xt.shape} test (samples in columns)\n")
    print(Network(layers_dims, init=None).summary(m=X.shape[1]), "\n")
    parameters, _ = course.L_layer_model(X, Y, layers_dims, learning_rate, num_iterations, print_cost=True)
    print("\nTrain", end=" ")
    course.predict(X, Y, parameters)
    print("Test", end=" ")
    p = course.predict(Xt, Yt, parameters)
    return float(np.mean(p == Yt))
