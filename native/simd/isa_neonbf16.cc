// The neonbf16 reduced-precision set: the neon table with its bfloat16 entries replaced by native
// BFDOT kernels. CMakeLists.txt gives this file alone the +bf16 flags; dispatch selects the table
// only while neon is the active ISA and hwcaps report BF16 (dispatch/dispatch.h).
#include "kernels/dense_attention_bf16_impl.h"
#include "kernels/gemm_bf16_native_impl.h"
#include "kernels/gemm_bf16_packed_native_impl.h"
#include "kernels/reduced_precision_list.h"
#include "simd/vec_neon_bf16.h"

namespace ga {
namespace isa_neonbf16 {
void gemm_abt_bf16(const GemmBf16Params& p) { GemmBf16NativeKernel<VecNeonBf16>::run(p); }
void gemm_abt_bf16_packed(const GemmPacked16Params& p) { GemmBf16PackedNativeKernel<VecNeonBf16>::run(p); }
void dense_attention_bf16(const DenseAttentionParams& p) { DenseAttentionBf16Kernel<VecNeonBf16, true>::run(p); }
}  // namespace isa_neonbf16

const IsaTable& isa_table_neonbf16() {
  static const IsaTable table = [] {
    IsaTable t = isa_table_neon();  // float32 kernels: the neon ones, unchanged
    t.gemm_abt_bf16 = &isa_neonbf16::gemm_abt_bf16;
    t.dense_attention_bf16 = &isa_neonbf16::dense_attention_bf16;
    t.gemm_abt_bf16_packed = &isa_neonbf16::gemm_abt_bf16_packed;
    return t;
  }();
  return table;
}

}  // namespace ga
