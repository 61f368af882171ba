// Transient-global attention with bfloat16 products (precision 'bf16'): TGlobalAttentionKernel
// (kernels/tglobal_attention_impl.h) over FlashBlockBf16 (kernels/flash_block_bf16.h). Same
// parameters, thread contract, biases, masks and non-finite safe pass; softmax and accumulation
// in float32. The local and global keys and values are rounded once per call into per-head copies
// (FlashBlockBf16::Operand: O(N·D), against the O(N·(2r + 1 + G)·D) products).
#pragma once
#include <cstdint>

#include "kernels/flash_block_bf16.h"
#include "kernels/tglobal_attention_impl.h"

namespace ga {

// Rounding: Bf16<V>, or Fp16<V> for precision 'fp16' (kernels/fp16.h); native, V::Half (float16 for
// simd/vec_neon_fp16.h).
template <class V, bool kNative, class Rounding = Bf16<V>>
struct TGlobalAttentionBf16Kernel {
  using Block = FlashBlockBf16<V, V::kQkVecs * V::W, kNative, Rounding>;
  using Core = TGlobalAttentionKernel<V, Block>;
  using Elem = typename Block::Elem;

  static void run(const TGlobalAttentionParams& p) {
    if (p.B == 0 || p.H == 0 || p.N == 0 || p.Dv == 0) return;
    const int64_t heads = p.B * p.H, H = p.H;
    typename Block::Operand k, v, gk, gv;
    const typename Block::OperandSource src[4] = {{&k, false, p.k, p.N, p.D, p.ks.n, p.ks.b, p.ks.h},
                                                  {&v, true, p.v, p.N, p.Dv, p.vs.n, p.vs.b, p.vs.h},
                                                  {&gk, false, p.gk, p.G, p.D, p.gks.n, p.gks.b, p.gks.h},
                                                  {&gv, true, p.gv, p.G, p.Dv, p.gvs.n, p.gvs.b, p.gvs.h}};
    Block::make_operands(src, p.G > 0 ? 4 : 2, heads, H, p.threads);
    Core::run_with(p, [&](int64_t b, int64_t h) {
      const int64_t bh = b * H + h;
      typename Core::template Heads<Elem, Elem> hd;
      hd.k = k.at(bh, 0), hd.v = v.at(bh, 0), hd.ks = k.row, hd.vs = v.row;
      if (p.G > 0) hd.gk = gk.at(bh, 0), hd.gv = gv.at(bh, 0), hd.gks = gk.row, hd.gvs = gv.row;
      hd.pairs = v.pairs;
      return hd;
    });
  }
};

}  // namespace ga
