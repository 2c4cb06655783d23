"""Lyapunov spectra of recurrent state Jacobians: how many directions keep memory, how fast.

``spectrum`` is the entry point (also ``rnngrad.spectrum``); ``lyapunov_exponents`` and
``log_singular_values_at_lags`` are its two parts.
"""

from rnngrad.spectra._spectrum import Spectrum, spectrum
from rnngrad.spectra.lags import log_singular_values_at_lags
from rnngrad.spectra.lyapunov import LyapunovExponents, lyapunov_exponents

__all__ = [
    "LyapunovExponents",
    "Spectrum",
    "log_singular_values_at_lags",
    "lyapunov_exponents",
    "spectrum",
]
