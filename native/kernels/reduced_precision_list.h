// The native reduced-precision kernel sets (dispatch/dispatch.h, "Reduced precision"). Each set
// extends one float32 ISA: its table is that ISA's table with the bf16 entries of
// kernels/kernel_list.h replaced by native kernels. Adding a set: its simd/isa_<set>.cc (built
// with the set's flags), a declaration here, a line in dispatch.cc's usable_extensions() behind
// its cpu_features.h flag.
#pragma once
#include "kernels/kernel_list.h"

namespace ga {

struct ReducedPrecisionIsa {
  const char* name;            // "avx512bf16"
  const char* base;            // the float32 ISA it extends: "avx512"
  const IsaTable& (*table)();  // the base's table with native bf16 entries (name: the base's)
};

#ifdef GA_HAVE_AVX512BF16
const IsaTable& isa_table_avx512bf16();
#endif
#ifdef GA_HAVE_NEONBF16
const IsaTable& isa_table_neonbf16();
#endif

}  // namespace ga
