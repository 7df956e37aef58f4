"""How many BLAS threads deeplayers' matrix products use: the one place that decides.

Every face passes its option here (``Network.fit(threads=...)``, the estimators' ``n_jobs``, the
command line's ``--threads``, search's workers). The values follow scikit-learn's ``n_jobs``:

* ``None``: automatic (below);
* a positive count: that many threads;
* ``-1``: every core this process may run on; ``-2`` all but one, and so on (cores + 1 + n).

The automatic choice: one thread when the largest matrix product of a batch is small (below
:data:`SMALL_GEMM` multiply-adds, threads cost more in synchronisation than they save); otherwise
the cores nobody else is using right now (the cores this process may run on, less the other
runnable threads the kernel counts in ``/proc/loadavg`` less this process's own; the 1-minute load
average elsewhere), at least 1, and never more than BLAS's setting when the run starts
(``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, or a caller's ``threadpool_limits``). OpenBLAS
threads busy-wait for each other: beside two CPU-bound processes on 2 cores, 2 threads were several
times slower than 1, so BLAS never gets more than the free cores.

When other programs hold some of the cores, the training loop's large products are instead split
by rows across as many threads as BLAS would have had (:class:`SplitProducts`), each part a
one-thread BLAS call, and the calling thread does every part no other thread has started: a thread
the OS has not scheduled costs nothing and no thread spins, while the run still gets its share of
the CPU (beside two CPU-bound processes on 2 cores, benchmarks/run.py's mnist epoch took 2.15x its
quiet time, against 2.59x with one BLAS thread and 5.82x with OpenBLAS's two). The automatic choice
is looked at again at epoch ends, at most once a second, so a long run adapts when other programs
start or stop.

What the load cannot show is measured: on a virtual machine the host may slow the exchanges between
BLAS's threads (its other tenants, where it places the virtual cores) without any runnable thread
in the guest, and a mini-batch's small products then ran 1.3x slower with two BLAS threads than
with one (mnist 784-256-128-10, B=128, 2 cores, for seconds at a time; about 0.7x the time in the
quiet phases between). So on a quiet machine a run times its batches with BLAS's threads against
one thread every :data:`TRIAL_EVERY` seconds (:data:`TRIAL_BATCHES` batches each) and keeps the
faster (:meth:`BlasThreads.tick`).

The thread pools are found once (a :class:`threadpoolctl.ThreadpoolController`), not once per
call; only when Python has imported modules since, which may have loaded another BLAS, are they
looked for again.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import numpy as np

from . import _gemm
from .errors import ConfigError

__all__ = ["SMALL_GEMM", "available_cores", "free_cores", "check_threads", "resolve_threads", "blas_threads",
           "BlasThreads", "SplitProducts"]

# below this many multiply-adds in a layer's largest matrix product per batch, BLAS threads cost
# more in synchronisation than they save (measured: tiny 2-16-16-1 networks run ~2x faster on one)
SMALL_GEMM = 1 << 20
#: a quiet machine's BLAS threads are timed against one thread after TRIAL_FIRST seconds of a
#: run, then every TRIAL_EVERY seconds, or TRIAL_SPACING times the last trial's own time if that is
#: longer (a trial's slower half costs at most a few percent): TRIAL_BATCHES batches in each
#: setting (at least 3, and no more once they took TRIAL_SECONDS), and the other setting is kept
#: when its median batch takes at most SWITCH times the one in use. Only runs whose largest
#: product per batch is under TRIAL_MAX_WORK multiply-adds are timed: in larger ones the threads'
#: exchanges are a small part of each product
TRIAL_FIRST, TRIAL_EVERY, TRIAL_SPACING, TRIAL_BATCHES, TRIAL_SECONDS, SWITCH = 0.5, 2.0, 50, 8, 0.05, 0.9
TRIAL_MAX_WORK = 1 << 28

_controller: Any = None  # the process's ThreadpoolController, made on first use
_modules_seen = 0  # len(sys.modules) when the controller was made
_free_cache: tuple[float, int] | None = None  # (when, free cores): runs started within a second share a look


def _get_controller() -> Any:
    """The process's ThreadpoolController, created once (again after new imports)."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        # made again only when Python imported something since (which may have loaded another
        # BLAS, e.g. SciPy's or PyTorch's): a cheap test, so fits reuse one controller
        from threadpoolctl import ThreadpoolController
        _modules_seen = len(sys.modules)
        _controller = ThreadpoolController()
    return _controller


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; ``os.cpu_count()`` where unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _own_running() -> int:
    """This process's threads that are running or runnable now (BLAS threads spin after a
    product, so they are counted here, not as another program's load); at least 1, the caller."""
    n = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                    state = f.read().rpartition(")")[2].split()[0]
            except (OSError, IndexError):
                continue
            n += state == "R"
    except OSError:
        pass
    return max(1, n)


def _others_running() -> float:
    """Threads of other programs competing for the CPU now: the runnable count of /proc/loadavg
    less this process's own; the 1-minute load average elsewhere."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            running = int(f.read().split()[3].split("/")[0])
        return max(0, running - _own_running())
    except (OSError, ValueError, IndexError):
        try:
            return max(0.0, os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0


def free_cores(samples: int = 5) -> int:
    """Cores nobody else is using right now: at least 1, at most :func:`available_cores`. The
    runnable count is a snapshot, so the median of ``samples`` looks, a millisecond apart, is used."""
    cores = available_cores()
    looks = []
    for i in range(max(1, samples)):
        if i:
            time.sleep(0.001)
        looks.append(_others_running())
    others = sorted(looks)[len(looks) // 2]
    return max(1, min(cores, cores - int(round(others))))


def check_threads(threads: Any, name: str = "threads") -> int | None:
    """``threads`` checked: None, a positive int, or a negative int (cores + 1 + n, as
    scikit-learn's ``n_jobs``). Raises ConfigError naming ``name`` (the face's word for it)."""
    if threads is None:
        return None
    import numbers

    if (isinstance(threads, bool) or not isinstance(threads, numbers.Integral)) and not (
            isinstance(threads, float) and threads.is_integer()):
        raise ConfigError(f"{name} must be a whole number of threads (a positive count, -1 for every core) or "
                          f"None for the automatic choice, got {threads!r:.40}")
    threads = int(threads)
    if threads == 0:
        raise ConfigError(f"{name} must not be 0: give a positive count of threads, -1 for every core, or None "
                          "for the automatic choice")
    return threads


def resolve_threads(threads: int | None, work: int, name: str = "threads", cap: int | None = None,
                    fresh: bool = True, samples: int = 5) -> int:
    """The BLAS thread count for ``threads`` (see :func:`check_threads`) when a batch's largest
    matrix product is ``work`` multiply-adds; the automatic count never exceeds ``cap`` (default:
    BLAS's setting now, which ``OPENBLAS_NUM_THREADS`` or a caller's ``threadpool_limits`` set).
    ``fresh=False`` may reuse a look at the free cores taken less than a second ago (many short
    calls, e.g. predictions, then cost no sampling each); ``samples``: :func:`free_cores`'."""
    threads = check_threads(threads, name)
    cores = available_cores()
    if threads is not None:
        return threads if threads > 0 else max(1, cores + 1 + threads)
    if work < SMALL_GEMM:
        return 1
    global _free_cache
    cap = blas_threads() if cap is None else cap
    now = time.monotonic()
    if not fresh and _free_cache is not None and now - _free_cache[0] < 1.0:
        n = _free_cache[1]
    else:
        n = free_cores(samples)
        _free_cache = (now, n)
    return min(n, cap) if cap else n


def _blas_libs() -> list[Any]:
    """The BLAS libraries' controllers (threadpoolctl LibController: ``num_threads``,
    ``set_num_threads``), from the process's one ThreadpoolController."""
    return [lib for lib in _get_controller().lib_controllers if lib.user_api == "blas"]


def blas_threads() -> int | None:
    """BLAS's thread count now (the largest over the BLAS libraries loaded), None when unknown."""
    counts = [lib.num_threads for lib in _blas_libs()]
    return max(counts) if counts else None


# np.dot's C function without the __array_function__ dispatch (~0.35 us of a 1 us small product): for
# the workspace's and the split's products, whose operands are ndarrays. np.dot where NumPy has none.
_dot = getattr(np.dot, "_implementation", np.dot)


def _product_into(A: np.ndarray, B: np.ndarray, out: np.ndarray) -> None:
    """One part of :meth:`SplitProducts.dot`: out = A B. A block of rows of a transposed array
    (W[l]^T dZ[l]) is neither C- nor F-contiguous, and np.dot would copy it (64 KB a part for an
    mnist layer): BLAS takes it as it is, with its leading dimension."""
    if A.flags.c_contiguous or A.flags.f_contiguous or not _gemm.product(out, A, B):
        _dot(A, B, out)


def _subtract_into(A: np.ndarray, B: np.ndarray, W: np.ndarray) -> None:
    """One part of :meth:`SplitProducts.subtract`: rows of arrays the whole of which the gemm takes."""
    if not _gemm.subtract_product(W, A, B):  # (never a part silently left out of the step)
        raise RuntimeError(f"the step's gemm refused a block of {W.shape[0]} rows it takes as a whole")


class SplitProducts:
    """Matrix products split by rows of the output across the calling thread and ``parts - 1``
    worker threads, each part one BLAS call (BLAS set to one thread).

    The parts are claimed, not assigned: the caller takes parts until none is left, then waits
    only for those a worker has started. A worker the OS has not scheduled yet (the cores are
    busy with other programs) therefore delays nothing, and nobody spins: the waiting is on a
    lock. Each part is a one-thread BLAS call over the whole inner dimension, so the result is the
    one-thread product's up to rounding (BLAS may take a block of rows at a part's edge through
    another kernel). Products under :data:`SMALL_GEMM` multiply-adds are not split. :meth:`subtract`
    splits plain gradient descent's step inside a product (W -= A B, ``_gemm``) the same way.
    """

    def __init__(self, parts: int) -> None:
        self.parts = max(1, int(parts))
        self._lock = threading.Lock()
        self._wake = threading.Semaphore(0)
        self._job: tuple | None = None  # (A, B, out, bounds, done) of the product in progress
        self._next = self._left = 0
        self._error: BaseException | None = None
        self._closed = False
        self._workers = [threading.Thread(target=self._serve, name=f"deeplayers-products-{i + 1}", daemon=True)
                         for i in range(self.parts - 1)]
        for t in self._workers:
            t.start()

    def dot(self, A: np.ndarray, B: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = A B (out C-contiguous, as for np.dot)."""
        return self._split(_product_into, A, B, out)

    def subtract(self, W: np.ndarray, A: np.ndarray, B: np.ndarray) -> bool:
        """W -= A B, each part the one gemm of ``_gemm.subtract_product`` on its rows of W; False (W
        untouched) where that gemm cannot run."""
        if not _gemm.runs(W, A, B):
            return False
        self._split(_subtract_into, A, B, W)
        return True

    def _split(self, part: Any, A: np.ndarray, B: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``part(A[rows], B, out[rows])`` for the parts' blocks of rows, across the threads."""
        n = out.shape[0]
        if self._closed or n < 2 * self.parts or n * A.shape[1] * B.shape[1] < SMALL_GEMM:
            part(A, B, out)
            return out
        step = -(-n // self.parts)
        bounds = [(s, min(s + step, n)) for s in range(0, n, step)]
        done = threading.Event()
        with self._lock:
            self._job = (part, A, B, out, bounds, done)
            self._next, self._left, self._error = 0, len(bounds), None
        for _ in self._workers:
            self._wake.release()
        self._run_parts()
        done.wait()
        with self._lock:
            self._job, error = None, self._error
        if error is not None:
            raise error
        return out

    def _run_parts(self) -> None:
        while True:
            with self._lock:
                job = self._job
                if job is None or self._next >= len(job[4]):
                    return
                i = self._next
                self._next += 1
            part, A, B, out, bounds, done = job
            lo, hi = bounds[i]
            try:
                part(A[lo:hi], B, out[lo:hi])
            except BaseException as e:  # raised in the caller's thread
                self._error = e
            with self._lock:
                self._left -= 1
                if self._left == 0:
                    done.set()

    def _serve(self) -> None:
        while True:
            self._wake.acquire()
            if self._closed:
                return
            self._run_parts()

    def close(self) -> None:
        """Stop the worker threads (a product in progress is finished first)."""
        self._closed = True
        for _ in self._workers:
            self._wake.release()
        for t in self._workers:
            t.join(timeout=10.0)


class BlasThreads:
    """Sets BLAS's thread count for a run, adapts the automatic choice at each :meth:`refresh`
    and puts the previous setting back on :meth:`restore` (or leaving a ``with`` block).

    ``count`` is BLAS's thread count, ``parts`` the threads the run's large products are split
    across (1: not split; see the module's docstring); :meth:`products` gives the function that
    computes them."""

    def __init__(self, threads: int | None, work: int, name: str = "threads", *,
                 clock: Any = time.monotonic) -> None:
        self.auto = check_threads(threads, name) is None and work >= SMALL_GEMM
        self.threads, self.work, self.name, self.clock = threads, work, name, clock
        self.cap = blas_threads() if self.auto else None  # the setting before ours: the automatic count's ceiling
        count = resolve_threads(threads, work, name, self.cap, fresh=False)
        self.count, self.parts = self._confirmed(self._choose(count), None)
        self.base = (self.count, self.parts)  # the choice from the load; count is 1 when ``one``
        self.one = False  # measured: one thread runs this network's batches faster than base now
        self._original: list[tuple[Any, int]] | None = None
        self._now: int | None = None
        self._split: SplitProducts | None = None
        self._looked = clock()
        self._trial = 0  # 0: none running; 1: timing the setting in use; 2: timing the other
        self._times: list[float] = []
        self._m, self._in_use = 0, 0.0  # the trial's (or last) batch size; the median batch of its first half
        self._spent = 0.0  # seconds of batches in the trial so far
        self._next_trial = self._looked + TRIAL_FIRST

    @property
    def measuring(self) -> bool:
        """Whether batches are timed (:meth:`tick`): an automatic choice of BLAS's own threads (at
        least two, not split)."""
        return self.auto and self.base[1] == 1 and self.base[0] >= 2 and self.work < TRIAL_MAX_WORK

    def tick(self, seconds: float, m: int) -> bool:
        """A batch of ``m`` columns took ``seconds`` (forward, backward and update). Runs the
        trials of one thread against BLAS's threads (see the module's docstring); True when the
        thread count changed, so the caller's record of the products (``products``) follows."""
        if not self._trial:
            # (never from an epoch's last, smaller batch: the trial counts batches of its first's size)
            smaller, self._m = m < self._m, m
            if smaller or self.clock() < self._next_trial or not self.measuring:
                return False
            self._trial, self._times, self._spent = 1, [], 0.0
        if m != self._m:  # (an epoch's last, smaller batch)
            return False
        times = self._times
        times.append(seconds)
        self._spent += seconds
        n = len(times)
        if n < TRIAL_BATCHES and (n < 3 or sum(times) < TRIAL_SECONDS):
            return False
        median = sorted(times)[n // 2]
        if self._trial == 1:  # the setting in use timed: now the other
            self._trial, self._times, self._in_use = 2, [], median
            self._use(not self.one)
            return True
        self._trial, self._next_trial = 0, self.clock() + max(TRIAL_EVERY, TRIAL_SPACING * self._spent)
        if median <= SWITCH * self._in_use:
            self.one = not self.one  # the other setting stays
            return False
        self._use(self.one)
        return True

    def rework(self, work: int) -> None:
        """The largest product per batch is ``work`` multiply-adds after all (a given batch order's
        size is known only once its first epoch ran): the automatic choice made again for it, so a
        run over ``fit(batches=...)`` gets the same thread count and trials as a shuffled one."""
        if work == self.work or self._original is None:
            return
        self.work = work
        self.auto = check_threads(self.threads, self.name) is None and work >= SMALL_GEMM
        if self.auto and self.cap is None:  # (the setting before ours)
            self.cap = max(n for _, n in self._original) if self._original else None
        count = resolve_threads(self.threads, work, self.name, self.cap, fresh=False)
        self.base = self.count, self.parts = self._confirmed(self._choose(count), None)
        self.one, self._trial, self._next_trial = False, 0, self.clock() + TRIAL_FIRST
        self._set(self.count)

    def _use(self, one: bool) -> None:
        self.count = 1 if one else self.base[0]
        self._set(self.count)

    def _choose(self, count: int) -> tuple[int, int]:
        """(BLAS threads, parts) from the automatic count: fewer free cores than BLAS may use
        means other programs run here, and the products are split instead of BLAS threaded."""
        if not self.auto:
            return count, 1
        cores = available_cores()
        most = min(self.cap or cores, cores)
        return (count, 1) if count >= most else (1, most)

    def _confirmed(self, seen: tuple[int, int], now: tuple[int, int] | None) -> tuple[int, int]:
        """A look ``seen`` that changes the choice ``now`` (at the start: one that sees other
        programs) checked by two more looks 10 ms apart; the middle of the three decides. A kernel
        thread busy for a few milliseconds is not a competing program (seen: a fit that split its
        products on a quiet machine for its first second, 1.6x slower than BLAS's own threads)."""
        if seen == (now or (seen[0], 1)):
            return seen
        looks = [seen]
        for _ in range(2):
            time.sleep(0.01)
            looks.append(self._choose(resolve_threads(None, self.work, cap=self.cap)))
        return sorted(looks)[1]

    def products(self) -> Any:
        """The function the run's matrix products go through now: ``dot(A, B, out)``."""
        if self.parts < 2:
            return _dot
        if self._split is None or self._split.parts != self.parts:
            self._close_split()
            self._split = SplitProducts(self.parts)
        return self._split.dot

    def subtract(self) -> Any:
        """The function plain gradient descent's step in a product goes through now:
        ``subtract(W, A, B)``, W -= A B, False where it cannot (``_gemm.subtract_product``, or split
        as the products are)."""
        self.products()
        return self._split.subtract if self.parts >= 2 and self._split is not None else _gemm.subtract_product

    def _close_split(self) -> None:
        if self._split is not None:
            self._split.close()
            self._split = None

    def apply(self) -> BlasThreads:
        # each library's own get/set calls (a microsecond each), not threadpoolctl's limit(), which
        # gathers every library's full description first (tens of microseconds: a small fit's cost)
        self._original = [(lib, lib.num_threads) for lib in _blas_libs()]
        self._set(self.count)
        return self

    def _set(self, count: int) -> None:
        for lib, _ in self._original:
            if lib.num_threads != count:
                lib.set_num_threads(count)
        self._now = count

    def refresh(self) -> None:
        """Look at the free cores again (automatic count only; at most once a second). One sample
        (~50 us) when it agrees with the choice in use; only one that does not is checked by the
        median of five, a millisecond apart (5 ms, once a second: 1% of an mnist epoch), and then
        confirmed (:meth:`_confirmed`)."""
        if not self.auto or self._original is None:
            return
        now = self.clock()
        if now - self._looked < 1.0:
            return
        self._looked = now
        seen = self._choose(resolve_threads(None, self.work, cap=self.cap, samples=1))
        if seen != self.base:
            seen = self._choose(resolve_threads(None, self.work, cap=self.cap))
        base = self._confirmed(seen, self.base)
        if base != self.base:  # other programs started or stopped: what was measured no longer holds
            self.base, self.one, self._trial, self._next_trial = base, False, 0, now + TRIAL_FIRST
        self.count, self.parts = base
        if self.measuring and self.one != (self._trial == 2):  # (one thread measured faster, or on trial)
            self.count = 1
        if self.count != self._now:
            self._set(self.count)

    def restore(self) -> None:
        """Each library back to its count before :meth:`apply`; the split's threads stopped."""
        self._close_split()
        if self._original is not None:
            for lib, n in self._original:
                if lib.num_threads != n:
                    lib.set_num_threads(n)
            self._original = None

    def __enter__(self) -> BlasThreads:
        return self.apply()

    def __exit__(self, *exc: Any) -> None:
        self.restore()
