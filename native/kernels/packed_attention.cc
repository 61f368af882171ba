// The packed batch's plan (baseline flags: std::sort here, not in an ISA translation unit).
#include "kernels/packed_attention.h"

#include <algorithm>

namespace ga {

DenseAttentionParams packed_sequence_params(const PackedAttentionParams& pp, const PackedSeq& s) {
  static const float kNothing[1] = {0.f};
  const DenseAttentionParams& p = pp.p;
  DenseAttentionParams sp = p;
  sp.B = 1;
  sp.Nq = s.nq;
  sp.Nk = s.nk;
  sp.key_mask = nullptr;
  sp.bias = nullptr;
  sp.q = p.q + s.q0 * p.qs.n;
  sp.out = p.out + s.q0 * p.os.n;
  if (s.nk == 0) {  // k and v may be empty buffers with null data: no pointer arithmetic on them
    sp.k = sp.v = kNothing;
    sp.ks = sp.vs = Strides{};
  } else {
    sp.k = p.k + s.k0 * p.ks.n;
    sp.v = p.v + s.k0 * p.vs.n;
  }
  return sp;
}

PackedPlan make_packed_plan(const PackedAttentionParams& pp, int64_t block_queries, int64_t decode_tile,
                            int64_t (*decode_floats)(const DecodePlan&, int64_t Dv)) {
  PackedPlan plan;
  std::vector<PackedSeq> all;
  all.reserve(static_cast<size_t>(pp.seqs));
  for (int64_t s = 0; s < pp.seqs; ++s) {
    PackedSeq q;
    q.q0 = pp.seq_starts[s];
    q.nq = pp.seq_starts[s + 1] - q.q0;
    q.k0 = pp.key_seq_starts[s];
    q.nk = pp.key_seq_starts[s + 1] - q.k0;
    if (q.nq == 0) continue;
    const DenseAttentionParams sp = packed_sequence_params(pp, q);
    q.decode = decode_path_applies(sp);
    if (q.decode) {
      q.plan = DecodePlan::make(sp, decode_tile);
      q.items = q.plan.items;
    } else {
      q.items = pp.p.H * ((q.nq + block_queries - 1) / block_queries);
    }
    all.push_back(q);
  }
  // Most work first (a query block costs ~ its keys; stable: ties keep the batch order).
  std::stable_sort(all.begin(), all.end(),
                   [](const PackedSeq& a, const PackedSeq& b) { return a.nq * (a.nk + 1) > b.nq * (b.nk + 1); });
  for (PackedSeq& q : all) {
    q.first_item = plan.items;
    plan.items += q.items;
    if (q.decode && q.plan.chunks > 1) {
      q.partials = plan.partial_floats;
      plan.partial_floats += decode_floats(q.plan, pp.p.Dv);
      q.first_group = plan.merge_groups;
      q.groups = q.plan.items / q.plan.chunks;
      plan.merge_groups += q.groups;
    }
  }
  plan.seqs = std::move(all);
  return plan;
}

}  // namespace ga
