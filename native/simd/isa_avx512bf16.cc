// The avx512bf16 reduced-precision set: the avx512 table with its bfloat16 entries replaced by
// native vdpbf16ps kernels. CMakeLists.txt gives this file alone the AVX512-BF16 flags; dispatch
// selects the table only while avx512 is the active ISA and cpuid reports AVX512_BF16
// (dispatch/dispatch.h, "Reduced precision").
#include "kernels/dense_attention_bf16_impl.h"
#include "kernels/gemm_bf16_native_impl.h"
#include "kernels/gemm_bf16_packed_native_impl.h"
#include "kernels/reduced_precision_list.h"
#include "simd/vec_avx512bf16.h"

namespace ga {
namespace isa_avx512bf16 {
void gemm_abt_bf16(const GemmBf16Params& p) { GemmBf16NativeKernel<VecAvx512Bf16>::run(p); }
void gemm_abt_bf16_packed(const GemmPacked16Params& p) { GemmBf16PackedNativeKernel<VecAvx512Bf16>::run(p); }
void dense_attention_bf16(const DenseAttentionParams& p) { DenseAttentionBf16Kernel<VecAvx512Bf16, true>::run(p); }
}  // namespace isa_avx512bf16

const IsaTable& isa_table_avx512bf16() {
  static const IsaTable table = [] {
    IsaTable t = isa_table_avx512();  // float32 kernels: the avx512 ones, unchanged
    t.gemm_abt_bf16 = &isa_avx512bf16::gemm_abt_bf16;
    t.dense_attention_bf16 = &isa_avx512bf16::dense_attention_bf16;
    t.gemm_abt_bf16_packed = &isa_avx512bf16::gemm_abt_bf16_packed;
    return t;
  }();
  return table;
}

}  // namespace ga
