#include "ops/longt5_layer.h"

#include <algorithm>
#include <vector>

#include "dispatch/dispatch.h"
#include "runtime/aligned_buffer.h"
#include "kernels/dense_attention.h"
#include "kernels/gemm.h"
#include "kernels/longt5_blocks.h"
#include "kernels/tglobal_attention.h"

namespace ga {

// Per-head GEMMs write the head-major layout directly, with no transpose pass.
void project_heads(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, int64_t H, int64_t D, float* dst,
                   int threads) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      GemmParams g;
      g.a = x + b * rows * C;
      g.lda = C;
      g.b = w + h * D * C;
      g.ldb = C;
      g.c = dst + (b * H + h) * rows * D;
      g.ldc = D;
      g.M = rows;
      g.N = D;
      g.K = C;
      g.threads = threads;
      gemm_abt(g);
    }
}

void project_heads_packed(const float* x, int64_t B, int64_t rows, int64_t C, const float* w_packed, int64_t H,
                          int64_t D, float* dst, int threads) {
  for (int64_t b = 0; b < B; ++b) {
    GemmParams g;
    g.a = x + b * rows * C;
    g.lda = C;
    g.b_packed = w_packed;
    g.b_group_n = D;
    g.c_group_stride = rows * D;  // head h's [rows, D] block
    g.c = dst + b * H * rows * D;
    g.ldc = D;
    g.M = rows;
    g.N = H * D;
    g.K = C;
    g.threads = threads;
    gemm_abt(g);
  }
}

namespace {
// b's storage, grown to at least n floats (contents undefined).
float* at_least(AlignedBuffer& b, size_t n) {
  if (b.size() < n) b.resize(n);
  return b.data();
}

// x [B, rows, C] projected by an attention weight, packed or not, into head-major dst.
void project(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, const float* w_packed, int64_t H,
             int64_t D, float* dst, int threads) {
  if (w_packed) project_heads_packed(x, B, rows, C, w_packed, H, D, dst, threads);
  else project_heads(x, B, rows, C, w, H, D, dst, threads);
}
}  // namespace

void longt5_layer_forward(const LongT5LayerParams& p) {
  const int64_t B = p.B, N = p.N, C = p.d_model, H = p.H, D = p.d_kv, HD = H * D;
  if (B == 0 || N == 0) return;
  std::vector<uint8_t> all_tokens;
  const uint8_t* mask = p.mask;
  if (!mask) {
    all_tokens.assign(static_cast<size_t>(B * N), 1);
    mask = all_tokens.data();
  }
  const size_t bnhd = static_cast<size_t>(B * N * HD);
  LongT5LayerScratch per_call;
  LongT5LayerScratch& s = p.scratch ? *p.scratch : per_call;
  float* q = at_least(s.q, bnhd);
  float* k = at_least(s.k, bnhd);
  float* v = at_least(s.v, bnhd);
  float* ctx = at_least(s.ctx, bnhd);
  project(p.hidden, B, N, C, p.wq, p.wq_packed, H, D, q, p.threads);
  project(p.hidden, B, N, C, p.wk, p.wk_packed, H, D, k, p.threads);
  project(p.hidden, B, N, C, p.wv, p.wv_packed, H, D, v, p.threads);

  if (p.kind == LongT5Kind::kFull) {
    // T5 relative bias as a per-head table by distance, T[h][(i - j) + N - 1], read through
    // negative strides (dense_attention.h): no N x N tensor.
    const int64_t len = 2 * N - 1;
    AlignedBuffer table(static_cast<size_t>(H * len));
    bias_by_distance(p.rel_bias, H, p.num_buckets, p.max_distance, len, N - 1, true, table.data());
    DenseAttentionParams d;
    d.q = q;
    d.k = k;
    d.v = v;
    d.out = ctx;
    d.B = B;
    d.H = H;
    d.Hk = H;
    d.Nq = N;
    d.Nk = N;
    d.D = D;
    d.Dv = D;
    d.qs = d.ks = d.vs = Strides::bhnd(H, N, D);
    d.os = Strides::bnhd(H, N, D);
    d.scale = 1.f;
    d.key_mask = mask;
    d.bias = table.data() + (N - 1);
    d.bias_stride[0] = 0;
    d.bias_stride[1] = len;
    d.bias_stride[2] = 1;
    d.bias_stride[3] = -1;
    d.threads = p.threads;
    dense_attention(d);
  } else {
    const bool global = p.kind == LongT5Kind::kTransientGlobal;
    const int64_t r = capped_radius(p.local_radius, N);
    const int64_t G = global ? N / p.global_block_size : 0;
    std::vector<int32_t> block_ids, segment_ids;
    std::vector<uint8_t> global_valid;
    AlignedBuffer gtable;
    TGlobalAttentionParams t;
    if (G > 0) {
      block_ids.resize(static_cast<size_t>(B * N));
      segment_ids.resize(static_cast<size_t>(B * G));
      global_block_ids(mask, B, N, p.global_block_size, block_ids.data(), segment_ids.data());
      global_valid.assign(segment_ids.begin(), segment_ids.end());
      float* aggregates = at_least(s.aggregates, static_cast<size_t>(B * G * C));
      global_aggregates(p.hidden, B, N, C, block_ids.data(), G, p.global_norm_weight, p.layer_norm_epsilon, aggregates);
      float* gk = at_least(s.gk, static_cast<size_t>(B * G * HD));
      float* gv = at_least(s.gv, static_cast<size_t>(B * G * HD));
      project(aggregates, B, G, C, p.wk, p.wk_packed, H, D, gk, p.threads);
      project(aggregates, B, G, C, p.wv, p.wv_packed, H, D, gv, p.threads);
      gtable.resize(static_cast<size_t>(H * (2 * G + 1)));
      bias_by_distance(p.global_rel_bias, H, p.num_buckets, p.max_distance, 2 * G + 1, G, false, gtable.data());
      t.gk = gk;
      t.gv = gv;
      t.gks = t.gvs = Strides::bhnd(H, G, D);
      t.block_ids = block_ids.data();
      t.global_valid = global_valid.data();
      t.global_bias = gtable.data();
    }
    AlignedBuffer ltable(static_cast<size_t>(H * (2 * r + 1)));
    bias_by_distance(p.rel_bias, H, p.num_buckets, p.max_distance, 2 * r + 1, r, false, ltable.data());
    t.q = q;
    t.k = k;
    t.v = v;
    t.out = ctx;
    t.qs = t.ks = t.vs = Strides::bhnd(H, N, D);
    t.os = Strides::bnhd(H, N, D);
    t.B = B;
    t.H = H;
    t.N = N;
    t.D = D;
    t.Dv = D;
    t.G = G;
    t.radius = r;
    t.scale = 1.f;
    t.mask = mask;
    t.local_bias = ltable.data();
    t.threads = p.threads;
    tglobal_attention(t);
  }

  GemmParams o;
  o.a = ctx;
  o.lda = HD;
  o.b = p.wo;
  o.ldb = HD;
  o.b_packed = p.wo_packed;
  o.c = p.out;
  o.ldc = C;
  o.M = B * N;
  o.N = C;
  o.K = HD;
  o.accumulate = p.accumulate_out;
  o.threads = p.threads;
  gemm_abt(o);
}

}  // namespace ga
