// bfloat16 GEMM (ga::gemm_abt_bf16) on every ISA this CPU runs, emulated and with every native
// reduced-precision set (dispatch/dispatch.h): (1) the rounding is bit-identical to the scalar
// rule of kernels/bf16.h, vectorised conversions and tails alike (A times the identity gives
// back A rounded); (2) products against a double reference over the rounded inputs. Products of
// two bfloat16 values are exact in float32, so only the float32 summation order errs: the same
// bound as the float32 GEMM test, (K+2)·2^-23·Σ|a·b|.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch/cpu_features.h"
#include "dispatch/dispatch.h"
#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "tests/test_util.h"

namespace {

using gatest::Rng;
struct TestTag {};
using B16 = ga::Bf16<TestTag>;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Every (ISA, reduced-precision choice) pair: fn(label).
template <class Fn>
void for_each_path(Fn fn) {
  const std::string keep_isa = ga::active_isa().name, keep_rp = ga::active_reduced_precision_isa();
  std::vector<std::string> rps{"emulated"};
  for (const std::string& s : ga::available_reduced_precision_isas()) rps.push_back(s);
  for (const std::string& isa : ga::available_isas())
    for (const std::string& rp : rps) {
      ga::set_active_isa(isa);
      ga::set_reduced_precision_isa(rp);
      fn(isa + "/" + ga::active_reduced_precision_isa());
    }
  ga::set_active_isa(keep_isa);
  ga::set_reduced_precision_isa(keep_rp == "emulated" ? "emulated" : "auto");
}

GA_TEST(bf16_scalar_rounding_rule) {
  std::string sets;
  for (const std::string& s : ga::available_reduced_precision_isas()) sets += " " + s;
  std::printf("  native reduced-precision sets here:%s\n", sets.empty() ? " (none)" : sets.c_str());
  CHECK(B16::from_float(1.0f) == 0x3f80);
  CHECK(B16::from_float(from_bits(0x3f808000u)) == 0x3f80);  // tie, even below
  CHECK(B16::from_float(from_bits(0x3f818000u)) == 0x3f82);  // tie, even above
  CHECK(B16::from_float(from_bits(0x3f808001u)) == 0x3f81);  // just above the tie
  CHECK(B16::from_float(from_bits(0x00000001u)) == 0x0000);  // subnormal -> +0
  CHECK(B16::from_float(from_bits(0x807fffffu)) == 0x8000);  // -subnormal -> -0
  CHECK(B16::from_float(from_bits(0x7f7fffffu)) == 0x7f80);  // FLT_MAX rounds to +inf
  CHECK(B16::from_float(INFINITY) == 0x7f80);
  CHECK(B16::from_float(-INFINITY) == 0xff80);
  CHECK(std::isnan(B16::to_float(B16::from_float(NAN))));
  CHECK(B16::from_float(from_bits(0x7f800001u)) == 0x7fc0);  // signalling NaN made quiet
}

// The AMX permission request: asked by dispatch just before it offers the amxbf16 set (where the
// CPU has AMX-BF16 and AVX512-BF16), answered once. Without usable AMX-BF16 it is refused with a
// reason; with it, Linux 5.16+ grants it (no small alternate signal stack here).
GA_TEST(amx_permission_request) {
  const std::vector<std::string> sets = ga::available_reduced_precision_isas();
  const bool offered = std::find(sets.begin(), sets.end(), "amxbf16") != sets.end();
  CHECK(!offered || ga::amx_permission_granted());
  const ga::ReducedPrecisionFeatures& f = ga::reduced_precision_features();
  if (!(f.amx_bf16 && f.avx512bf16)) CHECK(!ga::amx_permission_granted() && !offered);
  std::string error;
  const bool granted = ga::request_amx_permission(&error);
  if (ga::reduced_precision_features().amx_bf16) {
    CHECK_MSG(granted, "AMX-BF16 present but permission refused: %s", error.c_str());
  } else {
    CHECK(!granted);
    CHECK(!error.empty());
  }
  CHECK(ga::amx_permission_granted() == granted);
  std::string again;
  CHECK(ga::request_amx_permission(&again) == granted && again == error);
}

// A (M x K) times the identity (K x K): C = round(A), read through each path's A conversion
// (whole vectors and the scalar tail: K = 45 is neither a multiple of 16 nor of 32).
GA_TEST(bf16_gemm_rounding_matches_scalar_rule) {
  const int64_t M = 13, K = 45;
  Rng r(7);
  std::vector<float> a(static_cast<size_t>(M * K)), id(static_cast<size_t>(K * K), 0.f);
  for (int64_t k = 0; k < K; ++k) id[k * K + k] = 1.f;
  for (int64_t i = 0; i < M * K; ++i) {
    const uint32_t kind = static_cast<uint32_t>(r.below(6));
    const float base = r.uniform(-3.f, 3.f);
    uint32_t u = bits(base);
    if (kind == 0) u = (u & 0xffff0000u) | 0x8000u;                                        // exact tie
    else if (kind == 1) u = (u & 0x80000000u) | static_cast<uint32_t>(r.below(0x7fffff));  // subnormal
    else if (kind == 2) u = (u & 0xffff0000u) | 0x7fffu;                                   // just below a tie
    else if (kind == 3) u = (u & 0xffff0000u) | 0x8001u;                                   // just above a tie
    a[i] = from_bits(u);
  }
  for_each_path([&](const std::string& label) {
    std::vector<float> c(static_cast<size_t>(M * K), -1.f);
    ga::GemmBf16Params p;
    p.g.a = a.data();
    p.g.b = id.data();
    p.g.c = c.data();
    p.g.M = M;
    p.g.N = K;
    p.g.K = K;
    p.g.lda = p.g.ldb = p.g.ldc = K;
    p.g.threads = 1;
    ga::gemm_abt_bf16(p);
    int64_t bad = 0;
    for (int64_t i = 0; i < M * K; ++i)
      if (c[i] != B16::round(a[i]) && bad++ == 0)
        CHECK_MSG(false, "%s: round(%a) = %a, want %a", label.c_str(), a[i], c[i], B16::round(a[i]));
    CHECK_MSG(bad == 0, "%s: %lld rounding mismatches", label.c_str(), static_cast<long long>(bad));
  });
}

GA_TEST(bf16_gemm_against_reference) {
  const int64_t shapes[][3] = {{1, 1, 1},      {7, 5, 3},    {6, 64, 32},   {13, 67, 45},
                               {100, 33, 130}, {97, 130, 2}, {64, 16, 257}, {130, 70, 1500}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    Rng r(static_cast<uint64_t>(M * 7919 + N * 31 + K));
    std::vector<float> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(N * K));
    for (auto& x : a) x = r.uniform(-1.f, 1.f);
    for (auto& x : b) x = r.uniform(-1.f, 1.f);
    std::vector<double> ref(static_cast<size_t>(M * N)), mag(static_cast<size_t>(M * N));
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double sum = 0, m = 0;
        for (int64_t q = 0; q < K; ++q) {
          const double pr = static_cast<double>(B16::round(a[i * K + q])) * B16::round(b[j * K + q]);
          sum += pr;
          m += std::fabs(pr);
        }
        ref[i * N + j] = sum;
        mag[i * N + j] = m;
      }
    for (int variant = 0; variant < 4; ++variant) {
      const bool accumulate = variant & 1, strided = variant & 2;
      const int64_t lda = strided ? K + 3 : K, ldb = strided ? K + 1 : K, ldc = strided ? N + 5 : N;
      std::vector<float> as(static_cast<size_t>(M * lda), 99.f), bs(static_cast<size_t>(N * ldb), 99.f);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t q = 0; q < K; ++q) as[i * lda + q] = a[i * K + q];
      for (int64_t j = 0; j < N; ++j)
        for (int64_t q = 0; q < K; ++q) bs[j * ldb + q] = b[j * K + q];
      for_each_path([&](const std::string& label) {
        for (int threads = 1; threads <= 2; ++threads) {
          std::vector<float> c(static_cast<size_t>(M * ldc), 0.5f);
          ga::GemmBf16Params p;
          p.g.a = as.data();
          p.g.b = bs.data();
          p.g.c = c.data();
          p.g.M = M;
          p.g.N = N;
          p.g.K = K;
          p.g.lda = lda;
          p.g.ldb = ldb;
          p.g.ldc = ldc;
          p.g.accumulate = accumulate;
          p.g.threads = threads;
          ga::gemm_abt_bf16(p);
          int64_t bad = 0;
          for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < N; ++j) {
              const double want = ref[i * N + j] + (accumulate ? 0.5 : 0.0);
              const double tol = (K + 2) * std::ldexp(1.0, -23) * (mag[i * N + j] + 0.5);
              if (!(std::fabs(c[i * ldc + j] - want) <= tol) && bad++ == 0)
                CHECK_MSG(false, "%s M=%lld N=%lld K=%lld acc=%d strided=%d t=%d: c[%lld][%lld] = %g, want %g",
                          label.c_str(), (long long)M, (long long)N, (long long)K, accumulate, strided, threads,
                          (long long)i, (long long)j, c[i * ldc + j], want);
            }
            for (int64_t j = N; j < ldc; ++j)
              if (c[i * ldc + j] != 0.5f && bad++ == 0) CHECK_MSG(false, "%s: wrote past N", label.c_str());
          }
          CHECK_MSG(bad == 0, "%s M=%lld N=%lld K=%lld: %lld mismatches", label.c_str(), (long long)M, (long long)N,
                    (long long)K, static_cast<long long>(bad));
        }
      });
    }
  }
}

}  // namespace
