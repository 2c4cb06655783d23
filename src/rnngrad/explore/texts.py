"""The explorer page's words, English and Korean.

``STATIC`` fills the page's HTML (``intro`` and ``notes`` are trusted HTML written here; every other
value is escaped); ``DYNAMIC`` goes to the page's script as JSON (placeholders in braces).
"""

from __future__ import annotations

STATIC = {
    "en": {
        "title": "Why the LSTM resists vanishing gradients: move the sliders",
        "intro": (
            "<p class=\"lead\">Backpropagation through time multiplies one step Jacobian per step: "
            "∂s<sub>T</sub>/∂s<sub>t</sub> = J<sub>T</sub> J<sub>T−1</sub> ⋯ J<sub>t+1</sub>. "
            "For a vanilla RNN each factor is diag(φ′(a<sub>k</sub>)) W<sub>hh</sub>, so the product shrinks or "
            "grows geometrically with the lag k = T − t. For an LSTM the cell state's own path is a product of "
            "forget gates, ∏ f (the seed's formula), which stays near 1 when f is near 1; the full Jacobian of "
            "(h, c) adds every path through the gates.</p>"
            "<p class=\"lead\">Everything below is computed in this page, in plain JavaScript, from the fixed "
            "weights in <code>weights.json</code> (H = 32, random inputs). The address keeps the settings, "
            "e.g. <code>#arch=rnn&amp;gain=2&amp;T=100</code> or <code>#arch=lstm&amp;forget_bias=4.6&amp;T=200</code>.</p>"
        ),
        "settings": "Settings",
        "label_arch": "cell",
        "arch_rnn": "vanilla RNN",
        "arch_lstm": "LSTM",
        "label_activation": "activation φ",
        "label_gain": "gain ‖W_hh‖₂",
        "label_input_scale": "input scale",
        "label_forget_bias": "forget-gate bias raised by B",
        "label_init": "gate biases",
        "init_default": "torch's initialisation",
        "init_chrono": "chrono (b_f ~ log U[1, T_max − 1], b_i = −b_f)",
        "label_T": "sequence length T",
        "plot_label": "log10 of the norms of ∂s_T/∂s_t against the lag k = T − t",
        "notes": (
            "<p>The spectral norm ‖·‖₂ is the largest factor by which a gradient can be stretched; the "
            "Frobenius norm ‖·‖<sub>F</sub> sums all directions. For the RNN the dashed line is the bound "
            "(γ‖W<sub>hh</sub>‖₂)<sup>k</sup> with γ = sup|φ′| (1 for tanh and ReLU, 1/4 for sigmoid): below 1 "
            "the gradient must vanish. For the LSTM, ∏ f is the largest per-unit product of forget gates: it "
            "never exceeds 1, but the full Jacobian of (h, c) can.</p>"
            "<p>The same numbers in Python: <code>rnngrad.jacobian_through_time</code>, or "
            "<code>rnngrad jacobian --json</code>.</p>"
        ),
        "data_summary": "the numbers (JSON, entry t for ∂s_T/∂s_t)",
    },
    "ko": {
        "title": "LSTM이 gradient vanishing에 강한 이유: 슬라이더를 움직여 보세요",
        "intro": (
            "<p class=\"lead\">시간에 대한 역전파(BPTT)는 매 스텝의 야코비안을 곱합니다: "
            "∂s<sub>T</sub>/∂s<sub>t</sub> = J<sub>T</sub> J<sub>T−1</sub> ⋯ J<sub>t+1</sub>. "
            "기본 RNN에서 각 인수는 diag(φ′(a<sub>k</sub>)) W<sub>hh</sub>이므로, 곱은 시차 k = T − t에 따라 "
            "기하급수적으로 줄거나 커집니다. LSTM에서는 셀 상태 자신의 경로가 forget gate의 곱 ∏ f(원글의 식)이며, "
            "f가 1에 가까우면 1 근처에 머뭅니다. (h, c) 전체의 야코비안에는 게이트를 거치는 모든 경로가 더해집니다.</p>"
            "<p class=\"lead\">아래의 모든 값은 이 페이지 안에서 순수 JavaScript로, <code>weights.json</code>의 "
            "고정된 가중치(H = 32, 무작위 입력)로 계산됩니다. 주소에 설정이 남습니다. 예: "
            "<code>#arch=rnn&amp;gain=2&amp;T=100</code>, <code>#arch=lstm&amp;forget_bias=4.6&amp;T=200</code>.</p>"
        ),
        "settings": "설정",
        "label_arch": "셀",
        "arch_rnn": "기본 RNN",
        "arch_lstm": "LSTM",
        "label_activation": "활성화 함수 φ",
        "label_gain": "이득 ‖W_hh‖₂",
        "label_input_scale": "입력 크기",
        "label_forget_bias": "forget gate 편향에 더할 B",
        "label_init": "게이트 편향",
        "init_default": "torch 기본 초기화",
        "init_chrono": "chrono (b_f ~ log U[1, T_max − 1], b_i = −b_f)",
        "label_T": "시퀀스 길이 T",
        "plot_label": "시차 k = T − t에 따른 ∂s_T/∂s_t 노름의 log10",
        "notes": (
            "<p>스펙트럼 노름 ‖·‖₂는 기울기가 늘어날 수 있는 최대 배율이고, 프로베니우스 노름 ‖·‖<sub>F</sub>는 "
            "모든 방향을 합한 크기입니다. RNN의 점선은 상한 (γ‖W<sub>hh</sub>‖₂)<sup>k</sup>이며 γ = sup|φ′| "
            "(tanh와 ReLU는 1, sigmoid는 1/4)입니다. 이 값이 1보다 작으면 기울기는 반드시 사라집니다. LSTM의 ∏ f는 "
            "유닛별 forget gate 곱 중 가장 큰 값으로, 1을 넘지 않지만 (h, c) 전체의 야코비안은 1을 넘을 수 있습니다.</p>"
            "<p>같은 값을 Python에서: <code>rnngrad.jacobian_through_time</code> 또는 "
            "<code>rnngrad jacobian --json</code>.</p>"
        ),
        "data_summary": "수치 (JSON, t번째 값이 ∂s_T/∂s_t)",
    },
}

DYNAMIC = {
    "en": {
        "legend_spectral": "‖∂s_T/∂s_t‖₂ (full Jacobian)",
        "legend_frobenius": "‖∂s_T/∂s_t‖_F",
        "legend_carousel": "∏ f (the seed's formula)",
        "legend_bound": "bound (γ‖W_hh‖₂)^k",
        "x_axis": "lag k = T − t",
        "y_axis": "norm (log scale)",
        "lag": "lag",
        "verdict": "After T = {T} steps back, ‖∂s_T/∂s_0‖₂ = {norm}:",
        "vanishes": "the gradient has vanished.",
        "explodes": "the gradient has grown (exploding).",
        "survives": "the gradient survives.",
        "bad_hash": "The settings in the address could not be read ({problems}); showing the defaults.",
        "bad_encoding": "“{part}” is not valid percent-encoding",
        "bad_key": "unknown setting “{key}”",
        "repeated_key": "“{key}” given twice",
        "bad_choice": "{key}: expected one of {choices}, got “{value}”",
        "bad_number": "{key}: expected a number in [{low}, {high}], got “{value}”",
        "bad_integer": "{key}: expected a whole number in [{low}, {high}], got “{value}”",
    },
    "ko": {
        "legend_spectral": "‖∂s_T/∂s_t‖₂ (전체 야코비안)",
        "legend_frobenius": "‖∂s_T/∂s_t‖_F",
        "legend_carousel": "∏ f (원글의 식)",
        "legend_bound": "상한 (γ‖W_hh‖₂)^k",
        "x_axis": "시차 k = T − t",
        "y_axis": "노름 (로그 눈금)",
        "lag": "시차",
        "verdict": "T = {T} 스텝을 거슬러 올라가면 ‖∂s_T/∂s_0‖₂ = {norm}:",
        "vanishes": "기울기가 사라졌습니다.",
        "explodes": "기울기가 커졌습니다 (폭주).",
        "survives": "기울기가 살아 있습니다.",
        "bad_hash": "주소의 설정을 읽을 수 없어 ({problems}) 기본값을 보여 줍니다.",
        "bad_encoding": "“{part}”은(는) 올바른 퍼센트 인코딩이 아닙니다",
        "bad_key": "알 수 없는 설정 “{key}”",
        "repeated_key": "“{key}”이(가) 두 번 주어졌습니다",
        "bad_choice": "{key}: {choices} 중 하나여야 하는데 “{value}”입니다",
        "bad_number": "{key}: [{low}, {high}] 범위의 수여야 하는데 “{value}”입니다",
        "bad_integer": "{key}: [{low}, {high}] 범위의 정수여야 하는데 “{value}”입니다",
    },
}

LANGUAGES = tuple(STATIC)
