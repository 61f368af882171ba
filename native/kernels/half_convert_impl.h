// HalfConvertParams (kernels/half_convert.h) over a vector type V, compiled per ISA: V's
// load_f16 / load_bf16 / store_f16 / store_bf16 convert W values at a time; the last n % W go
// through a zero-padded W-wide buffer, so no scalar conversion code is compiled here (a shared
// inline copy built with this ISA's flags could be picked by the linker for baseline code).
#pragma once
#include <cstdint>

#include "kernels/half_convert.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct HalfConvertKernel {
  using R = typename V::R;
  static constexpr int W = V::W;

  template <bool kBf16>
  static void widen(const uint16_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(dst + i, kBf16 ? V::load_bf16(src + i) : V::load_f16(src + i));
    if (i < n) {
      uint16_t t[W] = {};
      float f[W];
      for (int64_t j = i; j < n; ++j) t[j - i] = src[j];
      V::store(f, kBf16 ? V::load_bf16(t) : V::load_f16(t));
      for (int64_t j = i; j < n; ++j) dst[j] = f[j - i];
    }
  }

  template <bool kBf16>
  static void narrow(const float* src, int64_t n, uint16_t* dst) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      if (kBf16) V::store_bf16(dst + i, V::load(src + i));
      else V::store_f16(dst + i, V::load(src + i));
    }
    if (i < n) {
      uint16_t t[W];
      const R x = V::load_partial(src + i, static_cast<int>(n - i));
      if (kBf16) V::store_bf16(t, x);
      else V::store_f16(t, x);
      for (int64_t j = i; j < n; ++j) dst[j] = t[j - i];
    }
  }
  static void run(const HalfConvertParams& p) {
    if (p.n <= 0) return;
    // Chunks of 64 Ki values: memory-bound, so threads help only on large tensors.
    constexpr int64_t kChunk = int64_t{1} << 16;
    const int64_t chunks = (p.n + kChunk - 1) / kChunk;
    const int threads = static_cast<int>(p.threads < 1 ? 1 : p.threads < chunks ? p.threads : chunks);
    parallel_items(chunks, threads, [&](int, ItemCounter& items) {
      int64_t it;
      while (items.next(it)) {
        const int64_t from = it * kChunk, len = p.n - from < kChunk ? p.n - from : kChunk;
        if (p.to_float) {
          if (p.bf16) widen<true>(p.src16 + from, len, p.dst32 + from);
          else widen<false>(p.src16 + from, len, p.dst32 + from);
        } else {
          if (p.bf16) narrow<true>(p.src32 + from, len, p.dst16 + from);
          else narrow<false>(p.src32 + from, len, p.dst16 + from);
        }
      }
    });
  }
};

}  // namespace ga
