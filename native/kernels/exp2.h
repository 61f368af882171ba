// Vectorised 2^x, written once over the SIMD abstraction.
// x = n + f with n = round(x), f in [-0.5, 0.5]; 2^f by its degree-7 Taylor polynomial in
// f*ln2 (truncation error < 6e-9 relative, below float32 rounding), 2^n by exponent bits.
// Inputs below -126 (including -inf, used for excluded keys) give exactly 0.
#pragma once

namespace ga {

template <class V>
static inline typename V::R exp2_vec(typename V::R x) {
  using R = typename V::R;
  const R xc = V::min(V::max(x, V::set1(-126.f)), V::set1(127.f));
  const R n = V::round_nearest(xc);
  const R f = V::sub(xc, n);
  // c_k = ln(2)^k / k!
  R p = V::set1(1.5252733804059841e-05f);
  p = V::fmadd(p, f, V::set1(1.5403530393381609e-04f));
  p = V::fmadd(p, f, V::set1(1.3333558146428443e-03f));
  p = V::fmadd(p, f, V::set1(9.6181291076284772e-03f));
  p = V::fmadd(p, f, V::set1(5.5504108664821580e-02f));
  p = V::fmadd(p, f, V::set1(2.4022650695910071e-01f));
  p = V::fmadd(p, f, V::set1(6.9314718055994531e-01f));
  p = V::fmadd(p, f, V::set1(1.0f));
  return V::zero_if_below(x, -126.f, V::mul(p, V::pow2i(n)));
}

}  // namespace ga
