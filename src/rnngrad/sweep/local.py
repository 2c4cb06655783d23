"""Run training configs on this machine: in this process, or in worker processes.

Workers are spawned (not forked: a forked torch can deadlock in OpenMP), each with
``cpu_count // workers`` torch threads. Results come back to the caller, which alone writes the
database. A worker whose parent dies (a sweep killed with SIGKILL) notices within a second and
exits, so no orphan keeps training.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Sequence

import torch

from rnngrad.training import TrainConfig, TrainResult, train

ResultCallback = Callable[[TrainResult], None]
PARENT_POLL_S = 0.5


def run_local(configs: Sequence[TrainConfig], workers: int, on_result: ResultCallback) -> None:
    """Train every config, calling ``on_result`` in this process as each run finishes.

    Args:
        configs: the runs.
        workers: 1 trains them one after another in this process; more uses that many
            spawned processes.
        on_result: called once per finished run, in completion order. If it raises, the
            remaining runs are cancelled and the error propagates.
    """
    if not configs:
        return
    if workers == 1 or len(configs) == 1:
        for config in configs:
            on_result(train(config))
        return
    workers = min(workers, len(configs))
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), threads),
    )
    completed = False
    try:
        pending = {pool.submit(train, config) for config in configs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_result(future.result())
        completed = True
    finally:
        pool.shutdown(wait=completed, cancel_futures=not completed)


def _start_worker(parent_pid: int, threads: int) -> None:
    torch.set_num_threads(threads)
    watchdog = threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True)
    watchdog.start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)  # the sweep is gone; its database write can no longer happen
