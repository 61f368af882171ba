// The list of dispatched kernels: the one place a new SIMD kernel is registered. From it follow
// the per-ISA table (IsaTable below), each ISA's instantiation (simd/isa_instantiate.inc) and the
// forwarders that call the active ISA (dispatch/dispatch.h). Each entry is
//   X(name, return type, argument type)
// and kernels/kernels_impl.h must define `template <class V> Ret name_kernel(Arg)`.
// Adding a kernel: write it (its params header here, its template in kernels_impl.h), add one X
// line, call it from ops/ or binding/. Nothing else changes.
#pragma once
#include "kernels/dense_attention.h"
#include "kernels/gemm.h"
#include "kernels/packed_attention.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_bf16_packed.h"
#include "kernels/half_convert.h"
#include "kernels/microkernel_probe.h"
#include "kernels/t5_ff_activation.h"
#include "kernels/tglobal_attention.h"

#define GA_DISPATCHED_KERNELS(X)                                                                          \
  X(dense_attention, void, const DenseAttentionParams&)                                                   \
  X(decode_attention, void, const DenseAttentionParams&) /* any Nq */                                     \
  X(packed_attention, void, const PackedAttentionParams&)                                                 \
  X(gemm_abt, void, const GemmParams&)                                                                    \
  X(gemm_pack_b, int64_t, const GemmPackParams&)                                                          \
  X(tglobal_attention, void, const TGlobalAttentionParams&)                                               \
  X(tglobal_attention_batch, void, const TGlobalAttentionBatchParams&)                                    \
  X(block_global_attention, void, const BlockGlobalAttentionParams&)                                      \
  X(t5_ff_activation, void, const FfActivationParams&)                                                    \
  X(fma_peak_gflops, double, double)              /* one thread, this ISA's vectors; argument: seconds */ \
  X(microkernel_rates, MicrokernelRates, double)  /* QK, PV micro-tiles in L1; argument: seconds */       \
  X(half_convert, void, const HalfConvertParams&) /* float16/bfloat16 tensors <-> float32 */              \
  /* bfloat16 products, float32 accumulation: emulated here, native in a reduced-precision set */         \
  X(gemm_abt_bf16, void, const GemmBf16Params&)                                                           \
  X(dense_attention_bf16, void, const DenseAttentionParams&)                                              \
  X(tglobal_attention_bf16, void, const TGlobalAttentionParams&)                                          \
  X(gemm_abt_bf16_packed, void, const GemmPacked16Params&) /* B by gemm_pack_b16 */                       \
  /* float16 products, float32 accumulation: emulated here, native in a reduced-precision set */          \
  X(gemm_abt_fp16, void, const GemmBf16Params&)                                                           \
  X(gemm_abt_fp16_packed, void, const GemmPacked16Params&)                                                \
  X(dense_attention_fp16, void, const DenseAttentionParams&)                                              \
  X(tglobal_attention_fp16, void, const TGlobalAttentionParams&)

namespace ga {

// One ISA's kernels: filled by simd/isa_<name>.cc, chosen by dispatch/dispatch.cc.
struct IsaTable {
  const char* name;  // "scalar", "avx2", "avx512", "neon"
  int vector_width;  // float lanes
#define GA_TABLE_ENTRY(name, Ret, Arg) Ret (*name)(Arg);
  GA_DISPATCHED_KERNELS(GA_TABLE_ENTRY)
#undef GA_TABLE_ENTRY
};

const IsaTable& isa_table_scalar();
#ifdef GA_HAVE_AVX2
const IsaTable& isa_table_avx2();
#endif
#ifdef GA_HAVE_AVX512
const IsaTable& isa_table_avx512();
#endif
#ifdef GA_HAVE_NEON
const IsaTable& isa_table_neon();
#endif

}  // namespace ga
