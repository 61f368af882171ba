// The decode path (kernels/decode_attention_impl.h) with what only native callers pass: a T5
// relative-position bias table read through negative strides (the model's decoder self-attention,
// one query per step), checked against the query-block kernel and a double-precision reference
// under every ISA; and cancellation (runtime/cancel.h): a set token stops a call, which throws
// Cancelled, and an unset one changes nothing.
#include <cmath>
#include <cstring>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/dense_attention.h"
#include "kernels/half.h"
#include "runtime/cancel.h"
#include "runtime/parallel.h"
#include "tests/test_util.h"

namespace {

struct Problem {
  int64_t B, H, Hk, Nq, Nk, D;
  std::vector<float> q, k, v, table, out;
  ga::DenseAttentionParams p;
};

// Bias(b, h, i, j) = table[h * (Nq + Nk - 1) + (i - j) + Nk - 1], as the LongT5 layer passes it.
Problem make(int64_t B, int64_t H, int64_t Hk, int64_t Nq, int64_t Nk, int64_t D, bool causal, uint64_t seed) {
  gatest::Rng rng(seed);
  Problem pr{B, H, Hk, Nq, Nk, D, {}, {}, {}, {}, {}, {}};
  auto fill = [&](std::vector<float>& x, size_t n) {
    x.resize(n);
    for (auto& e : x) e = rng.uniform(-1.f, 1.f);
  };
  fill(pr.q, B * H * Nq * D);
  fill(pr.k, B * Hk * Nk * D);
  fill(pr.v, B * Hk * Nk * D);
  const int64_t len = Nq + Nk - 1;
  fill(pr.table, H * len);
  pr.out.assign(B * H * Nq * D, 0.f);
  ga::DenseAttentionParams& p = pr.p;
  p.q = pr.q.data();
  p.k = pr.k.data();
  p.v = pr.v.data();
  p.out = pr.out.data();
  p.B = B;
  p.H = H;
  p.Hk = Hk;
  p.Nq = Nq;
  p.Nk = Nk;
  p.D = D;
  p.Dv = D;
  p.qs = ga::Strides::bhnd(H, Nq, D);
  p.ks = p.vs = ga::Strides::bhnd(Hk, Nk, D);
  p.os = ga::Strides::bhnd(H, Nq, D);
  p.scale = 1.f;
  p.causal = causal;
  p.bias = pr.table.data() + (Nk - 1);
  p.bias_stride[0] = 0;
  p.bias_stride[1] = len;
  p.bias_stride[2] = 1;
  p.bias_stride[3] = -1;
  p.threads = 2;
  return pr;
}

double reference(const Problem& pr, int64_t b, int64_t h, int64_t i, int64_t d) {
  const int64_t hk = h / (pr.H / pr.Hk), len = pr.Nq + pr.Nk - 1;
  std::vector<double> s(pr.Nk);
  double mx = -INFINITY;
  for (int64_t j = 0; j < pr.Nk; ++j) {
    if (pr.p.causal && j > i + pr.Nk - pr.Nq) {
      s[j] = -INFINITY;
      continue;
    }
    double dot = 0;
    for (int64_t c = 0; c < pr.D; ++c)
      dot += double(pr.q[((b * pr.H + h) * pr.Nq + i) * pr.D + c]) * pr.k[((b * pr.Hk + hk) * pr.Nk + j) * pr.D + c];
    s[j] = dot + pr.table[h * len + (i - j) + pr.Nk - 1];
    mx = std::max(mx, s[j]);
  }
  double sum = 0, acc = 0;
  for (int64_t j = 0; j < pr.Nk; ++j) {
    if (s[j] == -INFINITY) continue;
    const double e = std::exp(s[j] - mx);
    sum += e;
    acc += e * pr.v[((b * pr.Hk + hk) * pr.Nk + j) * pr.D + d];
  }
  return sum > 0 ? acc / sum : 0;
}

}  // namespace

GA_TEST(decode_attention_negative_stride_bias_every_isa) {
  const std::string before = ga::active_isa().name;
  for (const auto& isa : ga::available_isas()) {
    ga::set_active_isa(isa);
    for (const bool causal : {false, true})
      for (const int64_t Nk : {1, 63, 300, 2049}) {
        Problem pr = make(2, 4, 2, 2, Nk, 24, causal, 7 + Nk);
        ga::dense_attention(pr.p);  // Nq = 2: the decode path
        const std::vector<float> dec = pr.out;
        pr.p.allow_decode = false;
        ga::dense_attention(pr.p);
        double worst_ref = 0, worst_flash = 0;
        for (int64_t b = 0; b < pr.B; ++b)
          for (int64_t h = 0; h < pr.H; ++h)
            for (int64_t i = 0; i < pr.Nq; ++i)
              for (int64_t d = 0; d < pr.D; ++d) {
                const size_t at = ((b * pr.H + h) * pr.Nq + i) * pr.D + d;
                worst_ref = std::max(worst_ref, std::fabs(dec[at] - reference(pr, b, h, i, d)));
                worst_flash = std::max(worst_flash, double(std::fabs(dec[at] - pr.out[at])));
              }
        CHECK_MSG(worst_ref < 1e-5, "%s causal=%d Nk=%lld: decode vs reference %g", isa.c_str(), causal, (long long)Nk,
                  worst_ref);
        CHECK_MSG(worst_flash < 2e-6, "%s causal=%d Nk=%lld: decode vs query blocks %g", isa.c_str(), causal,
                  (long long)Nk, worst_flash);
      }
  }
  ga::set_active_isa(before);
}

// A float16 / bfloat16 cache (kv_format) is widened in the kernel's loads (or per tile when many
// rows share it): the same bits as float32 keys and values holding the same values, under every
// ISA, with head sizes that leave a partial vector and with one row or a GQA group.
GA_TEST(decode_attention_16bit_cache_same_bits_as_float32_every_isa) {
  const std::string before = ga::active_isa().name;
  for (const auto& isa : ga::available_isas()) {
    ga::set_active_isa(isa);
    for (const int format : {1, 2})
      for (const int64_t D : {18, 64})
        for (const int64_t H : {2, 8}) {  // Hk = 1: 2 or 8 rows per key/value head
          Problem pr = make(1, H, 1, 1, 300, D, false, 11 + D + H);
          std::vector<uint16_t> k16(pr.k.size()), v16(pr.v.size());
          for (size_t i = 0; i < pr.k.size(); ++i) {
            k16[i] = format == 1 ? ga::float_to_half(pr.k[i]) : ga::float_to_bfloat16(pr.k[i]);
            v16[i] = format == 1 ? ga::float_to_half(pr.v[i]) : ga::float_to_bfloat16(pr.v[i]);
            pr.k[i] = format == 1 ? ga::half_to_float(k16[i]) : ga::bfloat16_to_float(k16[i]);
            pr.v[i] = format == 1 ? ga::half_to_float(v16[i]) : ga::bfloat16_to_float(v16[i]);
          }
          ga::dense_attention(pr.p);
          const std::vector<float> f32 = pr.out;
          pr.p.k = pr.p.v = nullptr;
          pr.p.kv_format = format;
          pr.p.k16 = k16.data();
          pr.p.v16 = v16.data();
          pr.out.assign(pr.out.size(), -1.f);
          ga::dense_attention(pr.p);
          CHECK_MSG(std::memcmp(f32.data(), pr.out.data(), f32.size() * 4) == 0,
                    "%s format=%d D=%lld H=%lld: 16-bit cache differs from float32", isa.c_str(), format, (long long)D,
                    (long long)H);
        }
  }
  ga::set_active_isa(before);
}

GA_TEST(cancel_token_stops_a_call) {
  Problem pr = make(1, 8, 8, 1, 20000, 64, false, 3);
  ga::CancelToken token;
  {
    ga::CancelScope scope(&token);
    ga::dense_attention(pr.p);  // not set: runs to the end
  }
  const std::vector<float> full = pr.out;
  bool finite = true;
  for (float x : full) finite = finite && std::isfinite(x);
  CHECK(finite);
  token.cancel();
  bool threw = false;
  {
    ga::CancelScope scope(&token);
    try {
      ga::dense_attention(pr.p);
    } catch (const ga::Cancelled&) {
      threw = true;
    }
  }
  CHECK(threw);
  CHECK(!ga::cancel_requested());  // the scope ended
  // parallel_items hands out no item once the token is set, and throws on the calling thread.
  int64_t ran = 0;
  threw = false;
  {
    ga::CancelScope scope(&token);
    try {
      ga::parallel_items(100, 2, [&](int, ga::ItemCounter& c) {
        int64_t it;
        while (c.next(it)) ++ran;
      });
    } catch (const ga::Cancelled&) {
      threw = true;
    }
  }
  CHECK(threw);
  CHECK(ran == 0);
}
