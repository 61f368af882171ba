#include "dispatch/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace ga {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
struct X86Features { bool avx2_fma = false, avx512 = false; };
X86Features detect_x86() {
  X86Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31);
  f.avx2_fma = ymm_state && avx2 && fma && f16c;
  f.avx512 = f.avx2_fma && zmm_state && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}
#endif

std::vector<const IsaTable*> usable_tables() {
  std::vector<const IsaTable*> t{&isa_table_scalar()};
#if defined(GA_HAVE_AVX2) || defined(GA_HAVE_AVX512)
  const X86Features f = detect_x86();
#endif
#ifdef GA_HAVE_AVX2
  if (f.avx2_fma) t.push_back(&isa_table_avx2());
#endif
#ifdef GA_HAVE_AVX512
  if (f.avx512) t.push_back(&isa_table_avx512());
#endif
#ifdef GA_HAVE_NEON
  // Advanced SIMD is architectural on AArch64; hwcaps confirms it where the OS reports it.
#if defined(__linux__)
  if (getauxval(AT_HWCAP) & HWCAP_ASIMD) t.push_back(&isa_table_neon());
#else
  t.push_back(&isa_table_neon());
#endif
#endif
  return t;
}

std::once_flag g_once;
std::atomic<const IsaTable*> g_active{nullptr};
std::string g_override_error;

const IsaTable* find(const std::string& name) {
  for (const IsaTable* t : usable_tables())
    if (name == t->name) return t;
  return nullptr;
}

void init() {
  std::call_once(g_once, [] {
    const IsaTable* chosen = usable_tables().back();
    if (const char* env = std::getenv("GLOBAL_ATTENTION_ISA")) {
      std::string want(env);
      if (!want.empty() && want != "auto") {
        if (const IsaTable* t = find(want)) chosen = t;
        else g_override_error = "GLOBAL_ATTENTION_ISA=" + want + " is not available on this CPU/build";
      }
    }
    g_active.store(chosen);
  });
}

}  // namespace

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const IsaTable* t : usable_tables()) names.emplace_back(t->name);
  return names;
}

const IsaTable& active_isa() {
  init();
  return *g_active.load();
}

bool set_active_isa(const std::string& name) {
  init();
  const IsaTable* t = find(name);
  if (!t) return false;
  g_active.store(t);
  return true;
}

std::string isa_override_error() {
  init();
  return g_override_error;
}

#define GA_DEFINE_FORWARDER(name, Ret, Arg) \
  Ret name(Arg a) { return active_isa().name(a); }
GA_DISPATCHED_KERNELS(GA_DEFINE_FORWARDER)
#undef GA_DEFINE_FORWARDER

}  // namespace ga
