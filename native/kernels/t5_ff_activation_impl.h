// t5_ff_activation_kernel<V>: ff_activation (kernels/t5_elementwise.cc) with gelu_new's expf
// vectorised where V can (V::libm_expf). Bit-identical to the scalar function wherever the C
// library's expf is glibc's (Linux; every AVX-512 CPU runs its FMA build): every float operation
// is the scalar expression's, in its order, each rounded once (the _exact operations are never
// fused into FMAs, as plain vector * and + could be under -ffp-contract=fast), libm_expf gives
// glibc's expf bits, and lanes outside its range go through ff_activation itself. With another C
// library the vector lanes keep glibc's expf (about 0.5 ulp) and may differ from the scalar
// function in the last bit.
//
// ODR note: compiled once per ISA with that ISA's flags; templates over V only.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/t5_elementwise.h"
#include "kernels/t5_ff_activation.h"

namespace ga {

// V::kHasLibmExpf (true where V has libm_expf), false when V does not declare it.
template <class V, class = void>
struct HasLibmExpf : std::false_type {};
template <class V>
struct HasLibmExpf<V, std::enable_if_t<V::kHasLibmExpf>> : std::true_type {};

template <class V>
void t5_ff_activation_kernel(const FfActivationParams& p) {
  if constexpr (HasLibmExpf<V>::value) {
    if (p.act == FfActivation::kGeluNew) {
      using R = typename V::R;
      constexpr int W = V::W;
      // ff_activation's constants and expression: v / (1 + exp(-k2 * (v + 0.044715 v v v))).
      const float k2 = static_cast<float>(2.0 * std::sqrt(2.0 / 3.141592653589793238462643));
      float* x = p.x;
      const float* g = p.gate;
      int64_t i = 0;
      for (; i + W <= p.n; i += W) {
        const R v = V::load(x + i);
        R t = V::mul_exact(V::set1(0.044715f), v);
        t = V::mul_exact(t, v);
        t = V::mul_exact(t, v);
        t = V::mul_exact(V::set1(-k2), V::add_exact(v, t));
        uint32_t outside = 0;  // lanes libm_expf leaves to expf itself
        const R e = V::libm_expf(t, outside);
        R a = V::div_exact(v, V::add_exact(V::set1(1.f), e));
        if (g) a = V::mul_exact(a, V::load(g + i));
        if (outside == 0) {
          V::store(x + i, a);
          continue;
        }
        alignas(64) float keep[W];
        for (int l = 0; l < W; ++l) keep[l] = x[i + l];
        V::store(x + i, a);
        for (int l = 0; l < W; ++l)
          if (outside >> l & 1u) {
            x[i + l] = keep[l];
            ff_activation(x + i + l, g ? g + i + l : nullptr, 1, p.act);
          }
      }
      if (i < p.n) ff_activation(x + i, g ? g + i : nullptr, p.n - i, p.act);
      return;
    }
  }
  ff_activation(p.x, p.gate, p.n, p.act);
}

}  // namespace ga
