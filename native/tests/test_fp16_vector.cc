// The emulated fp16 kernels widen and round through each ISA's vector conversions (V::load_f16 /
// V::store_f16, via Fp16<V>::widen_row / round_row / round_vec, kernels/fp16.h). They must
// implement kernels/fp16.h's scalar rule bit for bit: every float16 widened, and float32 values
// narrowed around each rounding boundary (ties, subnormal halves, overflow, NaN payloads, signed
// zeros); a signalling NaN may come back quiet. ga::half_convert reaches the same V conversions on
// every ISA this CPU runs.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch/dispatch.h"
#include "kernels/fp16.h"
#include "kernels/half_convert.h"
#include "tests/test_util.h"

namespace {

using gatest::Rng;
struct TestTag {};
using F16 = ga::Fp16<TestTag>;

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

// Mantissas that sit on or next to a rounding boundary for every shift a float16 result needs
// (13 for normal halves, up to 24 for subnormal ones), plus random ones.
std::vector<uint32_t> mantissas() {
  std::vector<uint32_t> m;
  for (uint32_t t = 0; t < 24; ++t) {
    const uint32_t b = 1u << t;
    for (uint32_t x : {b, b - 1, b + 1, 3 * b, 3 * b - 1, 3 * b + 1}) m.push_back(x & 0x7fffffu);
  }
  Rng rng(15);
  for (int i = 0; i < 2048; ++i) m.push_back(static_cast<uint32_t>(rng.next() >> 41));
  m.push_back(0x7fffffu);
  return m;
}

}  // namespace

GA_TEST(fp16_vector_conversions_match_the_scalar_rule) {
  std::vector<uint16_t> all(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
  std::vector<float> src;
  for (uint32_t sign = 0; sign < 2; ++sign)
    for (uint32_t e = 0; e < 256; ++e)
      for (uint32_t m : mantissas()) src.push_back(from_bits((sign << 31) | (e << 23) | m));
  const int64_t n = static_cast<int64_t>(src.size());
  const std::string keep = ga::active_isa().name;
  for (const std::string& isa : ga::available_isas()) {
    ga::set_active_isa(isa);
    std::vector<float> wide(65536);
    ga::HalfConvertParams w;
    w.to_float = true;
    w.src16 = all.data();
    w.dst32 = wide.data();
    w.n = 65536;
    ga::half_convert(w);
    int64_t bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
      // F16C and FCVTL quiet a signalling NaN (the scalar rule keeps its bits): the same NaN to
      // every product it enters, which quiets it anyway, so the kernels' outputs do not change.
      uint32_t want = bits(F16::to_float(static_cast<uint16_t>(h)));
      if ((want & 0x7fffffffu) > 0x7f800000u && bits(wide[h]) != want) want |= 0x400000u;
      if (bits(wide[h]) != want && bad++ < 3)
        std::printf("  %s: widen 0x%04x -> 0x%08x, rule 0x%08x\n", isa.c_str(), h, bits(wide[h]), want);
    }
    std::vector<uint16_t> narrow(static_cast<size_t>(n));
    ga::HalfConvertParams r;
    r.to_float = false;
    r.src32 = src.data();
    r.dst16 = narrow.data();
    r.n = n;
    ga::half_convert(r);
    for (int64_t i = 0; i < n; ++i)
      if (narrow[i] != F16::from_float(src[i]) && bad++ < 6)
        std::printf("  %s: narrow 0x%08x -> 0x%04x, rule 0x%04x\n", isa.c_str(), bits(src[i]), narrow[i],
                    F16::from_float(src[i]));
    CHECK_MSG(bad == 0, "%s: %lld conversions differ from kernels/fp16.h's rule", isa.c_str(),
              static_cast<long long>(bad));
  }
  ga::set_active_isa(keep);
}
