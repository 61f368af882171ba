// One dense attention call's inputs for the reduced-precision tests (bf16 and fp16 against
// float32, native against emulated): seeded q, k, v, a key mask (every 5th and 7th key off, when
// the shape asks for one) and a bias [H, Nq, Nk], and the DenseAttentionParams that point at them
// (bhnd layout, 2 threads); run() calls a kernel into a fresh output.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/dense_attention.h"
#include "tests/test_util.h"

namespace gatest {

struct DenseShape {
  int64_t B, H, Hk, Nq, Nk, D, Dv;
  bool causal, mask, bias;
};

struct DenseCase {
  DenseShape s;
  std::vector<float> q, k, v, bias;
  std::vector<uint8_t> mask;
  ga::DenseAttentionParams p;
  explicit DenseCase(const DenseShape& sh) : s(sh) {
    Rng r(static_cast<uint64_t>(s.Nq * 31 + s.Nk * 7 + s.D + s.H));
    q.resize(s.B * s.H * s.Nq * s.D), k.resize(s.B * s.Hk * s.Nk * s.D), v.resize(s.B * s.Hk * s.Nk * s.Dv);
    for (auto& x : q) x = r.uniform(-2.f, 2.f);
    for (auto& x : k) x = r.uniform(-2.f, 2.f);
    for (auto& x : v) x = r.uniform(-1.f, 1.f);
    mask.assign(s.B * s.Nk, 1);
    if (s.mask)
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i % 5 == 2 || i % 7 == 3) ? 0 : 1;
    bias.resize(s.H * s.Nq * s.Nk);
    for (auto& x : bias) x = r.uniform(-1.f, 1.f);
    p.q = q.data(), p.k = k.data(), p.v = v.data();
    p.B = s.B, p.H = s.H, p.Hk = s.Hk, p.Nq = s.Nq, p.Nk = s.Nk, p.D = s.D, p.Dv = s.Dv;
    p.qs = ga::Strides::bhnd(s.H, s.Nq, s.D);
    p.ks = ga::Strides::bhnd(s.Hk, s.Nk, s.D);
    p.vs = ga::Strides::bhnd(s.Hk, s.Nk, s.Dv);
    p.os = ga::Strides::bhnd(s.H, s.Nq, s.Dv);
    p.scale = 1.f / std::sqrt(static_cast<float>(s.D));
    p.causal = s.causal;
    if (s.mask) p.key_mask = mask.data();
    if (s.bias) {
      p.bias = bias.data();
      p.bias_stride[1] = s.Nq * s.Nk, p.bias_stride[2] = s.Nk, p.bias_stride[3] = 1;
    }
    p.threads = 2;
  }
  size_t out_size() const { return static_cast<size_t>(s.B * s.H * s.Nq * s.Dv); }
  // kernel (e.g. ga::dense_attention_fp16) into a fresh output, prefilled with 7s.
  std::vector<float> run(void (*kernel)(const ga::DenseAttentionParams&)) {
    std::vector<float> out(out_size(), 7.f);
    p.out = out.data();
    kernel(p);
    return out;
  }
};

}  // namespace gatest
