#include "ops/longt5_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "dispatch/dispatch.h"
#include "kernels/dense_attention.h"
#include "kernels/gemm.h"
#include "kernels/longt5_blocks.h"
#include "ops/longt5_layer.h"
#include "runtime/parallel.h"

namespace ga {
namespace {

// b's storage, grown to at least n floats (contents undefined).
float* at_least(AlignedBuffer& b, int64_t n) {
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  return b.data();
}

// C[M, N] (+)= A[M, K] · W[N, K]ᵀ with contiguous rows (lda = K, ldc = N unless given), W packed
// by gemm_pack_b in groups of group_n rows (0: one group); C's columns stay in W's row order.
void linear_packed(const float* a, int64_t M, int64_t K, const float* w_packed, int64_t N, float* c, bool accumulate,
                   int threads, int64_t lda, int64_t ldc, int64_t group_n) {
  GemmParams g;
  g.a = a;
  g.lda = lda < 0 ? K : lda;
  g.b_packed = w_packed;
  g.b_group_n = group_n;
  g.c = c;
  g.ldc = ldc < 0 ? N : ldc;
  g.M = M;
  g.N = N;
  g.K = K;
  g.accumulate = accumulate;
  g.threads = threads;
  gemm_abt(g);
}

// Elementwise work over n items split into chunks of at least `grain` across the threads.
template <class F>
void parallel_chunks(int64_t n, int64_t grain, int threads, F f) {
  if (n <= 0) return;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(n / std::max<int64_t>(grain, 1), 4 * threads));
  const int64_t per = (n + chunks - 1) / chunks;
  parallel_items(chunks, threads, [&](int, ItemCounter& it) {
    int64_t c;
    while (it.next(c)) {
      const int64_t lo = c * per, hi = std::min(n, lo + per);
      if (lo < hi) f(lo, hi);
    }
  });
}

std::string block(const char* stack, int64_t i, const std::string& rest) {
  return std::string(stack) + ".block." + std::to_string(i) + "." + rest;
}

}  // namespace

LongT5Model::LongT5Model(const LongT5ModelConfig& config) : c_(config) {
  const int64_t C = c_.d_model, HD = c_.heads * c_.d_kv, F = c_.d_ff, V = c_.vocab, nb = c_.num_buckets, H = c_.heads;
  const int64_t D = c_.d_kv;
  // shared.weight is packed only when it is also the LM head; otherwise only embedding reads it.
  expect("shared.weight", {V, C}, c_.tied && c_.decoder ? V : 0);
  const std::string A = c_.transient_global ? "TransientGlobalSelfAttention" : "LocalSelfAttention";
  auto ff = [&](const char* stack, int64_t i, int layer) {
    const std::string p = "layer." + std::to_string(layer) + ".";
    if (c_.gated) {
      expect(block(stack, i, p + "DenseReluDense.wi_0.weight"), {F, C}, F);
      expect(block(stack, i, p + "DenseReluDense.wi_1.weight"), {F, C}, F);
    } else {
      expect(block(stack, i, p + "DenseReluDense.wi.weight"), {F, C}, F);
    }
    expect(block(stack, i, p + "DenseReluDense.wo.weight"), {C, F}, C);
    expect(block(stack, i, p + "layer_norm.weight"), {C});
  };
  for (int64_t i = 0; i < c_.encoder_layers; ++i) {
    const std::string p = "layer.0." + A + ".";
    expect(block("encoder", i, "layer.0.layer_norm.weight"), {C});
    for (const char* w : {"q", "k", "v"}) expect(block("encoder", i, p + w + ".weight"), {HD, C}, D);
    expect(block("encoder", i, p + "o.weight"), {C, HD}, C);
    if (i == 0) expect(block("encoder", 0, p + "relative_attention_bias.weight"), {nb, H});
    if (c_.transient_global) {
      if (i == 0) expect(block("encoder", 0, p + "global_relative_attention_bias.weight"), {nb, H});
      expect(block("encoder", i, p + "global_input_layer_norm.weight"), {C});
    }
    ff("encoder", i, 1);
  }
  expect("encoder.final_layer_norm.weight", {C});
  if (!c_.decoder) return;
  for (int64_t i = 0; i < c_.decoder_layers; ++i) {
    expect(block("decoder", i, "layer.0.layer_norm.weight"), {C});
    for (const char* w : {"q", "k", "v"})
      expect(block("decoder", i, std::string("layer.0.SelfAttention.") + w + ".weight"), {HD, C}, D);
    expect(block("decoder", i, "layer.0.SelfAttention.o.weight"), {C, HD}, C);
    if (i == 0) expect(block("decoder", 0, "layer.0.SelfAttention.relative_attention_bias.weight"), {nb, H});
    expect(block("decoder", i, "layer.1.layer_norm.weight"), {C});
    for (const char* w : {"q", "k", "v"})
      expect(block("decoder", i, std::string("layer.1.EncDecAttention.") + w + ".weight"), {HD, C}, D);
    expect(block("decoder", i, "layer.1.EncDecAttention.o.weight"), {C, HD}, C);
    ff("decoder", i, 2);
  }
  expect("decoder.final_layer_norm.weight", {C});
  if (!c_.tied) expect("lm_head.weight", {V, C}, V);
}

void LongT5Model::expect(const std::string& name, std::vector<int64_t> shape, int64_t pack_group) {
  Slot& s = slots_[name];
  s.shape = std::move(shape);
  // 16-bit precision: every matrix a product reads (packed by gemm_pack_b16), and the embedding
  // table (16-bit rows, or packed when it is also the tied lm_head), in the 16-bit type.
  s.half = c_.precision != ComputePrecision::kFp32 && (pack_group > 0 || name == "shared.weight");
  s.pack_group = pack_group;
  order_.push_back(name);
}

const std::vector<int64_t>* LongT5Model::weight_shape(const std::string& name) const {
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : &it->second.shape;
}

void LongT5Model::set_weight(const std::string& name, const float* data, int64_t n) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw std::invalid_argument("the model has no weight named '" + name + "'");
  Slot& s = it->second;
  int64_t want = 1;
  for (int64_t d : s.shape) want *= d;
  if (n != want)
    throw std::invalid_argument("weight '" + name + "' needs " + std::to_string(want) + " values, got " +
                                std::to_string(n));
  if (s.half) {
    std::vector<uint16_t> h(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) h[static_cast<size_t>(i)] = round_to_16(c_.precision, data[i]);
    return store_half(name, s, h.data(), n);
  } else if (s.pack_group > 0) {
    // Straight from the caller's values into the packed form: no plain copy is ever held.
    GemmPackParams pp;
    pp.b = data;
    pp.N = s.shape[0];
    pp.K = s.shape[1];
    pp.ldb = s.shape[1];
    pp.group_n = s.pack_group;
    const int64_t size = gemm_pack_b(pp);
    if (size < 0) throw std::invalid_argument("weight '" + name + "' cannot be packed in groups of its rows");
    s.data.resize(static_cast<size_t>(size));
    pp.dst = s.data.data();
    gemm_pack_b(pp);
  } else {
    s.data.resize(static_cast<size_t>(n));
    if (n > 0) std::memcpy(s.data.data(), data, static_cast<size_t>(n) * sizeof(float));
  }
  s.set = true;
  ready_ = false;
}

void LongT5Model::set_weight16(const std::string& name, const uint16_t* data, int64_t n, ComputePrecision type) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw std::invalid_argument("the model has no weight named '" + name + "'");
  Slot& s = it->second;
  if (!s.half || type != c_.precision) {
    std::vector<float> wide(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) wide[static_cast<size_t>(i)] = widen_16(type, data[i]);
    return set_weight(name, wide.data(), n);
  }
  int64_t want = 1;
  for (int64_t d : s.shape) want *= d;
  if (n != want)
    throw std::invalid_argument("weight '" + name + "' needs " + std::to_string(want) + " values, got " +
                                std::to_string(n));
  store_half(name, s, data, n);
}

void LongT5Model::store_half(const std::string& name, Slot& s, const uint16_t* data, int64_t n) {
  if (s.pack_group > 0) {  // straight into the packed form, as set_weight does for float32
    const int64_t N = s.shape[0], K = s.shape[1], size = gemm_packed16_size(N, K, s.pack_group);
    if (size < 0) throw std::invalid_argument("weight '" + name + "' cannot be packed in groups of its rows");
    s.data.resize(static_cast<size_t>((size + 1) / 2));
    gemm_pack_b16(data, N, K, K, s.pack_group, reinterpret_cast<uint16_t*>(s.data.data()));
  } else {
    s.data.resize(static_cast<size_t>((n + 1) / 2));
    if (n > 0) std::memcpy(s.data.data(), data, static_cast<size_t>(n) * sizeof(uint16_t));
  }
  s.set = true;
  ready_ = false;
}

bool LongT5Model::copy_weight(const std::string& name, float* out) const {
  auto it = slots_.find(name);
  if (it == slots_.end() || !it->second.set) return false;
  const Slot& s = it->second;
  int64_t n = 1;
  for (int64_t d : s.shape) n *= d;
  if (s.half) {
    const uint16_t* src = reinterpret_cast<const uint16_t*>(s.data.data());
    if (s.pack_group <= 0) {
      for (int64_t i = 0; i < n; ++i) out[i] = widen_16(c_.precision, src[i]);
    } else {
      const int64_t N = s.shape[0], K = s.shape[1];
      for (int64_t j = 0; j < N; ++j)
        for (int64_t k = 0; k < K; ++k)
          out[j * K + k] = widen_16(c_.precision, src[gemm_packed16_index(j, k, K, s.pack_group)]);
    }
    return true;
  }
  if (s.pack_group <= 0) {
    if (n > 0) std::memcpy(out, s.data.data(), static_cast<size_t>(n) * sizeof(float));
    return true;
  }
  // gemm_pack_b's layout (kernels/gemm.h): group g's rows start panel g * ppg; row jl of a group
  // sits in panel jl / P, column jl % P, with a k stride of P (P = kGemmPackWidth).
  const int64_t N = s.shape[0], K = s.shape[1], gn = s.pack_group, P = kGemmPackWidth;
  const int64_t ppg = (gn + P - 1) / P;
  const float* src = s.data.data();
  for (int64_t j = 0; j < N; ++j) {
    const int64_t jl = j % gn;
    const float* col = src + ((j / gn) * ppg + jl / P) * K * P + jl % P;
    for (int64_t k = 0; k < K; ++k) out[j * K + k] = col[k * P];
  }
  return true;
}

const float* LongT5Model::get(const std::string& name) const {
  auto it = slots_.find(name);
  if (it == slots_.end() || !it->second.set) throw std::logic_error("weight '" + name + "' is not set");
  return it->second.data.data();
}

void LongT5Model::embed(const int32_t* ids, int64_t n, float* out) const {
  const int64_t C = c_.d_model, P = kGemmPackWidth;
  if (c_.precision != ComputePrecision::kFp32) {  // 16-bit rows (or the packed tied table), widened
    const uint16_t* table = half16(shared_);
    for (int64_t i = 0; i < n; ++i) {
      float* o = out + i * C;
      if (!shared_packed_) {
        for (int64_t k = 0; k < C; ++k) o[k] = widen_16(c_.precision, table[ids[i] * C + k]);
        continue;
      }
      // gemm_pack_b16's one group: row id's pair k/2 at panel id / 16, column id % 16 (a pair stride of 32).
      const uint16_t* col = table + gemm_packed16_index(ids[i], 0, C, c_.vocab);
      for (int64_t k = 0; k < C; ++k) o[k] = widen_16(c_.precision, col[(k >> 1) * 2 * kGemmPack16Width + (k & 1)]);
    }
    return;
  }
  if (!shared_packed_) return embedding_gather(shared_, C, ids, n, out);
  // Row id of the packed tied table (one group): panel id / P, column id % P, k stride P.
  for (int64_t i = 0; i < n; ++i) {
    const float* col = shared_ + (ids[i] / P) * C * P + ids[i] % P;
    float* o = out + i * C;
    for (int64_t k = 0; k < C; ++k) o[k] = col[k * P];
  }
}

std::vector<std::string> LongT5Model::missing_weights() const {
  std::vector<std::string> out;
  for (const std::string& n : order_)
    if (!slots_.at(n).set) out.push_back(n);
  return out;
}

std::vector<std::string> LongT5Model::weight_names() const { return order_; }

int64_t LongT5Model::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto& kv : slots_) bytes += static_cast<int64_t>(kv.second.data.size() * sizeof(float));
  return bytes;
}

int64_t LongT5Model::idle_scratch_bytes() const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  int64_t bytes = 0;
  for (const auto& ws : idle_) bytes += static_cast<int64_t>(ws->floats() * sizeof(float));
  return bytes;
}

void LongT5Model::release_idle_scratch() const {
  std::vector<std::unique_ptr<LongT5EncoderWorkspace>> drop;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(pool_mu_);
  drop.swap(idle_);
}

bool LongT5Model::finalize() {
  if (!missing_weights().empty()) return false;
  const std::string A = c_.transient_global ? "TransientGlobalSelfAttention" : "LocalSelfAttention";
  shared_ = get("shared.weight");
  shared_packed_ = slots_.at("shared.weight").pack_group > 0;
  enc_.clear();
  for (int64_t i = 0; i < c_.encoder_layers; ++i) {
    const std::string p = "layer.0." + A + ".";
    EncoderLayer l{};
    l.ln0 = get(block("encoder", i, "layer.0.layer_norm.weight"));
    l.q = get(block("encoder", i, p + "q.weight"));
    l.k = get(block("encoder", i, p + "k.weight"));
    l.v = get(block("encoder", i, p + "v.weight"));
    l.o = get(block("encoder", i, p + "o.weight"));
    l.global_norm = c_.transient_global ? get(block("encoder", i, p + "global_input_layer_norm.weight")) : nullptr;
    l.ln1 = get(block("encoder", i, "layer.1.layer_norm.weight"));
    l.wi0 =
        get(block("encoder", i, c_.gated ? "layer.1.DenseReluDense.wi_0.weight" : "layer.1.DenseReluDense.wi.weight"));
    l.wi1 = c_.gated ? get(block("encoder", i, "layer.1.DenseReluDense.wi_1.weight")) : nullptr;
    l.wo = get(block("encoder", i, "layer.1.DenseReluDense.wo.weight"));
    enc_.push_back(l);
    if (i == 0) {
      enc_rel_bias_ = get(block("encoder", 0, p + "relative_attention_bias.weight"));
      enc_global_rel_bias_ =
          c_.transient_global ? get(block("encoder", 0, p + "global_relative_attention_bias.weight")) : nullptr;
    }
  }
  enc_final_ = get("encoder.final_layer_norm.weight");
  dec_.clear();
  if (c_.decoder) {
    for (int64_t i = 0; i < c_.decoder_layers; ++i) {
      DecoderLayer l{};
      l.ln0 = get(block("decoder", i, "layer.0.layer_norm.weight"));
      l.sq = get(block("decoder", i, "layer.0.SelfAttention.q.weight"));
      l.sk = get(block("decoder", i, "layer.0.SelfAttention.k.weight"));
      l.sv = get(block("decoder", i, "layer.0.SelfAttention.v.weight"));
      l.so = get(block("decoder", i, "layer.0.SelfAttention.o.weight"));
      l.ln1 = get(block("decoder", i, "layer.1.layer_norm.weight"));
      l.cq = get(block("decoder", i, "layer.1.EncDecAttention.q.weight"));
      l.ck = get(block("decoder", i, "layer.1.EncDecAttention.k.weight"));
      l.cv = get(block("decoder", i, "layer.1.EncDecAttention.v.weight"));
      l.co = get(block("decoder", i, "layer.1.EncDecAttention.o.weight"));
      l.ln2 = get(block("decoder", i, "layer.2.layer_norm.weight"));
      l.wi0 = get(
          block("decoder", i, c_.gated ? "layer.2.DenseReluDense.wi_0.weight" : "layer.2.DenseReluDense.wi.weight"));
      l.wi1 = c_.gated ? get(block("decoder", i, "layer.2.DenseReluDense.wi_1.weight")) : nullptr;
      l.wo = get(block("decoder", i, "layer.2.DenseReluDense.wo.weight"));
      dec_.push_back(l);
      if (i == 0) dec_rel_bias_ = get(block("decoder", 0, "layer.0.SelfAttention.relative_attention_bias.weight"));
    }
    dec_final_ = get("decoder.final_layer_norm.weight");
    lm_head_ = c_.tied ? shared_ : get("lm_head.weight");
  }
  ready_ = true;
  return true;
}

void LongT5Model::linear(const float* a, int64_t M, int64_t K, const float* w, int64_t N, float* c, bool accumulate,
                         int threads, int64_t lda, int64_t ldc, int64_t group_n) const {
  if (c_.precision == ComputePrecision::kFp32)
    return linear_packed(a, M, K, w, N, c, accumulate, threads, lda, ldc, group_n);
  GemmPacked16Params g;  // W packed by gemm_pack_b16 in groups of group_n rows
  g.g.a = a;
  g.g.lda = lda < 0 ? K : lda;
  g.b16_packed = half16(w);
  g.g.b_group_n = group_n;
  g.g.c = c;
  g.g.ldc = ldc < 0 ? N : ldc;
  g.g.M = M;
  g.g.N = N;
  g.g.K = K;
  g.g.accumulate = accumulate;
  g.g.threads = threads;
  gemm_abt_reduced_packed(c_.precision, g);
}

void LongT5Model::project_heads(const float* x, int64_t B, int64_t rows, int64_t C, const float* w, int64_t H,
                                int64_t D, float* dst, int threads) const {
  if (c_.precision == ComputePrecision::kFp32) project_heads_packed(x, B, rows, C, w, H, D, dst, threads);
  else project_heads_packed16(x, B, rows, C, half16(w), H, D, dst, c_.precision, threads);
}

void LongT5Model::rms_norm(const float* x, int64_t M, const float* w, float scale, float* out, int threads) const {
  const int64_t C = c_.d_model;
  parallel_chunks(M, std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1)), threads,
                  [&](int64_t r0, int64_t r1) { rms_norm_rows(x, C, w, c_.eps, scale, r0, r1, out); });
}

void LongT5Model::feed_forward(float* h, int64_t M, const float* ln, const float* wi0, const float* wi1,
                               const float* wo, int threads, FfScratch* scratch) const {
  const int64_t C = c_.d_model, F = c_.d_ff;
  // Row blocks keep the [rows, d_ff] intermediates small (16 MiB each at most) whatever N is; a
  // block of >= 1024 rows is still a large GEMM, so the products lose nothing.
  const int64_t rows = std::min<int64_t>(M, std::max<int64_t>(1024, (int64_t(1) << 22) / std::max<int64_t>(F, 1)));
  FfScratch per_call;
  FfScratch& s = scratch ? *scratch : per_call;
  float* n = at_least(s.n, rows * C);
  float* a = at_least(s.a, rows * F);
  float* g = wi1 ? at_least(s.g, rows * F) : nullptr;
  const FfActivation act = c_.act;
  for (int64_t r0 = 0; r0 < M; r0 += rows) {
    const int64_t m = std::min(rows, M - r0);
    float* hb = h + r0 * C;
    rms_norm(hb, m, ln, 1.f, n, threads);
    linear(n, m, C, wi0, F, a, false, threads);
    if (wi1) linear(n, m, C, wi1, F, g, false, threads);
    parallel_chunks(m * F, 16384, threads, [&](int64_t lo, int64_t hi) {
      FfActivationParams f;
      f.x = a + lo;
      f.gate = g ? g + lo : nullptr;
      f.n = hi - lo;
      f.act = act;
      t5_ff_activation(f);  // ff_activation's bits, vectorised where the ISA can
    });
    linear(a, m, F, wo, C, hb, true, threads);  // residual: h += wo(...)
  }
}

std::unique_ptr<LongT5EncoderWorkspace> LongT5Model::take_workspace() const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_.empty()) return std::make_unique<LongT5EncoderWorkspace>();
  std::unique_ptr<LongT5EncoderWorkspace> ws = std::move(idle_.back());
  idle_.pop_back();
  return ws;
}

void LongT5Model::give_back(std::unique_ptr<LongT5EncoderWorkspace> ws) const {
  std::unique_ptr<LongT5EncoderWorkspace> drop;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_.size() < kIdleWorkspaces) {
    idle_.push_back(std::move(ws));
    return;
  }
  // Full: keep the larger of ws and the smallest idle one.
  auto smallest = std::min_element(idle_.begin(), idle_.end(),
                                   [](const auto& a, const auto& b) { return a->floats() < b->floats(); });
  if (ws->floats() > (*smallest)->floats()) std::swap(ws, *smallest);
  drop = std::move(ws);
}

void LongT5Model::encode(const int32_t* ids, const uint8_t* mask, int64_t B, int64_t N, float* out, int threads) const {
  if (!ready_) throw std::logic_error("the model's weights are not all loaded");
  if (B * N == 0) return;
  std::unique_ptr<LongT5EncoderWorkspace> ws = take_workspace();
  encode(ids, mask, B, N, out, threads, *ws);  // an exception (abort, bad_alloc) frees ws with this frame
  give_back(std::move(ws));
}

void LongT5Model::encode(const int32_t* ids, const uint8_t* mask, int64_t B, int64_t N, float* out, int threads,
                         LongT5EncoderWorkspace& ws) const {
  if (!ready_) throw std::logic_error("the model's weights are not all loaded");
  const int64_t C = c_.d_model, M = B * N;
  if (M == 0) return;
  float* x = out;  // the residual stream: no buffer of its own, and the final norm runs in place
  float* n = at_least(ws.ff.n, M * C);
  embed(ids, M, x);
  for (const EncoderLayer& l : enc_) {
    rms_norm(x, M, l.ln0, 1.f, n, threads);
    LongT5LayerParams p;
    p.kind = c_.transient_global ? LongT5Kind::kTransientGlobal : LongT5Kind::kLocal;
    p.B = B;
    p.N = N;
    p.d_model = C;
    p.H = c_.heads;
    p.d_kv = c_.d_kv;
    p.local_radius = c_.local_radius;
    p.global_block_size = c_.global_block_size;
    p.num_buckets = c_.num_buckets;
    p.max_distance = c_.max_distance;
    p.layer_norm_epsilon = c_.eps;
    p.hidden = n;
    p.mask = mask;
    p.precision = c_.precision;
    if (c_.precision == ComputePrecision::kFp32) {
      p.wq_packed = l.q;
      p.wk_packed = l.k;
      p.wv_packed = l.v;
      p.wo_packed = l.o;
    } else {
      p.wq16_packed = half16(l.q);
      p.wk16_packed = half16(l.k);
      p.wv16_packed = half16(l.v);
      p.wo16_packed = half16(l.o);
    }
    p.rel_bias = enc_rel_bias_;
    p.global_rel_bias = enc_global_rel_bias_;
    p.global_norm_weight = l.global_norm;
    p.out = x;
    p.accumulate_out = true;  // residual: x += attention(rms(x))
    p.scratch = &ws.layer;
    p.threads = threads;
    longt5_layer_forward(p);
    // q and k are dead until the next layer: the FF's [rows, d_ff] intermediates live in them, so a
    // workspace holds max(q, intermediate) rather than both (at base dims, from N ~ 5.5k on q is
    // the larger and the FF adds nothing).
    std::swap(ws.ff.a, ws.layer.q);
    std::swap(ws.ff.g, ws.layer.k);
    feed_forward(x, M, l.ln1, l.wi0, l.wi1, l.wo, threads, &ws.ff);
    std::swap(ws.ff.a, ws.layer.q);
    std::swap(ws.ff.g, ws.layer.k);
  }
  rms_norm(x, M, enc_final_, 1.f, out, threads);  // in place (rms_norm_rows allows out == x)
}

// ---- decoder ----------------------------------------------------------------------------------

LongT5DecoderSession::LongT5DecoderSession(std::shared_ptr<const LongT5Model> model, const float* enc,
                                           const uint8_t* enc_mask, int64_t B, int64_t N, int64_t beams, int threads)
    : m_(std::move(model)), B_(B), N_(N), beams_(beams), R_(B * beams) {
  const LongT5ModelConfig& c = m_->config();
  if (!m_->ready() || !c.decoder) throw std::logic_error("the model has no decoder loaded");
  const int64_t C = c.d_model, H = c.heads, D = c.d_kv, HD = H * D;
  if (enc_mask) enc_mask_.assign(enc_mask, enc_mask + B * N);
  else enc_mask_.assign(static_cast<size_t>(B * N), 1);
  // Keys/values over the encoder output, once per session, head-major [B, H, N, D]: a decode step
  // streams each head's keys and values as one contiguous run (memory-bound at long N).
  for (const LongT5Model::DecoderLayer& l : m_->decoder_layers()) {
    cross_k_.emplace_back(static_cast<size_t>(B * N * HD));
    cross_v_.emplace_back(static_cast<size_t>(B * N * HD));
    m_->project_heads(enc, B, N, C, l.ck, H, D, cross_k_.back().data(), threads);
    m_->project_heads(enc, B, N, C, l.cv, H, D, cross_v_.back().data(), threads);
  }
  self_k_.resize(m_->decoder_layers().size());
  self_v_.resize(m_->decoder_layers().size());
}

void LongT5DecoderSession::reserve(int64_t needed) {
  if (needed <= cap_) return;
  const LongT5ModelConfig& c = m_->config();
  const int64_t H = c.heads, D = c.d_kv;
  int64_t cap = std::max<int64_t>(16, cap_);
  while (cap < needed) cap *= 2;
  // Capacity doubling: each layer's cache is copied once per doubling, not once per step.
  for (size_t l = 0; l < self_k_.size(); ++l)
    for (AlignedBuffer* buf : {&self_k_[l], &self_v_[l]}) {
      AlignedBuffer grown(static_cast<size_t>(R_ * H * cap * D));
      for (int64_t rh = 0; rh < R_ * H && len_ > 0; ++rh)
        std::memcpy(grown.data() + rh * cap * D, buf->data() + rh * cap_ * D,
                    static_cast<size_t>(len_ * D) * sizeof(float));
      *buf = std::move(grown);
    }
  cap_ = cap;
}

void LongT5DecoderSession::reorder(const int32_t* src) {
  const LongT5ModelConfig& c = m_->config();
  const int64_t H = c.heads, D = c.d_kv, row = H * cap_ * D;
  if (len_ == 0) return;
  if (spare_.size() != static_cast<size_t>(R_ * row)) spare_.resize(static_cast<size_t>(R_ * row));
  for (size_t l = 0; l < self_k_.size(); ++l)
    for (AlignedBuffer* buf : {&self_k_[l], &self_v_[l]}) {
      for (int64_t r = 0; r < R_; ++r)
        for (int64_t h = 0; h < H; ++h)
          std::memcpy(spare_.data() + r * row + h * cap_ * D, buf->data() + src[r] * row + h * cap_ * D,
                      static_cast<size_t>(len_ * D) * sizeof(float));
      std::swap(*buf, spare_);
    }
}

void LongT5DecoderSession::step(const int32_t* ids, int64_t T, float* logits, bool last_only, int threads) {
  const LongT5ModelConfig& c = m_->config();
  const int64_t C = c.d_model, H = c.heads, D = c.d_kv, HD = H * D, V = c.vocab;
  const int64_t M = R_ * T;
  if (T <= 0 || R_ == 0) return;
  reserve(len_ + T);
  const int64_t Nk = len_ + T;

  AlignedBuffer h(static_cast<size_t>(M * C)), n(static_cast<size_t>(M * C));
  AlignedBuffer q(static_cast<size_t>(M * HD)), kv(static_cast<size_t>(M * HD)), ctx(static_cast<size_t>(M * HD));
  m_->embed(ids, M, h.data());

  // Causal self-attention bias, unidirectional T5 buckets, as a table by distance read through a
  // negative stride (dense_attention.h): query m (absolute position len + m) and key j use
  // table[(m - j) + Nk - 1] = bias(bucket(j - (len + m))); rel = (T - 1) - x for x = m - j + Nk - 1.
  const int64_t tlen = T + Nk - 1;
  AlignedBuffer table(static_cast<size_t>(H * tlen));
  bias_by_distance(m_->decoder_rel_bias(), H, c.num_buckets, c.max_distance, tlen, T - 1, true, table.data(), false);

  const std::vector<LongT5Model::DecoderLayer>& layers = m_->decoder_layers();
  for (size_t li = 0; li < layers.size(); ++li) {
    const LongT5Model::DecoderLayer& l = layers[li];
    // Self-attention: append this step's keys/values to the cache, attend causally.
    m_->rms_norm(h.data(), M, l.ln0, 1.f, n.data(), threads);
    linear(n.data(), M, C, l.sq, HD, q.data(), false, threads, -1, -1, D);
    for (int pass = 0; pass < 2; ++pass) {
      linear(n.data(), M, C, pass == 0 ? l.sk : l.sv, HD, kv.data(), false, threads, -1, -1, D);
      float* cache = (pass == 0 ? self_k_ : self_v_)[li].data();
      for (int64_t r = 0; r < R_; ++r)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t hh = 0; hh < H; ++hh)
            std::memcpy(cache + ((r * H + hh) * cap_ + len_ + t) * D, kv.data() + (r * T + t) * HD + hh * D,
                        static_cast<size_t>(D) * sizeof(float));
    }
    DenseAttentionParams a;
    a.q = q.data();
    a.k = self_k_[li].data();
    a.v = self_v_[li].data();
    a.out = ctx.data();
    a.B = R_;
    a.H = H;
    a.Hk = H;
    a.Nq = T;
    a.Nk = Nk;
    a.D = D;
    a.Dv = D;
    a.qs = a.os = Strides::bnhd(H, T, D);
    a.ks = a.vs = Strides::bhnd(H, cap_, D);
    a.scale = 1.f;
    a.causal = true;  // bottom-right: key j allowed iff j <= len + m
    a.bias = table.data() + (Nk - 1);
    a.bias_stride[0] = 0;
    a.bias_stride[1] = tlen;
    a.bias_stride[2] = 1;
    a.bias_stride[3] = -1;
    a.threads = threads;
    dense_attention(a);
    linear(ctx.data(), M, HD, l.so, C, h.data(), true, threads);

    // Cross-attention: the beams*T queries of encoder row b share its keys, values and mask.
    m_->rms_norm(h.data(), M, l.ln1, 1.f, n.data(), threads);
    linear(n.data(), M, C, l.cq, HD, q.data(), false, threads, -1, -1, D);
    DenseAttentionParams x;
    x.q = q.data();
    x.k = cross_k_[li].data();
    x.v = cross_v_[li].data();
    x.out = ctx.data();
    x.B = B_;
    x.H = H;
    x.Hk = H;
    x.Nq = beams_ * T;
    x.Nk = N_;
    x.D = D;
    x.Dv = D;
    x.qs = x.os = Strides::bnhd(H, beams_ * T, D);
    x.ks = x.vs = Strides::bhnd(H, N_, D);
    x.scale = 1.f;
    x.key_mask = enc_mask_.data();
    x.threads = threads;
    dense_attention(x);
    linear(ctx.data(), M, HD, l.co, C, h.data(), true, threads);

    m_->feed_forward(h.data(), M, l.ln2, l.wi0, l.wi1, l.wo, threads);
  }
  // Final norm (and the tied head's d_model^-0.5), then the LM head.
  const float scale = c.tied ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(C))) : 1.f;
  m_->rms_norm(h.data(), M, m_->decoder_final_norm(), scale, n.data(), threads);
  if (last_only) linear(n.data() + (T - 1) * C, R_, C, m_->lm_head(), V, logits, false, threads, T * C, V);
  else linear(n.data(), M, C, m_->lm_head(), V, logits, false, threads);
  len_ += T;
}

}  // namespace ga
