"""Train many configs: in this process, or in spawned worker processes.

Workers are spawned (not forked: a forked torch can deadlock in OpenMP), each with ``threads``
intra-op threads. Results come back to the caller, in completion order; so does each run's
progress, through a queue the caller drains while it waits. A worker whose parent dies (a sweep
killed with SIGKILL) notices within a second and exits, so no orphan keeps training.

Ctrl-C is the caller's alone: workers are spawned with SIGINT blocked and ignore it once started
(a terminal sends it to the whole process group, and a worker still importing would print a
KeyboardInterrupt traceback), and when the caller stops early (an interrupt, an error) it tells
them to exit at once and waits until they have.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
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
_END = "end"  # a run's last message on the progress queue
_LAST_PROGRESS_S = 300.0  # a safety net only: the end marker normally arrives right after the result
_QUEUE: Any = None  # a worker's progress queue (set by the pool initializer), or None


def train_all(configs: Sequence[TrainConfig], workers: int, on_result: ResultCallback, *,
              threads: int | None = None, on_progress: RunProgress | None = None,
              claim: Callable[[int], bool] | None = None) -> None:
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
        claim: called in this process just before run ``index`` starts; a run it returns False
            for is skipped (another process has it). None: every run is trained.
    """
    if not configs:
        return
    wanted = claim if claim is not None else (lambda index: True)
    if workers == 1 or len(configs) == 1:
        with intra_op_threads(threads) if threads is not None else contextlib.nullcontext():
            for index, config in enumerate(configs):
                if wanted(index):
                    on_result(index, _train(index, config, on_progress))
        return
    workers = min(workers, len(configs))
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue() if on_progress is not None else None
    stop = context.Event()  # set when the caller stops early: every worker exits at once
    threads = max(1, (os.cpu_count() or 1) // workers) if threads is None else threads
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), threads, progress_queue, stop))
    upcoming = iter(range(len(configs)))
    pending: dict[Any, int] = {}
    submitted: set[int] = set()
    reported: set[int] = set()  # runs whose worker has sent its last progress message

    def submit_next() -> None:  # at most `workers` runs in flight, each claimed as it is submitted
        for index in upcoming:
            if wanted(index):
                with _sigint_deferred():  # a submit may spawn a worker: see there
                    pending[pool.submit(_train_in_worker, index, configs[index])] = index
                submitted.add(index)
                return

    completed = False
    try:
        for _ in range(workers):
            submit_next()
        while pending:
            done, _ = wait(pending, timeout=_DRAIN_S if progress_queue else None, return_when=FIRST_COMPLETED)
            _drain(progress_queue, on_progress, reported)
            for future in done:
                on_result(pending.pop(future), future.result())
                submit_next()
        while progress_queue is not None and reported != submitted:  # progress may trail the results
            if not _drain(progress_queue, on_progress, reported, block=True):
                break
        completed = True
    finally:
        if not completed:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=not completed)


@contextlib.contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C while workers are spawned, then act on it.

    SIGINT is blocked in this (the main) thread, so a worker spawned now inherits it blocked,
    and this process's handler only records it, so the spawn is never cut between starting a
    worker and handing it its data (the worker would die with a traceback). A Ctrl-C meanwhile
    goes to the previous handler right after (KeyboardInterrupt), not lost. Off the main thread,
    or without signal masks, nothing is changed.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    received = []
    previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        signal.signal(signal.SIGINT, previous_handler)
        if received and callable(previous_handler):
            previous_handler(signal.SIGINT, None)
        elif received and previous_handler == signal.SIG_DFL:
            raise KeyboardInterrupt


def _train(index: int, config: TrainConfig, on_progress: RunProgress | None) -> TrainResult:
    def report(progress: TrainProgress) -> None:
        if on_progress is not None:
            on_progress(index, min(1.0, progress.step / progress.steps))

    return train(config, report)


def _drain(progress_queue: Any, on_progress: RunProgress | None, reported: set[int], block: bool = False) -> bool:
    """Hand queued progress to ``on_progress``; a run's end marker goes to ``reported``. With
    ``block``, wait for one message first (the workers' queue delivers it: no timing); False
    when none came within the safety net."""
    while progress_queue is not None and on_progress is not None:
        try:
            index, fraction = progress_queue.get(timeout=_LAST_PROGRESS_S) if block else progress_queue.get_nowait()
        except queue.Empty:
            return not block
        block = False
        if fraction == _END:
            reported.add(index)
        else:
            on_progress(index, fraction)
    return True


def _start_worker(parent_pid: int, threads: int, progress_queue: Any, stop: Any) -> None:
    global _QUEUE
    _QUEUE = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (see the module)
    torch.set_num_threads(threads)
    watchdog = threading.Thread(target=_exit_when_orphaned_or_stopped, args=(parent_pid, stop), daemon=True)
    watchdog.start()


def _train_in_worker(index: int, config: TrainConfig) -> TrainResult:
    report = None if _QUEUE is None else (lambda i, fraction: _QUEUE.put((i, fraction)))
    result = _train(index, config, report)
    if _QUEUE is not None:
        _QUEUE.put((index, _END))  # after the run's progress, in the same queue: the caller waits for it
    return result


def _exit_when_orphaned_or_stopped(parent_pid: int, stop: Any) -> None:
    while os.getppid() == parent_pid and not stop.wait(PARENT_POLL_S):
        pass
    os._exit(1)  # the caller is gone or stopped early; its result can no longer be used
