// The amxbf16 reduced-precision set: the avx512bf16 table with dense attention's two products
// (kernels/flash_block_amx.h) and the bfloat16 GEMMs (kernels/gemm_bf16_amx_impl.h) on AMX tiles. CMakeLists.txt gives
// this file alone the AMX flags; dispatch offers the set only where cpuid and XCR0 report AMX-BF16 and Linux granted
// the tile state (dispatch/cpu_features.h), and prefers it to avx512bf16 (dispatch/dispatch.h).
#include "kernels/dense_attention_bf16_impl.h"
#include "kernels/flash_block_amx.h"
#include "kernels/gemm_bf16_amx_impl.h"
#include "kernels/reduced_precision_list.h"
#include "simd/amx_bf16.h"

namespace ga {
namespace isa_amxbf16 {
using Block = FlashBlockAmx<VecAmxBf16, AmxBf16, VecAmxBf16::kQkVecs * VecAmxBf16::W>;
void dense_attention_bf16(const DenseAttentionParams& p) {
  // Head sizes that are not whole tile rows (D % 32) keep the vdpbf16ps kernel.
  if (Block::supports(p.D)) DenseAttentionBf16Kernel<VecAmxBf16, true, VecAmxBf16::Half, Block>::run(p);
  else isa_table_avx512bf16().dense_attention_bf16(p);
}
// Products of a few rows (a decode step's) waste most of a 32-row tile block and read the weights
// once either way: those keep the vdpbf16ps kernel.
constexpr int64_t kMinTileRows = 16;
using Gemm = GemmBf16AmxKernel<VecAmxBf16, AmxBf16>;
void gemm_abt_bf16(const GemmBf16Params& p) {
  if (p.g.M >= kMinTileRows) Gemm::run(p);
  else isa_table_avx512bf16().gemm_abt_bf16(p);
}
void gemm_abt_bf16_packed(const GemmPacked16Params& p) {
  if (p.g.M >= kMinTileRows) Gemm::run_packed(p);
  else isa_table_avx512bf16().gemm_abt_bf16_packed(p);
}
}  // namespace isa_amxbf16

const IsaTable& isa_table_amxbf16() {
  static const IsaTable table = [] {
    IsaTable t = isa_table_avx512bf16();  // float32 and the other bfloat16 kernels: avx512bf16's
    t.dense_attention_bf16 = &isa_amxbf16::dense_attention_bf16;
    t.gemm_abt_bf16 = &isa_amxbf16::gemm_abt_bf16;
    t.gemm_abt_bf16_packed = &isa_amxbf16::gemm_abt_bf16_packed;
    return t;
  }();
  return table;
}

}  // namespace ga
