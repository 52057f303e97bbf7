"""Where a sweep's variants run, behind one small protocol (`SweepRunner.map`).

- `LocalRunner`: processes on this machine, one variant per process (the engine is
  single-threaded), at most `workers` at a time; a variant past its time limit is killed.
- `DaskRunner`: a Dask cluster (`pip install rulesengine[distributed]`, imported only here):
  a `LocalCluster` of `workers` single-threaded processes on this machine, or an existing
  scheduler (`tcp://host:8786`). Each worker needs this package installed and the data the
  variants name (the bundled and synthetic markets ship with the package).

Whatever a variant does, the sweep goes on: an exception becomes `{"label", "error"}`. A
variant's time limit is kept by the variant itself (a backtest stops replaying at its
deadline and reports `timed out`), so it holds on any runner; the local runner also kills a
process still running well past it. Results come back as they finish; callers order them.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

Job = Any  # a picklable job (backtest.sweep.Job)
Result = dict[str, Any]


class SweepRunner(Protocol):
    def map(self, fn: Callable[[Job], Result], jobs: Sequence[Job]) -> Iterator[Result]: ...


class RunnerError(Exception):
    """A runner that cannot start (Dask missing, a scheduler that does not answer)."""


def contained(fn: Callable[[Job], Result], job: Job) -> Result:
    """fn(job), or the variant's label with the error it raised: one variant never stops a
    sweep."""
    try:
        return fn(job)
    except Exception as error:  # a variant's own failure, reported with it
        where = traceback.extract_tb(error.__traceback__)[-1]
        return {
            "label": getattr(job, "label", str(job)),
            "error": f"{type(error).__name__}: {error} ({where.filename}:{where.lineno})",
        }


def timed_out(job: Job, seconds: float) -> Result:
    return {"label": getattr(job, "label", str(job)), "error": f"timed out after {seconds:g} s"}


def _child(fn: Callable[[Job], Result], job: Job, pipe: Connection) -> None:
    pipe.send(contained(fn, job))
    pipe.close()


KILL_GRACE = 30.0  # seconds past a variant's own time limit before its process is killed


class LocalRunner:
    """Processes on this machine, `workers` at a time, each variant in its own process so one
    stuck past its time limit can be killed without losing the others."""

    def __init__(self, workers: int = 2, timeout: float | None = None):
        self.workers = max(workers, 1)
        self.timeout = timeout

    def map(self, fn: Callable[[Job], Result], jobs: Sequence[Job]) -> Iterator[Result]:
        context = multiprocessing.get_context("fork")
        waiting = list(jobs)
        running: list[tuple[Any, Connection, Job, float]] = []
        while waiting or running:
            while waiting and len(running) < self.workers:
                job = waiting.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(fn, job, send), daemon=True)
                process.start()
                send.close()
                running.append((process, receive, job, time.monotonic()))
            yield from self._reap(running)
            time.sleep(0.01)

    def _reap(self, running: list) -> Iterator[Result]:
        for entry in list(running):
            process, pipe, job, started = entry
            if pipe.poll():
                try:
                    result = pipe.recv()
                except EOFError:
                    result = {"label": job.label, "error": "the variant's process died"}
                process.join()
                running.remove(entry)
                yield result
            elif not process.is_alive():
                running.remove(entry)
                yield {
                    "label": job.label,
                    "error": f"the variant's process died (exit code {process.exitcode})",
                }
            elif (
                self.timeout is not None and time.monotonic() - started > self.timeout + KILL_GRACE
            ):
                process.kill()
                process.join()
                running.remove(entry)
                yield timed_out(job, self.timeout)


class DaskRunner:
    """A Dask cluster: a LocalCluster of `workers` processes, or the scheduler at `address`."""

    def __init__(self, workers: int = 2, address: str | None = None, processes: bool = True):
        self.workers = max(workers, 1)
        self.address = address
        self.processes = processes

    def map(self, fn: Callable[[Job], Result], jobs: Sequence[Job]) -> Iterator[Result]:
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise RunnerError(
                "--runner dask needs Dask: pip install 'rulesengine[distributed]'"
            ) from None
        cluster = None
        if self.address is not None:
            try:
                client = Client(self.address, timeout=10)
            except OSError as error:
                raise RunnerError(
                    f"--scheduler {self.address}: no Dask scheduler answers ({error}); start "
                    "one with `dask scheduler` and workers with `dask worker ADDRESS`"
                ) from None
        else:
            cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=self.processes,
                dashboard_address=None,
            )
            client = Client(cluster)
        try:
            futures = [
                client.submit(contained, fn, job, pure=False, key=f"variant-{i}")
                for i, job in enumerate(jobs)
            ]
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
