// The avx2 instantiation of every kernel template. The only file compiled with this ISA's
// flags (see CMakeLists.txt), so nothing avx2-specific leaks into code that runs everywhere.
#include "dispatch/isa_table.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_impl.h"
#include "kernels/tglobal_attention_impl.h"
#include "kernels/block_global_attention_impl.h"
#include "simd/vec_avx2.h"

namespace ga {
namespace isa_avx2 {
void dense_attention(const DenseAttentionParams& p) { DenseAttentionKernel<VecAvx2>::run(p); }
void tglobal_attention(const TGlobalAttentionParams& p) { TGlobalAttentionKernel<VecAvx2>::run(p); }
void block_global_attention(const BlockGlobalAttentionParams& p) { BlockGlobalAttentionKernel<VecAvx2>::run(p); }
void gemm_abt(const GemmParams& p) { GemmKernel<VecAvx2>::run(p); }
double fma_peak(double seconds) { return fma_peak_gflops<VecAvx2>(seconds); }
}  // namespace isa_avx2

const IsaTable& isa_table_avx2() {
  static const IsaTable table{"avx2", VecAvx2::W, &isa_avx2::dense_attention,
                              &isa_avx2::fma_peak, &isa_avx2::gemm_abt,
                              &isa_avx2::tglobal_attention, &isa_avx2::block_global_attention};
  return table;
}

}  // namespace ga
