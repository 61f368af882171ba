// A dependency-free test harness for the native kernels: tests register themselves, CHECKs count
// passes and failures, main() prints "N passed, M failed" last and returns non-zero on failure.
// Portable C++17 only (no ISA intrinsics): the binary is also cross-compiled for arm64 and run
// under qemu.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace gatest {

struct Counters {
  int64_t passed = 0, failed = 0, skipped = 0;
  int64_t reported = 0;  // failure lines printed (capped)
};
Counters& counters();

using TestFn = void (*)();
struct TestCase {
  const char* name;
  TestFn fn;
};
std::vector<TestCase>& registry();
struct Register {
  Register(const char* name, TestFn fn) { registry().push_back({name, fn}); }
};

#define GA_TEST(name)                                         \
  static void name();                                         \
  static ::gatest::Register name##_registration(#name, name); \
  static void name()

// Records one check; prints the first 50 failures with their context.
void check(bool ok, const char* file, int line, const std::string& what);
std::string fmt(const char* f, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void skip(const std::string& why);

#define CHECK(cond) ::gatest::check((cond), __FILE__, __LINE__, #cond)
#define CHECK_MSG(cond, ...) ::gatest::check((cond), __FILE__, __LINE__, ::gatest::fmt(__VA_ARGS__))

// Deterministic pseudo-random numbers (xorshift64*), identical on every platform.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>((next() >> 40) * (1.0 / 16777216.0)); }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
};

// Directory holding the *.safetensors fixtures, or "" (tests that need it are then skipped).
std::string fixtures_dir();

}  // namespace gatest
