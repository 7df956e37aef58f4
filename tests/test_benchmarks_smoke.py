"""Smoke test of the benchmark harness (benchmarks/run.py): quick mode, the tiny config, without
PyTorch (a benchmark-only requirement) or scikit-learn: the table is written and the implementations,
trained from the same weights in the same batch order, agree on the final cost and parameters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bench_module(name: str):
    """A module of benchmarks/ (not a package), imported by name."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def _small_case(epochs: int) -> tuple[list[int], dict]:
    """A 30-5-1 network's data as the harness gives it to a worker: 40 samples as rows, 0/1 labels,
    a batch order per epoch and the initial W[l], b[l]."""
    import numpy as np

    rng = np.random.default_rng(0)
    dims, m = [30, 5, 1], 40
    d = {"Xrows": rng.standard_normal((m, dims[0])), "Yrows": (rng.random((m, 1)) > 0.5).astype(float),
         "orders": np.stack([rng.permutation(m) for _ in range(epochs)])}
    for l in (1, 2):
        d[f"W{l}"], d[f"b{l}"] = rng.standard_normal((dims[l], dims[l - 1])), np.zeros(dims[l])
    return dims, d


def test_quick_tiny_benchmark_agrees(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--configs", "tiny",
         "--impls", "deeplayers,numpy", "--gemm-n", "256", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = (tmp_path / "latest.md").read_text()
    assert "| case | implementation | s/epoch |" in md
    assert "## Targets" in md and "| 13 | tiny: time vs the careful NumPy baseline |" in md
    results = json.loads((tmp_path / "latest.json").read_text())
    (case,) = results["cases"]
    assert case["case"]["name"] == "tiny"
    rows = {r["impl"]: r for r in case["rows"]}
    assert {"deeplayers", "numpy"} <= set(rows)
    for impl, row in rows.items():
        assert "error" not in row, (impl, row.get("error"))
        assert row["seconds"] > 0 and row["samples_per_s"] > 0
        # three interleaved runs by default; the reported time is the median of their medians
        assert len(row["repeat_medians"]) == 3 and row["seconds"] == sorted(row["repeat_medians"])[1]
    # same math: deeplayers against the independent course-style transcription
    assert rows["deeplayers"]["cost_rel_diff"] < 1e-4, rows["deeplayers"]
    assert rows["deeplayers"]["param_rel_diff"] < 1e-3, rows["deeplayers"]
    assert case["agreement"]["agree"], case["agreement"]
    # deeplayers followed the harness's batch order through the public fit(shuffle=True, seed) API
    assert rows["deeplayers"]["mode"].startswith("one fit(epochs=E")


def test_loaded_case_is_planned_and_its_load_is_reaped() -> None:
    """The loaded-machine case (issue 13): the mnist epoch for deeplayers and PyTorch with default
    settings; the competing processes really run while inside the block and are gone after it."""
    import os

    run = _bench_module("run")
    (case,) = run.make_cases(["loaded"], quick=True)
    assert case.loaded and case.impls == ["deeplayers", "torch"] and case.layer_dims == [784, 256, 128, 10]
    with run.CompetingLoad(2, limit=30) as load:
        pids = [p.pid for p in load.procs]
        assert len(pids) == 2 and all(p.poll() is None for p in load.procs)  # running
    for pid in pids:  # killed and reaped: no such process any more
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"competing process {pid} still exists")


def test_full_batch_floor_also_times_the_update_and_the_targets_show_it() -> None:
    worker, run = _bench_module("worker"), _bench_module("run")
    dims, d = _small_case(epochs=4)
    spec = {"layer_dims": dims, "dtype": "float64", "epochs": 4, "repeats": 3}
    full = worker.floor_train(dict(spec, batch_size=None), d)
    assert len(full["epoch_times"]) == 4 and full["update_seconds"] > 0
    assert "update_seconds" not in worker.floor_train(dict(spec, batch_size=8), d)  # mini-batches: products only
    # the target's floor: the products' ratio to PyTorch, then with the update
    rows = [{"case": "course-float64", "impl": i, "seconds": s} for i, s in
            (("deeplayers", 0.6), ("torch", 1.0), ("gemm-floor", 0.5))]
    rows[2]["update_seconds"] = 0.55
    (t,) = [t for t in run.targets(rows) if t["target"] == "course-float64: time vs PyTorch"]
    assert (t["value"], t["floor"], t["met"]) == ("0.60", "0.50 (0.55 with the update)", True)
    # a value that rounds to its limit shows more digits: 2.003 missed "<= 2.00" and must not read "2.00"
    for ratio, shown, met in ((2.00296, "2.0030", False), (1.9996, "1.9996", True), (2.0, "2.00", True)):
        loaded = [{"case": "loaded", "impl": "deeplayers", "seconds": 1.0, "load_ratio": ratio, "fair_share_bound": 1.5}]
        (t,) = [t for t in run.targets(loaded) if t["target"].startswith("loaded: deeplayers' epoch")]
        assert (t["value"], t["met"]) == (shown, met)


def test_a_fixed_thread_count_reaches_deeplayers_own_threads_option(monkeypatch) -> None:
    """--threads (and the loaded case's fixed 1 and 2 threads) reach ``fit(threads=...)``, mini-batch
    and full batch: OPENBLAS_NUM_THREADS alone is only the ceiling of deeplayers' automatic choice,
    so a "2 threads" row beside a load measured the automatic choice (the split) a second time."""

    from deeplayers import threads

    worker = _bench_module("worker")
    seen: list[tuple] = []
    apply = threads.BlasThreads.apply

    def recording(self):  # type: ignore[no-untyped-def]
        seen.append((self.threads, self.count, self.parts))
        return apply(self)

    monkeypatch.setattr(threads.BlasThreads, "apply", recording)
    dims, d = _small_case(epochs=2)
    spec = {"layer_dims": dims, "output": "sigmoid", "dtype": "float64", "epochs": 2, "repeats": 1,
            "learning_rate": 0.01, "seed": 0}
    for B in (8, None):
        for fixed, expected in ((2, (2, 2, 1)), (None, (None, 1, 1))):  # (tiny products: one thread when automatic)
            monkeypatch.setattr(worker, "THREADS", fixed)
            seen.clear()
            worker.dl_train(dict(spec, batch_size=B), d)
            assert seen and set(seen) == {expected}, (B, fixed, seen)
    for fixed, expected in ((2, (2, 2, 1)), (None, (None, 1, 1))):  # the course functions' row
        monkeypatch.setattr(worker, "THREADS", fixed)
        seen.clear()
        worker.dl_course_fn(dict(spec, iterations=2), d)
        assert seen and set(seen) == {expected}, (fixed, seen)
