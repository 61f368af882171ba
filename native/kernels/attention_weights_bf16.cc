#include "kernels/attention_weights_bf16.h"

#include <vector>

#include "kernels/attention_weights.h"
#include "kernels/bf16.h"
#include "kernels/fp16.h"

namespace ga {
namespace {
struct Baseline {};  // Bf16<Baseline>: this translation unit's own copy (kernels/bf16.h, ODR note)
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// The kernels score bf16(q·scale·log2 e) · bf16(k) in base 2 (kernels/flash_block_bf16.h). The
// float32 reference pass (attention_weights.cc) scores scale'·q'·k' in natural-log units, so it
// gets q' = those rounded values, k' = rounded k and scale' = ln 2: the same scores, converted.
template <class B16>
void weights_rounded(const DenseAttentionParams& p, float* weights) {
  const float qscale = p.scale * kLog2e;
  std::vector<float> q(static_cast<size_t>(p.B * p.H * p.Nq * p.D));
  std::vector<float> k(static_cast<size_t>(p.B * p.Hk * p.Nk * p.D));
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.Nq; ++i)
        for (int64_t d = 0; d < p.D; ++d)
          q[((b * p.H + h) * p.Nq + i) * p.D + d] = B16::round(p.q[b * p.qs.b + h * p.qs.h + i * p.qs.n + d] * qscale);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.Hk; ++h)
      for (int64_t j = 0; j < p.Nk; ++j)
        for (int64_t d = 0; d < p.D; ++d)
          k[((b * p.Hk + h) * p.Nk + j) * p.D + d] = B16::round(p.k[b * p.ks.b + h * p.ks.h + j * p.ks.n + d]);
  DenseAttentionParams r = p;
  r.q = q.data();
  r.k = k.data();
  r.qs = Strides::bhnd(p.H, p.Nq, p.D);
  r.ks = Strides::bhnd(p.Hk, p.Nk, p.D);
  r.scale = kLn2;
  dense_attention_weights(r, weights);
}

}  // namespace

void dense_attention_weights_bf16(const DenseAttentionParams& p, float* weights) {
  weights_rounded<Bf16<Baseline>>(p, weights);
}
void dense_attention_weights_fp16(const DenseAttentionParams& p, float* weights) {
  weights_rounded<Fp16<Baseline>>(p, weights);
}

}  // namespace ga
