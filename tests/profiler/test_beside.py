"""ThreadPlan.beside: work on a second thread while a loop runs, with the caller's modes."""

from __future__ import annotations

import threading

import pytest
import torch

from rnngrad.profiler._layer_io import Beside, ThreadPlan
from rnngrad._denormals import denormals_flushed, flushing_denormals


def modes() -> tuple[bool, bool, int, str]:
    return torch.is_grad_enabled(), denormals_flushed(), torch.get_num_threads(), threading.current_thread().name


@pytest.mark.parametrize("on_thread", [False, True])
def test_result_and_the_callers_modes(on_thread):
    caller = threading.current_thread().name
    with torch.no_grad(), flushing_denormals():
        grad, flushed, threads, where = Beside(modes, (), on_thread).result()
        assert not grad and flushed == denormals_flushed()
    assert (where != caller) == on_thread
    if on_thread:
        assert threads == 1


def test_an_error_on_the_thread_is_raised_by_result():
    def fail():
        raise ValueError("inside")

    pending = Beside(fail, (), on_thread=True)
    with pytest.raises(ValueError, match="inside"):
        pending.result()


def test_the_plan_uses_a_thread_only_while_narrow():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with ThreadPlan(per_step_flops=1) as plan:
            assert plan.narrow and torch.get_num_threads() == 1
            assert plan.beside(modes).result()[3] != threading.current_thread().name
        torch.set_num_threads(1)
        with ThreadPlan(per_step_flops=1) as plan:
            assert plan.beside(modes).result()[3] == threading.current_thread().name
    finally:
        torch.set_num_threads(threads)
