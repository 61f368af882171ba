// float16 (IEEE binary16) and bfloat16 <-> float32, scalar and exact: half -> float is exact,
// float -> half rounds to nearest, ties to even (overflow to +-Inf, NaN stays a quiet NaN).
// The scalar backend (simd/vec_scalar.h) converts with these; the SIMD backends follow the same
// rules (kernels/half_convert.h).
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

namespace ga {

inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  uint32_t bits;
  if (e == 0) {
    const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (e == 31) {
    bits = sign | 0x7f800000u | (m << 13);
  } else {
    bits = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_half(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint32_t sign = (bits >> 16) & 0x8000;
  const int32_t exp = static_cast<int32_t>((bits >> 23) & 0xff);
  const uint32_t mant = bits & 0x7fffff;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
  const int32_t e = exp - 112;  // rebias 127 -> 15
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  if (e <= 0) {  // subnormal half: m * 2^-24
    if (e < -10) return static_cast<uint16_t>(sign);
    const uint32_t full = mant | 0x800000;
    const int shift = 14 - e;
    uint32_t h = full >> shift;
    const uint32_t rem = full & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;  // a carry into the exponent is still right
  return static_cast<uint16_t>(sign | h);
}

inline float bfloat16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_bfloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffff)) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

// float32 value of every binary16 pattern (256 KiB, built once, thread-safe): a table lookup is
// several times faster than the branches of half_to_float.
inline const float* half_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = half_to_float(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

// n values; bf16 picks bfloat16 over float16.
inline void halves_to_floats(const uint16_t* src, int64_t n, bool bf16, float* dst) {
  if (bf16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bfloat16_to_float(src[i]);
    return;
  }
  const float* t = half_table();
  for (int64_t i = 0; i < n; ++i) dst[i] = t[src[i]];
}

inline void floats_to_halves(const float* src, int64_t n, bool bf16, uint16_t* dst) {
  if (bf16)
    for (int64_t i = 0; i < n; ++i) dst[i] = float_to_bfloat16(src[i]);
  else
    for (int64_t i = 0; i < n; ++i) dst[i] = float_to_half(src[i]);
}

}  // namespace ga
