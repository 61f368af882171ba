// Runs the dense kernel's FlashBlock micro-kernels (qk_tile and pv_tile at their full size, D = Dv
// = 64) over operands small enough to stay in L1, for `seconds` each, one thread. No cache misses,
// no softmax, no tile edges: the rate is the micro-kernels' instruction stream alone. The bench
// sets it beside fma_peak_gflops (no loads at all): the gap between them is what no tiling or
// cache work can recover, and it bounds how close a kernel built on these micro-kernels gets to
// the FMA peak (e.g. Intel cores with 512-bit FMA measured ~85-90 %: broadcast loads beside the FMAs).
#pragma once
#include <chrono>
#include <cstdint>

#include "kernels/dense_attention_impl.h"
#include "kernels/microkernel_probe.h"
#include "runtime/aligned_buffer.h"

namespace ga {

template <class V>
MicrokernelRates microkernel_rates(double seconds) {
  using Block = typename DenseAttentionKernel<V>::Block;
  constexpr int BQ = Block::BQ, KR = Block::KR, QCOL = Block::QCOL, MR = Block::MR, NV = Block::NV, W = V::W;
  constexpr int64_t D = 64, Dv = NV * W, NK = 64;  // one PV micro-tile spans all of Dv
  AlignedBuffer qt(static_cast<size_t>(D) * BQ), k(static_cast<size_t>(KR) * D), s(static_cast<size_t>(NK) * BQ);
  AlignedBuffer v(static_cast<size_t>(NK) * Dv), o(static_cast<size_t>(MR) * Dv), alpha(BQ);
  // Small values: sums stay far from overflow and from subnormals, which would slow some cores.
  for (size_t i = 0; i < qt.size(); ++i) qt.data()[i] = 1e-3f * static_cast<float>(i % 7 + 1);
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = 1e-3f * static_cast<float>(i % 5 + 1);
  for (size_t i = 0; i < s.size(); ++i) s.data()[i] = 1e-3f * static_cast<float>(i % 3 + 1);
  for (size_t i = 0; i < v.size(); ++i) v.data()[i] = 1e-3f * static_cast<float>(i % 11 + 1);
  for (size_t i = 0; i < o.size(); ++i) o.data()[i] = 0.f;
  for (int i = 0; i < BQ; ++i) alpha.data()[i] = 0.5f;  // keeps O bounded across calls

  using Clock = std::chrono::steady_clock;
  const auto rate = [&](auto&& call, double flops_per_call) {
    int64_t calls = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    do {
      for (int i = 0; i < 256; ++i) call();
      calls += 256;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (elapsed < seconds);
    return static_cast<double>(calls) * flops_per_call / elapsed / 1e9;
  };
  MicrokernelRates r;
  // A block's worth of QK micro-tiles for KR keys: each QCOL queries over D dimensions.
  r.qk_gflops = rate(
      [&] {
        for (int c = 0; c < BQ; c += QCOL)
          Block::template qk_tile<KR, false>(k.data(), D, D, qt.data() + c, s.data() + c, nullptr, nullptr);
      },
      2.0 * KR * BQ * D);
  r.pv_gflops =
      rate([&] { Block::template pv_tile<NV, false>(s.data(), NK, v.data(), Dv, o.data(), Dv, alpha.data(), nullptr); },
           2.0 * MR * Dv * NK);
  // Keep the results observable so the calls are not optimized away.
  volatile float keep = s.data()[0] + o.data()[0];
  (void)keep;
  return r;
}

}  // namespace ga
