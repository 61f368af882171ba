// One transient-global core call's inputs for the reduced-precision tests (bf16 and fp16 against
// float32, native against emulated): seeded q, k, v, global keys/values, local and global biases,
// token mask and global validity, block ids, and the TGlobalAttentionParams that point at them
// (bhnd layout, out left unset, 2 threads). The shapes cover the local band at odd and even
// radius, global tokens with bias, block ids and validity, a token mask, odd D and Dv, and no
// global tokens at all.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/tglobal_attention.h"
#include "tests/test_util.h"

namespace gatest {

struct TGlobalShape {
  int64_t B, H, N, D, Dv, radius, g;
  bool mask, bias;
};

inline constexpr TGlobalShape kTGlobalShapes[] = {{1, 2, 200, 64, 64, 127, 16, false, true},
                                                  {2, 3, 77, 13, 7, 5, 8, true, true},
                                                  {1, 1, 50, 33, 17, 4, 64, false, false},
                                                  {1, 2, 300, 32, 48, 31, 16, true, false}};

struct TGlobalCase {
  TGlobalShape s;
  int64_t G;
  std::vector<float> q, k, v, gk, gv, local_bias, global_bias;
  std::vector<uint8_t> mask, valid;
  std::vector<int32_t> block_ids;
  ga::TGlobalAttentionParams p;

  explicit TGlobalCase(const TGlobalShape& shape) : s(shape), G(shape.N / shape.g) {
    Rng r(static_cast<uint64_t>(s.N * 13 + s.radius * 5 + s.D));
    q.resize(s.B * s.H * s.N * s.D);
    k.resize(q.size());
    v.resize(s.B * s.H * s.N * s.Dv);
    gk.resize(s.B * s.H * G * s.D + 1);
    gv.resize(s.B * s.H * G * s.Dv + 1);
    for (auto* t : {&q, &k, &gk})
      for (auto& x : *t) x = r.uniform(-2.f, 2.f);
    for (auto* t : {&v, &gv})
      for (auto& x : *t) x = r.uniform(-1.f, 1.f);
    local_bias.resize(s.H * (2 * s.radius + 1));
    global_bias.resize(s.H * (2 * G + 1));
    for (auto* t : {&local_bias, &global_bias})
      for (auto& x : *t) x = r.uniform(-1.f, 1.f);
    mask.assign(s.B * s.N, 1);
    valid.assign(s.B * G + 1, 1);
    if (s.mask) {
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i % 7 == 3) ? 0 : 1;
      for (size_t i = 0; i < valid.size(); ++i) valid[i] = (i % 4 == 1) ? 0 : 1;
    }
    block_ids.resize(s.B * s.N);
    for (size_t i = 0; i < block_ids.size(); ++i)
      block_ids[i] = static_cast<int32_t>(std::min<int64_t>((i % s.N) / s.g, G > 0 ? G - 1 : -1));
    p.q = q.data(), p.k = k.data(), p.v = v.data(), p.gk = gk.data(), p.gv = gv.data();
    p.qs = p.ks = ga::Strides::bhnd(s.H, s.N, s.D);
    p.vs = p.os = ga::Strides::bhnd(s.H, s.N, s.Dv);
    p.gks = ga::Strides::bhnd(s.H, G, s.D);
    p.gvs = ga::Strides::bhnd(s.H, G, s.Dv);
    p.B = s.B, p.H = s.H, p.N = s.N, p.D = s.D, p.Dv = s.Dv, p.G = G, p.radius = s.radius;
    p.scale = 1.f / std::sqrt(static_cast<float>(s.D));  // scores of the dense tests' size
    if (s.mask) p.mask = mask.data(), p.global_valid = valid.data();
    if (s.bias && G > 0) p.block_ids = block_ids.data(), p.global_bias = global_bias.data();
    if (s.bias) p.local_bias = local_bias.data();
    p.threads = 2;
  }
  TGlobalCase(const TGlobalCase&) = delete;  // p points into this object's vectors
  TGlobalCase& operator=(const TGlobalCase&) = delete;
  size_t out_size() const { return static_cast<size_t>(s.B * s.H * s.N * s.Dv); }
};

}  // namespace gatest
