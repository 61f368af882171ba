// The neonfp16 reduced-precision set: the neon table with its float16 entries replaced by native
// FMLAL/FMLAL2 kernels (float16 products, float32 accumulation; simd/vec_neon_fp16.h). The native
// 16-bit kernels are the bfloat16 ones over a float16 pair type. CMakeLists.txt gives this file
// alone the +fp16fml flags; dispatch selects the table only while neon is the active ISA and
// hwcaps report ASIMDFHM (dispatch/dispatch.h).
#include "kernels/dense_attention_bf16_impl.h"
#include "kernels/gemm_bf16_native_impl.h"
#include "kernels/gemm_bf16_packed_native_impl.h"
#include "kernels/reduced_precision_list.h"
#include "kernels/tglobal_attention_bf16_impl.h"
#include "simd/vec_neon_fp16.h"

namespace ga {
namespace isa_neonfp16 {
using V = VecNeonFp16;
void gemm_abt_fp16(const GemmBf16Params& p) { GemmBf16NativeKernel<V>::run(p); }
void gemm_abt_fp16_packed(const GemmPacked16Params& p) { GemmBf16PackedNativeKernel<V>::run(p); }
void dense_attention_fp16(const DenseAttentionParams& p) { DenseAttentionBf16Kernel<V, true, V::Half>::run(p); }
void tglobal_attention_fp16(const TGlobalAttentionParams& p) { TGlobalAttentionBf16Kernel<V, true, V::Half>::run(p); }
}  // namespace isa_neonfp16

const IsaTable& isa_table_neonfp16() {
  static const IsaTable table = [] {
    IsaTable t = isa_table_neon();  // float32 and bfloat16 kernels: the neon ones, unchanged
    t.gemm_abt_fp16 = &isa_neonfp16::gemm_abt_fp16;
    t.gemm_abt_fp16_packed = &isa_neonfp16::gemm_abt_fp16_packed;
    t.dense_attention_fp16 = &isa_neonfp16::dense_attention_fp16;
    t.tglobal_attention_fp16 = &isa_neonfp16::tglobal_attention_fp16;
    return t;
  }();
  return table;
}

}  // namespace ga
