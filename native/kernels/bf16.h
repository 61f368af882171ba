// bfloat16 rounding shared by every reduced-precision kernel, native or emulated. One rounding
// rule everywhere, bit-identical to x86's vcvtneps2bf16 (and to ARM's BFCVT with FPCR.FZ set):
// round to nearest even; zeros and float32 subnormals become a zero of the same sign; infinities
// stay; NaN stays NaN (made quiet). So a product computed emulated (round, then multiply in
// float32, exact for two bfloat16 values) equals the native instruction's, and results of the
// emulated and native paths differ only by float32 accumulation order.
//
// ODR note: a class template over the vector type V like every kernel (kernels/gemm_impl.h), so
// each ISA translation unit gets its own copy.
#pragma once
#include <cstdint>
#include <cstring>

namespace ga {

template <class V>
struct Bf16 {
  static inline uint16_t from_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);         // +-0
    u += 0x7fffu + ((u >> 16) & 1u);  // carries into the exponent (up to infinity) as it should
    return static_cast<uint16_t>(u >> 16);
  }
  static inline float to_float(uint16_t h) {
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  // f rounded to the nearest bfloat16, as a float32.
  static inline float round(float f) { return to_float(from_float(f)); }

  // x rounded lane by lane (Fp16's interface; a member template so that Bf16<void> needs no V::R).
  template <class X = V>
  static inline typename X::R round_vec(typename X::R x) {
    alignas(64) float t[X::W];
    X::store(t, x);
    for (int i = 0; i < X::W; ++i) t[i] = round(t[i]);
    return X::load(t);
  }

  // dst[i] = round(src[i]) for n values (dst may equal src).
  static void round_row(const float* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = round(src[i]);
  }
  static void widen_row(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = to_float(src[i]);
  }
};

}  // namespace ga
