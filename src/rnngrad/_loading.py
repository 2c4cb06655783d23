"""Reading a user's tensor files safely: no pickle runs, nothing big is allocated unchecked.

One rule for every loader: a tensor must be dense and **real floating point** (float16,
bfloat16, float32 or float64; it is then converted to float64 by the caller). Complex, integer,
bool, string, structured and object arrays are refused with one :class:`InputError`, never cast
(a cast would drop an imaginary part or make numbers of flags).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from rnngrad.errors import InputError

NPY_FLOAT_KINDS = "f"  # numpy's kind letter of real floating point (float16, float32, float64)


def check_file(argument: str, path: Path) -> Path:
    """Return ``path`` if it is an existing regular file; else say what it is instead."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{argument}: expected a file, got {str(path)!r}, which is a directory")
    if not path.exists():
        raise InputError(f"{argument}: expected an existing file, got {str(path)!r} (not found)")
    if not path.is_file():
        raise InputError(f"{argument}: expected a regular file, got {str(path)!r} (a device, pipe or socket)")
    return path


def load_tensor_file(argument: str, path: Path):
    """``torch.load(path, weights_only=True)`` on CPU; a file it refuses is one :class:`InputError`.

    torch's own warnings while reading (an unusual pickle protocol) are dropped when the file is
    refused, where the one-line refusal says all, and shown as usual when it loads.
    """
    path = check_file(argument, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
            raise InputError(
                f"{argument}: refused to load {str(path)!r}: it is not a plain tensor file readable "
                f"with weights_only=True ({_reason(error)})"
            ) from None
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return loaded


def check_real_float(argument: str, tensor: torch.Tensor) -> torch.Tensor:
    """Return ``tensor`` if it is a dense real floating-point tensor with no empty dimension."""
    if tensor.layout != torch.strided:
        raise InputError(f"{argument}: expected a dense tensor, got layout {tensor.layout}")
    if not tensor.is_floating_point():
        raise InputError(f"{argument}: expected real floating-point values (float16/32/64), got dtype {tensor.dtype}")
    if tensor.numel() == 0:
        raise InputError(f"{argument}: expected a non-empty tensor, got shape {tuple(tensor.shape)}")
    return tensor


def open_npy(argument: str, path: Path) -> np.ndarray:
    """The array in a ``.npy`` file, memory-mapped (nothing is read yet), of real floats.

    Its dtype and shape come from the header alone, so the caller checks the size before
    anything is copied; a pickled (object) array is refused and never unpickled.
    """
    path = check_file(argument, path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"{argument}: could not read {str(path)!r} as a .npy array ({_reason(error)})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{argument}: expected one .npy array, got {type(array).__name__}")
    dtype = array.dtype
    if dtype.kind not in NPY_FLOAT_KINDS or dtype.itemsize > 8:
        raise InputError(f"{argument}: expected real floating-point values (float16/32/64), got dtype {dtype}")
    return array


def _reason(error: BaseException) -> str:
    """The informative line of a loader's error message (for torch's, the unpickler's reason)."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
