// C = A · Bᵀ with bfloat16 products and float32 accumulation (precision 'bf16'): the layers'
// projections at twice the float32 rate where the CPU has bfloat16 dot products. Same shapes and
// strides as GemmParams (kernels/gemm.h); A and B are rounded to bfloat16 (kernels/bf16.h) on the
// way in, or arrive as bfloat16 already (a16 / b16, e.g. a checkpoint stored in bfloat16).
// gemm_abt_fp16 takes the same parameters with float16 in place of bfloat16 (kernels/fp16.h).
#pragma once
#include <cstdint>

#include "kernels/gemm.h"

namespace ga {

struct GemmBf16Params {
  GemmParams g;                   // a, b may be null where a16, b16 are given
  const uint16_t* a16 = nullptr;  // optional A as 16-bit patterns of the kernel's type [M, K], row stride g.lda
  const uint16_t* b16 = nullptr;  // optional B likewise [N, K], row stride g.ldb (bfloat16; float16 for gemm_abt_fp16)
};

}  // namespace ga
