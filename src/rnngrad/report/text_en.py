"""Every piece of English prose in the report. Keys are shared with :mod:`rnngrad.report.text_ko`.

Claim headlines in English come from the claims themselves (``evidence["headline"]``).
"""

from __future__ import annotations

from typing import Any, Mapping

TEXT = {
    "lang": "en",
    "title": "Why is the LSTM strong against vanishing gradients? The claims, measured",
    "subtitle": ("A 2017 blog post (in Korean) argues that the RNN's gradient vanishes or explodes through "
                 "products of W_hh and tanh', that the LSTM's cell state escapes this through a product of "
                 "forget gates, and that tanh beats sigmoid. This report turns each of its claims into an "
                 "experiment and decides from the numbers whether it holds."),
    "notes": {},  # texts of ReportData.notes keys (none at present)
    "quick_note": "Quick mode: every experiment ran at reduced sizes; numbers and verdicts are for testing only.",
    "seed_note": "Random seed {seed}. The same seed gives the same numbers; every number shown is in report.json.",
    "claims_heading": "The claims at a glance",
    "col_id": "#", "col_claim": "The seed's claim", "col_verdict": "Verdict", "col_evidence": "Key evidence",
    "verdicts": {"holds": "holds", "holds with caveat": "holds with caveat", "does not hold": "does not hold"},
    "figure": "Figure", "equation_note": "Equation numbers follow this report.",
    "equation_notes": {4: "(the seed; exact for H = 1)"},
    "raw": "Measured numbers (as in report.json)",
    "see_figure": "See figure {number}.",
    "rnn_heading": "Recurrent Neural Network",
    "rnn_intro": "The seed's RNN updates its hidden state with one tanh layer:",
    "rnn_chain": ("Differentiating h_T with respect to an earlier h_t (T > t), the chain rule gives a product "
                  "of one-step Jacobians. In matrix form each factor is a diagonal matrix of tanh' times "
                  "W_hh — the diagonal on the left, which the seed's notation hides:"),
    "rnn_closed": ("The seed then collects the factors into a power of W_hh times a product of tanh'. For a "
                   "single unit (H = 1) this is exact; for matrices the diagonals and W_hh do not commute, and "
                   "only a norm bound survives, with γ = sup |φ'| (1 for tanh, 1/4 for sigmoid):"),
    "rnn_regimes": ("\"Small W_hh\" and \"large W_hh\" must be read as the largest singular value "
                    "λ₁ = ‖W_hh‖₂, not as the size of the entries: a matrix whose entries all lie in (−1, 1) "
                    "can have λ₁ ≫ 1. λ₁ < 1/γ is sufficient for vanishing; λ₁ > 1/γ is only necessary for "
                    "exploding, because large weights saturate tanh and tanh' → 0."),
    "lstm_heading": "Long Short-Term Memory",
    "lstm_intro": "The LSTM's cell state is updated additively, gated by the forget gate f_t:",
    "lstm_carousel": ("Along the cell state alone — the constant error carousel, with every path through h and "
                      "the gates cut — the derivative is the product of forget gates:"),
    "lstm_full": ("The LSTM's true derivative also flows C_t → h_t → gates → C_{t+1}. The carousel product "
                  "is exact on its path and bounded by 1 there, but the full Jacobian of the state (h, c) "
                  "and the total gradient dL/dc_t differ from it, and the full product can exceed 1."),
    "lstm_memory": ("With f ≈ σ(b_f) the carousel forgets with an e-folding time of about 1/(1 − σ(b_f)) "
                    "steps. torch's default initialisation gives b_f ≈ 0, so f ≈ 0.5: the memory the seed "
                    "describes appears only when the forget-gate bias is raised."),
    "spectrum_text": ("The seed follows one number per lag. The whole spectrum of the state Jacobian — its "
                      "Lyapunov exponents, the average growth per step of each direction — shows how many "
                      "directions keep their memory (exponents near 0) and how fast the others forget."),
    "diagonal_heading": "Beyond the LSTM: diagonal recurrences",
    "diagonal_intro": ("The recurrent models that followed the LSTM keep its additive update and drop the rest. "
                       "minGRU and minLSTM (Feng et al. 2024) compute their gates from x_t alone, never from "
                       "h_{t−1}, and put no tanh on the state; the LRU (Orvieto et al. 2023) multiplies its "
                       "complex state by a constant λ. Each is one elementwise linear recurrence:"),
    "diagonal_exact": ("Differentiating h_T with respect to h_t (T > t) as the seed does, each factor "
                       "∂h_k/∂h_{k−1} is the diagonal matrix diag(a_k): a_k reads only x_k, so nothing flows "
                       "from h_{k−1} through the gates. The seed's product formula then holds with nothing left "
                       "out. For the LSTM, ∏ f was exact only on the carousel: the paths C_{t−1} → h_{t−1} → "
                       "gates → C_t are what C5 measures it missing, and here there are no such paths. Diagonal "
                       "matrices also commute, so the order of the factors, which matters for the RNN (C1), "
                       "no longer does:"),
    "diagonal_horizon": ("An exact product is not yet a long memory. Every |a_{k,i}| < 1 — a sigmoid 1 − z, a "
                         "normalised gate f′, or |λ| = exp(−exp ν) — so the seed's \"no vanishing\" is again only "
                         "partly true: the horizon is finite unless |a| → 1. At nn.Linear's initialisation the "
                         "gates sit near z ≈ σ(0) = 1/2 and f′ ≈ 1/2, so τ ≈ 1/log 2 ≈ 1.4 steps, as short as an "
                         "LSTM with torch's default forget gate; the LRU is drawn on the ring 0.9 ≤ |λ| ≤ 0.999, "
                         "horizons of 9.5 to 1000 steps. On average each channel decays by e^{−1} every τ_i "
                         "steps; C13 checks whether the horizons, measured on long random inputs, predict how "
                         "fast the gradient decays on new ones:"),
    "diagonal_numbers": ("What the numbers show. The LRU's a is the same at every step, and its horizons give "
                         "the decay exactly. For minGRU and minLSTM a_t depends on x_t: log ‖∂h_T/∂h_{T−k}‖₂ is "
                         "the largest of H random walks Σ log|a_{j,i}|, and the profiler's ‖dL/dh_{T−k}‖ is a "
                         "mean over sequences, which tends to decay a little slower than a typical sequence, "
                         "so the horizons predict the decay only up to these fluctuations. A single rate ρ for "
                         "a layer mixes its channels: the LRU's ρ is larger than the rate 1/τ_max of its "
                         "slowest channel, because over T lags its faster channels dominate the fit. The "
                         "profiles show what the exact formula does not change: at their default "
                         "initialisation minGRU and minLSTM forget as fast as the LSTM, and only the LRU, "
                         "started near |λ| = 1, keeps its gradient over T steps."),
    "diagonal_training": ("Do they learn? An exact product says how the gradient flows back, not whether a model "
                          "learns with it. C14 asks the title's question of the diagonal recurrences on the two "
                          "long-lag tasks the literature uses for them, the Le/Arjovsky adding problem and the copy "
                          "task, at T ≥ 100. Its runs are the long-range sweep's (rnngrad sweep --spec "
                          "docs/results/sweep-spec.json: every model with the same budget, 8,000 updates of 32 "
                          "sequences on the adding problem and 3,000 on copy, Adam at 1e-3, H = 64, clipping at 1, "
                          "three seeds). They take core-hours, so the report shows their committed summary instead "
                          "of training again; cells not run yet say so, and the verdict compares only cells where "
                          "a diagonal model and the torch-init LSTM both ran."),
    "practice_heading": "The title's promise: the adding problem, in both its published forms",
    "practice_intro": ("The adding problem needs a memory of two marked values over T steps. It has two "
                       "published forms, and they differ in where the marks sit. Le et al. (2015) and Arjovsky "
                       "et al. (2016) put one mark in each half of the sequence and ask for the sum X₁ + X₂ of "
                       "values in [0, 1], so the second lag is short for some sequences; predicting the mean "
                       "scores MSE 1/6 ≈ 0.167, and a run has learned the task when its MSE over the 2000 most "
                       "recent sequences is at most a tenth of that. Hochreiter & Schmidhuber (1997, experiment "
                       "4) put both marks in the first half, so every lag is at least T/2, and ask for "
                       "0.5 + (X₁ + X₂)/4 of values in [−1, 1]; a run has learned it when its 2000 most recent "
                       "sequences are all within 0.04 of the target. Predicting the mean there scores "
                       "Var(y) = (2 − 1/10)/48 ≈ 0.0396, because X₁ is set to 0 when the first pair is marked "
                       "(one time in ten). Every model trains on both with the same budget, batch, learning "
                       "rate, clipping and seed. HS97 learn on-line, one weight update per sequence: their "
                       "LSTM learned T = 100 in 74,000 updates of one sequence; a run here makes at most 1500 "
                       "updates of 128 sequences (2% of their updates, but 192,000 sequences, 2.6 times their "
                       "74,000). Each run is one command (M and T as in the runs below, S the report's seed): "
                       "rnngrad train --task adding-sum --model M --T T --seed S --steps 1500 --batch-size 128 "
                       "--hidden-size 16 --lr 0.01 --clip 1.0 --log-every 37 --profile-every 375, and the same "
                       "with --task adding; each run's own command is in the measured numbers."),
    "appendix_heading": "Appendix: why tanh?",
    "appendix_intro": ("The seed compares the two squashing functions by the maximum of their derivatives, "
                       "because each step of backpropagation multiplies by φ'."),
    "appendix_all": ("The seed suggests looking at other activations too. Every activation registered in "
                     "rnngrad, with its derivative and the exact sup |φ'|, and the decay rate of "
                     "‖∂h_T/∂h_{T−k}‖₂ when each is put into the same RNN:"),
    "glossary_heading": "Glossary",
    "glossary": (
        ("carousel", "carousel (constant error carousel)",
         "The path along the LSTM's cell state alone, C_{t−1} → C_t, with every path through h and the gates "
         "cut. On it the derivative is the forget gate, and over many steps the product ∏ f of (7): the seed's "
         "argument follows this path."),
        ("chrono", "chrono init",
         "Chrono initialisation (Tallec & Ollivier 2018) of an LSTM: each unit's forget-gate bias is "
         "b_f = log u with u uniform in [1, T_max − 1], and its input-gate bias −b_f, so that the memory "
         "horizons 1/(1 − σ(b_f)) start spread up to T_max steps instead of the ≈ 2 steps of torch's default."),
        ("irnn", "IRNN",
         "A ReLU RNN started with W_hh = I and zero biases (Le et al. 2015): at the start each step passes "
         "the state on unchanged where the units are active."),
        ("horizon", "memory horizon",
         "How many steps back a gradient or a memory survives. For a product of forget gates, the first "
         "lag k where ∏ f ≤ 1/e (predicted: 1/(1 − σ(b_f)) steps); per channel of a diagonal recurrence, "
         "τ_i = −1 / mean_t log|a_{t,i}|; in the profiler, the largest lag at which the mean ‖dL/dh‖ stays "
         "above a fraction of its peak."),
        ("lyapunov", "Lyapunov exponent",
         "The average growth per step of one direction of the state Jacobian's product, from the largest "
         "(λ_1) down. Above 0 a direction grows, below 0 it is forgotten; −λ_1 is the slowest rate at which "
         "∂s_T/∂s_t can vanish. This report gives them in nats per step."),
        ("decades", "decades and nats (per step)",
         "A decade is a factor of 10: a norm that falls from 1 to 10^-6 has lost 6 decades. A nat is a factor "
         "of e: 1 decade = ln 10 ≈ 2.30 nats. Every decay rate and Lyapunov exponent in this report is in "
         "nats per step, as the library's decay_rate, rnngrad profile and rnngrad spectrum give them: a decay "
         "rate r is −Δ ln ‖·‖ per step, the norm shrinks by about e^{−r} per step. On the figures' log10 "
         "axes, r nats per step is a slope of −r / ln 10 ≈ −0.434 r decades per step."),
    ),
    "method_heading": "How the numbers were made",
    "method": ("All Jacobians are computed in float64. Analytic products are checked against autograd "
               "through torch.nn modules; long products are kept as a normalised matrix and the log of its "
               "scale, so norms such as 10^-60 are numbers, not zeros. Each verdict is computed from "
               "thresholds on the measured numbers (see the claim modules in rnngrad.claims)."),
    "captions": {
        "rnn_diagram": ("The RNN unrolled over three steps. Black: the forward pass. Red dashed: the backward "
                        "path of ∂L/∂h_T, one factor diag(tanh'(a_k))·W_hh per step."),
        "lstm_diagram": ("One LSTM step, C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t (6). Black: the forward pass. Red "
                         "dashed: the carousel path ∂C_t/∂C_{t−1} = diag(f_t) that the seed follows. Orange "
                         "dotted: the paths from h_{t−1} through the gates f_t, i_t and C̃_t into C_t, which the "
                         "product of forget gates leaves out."),
        "rnn_closed_form": ("Left: ‖∂h_T/∂h_t‖₂ of the true product (3) and of the seed's closed form (4) for "
                            "H = {H}; right: their relative difference, against the lag k = T − t."),
        "rnn_gradient_norms": ("‖∂h_T/∂h_{T−k}‖₂ of a tanh RNN against the lag k for several ‖W_hh‖₂ (one "
                               "matrix direction, inputs N(0, 1), mean of log10 over sequences). Dotted: the "
                               "bound ‖W_hh‖₂^k, drawn for ‖W_hh‖₂ < 1 in the colour of its curve."),
        "regime_map": ("Left: log10 ‖∂h_T/∂h_0‖₂ (T = {T}) over weight gain λ₁ = ‖W_hh‖₂ and input scale; "
                       "red explodes, blue vanishes (each colour scale reaches its own extreme). Rows are the "
                       "gains, not to scale; below the dashed line every λ₁ ≤ 1, and nothing there explodes. "
                       "Right: the mean tanh'(a_t) — large inputs saturate tanh and turn explosion into vanishing."),
        "lstm_carousel": ("LSTM with forget-gate bias b_f = 0, 1, 2, log 99: the carousel product ∏ f, the full "
                          "block ∂c_T/∂c_{T−k} (all paths), the full state Jacobian, and the total gradient "
                          "dL/dc_{T−k} of L = w·h_T (relative to dL/dc_T), against the lag k."),
        "lstm_explosion": ("The largest full-state product found by the random search of C6, against its "
                           "carousel product ∏ f, which never exceeds 1."),
        "memory_horizon": ("Left: median carousel product over the last k steps for each forget-gate setting, "
                           "on a log scale of k and cut at 10^-2, where the horizon is read; the dashed line is 1/e "
                           "and a dot marks where each median crosses it. Right: measured memory horizon (median "
                           "first lag where ∏ f ≤ 1/e) against the prediction 1/(1 − σ(b_f))."),
        "diagonal_horizons": ("Memory horizon τ_i = −1/mean_t log|a_{t,i}| of every channel (sorted), measured "
                              "by rnngrad.diagonal_analysis.diagonal_lyapunov on long random input sequences, for "
                              "minGRU and minLSTM at nn.Linear's initialisation and the LRU on the ring "
                              "0.9 ≤ |λ| ≤ 0.999. The dashed line is the lag T = {T} of the experiments."),
        "diagonal_profiles": ("‖dL/dh_{T−k}‖ of L = w·h_T, measured inside each module by rnngrad.profile (mean "
                              "over sequences, divided by its value at k = 0), against the lag k: torch.nn.LSTM "
                              "at torch's init, minGRU, minLSTM and the LRU. Dashed: the decay that the horizons "
                              "predict, (Σ_i w_i² e^{−2k/τ_i})^{1/2}."),
        "sigmoid": "The sigmoid σ(x) and its derivative σ'(x) = σ(x)(1 − σ(x)), largest at x = 0: exactly 1/4.",
        "tanh": "tanh(x) and its derivative tanh'(x) = 1 − tanh²(x), largest at x = 0: exactly 1.",
        "activation_grid": ("Every activation φ registered in rnngrad (blue) with its derivative φ′ (red), "
                            "against x on [−4, 4]."),
        "decay_rates": ("Decay rate of ‖∂h_T/∂h_{T−k}‖₂ (nats per step; negative: growing) for every "
                        "activation in the same RNN, at torch's init and with W_hh rescaled to ‖W_hh‖₂ = 2 and 4. "
                        "A × at 0 marks a setting with no rate: the Jacobian is exactly 0 from the lag written "
                        "beside it (hardshrink and softshrink put every unit in their dead zone)."),
        "training_curves": ("Training MSE against the update step on the two forms of the adding problem (top: "
                            "Le/Arjovsky placement, bottom: HS97 placement), for each model, at T = {lengths}, all "
                            "with one budget. Dashed: each form's baseline, the MSE of predicting the mean (1/6 ≈ "
                            "0.167 and (2 − 1/10)/48 ≈ 0.0396). A star marks a run that learned the task, beside it the "
                            "update it learned at: training stops there, before the budget runs out."),
        "gradient_profiles": ("‖dL/dh_{T−k}‖ inside each model at its first gradient profile, taken during "
                              "training at the update named in each panel's title (mean over 16 sequences, "
                              "divided by its largest value), against the lag k; top: Le/Arjovsky placement, "
                              "bottom: HS97 placement. A run that learned its task before that update has no curve."),
        "spectrum": ("Lyapunov exponents of the state Jacobian (nats per step, averaged over two input "
                     "sequences, from rnngrad.spectra) for tanh RNNs at four ‖W_hh‖₂ and LSTMs with b_f = 0 "
                     "and log 99. Above 0 a direction grows, below 0 it is forgotten."),
    },
}


def headline(claim: Mapping[str, Any]) -> str:
    """The key evidence of one claim in English (written by the claim itself)."""
    return str(claim["evidence"].get("headline", ""))
