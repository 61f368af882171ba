// The scalar instantiation of every kernel template. The only file compiled with this ISA's
// flags (see CMakeLists.txt), so nothing scalar-specific leaks into code that runs everywhere.
#include "dispatch/isa_table.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_impl.h"
#include "kernels/tglobal_attention_impl.h"
#include "kernels/block_global_attention_impl.h"
#include "simd/vec_scalar.h"

namespace ga {
namespace isa_scalar {
void dense_attention(const DenseAttentionParams& p) { DenseAttentionKernel<VecScalar>::run(p); }
void tglobal_attention(const TGlobalAttentionParams& p) { TGlobalAttentionKernel<VecScalar>::run(p); }
void block_global_attention(const BlockGlobalAttentionParams& p) { BlockGlobalAttentionKernel<VecScalar>::run(p); }
void gemm_abt(const GemmParams& p) { GemmKernel<VecScalar>::run(p); }
double fma_peak(double seconds) { return fma_peak_gflops<VecScalar>(seconds); }
}  // namespace isa_scalar

const IsaTable& isa_table_scalar() {
  static const IsaTable table{"scalar", VecScalar::W, &isa_scalar::dense_attention,
                              &isa_scalar::fma_peak, &isa_scalar::gemm_abt,
                              &isa_scalar::tglobal_attention, &isa_scalar::block_global_attention};
  return table;
}

}  // namespace ga
