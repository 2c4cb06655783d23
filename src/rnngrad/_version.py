"""The package version, in a leaf module (pyproject.toml reads it; importing it imports nothing else)."""

__version__ = "0.1.0"
