// GEMM (ga::gemm_abt, C = A·Bᵀ) against a double-precision reference, on every ISA this CPU can
// run, over odd shapes, accumulate mode, row strides and 1 or 2 threads.
//
// Tolerance: any order of float32 summation of K products plus (when accumulating) the old C
// value errs by at most ~(K+2)·u·(Σ|a·b| + |c0|), u = 2^-24; we allow (K+2)·2^-23·(...).
#include <cmath>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/gemm.h"
#include "tests/test_util.h"

namespace {

using gatest::Rng;

struct Problem {
  int64_t M, N, K;
  std::vector<float> a, b;  // contiguous [M,K], [N,K]
  std::vector<double> ref;  // Σ a·b
  std::vector<double> mag;  // Σ |a·b|
  Problem(int64_t m, int64_t n, int64_t k, uint64_t seed) : M(m), N(n), K(k) {
    Rng r(seed);
    a.resize(static_cast<size_t>(M * K));
    b.resize(static_cast<size_t>(N * K));
    for (auto& x : a) x = r.uniform(-1.f, 1.f);
    for (auto& x : b) x = r.uniform(-1.f, 1.f);
    ref.assign(static_cast<size_t>(M * N), 0.0);
    mag.assign(static_cast<size_t>(M * N), 0.0);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0, t = 0;
        for (int64_t q = 0; q < K; ++q) {
          const double p = static_cast<double>(a[i * K + q]) * b[j * K + q];
          s += p;
          t += std::fabs(p);
        }
        ref[i * N + j] = s;
        mag[i * N + j] = t;
      }
  }
};

constexpr float kSentinel = -12345.75f;

// Runs one configuration; returns the number of mismatching elements (reports the first).
int64_t run_case(const Problem& P, const std::string& isa, bool accumulate, bool strided, int threads) {
  const int64_t M = P.M, N = P.N, K = P.K;
  const int64_t lda = strided ? K + 5 : K, ldb = strided ? K + 3 : K, ldc = strided ? N + 7 : N;
  // Strided copies with sentinels in the gaps (the kernel must neither need nor touch them).
  std::vector<float> a(static_cast<size_t>(M * lda + 1), kSentinel), b(static_cast<size_t>(N * ldb + 1), kSentinel);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t q = 0; q < K; ++q) a[i * lda + q] = P.a[i * K + q];
  for (int64_t j = 0; j < N; ++j)
    for (int64_t q = 0; q < K; ++q) b[j * ldb + q] = P.b[j * K + q];
  std::vector<float> c(static_cast<size_t>(M * ldc + 8), kSentinel), c0;
  Rng r(static_cast<uint64_t>(M * 1000003 + N * 1009 + K));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) c[i * ldc + j] = accumulate ? r.uniform(-4.f, 4.f) : 777.f;  // 777: must be overwritten
  c0 = c;

  ga::GemmParams p;
  p.a = a.data();
  p.b = b.data();
  p.c = c.data();
  p.M = M;
  p.N = N;
  p.K = K;
  p.lda = lda;
  p.ldb = ldb;
  p.ldc = ldc;
  p.accumulate = accumulate;
  p.threads = threads;
  ga::gemm_abt(p);

  int64_t bad = 0;
  const double u2 = std::ldexp(1.0, -23);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const double base = accumulate ? c0[i * ldc + j] : 0.0;
      const double want = P.ref[i * N + j] + base;
      const double tol = (K + 2) * u2 * (P.mag[i * N + j] + std::fabs(base)) + 1e-30;
      const double got = c[i * ldc + j];
      if (!(std::fabs(got - want) <= tol)) {
        if (bad++ == 0)
          CHECK_MSG(false, "gemm %s M=%lld N=%lld K=%lld acc=%d strided=%d threads=%d: C[%lld,%lld]=%.9g want %.9g (tol %.3g)",
                    isa.c_str(), (long long)M, (long long)N, (long long)K, accumulate, strided, threads, (long long)i,
                    (long long)j, got, want, tol);
      }
    }
    for (int64_t j = N; j < ldc; ++j)
      if (c[i * ldc + j] != kSentinel && bad++ == 0)
        CHECK_MSG(false, "gemm %s M=%lld N=%lld K=%lld: wrote into the row gap at [%lld,%lld]", isa.c_str(),
                  (long long)M, (long long)N, (long long)K, (long long)i, (long long)j);
  }
  for (size_t q = static_cast<size_t>(M * ldc); q < c.size(); ++q)
    if (c[q] != kSentinel && bad++ == 0)
      CHECK_MSG(false, "gemm %s M=%lld N=%lld K=%lld: wrote past the end of C", isa.c_str(), (long long)M,
                (long long)N, (long long)K);
  return bad;
}

GA_TEST(gemm_odd_shapes_all_isas) {
  const int64_t sizes[] = {1, 3, 7, 17, 64, 100, 257};
  const auto isas = ga::available_isas();
  uint64_t seed = 1;
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) {
        const Problem P(M, N, K, seed++);
        for (const auto& isa : isas) {
          CHECK(ga::set_active_isa(isa));
          // Four combinations per ISA cover every flag both ways and both thread counts.
          int64_t bad = 0;
          bad += run_case(P, isa, false, false, 1);
          bad += run_case(P, isa, true, true, 2);
          bad += run_case(P, isa, false, true, 2);
          bad += run_case(P, isa, true, false, 1);
          CHECK_MSG(bad == 0, "gemm %s M=%lld N=%lld K=%lld: %lld bad elements", isa.c_str(), (long long)M,
                    (long long)N, (long long)K, (long long)bad);
        }
      }
  ga::set_active_isa(isas.back());
}

// Shapes of the layer projections, a K past the kernel's K block, and the small-M dot path's
// boundary on every ISA.
GA_TEST(gemm_layer_shapes_and_k_blocking) {
  struct S { int64_t M, N, K; };
  const S shapes[] = {{300, 512, 512}, {37, 512, 512}, {130, 1024, 1024}, {100, 70, 2100}, {29, 33, 1500},
                      {2, 512, 512},   {11, 513, 64},  {12, 40, 40},     {13, 40, 40},    {23, 40, 40},
                      {24, 40, 40},    {25, 49, 31},   {31, 40, 40},     {32, 40, 40},
                      {47, 96, 96},    {48, 97, 1},    {49, 64, 512}};
  const auto isas = ga::available_isas();
  uint64_t seed = 1000;
  for (const S& s : shapes) {
    const Problem P(s.M, s.N, s.K, seed++);
    for (const auto& isa : isas) {
      CHECK(ga::set_active_isa(isa));
      int64_t bad = run_case(P, isa, false, false, 2) + run_case(P, isa, true, true, 1);
      CHECK_MSG(bad == 0, "gemm %s M=%lld N=%lld K=%lld: %lld bad elements", isa.c_str(), (long long)s.M,
                (long long)s.N, (long long)s.K, (long long)bad);
    }
  }
  ga::set_active_isa(isas.back());
}

GA_TEST(gemm_degenerate) {
  const auto isas = ga::available_isas();
  for (const auto& isa : isas) {
    CHECK(ga::set_active_isa(isa));
    // K = 0: C = 0, or unchanged when accumulating.
    std::vector<float> c(6, 5.f);
    float dummy = 0.f;
    ga::GemmParams p;
    p.a = &dummy;
    p.b = &dummy;
    p.c = c.data();
    p.M = 2;
    p.N = 3;
    p.K = 0;
    p.lda = 0;
    p.ldb = 0;
    p.ldc = 3;
    p.accumulate = true;
    ga::gemm_abt(p);
    CHECK_MSG(c == std::vector<float>(6, 5.f), "%s: K=0 accumulate changed C", isa.c_str());
    p.accumulate = false;
    ga::gemm_abt(p);
    CHECK_MSG(c == std::vector<float>(6, 0.f), "%s: K=0 did not zero C", isa.c_str());
    // M = 0 or N = 0: nothing touched.
    p.K = 1;
    p.M = 0;
    c.assign(6, 5.f);
    ga::gemm_abt(p);
    p.M = 2;
    p.N = 0;
    ga::gemm_abt(p);
    CHECK_MSG(c == std::vector<float>(6, 5.f), "%s: empty M/N touched C", isa.c_str());
  }
  ga::set_active_isa(isas.back());
}

}  // namespace
