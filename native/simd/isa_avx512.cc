// The avx512 instantiation of every kernel template. The only file compiled with this ISA's
// flags (see CMakeLists.txt), so nothing avx512-specific leaks into code that runs everywhere.
#include "dispatch/isa_table.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_impl.h"
#include "kernels/tglobal_attention_impl.h"
#include "kernels/block_global_attention_impl.h"
#include "simd/vec_avx512.h"

namespace ga {
namespace isa_avx512 {
void dense_attention(const DenseAttentionParams& p) { DenseAttentionKernel<VecAvx512>::run(p); }
void tglobal_attention(const TGlobalAttentionParams& p) { TGlobalAttentionKernel<VecAvx512>::run(p); }
void block_global_attention(const BlockGlobalAttentionParams& p) { BlockGlobalAttentionKernel<VecAvx512>::run(p); }
void gemm_abt(const GemmParams& p) { GemmKernel<VecAvx512>::run(p); }
double fma_peak(double seconds) { return fma_peak_gflops<VecAvx512>(seconds); }
}  // namespace isa_avx512

const IsaTable& isa_table_avx512() {
  static const IsaTable table{"avx512", VecAvx512::W, &isa_avx512::dense_attention,
                              &isa_avx512::fma_peak, &isa_avx512::gemm_abt,
                              &isa_avx512::tglobal_attention, &isa_avx512::block_global_attention};
  return table;
}

}  // namespace ga
