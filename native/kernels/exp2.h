// Vectorised 2^x, written once over the SIMD abstraction.
// x = n + f with n = round(x), f in [-0.5, 0.5]; 2^f by a degree-5 polynomial fitted for
// minimax *relative* error on that interval (max 1.5e-7 with these float32 coefficients, i.e.
// about one ulp), 2^n by writing n + 127 into the exponent bits.
// The one clamp, x >= -127, makes every argument at or below -127 (and -inf, used for excluded
// keys) produce exponent field 0, i.e. exactly +0. Arguments above 0 never occur in softmax
// (scores minus their running max). NaN is kept as the clamp's first operand, so it propagates.
// Where the ISA scales by 2^n in one instruction (V::kHasScalef: AVX-512's vscalefps), that replaces
// the clamp and the exponent-bit arithmetic (3 fewer instructions per vector, the same bits):
// a masked scale zeroes every lane the clamp would have, and NaN lanes (unordered) pass through.
#pragma once

namespace ga {

// 2^f for f in [-0.5, 0.5]: the degree-5 minimax polynomial above (Horner).
template <class V>
static inline typename V::R exp2_poly(typename V::R f) {
  using R = typename V::R;
  R p = V::set1(1.3277444522827864e-03f);
  p = V::fmadd(p, f, V::set1(9.675883688032627e-03f));
  p = V::fmadd(p, f, V::set1(5.550713092088699e-02f));
  p = V::fmadd(p, f, V::set1(2.4022112786769867e-01f));
  p = V::fmadd(p, f, V::set1(6.931469440460205e-01f));
  return V::fmadd(p, f, V::set1(1.0000001192092896f));
}

template <class V>
static inline typename V::R exp2_vec(typename V::R x) {
  using R = typename V::R;
  if constexpr (V::kHasScalef) {
    const R n = V::round_nearest(x);
    // The clamp path gives 2^-127 = 0 for x < -126.5 (n <= -127): zero those lanes.
    return V::scalef_unless_below(exp2_poly<V>(V::sub(x, n)), n, x, -126.5f);
  }
  const R xc = V::max(V::set1(-127.f), x);
  const R n = V::round_nearest(xc);
  return V::mul(exp2_poly<V>(V::sub(xc, n)), V::pow2i(n));
}

}  // namespace ga
