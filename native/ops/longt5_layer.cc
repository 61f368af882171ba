#include "ops/longt5_layer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "dispatch/dispatch.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"
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

void project_heads_packed16(const float* x, int64_t B, int64_t rows, int64_t C, const uint16_t* w16_packed, int64_t H,
                            int64_t D, float* dst, ComputePrecision p, int threads) {
  for (int64_t b = 0; b < B; ++b) {
    GemmPacked16Params g;
    g.g.a = x + b * rows * C;
    g.g.lda = C;
    g.b16_packed = w16_packed;
    g.g.b_group_n = D;
    g.g.c_group_stride = rows * D;  // head h's [rows, D] block
    g.g.c = dst + b * H * rows * D;
    g.g.ldc = D;
    g.g.M = rows;
    g.g.N = H * D;
    g.g.K = C;
    g.g.threads = threads;
    gemm_abt_reduced_packed(p, g);
  }
}

void project_heads_reduced(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, const uint16_t* w16,
                           int64_t H, int64_t D, float* dst, ComputePrecision p, int threads) {
  const int64_t M = B * rows, HD = H * D;
  if (M == 0 || HD == 0) return;
  // The reduced GEMMs take plain rows and no column groups: one product for all heads (A rounded
  // once, not once per head) into token-major rows, then each head's columns to their block.
  AlignedBuffer tmp(static_cast<size_t>(M * HD));
  GemmBf16Params g;
  g.g.a = x;
  g.g.lda = C;
  g.g.b = w16 ? nullptr : w;
  g.b16 = w16;
  g.g.ldb = C;
  g.g.c = tmp.data();
  g.g.ldc = HD;
  g.g.M = M;
  g.g.N = HD;
  g.g.K = C;
  g.g.threads = threads;
  gemm_abt_reduced(p, g);
  const float* t = tmp.data();
  parallel_items(B * H, threads, [&](int, ItemCounter& it) {
    int64_t bh;
    while (it.next(bh)) {
      const int64_t b = bh / H, h = bh % H;
      for (int64_t i = 0; i < rows; ++i)
        std::memcpy(dst + (bh * rows + i) * D, t + (b * rows + i) * HD + h * D, static_cast<size_t>(D) * sizeof(float));
    }
  });
}

namespace {
// b's storage, grown to at least n floats (contents undefined).
float* at_least(AlignedBuffer& b, size_t n) {
  if (b.size() < n) b.resize(n);
  return b.data();
}

// x [B, rows, C] projected by an attention weight (packed, plain or 16-bit) into head-major dst.
void project(const LongT5LayerParams& p, const float* x, int64_t rows, const float* w, const float* w_packed,
             const uint16_t* w16, const uint16_t* w16_packed, float* dst) {
  const int64_t B = p.B, C = p.d_model, H = p.H, D = p.d_kv;
  if (p.precision != ComputePrecision::kFp32 && w16_packed)
    project_heads_packed16(x, B, rows, C, w16_packed, H, D, dst, p.precision, p.threads);
  else if (p.precision != ComputePrecision::kFp32)
    project_heads_reduced(x, B, rows, C, w, w16, H, D, dst, p.precision, p.threads);
  else if (w_packed) project_heads_packed(x, B, rows, C, w_packed, H, D, dst, p.threads);
  else project_heads(x, B, rows, C, w, H, D, dst, p.threads);
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
  project(p, p.hidden, N, p.wq, p.wq_packed, p.wq16, p.wq16_packed, q);
  project(p, p.hidden, N, p.wk, p.wk_packed, p.wk16, p.wk16_packed, k);
  project(p, p.hidden, N, p.wv, p.wv_packed, p.wv16, p.wv16_packed, v);

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
    if (p.precision == ComputePrecision::kBf16) dense_attention_bf16(d);
    else if (p.precision == ComputePrecision::kFp16) dense_attention_fp16(d);
    else dense_attention(d);
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
      project(p, aggregates, G, p.wk, p.wk_packed, p.wk16, p.wk16_packed, gk);
      project(p, aggregates, G, p.wv, p.wv_packed, p.wv16, p.wv16_packed, gv);
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
    if (p.precision == ComputePrecision::kBf16) tglobal_attention_bf16(t);
    else if (p.precision == ComputePrecision::kFp16) tglobal_attention_fp16(t);
    else tglobal_attention(t);
  }

  // The output projection: one set of shapes, three weight forms (16-bit packed, 16-bit or
  // float32 rows rounded per call, float32).
  GemmParams o;
  o.a = ctx;
  o.lda = HD;
  o.ldb = HD;
  o.c = p.out;
  o.ldc = C;
  o.M = B * N;
  o.N = C;
  o.K = HD;
  o.accumulate = p.accumulate_out;
  o.threads = p.threads;
  if (p.precision != ComputePrecision::kFp32 && p.wo16_packed) {
    GemmPacked16Params r;
    r.g = o;
    r.b16_packed = p.wo16_packed;
    gemm_abt_reduced_packed(p.precision, r);
    return;
  }
  if (p.precision != ComputePrecision::kFp32) {
    GemmBf16Params r;
    r.g = o;
    r.g.b = p.wo16 ? nullptr : p.wo;
    r.b16 = p.wo16;
    gemm_abt_reduced(p.precision, r);
    return;
  }
  o.b = p.wo;
  o.b_packed = p.wo_packed;
  gemm_abt(o);
}

}  // namespace ga
