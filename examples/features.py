"""What the hidden units of an MNIST network respond to (lecture section 4: deeper layers compose features).

Trains a [784, 64, 32, 10] ReLU network (softmax output, Adam, mini-batches) on MNIST training
images (pixels / 255), then draws with :func:`deeplayers.plots.plot_features`: layer 1's units by
their weights W[1] as 28 x 28 images, layer 2's by the nine training images that excite each unit
most. The same picture from the command line, for a model saved by ``deeplayers train``:

    deeplayers plot mnist.npz --what features --data MNIST_DIR --out features.png

    python examples/features.py [MNIST_DIR] [--out features.png] [--m 20000] [--epochs 5]

MNIST_DIR holds the IDX files (gz or raw); default $DEEPLAYERS_SHARED/data/mnist, else ../shared/data/mnist
beside the repository.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import deeplayers as dl
from deeplayers.datasets import load_mnist
from deeplayers.plots import plot_features

DEFAULT_DIR = Path(os.environ.get("DEEPLAYERS_SHARED", Path(__file__).resolve().parents[1].parent / "shared")) / "data" / "mnist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--out", default="features.png", help="PNG to write")
    parser.add_argument("--m", type=int, default=20000, help="training images used (the first m)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    images, labels = load_mnist(args.mnist_dir, "train")
    X = images[: args.m].reshape(args.m, -1).T.astype(np.float32) / 255.0  # (784, m): samples are columns
    Y = np.eye(10, dtype=np.float32)[:, labels[: args.m]]                 # one-hot (10, m)
    net = dl.Network([784, 64, 32, 10], hidden="relu", output="softmax", seed=args.seed, dtype="float32")
    history = net.fit(X, Y, optimizer="adam", learning_rate=0.001, epochs=args.epochs, batch_size=128)
    accuracy = float(np.mean(net.predict(X) == labels[: args.m]))
    print(f"trained on m = {args.m} images for {args.epochs} epochs: cost {history[-1]:.4f}, "
          f"training accuracy {accuracy:.4f}")
    plot_features(net, X, (28, 28), args.out, units=8, top=9)
    print(f"features saved to {args.out}")


if __name__ == "__main__":
    main()
