// The two per-step loops of one LSTM layer (``_lstm_layer.py``), compiled.
//
// The equations, the gate order (o, i, f, g) and the buffers are those of ``_lstm_layer.py``,
// whose Python loops compute the same values with the same element-wise formulas (only the
// forget-gate statistics sum in another order); the numbers (1)-(10) refer to its docstring.
// Each step is a few small ops, so in Python the interpreter's overhead per op matters, and a
// second Python thread would fight for the GIL. Here every batch row's recurrence is
// independent of the others' (the matmuls are row by row), so the rows can be split into
// ``workers`` contiguous blocks, each run on its own thread with one intra-op thread (the
// caller's ``ThreadPlan`` has already narrowed its own).
//
// Buffers (T steps in scan order, B rows, H hidden, P = proj_size or H):
//   slots         (T, B, 5, H)  forward: (K_o, F_i, F_f, F_g, f) out
//   factors       (T, B, 5, H)  reverse: the same buffer in, δa_t and f_t δc_t out
//   cells         (T, B, H)     c_t
//   cell_gains    (T, B, H)     o (1 − tanh² c_t), the gain of (8)
//   outputs       (T, B, P)     h_t
//   cell_outputs  (T, B, H)     m_t (the same tensor as outputs without a projection)
//   hidden_grad   (T, B, P)     e_t in, δh_t out
//   cell_grad     (T, B, H)     the cell gains in, δc_t out

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <exception>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

using at::Tensor;

namespace {

// Run body(lo, hi) over `workers` contiguous blocks of 0 .. count − 1 (batch rows, or time
// steps), block 0 on the calling thread. Every thread skips autograd (the tensors are the
// layer's own buffers) and flushes denormals as the caller does; the helpers use one intra-op
// thread. Plain threads, not OpenMP's: ATen's small ops run up to 3× slower inside an OpenMP
// parallel region (measured).
void over_blocks(int64_t count, int64_t workers, bool flush_denormal,
                 const std::function<void(int64_t, int64_t)>& body) {
  workers = std::max<int64_t>(1, std::min(workers, count));
  std::vector<std::exception_ptr> errors(workers);
  auto run = [&](int64_t block, bool helper) {
    try {
      if (helper) {
        at::set_num_threads(1);
        at::globalContext().setFlushDenormal(flush_denormal);
      }
      at::AutoDispatchBelowADInplaceOrView no_autograd;
      body(block * count / workers, (block + 1) * count / workers);
    } catch (...) {
      errors[block] = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t block = 1; block < workers; ++block) helpers.emplace_back(run, block, true);
  run(0, false);
  for (auto& helper : helpers) helper.join();
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

// For the rows lo .. hi − 1: scan step → the local rows whose sequence ends there.
// end_step (B,) int64 holds each row's last valid scan step.
std::vector<std::vector<int64_t>> rows_ending(const int64_t* end_step, int64_t lo, int64_t hi, int64_t steps) {
  std::vector<std::vector<int64_t>> ending(steps);
  for (int64_t row = lo; row < hi; ++row) ending[end_step[row]].push_back(row - lo);
  return ending;
}

// Index tensor of local rows, on the device of `like`.
Tensor row_index(const std::vector<int64_t>& rows, const Tensor& like) {
  return at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(like.device());
}

// Steps per chunk of the forward's factor pass: small enough that a chunk's buffers are still
// in cache when it runs, big enough that its ops' fixed costs are shared by many steps.
constexpr int64_t kFactorChunk = 16;

// The factors of (8)-(10) and the forget-gate statistics for steps t0 .. t1 − 1 of one row
// block, from its activated gates; the same formulas as ``_lstm_layer._step_factors``.
// Views of the block's rows: slots (T, n, 5, H), cells, cell_gains (holding tanh c) and
// cell_outputs (T, n, H); c0 (n, H); gate_sums (T, n); log_sum and log_out (n, H).
void step_factors(const Tensor& slots, const Tensor& cells, const Tensor& cell_gains,
                  const Tensor& cell_outputs, const Tensor& c0, const Tensor& gate_sums,
                  Tensor& log_sum, Tensor& log_out, const std::vector<std::vector<int64_t>>& ending,
                  int64_t t0, int64_t t1) {
  const int64_t k = t1 - t0, rows = slots.size(1);
  Tensor chunk = slots.narrow(0, t0, k);  // (k, n, 5, H)
  Tensor o = chunk.select(2, 0), i = chunk.select(2, 1), f = chunk.select(2, 2), g = chunk.select(2, 3);
  Tensor f_carry = chunk.select(2, 4);
  Tensor m = cell_outputs.narrow(0, t0, k), gain = cell_gains.narrow(0, t0, k);

  // statistics: Σ_j f_t[b, j] per step; Σ_t log f_t up to each row's last valid step
  Tensor step_sums = gate_sums.narrow(0, t0, k);
  at::sum_out(step_sums, f, at::IntArrayRef{2});
  Tensor logs = f.contiguous().log_();  // (k, n, H); log runs ~10× slower on a strided slot
  for (int64_t t = t0; t < t1; ++t) {
    const auto& ending_rows = ending[t];
    if (ending_rows.empty()) continue;
    Tensor upto = at::sum(logs.narrow(0, 0, t - t0 + 1), at::IntArrayRef{0}).add_(log_sum);  // (n, H)
    if (static_cast<int64_t>(ending_rows.size()) == rows) {
      log_out.copy_(upto);
    } else {
      Tensor index = row_index(ending_rows, upto);
      log_out.index_copy_(0, index, upto.index_select(0, index));
    }
  }
  log_sum.add_(at::sum(logs, at::IntArrayRef{0}));

  f_carry.copy_(f);  // f_t, the carry of (8)
  f.addcmul_(f, f, -1);  // f (1 − f)
  if (t0 > 0) {
    f.mul_(cells.narrow(0, t0 - 1, k));  // c_{t−1} f (1 − f)  (10)
  } else {
    f.select(0, 0).mul_(c0);
    if (k > 1) f.narrow(0, 1, k - 1).mul_(cells.narrow(0, 0, k - 1));
  }
  at::addcmul_out(gain, o, m, gain, -1);  // o (1 − tanh² c)  (8)
  at::addcmul_out(o, m, m, o, -1);  // tanh(c) o (1 − o)  (9)
  Tensor gi = at::mul(g, i);
  at::addcmul_out(g, i, gi, g, -1);  // i (1 − g²)  (10)
  at::addcmul_out(i, gi, gi, i, -1);  // g i (1 − i)  (10)
}

// The input term of (1) for all steps, W_ih x_t + b = [x_t, 1] [W_ih, b]^T (`inputs` (T*B, K),
// `w_in_t` (K, 4H)), split over the threads by time; then the forward loop (1)-(5) over all T
// steps, split over the threads by rows, and every kFactorChunk steps, while their values are in
// cache, the factors of (8)-(10) that the Python path computes for all steps after its loop:
// slots end as (K_o, F_i, F_f, F_g, f) and cell_gains as o (1 − tanh² c). Also the forget-gate
// statistics of ``_summaries``: gate_sums (T, B) = Σ_j f_t[b, j] at every step, and log_forget
// (B, H) = Σ_t log f_t[b] over each row's valid steps (end_step, as in the reverse scan).
// cell_outputs and w_hr_t are given together (proj_size > 0); without them m_t = h_t.
void lstm_forward_scan(Tensor slots, Tensor cells, Tensor cell_gains, Tensor outputs,
                       std::optional<Tensor> cell_outputs, Tensor inputs, Tensor w_in_t, Tensor h0, Tensor c0,
                       Tensor w_hh_t, std::optional<Tensor> w_hr_t, Tensor gate_sums, Tensor log_forget,
                       Tensor end_step, int64_t workers, bool flush_denormal) {
  const int64_t steps = slots.size(0), batch = slots.size(1), hidden = slots.size(3);
  Tensor end_cpu = end_step.to(at::kCPU, at::kLong).contiguous();
  const int64_t* end = end_cpu.const_data_ptr<int64_t>();
  const Tensor& m_all = cell_outputs ? *cell_outputs : outputs;
  Tensor gates = slots.narrow(2, 0, 4).view({steps * batch, 4 * hidden});  // row stride 5H
  over_blocks(steps, workers, flush_denormal, [&](int64_t first, int64_t last) {
    Tensor block = gates.narrow(0, first * batch, (last - first) * batch);
    at::mm_out(block, inputs.narrow(0, first * batch, (last - first) * batch), w_in_t);  // (1)
  });
  over_blocks(batch, workers, flush_denormal, [&](int64_t lo, int64_t hi) {
    const int64_t rows = hi - lo;
    Tensor slots_rows = slots.narrow(1, lo, rows), cells_rows = cells.narrow(1, lo, rows);
    Tensor gains_rows = cell_gains.narrow(1, lo, rows), m_rows = m_all.narrow(1, lo, rows);
    Tensor h_prev = h0.narrow(0, lo, rows), c_prev = c0.narrow(0, lo, rows);
    Tensor log_sum = at::zeros({rows, hidden}, slots.options());  // Σ log f of the steps done
    Tensor log_out = log_forget.narrow(0, lo, rows), sums_rows = gate_sums.narrow(1, lo, rows);
    const auto ending = rows_ending(end, lo, hi, steps);
    int64_t factored = 0;  // steps before this one have their factors
    for (int64_t t = 0; t < steps; ++t) {
      Tensor slot = slots_rows.select(0, t);  // (n, 5, H)
      Tensor o = slot.select(1, 0), i = slot.select(1, 1), f = slot.select(1, 2), g = slot.select(1, 3);
      slot.narrow(1, 0, 4).view({rows, 4 * hidden}).addmm_(h_prev, w_hh_t);  // (1)
      slot.narrow(1, 0, 3).sigmoid_();  // (2) o, i, f
      g.tanh_();  // (2)
      Tensor c = cells_rows.select(0, t);
      at::mul_out(c, f, c_prev).addcmul_(i, g);  // (3)
      Tensor tanh_c = gains_rows.select(0, t);
      at::tanh_out(tanh_c, c);  // tanh(c_t), until step_factors makes it the gain
      Tensor m = m_rows.select(0, t);
      at::mul_out(m, o, tanh_c);  // (4)
      Tensor h = outputs.select(0, t).narrow(0, lo, rows);
      if (w_hr_t) at::mm_out(h, m, *w_hr_t);  // (5)
      h_prev = h;
      c_prev = c;
      if (t + 1 - factored == kFactorChunk || t + 1 == steps) {
        step_factors(slots_rows, cells_rows, gains_rows, m_rows, c0.narrow(0, lo, rows), sums_rows, log_sum,
                     log_out, ending, factored, t + 1);
        factored = t + 1;
      }
    }
  });
}

// Reverse scan (6)-(10) over the scan steps last − 1 down to first; returns the carry it ends
// with, f_first δc_first (B, H): for first = 0 the gradient of c_0 (11). A scan split in two
// calls, [split, T) then [0, split), computes what one call over [0, T) does: the second call
// reads δa_split and the carry f_split δc_split that the first left in `factors`.
// end_step (B,) int64: each row's last valid scan step, where ∂L/∂c_n (grad_c_n) enters.
Tensor lstm_reverse_scan(Tensor factors, Tensor hidden_grad, Tensor cell_grad, Tensor w_hh_p,
                         std::optional<Tensor> w_hr, Tensor grad_c_n, Tensor end_step, int64_t first,
                         int64_t last, int64_t workers, bool flush_denormal) {
  const int64_t steps = factors.size(0), batch = factors.size(1), hidden = factors.size(3);
  TORCH_CHECK(0 <= first && first < last && last <= steps, "reverse_scan: bad step range");
  Tensor carry_out = at::empty({batch, hidden}, cell_grad.options());
  Tensor end_cpu = end_step.to(at::kCPU, at::kLong).contiguous();
  const int64_t* end = end_cpu.const_data_ptr<int64_t>();
  over_blocks(batch, workers, flush_denormal, [&](int64_t lo, int64_t hi) {
    const int64_t rows = hi - lo;
    const auto ending = rows_ending(end, lo, hi, steps);
    Tensor grad_c_n_rows = grad_c_n.narrow(0, lo, rows);
    Tensor carry, next_pre_grad;  // f_{t+1} δc_{t+1} (n, H) and δa_{t+1} (n, 4H)
    if (last == steps) {
      carry = at::zeros({rows, hidden}, cell_grad.options());
    } else {
      Tensor next = factors.select(0, last).narrow(0, lo, rows);
      carry = next.select(1, 4);
      next_pre_grad = next.narrow(1, 0, 4).view({rows, 4 * hidden});
    }
    Tensor dm_buffer = w_hr ? at::empty({rows, hidden}, cell_grad.options()) : Tensor();
    for (int64_t t = last - 1; t >= first; --t) {
      Tensor slot = factors.select(0, t).narrow(0, lo, rows);  // (n, 5, H)
      Tensor dh = hidden_grad.select(0, t).narrow(0, lo, rows);
      if (next_pre_grad.defined()) dh.addmm_(next_pre_grad, w_hh_p);  // (6)
      Tensor dm = w_hr ? at::mm_out(dm_buffer, dh, *w_hr) : dh;  // (7)
      const auto& ending_rows = ending[t];
      if (static_cast<int64_t>(ending_rows.size()) == rows) {
        carry.add_(grad_c_n_rows);
      } else if (!ending_rows.empty()) {
        Tensor index = row_index(ending_rows, carry);
        carry.index_add_(0, index, grad_c_n_rows.index_select(0, index));
      }
      Tensor dc = cell_grad.select(0, t).narrow(0, lo, rows);
      at::addcmul_out(dc, carry, dm, dc);  // (8)
      slot.narrow(1, 1, 4).mul_(dc.unsqueeze(1));  // (10) and the next carry f_t δc_t
      slot.select(1, 0).mul_(dm);  // (9)
      carry = slot.select(1, 4);
      next_pre_grad = slot.narrow(1, 0, 4).view({rows, 4 * hidden});
    }
    carry_out.narrow(0, lo, rows).copy_(carry);
  });
  return carry_out;
}

}  // namespace

TORCH_LIBRARY(rnngrad_lstm_scan, m) {
  m.def("forward_scan(Tensor(a!) slots, Tensor(b!) cells, Tensor(c!) cell_gains, Tensor(d!) outputs, "
        "Tensor(e!)? cell_outputs, Tensor inputs, Tensor w_in_t, Tensor h0, Tensor c0, Tensor w_hh_t, "
        "Tensor? w_hr_t, Tensor(f!) gate_sums, Tensor(g!) log_forget, Tensor end_step, int workers, "
        "bool flush_denormal) -> ()");
  m.def("reverse_scan(Tensor(a!) factors, Tensor(b!) hidden_grad, Tensor(c!) cell_grad, Tensor w_hh_p, "
        "Tensor? w_hr, Tensor grad_c_n, Tensor end_step, int first, int last, int workers, "
        "bool flush_denormal) -> Tensor");
}

TORCH_LIBRARY_IMPL(rnngrad_lstm_scan, CPU, m) {
  m.impl("forward_scan", &lstm_forward_scan);
  m.impl("reverse_scan", &lstm_reverse_scan);
}
