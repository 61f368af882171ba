#include "dispatch/cpu_features.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace ga {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
unsigned long long read_xcr0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

// Linux's permission request for the AMX tile data state (arch/x86/include/uapi/asm/prctl.h).
bool ask_amx_permission(std::string& error) {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
    error = std::string("arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) failed: ") + std::strerror(errno);
    return false;
  }
  unsigned long long granted = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &granted) != 0 || !(granted & (1ull << kXfeatureXtiledata))) {
    error = "arch_prctl(ARCH_GET_XCOMP_PERM) does not report XTILEDATA";
    return false;
  }
  return true;
#else
  error = "no AMX permission request on this OS";
  return false;
#endif
}

void detect_x86(ReducedPrecisionFeatures& f) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  if (!osxsave || !avx) return;
  const unsigned long long xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;
  const bool tile_state = (xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG | XTILEDATA
  f.f16c = ymm_state && f16c;
  unsigned max_leaf = 0;
  if (!__get_cpuid(0, &max_leaf, &b, &c, &d) || max_leaf < 7) return;
  __cpuid_count(7, 0, a, b, c, d);
  const unsigned max_subleaf = a;
  const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  const bool avx512_base = zmm_state && avx512f && avx512bw && avx512vl;
  f.avx512fp16 = avx512_base && (d & (1u << 23));
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512bf16 = avx512_base && (a & (1u << 5));
  }
  f.amx_bf16 = amx_bf16 && amx_tile && tile_state;
}
#endif

#if defined(__aarch64__) && defined(__linux__)
// Values from the Linux uapi (asm/hwcap.h), for C libraries whose headers predate them.
constexpr unsigned long kHwcapFphp = 1ul << 9, kHwcapAsimdhp = 1ul << 10, kHwcapAsimdfhm = 1ul << 23;
constexpr unsigned long kHwcap2Bf16 = 1ul << 14;
void detect_arm(ReducedPrecisionFeatures& f) {
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  f.arm_fp16 = hw & kHwcapFphp;
  f.arm_asimdhp = hw & kHwcapAsimdhp;
  f.arm_fhm = hw & kHwcapAsimdfhm;
  f.arm_bf16 = hw2 & kHwcap2Bf16;
}
#endif

ReducedPrecisionFeatures detect() {
  ReducedPrecisionFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  detect_x86(f);
#endif
#if defined(__aarch64__) && defined(__linux__)
  detect_arm(f);
#endif
  return f;
}

}  // namespace

const ReducedPrecisionFeatures& reduced_precision_features() {
  static const ReducedPrecisionFeatures f = detect();  // C++11: initialised once, thread-safe
  return f;
}

namespace {
struct AmxPermission {
  bool granted = false;
  std::string error;
};
std::atomic<bool> g_amx_granted{false};
const AmxPermission& amx_permission() {
  static const AmxPermission p = [] {
    AmxPermission r;
#if defined(__x86_64__) || defined(_M_X64)
    if (reduced_precision_features().amx_bf16) r.granted = ask_amx_permission(r.error);
    else r.error = "this CPU/OS has no usable AMX-BF16";
#else
    r.error = "AMX is x86-64 only";
#endif
    g_amx_granted.store(r.granted);
    return r;
  }();
  return p;
}
}  // namespace

bool request_amx_permission(std::string* error) {
  const AmxPermission& p = amx_permission();
  if (error) *error = p.error;
  return p.granted;
}

bool amx_permission_granted() { return g_amx_granted.load(); }

}  // namespace ga
