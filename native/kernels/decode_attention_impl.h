// The decode path of dense attention (flash-decoding; kernels/decode_attention.h says when it
// runs and how the work is split), written once over a SIMD vector type V.
//
// Algorithm: Dao et al. 2023, "Flash-Decoding for long-context inference": each item streams one
// chunk of keys and values once for every query row of a GQA group, keeping an online softmax
// (Milakov & Gimelshein 2018) per row in base 2 (scale * log2(e) folded into the scaled query),
// and leaves (max, sum, unnormalised output); merge() combines a row's chunks by their
// log-sum-exp. Keys are tiled (TK keys; a single row's tiles at most kTileBytes of float32 keys):
// the scores of a tile for all rows stay in L1. A single row (the common decode step, bound by
// memory) reduces four keys' dot products at once (V::hsum4), a quarter of a horizontal sum per
// key; several rows score key by key, each key row loaded once for all of them. K and V are read
// in memory order, one row after another: the hardware prefetchers follow the two streams
// (prefetching every line measured slower: it takes load slots); float32 rows packed back to back
// get one L2 prefetch per KiB a few pages ahead (kAheadBytes: TLB misses and prefetcher restarts
// at page boundaries overlap the current tile).
//
// A 16-bit cache (p.kv_format: float16 or bfloat16 bits in p.k16 / p.v16) is widened to float32
// in the loads themselves (V::load_bf16 / V::load_f16: half the bytes streamed, float32
// arithmetic); a tile read by kWidenRows or more rows (GQA groups, prefill) is widened once into
// per-thread scratch instead. Either way the arithmetic is that of float32 keys and values: the
// same bits as float32 inputs holding the same values.
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
#include <type_traits>
#include <vector>

#include "kernels/decode_attention.h"
#include "kernels/exp2.h"
#include "kernels/prefetch.h"
#include "runtime/aligned_buffer.h"
#include "runtime/cancel.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct DecodeAttentionKernel {
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int TK = 64;  // keys per tile at most: a multiple of every vector width
  static constexpr int NV = 8;   // output vectors per P·V register block
  static constexpr int64_t kMaxRows = DecodePlan::kMaxRows;
  static constexpr float kLog2e = 1.4426950408889634f;
  static constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  static_assert(TK % W == 0, "a tile is whole vectors");

  static int64_t padded(int64_t n) { return (n + W - 1) / W * W; }

  // Per-thread scratch, allocated before the parallel region. kconv/vpad hold one tile of keys /
  // values widened to float32 where a tile is read by many rows or Dv is not whole vectors.
  struct Scratch {
    AlignedBuffer q, s, o, vpad, tmp, kconv;
    float m[kMaxRows], l[kMaxRows], alpha[kMaxRows];
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

  // Cache element formats (p.kv_format): 0 float32, 1 float16, 2 bfloat16. Loads widen to float32
  // in registers, so a 16-bit cache streams half the bytes and runs the float32 arithmetic.
  template <int F>
  using Elem = typename std::conditional<F == 0, float, uint16_t>::type;
  template <int F>
  static inline R ld(const Elem<F>* p) {
    if constexpr (F == 0) return V::load(p);
    else if constexpr (F == 1) return V::load_f16(p);
    else return V::load_bf16(p);
  }
  template <int F>
  static inline R ld_partial(const Elem<F>* p, int n) {
    if constexpr (F == 0) return V::load_partial(p, n);
    else if constexpr (F == 1) return V::load_f16_partial(p, n);
    else return V::load_bf16_partial(p, n);
  }

  // s[0..3] = q · k_i for the four key rows k + i * kstride (q zero-padded to whole vectors, k read
  // only up to D). One accumulator per key and one reduction for four keys. The rows are read one
  // after another (memory order: a strided walk across four rows defeats the L1 prefetcher); the
  // four dependency chains are independent, so they still overlap.
  template <int F>
  static inline R dot_acc(const float* q, const Elem<F>* k, int64_t D) {
    R a0 = V::zero(), a1 = V::zero();  // two chains: half the FMA latency per key
    int64_t d = 0;
    for (; d + 2 * W <= D; d += 2 * W) {
      a0 = V::fmadd(V::load(q + d), ld<F>(k + d), a0);
      a1 = V::fmadd(V::load(q + d + W), ld<F>(k + d + W), a1);
    }
    if (d + W <= D) {
      a0 = V::fmadd(V::load(q + d), ld<F>(k + d), a0);
      d += W;
    }
    if (d < D) a1 = V::fmadd(V::load(q + d), ld_partial<F>(k + d, static_cast<int>(D - d)), a1);
    return V::add(a0, a1);
  }
  template <int F>
  static inline void dot4(const float* q, const Elem<F>* k, int64_t kstride, int64_t D, float* s) {
    const R a0 = dot_acc<F>(q, k, D), a1 = dot_acc<F>(q, k + kstride, D);
    const R a2 = dot_acc<F>(q, k + 2 * kstride, D), a3 = dot_acc<F>(q, k + 3 * kstride, D);
    V::hsum4(a0, a1, a2, a3, s);
  }
  // One key, the same bits as its lane of dot4.
  template <int F>
  static inline float dot1(const float* q, const Elem<F>* k, int64_t D) {
    const R a = dot_acc<F>(q, k, D);
    alignas(16) float s4[4];
    V::hsum4(a, a, a, a, s4);
    return s4[0];
  }

  // o[0, NVV*W) = alpha * o + sum_j p[j] * v[j]; kSafe skips zero weights (0 * NaN is NaN).
  template <int F, int NVV, bool kSafe>
  static inline void pv_block(const float* p, int nk, const Elem<F>* vt, int64_t vstride, float* o, float alpha) {
    R acc[NVV];
    const R a = V::set1(alpha);
    for (int v = 0; v < NVV; ++v) acc[v] = V::mul(a, V::load(o + v * W));
    for (int j = 0; j < nk; ++j) {
      if (kSafe && p[j] == 0.f) continue;
      const R pb = V::set1(p[j]);
      for (int v = 0; v < NVV; ++v) acc[v] = V::fmadd(pb, ld<F>(vt + j * vstride + v * W), acc[v]);
    }
    for (int v = 0; v < NVV; ++v) V::store(o + v * W, acc[v]);
  }

  template <int F, bool kSafe, int N = NV>
  static inline void pv_chunk(int nvec, const float* p, int nk, const Elem<F>* vt, int64_t vstride, float* o,
                              float alpha) {
    if constexpr (N >= 1) {
      if (nvec == N) return pv_block<F, N, kSafe>(p, nk, vt, vstride, o, alpha);
      return pv_chunk<F, kSafe, N - 1>(nvec, p, nk, vt, vstride, o, alpha);
    }
  }

  // n rows of d cache values (row stride src_stride) -> float32 rows of dst_stride = padded(d)
  // (zero-padded), whole vectors at a time.
  template <int F>
  static void widen_rows(const Elem<F>* src, int64_t src_stride, int n, int64_t d, float* dst, int64_t dst_stride) {
    for (int j = 0; j < n; ++j) {
      const Elem<F>* s = src + j * src_stride;
      float* o = dst + j * dst_stride;
      int64_t c = 0;
      for (; c + W <= d; c += W) V::store(o + c, ld<F>(s + c));
      if (c < d) V::store(o + c, ld_partial<F>(s + c, static_cast<int>(d - c)));
    }
  }

  // One item: rows [r0, r0 + nr) of key/value head (b, hk) against keys [j0, j1). With
  // partials == nullptr the item covers every key and writes the normalised rows to out.
  // Returns whether a value it wrote is not finite in the unguarded pass (recompute with safe).
  static bool run_item(const DenseAttentionParams& p, int64_t b, int64_t hk, int64_t r0, int nr, int64_t j0, int64_t j1,
                       Scratch& sc, bool safe, float* pm, float* pl, float* po) {
    switch (p.kv_format) {
      case 1: return run_item_as<1>(p, b, hk, r0, nr, j0, j1, sc, safe, pm, pl, po);
      case 2: return run_item_as<2>(p, b, hk, r0, nr, j0, j1, sc, safe, pm, pl, po);
      default: return run_item_as<0>(p, b, hk, r0, nr, j0, j1, sc, safe, pm, pl, po);
    }
  }

  // A 16-bit tile read by at least this many rows is widened once into scratch rather than in
  // every row's loads.
  static constexpr int kWidenRows = 4;
  // A single row's tile holds at most this many bytes of float32 keys (and of values): the key
  // tile, the value tile and the scores stay in L1 with room to spare.
  static constexpr int64_t kTileBytes = 8192;

  // Float32 keys and values whose rows are contiguous stream through many 4 KiB pages, and every
  // new page costs a TLB miss (a nested page walk under a hypervisor) and restarts the hardware
  // prefetchers, which stop at page boundaries. One line per kAheadStrideBytes of K and of V,
  // kAheadBytes ahead of the tile, is prefetched into L2, so the walk and the first misses of a
  // page overlap the current tile. Measured on an AMD EPYC (Zen 4) KVM guest, 8 heads x 16384
  // keys x D 64, one thread: 15-20 % faster after other memory traffic or an idle gap, a few % in
  // a tight loop or on huge pages (one line per 1 KiB ~3 % ahead of one per 4 KiB; 8 KiB ahead
  // was slower, 32 KiB the same; every line was slower); 16-bit caches were slower with it.
  static constexpr int64_t kAheadStrideBytes = 1024;
  static constexpr int64_t kAheadBytes = 16384;

  template <int F>
  static bool run_item_as(const DenseAttentionParams& p, int64_t b, int64_t hk, int64_t r0, int nr, int64_t j0,
                          int64_t j1, Scratch& sc, bool safe, float* pm, float* pl, float* po) {
    using E = Elem<F>;
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
    // No keys: k and v may be empty buffers with null data (no pointer arithmetic on them).
    const E* k = nullptr;
    const E* v = nullptr;
    if (p.Nk > 0) {
      if constexpr (F == 0) {
        k = p.k + b * p.ks.b + hk * p.ks.h;
        v = p.v + b * p.vs.b + hk * p.vs.h;
      } else {
        k = p.k16 + b * p.ks.b + hk * p.ks.h;
        v = p.v16 + b * p.vs.b + hk * p.vs.h;
      }
    }
    const uint8_t* mask = p.key_mask ? p.key_mask + b * p.Nk : nullptr;
    const int64_t kend = last + 1 < j1 ? last + 1 : j1;
    const int64_t ks = p.ks.n, vs = p.vs.n;
    const bool widen_k = F != 0 && nr >= kWidenRows;
    const bool widen_v = (F != 0 && nr >= kWidenRows) || Dvp != Dv;

    // Keys per tile: TK, or with one query row per key/value head (streaming, bound by memory) at
    // most kTileBytes of float32 keys while >= 16 (measured: large-D single rows gain, many rows
    // lose to the per-tile softmax work). It depends on the shapes only, and counts float32 bytes
    // for every format, so a 16-bit cache sums in the same order as float32 inputs of its values.
    int tk = TK;
    if (G * p.Nq == 1)
      while (tk > 16 && tk * D * 4 > kTileBytes) tk /= 2;
    // Prefetch ahead (kAheadBytes): rows j with j % stride_rows == 0, `ahead` rows past the tile,
    // below Nk (this head's rows: valid memory). Float32 rows packed back to back only.
    const bool prefetch_ahead = F == 0 && ks == D && vs == Dv && D > 0;
    const int64_t row_bytes = D * static_cast<int64_t>(sizeof(float));
    const int64_t stride_rows = prefetch_ahead && row_bytes < kAheadStrideBytes ? kAheadStrideBytes / row_bytes : 1;
    const int64_t ahead = prefetch_ahead ? (kAheadBytes + row_bytes - 1) / row_bytes : 0;
    for (int64_t t0 = j0; t0 < kend; t0 += tk) {
      if (cancel_requested()) return false;  // the call is abandoned; its output is never read
      const int nk = static_cast<int>(kend - t0 < tk ? kend - t0 : tk);
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[t0 + j];
        if (!any) continue;
      }
      const uint8_t* mt = mask ? mask + t0 : nullptr;
      if (prefetch_ahead) {
        const int64_t end = t0 + ahead + nk < p.Nk ? t0 + ahead + nk : p.Nk;
        for (int64_t j = (t0 + ahead + stride_rows - 1) / stride_rows * stride_rows; j < end; j += stride_rows) {
          prefetch_line<false, 1>(k + j * ks);  // into L2
          prefetch_line<false, 1>(v + j * vs);
        }
      }
      // Scores; a 16-bit tile read by many rows is widened once.
      if (widen_k) {
        widen_rows<F>(k + t0 * ks, ks, nk, D, sc.kconv.data(), Dp);
        score_tile<0>(qs, Dp, nr, sc.kconv.data(), Dp, nk, D, mt, s);
      } else {
        score_tile<F>(qs, Dp, nr, k + t0 * ks, ks, nk, D, mt, s);
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
        if (mt)
          for (int j = 0; j < nk; ++j)
            if (!mt[j]) sr[j] = kNegInf;
        const int64_t lim = sc.lim[r] - t0;  // keys j > lim are excluded
        for (int j = lim + 1 > 0 ? static_cast<int>(lim + 1 < nk ? lim + 1 : nk) : 0; j < nk; ++j) sr[j] = kNegInf;
        for (int j = nk; j < tk; ++j) sr[j] = kNegInf;
      }
      // Online softmax over the tile, one row at a time (the tile's keys run along the vector).
      for (int r = 0; r < nr; ++r) {
        float* sr = s + r * TK;
        R mx = V::set1(kNegInf);
        for (int j = 0; j < tk; j += W) mx = V::max(mx, V::load(sr + j));
        const float tmax = V::hmax(mx);
        const float mo = sc.m[r];
        const float mn = tmax > mo ? tmax : mo;
        // A row that has seen no admissible key keeps max -inf; -FLT_MAX keeps exp2's arguments
        // -inf (-> exactly 0) rather than NaN.
        const float ms = mn > -std::numeric_limits<float>::max() ? mn : -std::numeric_limits<float>::max();
        const R msv = V::set1(ms);
        R ls = V::zero();
        for (int j = 0; j < tk; j += W) {
          const R pj = exp2_vec<V>(V::sub(V::load(sr + j), msv));
          V::store(sr + j, pj);
          ls = V::add(ls, pj);
        }
        const float alpha = exp2_scalar(mo - ms, sc.tmp.data());
        sc.alpha[r] = alpha;
        sc.l[r] = sc.l[r] * alpha + V::hsum(ls);
        sc.m[r] = mn;
      }
      // Values: widened / zero-padded into scratch when read by many rows or Dv is not whole vectors.
      if (widen_v) {
        widen_rows<F>(v + t0 * vs, vs, nk, Dv, sc.vpad.data(), Dvp);
        pv_tile<0>(sc.vpad.data(), Dvp, nk, nr, Dvp, s, o, sc.alpha, safe);
      } else {
        pv_tile<F>(v + t0 * vs, vs, nk, nr, Dvp, s, o, sc.alpha, safe);
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

  // s[r * TK + j] = q_r · k_j (q_r = qs + r * Dp) for the nk keys of a tile; a masked key
  // (mt[j] == 0) is skipped (excluded later). One row: four keys per reduction, q in registers.
  // Several rows: key by key, each key row loaded once for all rows (the loads, not the FMAs,
  // bound a row-major walk there: it reloads q and k for every row), one reduction per score. A
  // call takes one of the two for all its keys, so masked and unmasked keys sum alike.
  template <int F>
  static inline void score_tile(const float* qs, int64_t Dp, int nr, const Elem<F>* kt, int64_t kstride, int nk,
                                int64_t D, const uint8_t* mt, float* s) {
    if (nr == 1) {
      int j = 0;
      if (!mt)
        for (; j + 4 <= nk; j += 4) dot4<F>(qs, kt + j * kstride, kstride, D, s + j);
      for (; j < nk; ++j)
        if (!mt || mt[j]) s[j] = dot1<F>(qs, kt + j * kstride, D);
      return;
    }
    for (int j = 0; j < nk; ++j) {
      if (mt && !mt[j]) continue;
      const Elem<F>* kr = kt + j * kstride;
      for (int r = 0; r < nr; ++r) s[r * TK + j] = V::hsum(dot_acc<F>(qs + r * Dp, kr, D));
    }
  }

  // o_r = alpha_r * o_r + sum_j s_r[j] v_j for the nr rows over the nk values of a tile (Dv = Dvp).
  template <int F>
  static inline void pv_tile(const Elem<F>* vt, int64_t vstride, int nk, int nr, int64_t Dvp, const float* s, float* o,
                             const float* alpha, bool safe) {
    for (int r = 0; r < nr; ++r)
      for (int64_t c0 = 0; c0 < Dvp; c0 += NV * W) {
        const int nvec = static_cast<int>((Dvp - c0) / W < NV ? (Dvp - c0) / W : NV);
        if (safe) pv_chunk<F, true>(nvec, s + r * TK, nk, vt + c0, vstride, o + r * Dvp + c0, alpha[r]);
        else pv_chunk<F, false>(nvec, s + r * TK, nk, vt + c0, vstride, o + r * Dvp + c0, alpha[r]);
      }
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
