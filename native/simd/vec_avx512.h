// AVX-512F backend: 16 float lanes, 32 zmm registers. Compiled only into isa_avx512.cc and
// chosen only where cpuid and the OS (XCR0) both report AVX-512 state.
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace ga {

struct VecAvx512 {
  using R = __m512;
  static constexpr int W = 16;
  static constexpr const char* kName = "avx512";
  static constexpr bool kHasScalef = true;  // exp2.h: vscalefps
  // 32 registers: QK tile 8 keys x 3 vectors = 24 accumulators.
  static constexpr int kQkKeys = 8;
  static constexpr int kQkVecs = 3;
  // PV tile 6 rows x 4 vectors = 24 accumulators.
  static constexpr int kPvRows = 6;
  static constexpr int kPvVecs = 4;
  // GEMM register tile 6 rows x 4 vectors (6x64): 24 accumulators + 4 B loads + 1 broadcast.
  static constexpr int kGemmRows = 6;
  static constexpr int kGemmVecs = 4;

  static inline R zero() { return _mm512_setzero_ps(); }
  static inline R set1(float x) { return _mm512_set1_ps(x); }
  static inline R load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, R x) { _mm512_storeu_ps(p, x); }
  static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1u);
  }
  static inline R load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
  static inline void store_partial(float* p, R x, int n) { _mm512_mask_storeu_ps(p, tail_mask(n), x); }
  static inline R add(R a, R b) { return _mm512_add_ps(a, b); }
  static inline R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static inline R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static inline R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static inline R max(R a, R b) { return _mm512_max_ps(a, b); }
  static inline R min(R a, R b) { return _mm512_min_ps(a, b); }
  static inline R round_nearest(R x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static inline R pow2i(R n) {
    __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(i, 23));
  }
  // p * 2^n where x >= lo or x is NaN, else +0.
  static inline R scalef_unless_below(R p, R n, R x, float lo) {
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_NLT_UQ), p, n);
  }
  static inline R zero_if_below(R keep, float lo, R x) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(keep, _mm512_set1_ps(lo), _CMP_GE_OQ), x);
  }
  // Four sums at once, out[i] = sum of lanes of x_i: the decode kernel scores four keys per
  // reduction (kernels/decode_attention_impl.h). Each lane's order is fixed, so the sum of x
  // alone is hsum4(x, x, x, x)[0] bit for bit.
  static inline void hsum4(R a, R b, R c, R d, float* out) {
    const auto half = [](R x) { return _mm256_add_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1)); };
    const __m256 ab = _mm256_hadd_ps(half(a), half(b)), cd = _mm256_hadd_ps(half(c), half(d));
    const __m256 abcd = _mm256_hadd_ps(ab, cd);
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
  }
  // W 16-bit cache values widened to float32: bfloat16 is the high half of a float32 (zero-extend,
  // shift); float16 converts exactly (vcvtph2ps). The _partial forms read n < W values, rest 0.
  static inline R bf16_bits(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static inline R load_bf16(const uint16_t* p) {
    return bf16_bits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static inline R load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static inline R load_bf16_partial(const uint16_t* p, int n) {
    return bf16_bits(_mm256_maskz_loadu_epi16(tail_mask(n), p));
  }
  static inline R load_f16_partial(const uint16_t* p, int n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask(n), p));
  }
  static inline float hsum(R x) { return _mm512_reduce_add_ps(x); }
  static inline float hmax(R x) { return _mm512_reduce_max_ps(x); }
  // W floats narrowed to float16 / bfloat16 (widening: load_f16 / load_bf16 above; the tensors' 16-bit forms;
  // kernels/half.h's rules: widening exact, narrowing rounds to nearest even, NaN stays NaN).
  static inline void store_f16(uint16_t* p, R x) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static inline void store_bf16(uint16_t* p, R x) {
    const __m512i u = _mm512_castps_si512(x);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(r));
  }
};

}  // namespace ga
