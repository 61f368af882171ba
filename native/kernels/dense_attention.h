// Dense multi-head attention (docs/ARCHITECTURE.md §1.1): the plain-C++ description of one call.
// No N-API here: the binding fills this struct after validating every argument.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>

namespace ga {

// Element strides of a [B, heads, rows, D] tensor whose last dim is contiguous. Covers both
// the [B,H,N,D] layout (h = N*D, n = D) and Hugging Face's [B,N,H,D] (h = D, n = H*D).
struct Strides {
  int64_t b = 0, h = 0, n = 0;
  static Strides bhnd(int64_t heads, int64_t rows, int64_t d) { return {heads * rows * d, rows * d, d}; }
  static Strides bnhd(int64_t heads, int64_t rows, int64_t d) { return {heads * rows * d, d, heads * d}; }
};

struct DenseAttentionParams {
  const float* q = nullptr;  // [B, H, Nq, D]
  const float* k = nullptr;  // [B, Hk, Nk, D]
  const float* v = nullptr;  // [B, Hk, Nk, Dv]
  float* out = nullptr;      // [B, H, Nq, Dv]
  Strides qs, ks, vs, os;    // element strides of q, k, v, out
  int64_t B = 0, H = 0, Hk = 0, Nq = 0, Nk = 0, D = 0, Dv = 0;
  float scale = 1.f;
  bool causal = false;                // key j allowed iff j <= i + offset (offset: see diagonal())
  const uint8_t* key_mask = nullptr;  // optional [B, Nk], nonzero = attend
  // Optional additive bias: bias[b*s0 + h*s1 + i*s2 + j*s3]. Strides may be 0 (broadcast) or
  // negative: a relative-position table T[h][(i - j) + Nk - 1] is bias = T + Nk - 1 with
  // strides {0, Nq + Nk - 1, 1, -1}, so T5's relative bias needs no Nq x Nk tensor.
  const float* bias = nullptr;
  int64_t bias_stride[4] = {0, 0, 0, 0};
  // A second additive bias, indexed the same way and added after `bias`: attention()'s
  // relativeBias, T5 tables by distance (kernels/relative_bias.h) read through negative strides.
  const float* position_bias = nullptr;
  int64_t position_bias_stride[4] = {0, 0, 0, 0};
  int threads = 1;           // threads this call may use (already leased from the budget)
  bool allow_decode = true;  // few queries per head take the decode path (kernels/decode_attention.h)
  // A 16-bit key/value cache: k16/v16 (element strides ks/vs) instead of k/v, converted to float32
  // per tile by the decode kernel, which then runs such calls whatever Nq (0 = float32 k/v).
  int kv_format = 0;  // 0 float32, 1 float16, 2 bfloat16
  const uint16_t* k16 = nullptr;
  const uint16_t* v16 = nullptr;

  // float16 / bfloat16 q, k, v and out (the standard operator's 16-bit tensors; 0 = float32): the
  // prefill kernel reads q_half, k_half, v_half (element strides qs, ks, vs) instead of q, k, v,
  // widening rows as it loads them, and writes out_half (strides os) instead of out.
  int half_io = 0;  // 0 float32, 1 float16, 2 bfloat16
  const uint16_t* q_half = nullptr;
  const uint16_t* k_half = nullptr;
  const uint16_t* v_half = nullptr;
  uint16_t* out_half = nullptr;

  // ---- The standard operator's options (ONNX Attention). Defaults leave the above unchanged. ----
  // softcap > 0: every score s = scale * q.k becomes softcap * tanh(s / softcap), before the bias
  // and the masks are applied (the operator's order, so excluded keys stay excluded).
  float softcap = 0.f;
  // The diagonal p = i + offset that causal and the window use. kDefaultOffset means Nk - Nq
  // (bottom-right); causal_offsets [B] (when set) gives one offset per batch instead.
  static constexpr int64_t kDefaultOffset = std::numeric_limits<int64_t>::min();
  int64_t causal_offset = kDefaultOffset;
  const int32_t* causal_offsets = nullptr;
  // Sliding window: key j allowed iff p - window_left <= j <= p + window_right; kOpen = no limit.
  static constexpr int64_t kOpen = std::numeric_limits<int64_t>::max();
  int64_t window_left = kOpen, window_right = kOpen;
  // Valid keys per batch [B] (ONNX nonpad_kv_seqlen): keys j >= key_lengths[b] are excluded.
  const int32_t* key_lengths = nullptr;
  // Optional output [B, H, Nq]: each row's log-sum-exp of its admissible scores (natural log;
  // -inf for a row with no admissible key), so partial attentions can be merged.
  float* lse = nullptr;

  bool has_window() const { return window_left != kOpen || window_right != kOpen; }
  // Batch b's diagonal offset.
  int64_t diagonal(int64_t b) const {
    if (causal_offsets) return causal_offsets[b];
    return causal_offset == kDefaultOffset ? Nk - Nq : causal_offset;
  }
  // Query i of batch b may attend keys [lo, hi] (empty when lo > hi), before the key mask and
  // the bias. Saturating: offsets and window sizes may be huge.
  void key_range(int64_t b, int64_t i, int64_t& lo, int64_t& hi) const {
    const int64_t klen = key_lengths ? key_lengths[b] : Nk;
    lo = 0;
    hi = klen - 1;
    if (!causal && !has_window()) return;
    const int64_t d = i + diagonal(b);  // |i|, |offset| < 2^40: no overflow
    if (window_left != kOpen) lo = std::max<int64_t>(lo, d - window_left);
    if (causal) hi = std::min<int64_t>(hi, d);
    if (window_right != kOpen) hi = std::min<int64_t>(hi, d + window_right);
  }
};

// Whether a call uses an option only the prefill kernel (dense_attention) implements: the
// standard operator's options above. Any other kernel that takes DenseAttentionParams (e.g. a
// decode kernel) must route such calls to dense_attention.
static inline bool needs_prefill_kernel(const DenseAttentionParams& p) {
  return p.softcap > 0.f || p.causal_offset != DenseAttentionParams::kDefaultOffset || p.causal_offsets ||
         p.has_window() || p.key_lengths || p.lse || p.position_bias || p.half_io != 0;
}

}  // namespace ga
