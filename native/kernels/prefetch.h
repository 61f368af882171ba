// Software prefetch hints for the kernels: one cache line at a time, for reading or writing, at a
// locality (3: keep in every cache level; 1: L2 and beyond). A no-op where the compiler has no
// __builtin_prefetch (MSVC); a hint never changes a result.
#pragma once

namespace ga {

constexpr int kCacheLineFloats = 16;  // floats per 64-byte cache line (prefetch loop steps)

template <bool kWrite = false, int kLocality = 3>
inline void prefetch_line(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, kWrite ? 1 : 0, kLocality);
#else
  (void)p;
#endif
}

}  // namespace ga
