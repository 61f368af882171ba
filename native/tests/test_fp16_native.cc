// The float16 kernels (ga::gemm_abt_fp16, dense_attention_fp16, tglobal_attention_fp16) on every
// ISA this CPU runs, emulated and with every native set, in particular neonfp16 (FMLAL/FMLAL2,
// simd/vec_neon_fp16.h; built for arm64 and run under qemu-aarch64 -cpu max, scripts/test-arm64.sh).
//
// What native must equal: the emulated path's arithmetic. Both multiply the same float16-rounded
// operands (kernels/fp16.h; a float16 x float16 product is exact in float32) and add each product
// to a float32 accumulator with one rounding; they may add in another order. Tolerances:
//  * GEMM: each path within (K+2)·2^-23·Σ|a·b| of the exact sum of the rounded products (the
//    float32 summation bound), so native and emulated within twice that of each other.
//  * Attention: scores differ by summation order only, which now and then moves a probability
//    across a float16 rounding boundary (one float16 step, at most 2^-10 of that weight): all
//    outputs within 2^-9·max|v| of the emulated ones, and >= 95 % within 1e-5·max|out| (another
//    rounding rule, e.g. truncation, moves nearly all of them by ~1e-4). Against float32: within
//    5e-3·max|out|. Weights sum to 1 within 1e-5 (V = 1 gives 1), and masked keys are excluded
//    exactly (changing their keys and values changes no output bit).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch/cpu_features.h"
#include "dispatch/dispatch.h"
#include "kernels/dense_attention.h"
#include "kernels/fp16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/tglobal_attention.h"
#include "tests/dense_case.h"
#include "tests/test_util.h"
#include "tests/tglobal_case.h"

namespace {

using gatest::Rng;
struct TestTag {};
using F16 = ga::Fp16<TestTag>;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Every (ISA, reduced-precision choice): fn(label, emulated_fp16), where emulated_fp16 says
// whether the fp16 forwarders run the emulated kernels (no set for float16 is active).
template <class Fn>
void for_each_path(Fn fn) {
  const std::string keep_isa = ga::active_isa().name, keep_rp = ga::active_reduced_precision_isa();
  std::vector<std::string> rps{"emulated", "auto"};
  for (const std::string& s : ga::available_reduced_precision_isas()) rps.push_back(s);
  for (const std::string& isa : ga::available_isas())
    for (const std::string& rp : rps) {
      ga::set_active_isa(isa);
      ga::set_reduced_precision_isa(rp);
      const std::string active = ga::active_reduced_precision_isa();
      fn(isa + "/" + rp + "=" + active, active.find("fp16") == std::string::npos);
    }
  ga::set_active_isa(keep_isa);
  ga::set_reduced_precision_isa(keep_rp == "emulated" ? "emulated" : "auto");
}

// neonfp16 is offered exactly where the build has it and hwcaps report ASIMDFHM; "auto" runs it
// beside any bfloat16 set; naming it runs it alone; it extends neon only.
GA_TEST(fp16_native_set_dispatch) {
  const std::vector<std::string> sets = ga::available_reduced_precision_isas();
  const bool offered = has(sets, "neonfp16");
#ifdef GA_HAVE_NEONFP16
  const bool want = ga::reduced_precision_features().arm_fhm && has(ga::available_isas(), "neon");
#else
  const bool want = false;
#endif
  std::printf("  neonfp16: %s (hwcaps ASIMDFHM: %s)\n", offered ? "offered" : "not offered",
              ga::reduced_precision_features().arm_fhm ? "yes" : "no");
  CHECK(offered == want);
  if (!offered) {
    CHECK(!ga::set_reduced_precision_isa("neonfp16"));
    return;
  }
  const std::string keep_isa = ga::active_isa().name;
  CHECK(ga::set_active_isa("neon"));
  CHECK(ga::set_reduced_precision_isa("emulated"));
  const ga::IsaTable emulated = ga::active_isa();
  CHECK(ga::set_reduced_precision_isa("neonfp16"));
  CHECK(ga::active_reduced_precision_isa() == "neonfp16");
  const ga::IsaTable fp16 = ga::active_isa();
  CHECK(fp16.gemm_abt_fp16 != emulated.gemm_abt_fp16 && fp16.dense_attention_fp16 != emulated.dense_attention_fp16);
  CHECK(fp16.gemm_abt_fp16_packed != emulated.gemm_abt_fp16_packed &&
        fp16.tglobal_attention_fp16 != emulated.tglobal_attention_fp16);
  CHECK(fp16.gemm_abt_bf16 == emulated.gemm_abt_bf16 && fp16.dense_attention == emulated.dense_attention);
  CHECK(ga::set_reduced_precision_isa("auto"));
  const ga::IsaTable all = ga::active_isa();
  const ga::IsaTable* all_table = &ga::active_isa();
  CHECK(all.gemm_abt_fp16 == fp16.gemm_abt_fp16 && all.tglobal_attention_fp16 == fp16.tglobal_attention_fp16);
  if (has(sets, "neonbf16")) {
    CHECK(ga::active_reduced_precision_isa() == "neonbf16+neonfp16");
    CHECK(ga::set_reduced_precision_isa("neonbf16"));
    const ga::IsaTable bf16 = ga::active_isa();
    CHECK(bf16.gemm_abt_fp16 == emulated.gemm_abt_fp16 && bf16.gemm_abt_bf16 != emulated.gemm_abt_bf16);
    CHECK(all.gemm_abt_bf16 == bf16.gemm_abt_bf16 && all.dense_attention_bf16 == bf16.dense_attention_bf16);
    CHECK(ga::set_reduced_precision_isa("neonfp16+neonbf16"));  // a choice naming both, in any order
    CHECK(ga::active_reduced_precision_isa() == "neonbf16+neonfp16");
    // The same combined table as "auto" (built once, kept): both types' native entries.
    CHECK(&ga::active_isa() == all_table);
    CHECK(ga::active_isa().gemm_abt_bf16 == bf16.gemm_abt_bf16 && ga::active_isa().gemm_abt_fp16 == fp16.gemm_abt_fp16);
  } else {
    CHECK(ga::active_reduced_precision_isa() == "neonfp16");
  }
  CHECK(!ga::set_reduced_precision_isa("neonfp16+"));
  CHECK(!ga::set_reduced_precision_isa("neonfp16+bogus"));
  CHECK(ga::set_active_isa("scalar"));
  CHECK(ga::active_reduced_precision_isa() == "emulated");
  CHECK(ga::set_active_isa("neonfp16"));  // its base ISA with the set alone
  CHECK(std::string(ga::active_isa().name) == "neon" && ga::active_reduced_precision_isa() == "neonfp16");
  ga::set_active_isa(keep_isa);
  ga::set_reduced_precision_isa("auto");
}

// A (M x K) times the identity: C = round(A) through each path's conversions (whole vectors and
// scalar tails; K = 45), for values on float16 rounding boundaries, subnormal halves included.
GA_TEST(fp16_gemm_rounding_matches_scalar_rule) {
  const int64_t M = 13, K = 45;
  Rng r(11);
  std::vector<float> a(static_cast<size_t>(M * K)), id(static_cast<size_t>(K * K), 0.f);
  for (int64_t k = 0; k < K; ++k) id[k * K + k] = 1.f;
  for (int64_t i = 0; i < M * K; ++i) {
    const int kind = static_cast<int>(r.below(5));
    float x = r.uniform(-3.f, 3.f);
    if (kind == 1) x *= 1e-5f;  // float16 subnormal range (below 2^-14)
    if (kind == 2) x *= 1e4f;   // large, below the float16 maximum
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if (kind == 3) u = (u & 0xffffe000u) | 0x1000u;  // exact tie of a normal half
    if (kind == 4) u = (u & 0xffffe000u) | 0x0fffu;  // just below it
    std::memcpy(&a[i], &u, 4);
  }
  for_each_path([&](const std::string& label, bool) {
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
    ga::gemm_abt_fp16(p);
    int64_t bad = 0;
    for (int64_t i = 0; i < M * K; ++i)
      if (!(c[i] == F16::round(a[i])) && bad++ == 0)
        CHECK_MSG(false, "%s: round(%a) = %a, want %a", label.c_str(), a[i], c[i], F16::round(a[i]));
    CHECK_MSG(bad == 0, "%s: %lld rounding mismatches", label.c_str(), static_cast<long long>(bad));
  });
}

// Against a double reference over the rounded inputs, and native against emulated. N covers the
// 12-column tile and its tails, K odd (the zero pad of the last pair); float32 and float16 inputs.
GA_TEST(fp16_gemm_native_matches_emulated) {
  const int64_t shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {9, 13, 45}, {13, 67, 45}, {100, 33, 130}, {17, 25, 257}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    Rng r(static_cast<uint64_t>(M * 7919 + N * 31 + K));
    std::vector<float> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(N * K));
    std::vector<uint16_t> b16(b.size());
    for (auto& x : a) x = r.uniform(-1.f, 1.f);
    for (size_t i = 0; i < b.size(); ++i) b16[i] = F16::from_float(b[i] = r.uniform(-1.f, 1.f));
    std::vector<double> ref(static_cast<size_t>(M * N)), mag(ref.size());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double sum = 0, m = 0;
        for (int64_t q = 0; q < K; ++q) {
          const double pr = double(F16::round(a[i * K + q])) * F16::round(b[j * K + q]);
          sum += pr;
          m += std::fabs(pr);
        }
        ref[i * N + j] = sum, mag[i * N + j] = m;
      }
    for (int use_b16 = 0; use_b16 < 2; ++use_b16) {
      std::vector<float> emulated;
      for_each_path([&](const std::string& label, bool is_emulated) {
        std::vector<float> c(static_cast<size_t>(M * N), 0.f);
        ga::GemmBf16Params p;
        p.g.a = a.data();
        p.g.b = use_b16 ? nullptr : b.data();
        p.b16 = use_b16 ? b16.data() : nullptr;
        p.g.c = c.data();
        p.g.M = M, p.g.N = N, p.g.K = K;
        p.g.lda = p.g.ldb = p.g.ldc = K;
        p.g.ldc = N;
        p.g.threads = 2;
        ga::gemm_abt_fp16(p);
        if (is_emulated) emulated = c;  // this ISA's (for_each_path: "emulated" first)
        int64_t bad = 0, same = 0;
        for (int64_t i = 0; i < M * N; ++i) {
          const double tol = (K + 2) * std::ldexp(1.0, -23) * mag[i];
          const bool ok = std::fabs(c[i] - ref[i]) <= tol && std::fabs(double(c[i]) - emulated[i]) <= 2 * tol;
          same += c[i] == emulated[i];
          if (!ok && bad++ == 0)
            CHECK_MSG(false, "%s M=%lld N=%lld K=%lld: c[%lld] = %a, exact %a, emulated %a", label.c_str(),
                      (long long)M, (long long)N, (long long)K, (long long)i, c[i], ref[i], emulated[i]);
        }
        CHECK_MSG(bad == 0, "%s: %lld mismatches", label.c_str(), (long long)bad);
        if (!is_emulated && use_b16 == 0 && s[2] == 257)
          std::printf("  %s M=%lld N=%lld K=%lld: %lld of %lld bit-identical to emulated\n", label.c_str(),
                      (long long)M, (long long)N, (long long)K, (long long)same, (long long)(M * N));
      });
    }
  }
}

// Odd D and Dv (pair and vector padding), odd key counts (the zero key of the last pair), N not a
// multiple of the tiles, grouped-query heads (H / Hk = 2 and 4), key masks, the causal cut, a bias.
const gatest::DenseShape kDenseShapes[] = {{1, 2, 2, 77, 131, 64, 64, false, false, false},
                                           {2, 4, 2, 33, 45, 13, 7, true, true, false},
                                           {1, 3, 3, 5, 9, 3, 5, false, true, true},
                                           {1, 4, 1, 130, 257, 32, 48, true, false, true},
                                           {2, 2, 1, 1, 1, 1, 1, false, false, false}};

GA_TEST(fp16_dense_attention_native_matches_emulated) {
  for (const gatest::DenseShape& s : kDenseShapes) {
    gatest::DenseCase dc(s);
    std::vector<float> f32(dc.out_size());
    dc.p.out = f32.data();
    const std::string keep_isa = ga::active_isa().name;
    ga::set_active_isa("scalar");
    ga::dense_attention(dc.p);
    ga::set_active_isa(keep_isa);
    double scale = 0, vmax = 0;
    for (float x : f32) scale = std::fmax(scale, std::fabs(x));
    for (float x : dc.v) vmax = std::fmax(vmax, std::fabs(x));
    std::vector<float> emulated;
    for_each_path([&](const std::string& label, bool is_emulated) {
      const std::vector<float> out = dc.run(ga::dense_attention_fp16);
      if (is_emulated) emulated = out;  // this ISA's (for_each_path: "emulated" first)
      double err = 0, diff = 0;
      size_t far = 0, same = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        err = std::fmax(err, std::fabs(out[i] - f32[i]));
        if (!std::isfinite(out[i])) err = INFINITY;
        const double d = std::fabs(out[i] - emulated[i]);
        diff = std::fmax(diff, d);
        far += !(d <= 1e-5 * scale);
        same += out[i] == emulated[i];
      }
      CHECK_MSG(err <= 5e-3 * scale, "%s Nq=%lld Nk=%lld D=%lld: error vs fp32 %g (max|out| %g)", label.c_str(),
                (long long)s.Nq, (long long)s.Nk, (long long)s.D, err, scale);
      CHECK_MSG(far * 20 <= out.size() && diff <= std::ldexp(1.0, -9) * vmax,
                "%s Nq=%lld Nk=%lld D=%lld: vs emulated max %g, %zu of %zu beyond 1e-5", label.c_str(), (long long)s.Nq,
                (long long)s.Nk, (long long)s.D, diff, far, out.size());
      if (!is_emulated)
        std::printf("  %s Nq=%lld Nk=%lld D=%lld: vs fp32 %.2e·max|out|, vs emulated max %.2e, %zu of %zu identical\n",
                    label.c_str(), (long long)s.Nq, (long long)s.Nk, (long long)s.D, err / scale, diff, same,
                    out.size());
    });
  }
}

// With V = 1 every output is the sum of its row's weights: 1 within 1e-5. Changing the masked
// keys' keys and values (finite, then NaN and Inf) changes no output bit: their weights are
// exactly 0.
GA_TEST(fp16_dense_attention_weights_sum_to_one_and_masks_exclude) {
  for (const gatest::DenseShape& s : kDenseShapes) {
    if (!s.mask) continue;
    gatest::DenseCase dc(s);
    for_each_path([&](const std::string& label, bool) {
      std::vector<float> keep_v = dc.v;
      std::fill(dc.v.begin(), dc.v.end(), 1.f);
      const std::vector<float> ones = dc.run(ga::dense_attention_fp16);
      dc.v = keep_v;
      dc.p.v = dc.v.data();
      double worst = 0;
      for (float x : ones) worst = std::fmax(worst, std::fabs(double(x) - 1.0));
      CHECK_MSG(worst <= 1e-5, "%s: weights sum to 1 within %g", label.c_str(), worst);
      const std::vector<float> before = dc.run(ga::dense_attention_fp16);
      std::vector<float> k2 = dc.k, v2 = dc.v;
      for (int64_t b = 0; b < s.B; ++b)
        for (int64_t h = 0; h < s.Hk; ++h)
          for (int64_t j = 0; j < s.Nk; ++j)
            if (!dc.mask[b * s.Nk + j]) {
              for (int64_t d = 0; d < s.D; ++d) k2[((b * s.Hk + h) * s.Nk + j) * s.D + d] = 1000.f;
              for (int64_t d = 0; d < s.Dv; ++d) v2[((b * s.Hk + h) * s.Nk + j) * s.Dv + d] = 6e4f;
            }
      dc.p.k = k2.data(), dc.p.v = v2.data();
      const std::vector<float> after = dc.run(ga::dense_attention_fp16);
      CHECK_MSG(std::memcmp(before.data(), after.data(), before.size() * 4) == 0,
                "%s Nq=%lld Nk=%lld: masked keys changed the output", label.c_str(), (long long)s.Nq, (long long)s.Nk);
      // Non-finite masked keys (NaN keys, infinite values) take the kernels' safe pass: still no
      // output bit changes (a zero weight's half of a value pair is cleared, 0 x Inf never added).
      for (size_t i = 0; i < k2.size(); ++i)
        if (k2[i] == 1000.f) k2[i] = NAN;
      for (size_t i = 0; i < v2.size(); ++i)
        if (v2[i] == 6e4f) v2[i] = INFINITY;
      const std::vector<float> non_finite = dc.run(ga::dense_attention_fp16);
      dc.p.k = dc.k.data(), dc.p.v = dc.v.data();
      CHECK_MSG(std::memcmp(before.data(), non_finite.data(), before.size() * 4) == 0,
                "%s Nq=%lld Nk=%lld: non-finite masked keys changed the output", label.c_str(), (long long)s.Nq,
                (long long)s.Nk);
    });
  }
}

// Non-finite inputs, one kind at a time (an infinite value, a NaN query, a NaN key, an infinite
// key component): native gives the emulated kernel's outputs position by position: the same
// NaNs, the same infinities, the finite ones within 2^-9·max|v| (as above). Each case has non-finite
// outputs, and finite ones too except the NaN key, which every query attends to (no mask): there
// all outputs are NaN.
GA_TEST(fp16_dense_attention_non_finite_like_emulated) {
  struct Poison {
    const char* what;
    char tensor;  // 'q', 'k' or 'v'
    size_t index;
    float value;
    bool all_non_finite;
  };
  // Shape {B=1, H=2, Hk=1, Nq=9, Nk=13, D=5, Dv=3}: q is [2][9][5], k [13][5], v [13][3].
  const Poison cases[] = {{"inf value (key 4, column 1)", 'v', 4 * 3 + 1, INFINITY, false},
                          {"NaN query (head 0, query 2)", 'q', (0 * 9 + 2) * 5, NAN, false},
                          {"NaN key (key 7)", 'k', 7 * 5 + 2, NAN, true},
                          {"-inf key component (key 10)", 'k', 10 * 5 + 0, -INFINITY, false}};
  for (const Poison& c : cases) {
    gatest::DenseCase dc({1, 2, 1, 9, 13, 5, 3, false, false, false});
    (c.tensor == 'q' ? dc.q : c.tensor == 'k' ? dc.k : dc.v)[c.index] = c.value;
    std::vector<float> emulated;
    for_each_path([&](const std::string& label, bool is_emulated) {
      const std::vector<float> out = dc.run(ga::dense_attention_fp16);
      if (is_emulated) emulated = out;  // this ISA's (for_each_path: "emulated" first)
      size_t bad = 0, non_finite = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        non_finite += !std::isfinite(out[i]);
        const bool same_kind = std::isnan(out[i]) == std::isnan(emulated[i]) &&
                               std::isinf(out[i]) == std::isinf(emulated[i]) &&
                               (!std::isinf(out[i]) || out[i] == emulated[i]);
        if (!same_kind || (std::isfinite(out[i]) && !(std::fabs(out[i] - emulated[i]) <= std::ldexp(1.0, -9)))) ++bad;
      }
      CHECK_MSG(bad == 0 && non_finite > 0 && (non_finite == out.size()) == c.all_non_finite,
                "%s, %s: %zu outputs unlike emulated (%zu of %zu non-finite)", label.c_str(), c.what, bad, non_finite,
                out.size());
      if (!is_emulated)
        std::printf("  %s, %s: %zu of %zu outputs non-finite, like emulated\n", label.c_str(), c.what, non_finite,
                    out.size());
    });
  }
}

// The transient-global core (tests/tglobal_case.h's shapes): native against emulated.
GA_TEST(fp16_tglobal_attention_native_matches_emulated) {
  for (const gatest::TGlobalShape& shape : gatest::kTGlobalShapes) {
    gatest::TGlobalCase tc(shape);
    const gatest::TGlobalShape& s = tc.s;
    ga::TGlobalAttentionParams& p = tc.p;
    const std::vector<float>&v = tc.v, &gv = tc.gv;
    std::vector<float> f32(tc.out_size());
    p.out = f32.data();
    const std::string keep_isa = ga::active_isa().name;
    ga::set_active_isa("scalar");
    ga::tglobal_attention(p);
    ga::set_active_isa(keep_isa);
    double scale = 0, vmax = 0;
    for (float x : f32) scale = std::fmax(scale, std::fabs(x));
    for (auto* t : {&v, &gv})
      for (float x : *t) vmax = std::fmax(vmax, std::fabs(x));
    std::vector<float> emulated;
    for_each_path([&](const std::string& label, bool is_emulated) {
      std::vector<float> out(f32.size(), 7.f);
      p.out = out.data();
      ga::tglobal_attention_fp16(p);
      if (is_emulated) emulated = out;  // this ISA's (for_each_path: "emulated" first)
      double err = 0, diff = 0;
      size_t far = 0, same = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        err = std::fmax(err, std::fabs(out[i] - f32[i]));
        if (!std::isfinite(out[i]) || (f32[i] == 0.f && out[i] != 0.f)) err = INFINITY;  // padded queries: 0
        const double d = std::fabs(out[i] - emulated[i]);
        diff = std::fmax(diff, d);
        far += !(d <= 1e-5 * scale);
        same += out[i] == emulated[i];
      }
      CHECK_MSG(err <= 5e-3 * scale, "%s N=%lld r=%lld D=%lld: error vs fp32 %g (max|out| %g)", label.c_str(),
                (long long)s.N, (long long)s.radius, (long long)s.D, err, scale);
      CHECK_MSG(far * 20 <= out.size() && diff <= std::ldexp(1.0, -9) * vmax,
                "%s N=%lld r=%lld D=%lld: vs emulated max %g, %zu of %zu beyond 1e-5", label.c_str(), (long long)s.N,
                (long long)s.radius, (long long)s.D, diff, far, out.size());
      if (!is_emulated)
        std::printf("  %s N=%lld r=%lld D=%lld: vs fp32 %.2e·max|out|, vs emulated max %.2e, %zu of %zu identical\n",
                    label.c_str(), (long long)s.N, (long long)s.radius, (long long)s.D, err / scale, diff, same,
                    out.size());
    });
  }
}

}  // namespace
