// NEON backend (AArch64): 4 float lanes, 32 q registers. Compiled only into isa_neon.cc.
#pragma once
#include <arm_neon.h>
#include <cstdint>

namespace ga {

struct VecNeon {
  using R = float32x4_t;
  static constexpr int W = 4;
  static constexpr const char* kName = "neon";
  static constexpr bool kHasScalef = false;  // exp2.h
  static constexpr int kQkKeys = 8;          // 8 keys x 3 vectors = 24 accumulators of 32 registers
  static constexpr int kQkVecs = 3;
  static constexpr int kPvRows = 6;  // 6 rows x 4 vectors = 24 accumulators
  static constexpr int kPvVecs = 4;
  static constexpr int kGemmRows = 8;  // GEMM register tile 8 rows x 3 vectors (8x12): 24 accumulators
  static constexpr int kGemmVecs = 3;

  static inline R zero() { return vdupq_n_f32(0.f); }
  static inline R set1(float x) { return vdupq_n_f32(x); }
  static inline R load(const float* p) { return vld1q_f32(p); }
  static inline void store(float* p, R x) { vst1q_f32(p, x); }
  static inline R load_partial(const float* p, int n) {
    float t[4] = {0.f, 0.f, 0.f, 0.f};
    for (int i = 0; i < n && i < 4; ++i) t[i] = p[i];
    return vld1q_f32(t);
  }
  static inline void store_partial(float* p, R x, int n) {
    float t[4];
    vst1q_f32(t, x);
    for (int i = 0; i < n && i < 4; ++i) p[i] = t[i];
  }
  static inline R add(R a, R b) { return vaddq_f32(a, b); }
  static inline R sub(R a, R b) { return vsubq_f32(a, b); }
  static inline R mul(R a, R b) { return vmulq_f32(a, b); }
  static inline R fmadd(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  static inline R max(R a, R b) { return vmaxq_f32(a, b); }
  static inline R min(R a, R b) { return vminq_f32(a, b); }
  static inline R round_nearest(R x) { return vrndnq_f32(x); }
  static inline R pow2i(R n) {
    int32x4_t i = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(i, 23));
  }
  static inline R zero_if_below(R keep, float lo, R x) {
    uint32x4_t m = vcgeq_f32(keep, vdupq_n_f32(lo));
    return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(x)));
  }
  // Four sums at once, out[i] = sum of lanes of x_i: the decode kernel scores four keys per
  // reduction (kernels/decode_attention_impl.h). Each lane's order is fixed, so the sum of x
  // alone is hsum4(x, x, x, x)[0] bit for bit.
  static inline void hsum4(R a, R b, R c, R d, float* out) {
    vst1q_f32(out, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)));
  }
  // W 16-bit cache values widened to float32: bfloat16 is the high half of a float32 (shift left
  // long); float16 converts exactly (fcvtl). The _partial forms read n < W values, rest 0.
  static inline R load_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
  static inline R load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static inline uint16x4_t load_u16_partial(const uint16_t* p, int n) {
    uint16_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n && i < 4; ++i) t[i] = p[i];
    return vld1_u16(t);
  }
  static inline R load_bf16_partial(const uint16_t* p, int n) {
    return vreinterpretq_f32_u32(vshll_n_u16(load_u16_partial(p, n), 16));
  }
  static inline R load_f16_partial(const uint16_t* p, int n) {
    return vcvt_f32_f16(vreinterpret_f16_u16(load_u16_partial(p, n)));
  }
  // x[r] lane c -> x[c] lane r: the 4 x 4 tile transposed in registers (FlashBlock::begin packs
  // Q this way).
  static inline void transpose(R (&x)[W]) {
    const float32x4x2_t t01 = vtrnq_f32(x[0], x[1]);  // val[0]: r0[0] r1[0] r0[2] r1[2]
    const float32x4x2_t t23 = vtrnq_f32(x[2], x[3]);
    x[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
    x[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
    x[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
    x[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
  }
  static inline float hsum(R x) { return vaddvq_f32(x); }
  static inline float hmax(R x) { return vmaxvq_f32(x); }
  // W floats narrowed to float16 / bfloat16 (widening: load_f16 / load_bf16 above; kernels/half.h's rules: widening
  // exact, narrowing rounds to nearest even (FPCR's default mode), NaN stays NaN).
  static inline void store_f16(uint16_t* p, R x) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(x))); }
  static inline void store_bf16(uint16_t* p, R x) {
    const uint32x4_t u = vreinterpretq_u32_f32(x);
    const uint32x4_t odd = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    const uint32x4_t r = vshrq_n_u32(vaddq_u32(u, vaddq_u32(odd, vdupq_n_u32(0x7fff))), 16);
    const uint32x4_t q = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40));  // NaN: quiet
    const uint32x4_t ok = vceqq_f32(x, x);                                  // all ones unless NaN
    vst1_u16(p, vmovn_u32(vbslq_u32(ok, r, q)));
  }
};

}  // namespace ga
