"""Tests of rnngrad.claims and rnngrad.report (the seed's claims, measured)."""
