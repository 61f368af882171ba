// AVX2 + FMA backend: 8 float lanes, 16 ymm registers. Compiled only into isa_avx2.cc.
#pragma once
#include <immintrin.h>
#include <cstdint>
#include <cstring>

namespace ga {

struct VecAvx2 {
  using R = __m256;
  static constexpr int W = 8;
  static constexpr const char* kName = "avx2";
  static constexpr bool kHasScalef = false;  // exp2.h
  // 16 registers: QK tile 4 keys x 3 vectors = 12 accumulators + 3 loads + 1 broadcast.
  static constexpr int kQkKeys = 4;
  static constexpr int kQkVecs = 3;
  // PV tile 3 rows x 4 vectors = 12 accumulators: 4 loads + 3 broadcasts per 12 FMAs, and
  // head sizes 32/64/128 split into whole 4-vector chunks.
  static constexpr int kPvRows = 3;
  static constexpr int kPvVecs = 4;
  // GEMM register tile 6 rows x 2 vectors (6x16): 12 accumulators + 2 B loads + 1 broadcast.
  static constexpr int kGemmRows = 6;
  static constexpr int kGemmVecs = 2;

  static inline R zero() { return _mm256_setzero_ps(); }
  static inline R set1(float x) { return _mm256_set1_ps(x); }
  static inline R load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, R x) { _mm256_storeu_ps(p, x); }
  static inline __m256i tail_mask(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
  }
  static inline R load_partial(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
  static inline void store_partial(float* p, R x, int n) { _mm256_maskstore_ps(p, tail_mask(n), x); }
  static inline R add(R a, R b) { return _mm256_add_ps(a, b); }
  static inline R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static inline R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static inline R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  // max/min return b when either operand is NaN (x86 semantics; every backend matches).
  static inline R max(R a, R b) { return _mm256_max_ps(a, b); }
  static inline R min(R a, R b) { return _mm256_min_ps(a, b); }
  static inline R round_nearest(R x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static inline R pow2i(R n) {
    __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(i, 23));
  }
  static inline R zero_if_below(R keep, float lo, R x) {
    return _mm256_and_ps(_mm256_cmp_ps(keep, _mm256_set1_ps(lo), _CMP_GE_OQ), x);
  }
  // Four sums at once, out[i] = sum of lanes of x_i: the decode kernel scores four keys per
  // reduction (kernels/decode_attention_impl.h). Each lane's order is fixed, so the sum of x
  // alone is hsum4(x, x, x, x)[0] bit for bit.
  static inline void hsum4(R a, R b, R c, R d, float* out) {
    const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
  }
  // W 16-bit cache values widened to float32: bfloat16 is the high half of a float32 (zero-extend,
  // shift); float16 converts exactly (F16C vcvtph2ps). The _partial forms read n < W values, rest 0.
  static inline R bf16_bits(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static inline R load_bf16(const uint16_t* p) {
    return bf16_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static inline R load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static inline __m128i load_u16_partial(const uint16_t* p, int n) {
    alignas(16) uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(t, p, static_cast<size_t>(n > 0 ? (n < 8 ? n : 8) : 0) * 2);
    return _mm_load_si128(reinterpret_cast<const __m128i*>(t));
  }
  static inline R load_bf16_partial(const uint16_t* p, int n) { return bf16_bits(load_u16_partial(p, n)); }
  static inline R load_f16_partial(const uint16_t* p, int n) { return _mm256_cvtph_ps(load_u16_partial(p, n)); }
  // x[r] lane c -> x[c] lane r: the 8 x 8 tile transposed in registers (FlashBlock::begin packs
  // Q this way). Pairs, then quads within 128-bit lanes, then the two lanes swapped across.
  static inline void transpose(R (&x)[W]) {
    R a[W], b[W];
    for (int i = 0; i < W; i += 2) {
      a[i] = _mm256_unpacklo_ps(x[i], x[i + 1]);
      a[i + 1] = _mm256_unpackhi_ps(x[i], x[i + 1]);
    }
    for (int i = 0; i < W; i += 4) {  // b[i + c] lane k: rows i..i+3 of column 4k + c
      b[i] = _mm256_shuffle_ps(a[i], a[i + 2], 0x44);
      b[i + 1] = _mm256_shuffle_ps(a[i], a[i + 2], 0xEE);
      b[i + 2] = _mm256_shuffle_ps(a[i + 1], a[i + 3], 0x44);
      b[i + 3] = _mm256_shuffle_ps(a[i + 1], a[i + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {
      x[c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x20);
      x[4 + c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x31);
    }
  }
  static inline float hsum(R x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float hmax(R x) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // W floats narrowed to float16 / bfloat16 (widening: load_f16 / load_bf16 above; F16C, which this ISA requires;
  // kernels/half.h's rules: widening exact, narrowing rounds to nearest even, NaN stays NaN).
  static inline void store_f16(uint16_t* p, R x) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static inline void store_bf16(uint16_t* p, R x) {
    const __m256i u = _mm256_castps_si256(x);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));  // NaN: quiet
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    const __m256i v = _mm256_blendv_epi8(r, q, nan);  // every lane < 2^16: packus keeps it
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
  }
};

}  // namespace ga
