"""Smoke test of the benchmark harness (benchmarks/run.py): quick mode, the tiny config, without
PyTorch (a benchmark-only requirement) or scikit-learn: the table is written and the implementations,
trained from the same weights in the same batch order, agree on the final cost and parameters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import run
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
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
