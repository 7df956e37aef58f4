"""One implementation in one process: ``python benchmarks/worker.py SPEC.json``.

The harness (``benchmarks/run.py``) writes the shared data, initial weights and batch orders to an
``.npz`` and a JSON spec naming the implementation and what to measure; this worker imports only
that implementation's library, loads the data, trains (or predicts), and writes a JSON result
(epoch times, costs, memory, BLAS) plus the final parameters as ``.npz``. Every implementation
gets the same math: the same initial W[l] (n[l], n[l-1]) and b[l], the same mini-batch order per
epoch, plain SGD (no momentum, no L2), the same learning rate and dtype.

Implementations (``impl``): ``deeplayers``, ``torch``, ``sklearn``, ``numpy`` (the course-style
baseline in :mod:`baseline`) and ``gemm-floor`` (only the matrix products of each step, into
preallocated outputs: a lower bound, not a trainer).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# wall time by default; process CPU time (--clock cpu, with --threads 1) is steadier on a shared machine
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter
THREADS: int | None = None  # --threads: BLAS / OpenMP / torch threads, deeplayers' fit(threads=...) (default: each its own)


# -- measurement helpers ----------------------------------------------------------------------------
def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def maxrss_bytes() -> int:
    """Peak resident set size of this process image: VmHWM, which starts afresh at exec (unlike
    ru_maxrss, which keeps the forking harness's peak); ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture", "threading_layer")
    return [{k: v for k, v in info.items() if k in keep} for info in threadpool_info()]


def write_json_atomic(path: str | Path, obj: Any) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_params(path: str | Path, params: dict[str, np.ndarray]) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **params)
    os.replace(tmp, path)


def init_params(d: dict[str, np.ndarray], L: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W[l] (n[l], n[l-1]), b[l] (n[l],)), ...] from the shared file."""
    return [(d[f"W{l}"], d[f"b{l}"]) for l in range(1, L + 1)]


# -- deeplayers -----------------------------------------------------------------------------------------
def _dl_probe_order(m: int, B: int, seed: int, orders: np.ndarray) -> bool:
    """Does ``Network.fit(shuffle=True, seed=seed)`` visit the samples in ``orders[e]`` (the harness
    draws them as ``np.random.default_rng(seed).permutation(m)`` per epoch)? Checked through the
    public API: a 1-1 linear network with W = 1, b = 0 whose activation records Z = X = sample
    index, trained with a negligible learning rate."""
    import deeplayers as dl
    from deeplayers.activations import Linear

    class Recorder(Linear):
        """The identity, remembering every Z it sees."""

        name = "recorder"

        def __init__(self) -> None:
            self.seen: list[np.ndarray] = []

        def forward(self, Z, out=None):
            self.seen.append(Z.ravel().copy())
            return super().forward(Z, out)

    n_epochs = min(2, len(orders))
    rec = Recorder()
    net = dl.Network([1, 1], activations=[rec], loss="mse", init=None, dtype="float64")
    net.parameters = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    X = np.arange(m, dtype=np.float64)[None, :]
    try:
        net.fit(X, np.zeros((1, m)), learning_rate=1e-300, epochs=n_epochs, optimizer="gd",
                batch_size=B, shuffle=True, seed=seed)
    except Exception:  # noqa: BLE001 - any failure means: fall back to explicit orders
        return False
    seen = np.concatenate(rec.seen) if rec.seen else np.empty(0)
    want = np.concatenate([orders[e] for e in range(n_epochs)]).astype(np.float64)
    # b drifts by ~1e-298 with this learning rate, so round Z back to the index
    return seen.shape == want.shape and bool(np.array_equal(np.rint(seen), want))


def _dl_network(spec: dict, d: dict) -> Any:
    import deeplayers as dl

    dims = spec["layer_dims"]
    net = dl.Network(dims, hidden="relu", output=spec["output"], init=None, dtype=spec["dtype"])
    net.parameters = {k: (d[k] if k[0] == "W" else d[k].reshape(-1, 1))
                      for l in range(1, len(dims)) for k in (f"W{l}", f"b{l}")}
    return net


def _epoch_clock() -> Any:
    """A deeplayers Callback stamping the clock at the start of training and at each epoch end."""
    from deeplayers.training import Callback

    class EpochClock(Callback):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_train_begin(self, loop: Any) -> None:
            self.stamps = [clock()]

        def on_epoch_end(self, loop: Any, epoch: int, logs: dict) -> None:
            self.stamps.append(clock())

        @property
        def times(self) -> list[float]:
            return np.diff(self.stamps).tolist()

    return EpochClock()


def dl_train(spec: dict, d: dict) -> dict:
    from deeplayers.optimizers import GradientDescent

    net = _dl_network(spec, d)
    X, Y = d["Xrows"].T, d["Yrows"].T  # (n0, m), (nL, m): samples as columns, as to_columns gives
    m = X.shape[1]
    B, E, lr, seed = spec["batch_size"], spec["epochs"], spec["learning_rate"], spec["seed"]
    out: dict[str, Any] = {}
    if B is None or B >= m:
        # as a user calls it, with no callback: a callback might read each iteration's gradients, so
        # its presence keeps every step out of the products (training/loop.py); the times are the
        # run's own record, History.time (wall clock, stamped at each iteration's end)
        wall = clock is time.perf_counter
        ec = None if wall else _epoch_clock()
        t0 = clock()
        hist = net.fit(X, Y, learning_rate=lr, num_iterations=E, callbacks=[] if ec is None else [ec], threads=THREADS)
        out["wall"] = clock() - t0
        out["mode"] = "fit(num_iterations=E), full batch; iteration times from " + \
            ("History.time" if ec is None else "a Callback (CPU clock)")
        out["epoch_times"] = np.diff([0.0, *hist.time]).tolist() if ec is None else ec.times
        out["costs"] = list(map(float, hist.cost))
    else:
        orders = d["orders"]
        import inspect

        from deeplayers import training

        if spec.get("dl_mode", "auto") != "per-epoch" and "batches" in inspect.signature(training.fit).parameters:
            # the public way to train on a given order: fit(batches=...), each batch gathered into a reused buffer
            ec = _epoch_clock()
            t0 = clock()
            hist = net.fit(X, Y, learning_rate=lr, epochs=E, optimizer="gd", callbacks=[ec], threads=THREADS,
                           batches=lambda e: [orders[e][s:s + B] for s in range(0, m, B)])
            out["wall"] = clock() - t0
            out["mode"] = "one fit(epochs=E, batches=the harness's orders) call; epoch times from a Callback"
            out["epoch_times"] = ec.times
            out["costs"] = list(map(float, hist.cost))
        elif spec.get("dl_mode", "auto") != "per-epoch" and _dl_probe_order(m, B, seed, orders):
            ec = _epoch_clock()
            t0 = clock()
            hist = net.fit(X, Y, learning_rate=lr, epochs=E, optimizer="gd", batch_size=B, shuffle=True, seed=seed,
                           callbacks=[ec], threads=THREADS)
            out["wall"] = clock() - t0
            out["mode"] = "one fit(epochs=E, shuffle=True, seed) call; epoch times from a Callback"
            out["epoch_times"] = ec.times
            out["costs"] = list(map(float, hist.cost))
        else:
            # the order the harness wants, through the public API: one fit call per epoch on the
            # epoch's pre-permuted data, shuffle=False; the optimizer instance carries over
            opt = GradientDescent(lr)
            times, costs = [], []
            t_all = clock()
            for e in range(E):
                t0 = clock()
                Xe = d["Xrows"][orders[e]]
                Ye = d["Yrows"][orders[e]]
                hist = net.fit(Xe.T, Ye.T, epochs=1, optimizer=opt, batch_size=B, shuffle=False, threads=THREADS)
                times.append(clock() - t0)
                costs.append(float(hist.cost[-1]))
            out["wall"] = clock() - t_all
            out["mode"] = "one fit(epochs=1, shuffle=False) per epoch on pre-permuted data (gather timed)"
            out["epoch_times"], out["costs"] = times, costs
    out["params"] = {f"{k}": np.array(v).reshape(v.shape[0], -1) if k[0] == "W" else np.array(v).ravel()
                     for k, v in net.parameters.items()}
    if spec.get("alloc_check") and B is not None and B < m:
        out["alloc"] = dl_alloc_check(spec, d)
    return out


def dl_alloc_check(spec: dict, d: dict) -> dict:
    """Bytes allocated and freed within each steady-state mini-batch (tracemalloc, which sees
    NumPy's array data): between two consecutive ``Optimizer.begin_step`` calls (one per
    mini-batch), ``transient`` is the traced-memory peak above the level at the first call and
    ``growth`` the net change. Zero transient bytes (up to a few hundred bytes of Python objects)
    means no new arrays per mini-batch."""
    import tracemalloc

    from deeplayers.optimizers import GradientDescent

    class StepProbe(GradientDescent):
        def __init__(self, lr: float) -> None:
            super().__init__(lr)
            self.marks: list[tuple[int, int]] = []

        def begin_step(self) -> None:
            super().begin_step()
            self.marks.append(tracemalloc.get_traced_memory())
            tracemalloc.reset_peak()

    B = spec["batch_size"]
    n_batches = 12
    m = min(d["Xrows"].shape[0] // B, n_batches) * B  # whole batches only
    net = _dl_network(spec, d)
    X, Y = d["Xrows"][:m].T, d["Yrows"][:m].T
    probe = StepProbe(spec["learning_rate"])
    tracemalloc.start()
    try:
        net.fit(X, Y, epochs=2, optimizer=probe, batch_size=B, shuffle=True, seed=0)
    finally:
        tracemalloc.stop()
    nb = m // B
    marks = probe.marks[nb:]  # second epoch: steady state
    trans, growth = [], []
    for (cur0, _), (cur1, peak1) in zip(marks[:-1], marks[1:]):
        trans.append(peak1 - cur0)
        growth.append(cur1 - cur0)
    batch_bytes = (X.shape[0] + Y.shape[0]) * B * X.dtype.itemsize
    return {
        "batches_measured": len(trans),
        "transient_bytes_median": int(np.median(trans)) if trans else None,
        "transient_bytes_max": int(max(trans)) if trans else None,
        "growth_bytes_median": int(np.median(growth)) if growth else None,
        "batch_data_bytes": int(batch_bytes),
        "method": "tracemalloc peak between consecutive Optimizer.begin_step calls, 2nd epoch",
    }


def dl_infer(spec: dict, d: dict) -> dict:
    net = _dl_network(spec, d)
    X = d["Xinf"].T
    return _time_repeats(spec, lambda: net.predict_proba(X), lambda P: P.T)


def dl_course_fn(spec: dict, d: dict) -> dict:
    from deeplayers.course import L_layer_model

    X, Y = d["Xrows"].T, d["Yrows"].T
    dims, lr, N = spec["layer_dims"], spec["learning_rate"], spec["iterations"]
    L_layer_model(X, Y, dims, lr, num_iterations=min(5, N), threads=THREADS)  # warm-up
    times, result = [], None
    for _ in range(spec["repeats"]):
        t0 = clock()
        result = L_layer_model(X, Y, dims, lr, num_iterations=N, threads=THREADS)
        times.append((clock() - t0) / N)
    params, costs = result
    return {"epoch_times": times, "costs": list(map(float, costs)), "mode": "course.L_layer_model(seed=1)",
            "params": {k: (v if k[0] == "W" else v.ravel()) for k, v in params.items()}}


# -- PyTorch ------------------------------------------------------------------------------------------
def _torch_model(spec: dict, d: dict) -> Any:
    import torch
    from torch import nn

    torch.set_num_threads(THREADS or os.cpu_count() or 1)
    tdtype = {"float32": torch.float32, "float64": torch.float64}[spec["dtype"]]
    dims = spec["layer_dims"]
    mods: list[Any] = []
    for l, (W, b) in enumerate(init_params(d, len(dims) - 1), start=1):
        lin = nn.Linear(dims[l - 1], dims[l], dtype=tdtype)
        with torch.no_grad():  # nn.Linear stores weight as (out, in) = W[l]'s shape
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if l < len(dims) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _torch_params(model: Any) -> dict[str, np.ndarray]:
    from torch import nn

    lins = [mod for mod in model if isinstance(mod, nn.Linear)]
    params = {}
    for l, lin in enumerate(lins, start=1):
        params[f"W{l}"] = lin.weight.detach().numpy().copy()
        params[f"b{l}"] = lin.bias.detach().numpy().copy()
    return params


def torch_train(spec: dict, d: dict) -> dict:
    import torch
    from torch import nn

    model = _torch_model(spec, d)
    X = torch.from_numpy(d["Xrows"])
    m = X.shape[0]
    if spec["output"] == "softmax":  # softmax + categorical cross-entropy on the logits, mean over m
        loss_fn = nn.CrossEntropyLoss()
        T = torch.from_numpy(d["y"].astype(np.int64))
    else:  # sigmoid + binary cross-entropy on the logits, mean over m
        loss_fn = nn.BCEWithLogitsLoss()
        T = torch.from_numpy(d["Yrows"])
    opt = torch.optim.SGD(model.parameters(), lr=spec["learning_rate"], momentum=0.0)
    B, E = spec["batch_size"], spec["epochs"]
    full = B is None or B >= m
    times, costs = [], []
    for e in range(E):
        t0 = clock()
        if full:
            Xe, Te, B_ = X, T, m
        else:
            idx = torch.from_numpy(d["orders"][e])
            Xe, Te, B_ = X.index_select(0, idx), T.index_select(0, idx), B
        total = 0.0
        for s in range(0, m, B_):
            xb, tb = Xe[s:s + B_], Te[s:s + B_]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), tb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        times.append(clock() - t0)
        costs.append(total / m)
    return {"epoch_times": times, "costs": costs, "params": _torch_params(model),
            "mode": "nn.Sequential(Linear, ReLU, ...), torch.optim.SGD, one index_select per epoch"}


def torch_infer(spec: dict, d: dict) -> dict:
    import torch

    model = _torch_model(spec, d)
    X = torch.from_numpy(d["Xinf"])

    def run() -> Any:
        with torch.no_grad():
            out = model(X)
            return torch.softmax(out, dim=1) if spec["output"] == "softmax" else torch.sigmoid(out)

    return _time_repeats(spec, run, lambda P: P.numpy())


# -- scikit-learn ---------------------------------------------------------------------------------------
def _sk_model(spec: dict, d: dict, max_iter: int) -> Any:
    """An MLPClassifier with the shared initial weights: a fit on one sample per class builds the
    structure (classes, output activation), then coefs_[i] = W[i+1].T (sklearn's weights are
    (n_in, n_out)) and intercepts_ are written in place (the SGD optimizer holds these arrays)."""
    import warnings

    from sklearn.neural_network import MLPClassifier

    dims, B = spec["layer_dims"], spec["batch_size"]
    m = d["Xrows"].shape[0]
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(dims[1:-1]), activation="relu", solver="sgd", alpha=0.0,
        batch_size=min(B or m, m), learning_rate="constant", learning_rate_init=spec["learning_rate"],
        momentum=0.0, nesterovs_momentum=False, shuffle=False, max_iter=1, tol=0.0,
        n_iter_no_change=10**9, early_stopping=False, warm_start=True, random_state=0,
    )
    y = d["y"]
    first = np.unique(y, return_index=True)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(d["Xrows"][first], y[first])
    for i, (W, b) in enumerate(init_params(d, len(dims) - 1)):
        np.copyto(clf.coefs_[i], W.T)
        np.copyto(clf.intercepts_[i], b)
    clf.set_params(max_iter=max_iter)
    return clf


def sk_train(spec: dict, d: dict) -> dict:
    import warnings

    import sklearn.neural_network._multilayer_perceptron as mlp_mod

    m = d["Xrows"].shape[0]
    B, E = spec["batch_size"], spec["epochs"]
    full = B is None or B >= m
    clf = _sk_model(spec, d, max_iter=E)
    stamps: list[float] = []
    orders = iter(d["orders"]) if not full else None
    gen_batches = mlp_mod.gen_batches

    def stamped_gen_batches(*args: Any, **kwargs: Any) -> Any:
        stamps.append(clock())  # called once at the start of every epoch
        return gen_batches(*args, **kwargs)

    def given_order(idx: np.ndarray, random_state: Any = None) -> np.ndarray:
        return next(orders).astype(idx.dtype, copy=False)  # sklearn's own shuffle, our order

    mode = "one fit(max_iter=E) call; epoch starts stamped via gen_batches"
    patched = hasattr(mlp_mod, "gen_batches") and (full or hasattr(mlp_mod, "shuffle"))
    if patched:
        mlp_mod.gen_batches = stamped_gen_batches
        if not full:
            mlp_mod.shuffle = given_order
            clf.set_params(shuffle=True)
            mode += "; sklearn's shuffle step returns the shared order (its per-batch gather is timed)"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(d["Xrows"], d["y"])
            t_end = clock()
        times = np.diff([*stamps, t_end]).tolist()
        costs = list(map(float, clf.loss_curve_[-E:]))  # the curve starts with the set-up fit's
    else:  # fallback: one warm-started fit per epoch on pre-permuted data
        clf.set_params(max_iter=1, shuffle=False)
        times, costs = [], []
        for e in range(E):
            t0 = clock()
            idx = slice(None) if full else d["orders"][e]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(d["Xrows"][idx], d["y"][idx])
            times.append(clock() - t0)
            costs.append(float(clf.loss_))
        mode = "one fit(max_iter=1, warm_start) per epoch on pre-permuted data"
    params = {}
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_), start=1):
        params[f"W{i}"], params[f"b{i}"] = W.T.copy(), b.copy()
    return {"epoch_times": times, "costs": costs, "params": params, "mode": mode}


def sk_infer(spec: dict, d: dict) -> dict:
    clf = _sk_model(spec, d, max_iter=1)
    X = d["Xinf"]
    return _time_repeats(spec, lambda: clf.predict_proba(X),
                         lambda P: P[:, 1:] if spec["output"] == "sigmoid" else P)


# -- the course-style baseline --------------------------------------------------------------------
def _np_params(spec: dict, d: dict) -> dict[str, np.ndarray]:
    params = {}
    for l, (W, b) in enumerate(init_params(d, len(spec["layer_dims"]) - 1), start=1):
        params[f"W{l}"], params[f"b{l}"] = W.copy(), b.reshape(-1, 1).copy()
    return params


def np_train(spec: dict, d: dict) -> dict:
    sys.path.insert(0, str(HERE))
    import baseline

    params = _np_params(spec, d)
    X, Y = d["Xrows"].T, d["Yrows"].T
    B, E, lr = spec["batch_size"], spec["epochs"], spec["learning_rate"]
    full = B is None or B >= X.shape[1]
    times, costs = [], []
    for e in range(E):
        t0 = clock()
        params, J = baseline.train_epoch(X, Y, params, lr, None if full else B,
                                         None if full else d["orders"][e], spec["output"])
        times.append(clock() - t0)
        costs.append(J)
    return {"epoch_times": times, "costs": costs, "mode": "course-style transcription (benchmarks/baseline.py)",
            "params": {k: (v if k[0] == "W" else v.ravel()) for k, v in params.items()}}


def np_infer(spec: dict, d: dict) -> dict:
    sys.path.insert(0, str(HERE))
    import baseline

    params = _np_params(spec, d)
    X = d["Xinf"].T
    return _time_repeats(spec, lambda: baseline.predict_proba(X, params, spec["output"]), lambda P: P.T)


def np_course_fn(spec: dict, d: dict) -> dict:
    sys.path.insert(0, str(HERE))
    import baseline

    X, Y = d["Xrows"].T, d["Yrows"].T
    lr, N = spec["learning_rate"], spec["iterations"]
    baseline.L_layer_model(X, Y, _np_params(spec, d), lr, num_iterations=min(5, N))  # warm-up
    times, result = [], None
    for _ in range(spec["repeats"]):
        params = _np_params(spec, d)
        t0 = clock()
        result = baseline.L_layer_model(X, Y, params, lr, num_iterations=N)
        times.append((clock() - t0) / N)
    params, costs = result
    return {"epoch_times": times, "costs": list(map(float, costs)), "mode": "baseline.L_layer_model",
            "params": {k: (v if k[0] == "W" else v.ravel()) for k, v in params.items()}}


# -- the GEMM-only floor ----------------------------------------------------------------------------
def floor_train(spec: dict, d: dict) -> dict:
    """Only the matrix products of each SGD step (Z[l] = W[l] A[l-1]; dW[l] = dZ[l] A[l-1]^T;
    dA[l-1] = W[l]^T dZ[l] for l > 1), into preallocated outputs, on contiguous mini-batches
    gathered once per epoch: what a trainer cannot go below with these BLAS calls. A thin forward
    product (inner dimension at least 4x its outputs' larger side: the course's Z[1]) is computed
    in whichever operand order, W A or (A^T W^T)^T, was faster in three timings at the start, as
    deeplayers may (``workspace._faster_form``; deeplayers also requires the same bits).

    Full batch (the course cases) also times each iteration again with the update every trainer
    adds, one subtraction W[l] - dW[l], b[l] - db[l] per parameter (into scratch arrays, so the
    weights stay the same): ``update_seconds``, the median of those iterations, interleaved with
    the products-only ones. For the course's 12288 x 20 W[1] that pass is a few percent of the
    iteration. NumPy does not expose BLAS's beta = 1, which folds the step into the product;
    deeplayers calls that gemm through ctypes (``_gemm.py``), so for it the products alone are the
    floor."""
    dims, dtype = spec["layer_dims"], np.dtype(spec["dtype"])
    Ws = [W.copy() for W, _ in init_params(d, len(dims) - 1)]
    L = len(Ws)
    Xr = d["Xrows"]
    m = Xr.shape[0]
    B, E = spec["batch_size"], spec["epochs"]
    B = m if B is None else min(B, m)
    Xe = np.empty_like(Xr)

    def bufs(b: int) -> tuple[list, list, list]:
        Z = [np.empty((dims[l], b), dtype) for l in range(1, L + 1)]
        dA = [np.empty((dims[l], b), dtype) for l in range(1, L)]
        return Z, dA, [np.empty_like(W) for W in Ws]

    bs = [b.reshape(-1, 1).copy() for _, b in init_params(d, L)]
    scratch = [(np.empty_like(W), np.empty_like(b)) for W, b in zip(Ws, bs)]
    cache: dict[int, tuple] = {}
    other: dict[tuple[int, int], np.ndarray | None] = {}  # (l, b): Z[l]^T's buffer when that order is faster

    def faster_order(l: int, A: np.ndarray, Z: np.ndarray) -> np.ndarray | None:
        (n, k), b = Ws[l].shape, A.shape[1]
        if k < 4 * max(n, b):
            return None
        Zt, best = np.empty((b, n), dtype), [np.inf, np.inf]
        for _ in range(3):
            for i, (x, y, out) in enumerate(((Ws[l], A, Z), (A.T, Ws[l].T, Zt))):
                t0 = time.perf_counter()
                np.dot(x, y, out=out)
                best[i] = min(best[i], time.perf_counter() - t0)
        return Zt if best[1] < best[0] else None

    def epoch(e: int, update: bool) -> float:
        t0 = clock()
        if B < m:
            np.take(Xr, d["orders"][e], axis=0, out=Xe)
            src = Xe
        else:
            src = Xr
        for s in range(0, m, B):
            A0 = src[s:s + B].T
            b = A0.shape[1]
            if b not in cache:
                cache[b] = bufs(b)
            Z, dA, dW = cache[b]
            A = A0
            for l in range(L):
                if (l, b) not in other:  # decided in the first epoch, a warm-up one
                    other[l, b] = faster_order(l, A, Z[l])
                Zt = other[l, b]
                if Zt is None:
                    np.dot(Ws[l], A, out=Z[l])
                else:
                    np.copyto(Z[l], np.dot(A.T, Ws[l].T, out=Zt).T)
                A = Z[l]
            for l in reversed(range(L)):
                A_prev = A0 if l == 0 else Z[l - 1]
                dZ = Z[l] if l == L - 1 else dA[l]
                np.dot(dZ, A_prev.T, out=dW[l])
                if l > 0:
                    np.dot(Ws[l].T, dZ, out=dA[l - 1])
            if update:
                for l in range(L):
                    np.subtract(Ws[l], dW[l], out=scratch[l][0])
                    np.subtract(bs[l], bs[l], out=scratch[l][1])  # (b[l]'s pass: n[l] numbers)
        return clock() - t0

    times, with_update = [], []
    for e in range(E):
        times.append(epoch(e, False))
        if B == m:
            with_update.append(epoch(e, True))
    out = {"epoch_times": times, "costs": [], "mode": "GEMMs only (reference floor, not a trainer)"}
    if with_update:
        out["update_seconds"] = float(np.median(with_update[E - spec.get("repeats", E):]))  # after the warm-up
        out["mode"] += "; update_seconds: with W[l] - dW[l], b[l] - db[l] each iteration"
    return out


def floor_infer(spec: dict, d: dict) -> dict:
    """Only the matrix products of inference (Z[l] = W[l] A[l-1], l = 1..L) on the samples as the
    other implementations get them, into preallocated outputs: what no inference goes below with
    these BLAS calls."""
    params = init_params(d, len(spec["layer_dims"]) - 1)
    Ws = [W.copy() for W, _ in params]
    bs = [b.reshape(-1, 1).copy() for _, b in params]
    X = d["Xinf"].T  # (n0, m), as deeplayers and the baseline are given it
    Z = [np.empty((W.shape[0], X.shape[1]), W.dtype) for W in Ws]
    row = np.empty((1, X.shape[1]), X.dtype)

    def products() -> None:
        A = X
        for W, out in zip(Ws, Z):
            A = np.dot(W, A, out=out)

    def with_passes() -> None:
        # the same products plus the passes NumPy cannot fuse into them (+ b[l], ReLU, softmax), in
        # place and nothing else: no inference in NumPy goes below this
        A = X
        for l, (W, b, out) in enumerate(zip(Ws, bs, Z), start=1):
            A = np.dot(W, A, out=out)
            A += b
            if l < len(Ws):
                np.maximum(A, 0, out=A)
        np.subtract(A, np.maximum.reduce(A, axis=0, keepdims=True, out=row), out=A)
        np.exp(A, out=A)
        A /= np.add.reduce(A, axis=0, keepdims=True, out=row)

    res = _time_repeats(spec, products, lambda P: np.empty((0, 0)))
    res.pop("probs")
    res["passes_seconds"] = float(np.median(_time_repeats(spec, with_passes, lambda P: np.empty((0, 0)))["epoch_times"]))
    res["mode"] = "GEMMs only (reference floor, not an inference); passes_seconds: with + b, ReLU, softmax"
    return res


# -- machine peak ---------------------------------------------------------------------------------------
def gemm_peak(spec: dict, d: dict) -> dict:
    """Best GFLOP/s of a large square np.dot (2 n^3 flops) per dtype."""
    rng = np.random.default_rng(0)
    out = {}
    for dtype in ("float32", "float64"):
        n = spec["gemm_n"]
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        c = np.empty((n, n), dtype)
        np.dot(a, b, out=c)
        best = []
        for _ in range(spec["gemm_repeats"]):
            t0 = clock()
            np.dot(a, b, out=c)
            best.append(clock() - t0)
        out[dtype] = {"n": n, "gflops": 2 * n**3 / min(best) / 1e9,
                      "gflops_median": 2 * n**3 / float(np.median(best)) / 1e9}
    return {"peak": out}


def _time_repeats(spec: dict, fn: Any, to_rows: Any) -> dict:
    for _ in range(spec["warmup"]):
        fn()
    times, P = [], None
    for _ in range(spec["repeats"]):
        t0 = clock()
        P = fn()
        times.append(clock() - t0)
    P = np.asarray(to_rows(P))
    return {"epoch_times": times, "costs": [], "mode": "predict_proba on all samples",
            "probs": np.ascontiguousarray(P[:256], dtype=np.float64)}


RUNNERS = {
    ("train", "deeplayers"): dl_train, ("train", "torch"): torch_train, ("train", "sklearn"): sk_train,
    ("train", "numpy"): np_train, ("train", "gemm-floor"): floor_train,
    ("infer", "deeplayers"): dl_infer, ("infer", "torch"): torch_infer, ("infer", "sklearn"): sk_infer,
    ("infer", "numpy"): np_infer, ("infer", "gemm-floor"): floor_infer,
    ("course_fn", "deeplayers"): dl_course_fn, ("course_fn", "numpy"): np_course_fn,
    ("gemm", "numpy"): gemm_peak,
}
LIBRARIES = {"deeplayers": "deeplayers", "torch": "torch", "sklearn": "sklearn.neural_network",
             "numpy": "numpy", "gemm-floor": "numpy"}


def main(spec_path: str) -> int:
    global clock, THREADS
    spec = json.loads(Path(spec_path).read_text())
    clock = CLOCKS[spec.get("clock", "wall")]
    THREADS = spec.get("threads")
    impl, kind = spec["impl"], spec["kind"]
    runner = RUNNERS[(kind, impl)]
    import importlib

    t0 = time.perf_counter()
    lib = importlib.import_module(LIBRARIES[impl])
    import_s = time.perf_counter() - t0
    gc.collect()
    rss_import = rss_bytes()
    d: dict[str, np.ndarray] = {}
    if spec.get("data"):
        with np.load(spec["data"], allow_pickle=False) as f:
            d = {k: f[k] for k in f.files}
    gc.collect()
    rss_load = rss_bytes()
    res = runner(spec, d)
    gc.collect()
    params = res.pop("params", None)
    probs = res.pop("probs", None)
    if (params is not None or probs is not None) and spec.get("params_out"):
        arrays = dict(params or {})
        if probs is not None:
            arrays["probs"] = probs
        save_params(spec["params_out"], arrays)
    res.update({
        "impl": impl, "kind": kind, "case": spec.get("case"),
        "import_s": import_s, "rss_after_import": rss_import, "rss_after_load": rss_load,
        "maxrss": maxrss_bytes(), "blas": blas_info(),
        "version": getattr(lib, "__version__", None) or getattr(sys.modules.get(impl.split("-")[0]), "__version__", None),
        "numpy": np.__version__, "pid": os.getpid(),
    })
    if impl == "sklearn":
        import sklearn

        res["version"] = sklearn.__version__
    write_json_atomic(spec["result"], res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
