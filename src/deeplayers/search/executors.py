"""Where trials run: one after another, in joblib (loky) processes, or on a Dask cluster."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..threads import available_cores
from .trials import _run_trial


# -- executors -------------------------------------------------------------------------------------
class _Executor:
    """Runs tasks serially, in joblib (loky) processes, or on a Dask cluster; yields results as
    they finish. The data reaches Dask workers once (scattered, broadcast), not once per trial."""

    def __init__(self, data: tuple[np.ndarray, ...], n_jobs: int, scheduler: Any) -> None:
        self.data, self.n_jobs, self.scheduler = data, n_jobs, scheduler
        self.client = self._cluster = None
        self._own_client = False
        self._data_futures: list[Any] | None = None
        if scheduler is not None:
            self._connect(scheduler)

    @property
    def description(self) -> str:
        if self.client is not None:
            n = len(self.client.scheduler_info().get("workers", {}))
            return f"Dask cluster at {self.client.scheduler.address} ({n} workers)"
        return "serial" if self.n_jobs == 1 else f"joblib, {self.n_jobs} processes"

    def _connect(self, scheduler: Any) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("scheduler= needs dask.distributed: pip install 'deeplayers[search]'") from None
        if isinstance(scheduler, Client):
            self.client = scheduler
        elif scheduler == "local":
            workers = self.n_jobs if self.n_jobs > 0 else None
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster, set_as_default=False)
            self._own_client = True
        elif isinstance(scheduler, str):
            self.client = Client(scheduler, set_as_default=False, timeout="30s")
            self._own_client = True
        else:
            raise ConfigError(f"scheduler must be None, 'local', an address like 'tcp://host:8786' or a "
                              f"dask.distributed.Client, got {scheduler!r}")

    def threads_per_trial(self) -> int | None:
        """BLAS threads for each trial, so that workers x threads <= cores: with n_jobs joblib
        processes (or a local Dask cluster of n workers) cores // n each; serially, or on a remote
        Dask cluster whose machines we cannot see, fit's automatic choice (None), which looks at
        the free cores of the machine the trial runs on."""
        if self.client is not None:
            if self._cluster is None:
                return None
            workers = len(self.client.scheduler_info().get("workers", {})) or 1
        elif self.n_jobs == 1:
            return None
        else:
            workers = self.n_jobs
        return max(1, available_cores() // workers)

    def run(self, tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return
        threads = self.threads_per_trial()
        tasks = [{**t, "threads": threads} for t in tasks]
        if self.client is not None:
            from distributed import as_completed

            if self._data_futures is None:
                self._data_futures = self.client.scatter(list(self.data), broadcast=True)
            futures = [self.client.submit(_run_trial, t, *self._data_futures, pure=False,
                                          key=f"deeplayers-trial-{t['id']}-{os.getpid()}-{time.time_ns()}")
                       for t in tasks]
            try:
                for fut in as_completed(futures, loop=self.client.loop):  # not the default client's
                    yield fut.result()
            finally:
                for fut in futures:
                    fut.release()
        elif self.n_jobs == 1 or len(tasks) == 1:
            for t in tasks:
                yield _run_trial(t, *self.data)
        else:
            try:
                from joblib import Parallel, delayed
            except ImportError:  # pragma: no cover - depends on the environment
                raise ImportError("n_jobs > 1 needs joblib: pip install 'deeplayers[search]'") from None
            # arrays over 1 MB reach the workers memory-mapped (joblib's max_nbytes), not copied
            yield from Parallel(n_jobs=self.n_jobs, backend="loky", return_as="generator_unordered")(
                delayed(_run_trial)(t, *self.data) for t in tasks)

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
