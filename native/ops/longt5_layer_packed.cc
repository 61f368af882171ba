#include "ops/longt5_layer_packed.h"

#include <algorithm>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/longt5_blocks.h"
#include "kernels/tglobal_attention.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {
namespace {

// Rows per projection work item: a sequence of n >= kChunkRows rows is cut into n / kChunkRows
// chunks of kChunkRows ... 2 * kChunkRows - 1 rows. Any count >= kGemmRowsAnyM gives the same bits
// (kernels/gemm.h); the smallest keeps 16 threads busy to the end (~100-200 rows x 512 x 512: about
// a millisecond on one core, against a few microseconds of overhead per item).
constexpr int64_t kChunkRows = kGemmRowsAnyM;

// One sequence's state: what longt5_layer_forward would allocate for it alone.
struct Seq {
  int64_t t0 = 0, n = 0, G = 0, r = 0;
  std::vector<uint8_t> mask;  // all ones, as the single-sequence call passes it
  std::vector<int32_t> block_ids, segment_ids;
  std::vector<uint8_t> global_valid;
  AlignedBuffer aggregates, gk, gv, gtable, ltable;
  // Rows are computed the single-sequence way (its own projection calls): a product of fewer
  // than kGemmRowsAnyM rows may take another summation order than a chunk of a longer one.
  bool whole() const { return n < kGemmRowsAnyM; }
};

// A work item of the projection regions: rows [r0, r0 + rows) of sequence s (global: s's global
// tokens instead).
struct Job {
  int64_t s = 0, r0 = 0, rows = 0;
  bool global = false;
  double cost = 0;
};

// Weights packed by gemm_pack_b (H groups of d_kv rows; wo: one group), unless the caller did.
struct PackedWeights {
  AlignedBuffer q, k, v, o;
  const float* wq = nullptr;
  const float* wk = nullptr;
  const float* wv = nullptr;
  const float* wo = nullptr;
};

const float* pack_weight(const float* w, const float* already, int64_t N, int64_t K, int64_t group, AlignedBuffer& buf,
                         int threads) {
  if (already) return already;
  GemmPackParams pp;
  pp.b = w;
  pp.N = N;
  pp.K = K;
  pp.ldb = K;
  pp.group_n = group;
  pp.threads = threads;
  buf.resize(static_cast<size_t>(gemm_pack_b(pp)));
  pp.dst = buf.data();
  gemm_pack_b(pp);
  return buf.data();
}

// Rows [r0, r0 + rows) of a sequence of n rows (x: its first row) projected into its head-major
// [H, n, D] block dst, on this thread.
void project_chunk(const float* x, int64_t r0, int64_t rows, int64_t n, int64_t C, const float* w_packed, int64_t H,
                   int64_t D, float* dst) {
  GemmParams g;
  g.a = x + r0 * C;
  g.lda = C;
  g.b_packed = w_packed;
  g.b_group_n = D;
  g.c_group_stride = n * D;
  g.c = dst + r0 * D;
  g.ldc = D;
  g.M = rows;
  g.N = H * D;
  g.K = C;
  g.threads = 1;
  gemm_abt(g);
}

// The single-sequence call's projection (longt5_layer.cc's project()), on this thread.
void project_whole(const float* x, int64_t rows, int64_t C, const float* w, const float* w_packed, int64_t H, int64_t D,
                   float* dst) {
  if (w_packed) project_heads_packed(x, 1, rows, C, w_packed, H, D, dst, 1);
  else project_heads(x, 1, rows, C, w, H, D, dst, 1);
}

void sort_by_cost(std::vector<Job>& jobs) {
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.cost > b.cost; });
}

// Each sequence's row chunks (one when it is short), most work first.
void add_chunks(std::vector<Job>& jobs, const std::vector<Seq>& seqs, double cost_per_row) {
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int64_t n = seqs[s].n;
    const int64_t chunks = seqs[s].whole() ? 1 : std::max<int64_t>(1, n / kChunkRows);
    for (int64_t c = 0; c < chunks; ++c) {
      Job j;
      j.s = static_cast<int64_t>(s);
      j.r0 = n * c / chunks;
      j.rows = n * (c + 1) / chunks - j.r0;
      j.cost = cost_per_row * static_cast<double>(j.rows);
      jobs.push_back(j);
    }
  }
}

}  // namespace

void longt5_layer_forward_packed(const LongT5LayerParams& p, const int32_t* seq_starts, int64_t nseqs) {
  const int64_t C = p.d_model, H = p.H, D = p.d_kv, HD = H * D, T = p.N;
  const bool global = p.kind == LongT5Kind::kTransientGlobal;
  std::vector<Seq> seqs;
  for (int64_t s = 0; s < nseqs; ++s) {
    const int64_t n = seq_starts[s + 1] - seq_starts[s];
    if (n == 0) continue;
    Seq q;
    q.t0 = seq_starts[s];
    q.n = n;
    q.G = global ? n / p.global_block_size : 0;
    q.r = capped_radius(p.local_radius, n);
    seqs.push_back(std::move(q));
  }
  if (seqs.empty()) return;

  // Scratch, all before the first region: q, k, v (each sequence's head-major [H, n, D] block at
  // t0 * HD) and the context, token-major [T, H * D] like the single-sequence call's.
  const size_t thd = static_cast<size_t>(T * HD);
  AlignedBuffer q(thd), k(thd), v(thd), ctx(thd);
  for (Seq& s : seqs) {
    s.mask.assign(static_cast<size_t>(s.n), 1);
    s.ltable.resize(static_cast<size_t>(H * (2 * s.r + 1)));
    bias_by_distance(p.rel_bias, H, p.num_buckets, p.max_distance, 2 * s.r + 1, s.r, false, s.ltable.data());
    if (s.G > 0) {
      s.block_ids.resize(static_cast<size_t>(s.n));
      s.segment_ids.resize(static_cast<size_t>(s.G));
      s.aggregates.resize(static_cast<size_t>(s.G * C));
      s.gk.resize(static_cast<size_t>(s.G * HD));
      s.gv.resize(static_cast<size_t>(s.G * HD));
      s.gtable.resize(static_cast<size_t>(H * (2 * s.G + 1)));
    }
  }
  PackedWeights w;
  w.wq = pack_weight(p.wq, p.wq_packed, HD, C, D, w.q, p.threads);
  w.wk = pack_weight(p.wk, p.wk_packed, HD, C, D, w.k, p.threads);
  w.wv = pack_weight(p.wv, p.wv_packed, HD, C, D, w.v, p.threads);
  w.wo = pack_weight(p.wo, p.wo_packed, C, HD, 0, w.o, p.threads);

  // (1) q, k, v of every row chunk, and each sequence's global tokens (block ids, aggregates,
  // their k and v, the global bias table), as one set of items.
  std::vector<Job> jobs;
  add_chunks(jobs, seqs, 3.0 * HD * C);
  for (size_t s = 0; s < seqs.size(); ++s)
    if (seqs[s].G > 0) {
      Job j;
      j.s = static_cast<int64_t>(s);
      j.global = true;
      j.cost = static_cast<double>(seqs[s].n) * C + 2.0 * seqs[s].G * HD * C;
      jobs.push_back(j);
    }
  sort_by_cost(jobs);
  parallel_items(static_cast<int64_t>(jobs.size()), p.threads, [&](int, ItemCounter& items) {
    int64_t it;
    while (items.next(it)) {
      const Job& j = jobs[it];
      Seq& s = seqs[j.s];
      const float* x = p.hidden + s.t0 * C;
      const size_t at = static_cast<size_t>(s.t0 * HD);
      if (j.global) {
        global_block_ids(s.mask.data(), 1, s.n, p.global_block_size, s.block_ids.data(), s.segment_ids.data());
        s.global_valid.assign(s.segment_ids.begin(), s.segment_ids.end());
        global_aggregates(x, 1, s.n, C, s.block_ids.data(), s.G, p.global_norm_weight, p.layer_norm_epsilon,
                          s.aggregates.data());
        project_whole(s.aggregates.data(), s.G, C, p.wk, p.wk_packed, H, D, s.gk.data());
        project_whole(s.aggregates.data(), s.G, C, p.wv, p.wv_packed, H, D, s.gv.data());
        bias_by_distance(p.global_rel_bias, H, p.num_buckets, p.max_distance, 2 * s.G + 1, s.G, false, s.gtable.data());
      } else if (s.whole()) {
        project_whole(x, s.n, C, p.wq, p.wq_packed, H, D, q.data() + at);
        project_whole(x, s.n, C, p.wk, p.wk_packed, H, D, k.data() + at);
        project_whole(x, s.n, C, p.wv, p.wv_packed, H, D, v.data() + at);
      } else {
        project_chunk(x, j.r0, j.rows, s.n, C, w.wq, H, D, q.data() + at);
        project_chunk(x, j.r0, j.rows, s.n, C, w.wk, H, D, k.data() + at);
        project_chunk(x, j.r0, j.rows, s.n, C, w.wv, H, D, v.data() + at);
      }
    }
  });

  // (2) The attention core: every sequence's query blocks in one region, longest sequences first.
  std::vector<size_t> order(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) order[s] = s;
  auto attn_cost = [&](size_t s) { return seqs[s].n * (2 * seqs[s].r + 1 + seqs[s].G); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return attn_cost(a) > attn_cost(b); });
  std::vector<TGlobalAttentionParams> calls;
  calls.reserve(seqs.size());
  for (size_t i : order) {
    Seq& s = seqs[i];
    const size_t at = static_cast<size_t>(s.t0 * HD);
    TGlobalAttentionParams t;
    t.q = q.data() + at;
    t.k = k.data() + at;
    t.v = v.data() + at;
    t.out = ctx.data() + at;
    t.qs = t.ks = t.vs = Strides::bhnd(H, s.n, D);
    t.os = Strides::bnhd(H, s.n, D);
    t.B = 1;
    t.H = H;
    t.N = s.n;
    t.D = D;
    t.Dv = D;
    t.G = s.G;
    t.radius = s.r;
    t.scale = 1.f;
    t.mask = s.mask.data();
    t.local_bias = s.ltable.data();
    if (s.G > 0) {
      t.gk = s.gk.data();
      t.gv = s.gv.data();
      t.gks = t.gvs = Strides::bhnd(H, s.G, D);
      t.block_ids = s.block_ids.data();
      t.global_valid = s.global_valid.data();
      t.global_bias = s.gtable.data();
    }
    t.threads = p.threads;
    calls.push_back(t);
  }
  TGlobalAttentionBatchParams batch;
  batch.calls = calls.data();
  batch.count = static_cast<int64_t>(calls.size());
  batch.threads = p.threads;
  tglobal_attention_batch(batch);

  // (3) The output projection, by row chunks.
  jobs.clear();
  add_chunks(jobs, seqs, 1.0 * HD * C);
  sort_by_cost(jobs);
  parallel_items(static_cast<int64_t>(jobs.size()), p.threads, [&](int, ItemCounter& items) {
    int64_t it;
    while (items.next(it)) {
      const Job& j = jobs[it];
      const Seq& s = seqs[j.s];
      GemmParams o;
      o.a = ctx.data() + (s.t0 + j.r0) * HD;
      o.lda = HD;
      o.c = p.out + (s.t0 + j.r0) * C;
      o.ldc = C;
      o.M = j.rows;
      o.N = C;
      o.K = HD;
      o.accumulate = p.accumulate_out;
      o.threads = 1;
      if (s.whole()) {  // the single-sequence call's product
        o.b = p.wo;
        o.ldb = HD;
        o.b_packed = p.wo_packed;
      } else {
        o.b_packed = w.wo;
      }
      gemm_abt(o);
    }
  });
}

}  // namespace ga
