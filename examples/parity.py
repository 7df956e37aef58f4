"""Why deep representations: n-bit parity, deep and narrow against shallow and wide, same parameter count.

The lecture's circuit-theory argument: XOR of n bits is a tree of 2-input XORs, depth O(log n) with
O(n) gates, while one layer of AND/OR terms needs O(2^n) of them. Here the deep network has three
hidden layers of n tanh units (n/2 pairs of units can compute n/2 XORs of two inputs per layer) and
the shallow one gets one hidden layer with as many parameters as the deep network has in all (about
three times as many units). Both train on every one of the 2^n patterns (the question is whether the
network can represent and find the function, not generalisation), with Adam, full batch, several seeds.

    python examples/parity.py                      # n = 4, 6, 8, 10, 12; 3 seeds each
    python examples/parity.py --bits 4 6 --seeds 2 --epochs 500
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

import deeplayers as dl


def parity_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n, 2^n): every n-bit pattern as a column of 0/1; Y (1, 2^n): 1 where the number of ones is odd."""
    codes = np.arange(2 ** n)
    X = ((codes[None, :] >> np.arange(n)[:, None]) & 1).astype(float)
    Y = (X.sum(axis=0, keepdims=True) % 2).astype(float)
    return X, Y


def deep_dims(n: int, depth: int = 3) -> list[int]:
    """Deep and narrow: ``depth`` hidden layers of n units each (wide enough for n/2 XORs of pairs), one output."""
    return [n] + [n] * depth + [1]


def n_params(dims: Sequence[int]) -> int:
    return sum(dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims)))


def shallow_dims(n: int, budget: int) -> list[int]:
    """One hidden layer with about ``budget`` parameters: h (n + 1) + h + 1 <= budget, rounded to the nearer."""
    h = max(1, round((budget - 1) / (n + 2)))
    return [n, h, 1]


def accuracy_of(dims: list[int], X: np.ndarray, Y: np.ndarray, seed: int, epochs: int, lr: float) -> float:
    net = dl.Network(dims, hidden="tanh", output="sigmoid", init="xavier", seed=seed)
    net.fit(X, Y, optimizer="adam", learning_rate=lr, epochs=epochs, seed=seed)
    return float(np.mean(net.predict(X) == Y))


def run(bits: Sequence[int], seeds: int, epochs: int, lr: float) -> list[dict[str, object]]:
    rows = []
    for n in bits:
        X, Y = parity_data(n)
        deep = deep_dims(n)
        shallow = shallow_dims(n, n_params(deep))
        acc_d = [accuracy_of(deep, X, Y, s, epochs, lr) for s in range(seeds)]
        acc_s = [accuracy_of(shallow, X, Y, s, epochs, lr) for s in range(seeds)]
        rows.append({"n": n, "m": X.shape[1], "deep": deep, "deep_params": n_params(deep), "deep_acc": acc_d,
                     "shallow": shallow, "shallow_params": n_params(shallow), "shallow_acc": acc_s})
    return rows


def table(rows: list[dict[str, object]]) -> str:
    head = ("n bits", "m", "deep layer_dims", "params", "deep accuracy", "solved",
            "shallow layer_dims", "params", "shallow accuracy", "solved")
    body = []
    for r in rows:
        acc_d, acc_s = np.array(r["deep_acc"]), np.array(r["shallow_acc"])
        body.append((str(r["n"]), str(r["m"]), str(r["deep"]), str(r["deep_params"]), f"{acc_d.mean():.3f}",
                     f"{int((acc_d == 1).sum())}/{len(acc_d)}", str(r["shallow"]), str(r["shallow_params"]),
                     f"{acc_s.mean():.3f}", f"{int((acc_s == 1).sum())}/{len(acc_s)}"))
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[4, 6, 8, 10, 12], help="the n to try")
    parser.add_argument("--seeds", type=int, default=3, help="training runs per network (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=3000, help="full-batch Adam iterations per run")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate")
    args = parser.parse_args(argv)
    if min(args.bits) < 2 or max(args.bits) > 16:
        parser.error("--bits: choose n between 2 and 16 (2^n patterns are trained on)")
    rows = run(args.bits, args.seeds, args.epochs, args.lr)
    print(f"n-bit parity on all 2^n patterns, tanh hidden layers, Xavier init, Adam lr {args.lr}, {args.epochs} iterations, "
          f"{args.seeds} seeds; accuracy is the mean over seeds, solved counts the seeds at 100%")
    print(table(rows))


if __name__ == "__main__":
    main()
