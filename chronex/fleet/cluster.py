"""The Dask side of a fleet: a client on a LocalCluster or on a named scheduler, and a loop that
submits tasks, shows live progress (done, failed, running, ETA) and gathers what came back.

Fault handling is Dask's: a task whose worker dies is rescheduled on another worker (the nanny
restarts the dead one), and ``retries`` re-runs a task that raised. Outputs are published
atomically by the tasks themselves, so a retried task cannot leave half a file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

err = Console(stderr=True, highlight=False)


class ClusterError(RuntimeError):
    """The scheduler cannot be reached or the cluster cannot start; the message says which."""


@dataclass
class Batch:
    """What came back from one round of tasks, in the order they were given."""

    results: list[Any] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (label, error)


@contextmanager
def fleet_client(scheduler: str | None, workers: int | None, *, quiet: bool = False) -> Iterator[Any]:
    """A ``distributed.Client``: on the scheduler at ``scheduler`` (tcp://host:8786), or on a
    LocalCluster of ``workers`` single-threaded worker processes (default: one per core)."""
    dask = _distributed()
    Client, LocalCluster = dask.Client, dask.LocalCluster
    if scheduler is not None:
        _reachable(scheduler)
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise ClusterError(f"--scheduler {scheduler}: cannot connect ({e})") from None
        try:
            _say_dashboard(client, f"scheduler {scheduler}", quiet)
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else (os.cpu_count() or 1)

    def start(dashboard: str) -> Any:
        return LocalCluster(
            n_workers=n,
            threads_per_worker=1,  # one simulated day per process: the engine is single-threaded
            processes=True,
            dashboard_address=dashboard,
            silence_logs=logging.CRITICAL,  # task errors come back through their futures; not shutdown noise
        )

    address = _dashboard_address()
    try:
        cluster = start(address)
    except RuntimeError as e:
        # Another fleet took 8787 between the look and the bind (two starting at once): any port.
        if address == ":0" or "already in use" not in str(e):
            raise
        cluster = start(":0")
    try:
        client = Client(cluster)
        try:
            _say_dashboard(client, f"LocalCluster of {n} worker process{'es' if n != 1 else ''}", quiet)
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _reachable(address: str) -> None:
    """Fail fast on a refused or unknown tcp:// address (the Dask client retries until its timeout)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme != "tcp" or parts.hostname is None:
        return  # tls://, ucx:// ...: let Dask speak for itself
    try:
        socket.create_connection((parts.hostname, parts.port or 8786), timeout=10).close()
    except OSError as e:
        raise ClusterError(f"--scheduler {address}: cannot connect ({e})") from None


def _dashboard_address() -> str:
    """Dask's usual dashboard port when it is free, else any free port (Dask would warn and pick
    one itself; several fleets on one machine are common)."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("", 8787))
        except OSError:
            return ":0"
    return ":8787"


def _distributed() -> Any:
    """The ``distributed`` module (typed Any: it ships no type hints mypy --strict accepts)."""
    try:
        import distributed
    except ImportError:
        raise ClusterError("Dask is not installed: pip install 'chronex[fleet]'") from None
    return distributed


def _say_dashboard(client: Any, what: str, quiet: bool) -> None:
    if not quiet:
        link = getattr(client, "dashboard_link", None)
        err.print(f"{what}; dashboard: {link or 'not available (pip install bokeh)'}", soft_wrap=True)


def run_tasks(
    client: Any,
    fn: Callable[..., Any],
    calls: Sequence[tuple[str, tuple[Any, ...]]],
    *,
    title: str,
    quiet: bool = False,
    retries: int = 2,
) -> Batch:
    """Submit ``fn(*args)`` for each ``(key, args)`` and wait for all, with a progress bar.

    A task that still fails after ``retries`` (or whose workers kept dying) is a failure in the
    batch; the others' results come back in the order of ``calls``.
    """
    wait = _distributed().wait
    futures = [client.submit(fn, *args, key=key, retries=retries, pure=False) for key, args in calls]
    by_key = {f.key: i for i, f in enumerate(futures)}
    slots: list[Any] = [None] * len(futures)
    failed: dict[int, str] = {}
    pending = set(futures)
    with _bar(title, len(futures), quiet) as update:
        while pending:
            try:
                done = wait(list(pending), timeout=0.5, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                done = set()
            for fut in done:
                pending.discard(fut)
                i = by_key[fut.key]
                if fut.status == "finished":
                    slots[i] = fut.result()
                else:
                    failed[i] = _why(fut)
            update(len(futures) - len(pending), len(failed), _running(client, pending))
    batch = Batch()
    for i, (key, _args) in enumerate(calls):
        if i in failed:
            batch.failures.append((key, failed[i]))
        else:
            batch.results.append(slots[i])
    return batch


def _why(fut: Any) -> str:
    """One line on why a future did not finish (its exception, or that it was cancelled)."""
    try:
        exc = fut.exception()
    except BaseException as e:  # a cancelled future raises instead of returning its exception
        exc = e
    return f"{type(exc).__name__}: {exc}" if exc is not None else str(fut.status)


def _running(client: Any, pending: set[Any]) -> int:
    """Pending tasks a worker is processing now (the scheduler's view)."""
    if not pending:
        return 0
    keys = {f.key for f in pending}
    try:
        processing = client.processing()
    except Exception:  # the count is a nicety; never fail the fleet over it
        return 0
    return sum(1 for ks in processing.values() for k in ks if k in keys)


@contextmanager
def _bar(title: str, total: int, quiet: bool) -> Iterator[Callable[[int, int, int], None]]:
    if quiet:
        yield lambda done, failed, running: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}  running {task.fields[running]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as p:
        task = p.add_task(title, total=total, failed=0, running=0)

        def update(done: int, failed: int, running: int) -> None:
            p.update(task, completed=done, failed=failed, running=running)

        yield update
