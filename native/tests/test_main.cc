// ga_native_tests [--filter SUBSTRING] [--bench-gemm] [--fixtures DIR]
//   default: run every registered test; prints "N passed, M failed" last; exit 1 on failure.
//   --bench-gemm: GEMM GFLOP/s and % of the FMA peak per ISA (bench_gemm.cc), no tests.
// Fixtures: --fixtures DIR, else $GA_FIXTURES_DIR, else test/fixtures found from this source
// file's path or the working directory; tests that need them are skipped when none is found.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "dispatch/dispatch.h"
#include "tests/test_util.h"

int run_gemm_bench(int argc, char** argv);  // bench_gemm.cc

namespace gatest {
namespace {
std::string g_fixtures_override;
}

Counters& counters() {
  static Counters c;
  return c;
}

std::vector<TestCase>& registry() {
  static std::vector<TestCase> r;
  return r;
}

void check(bool ok, const char* file, int line, const std::string& what) {
  Counters& c = counters();
  if (ok) {
    ++c.passed;
    return;
  }
  ++c.failed;
  if (c.reported++ < 50) std::printf("  FAIL %s:%d: %s\n", file, line, what.c_str());
}

std::string fmt(const char* f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

void skip(const std::string& why) {
  ++counters().skipped;
  std::printf("  skipped: %s\n", why.c_str());
}

static bool is_dir_with_fixtures(const std::string& d) {
  std::ifstream f(d + "/blockids_n16_g5.safetensors", std::ios::binary);
  return f.good();
}

std::string fixtures_dir() {
  static std::string cached = [] {
    std::vector<std::string> cands;
    if (!g_fixtures_override.empty()) cands.push_back(g_fixtures_override);
    if (const char* e = std::getenv("GA_FIXTURES_DIR")) cands.push_back(e);
    std::string src = __FILE__;  // .../native/tests/test_main.cc
    const size_t at = src.rfind("native/tests/");
    if (at != std::string::npos) cands.push_back(src.substr(0, at) + "test/fixtures");
    for (const char* rel : {"test/fixtures", "../test/fixtures", "../../test/fixtures"}) cands.push_back(rel);
    for (const auto& d : cands)
      if (is_dir_with_fixtures(d)) return d;
    return std::string();
  }();
  return cached;
}

}  // namespace gatest

int main(int argc, char** argv) {
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--bench-gemm")) return run_gemm_bench(argc, argv);
    if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else if (!std::strcmp(argv[i], "--fixtures") && i + 1 < argc) gatest::g_fixtures_override = argv[++i];
  }
  std::printf("ISAs available here:");
  for (const auto& n : ga::available_isas()) std::printf(" %s", n.c_str());
  std::printf("\nfixtures: %s\n", gatest::fixtures_dir().empty() ? "(not found)" : gatest::fixtures_dir().c_str());
  for (const auto& t : gatest::registry()) {
    if (!filter.empty() && std::string(t.name).find(filter) == std::string::npos) continue;
    const int64_t f0 = gatest::counters().failed, p0 = gatest::counters().passed;
    std::printf("[ RUN  ] %s\n", t.name);
    std::fflush(stdout);
    t.fn();
    const int64_t df = gatest::counters().failed - f0, dp = gatest::counters().passed - p0;
    std::printf("[ %s ] %s (%lld checks)\n", df ? "FAIL" : " OK ", t.name, static_cast<long long>(df + dp));
    std::fflush(stdout);
  }
  const auto& c = gatest::counters();
  if (c.skipped) std::printf("%lld skipped\n", static_cast<long long>(c.skipped));
  std::printf("%lld passed, %lld failed\n", static_cast<long long>(c.passed), static_cast<long long>(c.failed));
  return c.failed ? 1 : 0;
}
