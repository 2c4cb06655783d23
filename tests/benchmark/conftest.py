"""The long-lag experiments' tests train tiny models, which run fastest (and least disturbed by a
busy machine) on one thread; the thread count is restored after each test."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
