"""The report's mathematics: numbered equations and the claims' formulas, as LaTeX and as plain text.

The page shows each as MathML (converted from the LaTeX by ``latex2mathml``; Chromium and Firefox
draw MathML natively, offline); ``report.json`` keeps the plain text beside the LaTeX. Symbols
follow the seed post: h_t, C_t, C̃_t, f_t, i_t, W_hh, W_xh, b_h, ∂h_T/∂h_t as a fraction,
∏_{i=t+1}^{T} f_i. Where the report corrects the seed, the symbols stay and the form changes
(the diagonal of tanh' on the left in (3), ⊙ for the elementwise products of (6)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Callable, Iterable

from latex2mathml.converter import convert


@dataclass(frozen=True)
class Formula:
    latex: str  # what the page typesets
    text: str  # the same in plain text, as report.json and the claims' statements write it


# Numbered display equations. A note beside an equation (in the report's language) is the key
# ``equation_notes`` of the text tables.
EQUATIONS: dict[int, Formula] = {
    1: Formula(r"h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b_h)",
               "h_{t} = tanh(W_{hh} h_{t−1} + W_{xh} x_{t} + b_{h})"),
    2: Formula(r"\frac{\partial h_T}{\partial h_t} = \frac{\partial h_T}{\partial h_{T-1}} \cdot "
               r"\frac{\partial h_{T-1}}{\partial h_{T-2}} \cdots \frac{\partial h_{t+1}}{\partial h_t}",
               "∂h_{T}/∂h_{t} = ∂h_{T}/∂h_{T−1} · ∂h_{T−1}/∂h_{T−2} · … · ∂h_{t+1}/∂h_{t}"),
    3: Formula(r"\frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}\left(\tanh'(a_k)\right) W_{hh}, \quad "
               r"a_k = W_{hh} h_{k-1} + W_{xh} x_k + b_h",
               "∂h_{k}/∂h_{k−1} = diag(tanh′(a_{k})) · W_{hh},   a_{k} = W_{hh} h_{k−1} + W_{xh} x_{k} + b_{h}"),
    4: Formula(r"\frac{\partial h_T}{\partial h_t} \overset{?}{=} W_{hh}^{T-t} \prod_{i=t}^{T-1} \tanh'(a_{i+1})",
               "∂h_{T}/∂h_{t} ≟ W_{hh}^{T−t} · ∏_{i=t}^{T−1} tanh′(a_{i+1})"),
    5: Formula(r"\left\| \frac{\partial h_T}{\partial h_t} \right\|_2 \le \|W_{hh}\|_2^{T-t} "
               r"\prod_{k=t+1}^{T} \max_i \tanh'(a_{k,i}) \le (\gamma \lambda_1)^{T-t}, \quad \lambda_1 = \|W_{hh}\|_2",
               "‖∂h_{T}/∂h_{t}‖_{2} ≤ ‖W_{hh}‖_{2}^{T−t} ∏_{k=t+1}^{T} max_{i} tanh′(a_{k,i}) ≤ (γ λ_{1})^{T−t},   "
               "λ_{1} = ‖W_{hh}‖_{2}"),
    6: Formula(r"C_t = f_t \odot C_{t-1} + i_t \odot \tilde{C}_t", "C_{t} = f_{t} ⊙ C_{t−1} + i_{t} ⊙ C̃_{t}"),
    7: Formula(r"\left.\frac{\partial C_T}{\partial C_t}\right|_{\text{carousel}} = \prod_{i=t+1}^{T} f_i",
               "∂C_{T}/∂C_{t} |_{carousel} = ∏_{i=t+1}^{T} f_{i}"),
    8: Formula(r"\tau \approx \frac{1}{1 - \sigma(b_f)}", "τ ≈ 1 / (1 − σ(b_{f}))"),
    9: Formula(r"h_t = a_t \odot h_{t-1} + b_t, \quad a_t = 1 - z_t \;(\text{minGRU}), \quad "
               r"a_t = f'_t = \frac{f_t}{f_t + i_t} \;(\text{minLSTM}), \quad a_t = \lambda \;(\text{LRU})",
               "h_{t} = a_{t} ⊙ h_{t−1} + b_{t},   a_{t} = 1 − z_{t} (minGRU),  a_{t} = f′_{t} = f_{t} / (f_{t} + i_{t}) "
               "(minLSTM),  a_{t} = λ (LRU)"),
    10: Formula(r"\frac{\partial h_T}{\partial h_t} = \frac{\partial h_T}{\partial h_{T-1}} \cdots "
                r"\frac{\partial h_{t+1}}{\partial h_t} = \prod_{k=t+1}^{T} \operatorname{diag}(a_k)",
                "∂h_{T}/∂h_{t} = ∂h_{T}/∂h_{T−1} · … · ∂h_{t+1}/∂h_{t} = ∏_{k=t+1}^{T} diag(a_{k})"),
    11: Formula(r"\tau_i = \frac{-1}{\operatorname{mean}_t \log|a_{t,i}|}, \quad "
                r"\left| \left(\frac{\partial h_T}{\partial h_{T-k}}\right)_{ii} \right| \approx e^{-k/\tau_i}",
                "τ_{i} = −1 / mean_{t} log|a_{t,i}|,   |(∂h_{T}/∂h_{T−k})_{ii}| ≈ e^{−k/τ_i}"),
    12: Formula(r"\sigma'(x) = \sigma(x)\left(1 - \sigma(x)\right) \le \frac{1}{4}, \quad "
                r"\tanh'(x) = 1 - \tanh^2(x) \le 1",
                "σ′(x) = σ(x)(1 − σ(x)) ≤ 1/4,   tanh′(x) = 1 − tanh^{2}(x) ≤ 1"),
}

# The formulas inside each claim's statement, by their plain text as the statement writes it (in
# English, rnngrad.claims; in Korean, text_ko): the page typesets each occurrence.
CLAIM_FORMULAS: dict[str, tuple[Formula, ...]] = {
    "C1": (Formula(r"\frac{\partial h_T}{\partial h_t} = \frac{\partial h_T}{\partial h_{T-1}} \cdots "
                   r"\frac{\partial h_{t+1}}{\partial h_t}", "∂h_T/∂h_t = ∂h_T/∂h_{T−1} · … · ∂h_{t+1}/∂h_t"),
           Formula(r"\frac{\partial h_k}{\partial h_{k-1}} = W_{hh} \cdot \tanh'(W_{hh} h_{k-1} + W_{xh} x_k + b_h)",
                   "∂h_k/∂h_{k−1} = W_hh · tanh'(W_hh h_{k−1} + W_xh x_k + b_h)")),
    "C2": (Formula(r"\frac{\partial h_T}{\partial h_t} = W_{hh}^{T-t} \cdot \prod_{i=t}^{T-1} "
                   r"\tanh'(W_{hh} h_i + W_{xh} x_{i+1} + b_h)",
                   "∂h_T/∂h_t = W_hh^(T−t) · ∏_{i=t}^{T−1} tanh'(W_hh h_i + W_xh x_{i+1} + b_h)"),),
    "C3": (Formula(r"\|W_{hh}\|_2 < 1 \Rightarrow \left\|\frac{\partial h_T}{\partial h_t}\right\| \le \|W_{hh}\|_2^{T-t}",
                   "‖W_hh‖₂ < 1 ⇒ ‖∂h_T/∂h_t‖ ≤ ‖W_hh‖₂^(T−t)"),),
    "C4": (Formula(r"\lambda_1 > 1/\gamma", "λ₁ > 1/γ"),),
    "C5": (Formula(r"\frac{\partial C_T}{\partial C_t} = \frac{\partial C_T}{\partial C_{T-1}} \cdots "
                   r"\frac{\partial C_{t+1}}{\partial C_t} = \prod_{i=t+1}^{T} f_i",
                   "∂C_T/∂C_t = ∂C_T/∂C_{T−1} · … · ∂C_{t+1}/∂C_t = ∏_{i=t+1}^{T} f_i"),
           Formula(r"C_t = f_t \cdot C_{t-1} + i_t \cdot \tilde{C}_t", "C_t = f_t·C_{t−1} + i_t·C̃_t")),
    "C6": (Formula(r"\frac{\partial C_T}{\partial C_t}", "∂C_T/∂C_t"),),
    "C8": (Formula(r"\frac{d\sigma(x)}{dx}", "dσ(x)/dx"),),
    "C9": (Formula(r"\frac{d\tanh(x)}{dx}", "dtanh(x)/dx"),),
    "C10": (Formula(r"\left\|\frac{\partial h_T}{\partial h_t}\right\|", "‖∂h_T/∂h_t‖"),),
    "C12": (Formula(r"h_t = a_t \odot h_{t-1} + b_t", "h_t = a_t ⊙ h_{t−1} + b_t"),
            Formula(r"\frac{\partial h_T}{\partial h_t} = \prod_{k=t+1}^{T} \operatorname{diag}(a_k)",
                    "∂h_T/∂h_t = ∏_{k=t+1}^{T} diag(a_k)")),
    "C13": (Formula(r"\tau_i = -1 / \operatorname{mean}_t \log|a_{t,i}|", "τ_i = −1 / mean_t log|a_{t,i}|"),),
}


@lru_cache(maxsize=None)
def mathml(formula: Formula, display: str = "inline") -> str:
    """The formula as a ``<math>`` element, its plain text as ``alttext``."""
    element = convert(formula.latex, display=display)
    return element.replace("<math ", f'<math alttext="{escape(formula.text)}" ', 1)


def with_formulas(text: str, formulas: Iterable[Formula], rest: Callable[[str], str]) -> str:
    """``text`` as HTML: each formula's plain text typeset as MathML, every other piece through ``rest``."""
    formulas = sorted(formulas, key=lambda formula: -len(formula.text))  # longest first where two start together
    if not formulas:
        return rest(text)
    pattern = re.compile("|".join(re.escape(formula.text) for formula in formulas))
    by_text = {formula.text: formula for formula in formulas}
    out, position = [], 0
    for match in pattern.finditer(text):
        out.append(rest(text[position : match.start()]))
        out.append(mathml(by_text[match.group(0)]))
        position = match.end()
    out.append(rest(text[position:]))
    return "".join(out)


def equations_json() -> list[dict]:
    """The numbered equations for ``report.json``: number, LaTeX and plain text."""
    return [{"number": number, "latex": formula.latex, "text": formula.text} for number, formula in EQUATIONS.items()]
