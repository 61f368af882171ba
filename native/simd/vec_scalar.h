// Scalar "vector" of width 1: the portable reference backend. Every kernel template compiles
// against it, so the scalar path is the same algorithm as the SIMD ones, one lane wide.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/half.h"

namespace ga {

struct VecScalar {
  using R = float;
  static constexpr int W = 1;
  static constexpr const char* kName = "scalar";
  static constexpr bool kHasScalef = false;  // exp2.h
  // Micro-kernel tile shapes (see kernels/dense_attention_impl.h).
  static constexpr int kQkKeys = 4;    // keys per QK micro-tile
  static constexpr int kQkVecs = 4;    // query vectors per QK micro-tile
  static constexpr int kPvRows = 4;    // query rows per PV micro-tile
  static constexpr int kPvVecs = 4;    // output vectors per PV micro-tile
  static constexpr int kGemmRows = 4;  // GEMM register tile: 4 rows x 4 vectors (16 accumulators)
  static constexpr int kGemmVecs = 4;

  static inline R zero() { return 0.f; }
  static inline R set1(float x) { return x; }
  static inline R load(const float* p) { return *p; }
  static inline void store(float* p, R x) { *p = x; }
  static inline R load_partial(const float* p, int n) { return n > 0 ? *p : 0.f; }
  static inline void store_partial(float* p, R x, int n) {
    if (n > 0) *p = x;
  }
  static inline R add(R a, R b) { return a + b; }
  static inline R sub(R a, R b) { return a - b; }
  static inline R mul(R a, R b) { return a * b; }
  // Plain multiply-add: baseline x86-64 has no FMA instruction and std::fma would be a
  // library call.
  static inline R fmadd(R a, R b, R c) { return a * b + c; }
  static inline R max(R a, R b) { return a > b ? a : (b != b ? b : (a != a ? a : b)); }
  static inline R min(R a, R b) { return a < b ? a : b; }
  static inline R round_nearest(R x) { return std::nearbyint(x); }
  // 2^n for integral-valued n in [-127, 127] (-127 gives +0). Clamped first, so a NaN or huge n
  // (non-finite scores) never reaches a float-to-int conversion out of range, which is UB.
  static inline R pow2i(R n) {
    if (n != n) return n;
    if (n > 128.f) n = 128.f;
    if (n < -127.f) n = -127.f;
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    float r;
    std::memcpy(&r, &bits, 4);
    return r;
  }
  // x where keep >= lo, else 0.
  static inline R zero_if_below(R keep, float lo, R x) { return keep >= lo ? x : 0.f; }
  // The decode kernel's four-key reduction and 16-bit cache loads (see vec_avx512.h).
  static inline void hsum4(R a, R b, R c, R d, float* out) {
    out[0] = a;
    out[1] = b;
    out[2] = c;
    out[3] = d;
  }
  static inline R load_bf16(const uint16_t* p) { return bfloat16_to_float(*p); }
  static inline R load_f16(const uint16_t* p) { return half_to_float(*p); }
  static inline R load_bf16_partial(const uint16_t* p, int n) { return n > 0 ? bfloat16_to_float(*p) : 0.f; }
  static inline R load_f16_partial(const uint16_t* p, int n) { return n > 0 ? half_to_float(*p) : 0.f; }
  // A W x W tile transposed in registers (FlashBlock::begin): one lane, nothing moves.
  static inline void transpose(R (&)[W]) {}
  static inline float hsum(R x) { return x; }
  static inline float hmax(R x) { return x; }
  // One float16 / bfloat16 value <-> float (kernels/half.h).
  static inline void store_f16(uint16_t* p, R x) { *p = float_to_half(x); }
  static inline void store_bf16(uint16_t* p, R x) { *p = float_to_bfloat16(x); }
};

}  // namespace ga
