#include "kernels/attention_weights.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace ga {
namespace {

constexpr double kExcluded = -std::numeric_limits<double>::infinity();

double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Softmax of `scores` (kExcluded = not admissible) into `out`; all excluded -> zeros.
void softmax_row(const std::vector<double>& scores, float* out) {
  double mx = kExcluded;
  for (double s : scores) mx = std::max(mx, s);
  if (mx == kExcluded) {
    for (size_t j = 0; j < scores.size(); ++j) out[j] = 0.f;
    return;
  }
  double sum = 0;
  for (double s : scores) sum += s == kExcluded ? 0.0 : std::exp(s - mx);
  for (size_t j = 0; j < scores.size(); ++j)
    out[j] = scores[j] == kExcluded ? 0.f : static_cast<float>(std::exp(scores[j] - mx) / sum);
}

}  // namespace

void dense_attention_scores(const DenseAttentionParams& p, ScoreStage stage, float* scores) {
  std::vector<double> s(static_cast<size_t>(p.Nk));
  const bool masked = stage == ScoreStage::kMasked || stage == ScoreStage::kSoftmax;
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h) {
      const int64_t hk = h / (p.H / p.Hk);
      for (int64_t i = 0; i < p.Nq; ++i) {
        const float* q = p.q + b * p.qs.b + h * p.qs.h + i * p.qs.n;
        int64_t lo, hi;
        p.key_range(b, i, lo, hi);
        for (int64_t j = 0; j < p.Nk; ++j) {
          const bool ok = (!p.key_mask || p.key_mask[b * p.Nk + j]) && j >= lo && j <= hi;
          if (masked && !ok) {
            s[j] = kExcluded;
            continue;
          }
          double v = p.scale * dot(q, p.k + b * p.ks.b + hk * p.ks.h + j * p.ks.n, p.D);
          // The operator's order: softcap, then bias and masks.
          if (p.softcap > 0.f && stage != ScoreStage::kMatmul) v = p.softcap * std::tanh(v / p.softcap);
          if (masked && p.bias)
            v += p.bias[b * p.bias_stride[0] + h * p.bias_stride[1] + i * p.bias_stride[2] + j * p.bias_stride[3]];
          if (masked && p.position_bias) {
            const int64_t* st = p.position_bias_stride;
            v += p.position_bias[b * st[0] + h * st[1] + i * st[2] + j * st[3]];
          }
          s[j] = v;
        }
        float* row = scores + ((b * p.H + h) * p.Nq + i) * p.Nk;
        if (stage == ScoreStage::kSoftmax) softmax_row(s, row);
        else
          for (int64_t j = 0; j < p.Nk; ++j) row[j] = static_cast<float>(s[j]);
      }
    }
}

void dense_attention_weights(const DenseAttentionParams& p, float* weights) {
  dense_attention_scores(p, ScoreStage::kSoftmax, weights);
}

void tglobal_attention_weights(const TGlobalAttentionParams& p, float* weights) {
  const int64_t N = p.N, G = p.G, r = p.radius, cols = N + G;
  std::vector<double> s(static_cast<size_t>(cols));
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < N; ++i) {
        float* row = weights + ((b * p.H + h) * N + i) * cols;
        const bool qvalid = !p.mask || p.mask[b * N + i];
        const float* q = p.q + b * p.qs.b + h * p.qs.h + i * p.qs.n;
        for (int64_t j = 0; j < N; ++j) {
          const bool ok = qvalid && std::abs(j - i) <= r && (!p.mask || p.mask[b * N + j]);
          if (!ok) {
            s[j] = kExcluded;
            continue;
          }
          double v = p.scale * dot(q, p.k + b * p.ks.b + h * p.ks.h + j * p.ks.n, p.D);
          if (p.local_bias) v += p.local_bias[h * (2 * r + 1) + (j - i + r)];
          s[j] = v;
        }
        for (int64_t m = 0; m < G; ++m) {
          const bool ok = qvalid && (!p.global_valid || p.global_valid[b * G + m]);
          if (!ok) {
            s[N + m] = kExcluded;
            continue;
          }
          double v = p.scale * dot(q, p.gk + b * p.gks.b + h * p.gks.h + m * p.gks.n, p.D);
          if (p.global_bias) v += p.global_bias[h * (2 * G + 1) + (m - p.block_ids[b * N + i] + G)];
          s[N + m] = v;
        }
        softmax_row(s, row);
      }
}

void block_global_attention_weights(const BlockGlobalAttentionParams& p, float* weights) {
  const int64_t N = p.N, g = p.block, nb = N / g, cols = N + nb;
  if (nb == 0) return;
  auto block_of = [&](int64_t i) { return std::min<int64_t>(i / g, nb - 1); };
  std::vector<double> s(static_cast<size_t>(cols));
  for (int64_t bh = 0; bh < p.B * p.H; ++bh)
    for (int64_t i = 0; i < N; ++i) {
      const float* q = p.q + (bh * N + i) * p.D;
      for (int64_t j = 0; j < N; ++j)
        s[j] = block_of(j) == block_of(i) ? p.scale * dot(q, p.k + (bh * N + j) * p.D, p.D) : kExcluded;
      for (int64_t c = 0; c < nb; ++c)
        s[N + c] = c == block_of(i) ? p.scale * dot(q, p.gk + (bh * nb + c) * p.D, p.D) : kExcluded;
      softmax_row(s, weights + (bh * N + i) * cols);
    }
}

}  // namespace ga
