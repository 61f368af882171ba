// The decode path of dense attention (flash-decoding; kernels/decode_attention.h says when it
// runs and how the work is split), written once over a SIMD vector type V.
//
// Algorithm: Dao et al. 2023, "Flash-Decoding for long-context inference": each item streams one
// chunk of keys and values once for every query row of a GQA group, keeping an online softmax
// (Milakov & Gimelshein 2018) per row in base 2 (scale * log2(e) folded into the scaled query),
// and leaves (max, sum, unnormalised output); merge() combines a row's chunks by their
// log-sum-exp. Keys are tiled by TK: the scores of a tile for all rows stay in L1, the next
// keys are prefetched while this tile's dot products run, and this tile's values are prefetched
// for the P·V pass that follows.
//
// A 16-bit cache (p.kv_format: float16 or bfloat16 bits in p.k16 / p.v16) is converted to float32
// one tile at a time into per-thread scratch (half the bytes streamed; float32 arithmetic), and the
// tile then runs the same code as float32 keys and values: the same bits as float32 inputs holding
// the same values.
//
// Semantics are the query-block kernel's (dense_attention_impl.h, flash_block.h): key mask,
// additive bias with any strides (0 = broadcast, negative = relative-position tables), causal
// bottom-right, GQA, both layouts. Non-finite inputs: excluded keys get exactly -inf scores by
// assignment (after biases), and a chunk whose unguarded pass produced a non-finite value is
// recomputed in safe mode, where P·V skips zero weights and a -inf bias re-excludes its score,
// so a NaN or Inf in an excluded key never leaks; a row with no admissible key gives zeros.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/decode_attention.h"
#include "kernels/exp2.h"
#include "runtime/aligned_buffer.h"
#include "runtime/cancel.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct DecodeAttentionKernel {
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int TK = 64;            // keys per tile: a multiple of every vector width
  static constexpr int NV = 8;             // output vectors per P·V register block
  static constexpr int kPrefetchKeys = 8;  // how far ahead the key rows are prefetched
  static constexpr int64_t kMaxRows = DecodePlan::kMaxRows;
  static constexpr float kLog2e = 1.4426950408889634f;
  static constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  static_assert(TK % W == 0, "a tile is whole vectors");

  static int64_t padded(int64_t n) { return (n + W - 1) / W * W; }

  // Per-thread scratch, allocated before the parallel region.
  struct Scratch {
    AlignedBuffer q, s, o, vpad, tmp, kconv;
    float m[kMaxRows], l[kMaxRows], alpha[kMaxRows];
    const float* qrow[kMaxRows];
    const float* brow[kMaxRows];
    float* orow[kMaxRows];
    int64_t lim[kMaxRows];  // last admissible key of the row (causal), else Nk - 1
    Scratch(int64_t D, int64_t Dv, bool convert = false)
        : q(static_cast<size_t>(kMaxRows * padded(D))), s(static_cast<size_t>(kMaxRows * TK)),
          o(static_cast<size_t>(kMaxRows * padded(Dv))),
          vpad(padded(Dv) != Dv || convert ? static_cast<size_t>(TK * padded(Dv)) : 0), tmp(static_cast<size_t>(W)),
          kconv(convert ? static_cast<size_t>(TK * padded(D)) : 0) {}
  };

  static float exp2_scalar(float x, float* tmp) {
    V::store(tmp, exp2_vec<V>(V::set1(x)));
    return tmp[0];
  }

  // q·k over D (q zero-padded to whole vectors, k read only up to D).
  static inline float dot(const float* q, const float* k, int64_t D) {
    R a0 = V::zero(), a1 = V::zero();
    int64_t d = 0;
    for (; d + 2 * W <= D; d += 2 * W) {
      a0 = V::fmadd(V::load(q + d), V::load(k + d), a0);
      a1 = V::fmadd(V::load(q + d + W), V::load(k + d + W), a1);
    }
    if (d + W <= D) {
      a0 = V::fmadd(V::load(q + d), V::load(k + d), a0);
      d += W;
    }
    if (d < D) a1 = V::fmadd(V::load(q + d), V::load_partial(k + d, static_cast<int>(D - d)), a1);
    return V::hsum(V::add(a0, a1));
  }

  // o[0, NVV*W) = alpha * o + sum_j p[j] * v[j]; kSafe skips zero weights (0 * NaN is NaN).
  template <int NVV, bool kSafe>
  static inline void pv_block(const float* p, int nk, const float* vt, int64_t vstride, float* o, float alpha) {
    R acc[NVV];
    const R a = V::set1(alpha);
    for (int v = 0; v < NVV; ++v) acc[v] = V::mul(a, V::load(o + v * W));
    for (int j = 0; j < nk; ++j) {
      if (kSafe && p[j] == 0.f) continue;
      const R pb = V::set1(p[j]);
      for (int v = 0; v < NVV; ++v) acc[v] = V::fmadd(pb, V::load(vt + j * vstride + v * W), acc[v]);
    }
    for (int v = 0; v < NVV; ++v) V::store(o + v * W, acc[v]);
  }

  template <bool kSafe, int N = NV>
  static inline void pv_chunk(int nvec, const float* p, int nk, const float* vt, int64_t vstride, float* o,
                              float alpha) {
    if constexpr (N >= 1) {
      if (nvec == N) return pv_block<N, kSafe>(p, nk, vt, vstride, o, alpha);
      return pv_chunk<kSafe, N - 1>(nvec, p, nk, vt, vstride, o, alpha);
    }
  }

  static void prefetch_row(const void* row, int64_t bytes) {
    const char* c = static_cast<const char*>(row);
    for (int64_t d = 0; d < bytes; d += 64) __builtin_prefetch(c + d);
  }

  // IEEE half -> float: the exponent and mantissa moved into place and scaled by 2^112 (exact for
  // normal and subnormal halves), Inf/NaN restored, then the sign. Branch-free, so it vectorises.
  static inline float f16_to_f32(uint16_t h) {
    uint32_t bits = static_cast<uint32_t>(h & 0x7fffu) << 13;
    float f;
    std::memcpy(&f, &bits, 4);
    f *= 5.192296858534828e33f;  // 2^112
    std::memcpy(&bits, &f, 4);
    if ((h & 0x7c00u) == 0x7c00u) bits |= 0x7f800000u;  // Inf / NaN
    bits |= static_cast<uint32_t>(h & 0x8000u) << 16;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  static inline float bf16_to_f32(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  // n rows of d 16-bit values (row stride src_stride) -> float rows of stride dst_stride.
  static void convert_rows(int format, const uint16_t* src, int64_t src_stride, int n, int64_t d, float* dst,
                           int64_t dst_stride) {
    for (int j = 0; j < n; ++j) {
      const uint16_t* s = src + j * src_stride;
      float* o = dst + j * dst_stride;
      if (format == 1)
        for (int64_t c = 0; c < d; ++c) o[c] = f16_to_f32(s[c]);
      else
        for (int64_t c = 0; c < d; ++c) o[c] = bf16_to_f32(s[c]);
      for (int64_t c = d; c < dst_stride; ++c) o[c] = 0.f;
    }
  }

  // One item: rows [r0, r0 + nr) of key/value head (b, hk) against keys [j0, j1). With
  // partials == nullptr the item covers every key and writes the normalised rows to out.
  // Returns whether a value it wrote is not finite in the unguarded pass (recompute with safe).
  static bool run_item(const DenseAttentionParams& p, int64_t b, int64_t hk, int64_t r0, int nr, int64_t j0, int64_t j1,
                       Scratch& sc, bool safe, float* pm, float* pl, float* po) {
    const int64_t D = p.D, Dv = p.Dv, Dp = padded(D), Dvp = padded(Dv);
    const int64_t G = p.H / p.Hk;
    const float qscale = p.scale * kLog2e;
    float* qs = sc.q.data();
    float* s = sc.s.data();
    float* o = sc.o.data();
    int64_t last = -1;  // the last key any row admits
    for (int r = 0; r < nr; ++r) {
      const int64_t gr = r0 + r, h = hk * G + gr / p.Nq, i = gr % p.Nq;
      const float* q = p.q + b * p.qs.b + h * p.qs.h + i * p.qs.n;
      for (int64_t d = 0; d < Dp; ++d) qs[r * Dp + d] = d < D ? q[d] * qscale : 0.f;
      for (int64_t c = 0; c < Dvp; ++c) o[r * Dvp + c] = 0.f;
      sc.m[r] = kNegInf;
      sc.l[r] = 0.f;
      sc.lim[r] = p.causal ? i + p.Nk - p.Nq : p.Nk - 1;
      if (sc.lim[r] > last) last = sc.lim[r];
      sc.brow[r] = p.bias ? p.bias + b * p.bias_stride[0] + h * p.bias_stride[1] + i * p.bias_stride[2] : nullptr;
      sc.orow[r] = p.out + b * p.os.b + h * p.os.h + i * p.os.n;
    }
    const int fmt = p.kv_format;
    // No keys: k and v may be empty buffers with null data (no pointer arithmetic on them).
    const bool f32 = fmt == 0 && p.Nk > 0, f16 = fmt != 0 && p.Nk > 0;
    const float* k = f32 ? p.k + b * p.ks.b + hk * p.ks.h : nullptr;
    const float* v = f32 ? p.v + b * p.vs.b + hk * p.vs.h : nullptr;
    const uint16_t* k16 = f16 ? p.k16 + b * p.ks.b + hk * p.ks.h : nullptr;
    const uint16_t* v16 = f16 ? p.v16 + b * p.vs.b + hk * p.vs.h : nullptr;
    const int64_t esize = fmt ? 2 : 4;  // bytes per stored element
    const uint8_t* mask = p.key_mask ? p.key_mask + b * p.Nk : nullptr;
    const int64_t kend = last + 1 < j1 ? last + 1 : j1;
    const int64_t ks = p.ks.n, vs = p.vs.n;

    for (int64_t t0 = j0; t0 < kend; t0 += TK) {
      if (cancel_requested()) return false;  // the call is abandoned; its output is never read
      const int nk = static_cast<int>(kend - t0 < TK ? kend - t0 : TK);
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[t0 + j];
        if (!any) continue;
      }
      // A 16-bit cache: this tile's keys and values as float32 rows (values already padded).
      const float* kt = fmt ? nullptr : k + t0 * ks;
      int64_t kstride = ks;
      if (fmt) {
        for (int64_t j = t0 + TK; j < kend && j < t0 + 2 * TK; ++j) {  // the next tile, while this one converts
          prefetch_row(k16 + j * ks, D * esize);
          prefetch_row(v16 + j * vs, Dv * esize);
        }
        convert_rows(fmt, k16 + t0 * ks, ks, nk, D, sc.kconv.data(), Dp);
        convert_rows(fmt, v16 + t0 * vs, vs, nk, Dv, sc.vpad.data(), Dvp);
        kt = sc.kconv.data();
        kstride = Dp;
      }
      // Scores: each key row is read once for all nr rows.
      for (int j = 0; j < nk; ++j) {
        const int64_t jj = t0 + j;
        if (mask && !mask[jj]) continue;  // excluded below
        const float* kr = kt + j * kstride;
        if (!fmt) {
          if (jj + kPrefetchKeys < kend) prefetch_row(kr + kPrefetchKeys * ks, D * esize);
          prefetch_row(v + jj * vs, Dv * esize);
        }
        for (int r = 0; r < nr; ++r) s[r * TK + j] = dot(qs + r * Dp, kr, D);
      }
      if (p.bias) {
        const int64_t s3 = p.bias_stride[3];
        for (int r = 0; r < nr; ++r) {
          const float* bb = sc.brow[r] + t0 * s3;
          float* sr = s + r * TK;
          for (int j = 0; j < nk; ++j) {
            const float bj = bb[j * s3];
            sr[j] += kLog2e * bj;
            if (safe && bj == kNegInf) sr[j] = kNegInf;
          }
        }
      }
      // Exclusions by assignment, after the bias (a masked key's score was never computed).
      for (int r = 0; r < nr; ++r) {
        float* sr = s + r * TK;
        if (mask)
          for (int j = 0; j < nk; ++j)
            if (!mask[t0 + j]) sr[j] = kNegInf;
        for (int j = 0; j < nk; ++j)
          if (t0 + j > sc.lim[r]) sr[j] = kNegInf;
        for (int j = nk; j < TK; ++j) sr[j] = kNegInf;
      }
      // Online softmax over the tile, one row at a time (the tile's keys run along the vector).
      for (int r = 0; r < nr; ++r) {
        float* sr = s + r * TK;
        R mt = V::set1(kNegInf);
        for (int j = 0; j < TK; j += W) mt = V::max(mt, V::load(sr + j));
        const float tmax = V::hmax(mt);
        const float mo = sc.m[r];
        const float mn = tmax > mo ? tmax : mo;
        // A row that has seen no admissible key keeps max -inf; -FLT_MAX keeps exp2's arguments
        // -inf (-> exactly 0) rather than NaN.
        const float ms = mn > -std::numeric_limits<float>::max() ? mn : -std::numeric_limits<float>::max();
        const R msv = V::set1(ms);
        R ls = V::zero();
        for (int j = 0; j < TK; j += W) {
          const R pj = exp2_vec<V>(V::sub(V::load(sr + j), msv));
          V::store(sr + j, pj);
          ls = V::add(ls, pj);
        }
        const float alpha = exp2_scalar(mo - ms, sc.tmp.data());
        sc.alpha[r] = alpha;
        sc.l[r] = sc.l[r] * alpha + V::hsum(ls);
        sc.m[r] = mn;
      }
      // Values: a zero-padded copy only when Dv is not a multiple of the vector width.
      const float* vt = fmt ? sc.vpad.data() : v + t0 * vs;
      int64_t vstride = fmt ? Dvp : vs;
      if (!fmt && Dvp != Dv) {
        float* vp = sc.vpad.data();
        for (int j = 0; j < nk; ++j)
          for (int64_t c = 0; c < Dvp; ++c) vp[j * Dvp + c] = c < Dv ? vt[j * vs + c] : 0.f;
        vt = vp;
        vstride = Dvp;
      }
      for (int r = 0; r < nr; ++r)
        for (int64_t c0 = 0; c0 < Dvp; c0 += NV * W) {
          const int nvec = static_cast<int>((Dvp - c0) / W < NV ? (Dvp - c0) / W : NV);
          if (safe) pv_chunk<true>(nvec, s + r * TK, nk, vt + c0, vstride, o + r * Dvp + c0, sc.alpha[r]);
          else pv_chunk<false>(nvec, s + r * TK, nk, vt + c0, vstride, o + r * Dvp + c0, sc.alpha[r]);
        }
    }

    float check = 0.f;  // stays 0 unless some written value is NaN or +-Inf (x * 0 is then NaN)
    if (!po) {
      for (int r = 0; r < nr; ++r) {
        const float l = sc.l[r];
        const float inv = l == 0.f ? 0.f : 1.f / l;  // no admissible key: zeros (NaN stays NaN)
        float* out = sc.orow[r];
        for (int64_t c = 0; c < Dv; ++c) {
          out[c] = l == 0.f ? 0.f : o[r * Dvp + c] * inv;
          check += out[c] * 0.f;
        }
      }
    } else {
      for (int r = 0; r < nr; ++r) {
        pm[r] = sc.m[r];
        pl[r] = sc.l[r];
        for (int64_t c = 0; c < Dv; ++c) {
          po[r * Dv + c] = o[r * Dvp + c];
          check += o[r * Dvp + c] * 0.f;
        }
      }
    }
    return !safe && check != 0.f;
  }

  // out = sum_c 2^(m_c - M) o_c / sum_c 2^(m_c - M) l_c over the chunks c of one row, M = max m_c
  // over the chunks that admitted a key; zeros when none did. Chunks in order: same bits always.
  static void merge_row(const float* pm, const float* pl, const float* po, int64_t chunks, int64_t stride_ml,
                        int64_t stride_o, int64_t Dv, float* out, float* tmp) {
    float M = kNegInf;
    bool any = false;
    for (int64_t c = 0; c < chunks; ++c) {
      if (pl[c * stride_ml] == 0.f) continue;
      any = true;
      const float mc = pm[c * stride_ml];
      if (!(mc <= M)) M = mc;  // NaN propagates
    }
    for (int64_t d = 0; d < Dv; ++d) out[d] = 0.f;
    if (!any) return;
    float L = 0.f;
    for (int64_t c = 0; c < chunks; ++c) {
      const float lc = pl[c * stride_ml];
      if (lc == 0.f) continue;
      const float w = exp2_scalar(pm[c * stride_ml] - M, tmp);
      L += w * lc;
      const float* oc = po + c * stride_o;
      for (int64_t d = 0; d < Dv; ++d) out[d] += w * oc[d];
    }
    const float inv = 1.f / L;
    for (int64_t d = 0; d < Dv; ++d) out[d] *= inv;
  }

  // Partial softmax storage of one call (or one packed sequence): chunks > 1 only.
  struct Partials {
    float* m = nullptr;  // [item][row]
    float* l = nullptr;  // [item][row]
    float* o = nullptr;  // [item][row][Dv]
    static size_t floats(const DecodePlan& pl, int64_t Dv) {
      return pl.chunks > 1 ? static_cast<size_t>(pl.items * pl.group_rows * (Dv + 2)) : 0;
    }
    static Partials at(float* base, const DecodePlan& pl, int64_t Dv) {
      Partials pt;
      if (pl.chunks > 1) {
        pt.m = base;
        pt.l = base + pl.items * pl.group_rows;
        pt.o = base + 2 * pl.items * pl.group_rows;
      }
      return pt;
    }
  };

  // Item `it` of plan pl: (batch, kv head, row group, key chunk).
  static void run_plan_item(const DenseAttentionParams& p, const DecodePlan& pl, int64_t it, Scratch& sc,
                            const Partials& pt) {
    const int64_t c = it % pl.chunks, grp = (it / pl.chunks) % pl.groups, bhk = it / (pl.groups * pl.chunks);
    const int64_t b = bhk / p.Hk, hk = bhk % p.Hk;
    const int64_t r0 = grp * pl.group_rows;
    const int nr = static_cast<int>(pl.rows - r0 < pl.group_rows ? pl.rows - r0 : pl.group_rows);
    const int64_t j0 = c * pl.chunk, j1 = j0 + pl.chunk < p.Nk ? j0 + pl.chunk : p.Nk;
    float *pm = nullptr, *pl_ = nullptr, *po = nullptr;
    if (pl.chunks > 1) {
      pm = pt.m + it * pl.group_rows;
      pl_ = pt.l + it * pl.group_rows;
      po = pt.o + it * pl.group_rows * p.Dv;
    }
    if (run_item(p, b, hk, r0, nr, j0, j1, sc, false, pm, pl_, po))
      run_item(p, b, hk, r0, nr, j0, j1, sc, true, pm, pl_, po);
  }

  // Merges the chunks of row group `g` (batch, kv head, row group) of plan pl (chunks > 1).
  static void merge_plan_group(const DenseAttentionParams& p, const DecodePlan& pl, int64_t g, const Partials& pt,
                               float* tmp) {
    const int64_t G = p.H / p.Hk;
    const int64_t grp = g % pl.groups, bhk = g / pl.groups;
    const int64_t b = bhk / p.Hk, hk = bhk % p.Hk;
    const int64_t r0 = grp * pl.group_rows;
    const int64_t nr = pl.rows - r0 < pl.group_rows ? pl.rows - r0 : pl.group_rows;
    const int64_t first = g * pl.chunks;  // the group's first chunk item
    for (int64_t r = 0; r < nr; ++r) {
      const int64_t gr = r0 + r, h = hk * G + gr / p.Nq, i = gr % p.Nq;
      float* out = p.out + b * p.os.b + h * p.os.h + i * p.os.n;
      const size_t at = static_cast<size_t>(first * pl.group_rows + r);
      merge_row(pt.m + at, pt.l + at, pt.o + at * p.Dv, pl.chunks, pl.group_rows, pl.group_rows * p.Dv, p.Dv, out, tmp);
    }
  }

  static void run(const DenseAttentionParams& p) {
    if (p.B == 0 || p.H == 0 || p.Nq == 0 || p.Dv == 0) return;
    const DecodePlan pl = DecodePlan::make(p, TK);
    std::vector<float> storage(Partials::floats(pl, p.Dv));
    const Partials pt = Partials::at(storage.data(), pl, p.Dv);
    const int threads = static_cast<int>(p.threads < 1 ? 1 : p.threads < pl.items ? p.threads : pl.items);
    std::vector<Scratch> scratch;
    scratch.reserve(threads);
    for (int t = 0; t < threads; ++t) scratch.emplace_back(p.D, p.Dv, p.kv_format != 0);
    parallel_items(pl.items, threads, [&](int tid, ItemCounter& items_left) {
      int64_t it;
      while (items_left.next(it)) run_plan_item(p, pl, it, scratch[tid], pt);
    });
    if (pl.chunks == 1) return;
    parallel_items(p.B * p.Hk * pl.groups, threads, [&](int tid, ItemCounter& items_left) {
      int64_t g;
      while (items_left.next(g)) merge_plan_group(p, pl, g, pt, scratch[tid].tmp.data());
    });
  }
};

}  // namespace ga
