"""Items 1, 2 and 8 of issue 17: what a checkpoint or an inputs file holds is checked before it is used.

Sizes (shapes, layer numbers, element counts) are checked against the element budget before
anything is allocated; only real floating point is read (one rule for every loader); a folder
is called a folder; a refused pickle is one line, without torch's warning. Each bad file is tried
on every command that reads ``--checkpoint``/``--inputs``: exit 2, one line, nothing written,
the user's files byte for byte as they were.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnngrad._budget import DEFAULT_MAX_ELEMENTS, ENV_VAR, max_elements
from rnngrad.checkpoint import load_checkpoint_and_inputs, load_inputs, load_recurrent_checkpoint
from rnngrad.errors import InputError
from tests.hardening.conftest import assert_one_line_error, invoke, snapshot

COMMANDS = ("jacobian", "spectrum", "profile")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/rnngrad-hardening-pickle-ran",))


def state_dict(kind: str = "rnn", **options) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return dict({"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](3, 5, **options).state_dict())


def with_changes(changes: dict, kind: str = "rnn") -> dict[str, torch.Tensor]:
    state = state_dict(kind)
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


# Each bad checkpoint: how to make it, and the message it gets (inputs are good: (8, 3) float64).
CHECKPOINTS = {
    "stride-0 expanded 400000×100000 weight_hh (320 GB)":
        (lambda: with_changes({"weight_hh_l0": torch.zeros(1).expand(400_000, 100_000)}),
         r"checkpoint: expected at most 100,000,000 elements .*RNNGRAD_MAX_ELEMENTS.*got 40,000,000,\d+ .*weight_hh_l0 has shape \(400000, 100000\)"),
    "layer 999999999": (lambda: {**state_dict(), "weight_ih_l999999999": torch.zeros(5, 5)},
                        r"expected layers numbered 0\.\.L−1 with none missing, got keys of layers 0, 999999999 \(no layer 1\)"),
    "layer 5000 (short message)": (lambda: {**state_dict(), "weight_ih_l5000": torch.zeros(5, 5)}, r"no layer 1"),
    "(0, 0) weight_hh": (lambda: with_changes({"weight_hh_l0": torch.zeros(0, 0)}),
                         r"checkpoint \(weight_hh_l0\): expected a non-empty tensor, got shape \(0, 0\)"),
    "complex weights": (lambda: {k: v.to(torch.complex128) for k, v in state_dict().items()},
                        r"expected real floating-point values .*got dtype torch\.complex128"),
    "bool weights": (lambda: {k: v > 0 for k, v in state_dict().items()}, r"got dtype torch\.bool"),
    "int weights": (lambda: {k: v.long() for k, v in state_dict().items()}, r"got dtype torch\.int64"),
    "a layer-1 weight of the wrong shape": (lambda: {**state_dict("gru", num_layers=2), "weight_ih_l1": torch.zeros(15, 4)},
                                            r"expected weight_ih_l1 of shape \(15, 5\) .*got \(15, 4\)"),
    "bias in layer 0 only": (lambda: with_changes({"bias_hh_l0": None}), r"expected key 'bias_hh_l0'.*missing"),
    "reverse keys for layer 0 only": (lambda: {**state_dict(), "weight_ih_l0_reverse": torch.zeros(5, 3)},
                                      r"expected key 'weight_hh_l0_reverse'"),
    "1-D weight_hh": (lambda: with_changes({"weight_hh_l0": torch.zeros(5)}), r"expected a 2D weight_hh_l0, got shape \(5,\)"),
    "a key that is not a string": (lambda: {**state_dict(), 7: torch.zeros(1)}, r"unexpected key 7"),
    "a very long foreign key": (lambda: {"x" * 100_000: torch.zeros(1)}, r"unexpected key 'x{20,}\.\.\."),
    "sparse weight": (lambda: with_changes({"weight_hh_l0": torch.eye(5).to_sparse()}), r"expected a dense tensor"),
    "a list, not a state_dict": (lambda: [torch.zeros(1)], r"expected a state_dict .*got list"),
}

# Each bad inputs file: (suffix, how to write it to the path, message); the checkpoint is good.
INPUTS = {
    "stride-0 10⁹×3 tensor (24 GB)": (".pt", lambda p: torch.save(torch.zeros(1).expand(10**9, 3), p),
                                      r"inputs: expected at most 100,000,000 elements .*got 3,000,000,000 \(shape \(1000000000, 3\)\)"),
    "T = 10⁷ (refused up front, not minutes of work)": (".pt", lambda p: torch.save(torch.zeros(1).expand(10**7, 3), p),
                                                         r"inputs: expected at most .*T = 10,000,000 steps"),
    "complex .npy": (".npy", lambda p: np.save(p, np.ones((4, 3), dtype=complex)), r"got dtype complex128"),
    "complex tensor": (".pt", lambda p: torch.save(torch.ones(4, 3, dtype=torch.complex64), p), r"got dtype torch\.complex64"),
    "bool .npy": (".npy", lambda p: np.save(p, np.ones((4, 3), dtype=bool)), r"got dtype bool"),
    "int .npy": (".npy", lambda p: np.save(p, np.ones((4, 3), dtype=np.int64)), r"got dtype int64"),
    "int tensor": (".pt", lambda p: torch.save(torch.ones(4, 3, dtype=torch.int32), p), r"got dtype torch\.int32"),
    "string .npy": (".npy", lambda p: np.save(p, np.array([["a", "b", "c"]])), r"got dtype <U1"),
    "structured .npy": (".npy", lambda p: np.save(p, np.zeros(4, dtype=[("a", "f8"), ("b", "f8"), ("c", "f8")])),
                        r"got dtype \[\('a'"),
    "object .npy (a pickle)": (".npy", lambda p: np.save(p, np.array([1, _Exploit()], dtype=object), allow_pickle=True),
                               r"could not read .* as a \.npy array"),
    "empty (0-byte) .npy": (".npy", lambda p: p.write_bytes(b""), r"could not read .* as a \.npy array \(No data left in file\)"),
    "truncated .npy": (".npy", lambda p: p.write_bytes(_npy_bytes(np.ones((400, 3)))[:300]), r"could not read .* as a \.npy array"),
    "float128 .npy": (".npy", lambda p: np.save(p, np.ones((4, 3), dtype=np.longdouble)), r"got dtype float128"),
    "(0, 3) .npy": (".npy", lambda p: np.save(p, np.zeros((0, 3))), r"expected at least one time step, got T = 0"),
    "(4, 0) tensor": (".pt", lambda p: torch.save(torch.zeros(4, 0), p), r"expected at least one input feature, got I = 0"),
    "evil pickle": (".pt", lambda p: p.write_bytes(pickle.dumps(_Exploit(), protocol=4)),
                    r"refused to load .*weights_only=True \(.+\)$"),
}


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def good_files(folder: Path) -> tuple[Path, Path]:
    checkpoint, inputs = folder / "model.pt", folder / "inputs.npy"
    torch.save(state_dict(), checkpoint)
    np.save(inputs, np.random.default_rng(0).standard_normal((8, 3)))
    return checkpoint, inputs


def run_each_command(folder: Path, checkpoint: Path, inputs: Path, pattern: str) -> None:
    marker = Path("/tmp/rnngrad-hardening-pickle-ran")
    marker.unlink(missing_ok=True)
    before = snapshot(folder)
    for command in COMMANDS:
        result = invoke(command, "--checkpoint", checkpoint, "--inputs", inputs, "--json")
        assert_one_line_error(result, 2, pattern)
        assert result.stdout == ""
    assert snapshot(folder) == before  # nothing written, nothing changed
    assert not marker.exists()


@pytest.mark.parametrize("case", CHECKPOINTS)
def test_a_bad_checkpoint_is_one_clear_line_on_every_command(tmp_path, case):
    make, pattern = CHECKPOINTS[case]
    _, inputs = good_files(tmp_path)
    checkpoint = tmp_path / "bad.pt"
    torch.save(make(), checkpoint)
    run_each_command(tmp_path, checkpoint, inputs, pattern)
    with pytest.raises(InputError):
        load_recurrent_checkpoint(checkpoint)


@pytest.mark.parametrize("case", INPUTS)
def test_a_bad_inputs_file_is_one_clear_line_on_every_command(tmp_path, case):
    suffix, write, pattern = INPUTS[case]
    checkpoint, _ = good_files(tmp_path)
    inputs = tmp_path / f"bad{suffix}"
    write(inputs)
    run_each_command(tmp_path, checkpoint, inputs, pattern)


def test_the_evil_pickle_adds_no_torch_warning(tmp_path):
    checkpoint, inputs = good_files(tmp_path)
    checkpoint.write_bytes(pickle.dumps(_Exploit(), protocol=4))  # torch warns about protocol 4 while refusing it
    result = invoke("jacobian", "--checkpoint", checkpoint, "--inputs", inputs)
    assert_one_line_error(result, 2, r"checkpoint: refused to load")  # one line: the warning is gone
    with pytest.raises(InputError, match="refused to load"):
        load_recurrent_checkpoint(checkpoint)  # and no warning (pytest turns warnings into errors)


def test_a_directory_is_called_a_directory(tmp_path):
    checkpoint, inputs = good_files(tmp_path)
    folder = tmp_path / "folder.npy"
    folder.mkdir()
    for args, pattern in [(("--checkpoint", folder, "--inputs", inputs), r"checkpoint: expected a file, got .*which is a directory"),
                          (("--checkpoint", checkpoint, "--inputs", folder), r"inputs: expected a file, got .*which is a directory")]:
        assert_one_line_error(invoke("jacobian", *args), 2, pattern)


def test_the_budget_can_be_raised_and_is_checked(tmp_path, monkeypatch):
    checkpoint, _ = good_files(tmp_path)
    long_inputs = tmp_path / "long.pt"
    torch.save(torch.zeros(1, dtype=torch.float64).expand(400_000, 3), long_inputs)  # 400,000 × (5 + 256) > 10⁸
    assert max_elements() == DEFAULT_MAX_ELEMENTS == 10**8
    with pytest.raises(InputError, match=r"inputs: expected at most 100,000,000 elements"):
        load_checkpoint_and_inputs(checkpoint, long_inputs)
    monkeypatch.setenv(ENV_VAR, "2e8")
    module, sequence = load_checkpoint_and_inputs(checkpoint, long_inputs)
    assert sequence.shape == (400_000, 3) and sequence.dtype == torch.float64 and module.hidden_size == 5
    monkeypatch.setenv(ENV_VAR, "10")
    with pytest.raises(InputError, match=r"checkpoint: expected at most 10 elements"):
        load_recurrent_checkpoint(checkpoint)
    for bad in ("lots", "0", "-5", "1.5", "inf"):
        monkeypatch.setenv(ENV_VAR, bad)
        with pytest.raises(InputError, match=re.escape(f"{ENV_VAR}: expected a positive integer number of elements, got {bad!r}")):
            load_recurrent_checkpoint(checkpoint)
        result = invoke("jacobian", "--checkpoint", checkpoint, "--inputs", long_inputs)
        assert_one_line_error(result, 2, ENV_VAR)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_every_real_float_is_read_as_float64(tmp_path, dtype):
    """The one explicit conversion: real floating point of any width becomes float64."""
    checkpoint, _ = good_files(tmp_path)
    expected = torch.randn(6, 3, generator=torch.Generator().manual_seed(2)).to(dtype)
    torch.save(expected, tmp_path / "x.pt")
    torch.save({k: v.to(dtype) for k, v in state_dict().items()}, tmp_path / "m.pt")
    assert torch.equal(load_inputs(tmp_path / "x.pt"), expected.double())
    module = load_recurrent_checkpoint(tmp_path / "m.pt")
    assert module.weight_hh_l0.dtype == torch.float64
    assert torch.equal(module.weight_hh_l0, state_dict()["weight_hh_l0"].to(dtype).double())
    if dtype != torch.bfloat16:  # numpy has no bfloat16
        np.save(tmp_path / "x.npy", expected.numpy())
        assert torch.equal(load_inputs(tmp_path / "x.npy"), expected.double())


def test_good_files_of_every_architecture_still_load(tmp_path):
    for kind, options in [("rnn", {}), ("lstm", {"num_layers": 2, "bidirectional": True}), ("lstm", {"proj_size": 2}),
                          ("gru", {"num_layers": 3, "bias": False})]:
        torch.save(state_dict(kind, **options), tmp_path / "m.pt")
        module = load_recurrent_checkpoint(tmp_path / "m.pt")
        reference = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](3, 5, **options)
        assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in reference.state_dict().items()}
