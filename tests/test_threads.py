"""Issue 13: BLAS threads decided in one place (threads.py) and really applied, progress within an
epoch, and training on a given batch order."""

from __future__ import annotations

import io
import os
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import deeplayers as dl
from deeplayers import threads as th
from deeplayers.errors import ConfigError
from deeplayers.training import Callback, _Progress


def _blas_now() -> int:
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def _two_cores() -> tuple[int, int]:
    """(cores, BLAS's thread count now); skips the test where either is below two."""
    cores, before = th.available_cores(), _blas_now()
    if cores < 2 or before < 2:
        pytest.skip("needs two cores and BLAS allowed two threads")
    return cores, before


class _Seen(Callback):
    """Records BLAS's thread count as threadpoolctl reports it inside the run."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_epoch_end(self, loop, epoch, logs) -> None:
        self.seen.append(_blas_now())


def _data(n0: int = 30, m: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n0, m))
    return X, (X[:1] + X[1:2] > 0).astype(np.float64)


# -- the option, on each face ------------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    (0, "threads must not be 0"), ("2", "threads must be a whole number"), (1.5, "threads must be a whole number"),
    (True, "threads must be a whole number"),
])
def test_fit_refuses_bad_threads(bad, words) -> None:
    X, Y = _data()
    with pytest.raises(ConfigError, match=words):
        dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=1, threads=bad)


@pytest.mark.parametrize("threads", [1, 2, -1])
def test_fit_applies_the_thread_count_and_restores_it(threads) -> None:
    before = _blas_now()
    X, Y = _data()
    seen = _Seen()
    dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=2, batch_size=100, threads=threads, callbacks=[seen])
    want = threads if threads > 0 else th.available_cores()
    assert seen.seen == [want, want]
    assert _blas_now() == before


def test_automatic_threads_small_products_one_thread_large_ones_the_free_cores(monkeypatch) -> None:
    X, Y = _data()
    seen = _Seen()
    dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=1, batch_size=100, callbacks=[seen])
    assert seen.seen == [1]  # 30 x 4 x 100 multiply-adds: below SMALL_GEMM
    assert th.resolve_threads(None, th.SMALL_GEMM - 1) == 1
    # large products: the cores nobody else uses, at least one
    cores = th.available_cores()
    monkeypatch.setattr(th, "_others_running", lambda: 0)
    assert th.free_cores() == cores
    assert th.resolve_threads(None, th.SMALL_GEMM, cap=cores) == cores
    assert th.resolve_threads(None, th.SMALL_GEMM, cap=1) == 1  # never above BLAS's own setting
    monkeypatch.setattr(th, "_others_running", lambda: cores + 3)  # a loaded machine
    assert th.free_cores() == 1 and th.resolve_threads(None, 1 << 30) == 1
    assert th.resolve_threads(-1, 1) == cores and th.resolve_threads(-cores - 5, 1) == 1
    assert th.resolve_threads(3, 1) == 3


def test_automatic_count_follows_the_load_at_most_once_a_second(monkeypatch) -> None:
    cores, before = _two_cores()
    others = [0]
    monkeypatch.setattr(th, "_others_running", lambda: others[0])
    monkeypatch.setattr(th, "_free_cache", None)  # no look at the real machine shared
    clock = _Clock(0.0)
    bt = th.BlasThreads(None, 1 << 30, clock=clock).apply()
    try:
        assert _blas_now() == min(cores, before)  # a quiet machine: the free cores
        others[0] = cores + 3  # then a competing load starts
        clock.t += 0.5
        bt.refresh()
        assert _blas_now() == min(cores, before)  # not looked at again within the second
        clock.t += 0.6
        bt.refresh()
        assert _blas_now() == 1 and bt.count == 1
        others[0] = 0
        clock.t += 1.0
        bt.refresh()
        assert _blas_now() == min(cores, before)  # and back when it stops
    finally:
        bt.restore()
    assert _blas_now() == before


def test_quiet_machine_times_one_thread_against_blas_threads_and_keeps_the_faster(monkeypatch) -> None:
    cores, before = _two_cores()
    n = min(cores, before)
    monkeypatch.setattr(th, "_others_running", lambda: 0)
    monkeypatch.setattr(th, "_free_cache", None)
    clock = _Clock(0.0)
    bt = th.BlasThreads(None, 1 << 26, clock=clock).apply()
    N = th.TRIAL_BATCHES

    def batches(k: int, seconds: float, m: int = 128) -> list[bool]:
        return [bt.tick(seconds, m) for _ in range(k)]

    try:
        assert bt.measuring and bt.count == n and _blas_now() == n
        assert not any(batches(3 * N, 2e-3))  # no trial before TRIAL_FIRST seconds
        clock.t += th.TRIAL_FIRST
        assert not bt.tick(1e-3, 40) and not bt._trial  # no trial starts on an epoch's smaller last batch
        assert batches(N, 2e-3) == [False] * (N - 1) + [True]  # BLAS's threads timed, then one thread tried
        assert bt.count == 1 and _blas_now() == 1
        assert not any(batches(3, 1e-3, m=40))  # an epoch's smaller last batch does not count
        assert not any(batches(N, 1.5e-3))  # 1.5 ms <= 0.9 x 2 ms: one thread stays
        assert bt.one and bt.count == 1 and _blas_now() == 1
        clock.t += 1.1
        bt.refresh()  # the load unchanged: the measured choice holds
        assert bt.count == 1 and _blas_now() == 1
        assert not any(batches(N, 1.5e-3))  # the next trial not yet due
        clock.t += th.TRIAL_EVERY
        assert batches(N, 1.5e-3)[-1] and bt.count == n and _blas_now() == n  # BLAS's threads tried again
        assert batches(N, 1.4e-3)[-1]  # 1.4 ms > 0.9 x 1.5 ms: not faster enough, back to one thread
        assert bt.one and bt.count == 1 and _blas_now() == 1
        clock.t += th.TRIAL_EVERY
        assert batches(N, 2e-3)[-1] and batches(N, 1e-3) == [False] * N  # BLAS's threads faster again: kept
        assert not bt.one and bt.count == n and _blas_now() == n
        monkeypatch.setattr(th, "_others_running", lambda: cores + 3)  # then other programs start
        monkeypatch.setattr(th, "_free_cache", None)
        clock.t += 1.1
        bt.refresh()
        assert (bt.count, bt.parts) == (1, n) and not bt.measuring and not bt.one
        clock.t += 10
        assert not any(batches(3 * N, 1e-3))  # the split is not timed
    finally:
        bt.restore()
    assert _blas_now() == before
    assert not th.BlasThreads(2, 1 << 26).measuring and not th.BlasThreads(None, 10).measuring
    assert not th.BlasThreads(None, th.TRIAL_MAX_WORK).measuring  # large products: not timed
    # long batches: three in each setting, and the next trial after TRIAL_SPACING times the trial's time
    monkeypatch.setattr(th, "_others_running", lambda: 0)
    monkeypatch.setattr(th, "_free_cache", None)
    clock = _Clock(0.0)
    bt = th.BlasThreads(None, 1 << 26, clock=clock).apply()
    try:
        clock.t += th.TRIAL_FIRST
        assert batches(3, 0.2) == [False, False, True] and bt.count == 1
        assert batches(3, 0.4) == [False, False, True] and bt.count == n  # one thread slower: back
        clock.t += th.TRIAL_SPACING * 1.8 - 0.01
        assert not any(batches(10, 0.2)) and bt.count == n  # not yet
        clock.t += 0.01
        assert batches(3, 0.2)[-1] and bt.count == 1
    finally:
        bt.restore()
    assert _blas_now() == before


@pytest.mark.parametrize("given", [False, True])
def test_a_run_that_tries_one_thread_trains_the_same_up_to_rounding(monkeypatch, given) -> None:
    cores, before = _two_cores()
    monkeypatch.setattr(th, "_others_running", lambda: 0)
    monkeypatch.setattr(th, "_free_cache", None)
    # a trial every two batches, each batch in both settings
    monkeypatch.setattr(th, "TRIAL_FIRST", 0.0)
    monkeypatch.setattr(th, "TRIAL_EVERY", 0.0)
    monkeypatch.setattr(th, "TRIAL_SPACING", 0.0)
    monkeypatch.setattr(th, "TRIAL_BATCHES", 1)

    class PerBatch(Callback):
        def __init__(self) -> None:
            self.seen: list[int] = []

        def on_batch_end(self, loop, batch, n_batches) -> None:
            self.seen.append(_blas_now())

    # given: fit(batches=...), whose batch size is known only after its first epoch; m large enough
    # that the whole set's product (300 x 256 x m) is past TRIAL_MAX_WORK, which a batch's is not
    m = 4096 if given else 512
    X, Y = _data(n0=300, m=m)
    order = dict(batches=lambda e: [np.arange(s, s + 128) for s in range(0, m, 128)]) if given else \
        dict(batch_size=128)
    assert 300 * 256 * m >= th.TRIAL_MAX_WORK or not given
    seen = PerBatch()
    tried = dl.Network([300, 256, 64, 1], seed=0)
    tried.fit(X, Y, epochs=3, optimizer="gd", learning_rate=0.05, callbacks=[seen], **order)
    one = dl.Network([300, 256, 64, 1], seed=0)
    one.fit(X, Y, epochs=3, optimizer="gd", learning_rate=0.05, threads=1, **order)
    assert 1 in seen.seen and min(cores, before) in seen.seen  # both settings ran
    for k, v in tried.parameters.items():
        np.testing.assert_allclose(v, one.parameters[k], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tried.history.cost, one.history.cost, rtol=1e-12)
    assert _blas_now() == before


# -- products split across threads when other programs hold cores (threads.SplitProducts) ------------
def _split_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("deeplayers-products")]


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_split_products_equal_np_dot(parts, dtype) -> None:
    rng = np.random.default_rng(parts)
    W, A = rng.standard_normal((257, 300)).astype(dtype), rng.standard_normal((128, 300)).astype(dtype).T
    sp = th.SplitProducts(parts)
    try:
        M, N = rng.standard_normal((300, 257)).astype(dtype), rng.standard_normal((40, 300)).astype(dtype)
        # C- and F-ordered operands and transposed views (W[l]^T dZ[l], dZ[l] A[l-1]^T)
        for lhs, rhs in ((W, A), (np.asfortranarray(W), A), (M.T, N.T), (W, np.ascontiguousarray(N.T))):
            out = np.empty((lhs.shape[0], rhs.shape[1]), dtype)
            assert sp.dot(lhs, rhs, out) is out
            np.testing.assert_allclose(out, lhs.astype(np.float64) @ rhs.astype(np.float64),
                                       rtol=0, atol=1e-10 if dtype == np.float64 else 1e-3)
    finally:
        sp.close()
    assert not _split_threads()


def test_split_products_take_blocks_of_a_transposed_array_without_copying() -> None:
    """W[l]^T dZ[l] split by rows gives each part a block of W[l]^T, neither C- nor F-contiguous:
    np.dot would copy it (64 KB a part for mnist's W[2]); BLAS takes it with its leading dimension."""
    import tracemalloc

    from deeplayers import _gemm

    if not _gemm.available(np.dtype(np.float32)):
        pytest.skip("no OpenBLAS of NumPy's found: np.dot copies the block")
    rng = np.random.default_rng(0)
    W, dZ = rng.standard_normal((128, 256), dtype=np.float32), rng.standard_normal((128, 128), dtype=np.float32)
    out = np.empty((256, 128), np.float32)
    sp = th.SplitProducts(2)
    try:
        sp.dot(W.T, dZ, out)
        tracemalloc.start()
        try:
            sp.dot(W.T, dZ, out)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        sp.close()
    assert peak < 16_384, f"{peak} bytes allocated: a block of W^T was copied ({W[:, :128].nbytes} bytes)"
    np.testing.assert_allclose(out, W.T.astype(np.float64) @ dZ.astype(np.float64), rtol=0, atol=1e-3)
    # and the gemm itself: any leading dimension, the product's bits, refused where it cannot run
    for lhs, rhs in ((W.T[:100], dZ), (W.T[50:200], dZ[:, 3:90]), (W[:, 10:60], np.asfortranarray(dZ[10:60, :90]))):
        got = np.full((lhs.shape[0], rhs.shape[1]), np.nan, np.float32)
        assert _gemm.product(got, lhs, rhs)
        np.testing.assert_allclose(got, np.dot(np.ascontiguousarray(lhs), rhs), rtol=1e-5, atol=1e-4)
    got = np.zeros((128, 128), np.float32)
    assert not _gemm.product(got, W[:, ::2], dZ) and not _gemm.product(got, W[:, :128].astype(np.float64), dZ)
    assert not got.any()


def test_split_products_caller_does_the_parts_no_thread_started() -> None:
    """A worker the OS never schedules delays nothing: the caller claims every part left."""
    rng = np.random.default_rng(0)
    W, A = rng.standard_normal((256, 300)), rng.standard_normal((300, 100))
    sp = th.SplitProducts(2)
    stuck, sp._wake = sp._wake, threading.Semaphore(0)  # the worker now waits on a semaphore nobody releases
    try:
        out = np.empty((256, 100))
        caller = threading.Thread(target=sp.dot, args=(W, A, out), daemon=True)  # (a hang fails, not blocks)
        caller.start()
        caller.join(timeout=30)
        assert not caller.is_alive(), "the caller waited for a part no thread had started"
        np.testing.assert_allclose(out, W @ A, rtol=1e-12)
    finally:
        sp._wake = stuck
        sp.close()
    # a part that fails raises in the caller, and the split still works afterwards
    sp = th.SplitProducts(2)
    try:
        with pytest.raises(ValueError, match="not acceptable|output array"):
            sp.dot(W, A, np.empty((256, 100), np.float32))
        np.testing.assert_allclose(sp.dot(W, A, np.empty((256, 100))), W @ A, rtol=1e-12)
    finally:
        sp.close()
    assert not _split_threads()


def test_loaded_machine_splits_the_products_and_trains_the_same(monkeypatch) -> None:
    cores, before = _two_cores()
    monkeypatch.setattr(th, "_free_cache", None)
    monkeypatch.setattr(th, "_others_running", lambda: cores + 3)  # other programs on every core
    bt = th.BlasThreads(None, 1 << 30)
    assert (bt.count, bt.parts) == (1, min(cores, before))
    bt.apply()
    try:
        dot = bt.products()
        assert dot.__self__.parts == bt.parts and _blas_now() == 1 and len(_split_threads()) == bt.parts - 1
    finally:
        bt.restore()
    assert _blas_now() == before and not _split_threads()
    monkeypatch.setattr(th, "_others_running", lambda: 0)  # a quiet machine: BLAS's own threads
    monkeypatch.setattr(th, "_free_cache", None)
    bt = th.BlasThreads(None, 1 << 30)
    assert (bt.count, bt.parts) == (min(cores, before), 1) and bt.products() is th._dot
    # a few milliseconds of other work (one look of five samples) is not a competing program:
    # two more looks decide
    samples = iter(range(1000))
    monkeypatch.setattr(th, "_others_running", lambda: cores + 3 if next(samples) < 5 else 0)
    monkeypatch.setattr(th, "_free_cache", None)
    bt = th.BlasThreads(None, 1 << 30)
    assert (bt.count, bt.parts) == (min(cores, before), 1) and next(samples) == 15
    # a whole fit beside the load: the same run as with one thread, up to rounding (BLAS may take an
    # edge block of rows through another kernel)
    X, Y = _data(n0=300, m=512)
    seen: list = []
    real = th.BlasThreads.products
    monkeypatch.setattr(th.BlasThreads, "products", lambda self: seen.append(self.parts) or real(self))
    monkeypatch.setattr(th, "_others_running", lambda: cores + 3)
    monkeypatch.setattr(th, "_free_cache", None)
    split = dl.Network([300, 256, 64, 1], seed=0)
    split.fit(X, Y, epochs=2, batch_size=128, optimizer="gd", learning_rate=0.05)
    one = dl.Network([300, 256, 64, 1], seed=0)
    one.fit(X, Y, epochs=2, batch_size=128, optimizer="gd", learning_rate=0.05, threads=1)
    assert seen[0] == min(cores, before) and seen[-1] == 1
    for k, v in split.parameters.items():
        np.testing.assert_allclose(v, one.parameters[k], rtol=1e-12, atol=1e-15)
    assert not _split_threads() and _blas_now() == before


def test_the_step_in_the_products_is_split_as_they_are(monkeypatch) -> None:
    """Other programs start after two quiet epochs: from the epoch whose look at the threads splits
    the products (at its start), W[l] -= dZ[l] A[l-1]^T is split by rows as they are (one gemm per
    part), not one gemm on one thread; the run trains as one thread does, up to rounding."""
    from deeplayers import _gemm

    cores, before = _two_cores()
    if not _gemm.available(np.dtype(np.float64)):
        pytest.skip("no OpenBLAS of NumPy's found: the step is never inside the products")
    t = [0.0]

    def clock() -> float:  # every look at the threads due (at most once a second)
        t[0] += 2.0
        return t[0]

    epoch = [0]
    monkeypatch.setitem(th.BlasThreads.__init__.__kwdefaults__, "clock", clock)
    monkeypatch.setattr(th, "_others_running", lambda: cores + 3 if epoch[0] >= 2 else 0)
    monkeypatch.setattr(th, "_free_cache", None)
    rows: dict[int, set] = {}  # epoch: the numbers of rows of W[1] the gemm subtracted from
    real = _gemm.subtract_product

    def spy(W, A, B):
        if W.shape[1] == 300:
            rows.setdefault(epoch[0], set()).add(W.shape[0])
        return real(W, A, B)

    monkeypatch.setattr(_gemm, "subtract_product", spy)

    class Epochs(Callback):
        def on_epoch_end(self, loop, e, logs) -> None:
            epoch[0] = e + 1

    X, Y = _data(n0=300, m=640)
    net = dl.Network([300, 256, 64, 1], seed=0)
    net.fit(X, Y, epochs=4, batch_size=128, optimizer="gd", learning_rate=0.05, callbacks=[Epochs()])
    assert rows[0] == rows[1] == {256} and rows[2] == rows[3] == {256 // cores}
    assert not _split_threads() and _blas_now() == before
    one = dl.Network([300, 256, 64, 1], seed=0)
    one.fit(X, Y, epochs=4, batch_size=128, optimizer="gd", learning_rate=0.05, threads=1)
    for k, v in net.parameters.items():
        np.testing.assert_allclose(v, one.parameters[k], rtol=1e-12, atol=1e-15)


def test_a_refresh_on_an_unchanged_machine_takes_one_sample(monkeypatch) -> None:
    # once a second during a run: one look (no sleeps) while the machine agrees with the choice in
    # use; one that does not is checked by the median of five and confirmed by two more such looks
    cores, before = _two_cores()
    looks, others = [0], [0]

    def running() -> int:
        looks[0] += 1
        return others[0]

    monkeypatch.setattr(th, "_others_running", running)
    monkeypatch.setattr(th, "_free_cache", None)
    clock = _Clock(0.0)
    bt = th.BlasThreads(None, 1 << 30, clock=clock).apply()
    try:
        looks[0] = 0
        for _ in range(3):
            clock.t += 1.0
            bt.refresh()
        assert looks[0] == 3 and _blas_now() == min(cores, before)
        others[0] = cores + 3  # a competing load starts
        looks[0] = 0
        clock.t += 1.0
        bt.refresh()
        assert looks[0] == 1 + 5 + 2 * 5 and bt.count == 1 and _blas_now() == 1
        looks[0] = 0
        clock.t += 1.0
        bt.refresh()  # and holds: one look again
        assert looks[0] == 1 and bt.count == 1
    finally:
        bt.restore()
    assert _blas_now() == before


def test_estimator_n_jobs_checked_and_applied() -> None:
    pytest.importorskip("sklearn")
    from sklearn.utils._param_validation import InvalidParameterError

    from deeplayers.sklearn import DNNClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    y = (X[:, 0] > 0).astype(int)
    for bad in (0, "all", 2.5):
        with pytest.raises(InvalidParameterError, match="'n_jobs' parameter of DNNClassifier must be an int"):
            DNNClassifier(n_jobs=bad, epochs=1).fit(X, y)
    seen: list[int] = []
    real = th.BlasThreads.apply

    def spy(self):
        out = real(self)
        seen.append(_blas_now())
        return out

    th.BlasThreads.apply = spy
    try:
        DNNClassifier(n_jobs=1, epochs=2).fit(X, y).predict(X)
    finally:
        th.BlasThreads.apply = real
    assert seen == [1, 1]  # fit, then predict


def test_cli_threads_checked_and_passed(tmp_path, capsys, monkeypatch) -> None:
    from deeplayers.cli import main

    for bad in ("0", "many", "1.5"):
        assert main(["train", "wine", "--threads", bad, "--out", str(tmp_path / "m.npz"), "--no-plot", "-q"]) == 2
        err = capsys.readouterr().err
        assert "Invalid value for '--threads': give a positive number of threads, -1 for every core, -2 for all but " \
               f"one, ... (down to -{th.available_cores()} on this machine), or 'auto', got '{bad}'" in err
    counts: list[int] = []
    real = th.BlasThreads.apply
    monkeypatch.setattr(th.BlasThreads, "apply", lambda self: (counts.append(self.count), real(self))[1])
    assert main(["train", "wine", "--layers", "4", "--epochs", "1", "--threads", "-1", "--out",
                 str(tmp_path / "m.npz"), "--no-plot", "-q"]) == 0
    assert counts == [th.available_cores()]


def test_search_workers_times_threads_within_the_cores() -> None:
    pytest.importorskip("joblib")
    X, Y = _data(m=200)
    space = {"hidden": [[4], [6]], "learning_rate": [0.1]}
    res = dl.search(X, Y, space, strategy="grid", epochs=2, n_jobs=2, storage=None, seed=0)
    threads = [r["threads"] for r in res.records]
    assert len(threads) == 2 and all(isinstance(t, int) and t >= 1 for t in threads)
    assert all(2 * t <= max(2, th.available_cores()) for t in threads)
    assert th.BlasThreads.__module__ == "deeplayers.threads"


def test_search_on_a_local_dask_cluster_shares_the_cores_too() -> None:
    pytest.importorskip("distributed")
    X, Y = _data(m=200)
    res = dl.search(X, Y, {"hidden": [[4], [6]], "learning_rate": [0.1]}, strategy="grid", epochs=2, n_jobs=2,
                    scheduler="local", storage=None, seed=0)
    threads = [r["threads"] for r in res.records]
    assert len(threads) == 2 and all(isinstance(t, int) and 1 <= t and 2 * t <= max(2, th.available_cores())
                                     for t in threads)


def test_threadpool_controller_made_once(monkeypatch) -> None:
    import threadpoolctl

    th._get_controller()
    made = []
    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", lambda *a, **k: made.append(1))
    X, Y = _data()
    net = dl.Network([30, 4, 1], seed=0)
    for _ in range(3):
        net.fit(X, Y, epochs=1, threads=1)
    assert made == []


# -- progress within an epoch ---------------------------------------------------------------------------
class _Clock:
    def __init__(self, step: float) -> None:
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def test_progress_bar_moves_within_a_long_epoch() -> None:
    X, Y = _data(m=200)
    out = io.StringIO()
    # every batch "takes" 0.125 s: a 200-batch epoch of 25 s refreshes the bar every 0.5 s (4 batches)
    bar = _Progress(1, clock=_Clock(0.125), bar=True, file=out)
    dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=2, batch_size=1, callbacks=[bar])
    assert bar.refreshes == 2 * 200 // 4
    text = out.getvalue()
    assert "0.5/2" in text and "1.5/2" in text and "| 2/2 " in text  # fractions of an epoch, then whole ones
    assert "2.0/2" not in text
    # no time passing: no refresh within epochs
    still = _Progress(1, clock=_Clock(0.0), bar=True, file=io.StringIO())
    dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=1, batch_size=1, callbacks=[still])
    assert still.refreshes == 0


def test_progress_lines_within_a_long_epoch_without_a_terminal() -> None:
    X, Y = _data(m=100)
    out = io.StringIO()
    lines = _Progress(1, clock=_Clock(1.0), bar=False, file=out)  # a second per batch
    dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=1, batch_size=1, callbacks=[lines])
    within = [s for s in out.getvalue().splitlines() if ": batch " in s]
    assert within[:2] == ["epoch 1/1: batch 10/100", "epoch 1/1: batch 20/100"] and len(within) == 10


# -- a given batch order -------------------------------------------------------------------------------
def _orders(m: int, epochs: int, B: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(5)
    return [[o[s:s + B] for s in range(0, m, B)] for o in (rng.permutation(m) for _ in range(epochs))]


@pytest.mark.parametrize("optimizer, l2, more", [("gd", 0.0, False), ("adam", 0.0, False), ("gd", 0.1, False),
                                                 ("gd", 0.0, True)])
def test_given_batches_equal_a_manual_loop(optimizer, l2, more) -> None:
    X, Y = _data(m=250)
    order = _orders(250, 3, 64)
    if more:  # epochs that visit more than m samples (some twice): the epoch's cost is over all it saw
        order = [epoch + [np.arange(e, 250, 2), np.arange(0, 90)] for e, epoch in enumerate(order)]
    net = dl.Network([30, 8, 1], seed=2)
    # with l2, the end-of-run checks need a batch size, which a given order only tells epoch by epoch
    h = net.fit(X, Y, epochs=3, batches=order, optimizer=optimizer, learning_rate=0.05, l2=l2)
    # by hand: the same batches, the same optimizer, one step each, in the notation
    ref = dl.Network([30, 8, 1], seed=2)
    opt = dl.optimizers.get_optimizer(optimizer, 0.05)
    costs = []
    for epoch in range(3):
        total = 0.0
        for idx in order[epoch]:
            Xb, Yb = X[:, idx], Y[:, idx]
            AL = ref.forward(Xb)
            total += ref.cost(AL, Yb, l2=l2) * len(idx)
            grads = ref.backward(Yb, l2=l2)
            opt.begin_step()
            for layer in ref.layers:
                layer.dW[...], layer.db[...] = grads[f"dW{layer.l}"], grads[f"db{layer.l}"]
                opt.update(layer)
        costs.append(total / sum(len(idx) for idx in order[epoch]))
    for k, v in net.parameters.items():
        np.testing.assert_allclose(v, ref.parameters[k], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.cost, costs, rtol=1e-12)
    # a callable gives the same run
    again = dl.Network([30, 8, 1], seed=2)
    again.fit(X, Y, epochs=3, batches=lambda e: order[e], optimizer=optimizer, learning_rate=0.05, l2=l2)
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, again.parameters[k])


def test_given_batches_checked() -> None:
    X, Y = _data(m=50)
    net = dl.Network([30, 4, 1], seed=0)
    with pytest.raises(ConfigError, match="batch_size or batches, not both"):
        net.fit(X, Y, epochs=1, batches=[[np.arange(10)]], batch_size=10)
    with pytest.raises(ConfigError, match="gives the batches of 1 epochs, but the run has 2"):
        net.fit(X, Y, epochs=2, batches=[[np.arange(10)]])
    with pytest.raises(ConfigError, match=r"batch 1 of epoch 0 holds column index 50, outside 0..m-1 = 0..49"):
        net.fit(X, Y, epochs=1, batches=[[np.arange(10), np.arange(45, 51)]])
    with pytest.raises(ConfigError, match="batch 0 of epoch 0 must be a non-empty 1-D array of integer"):
        net.fit(X, Y, epochs=1, batches=[[np.array([0.5, 1.0])]])
    with pytest.raises(ConfigError, match=r"epoch 0's entry must be an iterable of index arrays, got int 0;"):
        net.fit(X, Y, epochs=1, batches={0: [np.arange(10)]})  # (its keys)
    with pytest.raises(ConfigError, match="validation_split would reorder"):
        net.fit(X, Y, epochs=1, batches=[[np.arange(10)]], validation_split=0.2)


def test_given_batches_range_errors_name_the_first_bad_batch() -> None:
    X, Y = _data(m=50)
    net = dl.Network([30, 4, 1], seed=0)
    # the epoch is checked in one look; on an error each batch is looked at, in order
    with pytest.raises(ConfigError, match=r"batch 1 of epoch 0 holds column index -1, outside"):
        net.fit(X, Y, epochs=1, batches=[[np.arange(10), np.array([3, -1]), np.array([-7, 60])]])
    with pytest.raises(ConfigError, match=r"batch 0 of epoch 1 holds column index 99, outside 0..m-1 = 0..49"):
        net.fit(X, Y, epochs=2, batches=[[np.arange(50)], [np.array([99]), np.array([-2])]])
    big = np.array([2**63 + 5], np.uint64)  # would wrap to a negative index if converted first
    with pytest.raises(ConfigError, match=f"batch 0 of epoch 0 holds column index {2**63 + 5}, outside"):
        net.fit(X, Y, epochs=1, batches=[[big]])
    # plain lists and unsigned integers are indices too
    a = dl.Network([30, 4, 1], seed=0)
    a.fit(X, Y, epochs=1, batches=[[list(range(25)), np.arange(25, 50, dtype=np.uint32)]])
    b = dl.Network([30, 4, 1], seed=0)
    b.fit(X, Y, epochs=1, batches=[[np.arange(25), np.arange(25, 50)]])
    for k, v in a.parameters.items():
        np.testing.assert_array_equal(v, b.parameters[k])


@pytest.mark.parametrize("kind", ["shuffled", "given", "given, more than m", "weighted"])
def test_epoch_gather_equals_batch_by_batch_gather(monkeypatch, kind) -> None:
    """Small epochs are gathered in one call and sliced, large ones batch by batch: the same
    samples in the same layout, so the same run to the bit."""
    from deeplayers.training import batching

    X, Y = _data(m=250)
    order = _orders(250, 3, 64)
    if kind == "given, more than m":
        order = [epoch + [np.arange(e, 250, 2)] for e, epoch in enumerate(order)]
    kw: dict = {"batch_size": 32, "seed": 3} if kind in ("shuffled", "weighted") else {"batches": order}
    if kind == "weighted":
        kw["sample_weight"] = np.random.default_rng(0).uniform(0.0, 2.0, 250)

    def run() -> tuple:
        net = dl.Network([30, 8, 1], seed=2)
        h = net.fit(X, Y, epochs=3, learning_rate=0.05, optimizer="gd", **kw)
        return net.parameters, h.cost

    assert 250 * (30 + 1) * 8 <= batching.EPOCH_GATHER_BYTES  # one call per epoch here
    P1, J1 = run()
    monkeypatch.setattr(batching, "EPOCH_GATHER_BYTES", 0)  # now batch by batch
    P2, J2 = run()
    assert J1 == J2
    for k, v in P1.items():
        np.testing.assert_array_equal(v, P2[k])


def test_cpu_count_is_sane() -> None:
    assert 1 <= th.available_cores() <= (os.cpu_count() or 1)


def test_estimator_n_jobs_true_is_refused_naming_n_jobs() -> None:
    """scikit-learn's check lets a bool through (an Integral); fit then refused it as 'threads', a word
    the estimator does not have."""
    pytest.importorskip("sklearn")
    from deeplayers.sklearn import DNNClassifier

    X = np.random.default_rng(0).standard_normal((40, 3))
    with pytest.raises(dl.ConfigError, match=r"^n_jobs must be a whole number of threads .* got True"):
        DNNClassifier(n_jobs=True, epochs=1).fit(X, (X[:, 0] > 0).astype(int))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("verbose, bar", [(1, True), (2, False)])
def test_verbose_two_prints_a_line_per_epoch_on_a_terminal_too(monkeypatch, capsys, verbose, bar) -> None:
    """fit(verbose=2) and 'deeplayers train -v' promise a line per epoch "instead of the progress
    display"; on a terminal they drew the bar all the same."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    X, Y = _data(m=60)
    dl.Network([30, 4, 1], seed=0).fit(X, Y, epochs=3, batch_size=20, verbose=verbose)
    lines = [s for s in capsys.readouterr().out.splitlines() if s.startswith("epoch ")]
    assert ("epoch/s" in terminal.getvalue()) == bar
    assert [s.split("  ")[0] for s in lines] == ([] if bar else ["epoch 1/3", "epoch 2/3", "epoch 3/3"])
