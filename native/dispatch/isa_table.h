// The per-ISA kernel table: every ISA translation unit (simd/isa_*.cc) fills one of these with
// the same templates instantiated for its vector type. dispatch.cc picks one, once.
#pragma once
#include "kernels/dense_attention.h"
#include "kernels/gemm.h"
#include "kernels/tglobal_attention.h"

namespace ga {

struct IsaTable {
  const char* name;   // "scalar", "avx2", "avx512", "neon"
  int vector_width;   // float lanes
  void (*dense_attention)(const DenseAttentionParams&);
  double (*fma_peak_gflops)(double seconds);  // one thread, this ISA's vectors
  void (*gemm_abt)(const GemmParams&);
  void (*tglobal_attention)(const TGlobalAttentionParams&);
  void (*block_global_attention)(const BlockGlobalAttentionParams&);
};

const IsaTable& isa_table_scalar();
#ifdef GA_HAVE_AVX2
const IsaTable& isa_table_avx2();
#endif
#ifdef GA_HAVE_AVX512
const IsaTable& isa_table_avx512();
#endif
#ifdef GA_HAVE_NEON
const IsaTable& isa_table_neon();
#endif

}  // namespace ga
