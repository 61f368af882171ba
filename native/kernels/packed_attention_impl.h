// Packed mixed-length dense attention (kernels/packed_attention.h), compiled per ISA: one
// parallel region over the items of every sequence (query blocks of the query-block kernel, or
// the decode kernel's chunks for sequences with few queries), most expensive sequences first,
// then one region that merges the decode chunks. Each item runs the same code on the same
// numbers as a call with its sequence alone.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/decode_attention_impl.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/packed_attention.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct PackedAttentionKernel {
  using Dense = DenseAttentionKernel<V>;
  using Decode = DecodeAttentionKernel<V>;
  using Block = typename Dense::Block;

  static int64_t decode_floats(const DecodePlan& pl, int64_t Dv) {
    return static_cast<int64_t>(Decode::Partials::floats(pl, Dv));
  }

  // The sequence holding packed item `it` (plan.seqs sorted by first_item).
  static const PackedSeq& find(const PackedPlan& plan, int64_t it) {
    size_t lo = 0, hi = plan.seqs.size();
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      if (plan.seqs[mid].first_item <= it) lo = mid;
      else hi = mid;
    }
    return plan.seqs[lo];
  }

  static void run(const PackedAttentionParams& pp) {
    const DenseAttentionParams& p = pp.p;
    if (pp.seqs == 0 || p.H == 0 || p.Dv == 0) return;
    const PackedPlan plan = make_packed_plan(pp, Block::BQ, Decode::TK, &decode_floats);
    if (plan.items == 0) return;
    bool any_decode = false, any_blocks = false;
    for (const PackedSeq& s : plan.seqs) (s.decode ? any_decode : any_blocks) = true;
    std::vector<float> partials(static_cast<size_t>(plan.partial_floats));
    const int threads = query_block_threads(plan.items, p.threads);
    std::vector<typename Block::Scratch> block_scratch;
    std::vector<typename Decode::Scratch> decode_scratch;
    block_scratch.reserve(threads);
    decode_scratch.reserve(threads);
    for (int t = 0; t < threads; ++t) {
      if (any_blocks) block_scratch.emplace_back(p.D, p.Dv);
      if (any_decode) decode_scratch.emplace_back(p.D, p.Dv);
    }
    parallel_items(plan.items, threads, [&](int tid, ItemCounter& items_left) {
      int64_t it;
      while (items_left.next(it)) {
        const PackedSeq& s = find(plan, it);
        const DenseAttentionParams sp = packed_sequence_params(pp, s);
        const int64_t local = it - s.first_item;
        if (s.decode) {
          const auto pt = Decode::Partials::at(partials.data() + s.partials, s.plan, p.Dv);
          Decode::run_plan_item(sp, s.plan, local, decode_scratch[tid], pt);
        } else {
          // The query-block kernel's item order: (head, query block).
          const int64_t nqb = (s.nq + Block::BQ - 1) / Block::BQ;
          const int64_t h = local / nqb, q0 = (local % nqb) * Block::BQ;
          if (Dense::run_block(sp, 0, h, q0, block_scratch[tid], false))
            Dense::run_block(sp, 0, h, q0, block_scratch[tid], true);
        }
      }
    });
    if (plan.merge_groups == 0) return;
    parallel_items(plan.merge_groups, threads, [&](int tid, ItemCounter& items_left) {
      int64_t g;
      float* tmp = decode_scratch[tid].tmp.data();
      while (items_left.next(g)) {
        const PackedSeq* s = nullptr;  // few sequences have merges: a scan is enough
        for (const PackedSeq& c : plan.seqs)
          if (c.groups > 0 && g >= c.first_group && g < c.first_group + c.groups) s = &c;
        const DenseAttentionParams sp = packed_sequence_params(pp, *s);
        const auto pt = Decode::Partials::at(partials.data() + s->partials, s->plan, p.Dv);
        Decode::merge_plan_group(sp, s->plan, g - s->first_group, pt, tmp);
      }
    });
  }
};

}  // namespace ga
