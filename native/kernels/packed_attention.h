// Packed mixed-length batches for dense attention: the tokens of all sequences back to back,
// q [T, H, D], k [Tk, Hk, D], v [Tk, Hk, Dv], out [T, H, Dv], with cumulative offsets
// seq_starts / key_seq_starts (length seqs + 1, like FlashAttention's cu_seqlens). No work is
// spent on padding; each sequence computes exactly what a call with that sequence alone would
// (its own causal diagonal, bottom-right; the decode path when it has <= kDecodeMaxQueries
// queries), so the results are the same bits as per-sequence calls.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/decode_attention.h"
#include "kernels/dense_attention.h"

namespace ga {

struct PackedAttentionParams {
  // q, k, v, out, their row strides (qs.n, ...) and head strides, H, Hk, D, Dv, scale, causal,
  // threads. B, Nq, Nk, key_mask and bias are not used (each sequence is a B = 1 call).
  DenseAttentionParams p;
  const int32_t* seq_starts = nullptr;      // [seqs + 1], 0 ... T, non-decreasing
  const int32_t* key_seq_starts = nullptr;  // [seqs + 1], 0 ... Tk, non-decreasing
  int64_t seqs = 0;
};

// One sequence's share of the work, in execution order.
struct PackedSeq {
  int64_t q0 = 0, nq = 0, k0 = 0, nk = 0;
  bool decode = false;                  // the decode kernel (nq <= kDecodeMaxQueries), else query blocks
  DecodePlan plan;                      // decode only: the plan a call with this sequence alone would use
  int64_t first_item = 0, items = 0;    // its items in the packed item range
  int64_t partials = 0;                 // decode with chunks > 1: offset of its partial softmax
  int64_t first_group = 0, groups = 0;  // decode with chunks > 1: its merge items
};

struct PackedPlan {
  std::vector<PackedSeq> seqs;  // most expensive first: the dynamic schedule then balances tokens
  int64_t items = 0;
  int64_t partial_floats = 0;
  int64_t merge_groups = 0;
};

// The per-sequence call parameters (B = 1) of sequence s within p.
DenseAttentionParams packed_sequence_params(const PackedAttentionParams& pp, const PackedSeq& s);

// block_queries: the query-block kernel's BQ; decode_tile: the decode kernel's TK; decode_floats
// gives the partial-softmax floats a decode plan needs.
PackedPlan make_packed_plan(const PackedAttentionParams& pp, int64_t block_queries, int64_t decode_tile,
                            int64_t (*decode_floats)(const DecodePlan&, int64_t Dv));

}  // namespace ga
