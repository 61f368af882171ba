#include "dispatch/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "dispatch/cpu_features.h"
#include "kernels/reduced_precision_list.h"

namespace ga {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
struct X86Features {
  bool avx2_fma = false, avx512 = false;
};
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
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
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

// Native reduced-precision kernel sets compiled in and usable on this CPU (cpu_features.h).
std::vector<ReducedPrecisionIsa> usable_extensions() {
  std::vector<ReducedPrecisionIsa> e;
  const ReducedPrecisionFeatures& f = reduced_precision_features();
  (void)f;
#ifdef GA_HAVE_AVX512BF16
  if (f.avx512bf16) e.push_back({"avx512bf16", "avx512", &isa_table_avx512bf16});
#endif
#if defined(GA_HAVE_AVX512BF16) && defined(GA_HAVE_AMXBF16)
  // Asked here, just before the set is offered: the grant is what lets its tile instructions run.
  if (f.avx512bf16 && f.amx_bf16 && request_amx_permission())
    e.push_back({"amxbf16", "avx512", &isa_table_amxbf16, "avx512bf16"});
#endif
#ifdef GA_HAVE_NEONBF16
  if (f.arm_bf16) e.push_back({"neonbf16", "neon", &isa_table_neonbf16});
#endif
#ifdef GA_HAVE_NEONFP16
  if (f.arm_fhm) e.push_back({"neonfp16", "neon", &isa_table_neonfp16});
#endif
  return e;
}

std::once_flag g_once;
std::mutex g_mutex;  // serialises the setters (the tables themselves are immutable)
// g_base: the float32 ISA chosen; g_active: the table the forwarders call, either g_base or a
// native reduced-precision extension of it (same float32 entries, native bf16 entries).
std::atomic<const IsaTable*> g_base{nullptr};
std::atomic<const IsaTable*> g_active{nullptr};
std::string g_rp_choice = "auto";  // "auto", "emulated" or a native set's name (under g_mutex)
std::string g_override_error;
std::string g_rp_override_error;

const IsaTable* find(const std::string& name) {
  for (const IsaTable* t : usable_tables())
    if (name == t->name) return t;
  return nullptr;
}

bool find_extension(const std::string& name, ReducedPrecisionIsa& out) {
  for (const ReducedPrecisionIsa& e : usable_extensions())
    if (name == e.name) {
      out = e;
      return true;
    }
  return false;
}

// The set names of a choice that names sets: one, or several joined by '+'.
std::vector<std::string> set_names(const std::string& rp) {
  std::vector<std::string> names;
  size_t start = 0;
  for (size_t plus; (plus = rp.find('+', start)) != std::string::npos; start = plus + 1)
    names.push_back(rp.substr(start, plus - start));
  names.push_back(rp.substr(start));
  return names;
}

bool names_set(const std::string& rp, const char* set) {
  for (const std::string& n : set_names(rp))
    if (n == set) return true;
  return false;
}

// Tables of several sets over one base (sets for different 16-bit types, e.g. neonbf16 and
// neonfp16 over neon): the base's table with each set's native entries. Built on first use and
// kept for the process (g_active may point at one); a deque keeps their addresses.
struct CombinedTable {
  const IsaTable* base;
  std::string names;  // "neonbf16+neonfp16"
  IsaTable table;
};
std::mutex g_combined_mutex;
std::deque<CombinedTable> g_combined;

const IsaTable* combine(const IsaTable* base, const std::vector<ReducedPrecisionIsa>& sets) {
  std::string names;
  for (const ReducedPrecisionIsa& e : sets) names += (names.empty() ? "" : "+") + std::string(e.name);
  std::lock_guard<std::mutex> lock(g_combined_mutex);
  for (const CombinedTable& c : g_combined)
    if (c.base == base && c.names == names) return &c.table;
  IsaTable t = *base;
  for (const ReducedPrecisionIsa& e : sets) {
    const IsaTable& x = e.table();
#define GA_TAKE_NATIVE(entry, Ret, Arg) \
  if (x.entry != base->entry) t.entry = x.entry;
    GA_DISPATCHED_KERNELS(GA_TAKE_NATIVE)
#undef GA_TAKE_NATIVE
  }
  g_combined.push_back({base, names, t});
  return &g_combined.back().table;
}

// The table for float32 ISA `base` under reduced-precision choice `rp`: base with the extensions
// of it that rp allows ("auto": all, else those rp names), or base itself (its bf16 and fp16
// entries are the emulated kernels).
const IsaTable* compose(const IsaTable* base, const std::string& rp) {
  if (rp == "emulated") return base;
  std::vector<ReducedPrecisionIsa> sets;
  const std::vector<ReducedPrecisionIsa> usable = usable_extensions();
  const auto superseded = [&](const ReducedPrecisionIsa& e) {  // under "auto", by a set also taken
    for (const ReducedPrecisionIsa& o : usable)
      if (o.supersedes && std::string(o.supersedes) == e.name && std::string(o.base) == base->name) return true;
    return false;
  };
  for (const ReducedPrecisionIsa& e : usable)
    if (std::string(e.base) == base->name && (rp == "auto" ? !superseded(e) : names_set(rp, e.name))) sets.push_back(e);
  if (sets.empty()) return base;
  if (sets.size() == 1) return &sets[0].table();
  return combine(base, sets);
}

bool valid_rp_choice(const std::string& rp) {
  if (rp == "auto" || rp == "emulated") return true;
  ReducedPrecisionIsa e;
  for (const std::string& n : set_names(rp))
    if (!find_extension(n, e)) return false;
  return true;
}

void init() {
  std::call_once(g_once, [] {
    const IsaTable* chosen = usable_tables().back();
    if (const char* env = std::getenv("GLOBAL_ATTENTION_REDUCED_PRECISION")) {
      std::string want(env);
      if (!want.empty()) {
        if (valid_rp_choice(want)) g_rp_choice = want;
        else g_rp_override_error = "GLOBAL_ATTENTION_REDUCED_PRECISION=" + want + " is not available on this CPU/build";
      }
    }
    if (const char* env = std::getenv("GLOBAL_ATTENTION_ISA")) {
      std::string want(env);
      ReducedPrecisionIsa ext;
      if (!want.empty() && want != "auto") {
        if (const IsaTable* t = find(want)) chosen = t;
        else if (find_extension(want, ext) && find(ext.base)) {  // a native set names its base ISA too
          chosen = find(ext.base);
          g_rp_choice = want;
        } else g_override_error = "GLOBAL_ATTENTION_ISA=" + want + " is not available on this CPU/build";
      }
    }
    g_base.store(chosen);
    g_active.store(compose(chosen, g_rp_choice));
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
  std::lock_guard<std::mutex> lock(g_mutex);
  const IsaTable* t = find(name);
  ReducedPrecisionIsa ext;
  if (!t && find_extension(name, ext)) {  // a native reduced-precision set: its base ISA + the set
    t = find(ext.base);
    if (!t) return false;
    g_rp_choice = name;
  }
  if (!t) return false;
  g_base.store(t);
  g_active.store(compose(t, g_rp_choice));
  return true;
}

std::string isa_override_error() {
  init();
  return g_override_error;
}

std::vector<std::string> available_reduced_precision_isas() {
  std::vector<std::string> names;
  for (const ReducedPrecisionIsa& e : usable_extensions()) names.emplace_back(e.name);
  return names;
}

std::string active_reduced_precision_isa() {
  init();
  const IsaTable* active = g_active.load();
  if (active == g_base.load()) return "emulated";
  for (const ReducedPrecisionIsa& e : usable_extensions())
    if (&e.table() == active) return e.name;
  std::lock_guard<std::mutex> lock(g_combined_mutex);
  for (const CombinedTable& c : g_combined)
    if (&c.table == active) return c.names;
  return "emulated";
}

bool set_reduced_precision_isa(const std::string& name) {
  init();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!valid_rp_choice(name)) return false;
  g_rp_choice = name;
  g_active.store(compose(g_base.load(), g_rp_choice));
  return true;
}

std::string reduced_precision_override_error() {
  init();
  return g_rp_override_error;
}

#define GA_DEFINE_FORWARDER(name, Ret, Arg) \
  Ret name(Arg a) { return active_isa().name(a); }
GA_DISPATCHED_KERNELS(GA_DEFINE_FORWARDER)
#undef GA_DEFINE_FORWARDER

}  // namespace ga
