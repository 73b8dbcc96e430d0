"""Executors run chunks: ``fn(shared, chunk)`` for each chunk, results in completion order.

``shared`` (the population and the simulator) is sent to each worker once, not with every
chunk. At most ``2 × workers`` chunks are in flight, so the driver holds a bounded number of
results whatever the trial size. Results do not depend on the executor: every patient's draw and
simulation depend only on (trial seed, patient index).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures import Executor as _PoolExecutor
from typing import Any, Literal, Protocol, TypeVar

from mdrsim.trial.errors import TrialSpecError

R = TypeVar("R")
#: Most local worker processes (each holds a compiled model: a few hundred MB).
MAX_WORKERS = 256
ChunkFn = Callable[[Any, int], Any]


class Executor(Protocol):
    """Runs ``fn(shared, item)`` for every item; yields ``(item, result)`` as they finish."""

    def map_chunks(
        self, fn: ChunkFn, shared: Any, items: Sequence[int]
    ) -> Iterator[tuple[int, Any]]: ...

    def describe(self) -> dict[str, Any]: ...


# Per-process copy of ``shared`` in pool workers (set once by the pool initializer).
_WORKER_SHARED: Any = None


def _die_with_parent(parent: int, interval_s: float = 0.5) -> None:
    """Make this worker exit when process ``parent`` is gone (``kill -9`` of a trial must not
    leave its workers running for hours). Linux: the kernel sends SIGKILL when the parent
    dies (``PR_SET_PDEATHSIG``); everywhere: a daemon thread polls the parent's pid."""
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="mdrsim-parent-watch", daemon=True).start()


def _init_worker(shared: Any, parent: int | None = None) -> None:
    global _WORKER_SHARED
    if parent is not None:
        _die_with_parent(parent)
    _WORKER_SHARED = shared


def _call_in_worker(fn: ChunkFn, item: int) -> Any:
    return fn(_WORKER_SHARED, item)


class LocalExecutor:
    """This machine's cores. ``kind="process"`` (default) runs chunks in worker processes —
    the ODE kernel releases the GIL but the per-patient Python (sampling, RECIST) does not,
    so processes scale where threads do not; ``kind="thread"`` avoids process start-up for
    small trials. ``workers=1`` runs in this process."""

    def __init__(
        self,
        workers: int | None = None,
        kind: Literal["process", "thread"] = "process",
        start_method: str | None = None,
    ) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise TrialSpecError(
                f"workers must be >= 1, got {workers} (leave it out to use all cores)"
            )
        if workers is not None and workers > MAX_WORKERS:
            raise TrialSpecError(f"workers must be <= {MAX_WORKERS}, got {workers}")
        if kind not in ("process", "thread"):
            raise TrialSpecError(f"executor kind must be 'process' or 'thread', got {kind!r}")
        self.workers = workers or (os.cpu_count() or 1)
        self.kind = kind
        methods = multiprocessing.get_all_start_methods()
        # fork where it exists: workers inherit the already compiled model and imported
        # modules (copy-on-write), instead of paying seconds of imports and a numba cache load
        # each, and several hundred MB each. The runner starts no threads of its own before
        # the pool; the CLI's progress thread never runs code in the children.
        self.start_method = start_method or ("fork" if "fork" in methods else "spawn")
        if self.start_method not in methods:
            raise TrialSpecError(
                f"start_method {self.start_method!r} is not available here; allowed: "
                + ", ".join(methods)
            )

    def describe(self) -> dict[str, Any]:
        return {"executor": f"local-{self.kind}", "workers": self.workers}

    def map_chunks(
        self, fn: ChunkFn, shared: Any, items: Sequence[int]
    ) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or len(items) <= 1:
            for item in items:
                yield item, fn(shared, item)
            return
        pool: _PoolExecutor
        n = min(self.workers, len(items))
        if self.kind == "process":
            pool = ProcessPoolExecutor(
                max_workers=n,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker,
                initargs=(shared, os.getpid()),
            )

            def submit(item: int) -> Future[Any]:
                return pool.submit(_call_in_worker, fn, item)
        else:
            pool = ThreadPoolExecutor(max_workers=n)

            def submit(item: int) -> Future[Any]:
                return pool.submit(fn, shared, item)

        try:
            yield from _windowed(submit, items, 2 * n)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _windowed(
    submit: Callable[[int], Future[Any]], items: Sequence[int], window: int
) -> Iterator[tuple[int, Any]]:
    pending: dict[Future[Any], int] = {}
    queue = list(items)[::-1]
    while queue or pending:
        while queue and len(pending) < window:
            item = queue.pop()
            pending[submit(item)] = item
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            item = pending.pop(fut)
            yield item, fut.result()


class _Payload:
    """A wrapper so Dask scatters ``shared`` as one object (it splits lists and dicts)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _call_payload(fn: ChunkFn, payload: _Payload, item: int) -> Any:
    return fn(payload.value, item)


class DaskExecutor:
    """Chunks as tasks on a ``dask.distributed`` cluster: give a ``Client`` or an address
    (``tcp://HOST:PORT``). Workers need mdrsim installed; results come back to this process,
    which writes the store (no shared filesystem needed)."""

    def __init__(
        self, client: Any | None = None, address: str | None = None, timeout_s: float = 20.0
    ) -> None:
        if (client is None) == (address is None):
            raise TrialSpecError("DaskExecutor: give exactly one of client, address")
        self._own = client is None
        if client is None:
            from distributed import Client

            try:
                client = Client(address, timeout=f"{timeout_s}s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise TrialSpecError(
                    f"--scheduler {address}: cannot connect to the Dask scheduler ({exc})"
                ) from None
        self.client = client

    def describe(self) -> dict[str, Any]:
        info = self.client.scheduler_info()
        return {
            "executor": "dask",
            "scheduler": info.get("address"),
            "workers": len(info.get("workers", {})),
        }

    def close(self) -> None:
        if self._own:
            self.client.close()

    def map_chunks(
        self, fn: ChunkFn, shared: Any, items: Sequence[int]
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        if not items:
            return
        payload = self.client.scatter(_Payload(shared), broadcast=True, hash=False)
        n_workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        window = 2 * n_workers
        queue = list(items)[::-1]
        keys: dict[Any, int] = {}

        def submit() -> Any:
            item = queue.pop()
            fut = self.client.submit(_call_payload, fn, payload, item, pure=False)
            keys[fut.key] = item
            return fut

        first = [submit() for _ in range(min(window, len(queue)))]
        ac = as_completed(first)
        try:
            for fut in ac:
                item = keys.pop(fut.key)
                result = fut.result()
                fut.release()
                if queue:
                    ac.add(submit())
                yield item, result
        finally:
            for fut in list(ac.futures):
                fut.cancel()
            payload.release()
