"""MNIST with the scikit-learn face: DNNClassifier(hidden_layer_sizes=(256, 128), optimizer="adam",
epochs=20) with the estimator's default learning rate, batch size and initializer, trained on all
60,000 training images (pixels / 255), scored on the 10,000 test images.

    python examples/mnist.py [MNIST_DIR] [--random-state N]

MNIST_DIR holds the IDX files (gz or raw); default ../shared/data/mnist beside the repository.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from deeplayers.datasets import load_mnist
from deeplayers.sklearn import DNNClassifier

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def load(directory: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Images flattened to rows (m, 784) as float32 in [0, 1], and labels (m,)."""
    images, labels = load_mnist(directory, kind)
    X = images.reshape(len(images), -1).astype(np.float32)
    X /= 255.0
    return X, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()

    X_train, y_train = load(args.mnist_dir, "train")
    X_test, y_test = load(args.mnist_dir, "test")
    clf = DNNClassifier(hidden_layer_sizes=(256, 128), optimizer="adam", epochs=20,
                        random_state=args.random_state, verbose=args.verbose)
    t0 = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    print(clf.network_.summary())
    print(f"random_state={args.random_state}: {clf.n_iter_} epochs in {seconds:.1f} s, "
          f"final training cost {clf.loss_curve_[-1]:.4f}")
    print(f"train accuracy {clf.score(X_train, y_train):.4f}")
    print(f"test accuracy  {clf.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
