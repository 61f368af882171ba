// IEEE binary16 (float16) rounding for precision 'fp16' (kernels/bf16.h is its bfloat16
// counterpart, with the same interface, so the emulated kernels take either): round to nearest
// even, gradual underflow (float16 subnormals kept, as F16C's vcvtps2ph and ARM's FCVT do),
// overflow to infinity, NaN stays NaN (quiet). A product of two float16 values (11-bit
// significands) is exact in float32, so the emulated kernels compute what a float16 dot product
// accumulating in float32 computes, up to summation order.
//
// from_float / to_float are the rule in plain C++; the row and vector forms use V's conversions
// (V::store_f16 / V::load_f16: F16C's vcvtps2ph / vcvtph2ps, NEON's FCVTN / FCVTL, the scalar
// backend's kernels/half.h), which implement the same rule bit for bit (tests/test_fp16_vector.cc)
// except that widening quiets a signalling NaN, which only ever enters products (quieted there
// anyway): so the emulated fp16 kernels do not widen or round one value at a time through branches.
//
// ODR note: a class template over V (kernels/bf16.h); Fp16<void> (ops/compute_precision.h) may use
// only from_float / to_float / round.
#pragma once
#include <cstdint>
#include <cstring>

namespace ga {

template <class V>
struct Fp16 {
  static inline uint16_t from_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // quiet NaN
    if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 2^16: infinity
    if (a >= 0x38800000u) {                // normal float16: rebias the exponent, round 13 bits away
      const uint32_t r = a - 0x38000000u;  // exponent - 112
      return static_cast<uint16_t>(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
    }
    if (a < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal: 0
    // Subnormal float16: value = m · 2^-24, m = significand (with its leading 1) >> shift, rounded.
    const uint32_t e = a >> 23;  // 102 .. 112
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;  // 14 .. 24
    const uint32_t half = 1u << (shift - 1);
    const uint32_t rest = m & ((1u << shift) - 1u);
    uint32_t q = m >> shift;
    if (rest > half || (rest == half && (q & 1u))) ++q;  // may carry into the smallest normal: fine
    return static_cast<uint16_t>(sign | q);
  }
  static inline float to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t u;
    if (e == 0x1f) u = sign | 0x7f800000u | (m << 13);
    else if (e != 0) u = sign | ((e + 112u) << 23) | (m << 13);
    else if (m == 0) u = sign;
    else {  // subnormal: normalise
      uint32_t ee = 113, mm = m;
      while (!(mm & 0x400u)) {
        mm <<= 1;
        --ee;
      }
      u = sign | (ee << 23) | ((mm & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  static inline float round(float f) { return to_float(from_float(f)); }

  // x rounded lane by lane (a member template so that Fp16<void> needs no V::R).
  template <class X = V>
  static inline typename X::R round_vec(typename X::R x) {
    alignas(64) uint16_t t[X::W];
    X::store_f16(t, x);
    return X::load_f16(t);
  }
  // dst[i] = round(src[i]) for n values (dst may equal src).
  static void round_row(const float* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + V::W <= n; i += V::W) V::store(dst + i, round_vec(V::load(src + i)));
    for (; i < n; ++i) dst[i] = round(src[i]);
  }
  static void widen_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + V::W <= n; i += V::W) V::store(dst + i, V::load_f16(src + i));
    for (; i < n; ++i) dst[i] = to_float(src[i]);
  }
};

}  // namespace ga
