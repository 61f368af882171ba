// ga_native_tests --bench-gemm [--shape M N K] [--reps R]
// GFLOP/s of ga::gemm_abt for M=4096, N=K=512 (or --shape), per ISA, 1 and 2 threads, and the
// fraction of the one-thread FMA peak of that ISA (IsaTable::fma_peak_gflops, i.e.
// kernels/fma_peak_impl.h) times the thread count. Each repetition measures the peak right before
// the GEMM, so frequency changes hit both; medians over the repetitions (the machine this runs on
// is shared and noisy). Wall-clock time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/gemm.h"
#include "tests/test_util.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int run_gemm_bench(int argc, char** argv) {
  int64_t M = 4096, N = 512, K = 512;
  int reps = 11;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--shape") && i + 3 < argc) {
      M = std::atoll(argv[i + 1]);
      N = std::atoll(argv[i + 2]);
      K = std::atoll(argv[i + 3]);
      i += 3;
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    }
  }
  gatest::Rng r(7);
  std::vector<float> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(N * K)), c(static_cast<size_t>(M * N));
  for (auto& x : a) x = r.uniform(-1.f, 1.f);
  for (auto& x : b) x = r.uniform(-1.f, 1.f);
  ga::GemmParams p;
  p.a = a.data();
  p.b = b.data();
  p.c = c.data();
  p.M = M;
  p.N = N;
  p.K = K;
  p.lda = K;
  p.ldb = K;
  p.ldc = N;
  const double flops = 2.0 * static_cast<double>(M) * N * K;
  std::printf("GEMM C[M,N] = A[M,K]·B[N,K]^T, M=%lld N=%lld K=%lld, median of %d\n", (long long)M, (long long)N,
              (long long)K, reps);
  std::printf("%-8s %7s %12s %12s %10s\n", "isa", "threads", "GFLOP/s", "peak/thread", "% of peak");
  for (const auto& isa : ga::available_isas()) {
    ga::set_active_isa(isa);
    for (int threads : {1, 2}) {
      p.threads = threads;
      ga::gemm_abt(p);  // warm up (page faults, OpenMP pool)
      std::vector<double> g, pk, ratio;
      for (int rep = 0; rep < reps; ++rep) {
        const double peak = ga::active_isa().fma_peak_gflops(0.02);
        int n = 0;
        const double t0 = now();
        double el = 0;
        do {
          ga::gemm_abt(p);
          ++n;
          el = now() - t0;
        } while (el < 0.05);
        const double gf = flops * n / el / 1e9;
        g.push_back(gf);
        pk.push_back(peak);
        ratio.push_back(gf / (peak * threads));
      }
      std::printf("%-8s %7d %12.1f %12.1f %9.1f%%\n", isa.c_str(), threads, median(g), median(pk), 100 * median(ratio));
      std::fflush(stdout);
    }
  }
  return 0;
}
