// Every dispatched kernel's template, `name_kernel<V>(args)` for each X line of kernel_list.h.
// Included only by the per-ISA translation units (simd/isa_*.cc), which compile it with their
// ISA's flags and vector type.
#pragma once
#include "kernels/block_global_attention_impl.h"
#include "kernels/decode_attention_impl.h"
#include "kernels/dense_attention_bf16_impl.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_bf16_impl.h"
#include "kernels/gemm_bf16_packed_impl.h"
#include "kernels/gemm_impl.h"
#include "kernels/half_convert_impl.h"
#include "kernels/kernel_list.h"
#include "kernels/microkernel_probe_impl.h"
#include "kernels/packed_attention_impl.h"
#include "kernels/t5_ff_activation_impl.h"
#include "kernels/tglobal_attention_bf16_impl.h"
#include "kernels/tglobal_attention_impl.h"

namespace ga {

template <class V>
void dense_attention_kernel(const DenseAttentionParams& p) {
  DenseAttentionKernel<V>::run(p);
}
template <class V>
void decode_attention_kernel(const DenseAttentionParams& p) {
  DecodeAttentionKernel<V>::run(p);
}
template <class V>
void packed_attention_kernel(const PackedAttentionParams& p) {
  PackedAttentionKernel<V>::run(p);
}
template <class V>
void gemm_abt_kernel(const GemmParams& p) {
  GemmKernel<V>::run(p);
}
template <class V>
int64_t gemm_pack_b_kernel(const GemmPackParams& p) {
  return GemmKernel<V>::pack_b(p);
}
template <class V>
void tglobal_attention_kernel(const TGlobalAttentionParams& p) {
  TGlobalAttentionKernel<V>::run(p);
}
template <class V>
void tglobal_attention_batch_kernel(const TGlobalAttentionBatchParams& p) {
  TGlobalAttentionKernel<V>::run_batch(p);
}
template <class V>
void block_global_attention_kernel(const BlockGlobalAttentionParams& p) {
  BlockGlobalAttentionKernel<V>::run(p);
}
template <class V>
double fma_peak_gflops_kernel(double seconds) {
  return fma_peak_gflops<V>(seconds);
}
template <class V>
MicrokernelRates microkernel_rates_kernel(double seconds) {
  return microkernel_rates<V>(seconds);
}
template <class V>
void half_convert_kernel(const HalfConvertParams& p) {
  HalfConvertKernel<V>::run(p);
}
// The emulated bfloat16 kernels (native ones: kernels/reduced_precision_list.h).
template <class V>
void gemm_abt_bf16_kernel(const GemmBf16Params& p) {
  GemmBf16EmulatedKernel<V>::run(p);
}
template <class V>
void gemm_abt_bf16_packed_kernel(const GemmPacked16Params& p) {
  GemmBf16PackedEmulatedKernel<V>::run(p);
}
template <class V>
void dense_attention_bf16_kernel(const DenseAttentionParams& p) {
  DenseAttentionBf16Kernel<V, false>::run(p);
}
template <class V>
void tglobal_attention_bf16_kernel(const TGlobalAttentionParams& p) {
  TGlobalAttentionBf16Kernel<V, false>::run(p);
}
// The emulated float16 kernels (kernels/fp16.h): the same code with float16 rounding.
template <class V>
void gemm_abt_fp16_kernel(const GemmBf16Params& p) {
  GemmBf16EmulatedKernel<V, Fp16<V>>::run(p);
}
template <class V>
void gemm_abt_fp16_packed_kernel(const GemmPacked16Params& p) {
  GemmBf16PackedEmulatedKernel<V, Fp16<V>>::run(p);
}
template <class V>
void dense_attention_fp16_kernel(const DenseAttentionParams& p) {
  DenseAttentionBf16Kernel<V, false, Fp16<V>>::run(p);
}
template <class V>
void tglobal_attention_fp16_kernel(const TGlobalAttentionParams& p) {
  TGlobalAttentionBf16Kernel<V, false, Fp16<V>>::run(p);
}

}  // namespace ga
