// kernels/longt5_blocks.h: global block ids, T5 relative-position buckets, global aggregates
// (+ RMS norm) and block means, against the README's worked examples, independent naive
// references, and the Hugging Face fixtures in test/fixtures (skipped if not found).
#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "kernels/longt5_blocks.h"
#include "tests/safetensors_mini.h"
#include "tests/test_util.h"

namespace {

using gatest::Rng;

// ---- block ids ------------------------------------------------------------------------------

// HF _make_global_fixed_block_ids step by step, with i/g kept exact (numerator over g), as an
// independent oracle: ids = floor(mask_term + i/g - 1) with mask_term 1 (token) or -1000,
// clamp at -1, padding -> -1, then handle_orphan_tokens: ids = min(ids, F - 1) with F the number
// of block ends (i % g == g-1) whose id is >= 0.
void hf_block_ids(const std::vector<uint8_t>& mask, int64_t B, int64_t N, int64_t g, std::vector<int32_t>& ids,
                  std::vector<int32_t>& seg) {
  const int64_t G = N / g;
  ids.assign(static_cast<size_t>(B * N), 0);
  seg.assign(static_cast<size_t>(B * G), 0);
  auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> v(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) {
      const int64_t m = mask[b * N + i] ? 1 : 0;
      const int64_t term = m ? 1 : -1000;
      int64_t id = floor_div((term - 1) * g + i, g);  // floor(term + i/g - 1)
      if (id < -1) id = -1;
      v[i] = id * m + (m - 1);
    }
    int64_t full = 0;
    for (int64_t i = 0; i < N; ++i) full += (i % g == g - 1) && v[i] >= 0;
    int64_t mx = -1;
    for (int64_t i = 0; i < N; ++i) {
      if (!(v[i] < full - 1)) v[i] = full - 1;
      ids[b * N + i] = static_cast<int32_t>(v[i]);
      if (v[i] > mx) mx = v[i];
    }
    for (int64_t m = 0; m < G; ++m) seg[b * G + m] = m <= mx ? 1 : 0;
  }
}

std::vector<int32_t> repeat_ids(std::initializer_list<std::pair<int32_t, int>> runs) {
  std::vector<int32_t> v;
  for (const auto& r : runs) v.insert(v.end(), static_cast<size_t>(r.second), r.first);
  return v;
}

GA_TEST(block_ids_readme_examples) {
  {  // 16 tokens, g = 5: blocks of 5, 5, 6 (token 15 is an orphan of block 2).
    std::vector<uint8_t> mask(16, 1);
    std::vector<int32_t> ids(16), seg(3);
    ga::global_block_ids(mask.data(), 1, 16, 5, ids.data(), seg.data());
    CHECK(ids == repeat_ids({{0, 5}, {1, 5}, {2, 6}}));
    CHECK(seg == (std::vector<int32_t>{1, 1, 1}));
  }
  {  // Left padding: 17 padding then 43 real tokens, g = 8, G = 7.
    std::vector<uint8_t> mask(60, 0);
    for (int i = 17; i < 60; ++i) mask[i] = 1;
    std::vector<int32_t> ids(60), seg(7);
    ga::global_block_ids(mask.data(), 1, 60, 8, ids.data(), seg.data());
    CHECK(ids == repeat_ids({{-1, 17}, {2, 7}, {3, 8}, {4, 28}}));
    CHECK(seg == (std::vector<int32_t>{1, 1, 1, 1, 1, 0, 0}));
  }
  {  // N < g: G = 0, no complete block, every id -1; segment_ids is never written.
    std::vector<uint8_t> mask(3, 1);
    std::vector<int32_t> ids(3, 99);
    int32_t guard = 12345;
    ga::global_block_ids(mask.data(), 1, 3, 5, ids.data(), &guard);
    CHECK(ids == (std::vector<int32_t>{-1, -1, -1}));
    CHECK(guard == 12345);
  }
  {  // F_b = 0 with G > 0 (a right-padded row with fewer than g tokens): ids -1, segments 0;
     // the other row is unaffected.
    const int64_t N = 100, g = 16, G = 6;
    std::vector<uint8_t> mask(2 * N, 0);
    for (int i = 0; i < N; ++i) mask[i] = 1;
    for (int i = 0; i < 10; ++i) mask[N + i] = 1;
    std::vector<int32_t> ids(2 * N), seg(2 * G);
    ga::global_block_ids(mask.data(), 2, N, g, ids.data(), seg.data());
    CHECK(std::vector<int32_t>(ids.begin() + N, ids.end()) == std::vector<int32_t>(N, -1));
    CHECK(std::vector<int32_t>(seg.begin() + G, seg.end()) == std::vector<int32_t>(G, 0));
    CHECK(ids[99] == 5 && ids[95] == 5 && ids[96] == 5 && ids[80] == 5 && ids[79] == 4);
    CHECK(std::vector<int32_t>(seg.begin(), seg.begin() + G) == std::vector<int32_t>(G, 1));
  }
}

GA_TEST(block_ids_vs_hf_steps_random_masks) {
  Rng r(42);
  int64_t mismatches = 0, cases = 0;
  for (int64_t g : {1, 2, 3, 5, 8, 16, 25, 64}) {
    for (int64_t N : {1, 2, 7, 16, 37, 64, 100, 129, 600}) {
      const int64_t B = 4;
      std::vector<uint8_t> mask(static_cast<size_t>(B * N));
      for (int64_t b = 0; b < B; ++b) {
        const int64_t valid = r.below(N + 1);
        for (int64_t i = 0; i < N; ++i) {
          uint8_t m;
          if (b == 0) m = i < valid;             // right padding
          else if (b == 1) m = i >= N - valid;   // left padding
          else if (b == 2) m = r.below(4) != 0;  // random holes
          else m = 1;                            // all valid
          mask[b * N + i] = m;
        }
      }
      std::vector<int32_t> want_ids, want_seg;
      hf_block_ids(mask, B, N, g, want_ids, want_seg);
      std::vector<int32_t> ids(static_cast<size_t>(B * N)), seg(static_cast<size_t>(B * (N / g)) + 1);
      ga::global_block_ids(mask.data(), B, N, g, ids.data(), seg.data());
      seg.resize(static_cast<size_t>(B * (N / g)));
      ++cases;
      if (ids != want_ids || seg != want_seg) {
        if (mismatches++ < 5)
          CHECK_MSG(false, "block ids differ from HF's steps: N=%lld g=%lld", (long long)N, (long long)g);
      }
    }
  }
  CHECK_MSG(mismatches == 0, "%lld of %lld random mask sets differ", (long long)mismatches, (long long)cases);
}

// ---- buckets --------------------------------------------------------------------------------

GA_TEST(relative_position_bucket_table) {
  // Expected values: HF's float32 formula evaluated with numpy float32 and a correctly rounded
  // logf (see longt5_blocks.cc). 16/32/64 with 32/128 (and 8/16/32 with 16/64) are the
  // borderline distances (exact value an integer): 10/12/14 (+16 for positive distances).
  // 96/81 at 54: exact value 16, float32 gives 15.999999 -> 39 (float64 math would give 40).
  struct E {
    int32_t nb, md;
    int64_t rel;
    int32_t bucket;
  };
  const E table[] = {
      {32, 128, 0, 0},
      {32, 128, 1, 17},
      {32, 128, -1, 1},
      {32, 128, 7, 23},
      {32, 128, -7, 7},
      {32, 128, 8, 24},
      {32, 128, -8, 8},
      {32, 128, 9, 24},
      {32, 128, 11, 24},
      {32, 128, 12, 25},
      {32, 128, 15, 25},
      {32, 128, -15, 9},
      {32, 128, 16, 26},
      {32, 128, -16, 10},
      {32, 128, 17, 26},
      {32, 128, 22, 26},
      {32, 128, 23, 27},
      {32, 128, 31, 27},
      {32, 128, -31, 11},
      {32, 128, 32, 28},
      {32, 128, -32, 12},
      {32, 128, 33, 28},
      {32, 128, 44, 28},
      {32, 128, 45, 28},
      {32, 128, 63, 29},
      {32, 128, -63, 13},
      {32, 128, 64, 30},
      {32, 128, -64, 14},
      {32, 128, 65, 30},
      {32, 128, 90, 30},
      {32, 128, 91, 31},
      {32, 128, 127, 31},
      {32, 128, -127, 15},
      {32, 128, 128, 31},
      {32, 128, -128, 15},
      {32, 128, 129, 31},
      {32, 128, 500, 31},
      {32, 128, -500, 15},
      {32, 128, 100000, 31},
      {32, 128, -100000, 15},
      {16, 64, 0, 0},
      {16, 64, 3, 11},
      {16, 64, -3, 3},
      {16, 64, 4, 12},
      {16, 64, -4, 4},
      {16, 64, 5, 12},
      {16, 64, 7, 12},
      {16, 64, 8, 13},
      {16, 64, -8, 5},
      {16, 64, 11, 13},
      {16, 64, 12, 13},
      {16, 64, 15, 13},
      {16, 64, 16, 14},
      {16, 64, -16, 6},
      {16, 64, 31, 14},
      {16, 64, 32, 15},
      {16, 64, -32, 7},
      {16, 64, 63, 15},
      {16, 64, 64, 15},
      {16, 64, 1000, 15},
      {64, 256, 15, 47},
      {64, 256, 16, 48},
      {64, 256, 31, 51},
      {64, 256, 32, 52},
      {64, 256, -32, 20},
      {64, 256, 64, 56},
      {64, 256, -64, 24},
      {64, 256, 127, 59},
      {64, 256, 128, 60},
      {64, 256, -128, 28},
      {64, 256, 255, 63},
      {64, 256, 256, 63},
      {96, 81, 53, 87},
      {96, 81, 54, 87},
      {96, 81, -54, 39},
      {96, 81, 55, 88},
      {96, 81, 80, 95},
      {96, 81, 81, 95},
      {64, 121, 43, 55},
      {64, 121, 44, 56},
      {64, 121, -44, 24},
      {64, 121, 45, 56},
      {32, 128, INT64_MAX, 31},
      {32, 128, INT64_MIN, 15},
      {32, 128, -(int64_t(1) << 40), 15},
  };
  for (const E& e : table) {
    const int32_t got = ga::relative_position_bucket(e.rel, e.nb, e.md);
    CHECK_MSG(got == e.bucket, "bucket(%lld; %d buckets, max distance %d) = %d, want %d", (long long)e.rel, e.nb, e.md,
              got, e.bucket);
  }
  // Monotone in |rel| within each direction, and within range, for a few configs.
  for (int32_t nb : {8, 16, 32, 64, 128})
    for (int32_t md : {16, 64, 128, 1000}) {
      int32_t prev_pos = -1, prev_neg = -1;
      bool ok = true;
      for (int64_t d = 0; d < 3000; ++d) {
        const int32_t bp = ga::relative_position_bucket(d, nb, md), bn = ga::relative_position_bucket(-d, nb, md);
        ok = ok && bn >= prev_neg && bn < nb / 2 && (d == 0 ? bp == 0 : (bp >= prev_pos && bp >= nb / 2 && bp < nb));
        if (d > 0) prev_pos = bp;
        prev_neg = bn;
      }
      CHECK_MSG(ok, "buckets not monotone/in range for %d buckets, max distance %d", nb, md);
    }
}

// ---- aggregates and block means ----------------------------------------------------------------

void naive_aggregates(const std::vector<float>& x, int64_t B, int64_t N, int64_t C, const std::vector<int32_t>& ids,
                      int64_t G, const float* w, double eps, std::vector<double>& out) {
  out.assign(static_cast<size_t>(B * G * C), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = 0; m < G; ++m) {
      double* o = &out[(b * G + m) * C];
      for (int64_t i = 0; i < N; ++i)
        if (ids[b * N + i] == m)
          for (int64_t c = 0; c < C; ++c) o[c] += x[(b * N + i) * C + c];
      if (!w) continue;
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += o[c] * o[c];
      if (ss == 0) continue;
      const double inv = 1.0 / std::sqrt(ss / C + eps);
      for (int64_t c = 0; c < C; ++c) o[c] = w[c] * o[c] * inv;
    }
}

double max_rel_err(const std::vector<float>& got, const std::vector<double>& want) {
  double scale = 0, err = 0;
  for (double v : want)
    if (std::fabs(v) > scale) scale = std::fabs(v);
  for (size_t k = 0; k < got.size(); ++k) {
    const double e = std::fabs(got[k] - want[k]);
    if (std::isnan(e)) return e;
    if (e > err) err = e;
  }
  return scale > 0 ? err / scale : err;
}

GA_TEST(global_aggregates_vs_naive) {
  Rng r(5);
  for (int64_t N : {16, 37, 60, 100}) {
    for (int64_t g : {5, 8, 16}) {
      const int64_t B = 3, C = 24, G = N / g;
      std::vector<uint8_t> mask(static_cast<size_t>(B * N), 1);
      for (int64_t i = 0; i < N; ++i) {
        mask[1 * N + i] = i >= N / 3;  // left padding
        mask[2 * N + i] = i < g - 1;   // fewer than g tokens: no block at all
      }
      std::vector<int32_t> ids(static_cast<size_t>(B * N)), seg(static_cast<size_t>(B * G) + 1);
      ga::global_block_ids(mask.data(), B, N, g, ids.data(), seg.data());
      std::vector<float> x(static_cast<size_t>(B * N * C)), w(static_cast<size_t>(C));
      for (auto& v : x) v = r.uniform(-2.f, 2.f);
      for (auto& v : w) v = r.uniform(0.5f, 1.5f);
      for (const float* wp : {static_cast<const float*>(nullptr), static_cast<const float*>(w.data())}) {
        for (float eps : {1e-6f, 0.5f, 0.f}) {
          std::vector<float> out(static_cast<size_t>(B * G * C), 777.f);
          ga::global_aggregates(x.data(), B, N, C, ids.data(), G, wp, eps, out.data());
          std::vector<double> want;
          naive_aggregates(x, B, N, C, ids, G, wp, eps, want);
          const double e = max_rel_err(out, want);
          CHECK_MSG(e < 2e-6, "aggregates N=%lld g=%lld norm=%d eps=%g: rel err %.3g", (long long)N, (long long)g,
                    wp != nullptr, eps, e);
          // (Counting loops, not `ok = ok && ...` reductions: those crash aarch64 GCC 12's vectoriser.)
          int64_t nonfinite = 0, nonzero = 0;
          for (float v : out)
            if (!std::isfinite(v)) ++nonfinite;
          CHECK_MSG(nonfinite == 0, "aggregates N=%lld g=%lld eps=%g: non-finite output", (long long)N, (long long)g,
                    eps);
          // Row 2 has no block: its aggregates are exactly zero, normed or not.
          for (int64_t k = 2 * G * C; k < 3 * G * C; ++k)
            if (out[k] != 0.f) ++nonzero;
          CHECK(nonzero == 0);
        }
      }
    }
  }
}

GA_TEST(block_means_vs_naive) {
  Rng r(9);
  for (int64_t N : {5, 16, 37, 100}) {
    for (int64_t g : {5, 16}) {
      for (int64_t D : {1, 16, 33}) {
        const int64_t rows = 3;
        std::vector<float> x(static_cast<size_t>(rows * N * D));
        for (auto& v : x) v = r.uniform(-1.f, 1.f);
        const int64_t nb = N / g;
        std::vector<float> out(static_cast<size_t>(rows * nb * D) + 1, 777.f);
        ga::block_means(x.data(), rows, N, D, g, out.data());
        CHECK(out.back() == 777.f);
        out.pop_back();
        std::vector<double> want(static_cast<size_t>(rows * nb * D), 0.0);
        for (int64_t q = 0; q < rows; ++q)
          for (int64_t i = 0; i < N; ++i) {
            int64_t c = i / g;
            if (c >= nb) c = nb - 1;  // orphans join the last complete block
            if (c < 0) continue;
            const int64_t cnt = c == nb - 1 ? N - c * g : g;
            for (int64_t d = 0; d < D; ++d)
              want[(q * nb + c) * D + d] += x[(q * N + i) * D + d] / static_cast<double>(cnt);
          }
        const double e = max_rel_err(out, want);
        CHECK_MSG(e < 1e-6, "block_means N=%lld g=%lld D=%lld: rel err %.3g", (long long)N, (long long)g, (long long)D,
                  e);
      }
    }
  }
  // N < g writes nothing.
  float x[4] = {1, 2, 3, 4}, out[2] = {7, 7};
  ga::block_means(x, 1, 4, 1, 5, out);
  CHECK(out[0] == 7 && out[1] == 7);
}

// ---- Hugging Face fixtures ------------------------------------------------------------------

bool load_fixture(const std::string& name, gatest::SafeTensors& st) {
  const std::string dir = gatest::fixtures_dir();
  if (dir.empty()) return false;
  std::string err;
  if (!st.load(dir + "/" + name + ".safetensors", &err)) {
    CHECK_MSG(false, "%s", err.c_str());
    return false;
  }
  return true;
}

const char* const kBlockIdFixtures[] = {"blockids_n16_g5",        "blockids_n3_g5_shorter_than_block",
                                        "blockids_n37_g5_pad",    "blockids_n100_g16_pad",
                                        "blockids_n64_g16_exact", "blockids_n50_g8_leftpad"};
const char* const kTGlobalFixtures[] = {"tglobal_layer_small_n16_r2_g5",
                                        "tglobal_layer_n37_r3_g5_pad",
                                        "tglobal_layer_n128_r15_g16",
                                        "tglobal_layer_n300_r31_g16_b2",
                                        "tglobal_layer_dm64_h4_d16_n50_r5_g6_pad",
                                        "tglobal_layer_dm48_h3_d24_n50_r5_g6_pad",
                                        "tglobal_layer_n7_r2_g8_noglobal",
                                        "tglobal_layer_n100_r7_g8_eps0p5_pad",
                                        "tglobal_layer_n100_r15_g16_shortrow_pad",
                                        "tglobal_layer_n60_r5_g8_leftpad",
                                        "tglobal_layer_dm256_h4_d64_n600_r127_g16_outonly"};

void check_block_ids_fixture(const std::string& name, const gatest::SafeTensors& st) {
  const gatest::Tensor* m = st.find("attention_mask");
  const gatest::Tensor* wi = st.find("global_block_ids");
  const gatest::Tensor* ws = st.find("global_segment_ids");
  CHECK_MSG(m && wi && ws, "%s: tensors missing", name.c_str());
  if (!m || !wi || !ws) return;
  const int64_t B = m->shape[0], N = m->shape[1];
  const int64_t g = static_cast<int64_t>(st.config.number("global_block_size", 0));
  CHECK_MSG(g > 0, "%s: no global_block_size", name.c_str());
  if (g <= 0) return;
  const int64_t G = N / g;
  CHECK_MSG(ws->shape.size() == 2 && ws->shape[1] == G, "%s: G mismatch", name.c_str());
  std::vector<uint8_t> mask(static_cast<size_t>(B * N));
  const auto mi = m->i32();
  for (size_t k = 0; k < mask.size(); ++k) mask[k] = mi[k] != 0;
  std::vector<int32_t> ids(static_cast<size_t>(B * N)), seg(static_cast<size_t>(B * G) + 1);
  ga::global_block_ids(mask.data(), B, N, g, ids.data(), seg.data());
  seg.resize(static_cast<size_t>(B * G));
  CHECK_MSG(ids == wi->i32(), "%s: global_block_ids differ", name.c_str());
  CHECK_MSG(seg == ws->i32(), "%s: global_segment_ids differ", name.c_str());
}

GA_TEST(fixtures_block_ids) {
  if (gatest::fixtures_dir().empty()) return gatest::skip("fixtures not found (set GA_FIXTURES_DIR)");
  for (const char* f : kBlockIdFixtures) {
    gatest::SafeTensors st;
    if (load_fixture(f, st)) check_block_ids_fixture(f, st);
  }
  for (const char* f : kTGlobalFixtures) {
    gatest::SafeTensors st;
    if (load_fixture(f, st)) check_block_ids_fixture(f, st);
  }
}

GA_TEST(fixtures_relative_position_buckets) {
  if (gatest::fixtures_dir().empty()) return gatest::skip("fixtures not found (set GA_FIXTURES_DIR)");
  int64_t compared = 0;
  auto cfg = [](const gatest::SafeTensors& st, int32_t& nb, int32_t& md) {
    nb = static_cast<int32_t>(st.config.number("relative_attention_num_buckets", 32));
    md = static_cast<int32_t>(st.config.number("relative_attention_max_distance", 128));
  };
  std::vector<std::string> files(std::begin(kTGlobalFixtures), std::end(kTGlobalFixtures));
  files.push_back("local_layer_n50_r4_pad");
  files.push_back("local_layer_n200_r31");
  for (const auto& f : files) {
    gatest::SafeTensors st;
    if (!load_fixture(f, st)) continue;
    int32_t nb, md;
    cfg(st, nb, md);
    if (const gatest::Tensor* lb = st.find("local_relative_position_bucket")) {
      const int64_t bl = lb->shape[0], w = lb->shape[1];
      const auto want = lb->i32();
      int64_t bad = 0;
      for (int64_t t = 0; t < bl; ++t)
        for (int64_t s = 0; s < w; ++s, ++compared)
          bad += ga::relative_position_bucket(s - bl - t, nb, md) != want[t * w + s];
      CHECK_MSG(bad == 0, "%s: %lld local buckets differ", f.c_str(), (long long)bad);
    }
    const gatest::Tensor* sb = st.find("side_relative_position_bucket");
    const gatest::Tensor* ids = st.find("global_block_ids");
    if (sb && ids) {
      const int64_t B = sb->shape[0], N = sb->shape[1], G = sb->shape[2];
      const auto want = sb->i32();
      const auto id = ids->i32();
      int64_t bad = 0;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < N; ++i)
          for (int64_t m = 0; m < G; ++m, ++compared)
            bad += ga::relative_position_bucket(m - id[b * N + i], nb, md) != want[(b * N + i) * G + m];
      CHECK_MSG(bad == 0, "%s: %lld side buckets differ", f.c_str(), (long long)bad);
    }
  }
  gatest::SafeTensors st;
  if (load_fixture("dense_t5layer_b2_n40_dm64_h4_d16_pad", st)) {
    int32_t nb, md;
    cfg(st, nb, md);
    const gatest::Tensor* rb = st.find("relative_position_bucket");
    CHECK(rb != nullptr);
    if (rb) {
      const int64_t N = rb->shape[0];
      const auto want = rb->i32();
      int64_t bad = 0;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j, ++compared)
          bad += ga::relative_position_bucket(j - i, nb, md) != want[i * N + j];
      CHECK_MSG(bad == 0, "dense_t5layer: %lld buckets differ", (long long)bad);
    }
  }
  CHECK(compared > 0);
}

GA_TEST(fixtures_global_aggregates) {
  if (gatest::fixtures_dir().empty()) return gatest::skip("fixtures not found (set GA_FIXTURES_DIR)");
  for (const char* f : kTGlobalFixtures) {
    gatest::SafeTensors st;
    if (!load_fixture(f, st)) continue;
    const gatest::Tensor* gi = st.find("global_inputs_f64");
    if (!gi) continue;  // *_outonly
    const gatest::Tensor* hs = st.find("hidden_states");
    const gatest::Tensor* ids = st.find("global_block_ids");
    const gatest::Tensor* w = st.find("global_input_layer_norm.weight");
    CHECK_MSG(hs && ids && w, "%s: tensors missing", f);
    if (!hs || !ids || !w) continue;
    const int64_t B = hs->shape[0], N = hs->shape[1], C = hs->shape[2], G = gi->shape[1];
    const float eps = static_cast<float>(st.config.number("layer_norm_epsilon", 1e-6));
    const auto x = hs->f32();
    const auto id = ids->i32();
    const auto wv = w->f32();
    std::vector<float> out(static_cast<size_t>(B * G * C));
    ga::global_aggregates(x.data(), B, N, C, id.data(), G, wv.data(), eps, out.data());
    const double e = max_rel_err(out, gi->f64());
    CHECK_MSG(e < 2e-6, "%s: global_inputs rel err %.3g", f, e);
  }
}

GA_TEST(fixtures_seed_variant_block_means) {
  if (gatest::fixtures_dir().empty()) return gatest::skip("fixtures not found (set GA_FIXTURES_DIR)");
  for (const char* f : {"seed_variant_n16_g5", "seed_variant_n100_g16"}) {
    gatest::SafeTensors st;
    if (!load_fixture(f, st)) continue;
    const int64_t g = static_cast<int64_t>(st.config.number("global_block_size", 0));
    for (const char* which : {"k", "v"}) {
      const gatest::Tensor* in = st.find(which);
      const gatest::Tensor* want = st.find(std::string("global_") + which + "_f64");
      CHECK_MSG(in && want && g > 0, "%s: tensors missing", f);
      if (!in || !want || g <= 0) continue;
      const int64_t rows = in->shape[0] * in->shape[1], N = in->shape[2], D = in->shape[3];
      const auto x = in->f32();
      std::vector<float> out(static_cast<size_t>(rows * (N / g) * D));
      ga::block_means(x.data(), rows, N, D, g, out.data());
      const double e = max_rel_err(out, want->f64());
      CHECK_MSG(e < 1e-6, "%s: global_%s rel err %.3g", f, which, e);
    }
    if (const gatest::Tensor* bid = st.find("block_ids")) {  // the seed variant's [N] block of each token
      const int64_t N = bid->shape[0];
      std::vector<uint8_t> mask(static_cast<size_t>(N), 1);
      std::vector<int32_t> ids(static_cast<size_t>(N)), seg(static_cast<size_t>(N / g) + 1);
      ga::global_block_ids(mask.data(), 1, N, g, ids.data(), seg.data());
      CHECK_MSG(ids == bid->i32(), "%s: block_ids differ", f);
    }
  }
}

}  // namespace
