"""Which calls of one recurrent module form one sequence in time: its chains.

A decoder loop calls its module once per output step, ``o, h = self.decoder(x_t, h)``; a cell
loop calls its cell once per input step. A call CONTINUES a chain when the state it receives is,
tensor for tensor (the same objects), the state the chain's last call returned; otherwise it
STARTS a new chain (no state, a fresh zero state, an encoder's state, a second unrelated
sequence). So the chain of a decoder loop has one time axis over all its calls, and one module
applied to two sequences has two chains. (Any chain's last state is matched, not only the
previous call's, so two decoders that alternate keep their chains apart.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from rnngrad.errors import InputError


@dataclass
class _Chain:
    sizes: tuple  # (B, H_out, H_cell or None): what every call of the chain must keep
    members: list[int] = field(default_factory=list)  # call indices, in time order
    steps: int = 0  # time steps so far
    final: tuple[Tensor, ...] | None = None  # the state the last call returned


class Chains:
    """The chains of every module name seen in one profiled pass."""

    def __init__(self) -> None:
        self._chains: dict[str, list[_Chain]] = {}

    def place(self, name: str, initial: tuple[Tensor | None, ...], call: int, steps: int,
              sizes: tuple) -> tuple[int, int]:
        """Put call ``call`` of ``steps`` steps in its chain: ``(chain index, its first step)``."""
        chains = self._chains.setdefault(name, [])
        index = self._continued(chains, initial)
        if index is None:
            chains.append(_Chain(sizes))
            index = len(chains) - 1
        chain = chains[index]
        if chain.sizes != sizes:
            raise InputError(
                f"{name}: expected every step of a chain to keep its batch and state sizes "
                f"{_sizes_text(chain.sizes)}, got {_sizes_text(sizes)} at step {chain.steps}"
            )
        chain.members.append(call)
        chain.final = None  # until the call returns
        offset, chain.steps = chain.steps, chain.steps + steps
        return index, offset

    def continues(self, name: str, initial: tuple[Tensor | None, ...]) -> bool:
        """True when a call receiving ``initial`` would continue one of ``name``'s chains."""
        return self._continued(self._chains.get(name, []), initial) is not None

    def close(self, name: str, chain: int, final: tuple[Tensor, ...]) -> None:
        """Record the state chain ``chain`` of ``name`` ended with."""
        self._chains[name][chain].final = final

    def members(self, name: str) -> list[list[int]]:
        """The call indices of each chain of ``name``, chains in order of their first call."""
        return [chain.members for chain in self._chains.get(name, [])]

    def last_final(self, name: str) -> tuple[Tensor, ...]:
        """The state the newest chain of ``name`` ended with (``()`` before its first call)."""
        chains = self._chains.get(name)
        return () if not chains or chains[-1].final is None else chains[-1].final

    @staticmethod
    def _continued(chains: list[_Chain], initial: tuple[Tensor | None, ...]) -> int | None:
        if not initial or any(tensor is None for tensor in initial):
            return None
        for index in range(len(chains) - 1, -1, -1):
            final = chains[index].final
            if final is not None and len(final) == len(initial) and all(
                a is b for a, b in zip(final, initial)
            ):
                return index
        return None


def _sizes_text(sizes: tuple) -> str:
    batch, hidden, cell = sizes
    text = f"B = {batch}, H = {hidden}"
    return text if cell is None else text + f", cell H = {cell}"
