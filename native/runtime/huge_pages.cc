#include "runtime/huge_pages.h"

#include <cstdint>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ga {

bool advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
  if (!p || bytes < kHuge || begin > UINTPTR_MAX - bytes) return false;
  const uintptr_t lo = (begin + kHuge - 1) / kHuge * kHuge, hi = (begin + bytes) / kHuge * kHuge;
  return lo < hi && madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE) == 0;
#else
  (void)p;
  (void)bytes;
  return false;
#endif
}

}  // namespace ga
