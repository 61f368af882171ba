// Dense multi-head attention (docs/ARCHITECTURE.md §1.1): the plain-C++ description of one call.
// No N-API here: the binding fills this struct after validating every argument.
#pragma once
#include <cstdint>

namespace ga {

// Element strides of a [B, heads, rows, D] tensor whose last dim is contiguous. Covers both
// the [B,H,N,D] layout (h = N*D, n = D) and Hugging Face's [B,N,H,D] (h = D, n = H*D).
struct Strides {
  int64_t b = 0, h = 0, n = 0;
  static Strides bhnd(int64_t heads, int64_t rows, int64_t d) { return {heads * rows * d, rows * d, d}; }
  static Strides bnhd(int64_t heads, int64_t rows, int64_t d) { return {heads * rows * d, d, heads * d}; }
};

struct DenseAttentionParams {
  const float* q = nullptr;   // [B, H, Nq, D]
  const float* k = nullptr;   // [B, Hk, Nk, D]
  const float* v = nullptr;   // [B, Hk, Nk, Dv]
  float* out = nullptr;       // [B, H, Nq, Dv]
  Strides qs, ks, vs, os;     // element strides of q, k, v, out
  int64_t B = 0, H = 0, Hk = 0, Nq = 0, Nk = 0, D = 0, Dv = 0;
  float scale = 1.f;
  bool causal = false;        // bottom-right aligned: key j allowed iff j <= i + (Nk - Nq)
  const uint8_t* key_mask = nullptr;  // optional [B, Nk], nonzero = attend
  // Optional additive bias: bias[b*s0 + h*s1 + i*s2 + j*s3]. Strides may be 0 (broadcast) or
  // negative: a relative-position table T[h][(i - j) + Nk - 1] is bias = T + Nk - 1 with
  // strides {0, Nq + Nk - 1, 1, -1}, so T5's relative bias needs no Nq x Nk tensor.
  const float* bias = nullptr;
  int64_t bias_stride[4] = {0, 0, 0, 0};
  int threads = 1;            // threads this call may use (already leased from the budget)
  bool allow_decode = true;   // few queries per head take the decode path (kernels/decode_attention.h)
  // A 16-bit key/value cache: k16/v16 (element strides ks/vs) instead of k/v, converted to float32
  // per tile by the decode kernel, which then runs such calls whatever Nq (0 = float32 k/v).
  int kv_format = 0;          // 0 float32, 1 float16, 2 bfloat16
  const uint16_t* k16 = nullptr;
  const uint16_t* v16 = nullptr;
};

}  // namespace ga
