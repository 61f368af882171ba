// The 16-bit GEMM on packed B (ga::gemm_abt_bf16_packed / _fp16_packed, kernels/gemm_bf16_packed.h)
// on every ISA and reduced-precision choice: against the same path's gemm_abt_bf16 / _fp16 on the
// unpacked rows. Native kernels sum the same products in the same order, so they must agree bit
// for bit; the emulated ones may sum in another order (the float32 GEMM's packed-panel order
// against its few-row dot products), so within the float32 summation bound (K+2)·2^-23·Σ|a·b|.
// Also: groups with a C group stride (head-major outputs), odd K (the zero pad pair), a16 input,
// accumulate, and the pack's layout (gemm_packed16_index) against the plain rows.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/bf16.h"
#include "kernels/fp16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_bf16_packed.h"
#include "tests/test_util.h"

namespace {

using gatest::Rng;
struct TestTag {};

template <class Fn>
void for_each_path(Fn fn) {
  const std::string keep_isa = ga::active_isa().name, keep_rp = ga::active_reduced_precision_isa();
  std::vector<std::string> rps{"emulated", "auto"};  // "auto": every set of the ISA at once
  for (const std::string& s : ga::available_reduced_precision_isas()) rps.push_back(s);
  for (const std::string& isa : ga::available_isas())
    for (const std::string& rp : rps) {
      ga::set_active_isa(isa);
      ga::set_reduced_precision_isa(rp);
      fn(isa + "/" + ga::active_reduced_precision_isa(), ga::active_reduced_precision_isa());
    }
  ga::set_active_isa(keep_isa);
  ga::set_reduced_precision_isa(keep_rp == "emulated" ? "emulated" : "auto");
}

template <class T16>
void check_packed(bool fp16) {
  // {M, N, K, group_n, c_group_stride}
  const int64_t shapes[][5] = {{1, 1, 1, 0, 0},     {1, 512, 64, 0, 0},   {3, 96, 45, 32, 40},    {7, 130, 33, 65, 0},
                               {13, 67, 130, 0, 0}, {97, 128, 2, 16, 16}, {100, 200, 257, 40, 50}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2], gn = s[3] > 0 ? s[3] : N, cgs = s[4] > 0 ? s[4] : gn;
    const int64_t groups = N / gn, ldc = (groups - 1) * cgs + gn + 3;
    Rng r(static_cast<uint64_t>(M * 7919 + N * 31 + K));
    std::vector<float> a(static_cast<size_t>(M * K));
    std::vector<uint16_t> a16(a.size()), b16(static_cast<size_t>(N * K));
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = r.uniform(-1.f, 1.f);
      a16[i] = T16::from_float(a[i]);
    }
    for (auto& x : b16) x = T16::from_float(r.uniform(-1.f, 1.f));
    const int64_t size = ga::gemm_packed16_size(N, K, s[3]);
    CHECK(size >= N * K);
    std::vector<uint16_t> packed(static_cast<size_t>(size), 0xffff);
    ga::gemm_pack_b16(b16.data(), N, K, K, s[3], packed.data());
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) CHECK(packed[ga::gemm_packed16_index(j, k, K, gn)] == b16[j * K + k]);
    for (int accumulate = 0; accumulate < 2; ++accumulate)
      for (int use_a16 = 0; use_a16 < 2; ++use_a16)
        for_each_path([&](const std::string& label, const std::string& sets) {
          // Native for this type when an active set is for it (sets are named <base><type>).
          const bool native = sets.find(fp16 ? "fp16" : "bf16") != std::string::npos;
          std::vector<float> want(static_cast<size_t>(M * ldc), 0.5f), got(want);
          for (int64_t gi = 0; gi < groups; ++gi) {  // reference: each group's rows, unpacked
            ga::GemmBf16Params u;
            u.g.a = use_a16 ? nullptr : a.data();
            u.a16 = use_a16 ? a16.data() : nullptr;
            u.b16 = b16.data() + gi * gn * K;
            u.g.c = want.data() + gi * cgs;
            u.g.M = M;
            u.g.N = gn;
            u.g.K = K;
            u.g.lda = u.g.ldb = K;
            u.g.ldc = ldc;
            u.g.accumulate = accumulate != 0;
            u.g.threads = 2;
            fp16 ? ga::gemm_abt_fp16(u) : ga::gemm_abt_bf16(u);
          }
          ga::GemmPacked16Params p;
          p.g.a = use_a16 ? nullptr : a.data();
          p.a16 = use_a16 ? a16.data() : nullptr;
          p.b16_packed = packed.data();
          p.g.c = got.data();
          p.g.M = M;
          p.g.N = N;
          p.g.K = K;
          p.g.lda = K;
          p.g.ldc = ldc;
          p.g.b_group_n = s[3];
          p.g.c_group_stride = s[4];
          p.g.accumulate = accumulate != 0;
          p.g.threads = 2;
          fp16 ? ga::gemm_abt_fp16_packed(p) : ga::gemm_abt_bf16_packed(p);
          int64_t bad = 0;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t c = 0; c < ldc; ++c) {
              const float w = want[i * ldc + c], g = got[i * ldc + c];
              double tol = 0;
              const int64_t gi = c / cgs, j = c % cgs;
              if (!native && gi < groups && j < gn) {
                double sum = 0;
                for (int64_t k = 0; k < K; ++k)
                  sum += std::fabs(double(T16::to_float(a16[i * K + k])) * T16::to_float(b16[(gi * gn + j) * K + k]));
                tol = (K + 2) * std::ldexp(1.0, -23) * sum;
              }
              if (!(std::fabs(double(w) - g) <= tol) && bad++ == 0)
                CHECK_MSG(false, "%s %s M=%lld N=%lld K=%lld gn=%lld: C[%lld][%lld] = %a, unpacked %a",
                          fp16 ? "fp16" : "bf16", label.c_str(), (long long)M, (long long)N, (long long)K,
                          (long long)gn, (long long)i, (long long)c, g, w);
            }
          CHECK_MSG(bad == 0, "%s: %lld mismatches", label.c_str(), (long long)bad);
        });
  }
}

GA_TEST(bf16_packed_gemm_matches_unpacked) { check_packed<ga::Bf16<TestTag>>(false); }
GA_TEST(fp16_packed_gemm_matches_unpacked) { check_packed<ga::Fp16<TestTag>>(true); }

GA_TEST(packed16_sizes) {
  CHECK(ga::gemm_packed16_size(17, 5, 0) == 2 * 6 * 16);
  CHECK(ga::gemm_packed16_size(20, 4, 10) == 2 * 4 * 16);
  CHECK(ga::gemm_packed16_size(20, 4, 3) == -1);
  CHECK(ga::gemm_packed16_size(-1, 4, 0) == -1);
  CHECK(ga::gemm_packed16_size(0, 4, 0) == 0);
}

}  // namespace
