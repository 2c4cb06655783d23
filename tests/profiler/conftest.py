"""Shared fixtures of the profiler tests (none at present: the oracle lives in ``reference``)."""
