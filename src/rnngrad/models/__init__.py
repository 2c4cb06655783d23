"""The recurrent models compared on the long-lag tasks: ``build_model(name, I, H, O, ...)``.

Names: ``rnn-tanh``, ``rnn-sigmoid``, ``irnn``, ``lstm``, ``lstm-fb1``, ``lstm-chrono``,
``lstm-nofg``, ``gru``, ``mingru``, ``minlstm``, ``lru`` (see :mod:`rnngrad.models.registry`).
"""

from rnngrad.models.registry import ModelSpec, build_model, model_names, model_spec
from rnngrad.models.sequence_model import SequenceModel, UnrolledRecurrence

__all__ = ["ModelSpec", "SequenceModel", "UnrolledRecurrence", "build_model", "model_names", "model_spec"]
