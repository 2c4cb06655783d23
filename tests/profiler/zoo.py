"""User-like models with recurrent modules at various depths, each with inputs and a loss.

Every case is built in float64 from a seed and returns ``(model, inputs, loss_fn)``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class LanguageModel(nn.Module):
    """Embedding → 2-layer LSTM → linear decoder over the vocabulary."""

    def __init__(self, vocabulary: int = 11, embedding: int = 4, hidden: int = 5):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embedding)
        self.rnn = nn.LSTM(embedding, hidden, num_layers=2)
        self.decoder = nn.Linear(hidden, vocabulary)

    def forward(self, tokens):  # (T, B) → (T, B, V)
        output, _ = self.rnn(self.embed(tokens))
        return self.decoder(output)


class PackedClassifier(nn.Module):
    """Bidirectional 2-layer batch_first GRU over a PackedSequence; reads outputs and h_n."""

    def __init__(self, inputs: int = 3, hidden: int = 4, dropout: float = 0.0):
        super().__init__()
        self.gru = nn.GRU(inputs, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=dropout)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, packed):
        output, h_n = self.gru(packed)
        padded, _ = pad_packed_sequence(output, batch_first=True)  # (B, T, 2H)
        return self.head(torch.cat((h_n[-2], h_n[-1]), 1)), padded


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4)

    def forward(self, x):
        return self.rnn(x)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.bridge = nn.Linear(4, 3)
        self.rnn = nn.GRU(4, 3, bias=False)

    def forward(self, x, h):
        return self.rnn(torch.tanh(x), self.bridge(h))


class TwoBlocks(nn.Module):
    """Encoder LSTM → decoder GRU started from the encoder's final state (nested names)."""

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, x):
        output, (h_n, _) = self.encoder(x)
        decoded, _ = self.decoder(output, h_n)
        return decoded


Case = Callable[[], tuple[nn.Module, tuple, Callable]]


def language_model():
    torch.manual_seed(1)
    model = LanguageModel().double().eval()
    tokens = torch.randint(0, 11, (6, 3))
    targets = torch.randint(0, 11, (6, 3))
    return model, (tokens,), lambda logits: F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1))


def packed_bigru(dropout: float = 0.0):
    torch.manual_seed(2)
    model = PackedClassifier(dropout=dropout).double().eval()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor([3, 6, 2, 5]), batch_first=True, enforce_sorted=False)
    return model, (packed,), lambda out: out[0].square().sum() + 0.1 * out[1].sin().sum()


def projected_lstm():
    torch.manual_seed(3)
    model = nn.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=True).double().eval()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    return model, (x,), lambda out: out[0][-1].square().sum() + out[1][1].sum() + out[1][0].cos().sum()


def two_blocks():
    torch.manual_seed(4)
    model = TwoBlocks().double().eval()
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    return model, (x,), lambda out: out.square().mean()


def relu_rnn_with_state():
    torch.manual_seed(5)
    model = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True).double().eval()
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    h0 = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    return model, (x, h0), lambda out: out[0][:, -1].sum() + out[1].square().sum()


def unbatched_tanh_rnn():
    torch.manual_seed(6)
    model = nn.RNN(3, 4, bidirectional=True).double().eval()
    return model, (torch.randn(5, 3, dtype=torch.float64),), lambda out: out[0].square().sum()


def lstm_with_dropout():
    torch.manual_seed(7)
    model = nn.LSTM(3, 4, num_layers=3, dropout=0.4).double().train()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    return model, (x,), lambda out: out[0].square().sum() + out[1][0].sum()


def packed_bigru_with_dropout():
    model, inputs, loss_fn = packed_bigru(dropout=0.5)
    return model.train(), inputs, loss_fn


def lstm_with_state_over_sorted_packed_batch():
    """batch_first bidirectional LSTM, given (h0, c0), PackedSequence with tied lengths."""
    torch.manual_seed(8)
    model = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True).double().eval()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor([6, 4, 4, 1]), batch_first=True)
    h0 = torch.randn(4, 4, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(4, 4, 4, dtype=torch.float64, requires_grad=True)
    return model, (packed, (h0, c0)), lambda out: out[0].data.tanh().sum() + out[1][1].square().sum()


def unbatched_lstm_with_state():
    torch.manual_seed(9)
    model = nn.LSTM(3, 4, proj_size=2, batch_first=True).double().eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    state = (torch.randn(1, 2, dtype=torch.float64), torch.randn(1, 4, dtype=torch.float64))
    return model, (x, state), lambda out: out[0].square().sum() + out[1][1].sum()


CASES: dict[str, Case] = {
    "language_model": language_model,
    "packed_bigru": packed_bigru,
    "projected_lstm": projected_lstm,
    "two_blocks": two_blocks,
    "relu_rnn_with_state": relu_rnn_with_state,
    "unbatched_tanh_rnn": unbatched_tanh_rnn,
    "lstm_with_dropout": lstm_with_dropout,
    "packed_bigru_with_dropout": packed_bigru_with_dropout,
    "lstm_with_state_over_sorted_packed_batch": lstm_with_state_over_sorted_packed_batch,
    "unbatched_lstm_with_state": unbatched_lstm_with_state,
}
DROPOUT_CASES = ("lstm_with_dropout", "packed_bigru_with_dropout")
