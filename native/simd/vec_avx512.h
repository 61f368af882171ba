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
  // Single-rounded float operations the compiler never fuses into an FMA (plain vector * and +
  // may be, under GCC's default -ffp-contract=fast): kernels/t5_ff_activation_impl.h repeats a
  // scalar expression's bits with them.
  static inline R mul_exact(R a, R b) {
    return _mm512_mul_round_ps(a, b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static inline R add_exact(R a, R b) {
    return _mm512_add_round_ps(a, b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static inline R div_exact(R a, R b) {
    return _mm512_div_round_ps(a, b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }

  // expf(x), lane for lane the bits glibc's expf gives on this CPU: glibc (2.27 on, e_expf.c from
  // Arm's optimized-routines) runs its FMA build, __expf_fma, on every CPU with AVX-512. Same
  // double arithmetic in the same order, same fused steps, same table (2^(i/32) as bits) and
  // cubic. Lanes with |x| >= 88 or not finite (e_expf.c's special cases) are flagged in
  // `outside` (bit l = lane l) and hold unspecified values: callers compute those with expf.
  static constexpr bool kHasLibmExpf = true;
  static inline R libm_expf(R x, uint32_t& outside) {
    const __m512i top = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(x), 20), _mm512_set1_epi32(0x7ff));
    outside = _mm512_cmpgt_epi32_mask(top, _mm512_set1_epi32(0x42a));  // top12(x) >= top12(88.0f)
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    return _mm512_insertf32x8(_mm512_castps256_ps512(libm_expf_f64(lo)), libm_expf_f64(hi), 1);
  }
  static inline __m512d f64_bits(uint64_t b) {
    return _mm512_castsi512_pd(_mm512_set1_epi64(static_cast<long long>(b)));
  }
  // e_expf.c's fast path on 8 lanes (xd: the float arguments, widened).
  static inline __m256 libm_expf_f64(__m512d xd) {
    alignas(64) static constexpr uint64_t kTab[32] = {
        // __exp2f_data.tab: bits(2^(i/32)) - (i << 47)
        0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
        0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
        0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
        0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
        0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
        0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
        0x3fefa4afa2a490da, 0x3fefd0765b6e4540};
    constexpr int kRn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m512d inv_ln2_n = f64_bits(0x40471547652b82fe);  // 32 / ln 2
    const __m512d shift = f64_bits(0x4338000000000000);      // 0x1.8p52
    // z = x * 32/ln2 = k + r: k by the shift trick (z + shift fused, as __expf_fma does), r exact-ish.
    __m512d kd = _mm512_fmadd_pd(inv_ln2_n, xd, shift);
    const __m512i ki = _mm512_castpd_si512(kd);
    kd = _mm512_sub_round_pd(kd, shift, kRn);
    const __m512d r = _mm512_fmsub_pd(inv_ln2_n, xd, kd);
    // s = 2^(k/32): table entry k % 32 plus k << 47 in the exponent bits.
    const __m512i idx = _mm512_and_si512(ki, _mm512_set1_epi64(31));
    const __m512i t01 = _mm512_permutex2var_epi64(_mm512_load_si512(kTab), idx, _mm512_load_si512(kTab + 8));
    const __m512i t23 = _mm512_permutex2var_epi64(_mm512_load_si512(kTab + 16), idx, _mm512_load_si512(kTab + 24));
    const __m512i t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16)), t01, t23);
    const __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64(ki, 47)));
    // s * (C0 r^3 + C1 r^2 + C2 r + 1), __exp2f_data.poly_scaled.
    const __m512d z = _mm512_fmadd_pd(f64_bits(0x3ebc6af84b912394), r, f64_bits(0x3f2ebfce50fac4f3));
    const __m512d r2 = _mm512_mul_round_pd(r, r, kRn);
    __m512d y = _mm512_fmadd_pd(f64_bits(0x3f962e42ff0c52d6), r, _mm512_set1_pd(1.0));
    y = _mm512_fmadd_pd(z, r2, y);
    return _mm512_cvt_roundpd_ps(_mm512_mul_round_pd(y, s, kRn), kRn);
  }
  // x[r] lane c -> x[c] lane r: the 16 x 16 tile transposed in registers (FlashBlock::begin packs
  // Q this way). Pairs, then quads within 128-bit lanes, then two 4 x 4 transposes of the lanes.
  static inline void transpose(R (&x)[W]) {
    R a[W], b[W];
    for (int i = 0; i < W; i += 2) {
      a[i] = _mm512_unpacklo_ps(x[i], x[i + 1]);  // per lane: r_i[0] r_i+1[0] r_i[1] r_i+1[1]
      a[i + 1] = _mm512_unpackhi_ps(x[i], x[i + 1]);
    }
    for (int i = 0; i < W; i += 4) {  // b[i + c] lane k: rows i..i+3 of column 4k + c
      b[i] = _mm512_shuffle_ps(a[i], a[i + 2], 0x44);
      b[i + 1] = _mm512_shuffle_ps(a[i], a[i + 2], 0xEE);
      b[i + 2] = _mm512_shuffle_ps(a[i + 1], a[i + 3], 0x44);
      b[i + 3] = _mm512_shuffle_ps(a[i + 1], a[i + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {  // column 4k + c gathers lane k of b[c], b[4 + c], b[8 + c], b[12 + c]
      const R c0 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x88), c1 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xDD);
      const R c2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x88);
      const R c3 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xDD);
      x[c] = _mm512_shuffle_f32x4(c0, c2, 0x88);
      x[4 + c] = _mm512_shuffle_f32x4(c1, c3, 0x88);
      x[8 + c] = _mm512_shuffle_f32x4(c0, c2, 0xDD);
      x[12 + c] = _mm512_shuffle_f32x4(c1, c3, 0xDD);
    }
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
