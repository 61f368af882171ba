// LongT5 entry points: globalBlockIds, relativePositionBuckets, globalAggregates, linear, and the
// whole-layer forward (sync + async). Each reads and checks its argument object, then calls
// plain C++ (kernels/longt5_blocks.h, kernels/gemm.h, ops/longt5_layer.h).
#include <cmath>
#include <memory>
#include <string>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "binding/precision_args.h"
#include "dispatch/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/longt5_blocks.h"
#include "ops/longt5_layer.h"
#include "ops/longt5_layer_packed.h"
#include "runtime/parallel.h"

namespace ga {
namespace binding {
namespace {

int32_t get_i32_size(Napi::Object a, const char* key, int64_t min) {
  const int64_t v = get_size(a, key, (int64_t(1) << 30));
  if (v < min) throw_range(a.Env(), std::string(key) + " must be >= " + std::to_string(min));
  return static_cast<int32_t>(v);
}

Napi::Value GlobalBlockIdsImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  const int64_t B = get_size(a, "B"), N = get_size(a, "N"), g = get_size(a, "g");
  if (g < 1) throw_range(env, "g must be >= 1");
  if (B == 0 || N == 0) return env.Undefined();  // nothing to label (and no B-long loop over empty rows)
  // Outputs first: their lengths bound B * N before the all-ones default mask is allocated.
  int32_t* ids = get_i32(a, "blockIds", checked_mul(env, B, N, "blockIds"));
  int32_t* seg = get_i32(a, "segmentIds", checked_mul(env, B, N / g, "segmentIds"));
  std::vector<uint8_t> mask;
  if (!get_mask_opt(a, "mask", B * N, mask)) mask.assign(static_cast<size_t>(B * N), 1);
  global_block_ids(mask.data(), B, N, g, ids, seg);
  return env.Undefined();
}

Napi::Value RelativePositionBucketsImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  const int32_t nb = get_i32_size(a, "numBuckets", 2), md = get_i32_size(a, "maxDistance", 1);
  Napi::Value rv = a.Get("relative");
  if (!rv.IsTypedArray() || rv.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(env, "relative must be an Int32Array");
  auto rel = rv.As<Napi::Int32Array>();
  int32_t* out = get_i32(a, "out", static_cast<int64_t>(rel.ElementLength()));
  const bool bidirectional = get_bool(a, "bidirectional", true);  // false: the decoder's causal buckets
  for (size_t i = 0; i < rel.ElementLength(); ++i) out[i] = relative_position_bucket(rel[i], nb, md, bidirectional);
  return env.Undefined();
}

// tglobalBiasTables({H, N, G, radius, numBuckets, globalNumBuckets?, maxDistance, relativeAttentionBias?,
// globalRelativeAttentionBias?}) -> {radius, localBias?, globalBias?}: the TGlobal core's window
// (capped_radius) and its per-head bias tables, by the same C++ the layers use.
Napi::Value TGlobalBiasTablesImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  const int64_t H = get_size(a, "H"), N = get_size(a, "N"), G = get_size(a, "G");
  const int64_t r = capped_radius(get_size(a, "radius", int64_t(1) << 30), N);
  const int32_t md = get_i32_size(a, "maxDistance", 1);
  // Each table has its own bucket count (the two weights need not agree); globalNumBuckets
  // defaults to numBuckets.
  const int32_t nb = get_i32_size(a, "numBuckets", 2);
  const int32_t gnb = has(a, "globalNumBuckets") ? get_i32_size(a, "globalNumBuckets", 2) : nb;
  Napi::Object result = Napi::Object::New(env);
  result.Set("radius", Napi::Number::New(env, static_cast<double>(r)));
  auto table = [&](const char* key, int32_t buckets, const char* out_key, int64_t len, int64_t offset) {
    const float* w = get_f32_opt(a, key, checked_mul(env, buckets, H, key));
    if (!w) return;
    auto t = Napi::Float32Array::New(env, static_cast<size_t>(checked_mul(env, H, len, out_key)));
    bias_by_distance(w, H, buckets, md, len, offset, false, t.Data());
    result.Set(out_key, t);
  };
  table("relativeAttentionBias", nb, "localBias", 2 * r + 1, r);
  table("globalRelativeAttentionBias", gnb, "globalBias", 2 * G + 1, G);
  return result;
}

Napi::Value GlobalAggregatesImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  const int64_t B = get_size(a, "B"), N = get_size(a, "N"), C = get_size(a, "C"), G = get_size(a, "G");
  const float* x = get_f32(a, "x", checked_mul(env, checked_mul(env, B, N, "x"), C, "x"));
  const int32_t* ids = get_i32(a, "blockIds", checked_mul(env, B, N, "blockIds"));
  for (int64_t i = 0; i < B * N; ++i)
    if (ids[i] < -1 || ids[i] >= G) throw_range(env, "blockIds must lie in [-1, G)");
  const float* w = get_f32_opt(a, "normWeight", C);
  const double eps = get_number(a, "eps");
  if (!(eps >= 0) || !std::isfinite(eps)) throw_range(env, "eps must be a finite number >= 0");
  float* out = get_f32(a, "out", checked_mul(env, checked_mul(env, B, G, "out"), C, "out"));
  global_aggregates(x, B, N, C, ids, G, w, static_cast<float>(eps), out);
  return env.Undefined();
}

struct GemmJob {
  GemmParams p;
  int want_threads = 0;
  void operator()(int threads) {
    p.threads = threads;
    gemm_abt(p);
  }
};

// linear({x [M,K], w [N,K], out [M,N], M, K, N}): out = x · wᵀ.
Napi::Value linear(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<GemmJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  GemmParams& p = job->p;
  p.M = get_size(a, "M");
  p.N = get_size(a, "N");
  p.K = get_size(a, "K");
  p.a = buffers->input(a, "x", checked_mul(env, p.M, p.K, "x"));
  p.b = buffers->input(a, "w", checked_mul(env, p.N, p.K, "w"));
  p.c = buffers->output(a, "out", checked_mul(env, p.M, p.N, "out"));
  p.lda = p.K;
  p.ldb = p.K;
  p.ldc = p.N;
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  return run_job(
      env, async, "linear", buffers, job->want_threads, [job](int threads) { (*job)(threads); }, read_cancel_token(a));
}

struct LayerJob {
  LongT5LayerParams p;
  std::vector<uint8_t> mask;
  int want_threads = 0;
  // A packed batch (hidden [T, d_model]): sequence s is rows [seq_starts[s], seq_starts[s+1]),
  // with the same bits as a B = 1 call of its own (no padding anywhere). TGlobal and local layers
  // share each step's work across the sequences (ops/longt5_layer_packed.h); full attention runs
  // them one after another.
  const int32_t* seq_starts = nullptr;
  int64_t seqs = 0;
  void operator()(int threads) {
    p.threads = threads;
    if (!mask.empty()) p.mask = mask.data();
    if (!seq_starts) return longt5_layer_forward(p);
    // (Reduced precision and empty products, d_model or H * d_kv = 0 through the raw binding: one
    // sequence at a time.)
    if (p.kind != LongT5Kind::kFull && p.precision == ComputePrecision::kFp32 && p.d_model > 0 && p.H * p.d_kv > 0)
      return longt5_layer_forward_packed(p, seq_starts, seqs);
    for (int64_t s = 0; s < seqs; ++s) {
      LongT5LayerParams ps = p;
      ps.B = 1;
      ps.N = seq_starts[s + 1] - seq_starts[s];
      if (ps.N == 0) continue;
      ps.hidden = p.hidden + seq_starts[s] * p.d_model;
      ps.out = p.out + seq_starts[s] * p.d_model;
      longt5_layer_forward(ps);
    }
  }
};

Napi::Value layer_forward(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<LayerJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  LongT5LayerParams& p = job->p;
  Napi::Value kv = a.Get("kind");
  if (!kv.IsString()) throw_type(env, "kind must be 'tglobal', 'local' or 'full'");
  const std::string kind = kv.As<Napi::String>().Utf8Value();
  if (kind == "tglobal") p.kind = LongT5Kind::kTransientGlobal;
  else if (kind == "local") p.kind = LongT5Kind::kLocal;
  else if (kind == "full") p.kind = LongT5Kind::kFull;
  else throw_range(env, "kind must be 'tglobal', 'local' or 'full'");
  p.B = get_size(a, "B");
  p.N = get_size(a, "N");
  p.d_model = get_size(a, "dModel");
  p.H = get_size(a, "H");
  p.d_kv = get_size(a, "dKv");
  p.num_buckets = get_i32_size(a, "numBuckets", 2);
  p.max_distance = get_i32_size(a, "maxDistance", 1);
  const int64_t HD = checked_mul(env, p.H, p.d_kv, "H*dKv");
  const int64_t BN = checked_mul(env, p.B, p.N, "hidden");
  p.hidden = buffers->input(a, "hidden", checked_mul(env, BN, p.d_model, "hidden"));
  p.out = buffers->output(a, "out", checked_mul(env, BN, p.d_model, "out"));
  const int64_t wsize = checked_mul(env, HD, p.d_model, "weights");
  checked_mul(env, BN, HD, "projections");
  p.wq = buffers->input(a, "wq", wsize);
  p.wk = buffers->input(a, "wk", wsize);
  p.wv = buffers->input(a, "wv", wsize);
  p.wo = buffers->input(a, "wo", wsize);
  p.rel_bias = buffers->input(a, "relBias", checked_mul(env, p.num_buckets, p.H, "relBias"));
  if (p.kind != LongT5Kind::kFull) {
    p.local_radius = get_size(a, "localRadius", int64_t(1) << 30);
  }
  if (p.kind == LongT5Kind::kTransientGlobal) {
    p.global_block_size = get_size(a, "globalBlockSize", int64_t(1) << 30);
    if (p.global_block_size < 1) throw_range(env, "globalBlockSize must be >= 1");
    p.global_rel_bias = buffers->input(a, "globalRelBias", checked_mul(env, p.num_buckets, p.H, "globalRelBias"));
    p.global_norm_weight = buffers->input(a, "globalNormWeight", p.d_model);
    const double eps = get_number(a, "eps");
    if (!(eps >= 0) || !std::isfinite(eps)) throw_range(env, "eps must be a finite number >= 0");
    p.layer_norm_epsilon = static_cast<float>(eps);
  }
  switch (read_precision(a)) {  // options.precision: the products' type (ops/compute_precision.h)
    case Precision::kFp32: p.precision = ComputePrecision::kFp32; break;
    case Precision::kBf16: p.precision = ComputePrecision::kBf16; break;
    case Precision::kFp16: p.precision = ComputePrecision::kFp16; break;
  }
  get_mask_opt(a, "mask", BN, job->mask);
  if (has(a, "seqStarts")) {  // packed: B = 1, N = T
    if (p.B != 1) throw_range(env, "a packed batch (seqStarts) has B = 1 and N = T");
    if (!job->mask.empty()) throw_range(env, "a packed batch (seqStarts) takes no mask");
    if (p.N > INT32_MAX) throw_range(env, "T must fit in an Int32Array offset");
    job->seqs = get_size(a, "seqs", int64_t(1) << 31);
    const int32_t* s = buffers->input_i32(a, "seqStarts", job->seqs + 1);
    if (s[0] != 0) throw_range(env, "seqStarts[0] must be 0");
    for (int64_t i = 0; i < job->seqs; ++i)
      if (s[i + 1] < s[i]) throw_range(env, "seqStarts must be non-decreasing");
    if (s[job->seqs] != p.N) throw_range(env, "seqStarts must end at T");
    job->seq_starts = s;
  }
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  return run_job(
      env, async, "a LongT5 layer", buffers, job->want_threads, [job](int threads) { (*job)(threads); },
      read_cancel_token(a));
}

}  // namespace

Napi::Value GlobalBlockIds(const Napi::CallbackInfo& info) { return GlobalBlockIdsImpl(info); }
Napi::Value RelativePositionBuckets(const Napi::CallbackInfo& info) { return RelativePositionBucketsImpl(info); }
Napi::Value GlobalAggregates(const Napi::CallbackInfo& info) { return GlobalAggregatesImpl(info); }
Napi::Value TGlobalBiasTables(const Napi::CallbackInfo& info) { return TGlobalBiasTablesImpl(info); }
Napi::Value LinearSync(const Napi::CallbackInfo& info) { return linear(info, false); }
Napi::Value LinearAsync(const Napi::CallbackInfo& info) { return linear(info, true); }
Napi::Value LongT5ForwardSync(const Napi::CallbackInfo& info) { return layer_forward(info, false); }
Napi::Value LongT5ForwardAsync(const Napi::CallbackInfo& info) { return layer_forward(info, true); }

}  // namespace binding
}  // namespace ga
