"""The words inside the report's figures, in English and Korean (symbols and numbers are shared).

matplotlib draws a label that contains ``$…$`` entirely with its math fonts, which have no Hangul,
so a Korean label that mixes words and symbols writes the symbols in plain Unicode (k = T − t,
‖W_hh‖₂) instead of mathtext; labels made of symbols only are shared by both languages. Decay
rates and Lyapunov exponents are in nats per step (natural log of the factor per step) everywhere
in the report, as in the library and the CLI.
"""

from __future__ import annotations

from typing import Mapping

LAG = r"lag $k = T - t$ (steps)"

FIGURE_TEXT: dict[str, Mapping[str, str]] = {
    "en": {
        "lag": LAG,
        "lag_back": r"lag $k$ (steps back from $T$)",
        "relative_difference": r"relative difference $\|(4) - (3)\|_F \,/\, \|(3)\|_F$",
        "bound": r"dotted: bound $\|W_{hh}\|_2^{\,k}$",
        "input_std": r"std of the inputs $x_t$",
        "mean_tanh": r"mean $\tanh'(a_t)$ over $t$ and units",
        "regime_left": r"$\log_{10} \|\partial h_T / \partial h_0\|_2$: red explodes, blue vanishes",
        "regime_right": r"mean $\tanh'(a_t)$: large inputs saturate tanh",
        "at_most_one": r"below: $\lambda_1 \leq 1$",
        "carousel": r"$\max_i \prod f_i$ (carousel)",
        "all_paths": r"$\|\partial c_T / \partial c_{T-k}\|_2$ (all paths)",
        "full_state": r"$\|\partial (h,c)_T / \partial (h,c)_{T-k}\|_2$ (all paths)",
        "total_grad": r"$\|dL/dc_{T-k}\| \,/\, \|dL/dc_T\|$ (total gradient)",
        "derivative_size": "size over k steps",
        "median_product": r"median $\prod_{j > T-k} f_j$",
        "one_over_e": "1/e",
        "horizon_mark": "the median crosses 1/e",
        "setting": r"forget-gate bias $b_f$",
        "predicted": r"predicted $1 / (1 - \sigma(b_f))$ (steps)",
        "measured": "measured horizon (median, steps)",
        "diagonal_channel": "channel $i$ (sorted)",
        "horizon_steps": r"memory horizon $\tau_i$ (steps)",
        "predicted_from_tau": r"dashed: predicted from $\tau_i$",
        "relative_grad": r"$\|dL/dh_{T-k}\| \,/\, \|dL/dh_T\|$",
        "update": "update",
        "mse": "training MSE",
        "relative_to_max": r"$\|dL/dh_{T-k}\|$ / largest",
        "function": "{name}(x)",
        "derivative": "{name}′(x)",
        "max": "max = {value}",
        "grid_x": "x",
        "grid_y": "φ(x) (blue) and φ′(x) (red)",
        "grid_title": "{name}  (sup |φ′| = {sup})",
        "decay_axis": r"decay rate $r$ of $\|\partial h_T/\partial h_{T-k}\|_2$ (nats per step; < 0: grows)",
        "exact_zero": "exactly 0 from lag k = {lag}",
        "exact_zero_legend": "×: the Jacobian is exactly 0 (no rate)",
        "torch_init": "torch init",
        "spectral_norm": r"$\|W_{{hh}}\|_2 = {gain}$",
        "spectrum_index": "index $i$ of the exponent (descending)",
        "spectrum_axis": r"Lyapunov exponent $\lambda_i$ (nats per step)",
        "tanh_rnn": r"tanh RNN, $\|W_{{hh}}\|_2 = {gain}$",
        "lstm": r"LSTM, $b_f = {bias}$",
        "memory_line": "0: kept; below: forgotten",
    },
    "ko": {
        "lag": "시차 k = T − t (단계)",
        "lag_back": "시차 k (T에서 거꾸로 센 단계)",
        "relative_difference": "상대 차이 ‖(4) − (3)‖_F / ‖(3)‖_F",
        "bound": "점선: 상한 ‖W_hh‖₂ᵏ",
        "input_std": "입력 xₜ의 표준편차",
        "mean_tanh": "t와 유닛에 대한 tanh′(aₜ)의 평균",
        "regime_left": "log₁₀ ‖∂h_T/∂h_0‖₂: 빨강은 폭발, 파랑은 소멸",
        "regime_right": "tanh′(aₜ)의 평균: 입력이 크면 tanh가 포화된다",
        "at_most_one": "아래: λ₁ ≤ 1",
        "carousel": r"$\max_i \prod f_i$ (carousel)",
        "all_paths": "‖∂c_T/∂c_(T−k)‖₂ (모든 경로)",
        "full_state": "‖∂(h,c)_T/∂(h,c)_(T−k)‖₂ (모든 경로)",
        "total_grad": "‖dL/dc_(T−k)‖ / ‖dL/dc_T‖ (전체 gradient)",
        "derivative_size": "k 단계에 걸친 크기",
        "median_product": "∏ fⱼ (j > T − k)의 중앙값",
        "one_over_e": "1/e",
        "horizon_mark": "중앙값이 1/e를 지나는 곳",
        "setting": "forget gate의 bias b_f",
        "predicted": "예측 1/(1 − σ(b_f)) (단계)",
        "measured": "측정한 기억 지평 (중앙값, 단계)",
        "diagonal_channel": "채널 i (정렬)",
        "horizon_steps": "기억 지평 τᵢ (단계)",
        "predicted_from_tau": "점선: τᵢ로 예측한 값",
        "relative_grad": r"$\|dL/dh_{T-k}\| \,/\, \|dL/dh_T\|$",
        "update": "업데이트",
        "mse": "학습 MSE",
        "relative_to_max": "‖dL/dh_(T−k)‖ / 최대값",
        "function": "{name}(x)",
        "derivative": "{name}′(x)",
        "max": "최대값 = {value}",
        "grid_x": "x",
        "grid_y": "φ(x) (파랑)와 φ′(x) (빨강)",
        "grid_title": "{name}  (sup |φ′| = {sup})",
        "decay_axis": "‖∂h_T/∂h_(T−k)‖₂의 감쇠율 r (단계당 nat, 음수는 증가)",
        "exact_zero": "시차 k = {lag}부터 정확히 0",
        "exact_zero_legend": "×: Jacobian이 정확히 0 (감쇠율 없음)",
        "torch_init": "torch 초기화",
        "spectral_norm": r"$\|W_{{hh}}\|_2 = {gain}$",
        "spectrum_index": "지수의 번호 i (내림차순)",
        "spectrum_axis": "Lyapunov 지수 λᵢ (단계당 nat)",
        "tanh_rnn": r"tanh RNN, $\|W_{{hh}}\|_2 = {gain}$",
        "lstm": r"LSTM, $b_f = {bias}$",
        "memory_line": "0: 유지, 아래: 잊힘",
    },
}


def figure_words(lang: str) -> Mapping[str, str]:
    """The figure labels of one report language."""
    return FIGURE_TEXT[lang]
