// Vectorised tanh, written once over the SIMD abstraction (no division instruction needed), for
// the softcap of attention scores. For a = |x| >= 0.25: tanh(a) = (1 - e) / (1 + e), e = 2^(-2a·log2 e)
// (exp2_vec), the reciprocal of 1 + e in (1, 2] by a linear guess and three Newton steps (relative
// error 1/17, then squared each step: below float rounding). Below 0.25, where 1 - e would cancel,
// the odd Taylor polynomial to a^11 (truncation < 1e-10 relative). The sign comes back by
// max(min(x, m), -m), exact because tanh(|x|) <= |x|. NaN stays NaN on every ISA (both paths and
// the selection carry it); +-Inf gives +-1.
#pragma once
#include "kernels/exp2.h"

namespace ga {

template <class V>
static inline typename V::R tanh_vec(typename V::R x) {
  using R = typename V::R;
  const R a = V::max(x, V::sub(V::zero(), x));
  // |x| >= 0.25: (1 - e) / (1 + e).
  const R e = exp2_vec<V>(V::mul(a, V::set1(-2.8853900817779268f)));  // -2 log2(e)
  const R d = V::add(V::set1(1.f), e);
  const R nd = V::sub(V::zero(), d);
  R r = V::fmadd(V::set1(-8.f / 17.f), d, V::set1(24.f / 17.f));                  // 1/d within 1/17 on [1, 2]
  for (int i = 0; i < 3; ++i) r = V::fmadd(r, V::fmadd(nd, r, V::set1(1.f)), r);  // r += r (1 - d r)
  const R big = V::mul(V::sub(V::set1(1.f), e), r);
  // |x| < 0.25: a - a^3/3 + 2a^5/15 - 17a^7/315 + 62a^9/2835 - 1382a^11/155925 (clamped so Inf stays out).
  const R s = V::min(V::set1(0.25f), a);
  const R s2 = V::mul(s, s);
  R p = V::set1(-1382.f / 155925.f);
  p = V::fmadd(p, s2, V::set1(62.f / 2835.f));
  p = V::fmadd(p, s2, V::set1(-17.f / 315.f));
  p = V::fmadd(p, s2, V::set1(2.f / 15.f));
  p = V::fmadd(p, s2, V::set1(-1.f / 3.f));
  const R small = V::fmadd(V::mul(s, s2), p, s);
  // big where a >= 0.25, small elsewhere (zero_if_below is the ISA's select).
  const R m = V::add(V::zero_if_below(a, 0.25f, big), V::sub(small, V::zero_if_below(a, 0.25f, small)));
  return V::max(V::min(x, m), V::sub(V::zero(), m));
}

}  // namespace ga
