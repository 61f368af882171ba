// One LongT5 attention layer forward (TGlobal, local, or full T5 attention), as one native call:
// projections (GEMM), global block ids and aggregates, relative-bias tables, the fused attention
// kernel, and the output projection. Plain C++; dispatches each kernel to the active ISA.
#pragma once
#include <cstdint>

#include "ops/compute_precision.h"
#include "runtime/aligned_buffer.h"

namespace ga {

enum class LongT5Kind { kTransientGlobal, kLocal, kFull };

// The large per-forward buffers (q, k, v, context: B*N*H*d_kv floats each; the global tokens'
// aggregates and keys/values). A caller that runs many forwards (the model's encoder) keeps one
// and passes it in, so no forward maps and zero-fills fresh pages; buffers only grow.
struct LongT5LayerScratch {
  AlignedBuffer q, k, v, ctx, aggregates, gk, gv;
};

struct LongT5LayerParams {
  LongT5Kind kind = LongT5Kind::kTransientGlobal;
  int64_t B = 0, N = 0, d_model = 0, H = 0, d_kv = 0;
  int64_t local_radius = 0, global_block_size = 1;
  int32_t num_buckets = 32, max_distance = 128;
  float layer_norm_epsilon = 1e-6f;
  const float* hidden = nullptr;  // [B, N, d_model]
  const uint8_t* mask = nullptr;  // [B, N] 0/1, or nullptr = all tokens
  const float* wq = nullptr;      // [H*d_kv, d_model]
  const float* wk = nullptr;
  const float* wv = nullptr;
  const float* wo = nullptr;  // [d_model, H*d_kv]
  // The same weights packed once by gemm_pack_b (q/k/v in H groups of d_kv rows, o in one group):
  // used instead of wq..wo when set. The model packs at load; the standalone layer (one call per
  // forward with weights from JavaScript) leaves them null and gemm_abt packs per call.
  const float* wq_packed = nullptr;
  const float* wk_packed = nullptr;
  const float* wv_packed = nullptr;
  const float* wo_packed = nullptr;
  // Precision of the products. bf16/fp16: the projections by gemm_abt_bf16/_fp16 from wq..wo
  // (rounded per call) or from wq16..wo16 (the weights' rows in that type's bits, held by a 16-bit
  // model); the full-attention core by dense_attention_bf16/_fp16. The TGlobal and local cores stay
  // float32 (no reduced-precision kernel for them yet).
  ComputePrecision precision = ComputePrecision::kFp32;
  const uint16_t* wq16 = nullptr;  // [H*d_kv, d_model]
  const uint16_t* wk16 = nullptr;
  const uint16_t* wv16 = nullptr;
  const uint16_t* wo16 = nullptr;  // [d_model, H*d_kv]
  // The same 16-bit weights packed once by gemm_pack_b16 (q/k/v in H groups of d_kv rows, o in one
  // group; a 16-bit model's form): used instead of wq16..wo16 when set.
  const uint16_t* wq16_packed = nullptr;
  const uint16_t* wk16_packed = nullptr;
  const uint16_t* wv16_packed = nullptr;
  const uint16_t* wo16_packed = nullptr;
  const float* rel_bias = nullptr;            // [num_buckets, H]
  const float* global_rel_bias = nullptr;     // [num_buckets, H] (TGlobal)
  const float* global_norm_weight = nullptr;  // [d_model] (TGlobal)
  float* out = nullptr;                       // [B, N, d_model]
  bool accumulate_out = false;                // out += the layer's output (the model's residual add)
  LongT5LayerScratch* scratch = nullptr;      // reused buffers; nullptr: allocated (and freed) per call
  int threads = 1;
};

// dst[b, h] = x[b] · W[h*D:(h+1)*D]ᵀ for x [B, rows, C] and W [H*D, C]: the head-major
// [B, H, rows, D] layout the attention kernels stream fastest (each head's keys contiguous).
void project_heads(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, int64_t H, int64_t D, float* dst,
                   int threads);
// The same with W packed by gemm_pack_b in H groups of D rows: one product per batch row b.
void project_heads_packed(const float* x, int64_t B, int64_t rows, int64_t C, const float* w_packed, int64_t H,
                          int64_t D, float* dst, int threads);

// The same with products in precision p (not kFp32): W as float32 rows (w) or as rows of p's
// 16-bit type (w16). One product over all heads, then a copy into the head-major layout.
void project_heads_reduced(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, const uint16_t* w16,
                           int64_t H, int64_t D, float* dst, ComputePrecision p, int threads);

// The same with W packed by gemm_pack_b16 in H groups of D rows, products in precision p (not kFp32).
void project_heads_packed16(const float* x, int64_t B, int64_t rows, int64_t C, const uint16_t* w16_packed, int64_t H,
                            int64_t D, float* dst, ComputePrecision p, int threads);

// Throws std::bad_alloc when scratch (4 x B*N*H*d_kv floats plus global tensors) can't be had
// (a p.scratch that could not grow keeps its old buffers or none; its contents are undefined).
void longt5_layer_forward(const LongT5LayerParams& p);

}  // namespace ga
