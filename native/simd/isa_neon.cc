// The neon instantiation of every kernel template. The only file compiled with this ISA's
// flags (see CMakeLists.txt), so nothing neon-specific leaks into code that runs everywhere.
#include "dispatch/isa_table.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_impl.h"
#include "simd/vec_neon.h"

namespace ga {
namespace isa_neon {
void dense_attention(const DenseAttentionParams& p) { DenseAttentionKernel<VecNeon>::run(p); }
void gemm_abt(const GemmParams& p) { GemmKernel<VecNeon>::run(p); }
double fma_peak(double seconds) { return fma_peak_gflops<VecNeon>(seconds); }
}  // namespace isa_neon

const IsaTable& isa_table_neon() {
  static const IsaTable table{"neon", VecNeon::W, &isa_neon::dense_attention,
                              &isa_neon::fma_peak, &isa_neon::gemm_abt};
  return table;
}

}  // namespace ga
