// Measures this core's peak FMA throughput for vector type V: enough independent FMA chains
// to cover latency x ports (12 accumulators), no memory traffic. The bench reports kernel speed
// as a fraction of this number, measured on the spot rather than taken from a data sheet.
#pragma once
#include <chrono>
#include <cstdint>

namespace ga {

template <class V>
double fma_peak_gflops(double seconds) {
  using R = typename V::R;
  constexpr int kAcc = 12;
  R acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = V::set1(0.001f * static_cast<float>(i));
  const R a = V::set1(0.999999f), b = V::set1(1e-7f);
  const int64_t inner = 1 << 16;
  int64_t iters = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    for (int64_t r = 0; r < inner; ++r)
      for (int i = 0; i < kAcc; ++i) acc[i] = V::fmadd(acc[i], a, b);
    iters += inner;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  float sink = 0;
  for (int i = 0; i < kAcc; ++i) sink += V::hsum(acc[i]);
  volatile float keep = sink;
  (void)keep;
  return static_cast<double>(iters) * kAcc * V::W * 2 / elapsed / 1e9;
}

}  // namespace ga
