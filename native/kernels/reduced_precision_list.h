// The native reduced-precision kernel sets (dispatch/dispatch.h, "Reduced precision"). Each set
// extends one float32 ISA: its table is that ISA's table with the entries of one 16-bit type
// (the bf16 or the fp16 ones of kernels/kernel_list.h) replaced by native kernels, so sets for
// different types extend one ISA side by side. Adding a set: its simd/isa_<set>.cc (built with
// the set's flags), a declaration here, a line in dispatch.cc's usable_extensions() behind its
// cpu_features.h flag.
#pragma once
#include "kernels/kernel_list.h"

namespace ga {

struct ReducedPrecisionIsa {
  const char* name;            // "avx512bf16"
  const char* base;            // the float32 ISA it extends: "avx512"
  const IsaTable& (*table)();  // the base's table with its native entries (name: the base's)
  // A set whose table holds every native entry of another set (its own replacing some) names
  // that set here: "auto" then takes this set alone. nullptr for most.
  const char* supersedes = nullptr;
};

#ifdef GA_HAVE_AVX512BF16
const IsaTable& isa_table_avx512bf16();
#endif
#ifdef GA_HAVE_AMXBF16
const IsaTable& isa_table_amxbf16();  // avx512bf16's table with AMX kernels where it has them
#endif
#ifdef GA_HAVE_NEONBF16
const IsaTable& isa_table_neonbf16();
#endif
#ifdef GA_HAVE_NEONFP16
const IsaTable& isa_table_neonfp16();
#endif

}  // namespace ga
