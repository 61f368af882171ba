// The T5 model's small elementwise steps (plain C++, baseline flags; the matrix products go
// through the dispatched GEMM): token embedding lookup, T5's RMS layer norm, and the
// feed-forward activations. Row ranges let callers split the work across threads.
#pragma once
#include <cstdint>

namespace ga {

// out[i, :] = table[ids[i], :] for i in [0, n); ids must lie in [0, vocab) (checked by callers).
void embedding_gather(const float* table, int64_t C, const int32_t* ids, int64_t n, float* out);

// T5 / LongT5LayerNorm on rows [r0, r1) of x [*, C]: out = w * x / sqrt(mean(x²) + eps) (no mean
// subtraction, no bias; the mean and the scaling in double). scale multiplies the result (the
// tied lm_head's d_model^-0.5; 1 otherwise). out may equal x.
void rms_norm_rows(const float* x, int64_t C, const float* w, float eps, float scale, int64_t r0, int64_t r1,
                   float* out);

// Feed-forward activation in place on n values: relu, or gelu_new (HF's tanh approximation,
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³)))); gate (optional) multiplies afterwards:
// x[i] = act(x[i]) * gate[i] (HF's gated FF: act(wi_0 x) * (wi_1 x)).
enum class FfActivation { kRelu, kGeluNew };
void ff_activation(float* x, const float* gate, int64_t n, FfActivation act);

}  // namespace ga
