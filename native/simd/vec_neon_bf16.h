// ARM BF16 backend (FEAT_BF16, Armv8.6; optional from Armv8.2): VecNeon's float32 operations plus
// the bfloat16 pair operations of the native bf16 kernels (see simd/vec_avx512bf16.h for the
// contract). The dot-pair is BFDOT (vbfdotq_f32: 4 lanes, each the sum of two bf16 products).
// Conversions use integer arithmetic, not BFCVT: BFCVT keeps float32 subnormals unless FPCR.FZ
// is set, and the one rounding rule of kernels/bf16.h (subnormals to zero) must hold on every
// path. Compiled only into isa_neonbf16.cc; chosen only where hwcaps report BF16.
// Rounding of BFDOT itself: without FEAT_EBF16 it rounds its sums to odd and flushes subnormals
// (not IEEE round-to-nearest), a float32-ulp difference covered by the tests' summation bounds.
#pragma once
#include <arm_neon.h>
#include <cstdint>
#include <cstring>

#include "kernels/bf16.h"
#include "simd/vec_neon.h"

namespace ga {

struct VecNeonBf16 : VecNeon {
  static constexpr const char* kName = "neonbf16";
  using Half = Bf16<VecNeonBf16>;  // the scalar rule the native kernels' tails use
  using P = uint32x4_t;            // W = 4 pairs of bfloat16
  static inline P load_pairs(const uint16_t* p) { return vreinterpretq_u32_u16(vld1q_u16(p)); }
  static inline void store_pairs(uint16_t* p, P x) { vst1q_u16(p, vreinterpretq_u16_u32(x)); }
  static inline P set1_pair(const uint16_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return vdupq_n_u32(v);
  }
  static inline R dot_pairs(R acc, P a, P b) {
    return vbfdotq_f32(acc, vreinterpretq_bf16_u32(a), vreinterpretq_bf16_u32(b));
  }
  // x rounded to bfloat16, kept in the upper 16 bits of each lane (kernels/bf16.h's rule).
  static inline uint32x4_t rounded_bits(R x) {
    const uint32x4_t u = vreinterpretq_u32_f32(x);
    const uint32x4_t is_nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffffu)), vdupq_n_u32(0x7f800000u));
    const uint32x4_t is_tiny = vceqq_u32(vandq_u32(u, vdupq_n_u32(0x7f800000u)), vdupq_n_u32(0));
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    const uint32x4_t rne = vaddq_u32(u, vaddq_u32(vdupq_n_u32(0x7fffu), lsb));
    const uint32x4_t nan = vorrq_u32(u, vdupq_n_u32(0x00400000u));
    const uint32x4_t zero = vandq_u32(u, vdupq_n_u32(0x80000000u));
    return vbslq_u32(is_nan, nan, vbslq_u32(is_tiny, zero, rne));
  }
  static inline P cvt_contiguous(R lo, R hi) {
    const uint16x8_t h = vcombine_u16(vshrn_n_u32(rounded_bits(lo), 16), vshrn_n_u32(rounded_bits(hi), 16));
    return vreinterpretq_u32_u16(h);
  }
  static inline P cvt_interleaved(R even, R odd) {
    return vorrq_u32(vshrq_n_u32(rounded_bits(even), 16), vandq_u32(rounded_bits(odd), vdupq_n_u32(0xffff0000u)));
  }
  static inline R even_f32(P x) { return vreinterpretq_f32_u32(vshlq_n_u32(x, 16)); }
  static inline R odd_f32(P x) { return vreinterpretq_f32_u32(vandq_u32(x, vdupq_n_u32(0xffff0000u))); }
  static inline P mask_pairs(P x, uint32_t keep) { return vandq_u32(x, vdupq_n_u32(keep)); }
};

}  // namespace ga
