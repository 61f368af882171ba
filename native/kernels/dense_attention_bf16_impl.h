// Dense attention with bfloat16 products (precision 'bf16'): DenseAttentionKernel's structure
// (kernels/dense_attention_impl.h) over FlashBlockBf16 (kernels/flash_block_bf16.h). Same
// parameters, same thread contract, same masks, biases, causal cut and non-finite safe pass;
// softmax and accumulation in float32.
// K and V are rounded to bfloat16 once per call into per-head contiguous copies (O(N·D), against
// the O(N²·D) products): emulated, as float32 values; native, K as bfloat16 rows padded to an
// even D and V pair-interleaved along keys (the layout the P·V dot-pair micro-kernel reads).
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/dense_attention.h"
#include "kernels/flash_block_bf16.h"

namespace ga {

// Rounding: Bf16<V>, or Fp16<V> for the emulated precision 'fp16' (kernels/fp16.h).
template <class V, bool kNative, class Rounding = Bf16<V>>
struct DenseAttentionBf16Kernel {
  using Block = FlashBlockBf16<V, 2 * V::kQkVecs * V::W, kNative, Rounding>;
  using B16 = Bf16<V>;
  static constexpr int BQ = Block::BQ;
  static constexpr int BK = Block::BK;

  // Per-head rounded copies of K and V and their strides (elements of their own type).
  struct Heads {
    AlignedBuffer k, v;
    int64_t k_head = 0, k_row = 0, v_head = 0, v_row = 0;
  };
  static uint16_t* u16(AlignedBuffer& b) { return reinterpret_cast<uint16_t*>(b.data()); }

  // Native: K's Nk rows of D values (row stride ks) as bfloat16 rows of kd_row >= D values, zero
  // padded. 2W values per vector conversion; the rest one by one (the same rounding).
  static void convert_k(const float* k, int64_t ks, int64_t Nk, int64_t D, uint16_t* kd, int64_t kd_row) {
    constexpr int W = V::W;
    for (int64_t j = 0; j < Nk; ++j) {
      const float* kr = k + j * ks;
      uint16_t* dr = kd + j * kd_row;
      int64_t d = 0;
      for (; d + 2 * W <= D; d += 2 * W)
        V::store_pairs(dr + d, V::cvt_contiguous(V::load(kr + d), V::load(kr + d + W)));
      for (; d < kd_row; ++d) dr[d] = d < D ? B16::from_float(kr[d]) : 0;
    }
  }

  // Native: V's Nk rows of Dv values (row stride vs) pair-interleaved along keys, vd[jp][c] =
  // (V[2jp][c], V[2jp+1][c]), a pair row of vd_row = 2·Dvp values; zero padded to Dvp columns
  // and to an even number of keys.
  static void convert_v(const float* v, int64_t vs, int64_t Nk, int64_t Dv, uint16_t* vd, int64_t vd_row) {
    constexpr int W = V::W;
    const int64_t Dvp = vd_row / 2;
    for (int64_t jp = 0; jp < Block::even(Nk) / 2; ++jp) {
      const float* ve = v + 2 * jp * vs;
      const bool has_odd = 2 * jp + 1 < Nk;
      uint16_t* dr = vd + jp * vd_row;
      int64_t c = 0;
      for (; c + W <= Dv; c += W)
        V::store_pairs(dr + 2 * c, V::cvt_interleaved(V::load(ve + c), has_odd ? V::load(ve + vs + c) : V::zero()));
      for (; c < Dvp; ++c) {
        dr[2 * c] = c < Dv ? B16::from_float(ve[c]) : 0;
        dr[2 * c + 1] = has_odd && c < Dv ? B16::from_float(ve[vs + c]) : 0;
      }
    }
  }

  static void convert(const DenseAttentionParams& p, Heads& h) {
    const int64_t heads = p.B * p.Hk, Nk = p.Nk, D = p.D, Dv = p.Dv;
    if constexpr (kNative) {
      const int64_t Dp = Block::even(D), Dvp = Block::padded(Dv), Nkp = Block::even(Nk);
      h.k_row = Dp;
      h.k_head = Nk * Dp;
      h.v_row = 2 * Dvp;  // one pair of keys
      h.v_head = Nkp / 2 * 2 * Dvp;
      h.k.resize(static_cast<size_t>((heads * h.k_head + 1) / 2));
      h.v.resize(static_cast<size_t>((heads * h.v_head + 1) / 2));
    } else {
      h.k_row = D;
      h.k_head = Nk * D;
      h.v_row = Dv;
      h.v_head = Nk * Dv;
      h.k.resize(static_cast<size_t>(heads * h.k_head));
      h.v.resize(static_cast<size_t>(heads * h.v_head));
    }
    parallel_items(heads, p.threads < 1 ? 1 : p.threads, [&](int, ItemCounter& it) {
      int64_t bh;
      while (it.next(bh)) {
        const int64_t b = bh / p.Hk, hk = bh % p.Hk;
        const float* k = p.k + b * p.ks.b + hk * p.ks.h;
        const float* v = p.v + b * p.vs.b + hk * p.vs.h;
        if constexpr (kNative) {
          convert_k(k, p.ks.n, Nk, D, u16(h.k) + bh * h.k_head, h.k_row);
          convert_v(v, p.vs.n, Nk, Dv, u16(h.v) + bh * h.v_head, h.v_row);
        } else {
          float* kd = h.k.data() + bh * h.k_head;
          for (int64_t j = 0; j < Nk; ++j) Rounding::round_row(k + j * p.ks.n, kd + j * D, D);
          float* vd = h.v.data() + bh * h.v_head;
          for (int64_t j = 0; j < Nk; ++j) Rounding::round_row(v + j * p.vs.n, vd + j * Dv, Dv);
        }
      }
    });
  }

  static void add_bias(const DenseAttentionParams& p, Block& blk, int64_t b, int64_t h, int64_t q0, int64_t j0,
                       int nk) {
    const int64_t s2 = p.bias_stride[2], s3 = p.bias_stride[3];
    const float* bb = p.bias + b * p.bias_stride[0] + h * p.bias_stride[1] + q0 * s2;
    for (int j = 0; j < nk; ++j) blk.add_bias(j, bb + (j0 + j) * s3, s2);
  }

  static bool run_block(const DenseAttentionParams& p, Heads& hd, int64_t b, int64_t h, int64_t q0,
                        typename Block::Scratch& scratch, bool safe) {
    const int64_t Nk = p.Nk;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
    const int64_t bh = b * p.Hk + h / (p.H / p.Hk);
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const int64_t coff = Nk - p.Nq;

    Block blk(scratch, p.D, p.Dv);
    blk.begin(p.q + b * p.qs.b + h * p.qs.h + q0 * p.qs.n, p.qs.n, nq, p.scale, safe);
    int64_t kend = Nk;
    if (p.causal) kend = std::min<int64_t>(Nk, q0 + nq + coff);
    for (int64_t j0 = 0; j0 < kend; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, kend - j0));
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[j0 + j];
        if (!any) continue;
      }
      const bool cut = p.causal && j0 + nk - 1 > q0 + coff;
      const bool plain = !p.bias && !mask && !cut;
      if constexpr (kNative) blk.scores(u16(hd.k) + bh * hd.k_head + j0 * hd.k_row, hd.k_row, nk, plain);
      else blk.scores(hd.k.data() + bh * hd.k_head + j0 * hd.k_row, hd.k_row, nk, plain);
      float* s = blk.S();
      if (p.bias) add_bias(p, blk, b, h, q0, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      if (cut)
        for (int j = 0; j < nk; ++j)
          for (int m = 0; m < nq; ++m)
            if (j0 + j > q0 + m + coff) s[j * BQ + m] = Block::kNegInf;
      if constexpr (kNative) blk.accumulate(u16(hd.v) + bh * hd.v_head + (j0 / 2) * hd.v_row, hd.v_row, nk);
      else blk.accumulate(hd.v.data() + bh * hd.v_head + j0 * hd.v_row, hd.v_row, nk);
    }
    return blk.finish(p.out + b * p.os.b + h * p.os.h + q0 * p.os.n, p.os.n);
  }

  static void run(const DenseAttentionParams& params) {
    if (params.B == 0 || params.H == 0 || params.Nq == 0 || params.Dv == 0) return;
    DenseAttentionParams p = params;
    static const float kNothing[1] = {0.f};
    if (p.Nk == 0) {
      p.k = p.v = kNothing;
      p.ks = p.vs = Strides{};
    }
    Heads hd;
    convert(p, hd);
    const int64_t nqb = (p.Nq + BQ - 1) / BQ;
    for_each_query_block<Block>(p.B * p.H * nqb, p.threads, p.D, p.Dv, [&](int64_t it, typename Block::Scratch& sc) {
      const int64_t qb = it % nqb, bh = it / nqb;
      const int64_t b = bh / p.H, h = bh % p.H;
      if (run_block(p, hd, b, h, qb * BQ, sc, false)) run_block(p, hd, b, h, qb * BQ, sc, true);
    });
  }
};

}  // namespace ga
