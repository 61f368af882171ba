// FlashBlockBf16's native block (kernels/flash_block_bf16.h) with both products on AMX tiles:
// same rounding (Q·scale·log2(e), K, V and P to bfloat16), same float32 online softmax (its
// softmax_update, unchanged), same masks, biases and non-finite safe pass. Only the two products
// move: a tile product is 16 x 16 x 32 multiply-adds in one instruction, so the softmax, not the
// products, is now most of a block's time.
//
// Layouts (Tiles: simd/amx_bf16.h; C += A·B, B in pairs along the reduction):
//  * Q·Kᵀ: S stays FlashBlock's [key][query] (what the masks, biases and softmax read). A C tile is
//    16 keys x 16 queries; A is 16 key rows x 32 dims (the bfloat16 key rows FlashBlockBf16
//    already makes), B is 16 dim pairs x 16 queries (its query pairs QT2, already in this form).
//    Tails of fewer than 16 keys take FlashBlockBf16's dot-pair micro-tiles.
//  * P·V: the accumulator is O transposed, OT[channel][query], so P's pairs along keys (P2, as
//    softmax_update writes them) are B as they lie and the per-query rescale by alpha is a plain
//    vector multiply. A is 16 channels x 32 keys of V transposed (VT[c][j], made once per call
//    and head, keys zero padded to a multiple of 32). finish() transposes OT back into O.
//  * Safe mode (a block recomputed because of non-finite values) runs the same tiles, so rows
//    without non-finite inputs keep their bits: each product element is its own sum, untouched by
//    other rows or columns. Only P·V changes: the tile reads a copy of V with its non-finite
//    values zeroed (a zero weight then adds exactly 0, as in the clean call), and each weight that
//    is not 0 on such a value adds weight·value afterwards (the row is non-finite either way).
//
// D must be a multiple of 32 (whole A rows); the kernel using this block checks supports() and
// otherwise runs FlashBlockBf16. Each block configures the tiles in begin() and releases them in
// finish(), so the thread holds AMX state only while it computes.
#pragma once
#include <cstdint>

#include "kernels/flash_block_bf16.h"

namespace ga {

template <class V, class Tiles, int BQ_, int BK_ = 128>
struct FlashBlockAmx : FlashBlockBf16<V, BQ_, true, typename V::Half, BK_> {
  using Base = FlashBlockBf16<V, BQ_, true, typename V::Half, BK_>;
  using R = typename V::R;
  using P = typename V::P;
  using Base::BK;
  using Base::BQ;
  using Base::KR;
  using Base::QCOL;
  using Base::W;
  static constexpr int T = Tiles::kRows;        // keys, queries or channels per tile side
  static constexpr int KC = 2 * Tiles::kPairs;  // reduction values per A row (dims or keys)
  static_assert(W == T && Tiles::kCols == T, "a float32 vector is one tile row");
  static_assert(BQ % T == 0 && BK % KC == 0, "blocks are whole tiles");

  static bool supports(int64_t D) { return D % KC == 0; }
  static int64_t keys_padded(int64_t n) { return (n + KC - 1) / KC * KC; }

  struct Scratch : Base::Scratch {
    AlignedBuffer ot;     // OT [Dvp][BQ] float32: the P·V accumulator, transposed
    AlignedBuffer vsafe;  // safe mode: a tile's VT [Dvp][BK] (bfloat16), non-finite values zeroed
    Scratch(int64_t D, int64_t Dv)
        : Base::Scratch(D, Dv), ot(static_cast<size_t>(Base::padded(Dv)) * BQ),
          vsafe(static_cast<size_t>(Base::padded(Dv)) * BK / 2) {}
  };

  Scratch& sc3;
  FlashBlockAmx(Scratch& s, int64_t d, int64_t dv) : Base(s, d, dv), sc3(s) {}

  // Keys: FlashBlockBf16's bfloat16 rows (row stride `row`). Values: VT, Dvp rows of `row` keys
  // (keys_padded(n), zeros past n); at(bh, j) is key j of channel 0, channels `row` apart.
  struct Operand {
    AlignedBuffer buf;
    int64_t head = 0, row = 0;
    bool channels = false;
    const uint16_t* data() const { return reinterpret_cast<const uint16_t*>(buf.data()); }
    uint16_t* data() { return reinterpret_cast<uint16_t*>(buf.data()); }
    const uint16_t* at(int64_t bh, int64_t j) const { return data() + bh * head + (channels ? j : j * row); }
  };
  using OperandSource = HeadOperandSource<Operand>;

  static void make_operands(const OperandSource* src, int count, int64_t heads, int64_t hn, int threads) {
    Base::make_head_operands(
        src, count, heads, hn, threads,
        [](const OperandSource& s) {
          Operand& o = *s.o;
          o.channels = s.values;
          o.row = o.channels ? keys_padded(s.n) : Base::even(s.dim);
          o.head = (o.channels ? Base::padded(s.dim) : s.n) * o.row;
          return (o.head + 1) / 2;  // per head, in floats (an upper bound)
        },
        [](const OperandSource& s, const float* x, uint16_t* d) {
          if (s.values) value_channels(x, s.stride, s.n, s.dim, d, s.o->row);
          else Base::key_rows(x, s.stride, s.n, s.dim, d, s.o->row);
        });
  }

  // VT from n value rows of Dv (row stride vs): per 32 keys and 16 channels, 16 vectors of key
  // pairs (a pair = 32 bits, rounded as FlashBlockBf16::value_pairs rounds), transposed as 32-bit
  // lanes, are 16 channel rows of 32 keys.
  static void value_channels(const float* v, int64_t vs, int64_t n, int64_t Dv, uint16_t* vt, int64_t vt_row) {
    const int64_t Dvp = Base::padded(Dv);
    for (int64_t c0 = 0; c0 < Dvp; c0 += W) {
      const int nc = static_cast<int>(Dv - c0 < W ? Dv - c0 : W);  // <= 0: padding channels
      for (int64_t j0 = 0; j0 < vt_row; j0 += KC) {
        R x[W];
        for (int r = 0; r < W; ++r) {
          const int64_t j = j0 + 2 * r;
          const R e = j < n && nc > 0 ? V::load_partial(v + j * vs + c0, nc) : V::zero();
          const R o = j + 1 < n && nc > 0 ? V::load_partial(v + (j + 1) * vs + c0, nc) : V::zero();
          alignas(64) uint16_t pr[2 * W];
          V::store_pairs(pr, V::cvt_interleaved(e, o));
          x[r] = V::load(reinterpret_cast<const float*>(pr));  // the pairs' bits, moved as floats
        }
        V::transpose(x);
        for (int c = 0; c < W; ++c) V::store(reinterpret_cast<float*>(vt + (c0 + c) * vt_row + j0), x[c]);
      }
    }
  }

  void begin(const float* q, int64_t q_stride, int n, float scale, bool safe_mode = false) {
    Base::begin(q, q_stride, n, scale, safe_mode);
    float* ot = sc3.ot.data();
    for (int64_t i = 0; i < this->Dvp * BQ; ++i) ot[i] = 0.f;
    Tiles::configure();  // released in finish()
  }

  // Raw scores of nk keys (bfloat16 rows of D values, row stride ks). with_max: the caller will
  // not change them, so their maximum per query is taken here (FlashBlock::scores).
  void scores(const uint16_t* k, int64_t ks, int nk, bool with_max = false) {
    if (this->D == 0) return Base::scores(k, ks, nk, with_max);
    float* s = this->sc.s.data();
    const uint16_t* q2 = Base::u16(this->sc2.qt2);
    int j = 0;
    for (; j + 2 * T <= nk; j += 2 * T) over_queries<2, false>(s + j * BQ, k + j * ks, ks, q2, this->D / KC);
    for (; j + T <= nk; j += T) over_queries<1, false>(s + j * BQ, k + j * ks, ks, q2, this->D / KC);
    if (j < nk) {
      const int64_t npairs = this->D / 2;  // fewer than 16 keys left: dot-pair micro-tiles
      for (int c = 0; c < this->rows; c += QCOL) {
        int jj = j;
        for (; jj + KR <= nk; jj += KR)
          Base::template qk_tile2<KR, false>(k + jj * ks, ks, npairs, q2 + c * 2, s + jj * BQ + c, nullptr);
        if (jj < nk)
          Base::template qk_tail2<false>(nk - jj, k + jj * ks, ks, npairs, q2 + c * 2, s + jj * BQ + c, nullptr);
      }
    }
    // Unlike FlashBlock, also in safe mode: both passes take the maximum here, so a recomputed
    // block's clean rows keep their bits.
    this->fused_max = with_max;
    if (with_max) take_tile_max(s, nk);
  }

  // The tile's maximum per query, from S while it is in cache: four independent max chains per
  // 16 queries (softmax_update's own pass has one per vector, and its max latency measured ~7%
  // of a dense call once the products ran on tiles).
  void take_tile_max(const float* s, int nk) {
    float* tmax = this->tile_max();
    for (int q = 0; q < this->rows; q += W) {
      R m[4] = {V::set1(Base::kNegInf), V::set1(Base::kNegInf), V::set1(Base::kNegInf), V::set1(Base::kNegInf)};
      int j = 0;
      for (; j + 4 <= nk; j += 4)
        for (int i = 0; i < 4; ++i) m[i] = V::max(m[i], V::load(s + (j + i) * BQ + q));
      for (; j < nk; ++j) m[0] = V::max(m[0], V::load(s + j * BQ + q));
      V::store(tmax + q, V::max(V::max(m[0], m[1]), V::max(m[2], m[3])));
    }
  }

  // C rows of AT x 16 (keys, or channels) against the block's queries 32 and then 16 at a time:
  // A rows `as` values apart, B pairs BQ apart (the query pairs QT2, or P's pairs P2), summed over
  // `chunks` of 32 (dims, or keys). C (S, or OT) rows are BQ floats apart.
  template <int AT, bool kLoadC>
  void over_queries(float* c, const uint16_t* a, int64_t as, const uint16_t* b, int64_t chunks) {
    const auto at = [](const uint16_t* bq) { return [bq](int t, int64_t i) { return bq + 2 * T * t + i * KC * BQ; }; };
    int q0 = 0;
    for (; q0 + 2 * T <= this->rows; q0 += 2 * T)
      Tiles::template product<AT, 2, kLoadC>(c + q0, BQ, a, as, chunks, at(b + q0 * 2), BQ * 4);
    if (q0 < this->rows) Tiles::template product<AT, 1, kLoadC>(c + q0, BQ, a, as, chunks, at(b + q0 * 2), BQ * 4);
  }

  // OT = alpha·OT + P·V over the tile's nk keys; vt = VT at the tile's first key (a multiple of
  // 32), channels vs apart.
  void accumulate(const uint16_t* vt, int64_t vs, int nk) {
    Base::softmax_update(nk);
    const int npairs = (nk + 1) / 2;
    if (npairs == 0) return;  // no key: alpha is 1, or 0 with OT still 0 (as FlashBlockBf16)
    const int64_t Dvp = this->Dvp;
    const int rows = this->rows;
    float* ot = sc3.ot.data();
    const float* alpha = this->sc.stats.data() + 2 * BQ;
    // Once a row's maximum settles its alpha is exactly 1 (2^0): those 16-query columns are
    // left as they are.
    for (int q = 0; q < rows; q += W) {
      bool ones = true;
      for (int i = 0; i < W; ++i) ones &= alpha[q + i] == 1.f;
      if (ones) continue;
      const R a = V::load(alpha + q);
      for (int64_t c = 0; c < Dvp; ++c) V::store(ot + c * BQ + q, V::mul(V::load(ot + c * BQ + q), a));
    }
    uint16_t* p2 = Base::u16(this->sc2.p2);
    // Whole tiles of 16 pairs: the pairs past this tile's keys are zero weights (P2 still holds
    // the previous tile's there; VT there is other keys' values or zero padding, all finite or
    // caught by finish()'s non-finite check, which reruns the block in safe mode).
    const int chunks = (npairs + T - 1) / T;
    for (int jp = npairs; jp < chunks * T; ++jp)
      for (int q = 0; q < rows; q += W) V::store(reinterpret_cast<float*>(p2 + (jp * BQ + q) * 2), V::zero());
    // Safe mode: the tiles read a copy with the non-finite values zeroed (finite_values), and
    // add_non_finite() adds what it left out.
    const uint16_t* a = this->safe ? finite_values(vt, vs, chunks * KC) : vt;
    const int64_t as = this->safe ? BK : vs;
    int64_t c0 = 0;
    for (; c0 + 2 * T <= Dvp; c0 += 2 * T) over_queries<2, true>(ot + c0 * BQ, a + c0 * as, as, p2, chunks);
    if (c0 < Dvp) over_queries<1, true>(ot + c0 * BQ, a + c0 * as, as, p2, chunks);
    if (this->safe) add_non_finite(vt, vs, nk, p2, ot);
  }

  static bool finite(uint16_t x) { return (x & 0x7f80u) != 0x7f80u; }  // bfloat16: exponent not all ones

  // Safe mode: the tile's n keys of VT (channels vs apart) into vsafe (channels BK apart),
  // non-finite values zeroed.
  const uint16_t* finite_values(const uint16_t* vt, int64_t vs, int n) {
    uint16_t* d = Base::u16(sc3.vsafe);
    for (int64_t c = 0; c < this->Dvp; ++c)
      for (int j = 0; j < n; ++j) d[c * BK + j] = finite(vt[c * vs + j]) ? vt[c * vs + j] : 0;
    return d;
  }
  // Then weight·value for each non-finite value of the tile's nk keys and each weight that is not
  // 0 (NaN included): what the zeroed copy left out.
  void add_non_finite(const uint16_t* vt, int64_t vs, int nk, const uint16_t* p2, float* ot) {
    for (int64_t c = 0; c < this->Dvp; ++c)
      for (int j = 0; j < nk; ++j) {
        const uint16_t x = vt[c * vs + j];
        if (finite(x)) continue;
        const float v = V::Half::to_float(x);
        for (int q = 0; q < this->rows; ++q) {
          const float p = V::Half::to_float(p2[((j / 2) * BQ + q) * 2 + (j & 1)]);
          if (!(p == 0.f)) ot[c * BQ + q] += p * v;
        }
      }
  }
  // OT back into O's rows, then FlashBlock::finish (which reads O).
  bool finish(float* out, int64_t out_stride, const uint8_t* keep = nullptr) {
    Tiles::release();
    float* o = this->sc.o.data();
    const float* ot = sc3.ot.data();
    const int64_t Dvp = this->Dvp;
    for (int m0 = 0; m0 < this->rows; m0 += W)
      for (int64_t c0 = 0; c0 < Dvp; c0 += W) {
        R x[W];
        for (int r = 0; r < W; ++r) x[r] = V::load(ot + (c0 + r) * BQ + m0);
        V::transpose(x);
        for (int r = 0; r < W; ++r) V::store(o + (m0 + r) * Dvp + c0, x[r]);
      }
    return Base::finish(out, out_stride, keep);
  }
};

}  // namespace ga
