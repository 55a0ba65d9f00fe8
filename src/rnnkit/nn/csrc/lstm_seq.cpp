// The extended LSTM recurrence of rnnkit/nn/lstm_seq.py over a whole block of time, forward and backward, in C++.
//
// The same step as LSTMSequence (see that module's docstring for the math and the gate order i, f, g, o): the
// matrix products and the sigmoid/tanh go through ATen's kernels (vectorised, threaded); the layer norms and the
// arithmetic between them are `omp simd` loops over raw rows. What this removes is the Python interpreter, the
// dozen small tensor allocations per step of the Python loop, and (see BufferPool) fresh pages every call.
//
// Layout: every tensor is contiguous and time-major: gx (T, B, 4H), y (T, B, H), cs (T + 1, B, H).
// The g gate is computed as 2 sigmoid(2 pre_g) - 1 (= tanh(pre_g)), so that one sigmoid call covers the gates.
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

using at::Tensor;
using OptTensor = c10::optional<Tensor>;

namespace {

constexpr double kEps = 1e-5;  // torch.nn.LayerNorm's epsilon, as lstm_seq.EPS

// `#pragma` cannot stand inside a macro argument (the AT_DISPATCH lambdas below); the operator form can.
#define SIMD_LOOP _Pragma("omp simd")

Tensor defined_or_empty(const OptTensor& t) { return t.has_value() ? t->contiguous() : Tensor(); }

// Whole-sequence buffers ((T, B, 4H) activations, gradients) are tens of megabytes each; fresh from malloc every
// call they come back as new pages, and the kernel's page faults and zeroing cost more than the arithmetic
// (measured: a third of a layer-norm LSTM's step). They come from this pool instead: a freed buffer (its tensor's
// deleter) is kept for the next call of the same size, up to kPoolCap bytes in all; nothing else changes.
class BufferPool {
 public:
  static constexpr size_t kPoolCap = size_t(256) << 20;

  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_ -= bytes;
        return p;
      }
    }
    void* p = nullptr;
    if (posix_memalign(&p, 64, bytes) != 0) throw std::bad_alloc();
    return p;
  }

  void give(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + bytes > kPoolCap) {
      std::free(p);
      return;
    }
    free_.emplace(bytes, p);
    cached_ += bytes;
  }

 private:
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  size_t cached_ = 0;
};

BufferPool& pool() {
  static BufferPool* instance = new BufferPool();  // never destroyed: tensors may outlive static destructors
  return *instance;
}

Tensor buffer(at::IntArrayRef sizes, const at::TensorOptions& opts) {
  int64_t numel = 1;
  for (int64_t n : sizes) numel *= n;
  const size_t bytes = std::max<size_t>(64, (numel * opts.dtype().itemsize() + 63) / 64 * 64);
  if (bytes < (size_t(1) << 20)) return at::empty(sizes, opts);  // small ones: malloc keeps them warm itself
  void* p = pool().take(bytes);
  return at::from_blob(p, sizes, [bytes](void* q) { pool().give(q, bytes); }, opts);
}

// One row's layer norm with a gain and an added row: out = (x - mean) * rstd * w + add; mean and rstd stored
// straight into the saved statistics (ATen's layer norm per step allocated three outputs and needed copies).
template <typename T>
inline void ln_row(const T* x, int64_t n, const T* w, const T* add, T* out, T* mean_out, T* rstd_out) {
  T s = 0, v = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += x[j];
  const T mean = s / n;
#pragma omp simd reduction(+ : v)
  for (int64_t j = 0; j < n; ++j) v += (x[j] - mean) * (x[j] - mean);
  const T rstd = T(1) / std::sqrt(v / n + T(kEps));
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = (x[j] - mean) * rstd * w[j] + add[j];
  *mean_out = mean;
  *rstd_out = rstd;
}

// Its backward: dx from dy (dx may be dy), and the gain's (and the added row's, when db) gradients accumulated.
template <typename T>
inline void ln_row_backward(const T* dy, const T* x, int64_t n, const T* w, T mean, T rstd, T* dx, T* dw, T* db) {
  T m1 = 0, m2 = 0;
#pragma omp simd reduction(+ : m1, m2)
  for (int64_t j = 0; j < n; ++j) {
    const T xh = (x[j] - mean) * rstd, g = dy[j] * w[j];
    m1 += g;
    m2 += g * xh;
    dw[j] += dy[j] * xh;
  }
  if (db) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) db[j] += dy[j];
  }
  m1 /= n;
  m2 /= n;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j] = (dy[j] * w[j] - m1 - (x[j] - mean) * rstd * m2) * rstd;
}

}  // namespace

// -> {y, act, cs, ct, tn, hm_all, a_hat, stats_a, stats_c}; absent entries are undefined (None in Python).
// act (T, B, 4H) holds i, f, g, o after their nonlinearity; ct (T, B, H) the cell before zoneout, kept when the
// backward needs it (peepholes or the cell's layer norm); stats_* (2, T, B, 1) the layer norms' mean and rstd.
std::vector<Tensor> lstm_forward(const Tensor& gx_in, const Tensor& h0, const Tensor& c0, const Tensor& w_hh,
                                 const OptTensor& ln_hh_in, const OptTensor& ln_c_w_in, const OptTensor& ln_c_b_in,
                                 const OptTensor& peep_in, const OptTensor& mask_in, const OptTensor& zones_in) {
  const Tensor gx = gx_in.contiguous();
  const Tensor ln_hh = defined_or_empty(ln_hh_in), ln_c_w = defined_or_empty(ln_c_w_in);
  const Tensor ln_c_b = defined_or_empty(ln_c_b_in), peep = defined_or_empty(peep_in);
  const Tensor mask = defined_or_empty(mask_in), zones = defined_or_empty(zones_in);
  const int64_t T = gx.size(0), B = gx.size(1), G = gx.size(2), H = G / 4;
  const auto opts = gx.options();
  // y is the output a user holds (a plain tensor); the rest is internal and saved for the backward
  Tensor y = at::empty({T, B, H}, opts), act = buffer({T, B, G}, opts), cs = buffer({T + 1, B, H}, opts);
  Tensor tn = buffer({T, B, H}, opts);
  const bool keep_ct = peep.defined() || ln_c_w.defined();
  Tensor ct = keep_ct ? buffer({T, B, H}, opts) : buffer({1, B, H}, opts);
  Tensor hm_all = mask.defined() ? buffer({T, B, H}, opts) : Tensor();
  Tensor a_hat = ln_hh.defined() ? buffer({T, B, G}, opts) : Tensor();
  Tensor stats_a = ln_hh.defined() ? buffer({2, T, B, 1}, opts) : Tensor();
  Tensor stats_c = ln_c_w.defined() ? buffer({2, T, B, 1}, opts) : Tensor();
  Tensor pre = at::empty({B, G}, opts);
  cs[0].copy_(c0);
  Tensor h = h0.contiguous();
  const Tensor w_t = w_hh.t();
  AT_DISPATCH_FLOATING_TYPES(gx.scalar_type(), "rnnkit_lstm_forward", [&] {
    const scalar_t* pp = peep.defined() ? peep.data_ptr<scalar_t>() : nullptr;
    for (int64_t t = 0; t < T; ++t) {
      Tensor hm = h;
      if (mask.defined()) {
        hm = hm_all[t];
        at::mul_out(hm, h, mask);
      }
      if (ln_hh.defined()) {
        Tensor a = a_hat[t];
        at::mm_out(a, hm, w_t);
        const scalar_t *X = a.data_ptr<scalar_t>(), *W = ln_hh.data_ptr<scalar_t>();
        const scalar_t* GX = gx.data_ptr<scalar_t>() + t * B * G;
        scalar_t *P = pre.data_ptr<scalar_t>(), *S = stats_a.data_ptr<scalar_t>() + t * B;
        for (int64_t b = 0; b < B; ++b) ln_row(X + b * G, G, W, GX + b * G, P + b * G, S + b, S + T * B + b);
      } else {
        at::addmm_out(pre, gx[t], hm, w_t);
      }
      scalar_t* P = pre.data_ptr<scalar_t>();
      const scalar_t* C = cs[t].data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        scalar_t* p = P + b * G;
        const scalar_t* c = C + b * H;
        if (pp) {
          SIMD_LOOP
          for (int64_t j = 0; j < H; ++j) {
            p[j] += pp[j] * c[j];
            p[H + j] += pp[H + j] * c[j];
          }
        }
        SIMD_LOOP
        for (int64_t j = 2 * H; j < 3 * H; ++j) p[j] *= 2;
      }
      Tensor a_t = act[t];
      const int64_t n_sig = pp ? 3 * H : G;  // with peepholes, o waits for the new cell
      Tensor a_sig = a_t.narrow(1, 0, n_sig);
      at::sigmoid_out(a_sig, pre.narrow(1, 0, n_sig));
      scalar_t* A = a_t.data_ptr<scalar_t>();
      Tensor ct_t = keep_ct ? ct[t] : ct[0];
      scalar_t* CT = ct_t.data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        scalar_t* a = A + b * G;
        const scalar_t* c = C + b * H;
        scalar_t* cn = CT + b * H;
        scalar_t* p = P + b * G;
        SIMD_LOOP
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t g = 2 * a[2 * H + j] - 1;
          a[2 * H + j] = g;
          cn[j] = a[H + j] * c[j] + a[j] * g;
        }
        if (pp) {
          SIMD_LOOP
          for (int64_t j = 0; j < H; ++j) p[3 * H + j] += pp[2 * H + j] * cn[j];
        }
      }
      if (pp) {
        Tensor a_o = a_t.narrow(1, 3 * H, H);
        at::sigmoid_out(a_o, pre.narrow(1, 3 * H, H));
      }
      Tensor tn_t = tn[t];
      if (ln_c_w.defined()) {
        const scalar_t *W = ln_c_w.data_ptr<scalar_t>(), *Bc = ln_c_b.data_ptr<scalar_t>();
        scalar_t *N = tn_t.data_ptr<scalar_t>(), *S = stats_c.data_ptr<scalar_t>() + t * B;
        for (int64_t b = 0; b < B; ++b) ln_row(CT + b * H, H, W, Bc, N + b * H, S + b, S + T * B + b);
        tn_t.tanh_();
      } else {
        at::tanh_out(tn_t, ct_t);
      }
      const scalar_t* TN = tn_t.data_ptr<scalar_t>();
      const scalar_t* Hp = h.data_ptr<scalar_t>();
      scalar_t* Y = y[t].data_ptr<scalar_t>();
      scalar_t* CN = cs[t + 1].data_ptr<scalar_t>();
      const scalar_t* ZH = zones.defined() ? zones[0][t].data_ptr<scalar_t>() : nullptr;
      const scalar_t* ZC = zones.defined() ? zones[1][t].data_ptr<scalar_t>() : nullptr;
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* o = A + b * G + 3 * H;
        const int64_t r = b * H;
        if (ZH) {  // h~ + zh (h - h~), c~ + zc (c - c~)
          SIMD_LOOP
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t hn = o[j] * TN[r + j];
            Y[r + j] = hn + ZH[r + j] * (Hp[r + j] - hn);
            CN[r + j] = CT[r + j] + ZC[r + j] * (C[r + j] - CT[r + j]);
          }
        } else {
          SIMD_LOOP
          for (int64_t j = 0; j < H; ++j) {
            Y[r + j] = o[j] * TN[r + j];
            CN[r + j] = CT[r + j];
          }
        }
      }
      h = y[t];
    }
  });
  return {y, act, cs, keep_ct ? ct : Tensor(), tn, hm_all, a_hat, stats_a, stats_c};
}

// -> {dgx, dh0, dc0, d_w_hh, d_ln_hh, d_ln_c_w, d_ln_c_b, d_peep}: undefined for an option that is off, and
// d_w_hh / d_peep also when not needed (need_w_hh, need_peep: their one big product over all steps is skipped).
std::vector<Tensor> lstm_backward(const Tensor& dy_in, const Tensor& dh_T, const Tensor& dc_T, const Tensor& h0,
                                  const Tensor& w_hh, const OptTensor& ln_hh_in, const OptTensor& ln_c_w_in,
                                  const OptTensor& ln_c_b_in, const OptTensor& peep_in, const OptTensor& mask_in,
                                  const OptTensor& zones_in, const Tensor& y, const Tensor& act, const Tensor& cs,
                                  const OptTensor& ct_in, const Tensor& tn, const OptTensor& hm_all_in,
                                  const OptTensor& a_hat_in, const OptTensor& stats_a_in,
                                  const OptTensor& stats_c_in, bool need_w_hh, bool need_peep) {
  const Tensor dy = dy_in.contiguous();
  const Tensor ln_hh = defined_or_empty(ln_hh_in), ln_c_w = defined_or_empty(ln_c_w_in);
  const Tensor ln_c_b = defined_or_empty(ln_c_b_in), peep = defined_or_empty(peep_in);
  const Tensor mask = defined_or_empty(mask_in), zones = defined_or_empty(zones_in);
  const Tensor ct = defined_or_empty(ct_in), hm_all = defined_or_empty(hm_all_in);
  const Tensor a_hat = defined_or_empty(a_hat_in), stats_a = defined_or_empty(stats_a_in);
  const Tensor stats_c = defined_or_empty(stats_c_in);
  const int64_t T = y.size(0), B = y.size(1), H = y.size(2), G = 4 * H;
  const auto opts = y.options();
  Tensor dgx = buffer({T, B, G}, opts);  // dL/dpre
  Tensor da_all = ln_hh.defined() ? buffer({T, B, G}, opts) : dgx;  // dL/d(hm W_hh^T)
  Tensor d_ln_hh = ln_hh.defined() ? at::zeros_like(ln_hh) : Tensor();
  Tensor d_ln_c_w = ln_c_w.defined() ? at::zeros_like(ln_c_w) : Tensor();
  Tensor d_ln_c_b = ln_c_w.defined() ? at::zeros_like(ln_c_b) : Tensor();
  Tensor dh = dh_T.contiguous().clone(), dc = dc_T.contiguous().clone();
  const Tensor peep_or_zero = peep.defined() ? peep : at::zeros({3 * H}, opts);
  Tensor dn = at::empty({B, H}, opts), keep = zones.defined() ? at::empty({2, B, H}, opts) : Tensor();
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "rnnkit_lstm_backward", [&] {
    const scalar_t* pz = peep_or_zero.data_ptr<scalar_t>();
    scalar_t* DH = dh.data_ptr<scalar_t>();
    scalar_t* DC = dc.data_ptr<scalar_t>();
    scalar_t* DN = dn.data_ptr<scalar_t>();
    scalar_t* KH = zones.defined() ? keep[0].data_ptr<scalar_t>() : nullptr;
    scalar_t* KC = zones.defined() ? keep[1].data_ptr<scalar_t>() : nullptr;
    for (int64_t t = T - 1; t >= 0; --t) {
      const scalar_t* DY = dy[t].data_ptr<scalar_t>();
      const scalar_t* A = act[t].data_ptr<scalar_t>();
      const scalar_t* TN = tn[t].data_ptr<scalar_t>();
      const scalar_t* ZH = zones.defined() ? zones[0][t].data_ptr<scalar_t>() : nullptr;
      const scalar_t* ZC = zones.defined() ? zones[1][t].data_ptr<scalar_t>() : nullptr;
      scalar_t* DP = dgx[t].data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* o = A + b * G + 3 * H;
        scalar_t* dpo = DP + b * G + 3 * H;
        const int64_t r = b * H;
        if (ZH) {  // the kept part goes straight to h_{t-1} / c_{t-1}
          SIMD_LOOP
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t d0 = DH[r + j] + DY[r + j];
            KH[r + j] = d0 * ZH[r + j];
            KC[r + j] = DC[r + j] * ZC[r + j];
            DC[r + j] -= KC[r + j];
            const scalar_t d = d0 - KH[r + j];
            dpo[j] = d * TN[r + j] * o[j] * (1 - o[j]);
            DN[r + j] = d * o[j] * (1 - TN[r + j] * TN[r + j]);
          }
        } else {
          SIMD_LOOP
          for (int64_t j = 0; j < H; ++j) {
            const scalar_t d = DH[r + j] + DY[r + j];
            dpo[j] = d * TN[r + j] * o[j] * (1 - o[j]);
            DN[r + j] = d * o[j] * (1 - TN[r + j] * TN[r + j]);
          }
        }
      }
      if (ln_c_w.defined()) {  // in place on dn
        const scalar_t *X = ct.data_ptr<scalar_t>() + t * B * H, *W = ln_c_w.data_ptr<scalar_t>();
        const scalar_t* S = stats_c.data_ptr<scalar_t>() + t * B;
        scalar_t *DW = d_ln_c_w.data_ptr<scalar_t>(), *DB = d_ln_c_b.data_ptr<scalar_t>();
        for (int64_t b = 0; b < B; ++b)
          ln_row_backward(DN + b * H, X + b * H, H, W, S[b], S[T * B + b], DN + b * H, DW, DB);
      }
      const scalar_t* DNc = DN;
      const scalar_t* CP = cs[t].data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* a = A + b * G;
        scalar_t* dp = DP + b * G;
        const int64_t r = b * H;
        SIMD_LOOP
        for (int64_t j = 0; j < H; ++j) {  // pz: the peepholes, or zeros
          const scalar_t i = a[j], f = a[H + j], g = a[2 * H + j];
          const scalar_t dct = DNc[r + j] + DC[r + j] + dp[3 * H + j] * pz[2 * H + j];
          const scalar_t di = dct * g * i * (1 - i), df = dct * CP[r + j] * f * (1 - f);
          dp[j] = di;
          dp[H + j] = df;
          dp[2 * H + j] = dct * i * (1 - g * g);
          DC[r + j] = dct * f + di * pz[j] + df * pz[H + j];
        }
      }
      Tensor da = dgx[t];
      if (ln_hh.defined()) {
        da = da_all[t];
        const scalar_t *X = a_hat.data_ptr<scalar_t>() + t * B * G, *W = ln_hh.data_ptr<scalar_t>();
        const scalar_t* S = stats_a.data_ptr<scalar_t>() + t * B;
        scalar_t *DA = da.data_ptr<scalar_t>(), *DW = d_ln_hh.data_ptr<scalar_t>();
        for (int64_t b = 0; b < B; ++b)
          ln_row_backward(DP + b * G, X + b * G, G, W, S[b], S[T * B + b], DA + b * G, DW, (scalar_t*)nullptr);
      }
      at::mm_out(dh, da, w_hh);  // (B, H) to hm
      if (mask.defined() || ZH) {
        const scalar_t* M = mask.defined() ? mask.data_ptr<scalar_t>() : nullptr;
        if (M) {
          SIMD_LOOP
          for (int64_t k = 0; k < B * H; ++k) DH[k] *= M[k];
        }
        if (ZH) {
          SIMD_LOOP
          for (int64_t k = 0; k < B * H; ++k) {
            DH[k] += KH[k];
            DC[k] += KC[k];
          }
        }
      }
    }
  });
  Tensor d_w_hh, d_peep;
  if (need_w_hh) {  // one matrix product over all steps: sum_t da_t^T hm_{t-1}
    if (hm_all.defined()) {
      d_w_hh = at::mm(da_all.view({T * B, G}).t(), hm_all.view({T * B, H}));
    } else {
      d_w_hh = at::mm(da_all[0].t(), h0);
      if (T > 1) d_w_hh.addmm_(da_all.narrow(0, 1, T - 1).reshape({(T - 1) * B, G}).t(),
                               y.narrow(0, 0, T - 1).reshape({(T - 1) * B, H}));
    }
  }
  if (peep.defined() && need_peep) {
    const Tensor c_prev = cs.narrow(0, 0, T);
    d_peep = at::cat({(dgx.narrow(2, 0, H) * c_prev).sum({0, 1}), (dgx.narrow(2, H, H) * c_prev).sum({0, 1}),
                      (dgx.narrow(2, 3 * H, H) * ct).sum({0, 1})});
  }
  return {dgx, dh, dc, d_w_hh, d_ln_hh, d_ln_c_w, d_ln_c_b, d_peep};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("lstm_forward", &lstm_forward, "the extended LSTM recurrence over a block of time (forward)");
  m.def("lstm_backward", &lstm_backward, "its backward");
}
