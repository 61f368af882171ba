// The compute precision of the layers and the model (options.precision, docs/precision.md): fp32,
// or products in bfloat16 / float16 with float32 accumulation (gemm_abt_bf16 / gemm_abt_fp16,
// dense_attention_bf16 / _fp16). Norms, softmax, activations and residuals stay float32.
// Also the one rounding rule for weights kept in 16 bits (the kernels' own, kernels/bf16.h and
// kernels/fp16.h), so a weight rounded once at load gives the products a per-call rounding gives.
#pragma once
#include <cstdint>

#include "dispatch/dispatch.h"
#include "kernels/bf16.h"
#include "kernels/fp16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_bf16_packed.h"

namespace ga {

enum class ComputePrecision { kFp32, kBf16, kFp16 };

// Bf16<V> / Fp16<V> do not use V (it only gives each ISA its own copy): void selects the plain-C++ one.
inline uint16_t round_to_16(ComputePrecision p, float x) {
  return p == ComputePrecision::kFp16 ? Fp16<void>::from_float(x) : Bf16<void>::from_float(x);
}
inline float widen_16(ComputePrecision p, uint16_t h) {
  return p == ComputePrecision::kFp16 ? Fp16<void>::to_float(h) : Bf16<void>::to_float(h);
}

// C (+)= A · Bᵀ with products in p's 16-bit type (p must not be kFp32).
inline void gemm_abt_reduced(ComputePrecision p, const GemmBf16Params& g) {
  if (p == ComputePrecision::kFp16) gemm_abt_fp16(g);
  else gemm_abt_bf16(g);
}
// The same with B packed once by gemm_pack_b16 (kernels/gemm_bf16_packed.h).
inline void gemm_abt_reduced_packed(ComputePrecision p, const GemmPacked16Params& g) {
  if (p == ComputePrecision::kFp16) gemm_abt_fp16_packed(g);
  else gemm_abt_bf16_packed(g);
}

}  // namespace ga
