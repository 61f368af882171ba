// AVX512-BF16 backend: VecAvx512's float32 operations plus bfloat16 pair operations for the
// native bf16 kernels (kernels/gemm_bf16_native_impl.h, kernels/flash_block_bf16.h). Compiled
// only into isa_avx512bf16.cc, chosen only where cpuid reports AVX512_BF16 with AVX-512 state
// (dispatch/cpu_features.cc). A distinct type, so kernels instantiated for it get their own
// symbols, apart from the plain avx512 ones.
#pragma once
#include <immintrin.h>
#include <cstdint>
#include <cstring>

#include "kernels/bf16.h"
#include "simd/vec_avx512.h"

namespace ga {

struct VecAvx512Bf16 : VecAvx512 {
  static constexpr const char* kName = "avx512bf16";
  using Half = Bf16<VecAvx512Bf16>;  // the scalar rule the native kernels' tails use
  // P: W = 16 pairs of bfloat16 (one 32-bit lane per pair).
  using P = __m512i;
  static inline P load_pairs(const uint16_t* p) { return _mm512_loadu_si512(p); }
  static inline void store_pairs(uint16_t* p, P x) { _mm512_storeu_si512(p, x); }
  // The pair at p (two bfloat16) in every lane.
  static inline P set1_pair(const uint16_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  // acc[i] += a.pair[i].lo * b.pair[i].lo + a.pair[i].hi * b.pair[i].hi (products exact, float32 adds).
  static inline R dot_pairs(R acc, P a, P b) { return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b); }
  // 2W bfloat16 in order: lo's W values, then hi's W (vcvtne2ps2bf16: round to nearest even).
  static inline P cvt_contiguous(R lo, R hi) { return (P)_mm512_cvtne2ps_pbh(hi, lo); }
  // W pairs: pair i = (even[i], odd[i]). One two-source conversion (even's W values, then odd's)
  // and one word permute that interleaves them: 2 instructions where converting each source and
  // widening took 6.
  static inline P cvt_interleaved(R even, R odd) {
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                                6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, both);
  }
  // The pairs' first (even) and second (odd) halves as float32 (exact: a bfloat16 is the top
  // half of its float32).
  static inline R even_f32(P x) { return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)); }
  static inline R odd_f32(P x) { return _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(-65536))); }
  // x with each pair's halves kept where keep's matching 16 bits are set (0x0000ffff: low only).
  static inline P mask_pairs(P x, uint32_t keep) {
    return _mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>(keep)));
  }
};

}  // namespace ga
