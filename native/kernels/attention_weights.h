// The attention probabilities themselves, for users who ask for them (options.returnWeights) and
// for pictures. They are an N x N-sized result by nature, so this is a plain scalar pass over the
// same parameters the fused kernels take, run only on request.
#pragma once
#include "kernels/dense_attention.h"
#include "kernels/tglobal_attention.h"

namespace ga {

// The stages of the standard operator's score output (ONNX qk_matmul_output_mode 0..3).
enum class ScoreStage { kMatmul = 0, kSoftcapped = 1, kMasked = 2, kSoftmax = 3 };

// scores [B, H, Nq, Nk] at `stage`: kMatmul scale * q.k; kSoftcapped after the softcap (the same
// when there is none); kMasked after the bias and the masks (excluded keys -inf); kSoftmax the
// probabilities (rows with no admissible key are 0).
void dense_attention_scores(const DenseAttentionParams& p, ScoreStage stage, float* scores);
// The probabilities: dense_attention_scores(p, ScoreStage::kSoftmax, weights).
void dense_attention_weights(const DenseAttentionParams& p, float* weights);
// weights [B, H, N, N + G]: columns [0, N) local keys (0 outside the window), [N, N + G) globals.
void tglobal_attention_weights(const TGlobalAttentionParams& p, float* weights);
// weights [B, H, N, N + nb]: columns [0, N) tokens of the own block, [N, N + nb) block globals.
void block_global_attention_weights(const BlockGlobalAttentionParams& p, float* weights);

}  // namespace ga
