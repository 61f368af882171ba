// The decode path of dense attention (flash-decoding): which calls take it, and how it splits
// the work. Plain C++, no SIMD: the kernel itself is kernels/decode_attention_impl.h.
//
// A generation step has Nq = 1 (or a few) queries per head against Nk cached keys. The
// query-block kernel (dense_attention_impl.h) would give each (batch, head) one item and read
// K and V once per head; here one item is (batch, key/value head, group of query rows, key
// chunk): the G = H / Hk query heads that share a key/value head are computed together (K and V
// are read once per group, not once per head), and the keys are split into chunks so that
// B·Hk·chunks items keep every thread busy even with 8 heads. Each chunk leaves a partial
// softmax (max, sum, unnormalised output); a second pass merges the chunks of a row by their
// log-sum-exp.
#pragma once
#include <cstdint>

#include "kernels/dense_attention.h"

namespace ga {

// Calls with at most this many queries per head take the decode path.
constexpr int64_t kDecodeMaxQueries = 4;

// The decode kernel implements key_mask, bias (any strides), causal (bottom-right), GQA, any
// strides and kv_format. The standard operator's options (needs_prefill_kernel: softcap, offsets,
// window, key lengths, log-sum-exp, position bias) keep a call on the query-block kernel.
inline bool decode_path_applies(const DenseAttentionParams& p) {
  return p.allow_decode && p.Nq >= 1 && p.Nq <= kDecodeMaxQueries && !needs_prefill_kernel(p);
}

// How one decode call is split. It depends on the shapes only, never on the thread count, so
// the result is the same bits with 1 or 16 threads.
struct DecodePlan {
  static constexpr int64_t kMaxRows = 16;       // query rows per item (registers and L1 bound it)
  static constexpr int64_t kMinChunk = 256;     // keys per chunk at least: partials stay small
  static constexpr int64_t kTargetItems = 256;  // enough items for 64 threads, 4 each
  int64_t rows = 0;                             // query rows per key/value head: (H / Hk) * Nq
  int64_t groups = 0;                           // row groups per key/value head
  int64_t group_rows = 0;                       // rows per group (the last may have fewer)
  int64_t chunk = 0;                            // keys per chunk (a multiple of tile)
  int64_t chunks = 0;                           // chunks per row group (>= 1, also when Nk = 0)
  int64_t items = 0;                            // B * Hk * groups * chunks

  static DecodePlan make(const DenseAttentionParams& p, int64_t tile) {
    DecodePlan pl;
    pl.rows = (p.H / p.Hk) * p.Nq;
    pl.groups = (pl.rows + kMaxRows - 1) / kMaxRows;
    pl.group_rows = (pl.rows + pl.groups - 1) / pl.groups;
    const int64_t heads = p.B * p.Hk * pl.groups;
    int64_t chunk = (heads * p.Nk + kTargetItems - 1) / kTargetItems;
    if (chunk < kMinChunk) chunk = kMinChunk;
    pl.chunk = (chunk + tile - 1) / tile * tile;
    pl.chunks = p.Nk == 0 ? 1 : (p.Nk + pl.chunk - 1) / pl.chunk;
    pl.items = heads * pl.chunks;
    return pl;
  }
};

}  // namespace ga
