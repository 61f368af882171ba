// float16 / bfloat16 tensors <-> float32 (the standard operator's 16-bit inputs and outputs): the
// plain-C++ description of one conversion. Rules as kernels/half.h (widening exact, narrowing
// rounds to nearest even, NaN stays NaN); each ISA converts W values per instruction (F16C,
// AVX-512, NEON) on up to `threads` threads.
#pragma once
#include <cstdint>

namespace ga {

struct HalfConvertParams {
  bool bf16 = false;                // bfloat16 rather than float16
  bool to_float = true;             // src16 -> dst32; false: src32 -> dst16
  const uint16_t* src16 = nullptr;  // [n]
  float* dst32 = nullptr;           // [n]
  const float* src32 = nullptr;     // [n]
  uint16_t* dst16 = nullptr;        // [n]
  int64_t n = 0;
  int threads = 1;
};

}  // namespace ga
