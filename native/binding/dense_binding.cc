// denseAttention / denseAttentionAsync: read and check the argument object, copy what the
// kernel needs into DenseAttentionParams, run it here or on a worker thread.
#include <cmath>
#include <memory>

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

struct DenseJob {
  DenseAttentionParams p;
  std::vector<uint8_t> mask;  // normalised copy (0/1)
  float* weights = nullptr;   // optional [B, H, Nq, Nk] probabilities
  int want_threads = 0;
  Precision precision = Precision::kFp32;  // options.precision (precision_args.h)
  void operator()(int threads) {
    p.threads = threads;
    if (!mask.empty()) p.key_mask = mask.data();
    switch (precision) {
      case Precision::kFp32: dense_attention(p); break;
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
  const int64_t nk = checked_mul(env, checked_mul(env, p.B, p.Hk, "k"), p.Nk, "k");
  p.q = buffers->input(a, "q", checked_mul(env, nq, p.D, "q"));
  p.k = buffers->input(a, "k", checked_mul(env, nk, p.D, "k"));
  p.v = buffers->input(a, "v", checked_mul(env, nk, p.Dv, "v"));
  p.out = buffers->output(a, "out", checked_mul(env, nq, p.Dv, "out"));
  // Same element counts in both layouts; only the strides differ (the kernel reads any).
  const auto strides = read_layout_bnhd(a) ? &Strides::bnhd : &Strides::bhnd;
  p.qs = strides(p.H, p.Nq, p.D);
  p.ks = strides(p.Hk, p.Nk, p.D);
  p.vs = strides(p.Hk, p.Nk, p.Dv);
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
  job->precision = read_precision(a);
  return run_job(env, async, "attention", buffers, job->want_threads, [job](int threads) { (*job)(threads); });
}

}  // namespace

Napi::Value DenseAttentionSync(const Napi::CallbackInfo& info) { return dense(info, false); }
Napi::Value DenseAttentionAsync(const Napi::CallbackInfo& info) { return dense(info, true); }

}  // namespace binding
}  // namespace ga
