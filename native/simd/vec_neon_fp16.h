// ARM FP16 backend (FEAT_FHM, Armv8.4; optional from Armv8.2): VecNeon's float32 operations plus
// the 16-bit pair operations of the native reduced-precision kernels (simd/vec_avx512bf16.h has
// the contract), here with float16 halves. The dot-pair is FMLAL + FMLAL2 (vfmlalq_low_f16 /
// vfmlalq_high_f16): each multiplies float16 values exactly and adds the product to a float32
// lane with one rounding, so a pair adds its first product, then its second, to the lane — the
// float32 FMA sequence the emulated kernels run on float16-rounded operands.
//
// Register layout of P (W = 4 pairs in 8 halves): the pairs' first halves in halves 0..3, their
// second halves in halves 4..7, because FMLAL reads halves 0..3 and FMLAL2 halves 4..7 of the
// same lanes. Memory keeps the contract's interleaved pairs (first, second, first, ...): loads
// de-interleave (LD2) and stores interleave (ST2), so every kernel's buffers are laid out as for
// bfloat16. Conversions are FCVTN / FCVTL, which implement kernels/fp16.h's rule (round to nearest
// even, float16 subnormals kept, NaN quiet) under the default FPCR (tests/test_fp16_vector.cc).
// Compiled only into isa_neonfp16.cc; chosen only where hwcaps report ASIMDFHM.
#pragma once
#include <arm_neon.h>
#include <cstdint>

#include "kernels/fp16.h"
#include "simd/vec_neon.h"

namespace ga {

struct VecNeonFp16 : VecNeon {
  static constexpr const char* kName = "neonfp16";
  using Half = Fp16<VecNeonFp16>;  // the scalar rule the native kernels' tails use
  using P = uint16x8_t;            // W = 4 pairs: first halves in 0..3, second halves in 4..7
  static inline P load_pairs(const uint16_t* p) {
    const uint16x4x2_t d = vld2_u16(p);
    return vcombine_u16(d.val[0], d.val[1]);
  }
  static inline void store_pairs(uint16_t* p, P x) {
    uint16x4x2_t d;
    d.val[0] = vget_low_u16(x);
    d.val[1] = vget_high_u16(x);
    vst2_u16(p, d);
  }
  static inline P set1_pair(const uint16_t* p) { return vcombine_u16(vld1_dup_u16(p), vld1_dup_u16(p + 1)); }
  static inline R dot_pairs(R acc, P a, P b) {
    const float16x8_t ah = vreinterpretq_f16_u16(a), bh = vreinterpretq_f16_u16(b);
    return vfmlalq_high_f16(vfmlalq_low_f16(acc, ah, bh), ah, bh);
  }
  static inline uint16x4_t narrow(R x) { return vreinterpret_u16_f16(vcvt_f16_f32(x)); }
  // 2W values in memory order: lo's W, then hi's W. Stored pair i is (h[i], h[i+4]), so pair i
  // must hold values 2i and 2i+1: the even-indexed values go to halves 0..3, the odd to 4..7.
  static inline P cvt_contiguous(R lo, R hi) {
    const uint16x8_t c = vcombine_u16(narrow(lo), narrow(hi));
    return vcombine_u16(vget_low_u16(vuzp1q_u16(c, c)), vget_low_u16(vuzp2q_u16(c, c)));
  }
  static inline P cvt_interleaved(R even, R odd) { return vcombine_u16(narrow(even), narrow(odd)); }
  static inline R even_f32(P x) { return vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(x))); }
  static inline R odd_f32(P x) { return vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(x))); }
  // keep's low 16 bits mask the pairs' first halves, its high 16 bits their second halves.
  static inline P mask_pairs(P x, uint32_t keep) {
    const uint16x8_t m =
        vcombine_u16(vdup_n_u16(static_cast<uint16_t>(keep)), vdup_n_u16(static_cast<uint16_t>(keep >> 16)));
    return vandq_u16(x, m);
  }
};

}  // namespace ga
