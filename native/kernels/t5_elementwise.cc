#include "kernels/t5_elementwise.h"

#include <cmath>
#include <cstring>

namespace ga {

void embedding_gather(const float* table, int64_t C, const int32_t* ids, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * C, table + static_cast<int64_t>(ids[i]) * C, static_cast<size_t>(C) * sizeof(float));
}

namespace {
// out row = w * x row * inv * scale, in double (as HF's float64 reference, then rounded once).
void scale_row(const float* xr, int64_t C, const float* w, double inv, float scale, float* o) {
  for (int64_t c = 0; c < C; ++c)
    o[c] = static_cast<float>(static_cast<double>(w[c]) * (static_cast<double>(xr[c]) * inv) * scale);
}
// 1 / sqrt(mean square + eps); eps 0 and an all-zero row: HF gets NaN (0 / 0); a zero row stays zero here.
double inv_rms(double ss, int64_t C, float eps) {
  const double denom = ss / static_cast<double>(C) + static_cast<double>(eps);
  return denom > 0 ? 1.0 / std::sqrt(denom) : 0.0;
}
}  // namespace

void rms_norm_rows(const float* x, int64_t C, const float* w, float eps, float scale, int64_t r0, int64_t r1,
                   float* out) {
  // Each row's sum of squares is one sequential chain (its order fixes the bits), which a core
  // runs at one add per add latency; kRows rows at a time give it kRows independent chains.
  constexpr int kRows = 4;
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows) {
    const float* xr = x + r * C;
    double ss[kRows] = {0, 0, 0, 0};
    for (int64_t c = 0; c < C; ++c)
      for (int i = 0; i < kRows; ++i) ss[i] += static_cast<double>(xr[i * C + c]) * xr[i * C + c];
    double inv[kRows];
    for (int i = 0; i < kRows; ++i) inv[i] = inv_rms(ss[i], C, eps);
    // Rows are scaled only after every sum: out may equal x.
    for (int i = 0; i < kRows; ++i) scale_row(xr + i * C, C, w, inv[i], scale, out + (r + i) * C);
  }
  for (; r < r1; ++r) {
    const float* xr = x + r * C;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * xr[c];
    scale_row(xr, C, w, inv_rms(ss, C, eps), scale, out + r * C);
  }
}

namespace {
// x[i] = act(x[i]) (* gate[i] when kGate) in one pass over x and gate.
template <bool kGate, class Act>
void apply(float* x, const float* gate, int64_t n, Act act) {
  for (int64_t i = 0; i < n; ++i) {
    const float a = act(x[i]);
    x[i] = kGate ? a * gate[i] : a;
  }
}
template <class Act>
void apply(float* x, const float* gate, int64_t n, Act act) {
  if (gate) apply<true>(x, gate, n, act);
  else apply<false>(x, gate, n, act);
}
}  // namespace

void ff_activation(float* x, const float* gate, int64_t n, FfActivation act) {
  if (act == FfActivation::kRelu) return apply(x, gate, n, [](float v) { return v > 0.f ? v : 0.f; });
  // 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)): one float exp instead of a double tanh (several
  // times faster; float32 rounding, as HF's float32 model). exp overflowing to inf for very
  // negative x gives -0, the limit; NaN stays NaN.
  const float k2 = static_cast<float>(2.0 * std::sqrt(2.0 / 3.141592653589793238462643));
  apply(x, gate, n, [k2](float v) { return v / (1.f + std::exp(-k2 * (v + 0.044715f * v * v * v))); });
}

}  // namespace ga
