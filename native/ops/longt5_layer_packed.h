// One LongT5 layer forward over a packed batch: hidden [T, d_model] holds the tokens of `seqs`
// sequences back to back, sequence s being rows [seq_starts[s], seq_starts[s+1]). Each sequence's
// rows get the same bits as longt5_layer_forward on that sequence alone (B = 1, no mask), but
// the work of all sequences is shared out in three parallel regions (projections, attention,
// output projection) whose items are row chunks and query blocks of every sequence, longest
// first: threads balance by tokens, not by sequence, and no region waits on one short sequence.
#pragma once
#include <cstdint>

#include "ops/longt5_layer.h"

namespace ga {

// p.B must be 1 and p.N = T; p.mask must be null; precision fp32; d_model and H * d_kv > 0. seq_starts: [seqs + 1],
// 0 ... T, non-decreasing.
void longt5_layer_forward_packed(const LongT5LayerParams& p, const int32_t* seq_starts, int64_t seqs);

}  // namespace ga
