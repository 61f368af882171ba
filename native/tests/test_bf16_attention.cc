// bfloat16 dense attention (ga::dense_attention_bf16) on every ISA this CPU runs, emulated and
// with every native reduced-precision set: within 2e-2 x max|out| of the float32 kernel, and all
// paths agree as identical rounding implies: scores differ only by float32 summation order, which
// now and then moves a probability across a bfloat16 rounding boundary (one bf16 step, 2^-8
// relative, for that weight). So >= 95 % of outputs agree within 1e-5 x max|out| (another
// rounding rule, e.g. truncation, moves nearly all of them by ~1e-3), and all within
// 2^-8 x max|v| (every weight one step off). Shapes cover odd D and Dv (pair and vector padding), odd key counts (the
// zero key of the last pair), grouped-query heads, a key mask, the causal cut and a bias.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/dense_attention.h"
#include "kernels/tglobal_attention.h"
#include "tests/dense_case.h"
#include "tests/test_util.h"
#include "tests/tglobal_case.h"

namespace {

using gatest::Rng;

GA_TEST(bf16_dense_attention_paths_agree) {
  const gatest::DenseShape shapes[] = {{1, 2, 2, 77, 131, 64, 64, false, false, false},
                                       {2, 4, 2, 33, 45, 13, 7, true, true, false},
                                       {1, 3, 3, 5, 9, 3, 5, false, true, true},
                                       {1, 1, 1, 130, 257, 32, 48, true, false, true}};
  const std::string keep_isa = ga::active_isa().name;
  for (const gatest::DenseShape& s : shapes) {
    gatest::DenseCase dc(s);
    ga::DenseAttentionParams& p = dc.p;
    std::vector<float> f32(dc.out_size());
    p.out = f32.data();
    ga::set_active_isa("scalar");
    ga::dense_attention(p);
    double scale = 0;
    for (float x : f32) scale = std::fmax(scale, std::fabs(x));
    std::vector<float> first;
    std::string first_label;
    std::vector<std::string> rps{"emulated"};
    for (const std::string& n : ga::available_reduced_precision_isas()) rps.push_back(n);
    for (const std::string& isa : ga::available_isas())
      for (const std::string& rp : rps) {
        ga::set_active_isa(isa);
        ga::set_reduced_precision_isa(rp);
        const std::string label = isa + "/" + ga::active_reduced_precision_isa();
        const std::vector<float> out = dc.run(ga::dense_attention_bf16);
        double err = 0, diff = 0;
        size_t far = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          err = std::fmax(err, std::fabs(out[i] - f32[i]));
          if (!first.empty()) {
            const double d = std::fabs(out[i] - first[i]);
            diff = std::fmax(diff, d);
            if (!(d <= 1e-5 * scale)) ++far;
          }
          if (!std::isfinite(out[i])) err = INFINITY;
        }
        CHECK_MSG(err <= 2e-2 * scale && err > 0, "%s Nq=%lld Nk=%lld D=%lld: error vs fp32 %g (max|out| %g)",
                  label.c_str(), (long long)s.Nq, (long long)s.Nk, (long long)s.D, err, scale);
        if (first.empty()) {
          first = out;
          first_label = label;
        } else {
          CHECK_MSG(far * 20 <= out.size() && diff <= std::ldexp(1.0, -8),
                    "%s vs %s Nq=%lld Nk=%lld D=%lld: max %g, %zu of %zu beyond 1e-5", label.c_str(),
                    first_label.c_str(), (long long)s.Nq, (long long)s.Nk, (long long)s.D, diff, far, out.size());
        }
      }
  }
  ga::set_active_isa(keep_isa);
  ga::set_reduced_precision_isa("auto");
}

// The same agreement for the transient-global core (ga::tglobal_attention_bf16; and
// tglobal_attention_fp16 within 5e-3 x max|out|): local band (odd
// and even radius: the native kernel starts its band at an even key), global tokens with their
// bias, block ids and validity, a token mask, odd D and Dv, no global tokens. Rows here weigh up to
// 2r + 1 + G keys, so each weight is small and |out| too: a probability moved across a bfloat16
// rounding boundary shows at ~1e-5 x max|out| more often than in the dense shapes; agreement is
// checked at 1e-4 (another rounding rule moves nearly all outputs by ~1e-3).
GA_TEST(bf16_tglobal_attention_paths_agree) {
  const std::string keep_isa = ga::active_isa().name;
  for (const gatest::TGlobalShape& shape : gatest::kTGlobalShapes) {
    gatest::TGlobalCase tc(shape);
    const gatest::TGlobalShape& s = tc.s;
    ga::TGlobalAttentionParams& p = tc.p;
    std::vector<float> f32(tc.out_size());
    p.out = f32.data();
    ga::set_active_isa("scalar");
    ga::tglobal_attention(p);
    double scale = 0;
    for (float x : f32) scale = std::fmax(scale, std::fabs(x));
    std::vector<float> first;
    std::string first_label;
    std::vector<std::string> rps{"emulated"};
    for (const std::string& n : ga::available_reduced_precision_isas()) rps.push_back(n);
    for (const std::string& isa : ga::available_isas())
      for (const std::string& rp : rps) {
        ga::set_active_isa(isa);
        ga::set_reduced_precision_isa(rp);
        const std::string label = isa + "/" + ga::active_reduced_precision_isa();
        std::vector<float> out(f32.size(), 7.f);
        p.out = out.data();
        ga::tglobal_attention_bf16(p);
        double err = 0, diff = 0;
        size_t far = 0, masked_nonzero = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          err = std::fmax(err, std::fabs(out[i] - f32[i]));
          if (f32[i] == 0.f && out[i] != 0.f) ++masked_nonzero;  // padded queries output exactly 0
          if (!first.empty()) {
            const double d = std::fabs(out[i] - first[i]);
            diff = std::fmax(diff, d);
            if (!(d <= 1e-4 * scale)) ++far;
          }
          if (!std::isfinite(out[i])) err = INFINITY;
        }
        CHECK_MSG(err <= 2e-2 * scale && err > 0 && masked_nonzero == 0,
                  "%s N=%lld r=%lld D=%lld: error vs fp32 %g (max|out| %g), %zu zero rows not zero", label.c_str(),
                  (long long)s.N, (long long)s.radius, (long long)s.D, err, scale, masked_nonzero);
        if (rp == "emulated") {  // float16 products (emulated only): within 5e-3 x max|out|
          std::vector<float> h(f32.size(), 7.f);
          p.out = h.data();
          ga::tglobal_attention_fp16(p);
          double herr = 0;
          for (size_t i = 0; i < h.size(); ++i) {
            herr = std::fmax(herr, std::fabs(h[i] - f32[i]));
            if (!std::isfinite(h[i]) || (f32[i] == 0.f && h[i] != 0.f)) herr = INFINITY;
          }
          CHECK_MSG(herr <= 5e-3 * scale && herr > 0, "%s fp16 N=%lld r=%lld: error vs fp32 %g (max|out| %g)",
                    label.c_str(), (long long)s.N, (long long)s.radius, herr, scale);
        }
        if (first.empty()) {
          first = out;
          first_label = label;
        } else {
          CHECK_MSG(far * 20 <= out.size() && diff <= std::ldexp(1.0, -8),
                    "%s vs %s N=%lld r=%lld D=%lld: max %g, %zu of %zu beyond 1e-4", label.c_str(), first_label.c_str(),
                    (long long)s.N, (long long)s.radius, (long long)s.D, diff, far, out.size());
        }
      }
  }
  ga::set_active_isa(keep_isa);
  ga::set_reduced_precision_isa("auto");
}

}  // namespace
