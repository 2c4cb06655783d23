// Jacobians through time in plain JavaScript, log-scaled as rnngrad.jacobian_through_time does.
//
// For states s_t (h for the RNN, (h, c) for the LSTM) and step Jacobians J_k = ∂s_k/∂s_{k−1}:
//   P_T = I,  P_t = P_{t+1} J_{t+1}                                         (1), (2)
//   P_t = e^{ℓ_t} M_t,  ‖M_t‖_F = 1,  ℓ_t = ℓ_{t+1} + log ‖M_{t+1} J_{t+1}‖_F    (3)
// so a norm of 1e−2000 is a number, not a zero. ‖P_t‖₂ = e^{ℓ_t} σ₁(M_t), and σ₁(M_t)² is the largest
// eigenvalue of M_tᵀ M_t: Householder tridiagonalisation, then bisection on Sturm counts (exact to
// rounding, where power iteration would crawl on the LSTM's many nearly equal singular values).
// For the LSTM the seed's carousel is tracked beside it: log ∏_{k>t} f_{k,i} = Σ_{k>t} log σ(z^f_{k,i}).  (4)
"use strict";

const ExploreMath = (() => {
  const ACTIVATIONS = {  // φ, φ' and sup |φ'| (for the bound (γ‖W_hh‖₂)^k)
    tanh: {f: Math.tanh, derivative: a => { const y = Math.tanh(a); return 1 - y * y; }, sup: 1},
    sigmoid: {f: a => sigmoid(a), derivative: a => { const s = sigmoid(a); return s * (1 - s); }, sup: 0.25},
    relu: {f: a => (a > 0 ? a : 0), derivative: a => (a > 0 ? 1 : 0), sup: 1},
  };

  function sigmoid(z) {
    if (z >= 0) return 1 / (1 + Math.exp(-z));
    const e = Math.exp(z);
    return e / (1 + e);
  }

  function logSigmoid(z) {  // log σ(z) without underflow
    return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
  }

  function flat(rows, scale = 1) {  // nested list (n, m) → row-major Float64Array
    const n = rows.length, m = rows[0].length, out = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = scale * rows[i][j];
    return out;
  }

  // The largest eigenvalue of a symmetric n×n matrix A (row-major; overwritten).
  function largestEigenvalue(A, n) {
    if (n === 1) return A[0];
    const d = new Float64Array(n), e = new Float64Array(n), v = new Float64Array(n), q = new Float64Array(n);
    for (let k = 0; k < n - 2; k++) {  // H = I − β v vᵀ zeroes column k below its subdiagonal
      let norm2 = 0;
      for (let i = k + 1; i < n; i++) norm2 += A[i * n + k] * A[i * n + k];
      d[k] = A[k * n + k];
      if (norm2 === 0) { e[k] = 0; continue; }
      const x0 = A[(k + 1) * n + k], alpha = (x0 >= 0 ? -1 : 1) * Math.sqrt(norm2);
      e[k] = alpha;
      let vv = 0;
      for (let i = k + 1; i < n; i++) v[i] = A[i * n + k];
      v[k + 1] -= alpha;  // |v_{k+1}| ≥ ‖x‖ > 0
      for (let i = k + 1; i < n; i++) vv += v[i] * v[i];
      const beta = 2 / vv;
      let vp = 0;
      for (let i = k + 1; i < n; i++) {  // p = β A v
        let sum = 0;
        for (let j = k + 1; j < n; j++) sum += A[i * n + j] * v[j];
        q[i] = beta * sum;
        vp += v[i] * q[i];
      }
      const K = beta * vp / 2;
      for (let i = k + 1; i < n; i++) q[i] -= K * v[i];  // q = p − K v;  H A H = A − v qᵀ − q vᵀ
      for (let i = k + 1; i < n; i++) for (let j = k + 1; j < n; j++) A[i * n + j] -= v[i] * q[j] + q[i] * v[j];
    }
    d[n - 2] = A[(n - 2) * n + n - 2];
    d[n - 1] = A[(n - 1) * n + n - 1];
    e[n - 2] = A[(n - 1) * n + n - 2];
    let lo = Infinity, hi = -Infinity;  // Gershgorin bounds of the tridiagonal (d, e)
    for (let i = 0; i < n; i++) {
      const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0);
      lo = Math.min(lo, d[i] - r);
      hi = Math.max(hi, d[i] + r);
    }
    const margin = 1e-12 * Math.max(Math.abs(lo), Math.abs(hi), 1e-300);
    lo -= margin;
    hi += margin;
    const below = x => {  // Sturm count: eigenvalues < x
      let count = 0, u = 1;
      for (let i = 0; i < n; i++) {
        u = d[i] - x - (i > 0 ? e[i - 1] * e[i - 1] / u : 0);
        if (u === 0) u = -1e-300;
        if (u < 0) count++;
      }
      return count;
    };
    for (let step = 0; step < 200; step++) {  // largest eigenvalue: below(lo) < n ≤ below(hi)
      const mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      if (below(mid) === n) hi = mid; else lo = mid;
    }
    return 0.5 * (lo + hi);
  }

  // log10 ‖P_t‖₂ and ‖P_t‖_F for t = 0..T; multiply(k, M, R) writes R = M J_k (S×S, row-major).
  function throughTime(S, T, multiply) {
    const log10Norm = new Array(T + 1), log10Frobenius = new Array(T + 1);
    log10Norm[T] = 0;  // ‖I‖₂ = 1
    log10Frobenius[T] = 0.5 * Math.log10(S);
    let M = new Float64Array(S * S), R = new Float64Array(S * S), ell = 0;
    const gram = new Float64Array(S * S);
    for (let i = 0; i < S; i++) M[i * S + i] = 1;  // P_T = I
    for (let t = T - 1; t >= 0; t--) {
      if (ell === -Infinity) { log10Norm[t] = log10Frobenius[t] = -Infinity; continue; }
      multiply(t + 1, M, R);  // R_t = M_{t+1} J_{t+1}   (2)
      let largest = 0, sum = 0;
      for (let i = 0; i < S * S; i++) largest = Math.max(largest, Math.abs(R[i]));
      for (let i = 0; i < S * S && largest > 0; i++) sum += (R[i] / largest) ** 2;  // no underflow
      const frobenius = largest * Math.sqrt(sum);
      ell += Math.log(frobenius);  // (3); an exactly zero product gives −∞ from here on
      if (frobenius === 0) { log10Norm[t] = log10Frobenius[t] = -Infinity; continue; }
      for (let i = 0; i < S * S; i++) R[i] /= frobenius;
      [M, R] = [R, M];  // M_t
      gram.fill(0);  // M_tᵀ M_t
      for (let i = 0; i < S; i++) {
        const row = i * S;
        for (let p = 0; p < S; p++) {
          const m = M[row + p];
          if (m === 0) continue;
          for (let c = p; c < S; c++) gram[p * S + c] += m * M[row + c];
        }
      }
      for (let p = 0; p < S; p++) for (let c = 0; c < p; c++) gram[p * S + c] = gram[c * S + p];
      log10Frobenius[t] = ell / Math.LN10;
      log10Norm[t] = (ell + 0.5 * Math.log(largestEigenvalue(gram, S))) / Math.LN10;
    }
    return {log10Norm, log10Frobenius};
  }

  // RNN: a_t = W_ih x_t + b + G·W h_{t−1}, h_t = φ(a_t), J_t = diag(φ'(a_t)) G·W.
  function rnn(weights, setting) {
    const H = weights.weight_hh.length, I = weights.weight_ih[0].length, T = setting.T;
    const W = flat(weights.weight_hh, setting.gain), Wih = flat(weights.weight_ih), b = weights.bias;
    const activation = ACTIVATIONS[setting.activation];
    const derivatives = new Float64Array(T * H);  // φ'(a_t), row t − 1
    let h = new Float64Array(H), next = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const x = weights.inputs[t];
      for (let i = 0; i < H; i++) {
        let a = b[i];
        for (let j = 0; j < I; j++) a += Wih[i * I + j] * setting.input_scale * x[j];
        for (let j = 0; j < H; j++) a += W[i * H + j] * h[j];
        derivatives[t * H + i] = activation.derivative(a);
        next[i] = activation.f(a);
      }
      [h, next] = [next, h];
    }
    const scaled = new Float64Array(H);
    const result = throughTime(H, T, (k, M, R) => {  // R = (M ⊙ φ'(a_k)ᵀ) W
      R.fill(0);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) scaled[j] = M[i * H + j] * derivatives[(k - 1) * H + j];
        for (let j = 0; j < H; j++) {
          const s = scaled[j];
          if (s === 0) continue;
          for (let c = 0; c < H; c++) R[i * H + c] += s * W[j * H + c];
        }
      }
    });
    return {...result, hiddenSize: H, bound: activation.sup * setting.gain};
  }

  // LSTM, gates i, f, g, o (torch's order); the step Jacobian's blocks as in rnngrad.cells.lstm (4)–(7).
  function lstm(weights, setting) {
    const H = weights.weight_hh[0].length, I = weights.weight_ih[0].length, T = setting.T, S = 2 * H;
    const Wih = flat(weights.weight_ih), Whh = flat(weights.weight_hh), bias = Float64Array.from(weights.bias);
    for (let j = 0; j < H; j++) {
      if (setting.init === "chrono") { bias[j] = -weights.chrono_forget_bias[j]; bias[H + j] = weights.chrono_forget_bias[j]; }
      bias[H + j] += setting.forget_bias;  // the forget slice raised by B
    }
    const steps = [];  // per step k = 1..T: gates, c_{k−1}, tanh c_k, log f_k
    let h = new Float64Array(H), c = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const x = weights.inputs[t], z = new Float64Array(4 * H);
      for (let r = 0; r < 4 * H; r++) {
        let sum = bias[r];
        for (let j = 0; j < I; j++) sum += Wih[r * I + j] * x[j];
        for (let j = 0; j < H; j++) sum += Whh[r * H + j] * h[j];
        z[r] = sum;
      }
      const step = {i: new Float64Array(H), f: new Float64Array(H), g: new Float64Array(H), o: new Float64Array(H),
                    cPrev: c, tanhC: new Float64Array(H), logF: new Float64Array(H)};
      const cNext = new Float64Array(H), hNext = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        step.i[j] = sigmoid(z[j]); step.f[j] = sigmoid(z[H + j]);
        step.g[j] = Math.tanh(z[2 * H + j]); step.o[j] = sigmoid(z[3 * H + j]);
        step.logF[j] = logSigmoid(z[H + j]);
        cNext[j] = step.f[j] * c[j] + step.i[j] * step.g[j];
        step.tanhC[j] = Math.tanh(cNext[j]);
        hNext[j] = step.o[j] * step.tanhC[j];
      }
      steps.push(step);
      h = hNext;
      c = cNext;
    }
    const columns = new Float64Array(S * H);  // ∂s_k/∂h_{k−1}, (2H, H): rows h then c
    const result = throughTime(S, T, (k, M, R) => {
      const {i, f, g, o, cPrev, tanhC} = steps[k - 1];
      for (let j = 0; j < H; j++) {
        const throughC = o[j] * (1 - tanhC[j] * tanhC[j]);
        const gi = g[j] * i[j] * (1 - i[j]), ig = i[j] * (1 - g[j] * g[j]), cf = cPrev[j] * f[j] * (1 - f[j]);
        const ho = tanhC[j] * o[j] * (1 - o[j]);
        for (let m = 0; m < H; m++) {
          const dcdh = gi * Whh[j * H + m] + ig * Whh[(2 * H + j) * H + m] + cf * Whh[(H + j) * H + m];  // (4)
          columns[(H + j) * H + m] = dcdh;
          columns[j * H + m] = ho * Whh[(3 * H + j) * H + m] + throughC * dcdh;  // (6)
        }
      }
      for (let r = 0; r < S; r++) {
        for (let m = 0; m < H; m++) {
          let sum = 0;
          for (let q = 0; q < S; q++) sum += M[r * S + q] * columns[q * H + m];
          R[r * S + m] = sum;
        }
        for (let j = 0; j < H; j++) {  // (7), (5): ∂h_k/∂c_{k−1} = diag(o(1 − tanh² c) f), ∂c_k/∂c_{k−1} = diag(f)
          const throughC = o[j] * (1 - tanhC[j] * tanhC[j]);
          R[r * S + H + j] = M[r * S + j] * throughC * f[j] + M[r * S + H + j] * f[j];
        }
      }
    });
    const log10Carousel = new Array(T + 1);  // (4): max_i Σ_{k>t} log f_{k,i}
    log10Carousel[T] = 0;
    const tail = new Float64Array(H);
    for (let t = T - 1; t >= 0; t--) {
      let best = -Infinity;
      for (let j = 0; j < H; j++) { tail[j] += steps[t].logF[j]; best = Math.max(best, tail[j]); }
      log10Carousel[t] = best / Math.LN10;
    }
    return {...result, log10Carousel, hiddenSize: H};
  }

  return {ACTIVATIONS, largestEigenvalue, rnn, lstm};
})();
