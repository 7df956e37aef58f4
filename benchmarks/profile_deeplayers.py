#!/usr/bin/env python
"""Where deeplayers' training time goes: cProfile and a native sampling profile (py-spy).

Usage (from the repository root)::

    python benchmarks/profile_deeplayers.py --config mnist      # or tiny, wide, course
    python benchmarks/profile_deeplayers.py --config tiny --epochs 30 --no-pyspy

Trains the benchmark's network exactly as ``benchmarks/run.py`` does (same data, initial weights,
``Network.fit(optimizer="gd", batch_size=B, shuffle=True, seed)``) in a child process, and reports:

- the top functions by own time under cProfile (NumPy ufuncs are not Python calls, so their time
  shows up as the own time of the engine function that calls them);
- with ``py-spy`` installed (``pip install py-spy``), the main thread's wall time split by the
  native frame it was in: BLAS (matrix products, including waiting for BLAS threads), NumPy C
  loops (element-wise ufuncs, reductions, take/copy), memory (malloc/free/memset/page faults
  in libc), and the Python interpreter itself; plus the engine source lines that cost the most.

Writes ``benchmarks/results/profile-<config>.md`` (atomically) and prints it.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


# -- the child: train under a profiler ------------------------------------------------------------------
def target(spec_path: str, prof_out: str | None) -> None:
    import worker

    spec = json.loads(Path(spec_path).read_text())
    with np.load(spec["data"]) as f:
        d = {k: f[k] for k in f.files}
    net = worker._dl_network(spec, d)
    X, Y = d["Xrows"].T, d["Yrows"].T
    B = spec["batch_size"]
    kw = dict(learning_rate=spec["learning_rate"], optimizer="gd", batch_size=B, shuffle=True, seed=spec["seed"])
    net.fit(X, Y, epochs=1, **kw)  # warm-up: buffers, BLAS threads
    # CPU time of this thread, not wall time: on a shared machine wall time charges whichever
    # function was running when the scheduler took the core away
    prof = cProfile.Profile(time.thread_time) if prof_out else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    hist = net.fit(X, Y, epochs=spec["epochs"], **kw)
    if prof:
        prof.disable()
        prof.dump_stats(prof_out)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    per_epoch = float(np.median(np.diff([0.0, *hist.time])))
    print(json.dumps({"wall": wall, "cpu": cpu, "per_epoch": per_epoch, "cpu_per_epoch": cpu / spec["epochs"],
                      "epochs": spec["epochs"]}))


# -- the parent --------------------------------------------------------------------------------------------
CATEGORIES = ("BLAS (matrix products)", "NumPy C loops (ufuncs, reductions, take/copy)",
              "memory (malloc/free/memset, libc)", "Python interpreter and engine code")


def classify(frames: list[str]) -> str:
    leaf = frames[-1] if frames else ""
    if any("openblas" in f.lower() or "gemm" in f.lower() or "blas_thread" in f for f in frames):
        return CATEGORIES[0]
    if "_multiarray_umath" in leaf or "numpy" in leaf and ".so" in leaf:
        return CATEGORIES[1]
    if "libc.so" in leaf or "libm.so" in leaf or re.search(r"\b(malloc|free|memset|memcpy|mmap|munmap)\b", leaf):
        return CATEGORIES[2]
    return CATEGORIES[3]


def parse_pyspy(raw: str) -> tuple[collections.Counter, collections.Counter, collections.Counter, int]:
    """Samples per category, per native leaf function and per innermost engine source line."""
    cats: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    lines: collections.Counter = collections.Counter()
    total = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        frames = stack.split(";")
        # keep frames from the training call down (drop the child's own start-up)
        total += n
        cat = classify(frames)
        cats[cat] += n
        leaf = frames[-1]
        leaves[re.sub(r"\s*\(.*\)$", "", leaf) + (" [" + cat.split(" ")[0] + "]")] += n
        py = [f for f in frames if re.search(r"\((?:.*/)?deeplayers/[^:]+:\d+\)", f)]
        if py:
            lines[py[-1]] += n
    return cats, leaves, lines, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="profile deeplayers' training loop on a benchmark config")
    ap.add_argument("--config", default="mnist", choices=["mnist", "tiny", "wide", "course"])
    ap.add_argument("--epochs", type=int, default=None, help="profiled epochs (default: mnist 3, tiny 30, wide 2)")
    ap.add_argument("--m", type=int, default=None, help="number of samples (default: the benchmark's)")
    ap.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    ap.add_argument("--no-pyspy", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all cores)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--target", help=argparse.SUPPRESS)
    ap.add_argument("--cprofile", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.target:
        target(args.target, args.cprofile)
        return 0

    import run

    case = next(c for c in run.make_cases([args.config], quick=False) if c.kind == "train")
    if args.m:
        case.m = args.m
    epochs = args.epochs or {"mnist": 3, "tiny": 30, "wide": 2, "course": 50}[args.config]
    case.warmup, case.timed = 0, epochs
    env = run.worker_env(args.threads)
    report = [f"# Profile of deeplayers training: {case.name} ({case.layer_dims}, {case.dtype}, "
              f"m={case.m:,}, B={case.batch_size or 'full'}, {epochs} epochs)", ""]
    with tempfile.TemporaryDirectory(prefix="deeplayers-prof-") as tmpdir:
        tmp = Path(tmpdir)
        d, source = run.build_data(case)
        np.savez(tmp / "data.npz", **d)
        spec = {"layer_dims": case.layer_dims, "output": case.output, "dtype": case.dtype,
                "batch_size": case.batch_size, "learning_rate": case.learning_rate, "epochs": epochs,
                "seed": 1234, "data": str(tmp / "data.npz")}
        (tmp / "spec.json").write_text(json.dumps(spec))
        me = [sys.executable, str(Path(__file__).resolve()), "--target", str(tmp / "spec.json")]

        # 1. plain timing, then cProfile
        plain = json.loads(subprocess.run(me, env=env, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        prof = subprocess.run(me + ["--cprofile", str(tmp / "prof.out")], env=env, capture_output=True, text=True,
                              check=True)
        profiled = json.loads(prof.stdout.splitlines()[-1])
        report += [f"Data: {source}. BLAS threads: {args.threads or os.cpu_count()}. Median epoch: "
                   f"{plain['per_epoch']:.4f} s wall ({plain['cpu_per_epoch']:.4f} s CPU) unprofiled, "
                   f"{profiled['per_epoch']:.4f} s wall ({profiled['cpu_per_epoch']:.4f} s CPU) under cProfile; "
                   f"{case.m / plain['cpu_per_epoch']:,.0f} samples per CPU second unprofiled.", ""]
        s = io.StringIO()
        st = pstats.Stats(str(tmp / "prof.out"), stream=s)
        st.sort_stats("tottime").print_stats(22)
        calls_per_batch = None
        n_batches = epochs * -(-case.m // (case.batch_size or case.m))
        rows = []
        for (file, lineno, fn), (_cc, nc, tt, ct, _) in st.stats.items():  # type: ignore[attr-defined]
            rows.append((tt, ct, nc, f"{Path(file).name}:{lineno}({fn})" if lineno else fn))
        rows.sort(reverse=True)
        total_tt = sum(r[0] for r in rows)
        report += ["## cProfile: top functions by own time (thread CPU time)", "",
                   f"{n_batches:,} mini-batches; own time includes the NumPy ufuncs each function calls "
                   "(they are not Python-level calls). Total profiled time "
                   f"{total_tt:.2f} s ({1e6 * total_tt / n_batches:.1f} µs per mini-batch under the profiler).", "",
                   "| own s | % | µs per batch | cumulative s | calls per batch | function |",
                   "| ---: | ---: | ---: | ---: | ---: | --- |"]
        for tt, ct, nc, name in rows[:25]:
            report.append(f"| {tt:.3f} | {100 * tt / total_tt:.1f} | {1e6 * tt / n_batches:.1f} | {ct:.3f} | "
                          f"{nc / n_batches:.2f} | `{name}` |")
        del calls_per_batch

        # 2. py-spy native sampling
        pyspy = shutil.which("py-spy") or (str(Path(sys.executable).with_name("py-spy"))
                                            if Path(sys.executable).with_name("py-spy").exists() else None)
        if args.no_pyspy or not pyspy:
            report += ["", "(py-spy not run: " + ("--no-pyspy" if args.no_pyspy else "not installed; pip install py-spy")
                       + ")"]
        else:
            raw_path = tmp / "pyspy.txt"
            sp = subprocess.run([pyspy, "record", "--native", "-r", str(args.rate), "-f", "raw",
                                 "-o", str(raw_path), "--", *me], env=env, capture_output=True, text=True)
            if not raw_path.exists():
                report += ["", f"(py-spy failed: {(sp.stderr or sp.stdout).strip().splitlines()[-1:]})"]
            else:
                cats, leaves, lines, total = parse_pyspy(raw_path.read_text())
                fit_only = _fit_samples(raw_path.read_text())
                report += ["", "## Native sampling (py-spy --native), main thread", "",
                           f"{total:,} samples at {args.rate} Hz over the child's whole run (data loading "
                           f"and warm-up included); {fit_only[1]:,} samples inside `fit`. Split of the "
                           "samples inside `fit`:", "",
                           "| where the main thread was | samples | % |", "| --- | ---: | ---: |"]
                fcats = fit_only[0]
                ftotal = max(1, sum(fcats.values()))
                for c in CATEGORIES:
                    report.append(f"| {c} | {fcats.get(c, 0):,} | {100 * fcats.get(c, 0) / ftotal:.1f} |")
                report += ["", "Top native leaf functions (inside `fit`):", "", "| samples | % | function |",
                           "| ---: | ---: | --- |"]
                for name, n in fit_only[2].most_common(18):
                    report.append(f"| {n:,} | {100 * n / ftotal:.1f} | `{name}` |")
                report += ["", "Engine source lines where the main thread was (innermost deeplayers frame):", "",
                           "| samples | % | line |", "| ---: | ---: | --- |"]
                for name, n in fit_only[3].most_common(18):
                    report.append(f"| {n:,} | {100 * n / ftotal:.1f} | `{name}` |")
        md = "\n".join(report) + "\n"
    out = args.out / f"profile-{args.config}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmpf = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmpf, "w") as f:
        f.write(md)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmpf, out)
    print(md)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _fit_samples(raw: str) -> tuple[collections.Counter, int, collections.Counter, collections.Counter]:
    """Like :func:`parse_pyspy`, restricted to stacks under the profiled ``fit`` call (the second
    ``fit`` in ``target``: the first is the warm-up)."""
    kept = []
    for line in raw.splitlines():
        stack = line.rpartition(" ")[0]
        if re.search(r"target \([^)]*profile_deeplayers\.py:\d+\)", stack) and "fit (" in stack:
            m = re.search(r"target \([^)]*profile_deeplayers\.py:(\d+)\)", stack)
            kept.append((int(m.group(1)) if m else 0, line))
    if kept:  # the profiled fit is the call on the later source line
        last = max(k for k, _ in kept)
        kept = [(k, l) for k, l in kept if k == last]
    cats, leaves, lines, total = parse_pyspy("\n".join(l for _, l in kept))
    return cats, total, leaves, lines


if __name__ == "__main__":
    sys.exit(main())
