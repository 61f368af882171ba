// Every dispatched kernel's template, `name_kernel<V>(args)` for each X line of kernel_list.h.
// Included only by the per-ISA translation units (simd/isa_*.cc), which compile it with their
// ISA's flags and vector type.
#pragma once
#include "kernels/block_global_attention_impl.h"
#include "kernels/dense_attention_impl.h"
#include "kernels/fma_peak_impl.h"
#include "kernels/gemm_impl.h"
#include "kernels/kernel_list.h"
#include "kernels/tglobal_attention_impl.h"

namespace ga {

template <class V>
void dense_attention_kernel(const DenseAttentionParams& p) { DenseAttentionKernel<V>::run(p); }
template <class V>
void gemm_abt_kernel(const GemmParams& p) { GemmKernel<V>::run(p); }
template <class V>
int64_t gemm_pack_b_kernel(const GemmPackParams& p) { return GemmKernel<V>::pack_b(p); }
template <class V>
void tglobal_attention_kernel(const TGlobalAttentionParams& p) { TGlobalAttentionKernel<V>::run(p); }
template <class V>
void block_global_attention_kernel(const BlockGlobalAttentionParams& p) { BlockGlobalAttentionKernel<V>::run(p); }
template <class V>
double fma_peak_gflops_kernel(double seconds) { return fma_peak_gflops<V>(seconds); }

}  // namespace ga
