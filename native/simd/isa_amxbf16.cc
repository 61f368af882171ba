// The amxbf16 reduced-precision set: the avx512bf16 table with dense attention's two products on
// AMX tiles (kernels/flash_block_amx.h). CMakeLists.txt gives this file alone the AMX flags;
// dispatch offers the set only where cpuid and XCR0 report AMX-BF16 and Linux granted the tile
// state (dispatch/cpu_features.h), and prefers it to avx512bf16 (dispatch/dispatch.h).
#include "kernels/dense_attention_bf16_impl.h"
#include "kernels/flash_block_amx.h"
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
}  // namespace isa_amxbf16

const IsaTable& isa_table_amxbf16() {
  static const IsaTable table = [] {
    IsaTable t = isa_table_avx512bf16();  // float32 and the other bfloat16 kernels: avx512bf16's
    t.dense_attention_bf16 = &isa_amxbf16::dense_attention_bf16;
    return t;
  }();
  return table;
}

}  // namespace ga
