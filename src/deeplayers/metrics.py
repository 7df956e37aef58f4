"""Metrics of a network's predictions: the accuracy the training loop records, and the report of
``deeplayers evaluate`` (accuracy, log-loss, confusion matrix, precision/recall/F1; MSE, MAE, R^2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .network import Network

__all__ = ["accuracy", "evaluate_metrics", "format_metrics"]


def accuracy(net: Network, AL: np.ndarray, Y: np.ndarray) -> float | None:
    """Fraction of correct predictions (softmax: argmax; sigmoid: each output > 0.5); None for regression."""
    g = net.layers[-1].g.name
    if g == "softmax":
        return float(np.mean(np.argmax(AL, axis=0) == np.argmax(Y, axis=0)))
    if g == "sigmoid":
        return float(np.mean((AL > 0.5) == (Y > 0.5)))
    return None


def evaluate_metrics(A: np.ndarray, Y: np.ndarray, output: str, classes: Sequence[Any] | None = None) -> dict[str, Any]:
    """Metrics of predictions A = A[L] (n[L], m) against targets Y (n[L], m).

    Classification (``sigmoid`` with one unit, ``softmax``): ``accuracy``, ``log_loss`` (mean
    cross-entropy, probabilities clipped to [1e-15, 1 - 1e-15]), ``confusion_matrix`` (rows: true
    class, columns: predicted class), per-class ``precision``, ``recall``, ``f1`` and ``support``.
    Several sigmoid units (multi-label): ``accuracy`` over all labels, ``log_loss`` per sample and
    ``subset_accuracy``. Regression (``linear``): ``mse``, ``mae``, ``r2`` (the mean over outputs of
    1 - SS_res / SS_tot).
    """
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = Y.shape[1]
    out: dict[str, Any] = {"m": int(m), "output": output}
    if output == "linear":
        err = A - Y
        ss_res = np.sum(err**2, axis=1)
        ss_tot = np.sum((Y - Y.mean(axis=1, keepdims=True)) ** 2, axis=1)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
        out.update(mse=float(np.mean(err**2)), mae=float(np.mean(np.abs(err))), r2=float(np.mean(r2)))
        return out
    eps = 1e-15
    P = np.clip(A, eps, 1 - eps)
    if output == "sigmoid" and Y.shape[0] > 1:  # multi-label
        pred = A > 0.5
        out.update(accuracy=float(np.mean(pred == (Y > 0.5))),
                   subset_accuracy=float(np.mean(np.all(pred == (Y > 0.5), axis=0))),
                   log_loss=float(-np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / m))
        return out
    if output == "sigmoid":
        true, pred, k = (Y[0] > 0.5).astype(int), (A[0] > 0.5).astype(int), 2
        log_loss = -np.mean(Y[0] * np.log(P[0]) + (1 - Y[0]) * np.log(1 - P[0]))
    else:
        true, pred, k = np.argmax(Y, axis=0), np.argmax(A, axis=0), Y.shape[0]
        log_loss = -np.mean(np.log(P[true, np.arange(m)]))
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    names = list(classes) if classes is not None and len(classes) == k else list(range(k))
    out.update(accuracy=float(np.mean(true == pred)), log_loss=float(log_loss), classes=names,
               confusion_matrix=cm.tolist(), precision=precision.tolist(), recall=recall.tolist(),
               f1=f1.tolist(), support=support.tolist())
    return out


def format_metrics(metrics: dict[str, Any]) -> str:
    """The report ``deeplayers evaluate`` prints for :func:`evaluate_metrics`' result."""
    lines = [f"samples: {metrics['m']}"]
    if metrics["output"] == "linear":
        lines += [f"R^2:  {metrics['r2']:.6f}", f"MSE:  {metrics['mse']:.6g}", f"MAE:  {metrics['mae']:.6g}"]
        return "\n".join(lines)
    lines += [f"accuracy: {metrics['accuracy']:.4f}", f"log-loss: {metrics['log_loss']:.6f}"]
    if "confusion_matrix" not in metrics:
        lines.append(f"subset accuracy: {metrics['subset_accuracy']:.4f}")
        return "\n".join(lines)
    names = [str(c) for c in metrics["classes"]]
    cm = metrics["confusion_matrix"]
    w = max(6, *(len(n) for n in names), *(len(str(v)) for row in cm for v in row))
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)",
              " " * (w + 2) + " ".join(n.rjust(w) for n in names)]
    lines += [n.rjust(w) + "  " + " ".join(str(v).rjust(w) for v in row) for n, row in zip(names, cm)]
    lines += ["", f"{'class'.rjust(w)}  precision     recall         f1    support"]
    for i, n in enumerate(names):
        lines.append(f"{n.rjust(w)}  {metrics['precision'][i]:9.4f}  {metrics['recall'][i]:9.4f}  "
                     f"{metrics['f1'][i]:9.4f}  {metrics['support'][i]:9d}")
    return "\n".join(lines)
