"""Item 1 of issue 17 for training: sizes from the command line are held to the element budget
before anything is built (``train --T 10000000`` used to start allocating), and a config read
back from a results database is not (reading allocates nothing)."""

from __future__ import annotations

import pytest

from rnngrad._budget import ENV_VAR
from rnngrad.errors import InputError
from rnngrad.sweep import SweepSpec
from rnngrad.training import TrainConfig, TrainResult, train
from tests.hardening.conftest import assert_one_line_error, invoke

TOO_BIG = {
    "--T 10000000": (["--T", "10000000"], r"batch_size × T × hidden_size: expected at most 100,000,000 elements .*"
                                          r"got 20,480,000,000 \(32 × 10,000,000 × 64"),
    "--hidden-size 1000000": (["--hidden-size", "1000000"], r"got 3,200,000,000 \(32 × 100 × 1,000,000"),
    "--batch-size 100000000": (["--batch-size", "100000000"], r"got 640,000,000,000 \(100,000,000 × 100 × 64"),
    "--hidden-size 100000 --batch-size 1 --T 4": (["--hidden-size", "100000", "--batch-size", "1", "--T", "4"],
                                                   r"hidden_size: expected at most .*got 40,000,000,000 \(4 × 100,000²"),
}


@pytest.mark.parametrize("case", TOO_BIG)
def test_train_and_sweep_refuse_sizes_over_the_budget_up_front(tmp_path, case):
    options, pattern = TOO_BIG[case]
    assert_one_line_error(invoke("train", *options, "--json"), 2, pattern)
    lengths = [] if "--T" in options else ["--T", "100"]  # train's default T
    result = invoke("sweep", *options, *lengths, "--model", "lstm", "--db", tmp_path / "results.db")
    assert_one_line_error(result, 2, pattern)
    assert list(tmp_path.iterdir()) == []  # refused before the database was made


def test_the_budget_is_checked_by_train_not_by_reading_a_config(monkeypatch):
    config = TrainConfig(task="adding", T=4, steps=1, batch_size=2, hidden_size=2)
    result = train(config)
    monkeypatch.setenv(ENV_VAR, "10")  # now 2 × 4 × 2 = 16 elements are too many
    assert TrainResult.from_dict(result.to_dict()).config == config  # a stored run still reads back
    with pytest.raises(InputError, match=r"batch_size × T × hidden_size: expected at most 10 elements"):
        train(config)
    with pytest.raises(InputError, match=r"expected at most 10 elements"):
        SweepSpec("adding", (4,), ("lstm",), base=config)
