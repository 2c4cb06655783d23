// The diagonal linear recurrence of ``scan.py``, (1) and the reverse recurrence of (2), compiled.
//
// Every channel n of h_t = a_t ⊙ h_{t−1} + b_t is its own scalar recurrence, so the channels are
// split into ``workers`` contiguous blocks, each on its own thread, and each thread runs all T
// steps over its block: a sequential scan in time, parallel over channels. It reads a and b and
// writes h once (the memory traffic of one pass), where a scan parallel in time must read them
// at least twice; on a CPU with a few cores that makes it the faster of the two.
//
// Shapes: a (Ta, N) with Ta = T (a varies) or 1 (constant over time), b (T, N), h0 (N) or empty;
// all contiguous, one dtype (float, double, complex float, complex double).
//   forward:  out_t = a_t ⊙ out_{t−1} + b_t,   out_{−1} = h0 (or 0)                 (1)
//   reverse:  out_t = b_t + ā_{t+1} ⊙ out_{t+1}, out_{T−1} = b_{T−1}                 (2)
// with ā = conj(a) when ``conjugate`` (the backward of a complex scan), a otherwise.
// ``scan_backward`` runs (2) and forms ∂L/∂a_t = δ_t ⊙ conj(h_{t−1}) in the same pass.

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/util/complex.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

using at::Tensor;

namespace {

// Outputs of T·N elements are big (32 MiB for T = 4096, B·H = 2048, float32), and fresh memory
// that big costs more than the scan: malloc maps it anew for every call and the kernel zeroes
// and faults it in page by page (measured: ~8200 faults, ~12 ms, per 32 MiB on a VM). So the
// outputs of at least ``kCachedBytes`` live in blocks that go back to a small cache when their
// tensor dies, as torch's CUDA allocator keeps its blocks, and the next call of the same size
// takes them: at most ``kMaxBlocks`` blocks and ``kMaxHeld`` bytes are kept, the oldest freed
// first (``empty_cache`` frees them all). New blocks are 2 MiB aligned with transparent huge pages
// advised (the kernel's "madvise" mode): one fault per 2 MiB instead of one per 4 KiB.
constexpr size_t kCachedBytes = size_t(4) << 20;
constexpr size_t kMaxHeld = size_t(256) << 20;
constexpr size_t kMaxBlocks = 6;
constexpr size_t kAlignment = size_t(2) << 20;

class BlockCache {
 public:
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();  // never destroyed: tensors may die after exit handlers
    return *cache;
  }

  void* take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto block = blocks_.begin(); block != blocks_.end(); ++block) {
      if (block->first == bytes) {
        void* data = block->second;
        held_ -= bytes;
        blocks_.erase(block);
        return data;
      }
    }
    return nullptr;
  }

  void give(void* data, size_t bytes) {
    std::vector<void*> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks_.emplace_back(bytes, data);
      held_ += bytes;
      while (held_ > kMaxHeld || blocks_.size() > kMaxBlocks) {
        held_ -= blocks_.front().first;
        released.push_back(blocks_.front().second);
        blocks_.erase(blocks_.begin());
      }
    }
    for (void* block : released) std::free(block);
  }

  int64_t clear() {
    std::vector<std::pair<size_t, void*>> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released.swap(blocks_);
      held_ = 0;
    }
    for (auto& block : released) std::free(block.second);
    return static_cast<int64_t>(released.size());
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<size_t, void*>> blocks_;  // (bytes, data), oldest first
  size_t held_ = 0;
};

Tensor fresh_output(const Tensor& like) {
  const size_t bytes = static_cast<size_t>(like.numel()) * like.element_size();
  if (bytes < kCachedBytes) return at::empty_like(like, at::MemoryFormat::Contiguous);
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* data = BlockCache::instance().take(rounded);
  if (data == nullptr) {
    data = std::aligned_alloc(kAlignment, rounded);
    TORCH_CHECK(data != nullptr, "linear_scan: out of memory allocating ", rounded, " bytes");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(data, rounded, MADV_HUGEPAGE);  // advice only: errors ignored
#endif
  }
  return at::from_blob(data, like.sizes(), [rounded](void* block) { BlockCache::instance().give(block, rounded); },
                       like.options());
}

int64_t empty_cache() { return BlockCache::instance().clear(); }

template <typename scalar_t>
inline scalar_t maybe_conj(scalar_t value, bool conjugate) {
  if constexpr (std::is_same_v<scalar_t, c10::complex<float>> || std::is_same_v<scalar_t, c10::complex<double>>) {
    return conjugate ? std::conj(value) : value;
  } else {
    return value;
  }
}

template <typename scalar_t>
void scan_block(const scalar_t* a, const scalar_t* b, const scalar_t* h0, scalar_t* out, int64_t T, int64_t N,
                bool varying, bool reverse, bool conjugate, int64_t lo, int64_t hi) {
  const int64_t a_stride = varying ? N : 0;
  if (!reverse) {
    for (int64_t n = lo; n < hi; ++n) out[n] = a[n] * (h0 ? h0[n] : scalar_t(0)) + b[n];  // (1), t = 0
    for (int64_t t = 1; t < T; ++t) {
      const scalar_t* a_t = a + t * a_stride;
      const scalar_t* b_t = b + t * N;
      const scalar_t* previous = out + (t - 1) * N;
      scalar_t* current = out + t * N;
      for (int64_t n = lo; n < hi; ++n) current[n] = a_t[n] * previous[n] + b_t[n];  // (1)
    }
  } else {
    scalar_t* last = out + (T - 1) * N;
    const scalar_t* b_last = b + (T - 1) * N;
    for (int64_t n = lo; n < hi; ++n) last[n] = b_last[n];
    for (int64_t t = T - 2; t >= 0; --t) {
      const scalar_t* a_next = a + (t + 1) * a_stride;
      const scalar_t* b_t = b + t * N;
      const scalar_t* next = out + (t + 1) * N;
      scalar_t* current = out + t * N;
      if (conjugate) {
        for (int64_t n = lo; n < hi; ++n) current[n] = b_t[n] + maybe_conj(a_next[n], true) * next[n];  // (2)
      } else {
        for (int64_t n = lo; n < hi; ++n) current[n] = b_t[n] + a_next[n] * next[n];  // (2)
      }
    }
  }
}

Tensor sequential_scan(const Tensor& a, const Tensor& b, const Tensor& h0, bool reverse, bool conjugate,
                       int64_t workers) {
  TORCH_CHECK(b.dim() == 2 && a.dim() == 2 && a.size(1) == b.size(1), "sequential_scan: a (Ta, N), b (T, N)");
  TORCH_CHECK(a.size(0) == b.size(0) || a.size(0) == 1, "sequential_scan: a has T or 1 rows");
  TORCH_CHECK(a.is_contiguous() && b.is_contiguous() && a.scalar_type() == b.scalar_type(),
              "sequential_scan: contiguous a, b of one dtype");
  TORCH_CHECK(h0.numel() == 0 || (h0.is_contiguous() && h0.numel() == b.size(1) && h0.scalar_type() == b.scalar_type()),
              "sequential_scan: h0 (N) or empty");
  const int64_t T = b.size(0), N = b.size(1);
  Tensor out = fresh_output(b);
  if (T == 0 || N == 0) return out;
  const bool varying = a.size(0) > 1 || T == 1;
  // Blocks of at least 512 channels (a thread then has 512·T steps), so that its work outweighs starting it.
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(workers, N / 512));
  AT_DISPATCH_FLOATING_AND_COMPLEX_TYPES(b.scalar_type(), "sequential_scan", [&] {
    const scalar_t* a_data = a.const_data_ptr<scalar_t>();
    const scalar_t* b_data = b.const_data_ptr<scalar_t>();
    const scalar_t* h0_data = h0.numel() ? h0.const_data_ptr<scalar_t>() : nullptr;
    scalar_t* out_data = out.mutable_data_ptr<scalar_t>();
    auto block = [&](int64_t k) {
      const int64_t lo = N * k / blocks, hi = N * (k + 1) / blocks;
      scan_block<scalar_t>(a_data, b_data, h0_data, out_data, T, N, varying, reverse, conjugate, lo, hi);
    };
    std::vector<std::thread> helpers;
    for (int64_t k = 1; k < blocks; ++k) helpers.emplace_back(block, k);
    block(0);
    for (auto& helper : helpers) helper.join();
  });
  return out;
}

// The backward (2) in one pass: δ_t = g_t + ā_{t+1} ⊙ δ_{t+1} and ∂L/∂a_t = δ_t ⊙ conj(h_{t−1}),
// h_{−1} = h0 (or 0), reading a, g and h once.
template <typename scalar_t>
void backward_block(const scalar_t* a, const scalar_t* g, const scalar_t* h, const scalar_t* h0, scalar_t* delta,
                    scalar_t* grad_a, int64_t T, int64_t N, bool varying, bool conjugate, int64_t lo, int64_t hi) {
  const int64_t a_stride = varying ? N : 0;
  for (int64_t t = T - 1; t >= 0; --t) {
    const scalar_t* g_t = g + t * N;
    scalar_t* d_t = delta + t * N;
    scalar_t* ga_t = grad_a + t * N;
    const scalar_t* h_previous = t > 0 ? h + (t - 1) * N : h0;
    if (t == T - 1) {
      for (int64_t n = lo; n < hi; ++n) d_t[n] = g_t[n];
    } else {
      const scalar_t* a_next = a + (t + 1) * a_stride;
      const scalar_t* d_next = delta + (t + 1) * N;
      for (int64_t n = lo; n < hi; ++n) d_t[n] = g_t[n] + maybe_conj(a_next[n], conjugate) * d_next[n];  // (2)
    }
    if (h_previous) {
      for (int64_t n = lo; n < hi; ++n) ga_t[n] = d_t[n] * maybe_conj(h_previous[n], conjugate);  // (2)
    } else {
      for (int64_t n = lo; n < hi; ++n) ga_t[n] = scalar_t(0);
    }
  }
}

std::tuple<Tensor, Tensor> scan_backward(const Tensor& a, const Tensor& g, const Tensor& h, const Tensor& h0,
                                         bool conjugate, int64_t workers) {
  TORCH_CHECK(g.dim() == 2 && a.dim() == 2 && h.sizes() == g.sizes() && a.size(1) == g.size(1),
              "scan_backward: a (Ta, N), g and h (T, N)");
  TORCH_CHECK(a.size(0) == g.size(0) || a.size(0) == 1, "scan_backward: a has T or 1 rows");
  TORCH_CHECK(a.is_contiguous() && g.is_contiguous() && h.is_contiguous() && a.scalar_type() == g.scalar_type() &&
              h.scalar_type() == g.scalar_type(), "scan_backward: contiguous a, g, h of one dtype");
  TORCH_CHECK(h0.numel() == 0 || (h0.is_contiguous() && h0.numel() == g.size(1) && h0.scalar_type() == g.scalar_type()),
              "scan_backward: h0 (N) or empty");
  const int64_t T = g.size(0), N = g.size(1);
  Tensor delta = fresh_output(g), grad_a = fresh_output(g);
  if (T == 0 || N == 0) return {delta, grad_a};
  const bool varying = a.size(0) > 1 || T == 1;
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(workers, N / 512));
  AT_DISPATCH_FLOATING_AND_COMPLEX_TYPES(g.scalar_type(), "scan_backward", [&] {
    const scalar_t* h0_data = h0.numel() ? h0.const_data_ptr<scalar_t>() : nullptr;
    auto block = [&](int64_t k) {
      const int64_t lo = N * k / blocks, hi = N * (k + 1) / blocks;
      backward_block<scalar_t>(a.const_data_ptr<scalar_t>(), g.const_data_ptr<scalar_t>(), h.const_data_ptr<scalar_t>(),
                               h0_data, delta.mutable_data_ptr<scalar_t>(), grad_a.mutable_data_ptr<scalar_t>(), T, N,
                               varying, conjugate, lo, hi);
    };
    std::vector<std::thread> helpers;
    for (int64_t k = 1; k < blocks; ++k) helpers.emplace_back(block, k);
    block(0);
    for (auto& helper : helpers) helper.join();
  });
  return {delta, grad_a};
}

}  // namespace

TORCH_LIBRARY(rnngrad_linear_scan, m) {
  m.def("sequential_scan(Tensor a, Tensor b, Tensor h0, bool reverse, bool conjugate, int workers) -> Tensor");
  m.def("scan_backward(Tensor a, Tensor g, Tensor h, Tensor h0, bool conjugate, int workers) -> (Tensor, Tensor)");
  m.def("empty_cache() -> int", &empty_cache);
}

TORCH_LIBRARY_IMPL(rnngrad_linear_scan, CPU, m) {
  m.impl("sequential_scan", &sequential_scan);
  m.impl("scan_backward", &scan_backward);
}
