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

// Rounding: Bf16<V>, or Fp16<V> for precision 'fp16' (kernels/fp16.h); native, V::Half (float16 for
// simd/vec_neon_fp16.h). Block: FlashBlockBf16, or a block with its interface and other
// micro-kernels (kernels/flash_block_amx.h: the products on AMX tiles).
template <class V, bool kNative, class Rounding = Bf16<V>,
          class Block_ = FlashBlockBf16<V, 2 * V::kQkVecs * V::W, kNative, Rounding>>
struct DenseAttentionBf16Kernel {
  using Block = Block_;
  static constexpr int BQ = Block::BQ;
  static constexpr int BK = Block::BK;

  // Per-head rounded copies of K and V (FlashBlockBf16::Operand).
  struct Heads {
    typename Block::Operand k, v;
  };
  static constexpr size_t kKeptFloats = size_t{4} << 20;  // 16 MiB

  static void convert(const DenseAttentionParams& p, Heads& h) {
    const typename Block::OperandSource src[2] = {{&h.k, false, p.k, p.Nk, p.D, p.ks.n, p.ks.b, p.ks.h},
                                                  {&h.v, true, p.v, p.Nk, p.Dv, p.vs.n, p.vs.b, p.vs.h}};
    Block::make_operands(src, 2, p.B * p.Hk, p.Hk, p.threads);
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
      blk.scores(hd.k.at(bh, j0), hd.k.row, nk, plain);
      float* s = blk.S();
      if (p.bias) add_bias(p, blk, b, h, q0, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      if (cut)
        for (int j = 0; j < nk; ++j)
          for (int m = 0; m < nq; ++m)
            if (j0 + j > q0 + m + coff) s[j * BQ + m] = Block::kNegInf;
      blk.accumulate(hd.v.at(bh, j0), hd.v.row, nk);
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
    // The rounded copies go into buffers each calling thread keeps between calls, up to
    // kKeptFloats per thread and per instantiation (each kernel set and rounding keeps its own):
    // fresh ones are fresh pages, whose clearing by the kernel measured ~7% of a dense call on AMX
    // tiles (N = 4096, H = 8, D = 64: 8 MiB of copies). Freed at thread exit.
    thread_local Heads kept;
    Heads& hd = kept;
    struct Trim {
      Heads& h;
      ~Trim() {
        if (h.k.buf.size() + h.v.buf.size() > kKeptFloats) {
          h.k.buf.resize(0);
          h.v.buf.resize(0);
        }
      }
    } trim{hd};
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
