"""Run several :func:`rnngrad.training.train` configs, inline or in worker processes.

Every run trains with one intra-op thread, inline or not, so a run's numbers do not depend on
how many workers there are (a run is a function of its config on the CPU). Workers are spawned
processes; they report progress through a queue that the caller's thread drains.
"""

from __future__ import annotations

import multiprocessing
import queue
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

from rnngrad._threads import one_intra_op_thread

RunProgress = Callable[[int, float], None]  # (run index, fraction of that run done)
_QUEUE: Any = None  # the worker's progress queue (set by the pool initializer)


def _train(index: int, config: dict[str, Any], on_progress: RunProgress | None) -> dict[str, Any]:
    from rnngrad.training import TrainConfig, train

    def report(progress) -> None:
        if on_progress is not None:
            on_progress(index, min(1.0, progress.step / progress.steps))

    with one_intra_op_thread():
        return train(TrainConfig.from_dict(config), report).to_dict()


def _initialize(progress_queue: Any) -> None:
    global _QUEUE
    _QUEUE = progress_queue


def _train_in_worker(index: int, config: dict[str, Any]) -> dict[str, Any]:
    return _train(index, config, lambda i, fraction: _QUEUE.put((i, fraction)))


def train_all(configs: Sequence[dict[str, Any]], workers: int, on_progress: RunProgress) -> list[dict[str, Any]]:
    """``TrainResult.to_dict()`` of every config, in order; ``workers`` > 1 runs them in processes."""
    if workers <= 1 or len(configs) <= 1:
        return [_train(index, config, on_progress) for index, config in enumerate(configs)]
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    with ProcessPoolExecutor(min(workers, len(configs)), mp_context=context, initializer=_initialize,
                             initargs=(progress_queue,)) as pool:
        futures = [pool.submit(_train_in_worker, index, config) for index, config in enumerate(configs)]
        while not all(future.done() for future in futures):
            try:
                on_progress(*progress_queue.get(timeout=0.2))
            except queue.Empty:
                pass
        results = [future.result() for future in futures]
    return results
