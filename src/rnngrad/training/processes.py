"""Train many configs: in this process, or in spawned worker processes.

Workers are spawned (not forked: a forked torch can deadlock in OpenMP), each with ``threads``
intra-op threads. Results come back to the caller, in completion order; so does each run's
progress, through a queue the caller drains while it waits. A worker whose parent dies (a sweep
killed with SIGKILL) notices within a second and exits, so no orphan keeps training.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

import torch

from rnngrad._threads import intra_op_threads
from rnngrad.training.config import TrainConfig, TrainResult
from rnngrad.training.loop import TrainProgress, train

ResultCallback = Callable[[int, TrainResult], None]  # (index of the config, its result)
RunProgress = Callable[[int, float], None]  # (index of the config, fraction of that run done)
PARENT_POLL_S = 0.5  # how often a worker checks that its parent is alive
_DRAIN_S = 0.2  # how long the caller waits for a result before it reads the progress queue
_QUEUE: Any = None  # a worker's progress queue (set by the pool initializer), or None


def train_all(configs: Sequence[TrainConfig], workers: int, on_result: ResultCallback, *,
              threads: int | None = None, on_progress: RunProgress | None = None) -> None:
    """Train every config, calling ``on_result(index, result)`` in this process as each run ends.

    Args:
        configs: the runs.
        workers: 1 trains them one after another in this process; more uses that many spawned
            processes (a script that asks for them needs a ``__main__`` guard).
        on_result: called once per run, in completion order. If it raises, the remaining runs
            are cancelled and the error propagates.
        threads: intra-op threads per run (1 makes a run's numbers independent of ``workers``);
            None: this process's count inline, ``cpu_count // workers`` in workers.
        on_progress: called in this process with each run's fraction done, now and then.
    """
    if not configs:
        return
    if workers == 1 or len(configs) == 1:
        with intra_op_threads(threads) if threads is not None else contextlib.nullcontext():
            for index, config in enumerate(configs):
                on_result(index, _train(index, config, on_progress))
        return
    workers = min(workers, len(configs))
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue() if on_progress is not None else None
    threads = max(1, (os.cpu_count() or 1) // workers) if threads is None else threads
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), threads, progress_queue))
    completed = False
    try:
        pending = {pool.submit(_train_in_worker, index, config): index for index, config in enumerate(configs)}
        while pending:
            done, _ = wait(pending, timeout=_DRAIN_S if progress_queue else None, return_when=FIRST_COMPLETED)
            _drain(progress_queue, on_progress)
            for future in done:
                on_result(pending.pop(future), future.result())
        completed = True
    finally:
        pool.shutdown(wait=completed, cancel_futures=not completed)


def _train(index: int, config: TrainConfig, on_progress: RunProgress | None) -> TrainResult:
    def report(progress: TrainProgress) -> None:
        if on_progress is not None:
            on_progress(index, min(1.0, progress.step / progress.steps))

    return train(config, report)


def _drain(progress_queue: Any, on_progress: RunProgress | None) -> None:
    while progress_queue is not None and on_progress is not None:
        try:
            on_progress(*progress_queue.get_nowait())
        except queue.Empty:
            return


def _start_worker(parent_pid: int, threads: int, progress_queue: Any) -> None:
    global _QUEUE
    _QUEUE = progress_queue
    torch.set_num_threads(threads)
    watchdog = threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True)
    watchdog.start()


def _train_in_worker(index: int, config: TrainConfig) -> TrainResult:
    report = None if _QUEUE is None else (lambda i, fraction: _QUEUE.put((i, fraction)))
    return _train(index, config, report)


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)  # the caller is gone; its result can no longer be used
