// The attention probabilities themselves, for users who ask for them (options.returnWeights) and
// for pictures. They are an N x N-sized result by nature, so this is a plain scalar pass over the
// same parameters the fused kernels take, run only on request.
#pragma once
#include "kernels/dense_attention.h"
#include "kernels/tglobal_attention.h"

namespace ga {

// weights [B, H, Nq, Nk]; rows with no admissible key are 0.
void dense_attention_weights(const DenseAttentionParams& p, float* weights);
// weights [B, H, N, N + G]: columns [0, N) local keys (0 outside the window), [N, N + G) globals.
void tglobal_attention_weights(const TGlobalAttentionParams& p, float* weights);
// weights [B, H, N, N + nb]: columns [0, N) tokens of the own block, [N, N + nb) block globals.
void block_global_attention_weights(const BlockGlobalAttentionParams& p, float* weights);

}  // namespace ga
