"""The interactive explorer: one offline page where sliders move the seed's argument, computed in
the browser from fixed weights (``rnngrad explore``)."""

from rnngrad.explore.page import explorer_html
from rnngrad.explore.weights import explorer_weights
from rnngrad.explore.writer import write_explorer

__all__ = ["explorer_html", "explorer_weights", "write_explorer"]
