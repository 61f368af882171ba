// libFuzzer target over the pure C++ kernels (no N-API): fuzzed small shapes and parameters,
// every ISA this CPU runs, exact-size heap buffers (so AddressSanitizer sees any read or write
// past an input or output), and invariants checked against naive float64 references written
// here:
//   dense attention   (GQA, causal with Nq != Nk, key mask, bias with broadcast / negative
//                      strides as the T5 relative table uses, bhnd / bnhd strides)
//   TGlobal core      (local window, global tokens with validity, block ids, both bias tables,
//                      padding, bhnd / bnhd)
//   block-global, GEMM (C = A·Bᵀ, with accumulate and strided rows), global block ids,
//   relative-position buckets, global aggregates + RMS norm, block means, the whole LongT5 layer,
//   the feed-forward activation (every ISA's kernel must give ff_activation's bits exactly, with glibc).
// Finite inputs: each ISA must match the float64 reference (tolerance scaled to the sums);
// rows with nothing to attend to must be exactly 0. Non-finite inputs (a flag in the input):
// only "no crash, no sanitizer report" and the exact-zero rows.
//
// Built by scripts/fuzz.sh (clang, -DGA_BUILD_FUZZERS=ON); replay a crash with
//   build/fuzz/fuzz_kernels <file>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/kernel_list.h"
#include "kernels/dense_attention.h"
#include "kernels/gemm.h"
#include "kernels/longt5_blocks.h"
#include "kernels/t5_elementwise.h"
#include "ops/longt5_layer.h"
#include "kernels/tglobal_attention.h"

namespace {

// ---- reading the fuzz input ----------------------------------------------------------------
struct Reader {
  const uint8_t* p;
  size_t n;
  size_t i = 0;
  uint8_t byte() { return i < n ? p[i++] : 0; }
  // in [lo, hi]
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(byte()) % (hi - lo + 1); }
  bool flag() { return byte() & 1; }
};

// Exact-size heap arrays: new[] of exactly n elements, so ASan flags any access past the end.
template <class T>
struct Buf {
  std::unique_ptr<T[]> p;
  int64_t n = 0;
  explicit Buf(int64_t count) : p(new T[count > 0 ? count : 1]), n(count) {}
  T* data() { return n > 0 ? p.get() : nullptr; }
  T& operator[](int64_t k) { return p[k]; }
};

// Values: mostly in [-2, 2] (finite, well-scaled); with `special` set some are NaN / ±Inf / huge / subnormal.
void fill(Reader& r, Buf<float>& b, bool special) {
  for (int64_t k = 0; k < b.n; ++k) {
    const uint8_t x = r.byte();
    float v = (static_cast<float>(x) - 128.f) / 64.f;
    if (special) {
      switch (x & 0x1f) {
        case 0: v = NAN; break;
        case 1: v = INFINITY; break;
        case 2: v = -INFINITY; break;
        case 3: v = 3e38f; break;
        case 4: v = 1e-40f; break;
        default: break;
      }
    }
    b[k] = v;
  }
}

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_kernels: invariant violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

bool close(double got, double ref, double tol) { return std::fabs(got - ref) <= tol * (1.0 + std::fabs(ref)); }

std::vector<std::string> isas() {
  static const std::vector<std::string> v = ga::available_isas();
  return v;
}

const ga::IsaTable& table(const std::string& name) {
  if (name == "scalar") return ga::isa_table_scalar();
#ifdef GA_HAVE_AVX2
  if (name == "avx2") return ga::isa_table_avx2();
#endif
#ifdef GA_HAVE_AVX512
  if (name == "avx512") return ga::isa_table_avx512();
#endif
#ifdef GA_HAVE_NEON
  if (name == "neon") return ga::isa_table_neon();
#endif
  return ga::isa_table_scalar();
}

// Float64 online-free reference of one softmax row: scores s[j] (-inf = excluded), values v(j, d).
template <class VFn>
void softmax_row(const std::vector<double>& s, int64_t Dv, VFn v, double* out) {
  double mx = -INFINITY;
  for (double x : s) mx = x > mx ? x : mx;
  for (int64_t d = 0; d < Dv; ++d) out[d] = 0;
  if (mx == -INFINITY) return;
  double den = 0;
  for (size_t j = 0; j < s.size(); ++j) {
    if (s[j] == -INFINITY) continue;
    const double e = std::exp(s[j] - mx);
    den += e;
    for (int64_t d = 0; d < Dv; ++d) out[d] += e * v(static_cast<int64_t>(j), d);
  }
  for (int64_t d = 0; d < Dv; ++d) out[d] /= den;
}

// ---- dense ---------------------------------------------------------------------------------
void fuzz_dense(Reader& r, bool special) {
  ga::DenseAttentionParams p;
  p.B = r.range(0, 3);
  p.Hk = r.range(1, 3);
  p.H = p.Hk * r.range(1, 3);
  p.Nq = r.range(0, 40);
  p.Nk = r.range(0, 40);
  p.D = r.range(0, 20);
  p.Dv = r.range(0, 20);
  p.scale = static_cast<float>(r.range(1, 8)) / 8.f;
  p.causal = r.flag();
  const bool bnhd = r.flag();
  const bool use_mask = r.flag();
  const int bias_mode =
      static_cast<int>(r.range(0, 3));  // 0 none, 1 full, 2 broadcast [Nk], 3 T5 table (negative stride)
  p.threads = static_cast<int>(r.range(1, 2));
  Buf<float> q(p.B * p.H * p.Nq * p.D), k(p.B * p.Hk * p.Nk * p.D), v(p.B * p.Hk * p.Nk * p.Dv),
      out(p.B * p.H * p.Nq * p.Dv);
  fill(r, q, special);
  fill(r, k, special);
  fill(r, v, special);
  Buf<uint8_t> mask(use_mask ? p.B * p.Nk : 0);
  for (int64_t j = 0; j < mask.n; ++j) mask[j] = r.byte() % 4 != 0;
  auto strides = bnhd ? ga::Strides::bnhd : ga::Strides::bhnd;
  p.qs = strides(p.H, p.Nq, p.D);
  p.ks = strides(p.Hk, p.Nk, p.D);
  p.vs = strides(p.Hk, p.Nk, p.Dv);
  p.os = strides(p.H, p.Nq, p.Dv);
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.key_mask = use_mask ? mask.data() : nullptr;
  int64_t bias_n = 0;
  if (bias_mode == 1) bias_n = p.B * p.H * p.Nq * p.Nk;
  if (bias_mode == 2) bias_n = p.Nk;
  if (bias_mode == 3) bias_n = p.H * (p.Nq + p.Nk - 1 > 0 ? p.Nq + p.Nk - 1 : 0);
  Buf<float> bias(bias_n);
  fill(r, bias, special);
  auto bias_at = [&](int64_t b, int64_t h, int64_t i, int64_t j) -> double {
    if (bias_mode == 1) return bias[((b * p.H + h) * p.Nq + i) * p.Nk + j];
    if (bias_mode == 2) return bias[j];
    if (bias_mode == 3) return bias[h * (p.Nq + p.Nk - 1) + (i - j) + p.Nk - 1];
    return 0;
  };
  if (bias_mode == 1) {
    p.bias = bias.data();
    p.bias_stride[0] = p.H * p.Nq * p.Nk;
    p.bias_stride[1] = p.Nq * p.Nk;
    p.bias_stride[2] = p.Nk;
    p.bias_stride[3] = 1;
  } else if (bias_mode == 2) {
    p.bias = bias.data();
    p.bias_stride[3] = 1;
  } else if (bias_mode == 3 && bias_n > 0) {
    p.bias = bias.data() + (p.Nk - 1);
    p.bias_stride[1] = p.Nq + p.Nk - 1;
    p.bias_stride[2] = 1;
    p.bias_stride[3] = -1;
  }
  if (out.n == 0) return;  // the binding does not call the kernel for an empty output
  // reference
  std::vector<double> ref(static_cast<size_t>(out.n));
  std::vector<bool> empty_row(static_cast<size_t>(p.B * p.H * p.Nq));
  const int64_t group = p.H / p.Hk;
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.Nq; ++i) {
        const int64_t hk = h / group;
        std::vector<double> s(static_cast<size_t>(p.Nk));
        bool any = false;
        for (int64_t j = 0; j < p.Nk; ++j) {
          bool keep = !p.key_mask || p.key_mask[b * p.Nk + j];
          if (p.causal && j > i + (p.Nk - p.Nq)) keep = false;
          if (!keep) {
            s[j] = -INFINITY;
            continue;
          }
          any = true;
          double dot = 0;
          for (int64_t d = 0; d < p.D; ++d)
            dot += double(q[b * p.qs.b + h * p.qs.h + i * p.qs.n + d]) * k[b * p.ks.b + hk * p.ks.h + j * p.ks.n + d];
          s[j] = dot * p.scale + bias_at(b, h, i, j);
        }
        empty_row[(b * p.H + h) * p.Nq + i] = !any;
        double o[64];
        softmax_row(
            s, p.Dv, [&](int64_t j, int64_t d) { return double(v[b * p.vs.b + hk * p.vs.h + j * p.vs.n + d]); }, o);
        for (int64_t d = 0; d < p.Dv; ++d) ref[b * p.os.b + h * p.os.h + i * p.os.n + d] = o[d];
      }
  for (const std::string& isa : isas()) {
    for (int64_t x = 0; x < out.n; ++x) out[x] = 12345.f;  // poison: every element must be written
    p.out = out.data();
    table(isa).dense_attention(p);
    for (int64_t b = 0; b < p.B; ++b)
      for (int64_t h = 0; h < p.H; ++h)
        for (int64_t i = 0; i < p.Nq; ++i)
          for (int64_t d = 0; d < p.Dv; ++d) {
            const int64_t at = b * p.os.b + h * p.os.h + i * p.os.n + d;
            const float got = out[at];
            if (empty_row[(b * p.H + h) * p.Nq + i]) {
              if (got != 0.f) die("dense: a row with no key is not 0", isa);
            } else if (!special && !close(got, ref[at], 2e-4 * (1 + std::sqrt(double(p.D)))))
              die("dense: differs from the float64 reference",
                  isa + " got " + std::to_string(got) + " ref " + std::to_string(ref[at]));
          }
  }
}

// ---- TGlobal core --------------------------------------------------------------------------
void fuzz_tglobal(Reader& r, bool special) {
  ga::TGlobalAttentionParams p;
  p.B = r.range(0, 2);
  p.H = r.range(0, 2);
  p.N = r.range(0, 48);
  p.D = r.range(0, 12);
  p.Dv = r.range(0, 12);
  p.radius = r.range(0, 12);
  const int64_t g = r.range(1, 8);
  p.G = p.N / g;
  p.scale = static_cast<float>(r.range(1, 8)) / 8.f;
  const bool bnhd = r.flag(), use_mask = r.flag(), use_valid = r.flag(), use_lbias = r.flag(), use_gbias = r.flag();
  p.threads = static_cast<int>(r.range(1, 2));
  Buf<float> q(p.B * p.H * p.N * p.D), k(p.B * p.H * p.N * p.D), v(p.B * p.H * p.N * p.Dv), gk(p.B * p.H * p.G * p.D),
      gv(p.B * p.H * p.G * p.Dv), out(p.B * p.H * p.N * p.Dv);
  fill(r, q, special);
  fill(r, k, special);
  fill(r, v, special);
  fill(r, gk, special);
  fill(r, gv, special);
  Buf<uint8_t> mask(use_mask ? p.B * p.N : 0), valid(use_valid ? p.B * p.G : 0);
  for (int64_t x = 0; x < mask.n; ++x) mask[x] = r.byte() % 5 != 0;
  for (int64_t x = 0; x < valid.n; ++x) valid[x] = r.byte() % 3 != 0;
  Buf<float> lbias(use_lbias ? p.H * (2 * p.radius + 1) : 0), gbias(use_gbias ? p.H * (2 * p.G + 1) : 0);
  fill(r, lbias, special);
  fill(r, gbias, special);
  Buf<int32_t> ids(use_gbias ? p.B * p.N : 0);
  for (int64_t x = 0; x < ids.n; ++x) ids[x] = static_cast<int32_t>(r.range(-1, p.G > 0 ? p.G - 1 : -1));
  auto strides = bnhd ? ga::Strides::bnhd : ga::Strides::bhnd;
  p.qs = strides(p.H, p.N, p.D);
  p.ks = strides(p.H, p.N, p.D);
  p.vs = strides(p.H, p.N, p.Dv);
  p.os = strides(p.H, p.N, p.Dv);
  p.gks = strides(p.H, p.G, p.D);
  p.gvs = strides(p.H, p.G, p.Dv);
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.gk = gk.data();
  p.gv = gv.data();
  p.mask = use_mask ? mask.data() : nullptr;
  p.global_valid = use_valid ? valid.data() : nullptr;
  p.local_bias = use_lbias ? lbias.data() : nullptr;
  p.global_bias = use_gbias && p.G > 0 ? gbias.data() : nullptr;
  p.block_ids = use_gbias && p.G > 0 ? ids.data() : nullptr;
  if (out.n == 0) return;
  std::vector<double> ref(static_cast<size_t>(out.n));
  std::vector<bool> zero_row(static_cast<size_t>(p.B * p.H * p.N));
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.N; ++i) {
        const bool qvalid = !p.mask || p.mask[b * p.N + i];
        std::vector<double> s;
        std::vector<std::pair<bool, int64_t>> who;  // (global?, index)
        for (int64_t j = i - p.radius; j <= i + p.radius; ++j) {
          if (j < 0 || j >= p.N || (p.mask && !p.mask[b * p.N + j])) continue;
          double dot = 0;
          for (int64_t d = 0; d < p.D; ++d)
            dot += double(q[b * p.qs.b + h * p.qs.h + i * p.qs.n + d]) * k[b * p.ks.b + h * p.ks.h + j * p.ks.n + d];
          s.push_back(dot * p.scale + (p.local_bias ? p.local_bias[h * (2 * p.radius + 1) + (j - i + p.radius)] : 0.0));
          who.push_back({false, j});
        }
        for (int64_t m = 0; m < p.G; ++m) {
          if (p.global_valid && !p.global_valid[b * p.G + m]) continue;
          double dot = 0;
          for (int64_t d = 0; d < p.D; ++d)
            dot +=
                double(q[b * p.qs.b + h * p.qs.h + i * p.qs.n + d]) * gk[b * p.gks.b + h * p.gks.h + m * p.gks.n + d];
          const double gb =
              p.global_bias ? p.global_bias[h * (2 * p.G + 1) + (m - p.block_ids[b * p.N + i] + p.G)] : 0.0;
          s.push_back(dot * p.scale + gb);
          who.push_back({true, m});
        }
        const bool zero = !qvalid || s.empty();
        zero_row[(b * p.H + h) * p.N + i] = zero;
        double o[64];
        softmax_row(
            s, p.Dv,
            [&](int64_t t, int64_t d) {
              const auto& w = who[static_cast<size_t>(t)];
              return w.first ? double(gv[b * p.gvs.b + h * p.gvs.h + w.second * p.gvs.n + d])
                             : double(v[b * p.vs.b + h * p.vs.h + w.second * p.vs.n + d]);
            },
            o);
        for (int64_t d = 0; d < p.Dv; ++d) ref[b * p.os.b + h * p.os.h + i * p.os.n + d] = zero ? 0.0 : o[d];
      }
  for (const std::string& isa : isas()) {
    for (int64_t x = 0; x < out.n; ++x) out[x] = 12345.f;
    p.out = out.data();
    table(isa).tglobal_attention(p);
    for (int64_t b = 0; b < p.B; ++b)
      for (int64_t h = 0; h < p.H; ++h)
        for (int64_t i = 0; i < p.N; ++i)
          for (int64_t d = 0; d < p.Dv; ++d) {
            const int64_t at = b * p.os.b + h * p.os.h + i * p.os.n + d;
            if (zero_row[(b * p.H + h) * p.N + i]) {
              if (out[at] != 0.f)
                die("tglobal: a padded query / a row with no key is not 0", isa + " got " + std::to_string(out[at]));
            } else if (!special && !close(out[at], ref[at], 2e-4 * (1 + std::sqrt(double(p.D)))))
              die("tglobal: differs from the float64 reference",
                  isa + " got " + std::to_string(out[at]) + " ref " + std::to_string(ref[at]));
          }
  }
}

// ---- GEMM ----------------------------------------------------------------------------------
void fuzz_gemm(Reader& r, bool special) {
  ga::GemmParams p;
  p.M = r.range(0, 40);
  p.N = r.range(0, 40);
  p.K = r.range(0, 70);
  p.lda = p.K + r.range(0, 3);
  p.ldb = p.K + r.range(0, 3);
  p.ldc = p.N + r.range(0, 3);
  p.accumulate = r.flag();
  p.threads = static_cast<int>(r.range(1, 2));
  // exact sizes: the last row of a strided matrix ends at its last element
  auto need = [](int64_t rows, int64_t cols, int64_t ld) { return rows == 0 ? 0 : (rows - 1) * ld + cols; };
  Buf<float> a(need(p.M, p.K, p.lda)), b(need(p.N, p.K, p.ldb)), c0(need(p.M, p.N, p.ldc)), c(need(p.M, p.N, p.ldc));
  fill(r, a, special);
  fill(r, b, special);
  fill(r, c0, special);
  p.a = a.data();
  p.b = b.data();
  for (const std::string& isa : isas()) {
    for (int64_t x = 0; x < c.n; ++x) c[x] = c0[x];
    p.c = c.data();
    table(isa).gemm_abt(p);
    if (special) continue;
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        double s = p.accumulate ? c0[i * p.ldc + j] : 0.0;
        for (int64_t kk = 0; kk < p.K; ++kk) s += double(a[i * p.lda + kk]) * b[j * p.ldb + kk];
        if (!close(c[i * p.ldc + j], s, 1e-4 * (1 + std::sqrt(double(p.K))))) die("gemm: differs from float64", isa);
      }
    // the gaps between strided rows of C are not written
    for (int64_t i = 0; i + 1 < p.M; ++i)
      for (int64_t j = p.N; j < p.ldc; ++j)
        if (c[i * p.ldc + j] != c0[i * p.ldc + j] && !(c[i * p.ldc + j] != c[i * p.ldc + j]))
          die("gemm: wrote between rows of C", isa);
  }
}

// ---- bookkeeping: block ids, buckets, aggregates, block means ------------------------------
void fuzz_blocks(Reader& r, bool special) {
  const int64_t B = r.range(0, 3), N = r.range(0, 60), g = r.range(1, 12), C = r.range(0, 9);
  const int64_t G = N / g;
  Buf<uint8_t> mask(B * N);
  for (int64_t x = 0; x < mask.n; ++x) mask[x] = r.byte() % 4 != 0;
  Buf<int32_t> ids(B * N), seg(B * G);
  ga::global_block_ids(mask.data(), B, N, g, ids.data(), seg.data());
  for (int64_t b = 0; b < B; ++b) {
    int64_t full = 0;
    for (int64_t i = g - 1; i < N; i += g) full += mask[b * N + i] != 0;
    int64_t mx = -1;
    for (int64_t i = 0; i < N; ++i) {
      int64_t want = -1;
      if (mask[b * N + i] && full > 0) want = std::min<int64_t>(i / g, full - 1);
      if (ids[b * N + i] != want) die("global_block_ids", "id");
      mx = std::max<int64_t>(mx, want);
    }
    for (int64_t m = 0; m < G; ++m)
      if (seg[b * G + m] != (m <= mx ? 1 : 0)) die("global_block_ids", "segment");
  }
  // buckets: always within [0, num_buckets)
  const int32_t nb = static_cast<int32_t>(r.range(2, 64)), md = static_cast<int32_t>(r.range(1, 300));
  for (int t = 0; t < 8; ++t) {
    int64_t rel =
        (static_cast<int64_t>(r.byte()) << 24 | static_cast<int64_t>(r.byte()) << 16 | r.byte() << 8 | r.byte()) -
        (int64_t(1) << 31);
    if (t == 0) rel = INT64_MIN / 2;
    const int32_t bk = ga::relative_position_bucket(rel, nb, md);
    if (bk < 0 || bk >= nb) die("relative_position_bucket", "out of range");
  }
  // aggregates
  Buf<float> x(B * N * C), w(C), agg(B * G * C);
  fill(r, x, special);
  fill(r, w, special);
  const bool norm = r.flag();
  ga::global_aggregates(x.data(), B, N, C, ids.data(), G, norm ? w.data() : nullptr, 1e-6f, agg.data());
  if (!special && !norm)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t m = 0; m < G; ++m)
        for (int64_t c = 0; c < C; ++c) {
          double s = 0;
          for (int64_t i = 0; i < N; ++i)
            if (ids[b * N + i] == m) s += x[(b * N + i) * C + c];
          if (!close(agg[(b * G + m) * C + c], s, 1e-5)) die("global_aggregates", "sum");
        }
  // block means (rows x N x D)
  if (N >= g && C > 0) {
    Buf<float> means(B * G * C);
    ga::block_means(x.data(), B, N, C, g, means.data());
    if (!special)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c0 = 0; c0 < G; ++c0) {
          const int64_t lo = c0 * g, hi = c0 == G - 1 ? N : lo + g;
          for (int64_t d = 0; d < C; ++d) {
            double s = 0;
            for (int64_t i = lo; i < hi; ++i) s += x[(b * N + i) * C + d];
            if (!close(means[(b * G + c0) * C + d], s / double(hi - lo), 1e-5)) die("block_means", "mean");
          }
        }
  }
}

// ---- block-global and the layer: every ISA agrees with scalar, padded rows finite ----------
void fuzz_block_global(Reader& r, bool special) {
  ga::BlockGlobalAttentionParams p;
  p.B = r.range(0, 2);
  p.H = r.range(0, 2);
  p.N = r.range(1, 40);
  p.D = r.range(0, 12);
  p.Dv = r.range(0, 12);
  p.block = r.range(1, p.N);
  p.scale = 0.5f;
  p.threads = static_cast<int>(r.range(1, 2));
  const int64_t nb = p.N / p.block;
  Buf<float> q(p.B * p.H * p.N * p.D), k(p.B * p.H * p.N * p.D), v(p.B * p.H * p.N * p.Dv), gk(p.B * p.H * nb * p.D),
      gv(p.B * p.H * nb * p.Dv);
  fill(r, q, special);
  fill(r, k, special);
  fill(r, v, special);
  ga::block_means(k.data(), p.B * p.H, p.N, p.D, p.block, gk.data());
  ga::block_means(v.data(), p.B * p.H, p.N, p.Dv, p.block, gv.data());
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.gk = gk.data();
  p.gv = gv.data();
  const int64_t n = p.B * p.H * p.N * p.Dv;
  if (n == 0) return;
  Buf<float> ref(n), out(n);
  p.out = ref.data();
  ga::isa_table_scalar().block_global_attention(p);
  for (const std::string& isa : isas()) {
    p.out = out.data();
    table(isa).block_global_attention(p);
    if (!special)
      for (int64_t x = 0; x < n; ++x)
        if (!close(out[x], ref[x], 2e-4 * (1 + std::sqrt(double(p.D))))) die("block_global: differs from scalar", isa);
  }
}

void fuzz_layer(Reader& r, bool special) {
  ga::LongT5LayerParams p;
  p.kind = static_cast<ga::LongT5Kind>(r.range(0, 2));
  p.B = r.range(0, 2);
  p.N = r.range(0, 40);
  p.d_model = r.range(1, 12);
  p.H = r.range(1, 3);
  p.d_kv = r.range(1, 6);
  p.local_radius = r.range(0, 10);
  p.global_block_size = r.range(1, 8);
  p.num_buckets = static_cast<int32_t>(r.range(2, 16));
  p.max_distance = static_cast<int32_t>(r.range(1, 64));
  p.layer_norm_epsilon = 1e-6f;
  p.threads = static_cast<int>(r.range(1, 2));
  const int64_t HD = p.H * p.d_kv;
  Buf<float> hidden(p.B * p.N * p.d_model), wq(HD * p.d_model), wk(HD * p.d_model), wv(HD * p.d_model),
      wo(p.d_model * HD), rel(p.num_buckets * p.H), grel(p.num_buckets * p.H), gnorm(p.d_model);
  for (Buf<float>* b : {&hidden, &wq, &wk, &wv, &wo, &rel, &grel, &gnorm}) fill(r, *b, special);
  Buf<uint8_t> mask(p.B * p.N);
  const bool use_mask = r.flag();
  for (int64_t x = 0; x < mask.n; ++x) mask[x] = r.byte() % 4 != 0;
  p.hidden = hidden.data();
  p.mask = use_mask ? mask.data() : nullptr;
  p.wq = wq.data();
  p.wk = wk.data();
  p.wv = wv.data();
  p.wo = wo.data();
  p.rel_bias = rel.data();
  p.global_rel_bias = grel.data();
  p.global_norm_weight = gnorm.data();
  const int64_t n = p.B * p.N * p.d_model;
  if (n == 0) return;
  Buf<float> ref(n), out(n);
  const std::string keep = ga::active_isa().name;
  ga::set_active_isa("scalar");
  p.out = ref.data();
  ga::longt5_layer_forward(p);
  for (const std::string& isa : isas()) {
    ga::set_active_isa(isa);
    p.out = out.data();
    ga::longt5_layer_forward(p);
    if (special) continue;
    for (int64_t x = 0; x < n; ++x) {
      if (!std::isfinite(out[x])) die("layer: non-finite output from finite input", isa);
      if (!close(out[x], ref[x], 1e-3)) die("layer: differs from scalar", isa);
    }
  }
  ga::set_active_isa(keep);
}

// ---- the feed-forward activation: every ISA gives ff_activation's bits --------------------
void fuzz_ff_activation(Reader& r, bool special) {
  const int64_t n = r.range(0, 80);
  const float scale = static_cast<float>(r.range(1, 48));  // up to |x| = 96: expf's own range edges
  const bool gated = r.flag();
  const ga::FfActivation act = r.flag() ? ga::FfActivation::kRelu : ga::FfActivation::kGeluNew;
  Buf<float> x0(n), gate(gated ? n : 0), want(n), got(n);
  fill(r, x0, special);
  fill(r, gate, special);
  for (int64_t k = 0; k < n; ++k) want[k] = x0[k] = x0[k] * scale;
  ga::ff_activation(want.data(), gate.data(), n, act);
  for (const std::string& isa : isas()) {
    for (int64_t k = 0; k < n; ++k) got[k] = x0[k];
    ga::FfActivationParams p;
    p.x = got.data();
    p.gate = gate.data();
    p.n = n;
    p.act = act;
    table(isa).t5_ff_activation(p);
    // Bits, except a NaN's payload (which operand's NaN an op returns may follow the compiler's
    // operand order).
    for (int64_t k = 0; k < n; ++k)
      if (std::memcmp(&got[k], &want[k], sizeof(float)) != 0 && !(got[k] != got[k] && want[k] != want[k]))
        die("ff activation: not ff_activation's bits", isa);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Reader r{data, size};
  const uint8_t sel = r.byte();
  const bool special = (sel & 0x80) != 0;  // non-finite values allowed: only crashes / zero rows are checked
  switch (sel % 7) {
    case 0: fuzz_dense(r, special); break;
    case 1: fuzz_tglobal(r, special); break;
    case 2: fuzz_gemm(r, special); break;
    case 3: fuzz_blocks(r, special); break;
    case 4: fuzz_block_global(r, special); break;
    case 5: fuzz_layer(r, special); break;
    default: fuzz_ff_activation(r, special); break;
  }
  return 0;
}
