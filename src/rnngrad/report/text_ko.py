"""보고서의 모든 한국어 문장. 키는 :mod:`rnngrad.report.text_en` 과 같다.

주장별 핵심 근거(headline)는 측정값(evidence)으로부터 이 모듈의 함수가 만든다.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from rnngrad.claims.adding_problem import learning_groups, mse_text


TEXT = {
    "lang": "ko",
    "title": "LSTM은 왜 gradient vanishing에 강한가? — 블로그의 주장을 숫자로 검증하다",
    "subtitle": ("2017년의 한 블로그 글은 RNN의 gradient가 W_hh와 tanh'의 곱 때문에 소멸하거나 폭발하고, LSTM의 "
                 "cell state는 forget gate의 곱 덕분에 이를 피하며, tanh가 sigmoid보다 낫다고 주장한다. 이 보고서는 "
                 "각 주장을 실험으로 바꾸고, 주장이 성립하는지를 측정값으로 판정한다."),
    "notes": {},  # texts of ReportData.notes keys (none at present)
    "quick_note": "빠른 모드: 모든 실험을 줄인 크기로 실행했다. 숫자와 판정은 테스트용이다.",
    "seed_note": "난수 seed {seed}. 같은 seed는 같은 숫자를 낸다. 보고서의 모든 숫자는 report.json에 있다.",
    "claims_heading": "주장 한눈에 보기",
    "col_id": "#", "col_claim": "블로그의 주장", "col_verdict": "판정", "col_evidence": "핵심 근거",
    "verdicts": {"holds": "성립", "holds with caveat": "조건부 성립", "does not hold": "성립하지 않음"},
    "figure": "그림", "equation_note": "식 번호는 이 보고서의 번호다.",
    "equation_notes": {4: "(블로그의 식; H = 1에서만 정확)"},
    "raw": "측정값 (report.json과 동일)",
    "see_figure": "그림 {number} 참고.",
    "rnn_heading": "순환 신경망 (Recurrent Neural Network)",
    "rnn_intro": "블로그의 RNN은 tanh 층 하나로 hidden state를 갱신한다.",
    "rnn_chain": ("h_T를 이전의 h_t로 미분하면(T > t) 연쇄 법칙에 의해 한 단계 Jacobian들의 곱이 된다. 행렬로 쓰면 "
                  "각 인자는 tanh'의 대각 행렬과 W_hh의 곱이며, 블로그의 표기가 감추고 있듯 대각 행렬이 왼쪽에 온다."),
    "rnn_closed": ("블로그는 이어서 인자들을 W_hh의 거듭제곱과 tanh'의 곱으로 모은다. 유닛이 하나(H = 1)이면 정확하지만, "
                   "행렬에서는 대각 행렬과 W_hh가 교환되지 않으므로 노름 상한만 남는다. 여기서 γ = sup |φ'|이다 "
                   "(tanh는 1, sigmoid는 1/4)."),
    "rnn_regimes": ("\"W_hh가 작다/크다\"는 원소의 크기가 아니라 최대 특이값 λ₁ = ‖W_hh‖₂로 읽어야 한다. 모든 원소가 "
                    "(−1, 1) 안에 있어도 λ₁ ≫ 1일 수 있다. λ₁ < 1/γ는 소멸의 충분조건이고, λ₁ > 1/γ는 폭발의 "
                    "필요조건일 뿐이다. 가중치가 크면 tanh가 포화되어 tanh' → 0이 되기 때문이다."),
    "lstm_heading": "Long Short-Term Memory",
    "lstm_intro": "LSTM의 cell state는 forget gate f_t가 조절하는 덧셈으로 갱신된다.",
    "lstm_carousel": ("cell state만 따라가면 — h와 gate를 지나는 모든 경로를 끊은 constant error carousel 위에서 — "
                      "미분은 forget gate들의 곱이다."),
    "lstm_full": ("실제 LSTM의 미분은 C_t → h_t → gate → C_{t+1} 경로로도 흐른다. carousel 곱은 자기 경로 위에서 "
                  "정확하고 1을 넘지 않지만, 상태 (h, c) 전체의 Jacobian과 전체 gradient dL/dc_t는 그것과 다르며, "
                  "전체 곱은 1을 넘을 수 있다."),
    "lstm_memory": ("f ≈ σ(b_f)이면 carousel은 약 1/(1 − σ(b_f)) 단계마다 e배씩 잊는다. torch의 기본 초기화는 "
                    "b_f ≈ 0, 즉 f ≈ 0.5를 준다. 블로그가 말하는 긴 기억은 forget gate bias를 올려야 나타난다."),
    "spectrum_text": ("블로그는 시차마다 숫자 하나만 따라간다. 상태 Jacobian의 스펙트럼 전체 — 각 방향이 단계마다 "
                      "평균적으로 커지는 비율인 Lyapunov 지수 — 는 몇 개의 방향이 기억을 유지하는지(지수가 0 근처), "
                      "나머지가 얼마나 빨리 잊는지를 보여 준다."),
    "diagonal_heading": "LSTM 너머: 대각 순환 (diagonal recurrence)",
    "diagonal_intro": ("LSTM 이후의 순환 모델들은 LSTM의 덧셈 갱신만 남기고 나머지를 걷어 냈다. minGRU와 "
                       "minLSTM(Feng et al. 2024)은 gate를 h_{t−1} 없이 x_t만으로 계산하고 상태에 tanh를 씌우지 "
                       "않는다. LRU(Orvieto et al. 2023)는 복소수 상태에 상수 λ를 곱한다. 셋 모두 원소별 선형 "
                       "순환 하나다."),
    "diagonal_exact": ("블로그처럼 h_T를 h_t로 미분하면(T > t) 각 인자 ∂h_k/∂h_{k−1}는 대각 행렬 diag(a_k)이다. "
                       "a_k는 x_k만 읽으므로 h_{k−1}에서 gate를 거쳐 흐르는 경로가 없다. 그래서 블로그의 곱 공식이 "
                       "빠짐없이 성립한다. LSTM에서 ∏ f는 carousel 위에서만 정확했다. C5가 측정한 차이는 "
                       "C_{t−1} → h_{t−1} → gate → C_t 경로에서 오며, 여기에는 그런 경로가 없다. 또 대각 행렬은 "
                       "서로 교환되므로, RNN에서는 중요했던 인자의 순서(C1)도 더 이상 상관없다."),
    "diagonal_horizon": ("곱이 정확하다고 기억이 긴 것은 아니다. |a_{k,i}| < 1 이므로(sigmoid인 1 − z, 정규화된 "
                         "gate f′, 또는 |λ| = exp(−exp ν)) 블로그의 \"소멸하지 않는다\"는 여기서도 절반만 맞다: "
                         "|a| → 1이 아니면 기억 지평은 유한하다. nn.Linear의 초기화에서 gate는 z ≈ σ(0) = 1/2, "
                         "f′ ≈ 1/2 근처이므로 τ ≈ 1/log 2 ≈ 1.4 단계로, torch 기본 forget gate의 LSTM만큼 짧다. "
                         "LRU는 0.9 ≤ |λ| ≤ 0.999 고리에서 뽑으므로 기억 지평은 9.5에서 1000 단계다. 각 채널은 "
                         "평균적으로 τ_i 단계마다 e^{−1}배로 줄어든다. C13은 긴 무작위 입력에서 측정한 기억 지평이 "
                         "새 입력에서 gradient가 줄어드는 속도를 예측하는지 확인한다."),
    "diagonal_numbers": ("숫자가 보여 주는 것. LRU의 a는 매 단계 같으므로 기억 지평이 감쇠를 정확히 준다. minGRU와 "
                         "minLSTM의 a_t는 x_t에 따라 변한다. log ‖∂h_T/∂h_{T−k}‖₂는 H개의 random walk "
                         "Σ log|a_{j,i}| 중 최대값이고, profiler의 ‖dL/dh_{T−k}‖는 시퀀스에 대한 평균이라 전형적인 "
                         "시퀀스보다 조금 느리게 줄어드는 경향이 있다. 그래서 기억 지평은 이 요동의 범위 안에서만 "
                         "감쇠를 예측한다. 층 하나의 감쇠율 ρ는 여러 채널을 섞은 값이다. LRU의 ρ는 가장 느린 채널의 "
                         "감쇠율 1/τ_max보다 큰데, T개의 시차 안에서는 더 빠른 채널들이 fit을 좌우하기 때문이다. "
                         "profile 그림은 정확한 공식이 바꾸지 못하는 것을 보여 준다: 기본 초기화의 minGRU와 "
                         "minLSTM은 LSTM만큼 빨리 잊고, |λ| = 1 근처에서 시작한 LRU만 T 단계 동안 gradient를 유지한다."),
    "diagonal_training": ("학습은 되는가? 정확한 곱 공식은 gradient가 어떻게 흐르는지를 말할 뿐, 그 gradient로 모델이 "
                          "학습하는지는 말하지 않는다. C14는 제목의 질문을 대각 순환에 묻는다. 과제는 문헌이 이 "
                          "모델들에 쓰는 두 긴 시차 과제, Le/Arjovsky의 adding problem과 copy 과제이고, T ≥ 100이다. "
                          "실행은 장거리 sweep의 것이다(rnngrad sweep --spec docs/results/sweep-spec.json: 모든 모델이 "
                          "같은 예산, adding problem은 32개 시퀀스의 업데이트 8,000번, copy는 3,000번, Adam 1e-3, "
                          "H = 64, clipping 1, seed 세 개). 몇 코어-시간이 걸리므로 보고서는 다시 학습하지 않고 "
                          "커밋된 요약을 보여 준다. 아직 실행되지 않은 칸은 그렇다고 적고, 판정은 대각 모델과 torch "
                          "초기화 LSTM이 모두 실행된 칸만 비교한다."),
    "practice_heading": "제목의 약속: 발표된 두 형태의 adding problem",
    "practice_intro": ("adding problem은 T 단계에 걸쳐 표시된 두 값을 기억해야 풀 수 있다. 발표된 형태가 두 가지이고, "
                       "둘은 표시가 놓이는 자리가 다르다. Le et al.(2015)과 Arjovsky et al.(2016)은 시퀀스의 앞 절반과 "
                       "뒤 절반에 표시를 하나씩 두고 [0, 1]의 두 값의 합 X₁ + X₂를 묻는다. 그래서 어떤 시퀀스에서는 두 "
                       "번째 시차가 짧다. 평균만 예측하면 MSE는 1/6 ≈ 0.167이고, 가장 최근 2000개 시퀀스의 MSE가 그 "
                       "10분의 1 이하이면 학습한 것으로 본다. Hochreiter & Schmidhuber(1997, 실험 4)는 두 표시를 모두 "
                       "앞 절반에 두므로 모든 시차가 T/2 이상이고, [−1, 1]의 값으로 0.5 + (X₁ + X₂)/4를 묻는다. 가장 "
                       "최근 2000개 시퀀스가 모두 목표값과 0.04 이내이면 학습한 것으로 본다. 여기서 평균만 예측하면 "
                       "Var(y) = (2 − 1/10)/48 ≈ 0.0396이다: 첫 번째 쌍이 표시되면(열 번에 한 번) X₁을 0으로 두기 "
                       "때문이다. 모든 모델은 두 형태 모두에서 같은 예산, batch, 학습률, clipping, seed로 학습한다. "
                       "HS97은 on-line으로 학습해 시퀀스 하나마다 가중치를 한 번 갱신한다: 그들의 LSTM은 T = 100을 "
                       "시퀀스 하나짜리 업데이트 74,000회로 학습했다. 여기의 실행은 시퀀스 128개짜리 업데이트를 최대 "
                       "1500회 한다(그들의 업데이트의 2%, 그러나 시퀀스는 192,000개로 그들의 74,000개의 2.6배). 각 "
                       "실행은 명령 하나다(M과 T는 아래 실행 목록대로, S는 보고서의 seed): rnngrad train --task "
                       "adding-sum --model M --T T --seed S --steps 1500 --batch-size 128 --hidden-size 16 --lr 0.01 "
                       "--clip 1.0 --log-every 37 --profile-every 375, 그리고 --task adding으로 같은 명령. 실행마다의 "
                       "명령은 측정값에 있다."),
    "appendix_heading": "부록: 왜 tanh인가?",
    "appendix_intro": ("역전파의 각 단계는 φ'를 곱하므로, 블로그는 두 squashing 함수를 도함수의 최대값으로 비교한다."),
    "appendix_all": ("블로그는 다른 활성화 함수도 살펴보라고 권한다. rnngrad에 등록된 모든 활성화 함수와 도함수, 정확한 "
                     "sup |φ'|, 그리고 각 함수를 같은 RNN에 넣었을 때 ‖∂h_T/∂h_{T−k}‖₂의 감쇠율:"),
    "glossary_heading": "용어 풀이",
    "glossary": (
        ("carousel", "carousel (constant error carousel)",
         "h와 gate를 지나는 경로를 모두 끊고 LSTM의 cell state만 따라가는 경로 C_{t−1} → C_t. 이 경로 위의 미분은 "
         "forget gate이고, 여러 단계에 걸치면 식 (7)의 곱 ∏ f가 된다. 블로그의 논증은 이 경로를 따라간다."),
        ("chrono", "chrono 초기화 (chrono init)",
         "LSTM의 chrono 초기화(Tallec & Ollivier 2018): 유닛마다 forget gate bias를 b_f = log u (u는 [1, T_max − 1]의 "
         "균등분포)로, input gate bias를 −b_f로 둔다. 그래서 기억 지평 1/(1 − σ(b_f))가 torch 기본값의 약 2 단계가 "
         "아니라 T_max 단계까지 퍼진 채로 시작한다."),
        ("irnn", "IRNN",
         "W_hh = I, bias 0으로 시작하는 ReLU RNN(Le et al. 2015): 처음에는 활성화된 유닛에서 각 단계가 상태를 "
         "그대로 넘긴다."),
        ("horizon", "기억 지평 (memory horizon)",
         "gradient나 기억이 몇 단계 전까지 살아남는지. forget gate의 곱에서는 ∏ f ≤ 1/e가 되는 첫 시차 k(예측값 "
         "1/(1 − σ(b_f)) 단계), 대각 순환의 채널마다 τ_i = −1 / mean_t log|a_{t,i}|, profiler에서는 평균 ‖dL/dh‖가 "
         "최대값의 일정 비율 이상으로 남는 가장 큰 시차."),
        ("lyapunov", "Lyapunov 지수",
         "상태 Jacobian 곱의 한 방향이 단계마다 평균적으로 커지는 비율로, 가장 큰 것(λ_1)부터 센다. 0보다 크면 그 "
         "방향은 커지고, 작으면 잊힌다. −λ_1은 ∂s_T/∂s_t가 소멸할 수 있는 가장 느린 속도다. 이 보고서는 단계당 "
         "nat으로 적는다."),
        ("decades", "자릿수와 nat (단계당)",
         "10배를 한 자릿수(decade)라 한다: 1에서 10^-6으로 줄어든 노름은 6 자릿수를 잃었다. e배는 1 nat이다: "
         "1 자릿수 = ln 10 ≈ 2.30 nat. 이 보고서의 모든 감쇠율과 Lyapunov 지수는 rnngrad의 decay_rate, "
         "rnngrad profile, rnngrad spectrum과 같이 단계당 nat으로 적는다: 감쇠율 r은 단계마다의 −Δ ln ‖·‖이고, "
         "노름은 단계마다 약 e^{−r}배로 줄어든다. 그림의 log10 축에서 단계당 r nat은 단계당 −r / ln 10 ≈ "
         "−0.434 r 자릿수의 기울기다."),
    ),
    "method_heading": "숫자를 만든 방법",
    "method": ("모든 Jacobian은 float64로 계산했다. 해석적 곱은 torch.nn 모듈을 통한 autograd와 비교했고, 긴 곱은 "
               "정규화된 행렬과 그 크기의 로그로 보관하므로 10^-60 같은 노름도 0이 아닌 숫자로 남는다. 모든 판정은 "
               "측정값에 대한 임계값으로 계산했다(rnngrad.claims의 각 모듈 참고)."),
    "captions": {
        "rnn_diagram": ("세 단계로 펼친 RNN. 검은색: 순전파. 빨간 점선: ∂L/∂h_T의 역전파 경로로, 단계마다 "
                        "diag(tanh'(a_k))·W_hh 인자 하나가 곱해진다."),
        "lstm_diagram": ("LSTM의 한 단계, C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t (6). 검은색: 순전파. 빨간 점선: 블로그가 "
                         "따라가는 carousel 경로 ∂C_t/∂C_{t−1} = diag(f_t). 주황 점선: h_{t−1}에서 gate f_t, i_t, C̃_t를 "
                         "거쳐 C_t로 가는 경로로, forget gate의 곱이 빠뜨리는 부분."),
        "rnn_closed_form": ("왼쪽: H = {H}일 때 실제 곱 (3)과 블로그의 닫힌 형태 (4)의 ‖∂h_T/∂h_t‖₂. 오른쪽: 둘의 "
                            "상대 오차. 가로축은 시차 k = T − t."),
        "rnn_gradient_norms": ("여러 ‖W_hh‖₂에서 tanh RNN의 ‖∂h_T/∂h_{T−k}‖₂를 시차 k에 대해 그렸다(행렬 방향은 하나, "
                               "입력은 N(0, 1), 시퀀스에 대한 log10 평균). 점선: ‖W_hh‖₂ < 1일 때의 상한 ‖W_hh‖₂^k (같은 색)."),
        "regime_map": ("왼쪽: 가중치 크기 λ₁ = ‖W_hh‖₂와 입력 크기에 따른 log10 ‖∂h_T/∂h_0‖₂ (T = {T}). 빨강은 폭발, "
                       "파랑은 소멸(색 척도는 양쪽이 각자의 끝값까지 간다). 행은 gain이며 간격은 비례하지 않는다. 점선 아래는 "
                       "모두 λ₁ ≤ 1이고, 그곳에서는 아무것도 폭발하지 않는다. 오른쪽: 평균 tanh'(a_t) "
                       "— 입력이 크면 tanh가 포화되어 폭발이 소멸로 바뀐다."),
        "lstm_carousel": ("forget gate bias b_f = 0, 1, 2, log 99인 LSTM: carousel 곱 ∏ f, 모든 경로를 포함한 블록 "
                          "∂c_T/∂c_{T−k}, 상태 전체의 Jacobian, L = w·h_T의 전체 gradient dL/dc_{T−k}(dL/dc_T 대비)를 "
                          "시차 k에 대해 그렸다."),
        "lstm_explosion": ("C6의 무작위 탐색에서 찾은 가장 큰 상태 전체의 곱과, 결코 1을 넘지 않는 그 carousel 곱 ∏ f."),
        "memory_horizon": ("왼쪽: forget gate 설정별로 마지막 k 단계의 carousel 곱의 중앙값. k는 로그 눈금이고, 기억 "
                           "지평을 읽는 10^-2까지만 그렸다. 점선은 1/e이며 점은 각 중앙값이 1/e를 지나는 곳. 오른쪽: "
                           "측정한 기억 지평(∏ f ≤ 1/e가 되는 첫 시차의 중앙값)과 예측값 1/(1 − σ(b_f))."),
        "diagonal_horizons": ("채널별 기억 지평 τ_i = −1/mean_t log|a_{t,i}|(정렬). 긴 무작위 입력 시퀀스에서 "
                              "rnngrad.diagonal_analysis.diagonal_lyapunov로 측정했다. minGRU와 minLSTM은 nn.Linear "
                              "초기화, LRU는 0.9 ≤ |λ| ≤ 0.999 고리. 점선은 실험의 시차 T = {T}."),
        "diagonal_profiles": ("L = w·h_T의 ‖dL/dh_{T−k}‖를 rnngrad.profile로 각 모듈 안에서 측정해(시퀀스 평균, "
                              "k = 0의 값으로 나눔) 시차 k에 대해 그렸다: torch 초기화의 torch.nn.LSTM, minGRU, "
                              "minLSTM, LRU. 점선: 기억 지평이 예측하는 감쇠 (Σ_i w_i² e^{−2k/τ_i})^{1/2}."),
        "sigmoid": "sigmoid σ(x)와 도함수 σ'(x) = σ(x)(1 − σ(x)). 최대값은 x = 0에서 정확히 1/4이다.",
        "tanh": "tanh(x)와 도함수 tanh'(x) = 1 − tanh²(x). 최대값은 x = 0에서 정확히 1이다.",
        "activation_grid": "rnngrad에 등록된 모든 활성화 함수 φ(파랑)와 그 도함수 φ′(빨강)를 구간 [−4, 4]의 x에 대해 그렸다.",
        "decay_rates": ("같은 RNN에 넣은 각 활성화 함수의 ‖∂h_T/∂h_{T−k}‖₂ 감쇠율(단계당 nat, 음수는 증가). torch "
                        "초기화, 그리고 W_hh를 ‖W_hh‖₂ = 2, 4로 맞춘 경우. 0 위치의 ×는 감쇠율이 없는 경우다: 옆에 "
                        "적은 시차부터 Jacobian이 정확히 0이다(hardshrink와 softshrink는 모든 유닛을 죽은 구간에 둔다)."),
        "training_curves": ("두 형태의 adding problem(위: Le/Arjovsky 배치, 아래: HS97 배치)에서 모델별 학습 MSE를 "
                            "업데이트 횟수에 대해 그렸다(T = {lengths}, 모두 같은 예산). 점선: 각 형태의 기준선, 곧 "
                            "평균을 예측할 때의 MSE(1/6 ≈ 0.167과 (2 − 1/10)/48 ≈ 0.0396). 별표는 과제를 학습한 "
                            "실행이고, 옆의 숫자는 학습한 업데이트다: 예산이 끝나기 전에 그곳에서 학습을 멈춘다."),
        "gradient_profiles": ("학습 중인 각 모델의 첫 gradient profile(각 패널 제목의 업데이트에서 측정)에서 본 "
                              "‖dL/dh_{T−k}‖(16개 시퀀스 평균, 최대값으로 나눔)를 시차 k에 대해 그렸다. 위: Le/Arjovsky "
                              "배치, 아래: HS97 배치. 그 업데이트 전에 과제를 학습한 실행은 곡선이 없다."),
        "spectrum": ("상태 Jacobian의 Lyapunov 지수(단계당 nat, 두 입력 시퀀스의 평균, rnngrad.spectra로 계산). "
                     "네 가지 ‖W_hh‖₂의 tanh RNN과 b_f = 0, log 99인 LSTM. 0보다 크면 그 방향은 커지고, 작으면 잊힌다."),
    },
    "claims": {
        "C1": ("RNN 연쇄 법칙: ∂h_T/∂h_t = ∂h_T/∂h_{T−1} · … · ∂h_{t+1}/∂h_t, "
               "∂h_k/∂h_{k−1} = W_hh · tanh'(W_hh h_{k−1} + W_xh x_k + b_h)"),
        "C2": "닫힌 형태: ∂h_T/∂h_t = W_hh^(T−t) · ∏_{i=t}^{T−1} tanh'(W_hh h_i + W_xh x_{i+1} + b_h)",
        "C3": ("W_hh가 아주 작다면(−1에서 1 사이) T − t가 커질수록 ∂h_T/∂h_t는 0에 수렴한다(vanishing). "
               "‖W_hh‖₂ < 1 ⇒ ‖∂h_T/∂h_t‖ ≤ ‖W_hh‖₂^(T−t)로 검증"),
        "C4": "W_hh가 아주 크다면 T − t가 커질수록 ∂h_T/∂h_t는 발산할 수 있다(exploding). 필요조건 λ₁ > 1/γ로 검증",
        "C5": "LSTM: C_t = f_t·C_{t−1} + i_t·C̃_t 이므로 ∂C_T/∂C_t = ∂C_T/∂C_{T−1} · … · ∂C_{t+1}/∂C_t = ∏_{i=t+1}^{T} f_i",
        "C6": "f는 (0, 1)의 값이라 1보다 클 수 없으므로, T − t가 커져도 ∂C_T/∂C_t는 폭발(exploding)하지 않는다",
        "C7": "f가 1에 가까우면 오래된 기억(long term memory)에 큰 비중을 두고, gradient도 오래 유지된다",
        "C8": "dσ(x)/dx의 최대값은 0.25 언저리에 불과하다: 거듭 곱하면 gradient vanishing이 발생한다",
        "C9": "dtanh(x)/dx의 최대값은 1이다: sigmoid보다 gradient vanishing에 강하다",
        "C10": "같은 가중치에서 tanh RNN이 sigmoid RNN보다 gradient를 더 오래 유지한다(등록된 모든 활성화 함수의 ‖∂h_T/∂h_t‖ 감쇠율)",
        "C11": ("제목의 약속: LSTM은 gradient vanishing에 강하다 — T = 50, 100의 adding problem에서 같은 예산과 seed로 "
                "LSTM은 학습하고 tanh RNN은 학습하지 못한다(발표된 두 배치, Le et al. 2015 / Arjovsky et al. 2016과 "
                "HS97 실험 4에서 측정)"),
        "C12": ("대각 순환(minGRU, minLSTM, LRU): h_t = a_t ⊙ h_{t−1} + b_t 이면 블로그의 곱 공식이 미분 전체다, "
                "∂h_T/∂h_t = ∏_{k=t+1}^{T} diag(a_k)"),
        "C13": "채널별 기억 지평 τ_i = −1 / mean_t log|a_{t,i}| 가 gradient의 감쇠 속도를 예측한다",
        "C14": ("LSTM을 대신한 순환들도 그 약속을 지킨다: 같은 예산으로 minGRU, minLSTM, LRU는 torch 초기화 LSTM이 "
                "학습하는 긴 시차 과제(Le/Arjovsky의 adding problem과 copy 과제, T ≥ 100)를 학습한다"),
    },
}


def _c7(e: Mapping[str, Any]) -> str:
    rows = e["settings"]
    measured = " → ".join(f"> {e['T']}" if r["measured_horizon"] > e["T"] else f"{r['measured_horizon']:g}" for r in rows[:4])
    predicted = " → ".join(f"{r['predicted_horizon']:.3g}" for r in rows[:4])
    key = next(k for k in rows[0] if k.startswith("log10_prod_f_"))
    return (f"b_f = 0, 1, 2, log 99에서 기억 지평(중앙값)은 {measured} 단계로 커진다(예측 {predicted}). chrono는 "
            f"{rows[4]['measured_horizon']:g} 단계. torch 기본값 b_f = 0에서는 {key.rsplit('_', 1)[1]} 단계의 ∏ f가 "
            f"10^{rows[0][key]:.0f}")


VARIANTS_KO = {"adding-sum": "Le/Arjovsky 배치", "adding": "HS97 배치"}


def _c11(e: Mapping[str, Any]) -> str:
    parts = []
    for task in e["variants"]:
        groups = learning_groups(dict(e), task)
        learned = [f"{model} ({', '.join(str(r['learned_at']) for r in runs)})" for model, runs in groups["learned"]]
        partly = [model + " " + ", ".join(f"T = {r['T']}은 업데이트 {r['learned_at']}에서" if r["learned"]
                                          else f"T = {r['T']}은 못 함" for r in runs)
                  for model, runs in groups["partly"]]
        not_learned = [f"{model} (MSE {', '.join(mse_text(r) for r in runs)})" for model, runs in groups["not"]]
        baseline = "/".join(f"{value:.3g}" for value in dict.fromkeys(e["baseline_mse"][task].values()))
        words = [f"학습함: {', '.join(learned) if learned else '없음'}", *(f"일부만: {item}" for item in partly),
                 f"학습 못 함: {', '.join(not_learned)}" if not_learned else ""]
        parts.append(f"{VARIANTS_KO[task]} ({task}, 기준선 MSE {baseline}) — " + "; ".join(w for w in words if w))
    lengths = ", ".join(str(T) for T in e["T"])
    return (f"T = {lengths}, 업데이트 {e['steps_budget']}회 × 시퀀스 {e['batch_size']}개, 괄호 안은 각 T를 학습한 업데이트. "
            + ". ".join(parts))


def _c12(e: Mapping[str, Any]) -> str:
    errors = ", ".join(f"{row['product_max_relative_error']:.0e} ({name})" for name, row in e["cells"].items())
    return (f"∏ diag(a_k)가 각 셀 자신의 forward를 거친 autograd와 {errors}까지 일치(H = {e['H']}, T = {e['T']}, "
            f"LRU는 실수 2H 표현): 미분 전체다. LSTM의 ∏ f는 그 carousel 부분일 뿐이다(C5)")


def _c14(e: Mapping[str, Any]) -> str:
    def cell(text: str) -> str:
        if text == "not run yet":
            return "아직 실행 안 됨"
        solved, _, rest = text.partition(" solved")
        median = rest.strip(" ()").removeprefix("median ").removesuffix(" updates")
        return f"{solved} 해결" + (f"(중앙값 업데이트 {median}번)" if median else "")

    rows = ["; ".join(f"{key}: " + ", ".join(f"{model} {cell(text)}" for model, text in row.items()))
            for key, row in e["table"].items()]
    return "; ".join(rows) or "아직 실행된 칸이 없다"


def _c13(e: Mapping[str, Any]) -> str:
    cells = e["cells"]
    lru = cells["LRU"]
    horizons = ", ".join(f"{name} {row['median_horizon']:.3g}" for name, row in cells.items())
    gated = ", ".join(f"{name}: 기울기는 λ₁과 {100 * row['slope_gap']:.2g}%, profiler ρ는 예측과 "
                      f"{100 * row['profiler_gap']:.2g}% 차이"
                      for name, row in cells.items() if row["input_dependent"])
    rates = ", ".join(f"{name} {row['profiler_decay_rate_nats_per_step']:.3g}" for name, row in cells.items())
    return (f"기억 지평 τ 중앙값: {horizons} 단계; LRU: 기울기와 profiler ρ가 기억 지평의 예측과 "
            f"{lru['slope_gap']:.0e}, {lru['profiler_gap']:.0e} 차이; {gated}; ρ(단계당 nat): LSTM(torch 초기화) "
            f"{e['lstm_profiler_decay_rate_nats_per_step']:.3g}, {rates} "
            f"(LRU의 가장 느린 채널: {-lru['top_exponent_nats_per_step']:.2g})")


HEADLINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "C1": lambda e: (f"diag(tanh')·W_hh와 T = {e['T']} 단계의 곱이 autograd와 "
                     f"{max(e['one_step_max_relative_error'], e['product_max_relative_error']):.0e}까지 일치(H = {e['H']}); "
                     f"블로그의 순서 W_hh·diag(tanh')는 {e['seed_order_median_relative_error']:.0%} 어긋남"),
    "C2": lambda e: (f"H = 1에서는 정확(오차 {e['scalar_max_relative_error']:.0e}); H = {e['H']}에서는 "
                     f"{e['matrix_median_relative_error']:.0%} 어긋남(시차에 대한 중앙값, 노름 차이 최대 "
                     f"{e['matrix_max_log10_norm_gap']:.2f} 자릿수); 노름 상한은 {e['bound_draws']}회 × "
                     f"{e['bound_lags_per_draw']} 시차에서 성립(위반 {e['bound_violations']}건)"),
    "C3": lambda e: (f"{e['draws']}회 × {e['T']} 시차 모두에서 ‖∂h_T/∂h_t‖ ≤ (γλ₁)^(T−t) (위반 {e['bound_violations']}건, "
                     f"‖∂h_T/∂h_0‖ 중앙값 10^{e['median_log10_norm_at_lag_T']:.0f}); 그러나 원소가 모두 (−1, 1)이면 "
                     f"‖W_hh‖₂ ≈ {e['entrywise_median_spectral_norm']:.1f}이고 {e['entrywise_not_vanishing']}/"
                     f"{e['entrywise_draws']}회는 소멸하지 않음"),
    "C4": lambda e: (f"{e['exploding_cells']}/{e['map_cells']} 칸이 폭발하며 모두 λ₁ > 1(λ₁ > 1/γ 위반 "
                     f"{e['necessary_condition_violations']}건); λ₁ > 1인 {e['large_gain_vanishing_cells']} 칸은 소멸; "
                     f"가장 큰 입력에서 평균 tanh' = {e['mean_tanh_derivative_at_largest_input']:.2f}, "
                     f"{len(e['gains_flipped_by_saturation'])}개 gain이 폭발에서 소멸로 바뀜"),
    "C5": lambda e: (f"carousel 위에서 ∏ f는 autograd와 {e['carousel_max_relative_error']:.0e}까지 일치; 전체 "
                     f"∂c_T/∂c_t와는 {min(e['median_gap_to_full_cell_block'].values()):.0%}–"
                     f"{max(e['median_gap_to_full_cell_block'].values()):.0%}, 전체 dL/dc_t와는 "
                     f"{min(e['median_gap_to_total_dL_dc'].values()):.0%}–{max(e['median_gap_to_total_dL_dc'].values()):.0%} "
                     f"차이(시차 중앙값, b_f = 0 … log 99)"),
    "C6": lambda e: (f"모든 시도에서 ∏ f < 1 (최대 {10 ** e['carousel_max_log10']:.6f}); 무작위 LSTM "
                     f"{e['draws_with_full_norm_above_1']}/{e['draws']}개가 시차 {e['from_lag']} 이상에서 "
                     f"‖∂(h,c)_T/∂(h,c)_t‖₂ > 1, 최대 {10 ** e['largest_log10_full_norm']:.3g} (시차 {e['largest_at_lag']}, "
                     f"W_hh ×{e['largest_weight_scale']:.1f}, b_f = {e['largest_forget_bias']:.1f})"),
    "C7": _c7,
    "C8": lambda e: (f"sigmoid'의 최대값 = {e['max_derivative']:.15g}, x = {e['argmax']:.0e} "
                     f"(닫힌 형태 {e['closed_form']:g}, 오차 {e['abs_error']:.0e})"),
    "C9": lambda e: (f"tanh'의 최대값 = {e['max_derivative']:.15g}, x = {e['argmax']:.0e} "
                     f"(닫힌 형태 {e['closed_form']:g}, 오차 {e['abs_error']:.0e})"),
    "C10": lambda e: ("단계당 nat으로 적은 감쇠율, tanh 대 sigmoid: "
                      + ", ".join(f"{tanh:.3f} 대 {e['sigmoid_decay_rate_nats_per_step'][k]:.3f}"
                                  for k, tanh in e["tanh_decay_rate_nats_per_step"].items())
                      + f" (‖W_hh‖₂ = {e['torch_init_spectral_norm']:.2f}, 2, 4); torch 초기화에서 tanh도 {e['T']} 단계 "
                      f"뒤 10^{e['tanh_log10_norm_at_lag_T']:.0f}"),
    "C11": _c11,
    "C12": _c12,
    "C13": _c13,
    "C14": _c14,
}


def headline(claim: Mapping[str, Any]) -> str:
    """The key evidence of one claim in Korean, from its measured numbers."""
    return HEADLINES[claim["id"]](claim["evidence"])
