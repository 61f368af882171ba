// GEMM (ga::gemm_abt, C = A·Bᵀ) against a double-precision reference, on every ISA this CPU can
// run, over odd shapes, accumulate mode, row strides and 1 or 2 threads.
//
// Pre-packed B (gemm_pack_b once, then gemm_abt on b_packed): against the same reference, packed
// under one ISA and multiplied under every ISA (the packed layout is ISA-independent), in row
// groups written to head-major C, and bit-identical to the per-call path where both run the same
// register tiles (M >= 64, above every ISA's small-M dot-product threshold).
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
    for (int64_t j = 0; j < N; ++j)
      c[i * ldc + j] = accumulate ? r.uniform(-4.f, 4.f) : 777.f;  // 777: must be overwritten
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
          CHECK_MSG(false,
                    "gemm %s M=%lld N=%lld K=%lld acc=%d strided=%d threads=%d: C[%lld,%lld]=%.9g want %.9g (tol %.3g)",
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
      CHECK_MSG(false, "gemm %s M=%lld N=%lld K=%lld: wrote past the end of C", isa.c_str(), (long long)M, (long long)N,
                (long long)K);
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
  struct S {
    int64_t M, N, K;
  };
  const S shapes[] = {{300, 512, 512}, {37, 512, 512}, {130, 1024, 1024}, {100, 70, 2100}, {29, 33, 1500},
                      {2, 512, 512},   {11, 513, 64},  {12, 40, 40},      {13, 40, 40},    {23, 40, 40},
                      {24, 40, 40},    {25, 49, 31},   {31, 40, 40},      {32, 40, 40},    {47, 96, 96},
                      {48, 97, 1},     {49, 64, 512}};
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

// Packs P.b (group_n rows per group; 0 = N) under the active ISA; returns the packed floats.
std::vector<float> pack(const Problem& P, int64_t group_n, int64_t ldb_pad, int threads) {
  const int64_t ldb = P.K + ldb_pad;
  std::vector<float> b(static_cast<size_t>(P.N * ldb + 1), kSentinel);
  for (int64_t j = 0; j < P.N; ++j)
    for (int64_t q = 0; q < P.K; ++q) b[j * ldb + q] = P.b[j * P.K + q];
  ga::GemmPackParams pp;
  pp.b = b.data();
  pp.N = P.N;
  pp.K = P.K;
  pp.ldb = ldb;
  pp.group_n = group_n;
  pp.threads = threads;
  const int64_t size = ga::gemm_pack_b(pp);
  CHECK_MSG(size >= P.N * P.K, "gemm_pack_b N=%lld K=%lld group_n=%lld: size %lld", (long long)P.N, (long long)P.K,
            (long long)group_n, (long long)size);
  std::vector<float> out(static_cast<size_t>(size > 0 ? size : 0), kSentinel);
  pp.dst = out.data();
  CHECK(ga::gemm_pack_b(pp) == size);
  return out;
}

// C = A·Bᵀ through packed B. head_major: C is [groups, M, gn] (ldc = gn, group stride M·gn), else
// [M, N] with row stride N + 7 (gaps checked). Returns the bad-element count; c receives C in
// [M, N] order.
int64_t run_packed_case(const Problem& P, const std::vector<float>& packed, int64_t gn, bool head_major,
                        bool accumulate, int threads, const std::string& isa, std::vector<float>* result) {
  const int64_t M = P.M, N = P.N, K = P.K, groups = N / gn;
  const int64_t ldc = head_major ? gn : N + 7, cgs = head_major ? M * gn : gn;
  const int64_t csize = head_major ? M * N : M * ldc;
  auto at = [&](int64_t i, int64_t j) { return i * ldc + (j / gn) * cgs + j % gn; };
  std::vector<float> c(static_cast<size_t>(csize + 8), kSentinel);
  Rng r(static_cast<uint64_t>(M * 7 + N * 131 + K));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) c[at(i, j)] = accumulate ? r.uniform(-4.f, 4.f) : 777.f;
  const std::vector<float> c0 = c;
  ga::GemmParams p;
  p.a = P.a.data();
  p.lda = K;
  p.b_packed = packed.data();
  p.b_group_n = gn == N ? 0 : gn;
  p.c_group_stride = head_major ? cgs : 0;
  p.c = c.data();
  p.ldc = ldc;
  p.M = M;
  p.N = N;
  p.K = K;
  p.accumulate = accumulate;
  p.threads = threads;
  ga::gemm_abt(p);
  int64_t bad = 0;
  const double u2 = std::ldexp(1.0, -23);
  std::vector<uint8_t> touched(c.size(), 0);
  if (result) result->assign(static_cast<size_t>(M * N), 0.f);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const int64_t q = at(i, j);
      touched[static_cast<size_t>(q)] = 1;
      if (result) (*result)[static_cast<size_t>(i * N + j)] = c[q];
      const double base = accumulate ? c0[q] : 0.0;
      const double want = P.ref[i * N + j] + base;
      const double tol = (K + 2) * u2 * (P.mag[i * N + j] + std::fabs(base)) + 1e-30;
      if (!(std::fabs(c[q] - want) <= tol) && bad++ == 0)
        CHECK_MSG(false,
                  "packed gemm %s M=%lld N=%lld K=%lld gn=%lld head_major=%d acc=%d: C[%lld,%lld]=%.9g want %.9g",
                  isa.c_str(), (long long)M, (long long)N, (long long)K, (long long)gn, head_major, accumulate,
                  (long long)i, (long long)j, c[q], want);
    }
  for (size_t q = 0; q < c.size(); ++q)
    if (!touched[q] && c[q] != kSentinel && bad++ == 0)
      CHECK_MSG(false, "packed gemm %s M=%lld N=%lld K=%lld gn=%lld groups=%lld: wrote outside C at %zu", isa.c_str(),
                (long long)M, (long long)N, (long long)K, (long long)gn, (long long)groups, q);
  return bad;
}

// Per-call path (b = P.b) into [M, N]; for the bit-identity comparison.
std::vector<float> unpacked_result(const Problem& P, int threads) {
  std::vector<float> c(static_cast<size_t>(P.M * P.N), 0.f);
  ga::GemmParams p;
  p.a = P.a.data();
  p.b = P.b.data();
  p.c = c.data();
  p.M = P.M;
  p.N = P.N;
  p.K = P.K;
  p.lda = p.ldb = P.K;
  p.ldc = P.N;
  p.threads = threads;
  ga::gemm_abt(p);
  return c;
}

GA_TEST(gemm_packed_b_all_isas) {
  struct S {
    int64_t M, N, K, gn;
  };
  // N not a multiple of any tile width (4, 12, 16, 64), M = 1..7 (decode steps), odd K, K past
  // the K block, groups of a head's width (D = 8: half a panel; 64; 24: two NEON tiles, the second
  // straddling two panels; 70: four panels + 6).
  std::vector<S> shapes;
  for (int64_t M = 1; M <= 7; ++M) shapes.push_back({M, 97, 33, 97});
  const S more[] = {{1, 1, 1, 1},         {2, 7, 3, 7},       {3, 130, 2100, 130}, {5, 200, 64, 8},
                    {1, 1000, 40, 1000},  {4, 192, 31, 64},   {6, 144, 17, 24},    {1, 140, 9, 70},
                    {24, 65, 50, 65},     {47, 129, 77, 129}, {48, 96, 96, 24},    {64, 257, 100, 257},
                    {100, 128, 1500, 64}, {131, 70, 64, 70},  {97, 520, 33, 8},    {300, 513, 257, 513}};
  for (const S& s : more) shapes.push_back(s);
  const auto isas = ga::available_isas();
  uint64_t seed = 5000;
  for (const S& s : shapes) {
    const Problem P(s.M, s.N, s.K, seed++);
    for (const auto& pack_isa : isas) {
      CHECK(ga::set_active_isa(pack_isa));
      const std::vector<float> packed = pack(P, s.gn, seed % 3, 1 + static_cast<int>(seed % 2));
      if (pack_isa != isas.front()) {
        // The packed form itself is ISA-independent.
        CHECK(ga::set_active_isa(isas.front()));
        CHECK_MSG(pack(P, s.gn, 0, 1) == packed, "gemm_pack_b under %s differs from %s", pack_isa.c_str(),
                  isas.front().c_str());
      }
      for (const auto& isa : isas) {
        CHECK(ga::set_active_isa(isa));
        std::vector<float> got;
        int64_t bad = run_packed_case(P, packed, s.gn, false, false, 2, isa, &got) +
                      run_packed_case(P, packed, s.gn, true, true, 1, isa, nullptr) +
                      run_packed_case(P, packed, s.gn, s.gn != s.N, false, 1, isa, nullptr);
        CHECK_MSG(bad == 0, "packed gemm %s (packed under %s) M=%lld N=%lld K=%lld gn=%lld: %lld bad", isa.c_str(),
                  pack_isa.c_str(), (long long)s.M, (long long)s.N, (long long)s.K, (long long)s.gn, (long long)bad);
        if (s.M >= 64)
          CHECK_MSG(got == unpacked_result(P, 2),
                    "packed gemm %s M=%lld N=%lld K=%lld: not bit-identical to the "
                    "per-call path",
                    isa.c_str(), (long long)s.M, (long long)s.N, (long long)s.K);
      }
    }
  }
  ga::set_active_isa(isas.back());
}

// K = 0 through packed B: each group's columns of C zeroed at their head-major place, the gaps not
// touched; accumulate leaves C as it was.
GA_TEST(gemm_packed_degenerate) {
  const auto isas = ga::available_isas();
  for (const auto& isa : isas) {
    CHECK(ga::set_active_isa(isa));
    std::vector<float> c(2 * 3 * 4 + 2, 5.f);  // C [groups 2, M 3, ldc 4], group_n 2: columns 2-3 are gaps
    float dummy = 0.f;
    ga::GemmParams p;
    p.a = &dummy;
    p.b_packed = &dummy;
    p.b_group_n = 2;
    p.c_group_stride = 12;
    p.c = c.data();
    p.M = 3;
    p.N = 4;
    p.K = 0;
    p.ldc = 4;
    p.accumulate = true;
    ga::gemm_abt(p);
    CHECK_MSG(c == std::vector<float>(26, 5.f), "%s: packed K=0 accumulate changed C", isa.c_str());
    p.accumulate = false;
    ga::gemm_abt(p);
    for (size_t q = 0; q < c.size(); ++q) {
      const bool inside = q < 24 && q % 4 < 2;
      CHECK_MSG(c[q] == (inside ? 0.f : 5.f), "%s: packed K=0 C[%zu] = %g", isa.c_str(), q, c[q]);
    }
  }
  ga::set_active_isa(isas.back());
}

GA_TEST(gemm_pack_b_sizes) {
  ga::GemmPackParams pp;
  pp.N = 130;
  pp.K = 5;
  CHECK(ga::gemm_pack_b(pp) == 9 * 5 * 16);
  pp.group_n = 65;  // two groups of five panels
  CHECK(ga::gemm_pack_b(pp) == 10 * 5 * 16);
  pp.group_n = 7;  // 130 is not a multiple of 7
  CHECK(ga::gemm_pack_b(pp) == -1);
  pp.group_n = 0;
  pp.N = -1;
  CHECK(ga::gemm_pack_b(pp) == -1);
  pp.N = 0;
  CHECK(ga::gemm_pack_b(pp) == 0);
}

}  // namespace
