// denseAttention / denseAttentionAsync: read and check the argument object, copy what the
// kernel needs into DenseAttentionParams, run it here or on a worker thread.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "binding/precision_args.h"
#include "dispatch/dispatch.h"
#include "kernels/attention_weights.h"
#include "kernels/attention_weights_bf16.h"
#include "runtime/parallel.h"

namespace ga {
namespace binding {
namespace {

// A Uint16Array field of exactly n elements (a 16-bit KVCache's storage); nullptr when n == 0.
uint16_t* get_u16(Napi::Object o, const char* key, int64_t n) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    throw_type(o.Env(), std::string(key) + " must be a Uint16Array (a 16-bit KVCache's storage)");
  auto a = v.As<Napi::Uint16Array>();
  if (static_cast<int64_t>(a.ElementLength()) != n)
    throw_range(o.Env(), std::string(key) + " has " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(n));
  return n == 0 ? nullptr : a.Data();
}

struct DenseJob {
  DenseAttentionParams p;
  std::vector<uint16_t> k16, v16;  // async calls: private copies of a 16-bit cache
  std::vector<uint8_t> mask;  // normalised copy (0/1)
  float* weights = nullptr;   // optional [B, H, Nq, Nk] probabilities
  int want_threads = 0;
  bool force_decode = false;  // args.path 'decode' (tests, benches): the decode kernel for any Nq
  Precision precision = Precision::kFp32;  // options.precision (precision_args.h)
  void operator()(int threads) {
    p.threads = threads;
    if (!mask.empty()) p.key_mask = mask.data();
    switch (precision) {
      case Precision::kFp32:
        if (force_decode) decode_attention(p);
        else dense_attention(p);
        break;
      case Precision::kBf16: dense_attention_bf16(p); break;
      case Precision::kFp16: dense_attention_fp16(p); break;
    }
    if (weights) {
      if (precision == Precision::kBf16) dense_attention_weights_bf16(p, weights);
      else if (precision == Precision::kFp16) dense_attention_weights_fp16(p, weights);
      else dense_attention_weights(p, weights);
    }
  }
};

Napi::Value dense(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<DenseJob>();
  auto buffers = std::make_shared<CallBuffers>(async);
  DenseAttentionParams& p = job->p;
  p.B = get_size(a, "B");
  p.H = get_size(a, "H");
  p.Hk = get_size(a, "Hk");
  p.Nq = get_size(a, "Nq");
  p.Nk = get_size(a, "Nk");
  p.D = get_size(a, "D");
  p.Dv = get_size(a, "Dv");
  if (p.Hk == 0 || p.H % p.Hk != 0) throw_range(env, "H must be a multiple of Hk (and Hk > 0)");
  const int64_t nq = checked_mul(env, checked_mul(env, p.B, p.H, "q"), p.Nq, "q");
  // kvCapacity (a KVCache view, [B, Hk, capacity, D] storage of which the first Nk rows per head
  // are used): k and v are the whole storage, read with the capacity's strides (no compaction).
  const bool cache = has(a, "kvCapacity");
  const int64_t rows = cache ? get_size(a, "kvCapacity") : p.Nk;
  if (rows < p.Nk) throw_range(env, "kvCapacity must be >= Nk");
  const int64_t nk = checked_mul(env, checked_mul(env, p.B, p.Hk, "k"), rows, "k");
  p.q = buffers->input(a, "q", checked_mul(env, nq, p.D, "q"));
  if (has(a, "kvFormat")) {  // a float16 / bfloat16 KVCache: the decode kernel converts per tile
    Napi::Value fv = a.Get("kvFormat");
    const std::string f = fv.IsString() ? fv.As<Napi::String>().Utf8Value() : "";
    if (f == "float16") p.kv_format = 1;
    else if (f == "bfloat16") p.kv_format = 2;
    else throw_type(env, "kvFormat must be 'float16' or 'bfloat16'");
    if (!cache) throw_range(env, "kvFormat needs kvCapacity (a KVCache view)");
    if (has(a, "weights")) throw_range(env, "weights are not computed from a 16-bit KVCache");
    const int64_t nkd = checked_mul(env, nk, p.D, "k"), nkv = checked_mul(env, nk, p.Dv, "v");
    uint16_t* k16 = get_u16(a, "k", nkd);
    uint16_t* v16 = get_u16(a, "v", nkv);
    if (async) {  // as CallBuffers does for float inputs: the job must not see the caller's arrays
      job->k16.assign(k16, k16 + nkd);
      job->v16.assign(v16, v16 + nkv);
      k16 = job->k16.data();
      v16 = job->v16.data();
    }
    p.k16 = k16;
    p.v16 = v16;
  } else {
    p.k = buffers->input(a, "k", checked_mul(env, nk, p.D, "k"));
    p.v = buffers->input(a, "v", checked_mul(env, nk, p.Dv, "v"));
  }
  p.out = buffers->output(a, "out", checked_mul(env, nq, p.Dv, "out"));
  // Same element counts in both layouts; only the strides differ (the kernel reads any).
  const bool bnhd = read_layout_bnhd(a);
  if (bnhd && cache) throw_range(env, "kvCapacity needs layout 'bhnd'");
  const auto strides = bnhd ? &Strides::bnhd : &Strides::bhnd;
  p.qs = strides(p.H, p.Nq, p.D);
  p.ks = strides(p.Hk, rows, p.D);
  p.vs = strides(p.Hk, rows, p.Dv);
  p.os = strides(p.H, p.Nq, p.Dv);
  const double scale = get_number(a, "scale");
  if (!std::isfinite(scale)) throw_range(env, "scale must be a finite number");
  p.scale = static_cast<float>(scale);
  p.causal = get_bool(a, "causal", false);
  get_mask_opt(a, "keyMask", checked_mul(env, p.B, p.Nk, "keyMask"), job->mask);
  if (has(a, "bias")) {
    Napi::Value dv = a.Get("biasDims");
    if (!dv.IsArray() || dv.As<Napi::Array>().Length() != 4) throw_type(env, "biasDims must be an array of 4 sizes");
    Napi::Array dims = dv.As<Napi::Array>();
    const int64_t full[4] = {p.B, p.H, p.Nq, p.Nk};
    int64_t n = 1;
    int64_t bd[4];
    for (uint32_t i = 0; i < 4; ++i) {
      Napi::Value e = dims.Get(i);
      if (!e.IsNumber()) throw_type(env, "biasDims must hold numbers");
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!(d == 1 || d == static_cast<double>(full[i])))
        throw_range(env, "bias dim " + std::to_string(i) + " must be 1 or " + std::to_string(full[i]));
      bd[i] = static_cast<int64_t>(d);
      n = checked_mul(env, n, bd[i], "bias");
    }
    p.bias = buffers->input(a, "bias", n);
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      p.bias_stride[i] = bd[i] == 1 ? 0 : stride;
      stride *= bd[i];
    }
  }
  if (has(a, "weights"))
    job->weights = buffers->output(a, "weights", checked_mul(env, checked_mul(env, nq, p.Nk, "weights"), 1, "weights"));
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  if (has(a, "path")) {  // not public: which kernel runs ('auto' = dense_attention's own choice)
    Napi::Value pv = a.Get("path");
    const std::string path = pv.IsString() ? pv.As<Napi::String>().Utf8Value() : "";
    if (path == "flash") p.allow_decode = false;
    else if (path == "decode") job->force_decode = true;
    else if (path != "auto") throw_type(env, "path must be 'auto', 'flash' or 'decode'");
  }
  job->precision = read_precision(a);
  if (job->precision != Precision::kFp32 && p.kv_format != 0)
    throw_range(env, "a 16-bit KVCache is read with precision 'fp32' (its values are converted to float32)");
  return run_job(env, async, "attention", buffers, job->want_threads, [job](int threads) { (*job)(threads); },
                 read_cancel_token(a));
}

}  // namespace

Napi::Value DenseAttentionSync(const Napi::CallbackInfo& info) { return dense(info, false); }
Napi::Value DenseAttentionAsync(const Napi::CallbackInfo& info) { return dense(info, true); }

}  // namespace binding
}  // namespace ga
