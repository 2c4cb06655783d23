"""The seed's claims, measured: each claim is an experiment whose verdict follows from its numbers.

``run_claims(ClaimsConfig())`` returns one :class:`ClaimResult` per claim (C1–C14) with the
seed's statement, a verdict (``holds``, ``holds with caveat``, ``does not hold``), the measured
evidence and the data of its figure.

Also public, for figures that draw beside the claims (the report): ``generator(seed, stream)``,
the independent random stream of a named experiment, and the RNN builders ``rnn_cell`` and
``unit_spectral_direction``.
"""

from rnngrad.claims._result import VERDICTS, ClaimResult, ClaimsConfig, Progress, ProgressCallback, generator
from rnngrad.claims._run import CLAIM_IDS, CLAIMS_WORK, EXPERIMENTS, run_claims
from rnngrad.claims._tools import rnn_cell, unit_spectral_direction

__all__ = [
    "CLAIMS_WORK",
    "CLAIM_IDS",
    "EXPERIMENTS",
    "VERDICTS",
    "ClaimResult",
    "ClaimsConfig",
    "Progress",
    "ProgressCallback",
    "generator",
    "rnn_cell",
    "run_claims",
    "unit_spectral_direction",
]
