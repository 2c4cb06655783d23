"""Lyapunov spectra of recurrent state Jacobians: how many directions keep memory, how fast.

``spectrum`` is the entry point; :mod:`rnngrad.spectrum.figure` draws spectra (matplotlib).
"""

from rnngrad.spectrum._spectrum import Spectrum, spectrum
from rnngrad.spectrum.lags import log_singular_values_at_lags
from rnngrad.spectrum.lyapunov import LyapunovExponents, lyapunov_exponents

__all__ = [
    "LyapunovExponents",
    "Spectrum",
    "log_singular_values_at_lags",
    "lyapunov_exponents",
    "spectrum",
]
