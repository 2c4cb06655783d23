"""The seed's claims, measured: each claim is an experiment whose verdict follows from its numbers.

``run_claims(ClaimsConfig())`` returns one :class:`ClaimResult` per claim (C1–C11) with the
seed's statement, a verdict (``holds``, ``holds with caveat``, ``does not hold``), the measured
evidence and the data of its figure.
"""

from rnngrad.claims._result import VERDICTS, ClaimResult, ClaimsConfig, Progress, ProgressCallback
from rnngrad.claims._run import CLAIM_IDS, CLAIMS_WORK, EXPERIMENTS, run_claims

__all__ = [
    "CLAIMS_WORK",
    "CLAIM_IDS",
    "EXPERIMENTS",
    "VERDICTS",
    "ClaimResult",
    "ClaimsConfig",
    "Progress",
    "ProgressCallback",
    "run_claims",
]
