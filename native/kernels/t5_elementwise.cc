#include "kernels/t5_elementwise.h"

#include <cmath>
#include <cstring>

namespace ga {

void embedding_gather(const float* table, int64_t C, const int32_t* ids, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * C, table + static_cast<int64_t>(ids[i]) * C, static_cast<size_t>(C) * sizeof(float));
}

void rms_norm_rows(const float* x, int64_t C, const float* w, float eps, float scale, int64_t r0, int64_t r1,
                   float* out) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    float* o = out + r * C;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(xr[c]) * xr[c];
    const double denom = ss / static_cast<double>(C) + static_cast<double>(eps);
    // eps 0 and an all-zero row: HF gets NaN (0 / 0); a zero row stays zero here.
    const double inv = denom > 0 ? 1.0 / std::sqrt(denom) : 0.0;
    for (int64_t c = 0; c < C; ++c)
      o[c] = static_cast<float>(static_cast<double>(w[c]) * (static_cast<double>(xr[c]) * inv) * scale);
  }
}

void ff_activation(float* x, const float* gate, int64_t n, FfActivation act) {
  if (act == FfActivation::kRelu) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
  } else {
    // 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)): one float exp instead of a double tanh (several
    // times faster; float32 rounding, as HF's float32 model). exp overflowing to inf for very
    // negative x gives -0, the limit; NaN stays NaN.
    const float k2 = static_cast<float>(2.0 * std::sqrt(2.0 / 3.141592653589793238462643));
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      x[i] = v / (1.f + std::exp(-k2 * (v + 0.044715f * v * v * v)));
    }
  }
  if (gate)
    for (int64_t i = 0; i < n; ++i) x[i] *= gate[i];
}

}  // namespace ga
