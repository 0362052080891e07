"""Face analysis and fingerprint matching in worker processes, for the daemon.

dlib's ResNet pass holds Python's GIL for its whole 100–250 ms: run in threads, two face analyses never overlap
and nothing else in the process — the event loop answering ``/healthz``, the head-turn camera feed, the other
requests — runs meanwhile. In a pool of worker processes (one per core, started by the daemon, models loaded once
per worker) the faces of concurrent checks are analysed in parallel and the daemon's own threads stay free. The
fingerprint factor (extraction and matching, mostly NumPy) goes there too, so the daemon process keeps almost no
CPU work of its own, and the workers run at a lower priority (``nice`` +5): on a busy machine the process that
answers ``/healthz``, films a challenge or records a decision gets the CPU first.

:func:`run` calls a picklable top-level function in the pool when one is started, in the calling thread otherwise
(the CLI, benchmarks and most tests need no pool). The result is the same either way. :func:`submit` starts one
without waiting (see :mod:`idverify.workflow.early_match`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_pools: dict[str, ProcessPoolExecutor] = {}  # "biometrics": the started pool (none until the daemon starts it)


WORKER_NICENESS = 5


def _warm(models_dir: Path | None) -> None:
    from idverify.biometrics import models_path
    from idverify.biometrics.face import get_face_engine
    from idverify.biometrics.fingerprint import _filter

    os.nice(WORKER_NICENESS)
    models_path.configure(models_dir)
    get_face_engine()
    _filter.warm()  # the Gabor kernel: compiled once per machine, then loaded from numba's cache


def start(workers: int, models_dir: Path | None) -> None:
    """Start ``workers`` processes (spawned: the daemon already runs threads, so forking it would be unsafe)."""
    if "biometrics" not in _pools:
        _pools["biometrics"] = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_warm, initargs=(models_dir,))


def stop() -> None:
    pool = _pools.pop("biometrics", None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def submit(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Start ``fn(*args, **kwargs)`` in a worker process and return at once (a check matches the face while the
    sensor takes the fingers). Without a pool it runs right here and the future is already done."""
    pool = _pools.get("biometrics")
    if pool is not None:
        return pool.submit(fn, *args, **kwargs)
    done: Future[T] = Future()
    try:
        done.set_result(fn(*args, **kwargs))
    except Exception as exc:  # handed to whoever reads the result, as the pool would
        done.set_exception(exc)
    return done


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker process when the pool runs (the caller's thread waits without holding
    the GIL), else right here."""
    pool = _pools.get("biometrics")
    if pool is None:
        return fn(*args, **kwargs)
    return pool.submit(fn, *args, **kwargs).result()
