// FlashBlock (kernels/flash_block.h) with bfloat16 products: Q·Kᵀ and P·V multiply bfloat16
// values, the online softmax, its statistics and the accumulation of O stay float32. Everything
// else (the block layout, the bias protocol, masks, finish() and the non-finite safe pass) is
// FlashBlock's own, inherited.
//
// What is rounded, the same way on every path (kernels/bf16.h): Q·scale·log2(e) (in begin()),
// K and V (by the caller, once per call: DenseAttentionBf16Kernel), and the probabilities P after
// exp2 — the running sum l adds the rounded P, so the weights applied to V sum to 1.
//
// Two instantiations:
//  * kNative = false, any float32 V (the emulated path): FlashBlock's float32 micro-kernels run
//    on the rounded values. A product of two bfloat16 values is exact in float32, so this is the
//    native arithmetic up to the order of float32 additions.
//  * kNative = true, V with 16-bit pair operations (simd/vec_avx512bf16.h, vec_neon_bf16.h; and
//    float16 ones, simd/vec_neon_fp16.h, where "bfloat16" below reads "float16"): Q is kept as pairs
//    along D, QT2[dp][m] = (Q[m][2dp], Q[m][2dp+1]); a QK micro-tile broadcasts K's pair and does
//    one dot-pair per query vector per two dims. P is rounded straight into pairs along keys in
//    its exp2 pass, P2[jp][m] = (P[2jp][m], P[2jp+1][m]), and V arrives pair-interleaved (VI[jp][c] =
//    (V[2jp][c], V[2jp+1][c])), so P·V is one dot-pair per output vector per two keys. In safe
//    mode a zero weight's half of the V pair is cleared first (0 x NaN must not leak), with the
//    same instructions otherwise, so rows without non-finite inputs stay bit-identical.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/bf16.h"
#include "kernels/flash_block.h"

namespace ga {

// Whether a native instantiation's Rounding is its pair type's own (V::Half: the rule its
// vector conversions implement); emulated instantiations take any.
template <class V, class Rounding, bool kNative>
struct NativeRoundingMatches : std::true_type {};
template <class V, class Rounding>
struct NativeRoundingMatches<V, Rounding, true> : std::is_same<Rounding, typename V::Half> {};

// One tensor a block's make_operands() rounds into *o: heads x n rows of dim values (values: dim
// is Dv); head bh = (b, h), b = bh / hn, h = bh % hn, starts at x + b * sb + h * sh, rows stride apart.
template <class Operand>
struct HeadOperandSource {
  Operand* o;
  bool values;
  const float* x;
  int64_t n, dim, stride, sb, sh;
};

// Rounding: Bf16<V> (kernels/bf16.h) or Fp16<V> (kernels/fp16.h, precision 'fp16'); native, the
// pair type's V::Half (bfloat16: simd/vec_avx512bf16.h, vec_neon_bf16.h; float16: vec_neon_fp16.h).
template <class V, int BQ_, bool kNative, class Rounding = Bf16<V>, int BK_ = 128>
struct FlashBlockBf16 : FlashBlock<V, BQ_, BK_> {
  using Base = FlashBlock<V, BQ_, BK_>;
  using R = typename V::R;
  static_assert(NativeRoundingMatches<V, Rounding, kNative>::value, "native kernels round as their vectors do");
  using Base::BK;
  using Base::BQ;
  using Base::kLog2e;
  using Base::kNegInf;
  using Base::KR;
  using Base::MR;
  using Base::NV;
  using Base::QCOL;
  using Base::QV;
  using Base::W;

  static int64_t even(int64_t n) { return (n + 1) / 2 * 2; }

  struct Scratch : Base::Scratch {
    AlignedBuffer qt2;  // native: Q pairs [Dp/2][BQ][2] (bf16)
    AlignedBuffer p2;   // native: P pairs [BK/2][BQ][2] (bf16)
    Scratch(int64_t D, int64_t Dv)
        : Base::Scratch(D, Dv), qt2(kNative ? static_cast<size_t>(even(D) / 2 * BQ) : 0),
          p2(kNative ? static_cast<size_t>(BK / 2 * BQ) : 0) {}
  };

  Scratch& sc2;
  FlashBlockBf16(Scratch& s, int64_t d, int64_t dv) : Base(s, d, dv), sc2(s) {}

  static uint16_t* u16(AlignedBuffer& b) { return reinterpret_cast<uint16_t*>(b.data()); }

  // Keys and values as scores() and accumulate() read them: rounded copies, made once per call
  // and head (O(N·D), against the O(N²·D) products). Emulated: float32 rows of the rounded
  // values. Native: keys as bfloat16 rows padded to an even D; values pair-interleaved along
  // keys, pair row jp = (V[2jp][c], V[2jp+1][c]) for c < Dvp, zero padded (columns to Dvp, keys to
  // an even count), so a value tile must start at an even key.
  using Elem = typename std::conditional<kNative, uint16_t, float>::type;
  struct Operand {
    AlignedBuffer buf;
    int64_t head = 0, row = 0;  // strides in Elem; a native value row holds a pair of keys
    bool pairs = false;
    const Elem* data() const { return reinterpret_cast<const Elem*>(buf.data()); }
    Elem* data() { return reinterpret_cast<Elem*>(buf.data()); }
    // Key j of head bh (j even for native values).
    const Elem* at(int64_t bh, int64_t j) const { return data() + bh * head + (pairs ? j / 2 : j) * row; }
  };

  using OperandSource = HeadOperandSource<Operand>;

  // All the sources in one parallel region (an item per source and head: one barrier, not one
  // per tensor).
  static void make_operands(const OperandSource* src, int count, int64_t heads, int64_t hn, int threads) {
    make_head_operands(
        src, count, heads, hn, threads,
        [](const OperandSource& s) {
          Operand& o = *s.o;
          o.pairs = kNative && s.values;
          if constexpr (kNative) {
            o.row = s.values ? 2 * Base::padded(s.dim) : even(s.dim);
            o.head = s.values ? even(s.n) / 2 * o.row : s.n * o.row;
          } else {
            o.row = s.dim;
            o.head = s.n * s.dim;
          }
          return kNative ? (o.head + 1) / 2 : o.head;  // per head, in floats (an upper bound)
        },
        [](const OperandSource& s, const float* x, Elem* d) {
          if constexpr (kNative) {
            if (s.values) value_pairs(x, s.stride, s.n, s.dim, d, s.o->row);
            else key_rows(x, s.stride, s.n, s.dim, d, s.o->row);
          } else {
            for (int64_t r = 0; r < s.n; ++r) Rounding::round_row(x + r * s.stride, d + r * s.dim, s.dim);
          }
        });
  }

  // make_operands' frame, for blocks with other operand layouts too (kernels/flash_block_amx.h):
  // layout(source) sets the source's operand strides and returns its floats per head (a bound);
  // buffers only grow (a kept one is reused: DenseAttentionBf16Kernel); then fill(source, x, dst)
  // for every (source, head) in one parallel region. Source: o (an Operand-like with buf, head,
  // data()), x, sb, sh.
  template <class Source, class Layout, class Fill>
  static void make_head_operands(const Source* src, int count, int64_t heads, int64_t hn, int threads, Layout&& layout,
                                 Fill&& fill) {
    for (int i = 0; i < count; ++i) {
      const size_t floats = static_cast<size_t>(heads * layout(src[i]) + 1);
      if (src[i].o->buf.size() < floats) src[i].o->buf.resize(floats);
    }
    parallel_items(heads * count, threads < 1 ? 1 : threads, [&](int, ItemCounter& it) {
      int64_t item;
      while (it.next(item)) {
        const Source& s = src[item % count];
        const int64_t bh = item / count;
        fill(s, s.x + (bh / hn) * s.sb + (bh % hn) * s.sh, s.o->data() + bh * s.o->head);
      }
    });
  }

  // Native: n rows of D values (row stride ks) as bfloat16 rows of kd_row >= D values, zero
  // padded. 2W values per vector conversion; the rest one by one (the same rounding).
  static void key_rows(const float* k, int64_t ks, int64_t n, int64_t D, uint16_t* kd, int64_t kd_row) {
    for (int64_t j = 0; j < n; ++j) {
      const float* kr = k + j * ks;
      uint16_t* dr = kd + j * kd_row;
      int64_t d = 0;
      for (; d + 2 * W <= D; d += 2 * W)
        V::store_pairs(dr + d, V::cvt_contiguous(V::load(kr + d), V::load(kr + d + W)));
      for (; d < kd_row; ++d) dr[d] = d < D ? Rounding::from_float(kr[d]) : 0;
    }
  }

  // Native: n rows of Dv values (row stride vs) pair-interleaved along keys (Operand above).
  static void value_pairs(const float* v, int64_t vs, int64_t n, int64_t Dv, uint16_t* vd, int64_t vd_row) {
    const int64_t Dvp = vd_row / 2;
    for (int64_t jp = 0; jp < even(n) / 2; ++jp) {
      const float* ve = v + 2 * jp * vs;
      const bool has_odd = 2 * jp + 1 < n;
      uint16_t* dr = vd + jp * vd_row;
      int64_t c = 0;
      for (; c + W <= Dv; c += W)
        V::store_pairs(dr + 2 * c, V::cvt_interleaved(V::load(ve + c), has_odd ? V::load(ve + vs + c) : V::zero()));
      for (; c < Dvp; ++c) {
        dr[2 * c] = c < Dv ? Rounding::from_float(ve[c]) : 0;
        dr[2 * c + 1] = has_odd && c < Dv ? Rounding::from_float(ve[vs + c]) : 0;
      }
    }
  }

  // Base::begin, then Q·scale·log2(e) rounded to bfloat16 (and, native, laid out as pairs).
  void begin(const float* q, int64_t q_stride, int n, float scale, bool safe_mode = false) {
    Base::begin(q, q_stride, n, scale, safe_mode);
    float* qt = this->sc.qt.data();
    const int64_t D = this->D;
    if constexpr (kNative) {
      uint16_t* q2 = u16(sc2.qt2);
      for (int64_t dp = 0; dp < even(D) / 2; ++dp) {
        const float* q0 = qt + 2 * dp * BQ;
        const bool has_odd = 2 * dp + 1 < D;
        for (int m = 0; m < BQ; m += W)
          V::store_pairs(q2 + (dp * BQ + m) * 2,
                         V::cvt_interleaved(V::load(q0 + m), has_odd ? V::load(q0 + BQ + m) : V::zero()));
      }
    } else {
      Rounding::round_row(qt, qt, D * BQ);
    }
  }

  // Raw scores of nk keys. Emulated: k is float32 already rounded to bfloat16 (row stride ks).
  // Native: k is bfloat16 rows of even(D) values (row stride ks, in bfloat16 elements).
  template <class KT>
  void scores(const KT* k, int64_t ks, int nk, bool with_max = false) {
    if constexpr (!kNative) {
      Base::scores(k, ks, nk, with_max);
    } else {
      float* s = this->sc.s.data();
      float* tmax = this->tile_max();
      this->fused_max = with_max && !this->safe;
      if (this->fused_max)
        for (int m = 0; m < BQ; ++m) tmax[m] = kNegInf;
      if (this->D == 0) {
        for (int64_t i = 0; i < static_cast<int64_t>(nk) * BQ; ++i) s[i] = 0.f;
        if (this->fused_max)
          for (int m = 0; m < BQ; ++m) tmax[m] = nk > 0 ? 0.f : kNegInf;
        return;
      }
      if (this->fused_max) native_scores<true>(k, ks, nk, s, tmax);
      else native_scores<false>(k, ks, nk, s, tmax);
    }
  }

  template <int NK, bool kMax>
  static inline void qk_tile2(const uint16_t* kp, int64_t ks, int64_t npairs, const uint16_t* q2, float* s,
                              float* tmax) {
    using P = typename V::P;
    R acc[NK][QV];
    for (int a = 0; a < NK; ++a)
      for (int v = 0; v < QV; ++v) acc[a][v] = V::zero();
    int64_t dp = 0;
    do {  // npairs >= 1 (scores() handles D == 0): a do-loop keeps acc in registers throughout
      P qv[QV];
      for (int v = 0; v < QV; ++v) qv[v] = V::load_pairs(q2 + (dp * BQ + v * W) * 2);
      for (int a = 0; a < NK; ++a) {
        const P kb = V::set1_pair(kp + a * ks + 2 * dp);
        for (int v = 0; v < QV; ++v) acc[a][v] = V::dot_pairs(acc[a][v], kb, qv[v]);
      }
    } while (++dp < npairs);
    for (int a = 0; a < NK; ++a)
      for (int v = 0; v < QV; ++v) V::store(s + a * BQ + v * W, acc[a][v]);
    if constexpr (kMax)
      for (int v = 0; v < QV; ++v) {
        R m = V::load(tmax + v * W);
        for (int a = 0; a < NK; ++a) m = V::max(m, acc[a][v]);
        V::store(tmax + v * W, m);
      }
  }

  template <bool kMax, int N = KR - 1>
  static inline void qk_tail2(int nk, const uint16_t* kp, int64_t ks, int64_t npairs, const uint16_t* q2, float* s,
                              float* tmax) {
    if constexpr (N >= 1) {
      if (nk == N) return qk_tile2<N, kMax>(kp, ks, npairs, q2, s, tmax);
      return qk_tail2<kMax, N - 1>(nk, kp, ks, npairs, q2, s, tmax);
    }
  }

  template <bool kMax>
  void native_scores(const uint16_t* k, int64_t ks, int nk, float* s, float* tmax) {
    const uint16_t* q2 = u16(sc2.qt2);
    const int64_t npairs = even(this->D) / 2;
    for (int c = 0; c < this->rows; c += QCOL) {
      int j = 0;
      for (; j + KR <= nk; j += KR) qk_tile2<KR, kMax>(k + j * ks, ks, npairs, q2 + c * 2, s + j * BQ + c, tmax + c);
      if (j < nk) qk_tail2<kMax>(nk - j, k + j * ks, ks, npairs, q2 + c * 2, s + j * BQ + c, tmax + c);
    }
  }

  // Emulated: x rounded lane by lane (the rule the native conversions implement).
  static inline R round_vec(R x) { return Rounding::template round_vec<V>(x); }

  // The online-softmax update of FlashBlock::accumulate over the tile's nk scores, with P
  // rounded to bfloat16 before it is summed and applied. Emulated: P replaces S (float32).
  // Native: P goes straight to the P·V operand, pairs along keys (see accumulate()), in the same
  // pass as its exp2: S is not written back and read again.
  void softmax_update(int nk) {
    float* s = this->sc.s.data();
    float* mrow = this->sc.stats.data();
    float* lrow = mrow + BQ;
    float* alpha = lrow + BQ;
    for (int c = 0; c < this->rows; c += QCOL) {
      R mt[QV], ms[QV], ls[QV];
      if (this->fused_max) {
        for (int v = 0; v < QV; ++v) mt[v] = V::load(this->tile_max() + c + v * W);
      } else {
        for (int v = 0; v < QV; ++v) mt[v] = V::set1(kNegInf);
        for (int j = 0; j < nk; ++j)
          for (int v = 0; v < QV; ++v) mt[v] = V::max(mt[v], V::load(s + j * BQ + c + v * W));
      }
      for (int v = 0; v < QV; ++v) {
        const R mo = V::load(mrow + c + v * W);
        const R mn = V::max(mo, mt[v]);
        ms[v] = V::max(mn, V::set1(-std::numeric_limits<float>::max()));  // see FlashBlock::accumulate
        V::store(alpha + c + v * W, exp2_vec<V>(V::sub(mo, ms[v])));
        V::store(mrow + c + v * W, mn);
        ls[v] = V::zero();
      }
      if constexpr (kNative) {
        // Per lane the sum adds P[0], P[1], ... in order, as the emulated path does.
        uint16_t* p2 = u16(sc2.p2);
        int j = 0;
        for (; j + 2 <= nk; j += 2)
          for (int v = 0; v < QV; ++v) {
            const float* sj = s + j * BQ + c + v * W;
            const R pe = exp2_vec<V>(V::sub(V::load(sj), ms[v]));
            const R po = exp2_vec<V>(V::sub(V::load(sj + BQ), ms[v]));
            const typename V::P pr = V::cvt_interleaved(pe, po);
            V::store_pairs(p2 + ((j / 2) * BQ + c + v * W) * 2, pr);
            ls[v] = V::add(V::add(ls[v], V::even_f32(pr)), V::odd_f32(pr));
          }
        if (j < nk)  // an odd last key: its pair's second half is a zero weight
          for (int v = 0; v < QV; ++v) {
            const R pe = exp2_vec<V>(V::sub(V::load(s + j * BQ + c + v * W), ms[v]));
            const typename V::P pr = V::cvt_interleaved(pe, V::zero());
            V::store_pairs(p2 + ((j / 2) * BQ + c + v * W) * 2, pr);
            ls[v] = V::add(ls[v], V::even_f32(pr));
          }
      } else {
        for (int j = 0; j < nk; ++j)
          for (int v = 0; v < QV; ++v) {
            const R pj = round_vec(exp2_vec<V>(V::sub(V::load(s + j * BQ + c + v * W), ms[v])));
            V::store(s + j * BQ + c + v * W, pj);
            ls[v] = V::add(ls[v], pj);
          }
      }
      for (int v = 0; v < QV; ++v)
        V::store(lrow + c + v * W, V::fmadd(V::load(lrow + c + v * W), V::load(alpha + c + v * W), ls[v]));
    }
  }

  // O = alpha·O + P·V over the tile. Emulated: v is float32 rounded to bfloat16, row stride vs.
  // Native: v is the tile's pair-interleaved bfloat16 rows (vs = pair-row stride, in bfloat16
  // elements, >= 2·Dvp), padded with a zero key when nk is odd.
  template <class VT>
  void accumulate(const VT* v, int64_t vs, int nk) {
    softmax_update(nk);
    const int64_t Dv = this->Dv, Dvp = this->Dvp;
    float* o = this->sc.o.data();
    const float* alpha = this->sc.stats.data() + 2 * BQ;
    if constexpr (!kNative) {
      const float* s = this->sc.s.data();
      const float* vt = v;
      int64_t vstride = vs;
      if (Dvp != Dv) {  // zero-padded copy, as FlashBlock::accumulate
        float* vp = this->sc.vpad.data();
        for (int j = 0; j < nk; ++j)
          for (int64_t c = 0; c < Dvp; ++c) vp[j * Dvp + c] = c < Dv ? v[j * vs + c] : 0.f;
        vt = vp;
        vstride = Dvp;
      }
      for (int r0 = 0; r0 < this->rows; r0 += MR)
        for (int64_t c0 = 0; c0 < Dvp; c0 += NV * W) {
          const int nvec = static_cast<int>((Dvp - c0) / W < NV ? (Dvp - c0) / W : NV);
          if (this->safe)
            Base::template pv_chunk<true>(nvec, s + r0, nk, vt + c0, vstride, o + r0 * Dvp + c0, Dvp, alpha + r0,
                                          this->pending());
          else
            Base::template pv_chunk<false>(nvec, s + r0, nk, vt + c0, vstride, o + r0 * Dvp + c0, Dvp, alpha + r0,
                                           this->pending());
        }
    } else {
      const uint16_t* p2 = u16(sc2.p2);  // P pairs along keys, written by softmax_update()
      const int npairs = (nk + 1) / 2;
      if (npairs == 0) return;  // no key: alpha is 1, or 0 with O still 0 (no key seen yet)
      for (int r0 = 0; r0 < this->rows; r0 += MR)
        for (int64_t c0 = 0; c0 < Dvp; c0 += NV * W) {
          const int nvec = static_cast<int>((Dvp - c0) / W < NV ? (Dvp - c0) / W : NV);
          if (this->safe)
            pv_chunk2<true>(nvec, p2 + r0 * 2, npairs, v + c0 * 2, vs, o + r0 * Dvp + c0, Dvp, alpha + r0);
          else pv_chunk2<false>(nvec, p2 + r0 * 2, npairs, v + c0 * 2, vs, o + r0 * Dvp + c0, Dvp, alpha + r0);
        }
    }
  }

  // kSafe: a key whose weight is 0 must add exactly 0 even if its v is NaN or Inf, so its half of
  // the V pair is cleared before the dot-pair (the other key's product, and hence the result, is
  // unchanged: adding 0·0 instead of 0·v to a finite sum is exact). Pairs of zero weights are
  // skipped.
  template <int NVV, bool kSafe>
  static inline void pv_tile2(const uint16_t* p2, int npairs, const uint16_t* vt, int64_t vstride, float* o,
                              int64_t Dvp, const float* alpha) {
    using P = typename V::P;
    R acc[MR][NVV];
    for (int r = 0; r < MR; ++r) {
      const R a = V::set1(alpha[r]);
      for (int v = 0; v < NVV; ++v) acc[r][v] = V::mul(a, V::load(o + r * Dvp + v * W));
    }
    int jp = 0;
    do {  // npairs >= 1 (accumulate()): a do-loop keeps acc in registers throughout
      P vv[NVV];
      for (int v = 0; v < NVV; ++v) vv[v] = V::load_pairs(vt + jp * vstride + v * 2 * W);
      for (int r = 0; r < MR; ++r) {
        const uint16_t* pr = p2 + (jp * BQ + r) * 2;
        const P pb = V::set1_pair(pr);
        if (kSafe) {
          const uint32_t keep = ((pr[0] & 0x7fffu) ? 0x0000ffffu : 0u) | ((pr[1] & 0x7fffu) ? 0xffff0000u : 0u);
          if (keep == 0) continue;
          if (keep != 0xffffffffu) {
            for (int v = 0; v < NVV; ++v) acc[r][v] = V::dot_pairs(acc[r][v], pb, V::mask_pairs(vv[v], keep));
            continue;
          }
        }
        for (int v = 0; v < NVV; ++v) acc[r][v] = V::dot_pairs(acc[r][v], pb, vv[v]);
      }
    } while (++jp < npairs);
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NVV; ++v) V::store(o + r * Dvp + v * W, acc[r][v]);
  }

  template <bool kSafe, int N = NV>
  static inline void pv_chunk2(int nvec, const uint16_t* p2, int npairs, const uint16_t* vt, int64_t vstride, float* o,
                               int64_t Dvp, const float* alpha) {
    if constexpr (N >= 1) {
      if (nvec == N) return pv_tile2<N, kSafe>(p2, npairs, vt, vstride, o, Dvp, alpha);
      return pv_chunk2<kSafe, N - 1>(nvec, p2, npairs, vt, vstride, o, Dvp, alpha);
    }
  }
};

}  // namespace ga
