// The probabilities of precision 'bf16' dense attention (options.returnWeights): softmax of the
// scores of bfloat16-rounded q·scale·log2(e) and k (kernels/bf16.h), in float32, as the bf16
// kernels compute them before P is itself rounded for P·V.
#pragma once
#include "kernels/dense_attention.h"

namespace ga {

// weights [B, H, Nq, Nk]; rows with no admissible key are 0. Throws std::bad_alloc.
void dense_attention_weights_bf16(const DenseAttentionParams& p, float* weights);
// The same for precision 'fp16' (float16 rounding, kernels/fp16.h).
void dense_attention_weights_fp16(const DenseAttentionParams& p, float* weights);

}  // namespace ga
