"""Published results for the tasks here, keyed by (task, T, model) to sit beside our runs.

A paper's "LSTM" is compared with every LSTM variant here (``lstm``, ``lstm-fb1``,
``lstm-chrono``, ``lstm-nofg``); ``paper_model`` says what the paper trained. ``solved`` is the
paper's verdict in the sense of the task's criterion; ``sequences`` the number of training
sequences it needed, where reported, and ``updates`` the weight updates they took. Only T values a
paper reports are listed.

**HS97's budget, like for like.** Hochreiter & Schmidhuber "always use on-line learning (as
opposed to batch learning)"; "except for Experiments 1, 2a, and 2b, sequence elements are randomly
generated on-line, and error signals are generated only at sequence ends" (HS97 §5, "What's
common to Experiments 1–6"), and Tables 7 and 9 give "the number of training sequences required
to achieve the stopping criterion" (means of 10 and 20 trials). So one sequence brings one weight
change: HS97's 74,000 sequences at T = 100 are 74,000 updates of one sequence each (plain gradient
descent, learning rate 0.5, 93 weights). A run here of N updates × B sequences sees N·B sequences
in only N updates: compare updates with updates and sequences with sequences (``TrainConfig``'s
default 3000 × 32: 3000 updates against HS97's 74,000, 96,000 sequences against their 74,000).

``mingru``, ``minlstm`` and ``lru`` have no entries: Feng et al. 2024 (arXiv:2410.01201) report
selective copying, D4RL and Shakespeare (and, in the revision after review, the Long Range Arena and
the Chomsky hierarchy); Orvieto et al. 2023 (arXiv:2303.06349) the Long Range Arena, with sCIFAR in
colour. None of these is one of our tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LSTMS = ("lstm", "lstm-fb1", "lstm-chrono", "lstm-nofg")


@dataclass(frozen=True)
class PublishedResult:
    """One published cell: a paper's result for a task at one T, for some of our models."""

    source: str  # short citation
    task: str  # our task name
    T: int
    models: tuple[str, ...]  # our models it is compared with
    paper_model: str  # what the paper trained
    result: str  # the result, in words
    solved: bool | None  # the paper's verdict
    sequences: int | None = None  # training sequences until solved, where reported
    updates: int | None = None  # weight updates they took (HS97: on-line, one per sequence)


def _hs97(task: str, T: int, sequences: int) -> PublishedResult:
    """HS97 learn on-line, one weight update per sequence: their sequences are their updates."""
    return PublishedResult("Hochreiter & Schmidhuber 1997", task, T, LSTMS, "LSTM (1997: no forget gate)",
                           f"solved after {sequences:,} training sequences (on-line: {sequences:,} updates "
                           "of one sequence each)", True, sequences, sequences)


PUBLISHED: tuple[PublishedResult, ...] = (
    _hs97("adding", 100, 74_000),
    _hs97("adding", 500, 209_000),
    _hs97("adding", 1000, 853_000),
    _hs97("temporal-order", 100, 31_390),
    *(PublishedResult("Pascanu et al. 2013", task, T, ("rnn-tanh",), "tanh RNN, 50 units",
                      "100 % success with gradient clipping and their vanishing-gradient regulariser",
                      True)
      for task in ("adding", "temporal-order") for T in (50, 100, 150, 200)),
    *(PublishedResult("Le et al. 2015", "adding-sum", T, ("irnn",), "IRNN",
                      "solved (after very long training)" if T <= 300 else "not solved", T <= 300)
      for T in (150, 200, 300, 400)),
    *(PublishedResult("Le et al. 2015", "adding-sum", T, ("rnn-tanh",), "tanh RNN",
                      "solved (after very long training)" if T <= 150 else "not solved", T <= 150)
      for T in (150, 200, 300, 400)),
    *(PublishedResult("Arjovsky et al. 2016", "adding-sum", T, LSTMS, "LSTM, 128 units",
                      "beats the baseline MSE 0.167" if T <= 400 else "does not beat the baseline",
                      T <= 400)
      for T in (100, 200, 400, 750)),
    *(PublishedResult("Arjovsky et al. 2016", "adding-sum", T, ("rnn-tanh",), "tanh RNN",
                      "never beats the baseline MSE 0.167", False)
      for T in (100, 200, 400, 750)),
    *(PublishedResult("Arjovsky et al. 2016", "copy", T, LSTMS, "LSTM, 40 units",
                      f"beats the baseline {baseline}" if T == 100 else f"stays at the baseline {baseline}",
                      T == 100)
      for T, baseline in ((100, 0.173), (200, 0.0945), (300, 0.065), (500, 0.040))),
)


def published_results(task: str, T: int, model: str) -> list[PublishedResult]:
    """Every published result for this cell (possibly none)."""
    return [entry for entry in PUBLISHED if (entry.task, entry.T) == (task, T) and model in entry.models]


def published_summary(task: str, T: int, model: str) -> dict[str, Any] | None:
    """The cell's published results merged into one JSON-ready dict, or None if there are none.

    Keys: ``source``, ``paper_model``, ``result`` (each "; "-joined over the papers), ``solved``
    (None where the papers disagree), ``sequences`` and ``updates`` (where one paper reports them).
    """
    entries = published_results(task, T, model)
    if not entries:
        return None
    verdicts = {entry.solved for entry in entries}
    sequences = [entry.sequences for entry in entries if entry.sequences is not None]
    updates = [entry.updates for entry in entries if entry.updates is not None]
    return {
        "source": "; ".join(entry.source for entry in entries),
        "paper_model": "; ".join(entry.paper_model for entry in entries),
        "result": "; ".join(entry.result for entry in entries),
        "solved": verdicts.pop() if len(verdicts) == 1 else None,
        "sequences": sequences[0] if len(sequences) == 1 else None,
        "updates": updates[0] if len(updates) == 1 else None,
    }
