// The neon instantiation of every kernel template. The only file compiled with this ISA's
// flags (see CMakeLists.txt), so nothing neon-specific leaks into code that runs everywhere.
#include "dispatch/isa_table.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_impl.h"
#include "kernels/tglobal_attention_impl.h"
#include "kernels/block_global_attention_impl.h"
#include "simd/vec_neon.h"

namespace ga {
namespace isa_neon {
void dense_attention(const DenseAttentionParams& p) { DenseAttentionKernel<VecNeon>::run(p); }
void tglobal_attention(const TGlobalAttentionParams& p) { TGlobalAttentionKernel<VecNeon>::run(p); }
void block_global_attention(const BlockGlobalAttentionParams& p) { BlockGlobalAttentionKernel<VecNeon>::run(p); }
void gemm_abt(const GemmParams& p) { GemmKernel<VecNeon>::run(p); }
double fma_peak(double seconds) { return fma_peak_gflops<VecNeon>(seconds); }
}  // namespace isa_neon

const IsaTable& isa_table_neon() {
  static const IsaTable table{"neon", VecNeon::W, &isa_neon::dense_attention,
                              &isa_neon::fma_peak, &isa_neon::gemm_abt,
                              &isa_neon::tglobal_attention, &isa_neon::block_global_attention};
  return table;
}

}  // namespace ga
