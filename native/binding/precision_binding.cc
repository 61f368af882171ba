// Reduced precision (bfloat16) at the N-API boundary: options.precision, the reduced-precision
// part of info(), setReducedPrecisionIsa(), and linearReduced / linearReducedAsync (y = x · wᵀ with
// bfloat16 or float16 products, kernels/gemm_bf16.h). Dense attention reads the precision in
// dense_binding.cc (read_precision) and calls dense_attention_bf16.
#include <memory>
#include <string>
#include <vector>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "binding/precision_args.h"
#include "dispatch/cpu_features.h"
#include "dispatch/dispatch.h"
#include "kernels/gemm_bf16.h"

namespace ga {
namespace binding {

Precision read_precision(Napi::Object a) {
  Napi::Env env = a.Env();
  if (!has(a, "precision")) return Precision::kFp32;
  Napi::Value v = a.Get("precision");
  if (!v.IsString()) throw_type(env, "precision must be a string: 'fp32', 'bf16' or 'fp16'");
  const std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "fp32") return Precision::kFp32;
  if (s == "bf16") return Precision::kBf16;
  if (s == "fp16") return Precision::kFp16;
  throw_range(env, "precision must be 'fp32', 'bf16' or 'fp16', got '" + s + "'");
}

void add_reduced_precision_info(Napi::Env env, Napi::Object o) {
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  for (const std::string& n : available_reduced_precision_isas()) list.Set(i++, n);
  o.Set("reducedPrecision", list);
  o.Set("reducedPrecisionIsa", active_reduced_precision_isa());
  const ReducedPrecisionFeatures& f = reduced_precision_features();
  Napi::Object c = Napi::Object::New(env);
  c.Set("avx512bf16", f.avx512bf16);
  c.Set("avx512fp16", f.avx512fp16);
  c.Set("f16c", f.f16c);
  c.Set("amxBf16", f.amx_bf16);
  c.Set("amxPermission", amx_permission_granted());  // asked only by an AMX kernel set (none yet)
  c.Set("armBf16", f.arm_bf16);
  c.Set("armFp16", f.arm_fp16);
  c.Set("armAsimdhp", f.arm_asimdhp);
  c.Set("armFhm", f.arm_fhm);
  o.Set("reducedPrecisionCpu", c);
  const std::string err = reduced_precision_override_error();
  if (!err.empty()) o.Set("reducedPrecisionOverrideError", err);
}

namespace {

Napi::Value SetReducedPrecisionIsaImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw_type(env, "reduced-precision isa must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!set_reduced_precision_isa(name))
    throw_range(env, "reduced-precision isa '" + name + "' is not available on this CPU/build");
  return Napi::String::New(env, active_reduced_precision_isa());
}

struct GemmBf16Job {
  GemmBf16Params p;
  bool fp16 = false;  // float16 instead of bfloat16 (products and w16)
  int want_threads = 0;
  void operator()(int threads) {
    p.g.threads = threads;
    fp16 ? gemm_abt_fp16(p) : gemm_abt_bf16(p);
  }
};

// linearReduced({x [M,K], w [N,K] | w16 [N,K], out [M,N], M, K, N, threads?, precision?}): out = x · wᵀ,
// bfloat16 products (precision 'fp16': float16); w16 holds the weight as bit patterns of that
// type (used as they are, never widened).
Napi::Value linear_reduced(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  auto job = std::make_shared<GemmBf16Job>();
  auto buffers = std::make_shared<CallBuffers>(async);
  GemmParams& g = job->p.g;
  g.M = get_size(a, "M");
  g.N = get_size(a, "N");
  g.K = get_size(a, "K");
  g.a = buffers->input(a, "x", checked_mul(env, g.M, g.K, "x"));
  const int64_t wn = checked_mul(env, g.N, g.K, "w");
  if (has(a, "w16")) {  // bfloat16 bit patterns (a BF16 checkpoint's weight, or toBf16())
    job->p.b16 = buffers->input_u16(a, "w16", wn);
  } else {
    g.b = buffers->input(a, "w", wn);
  }
  g.c = buffers->output(a, "out", checked_mul(env, g.M, g.N, "out"));
  g.lda = g.K;
  g.ldb = g.K;
  g.ldc = g.N;
  if (has(a, "threads")) job->want_threads = static_cast<int>(get_size(a, "threads", 1 << 16));
  const Precision precision = has(a, "precision") ? read_precision(a) : Precision::kBf16;
  if (precision == Precision::kFp32)
    throw_range(env, "linearReduced computes precision 'bf16' or 'fp16' (fp32: linear)");
  job->fp16 = precision == Precision::kFp16;
  return run_job(
      env, async, "linear", buffers, job->want_threads, [job](int threads) { (*job)(threads); }, read_cancel_token(a));
}

}  // namespace

Napi::Value SetReducedPrecisionIsa(const Napi::CallbackInfo& info) { return SetReducedPrecisionIsaImpl(info); }
Napi::Value LinearReducedSync(const Napi::CallbackInfo& info) { return linear_reduced(info, false); }
Napi::Value LinearReducedAsync(const Napi::CallbackInfo& info) { return linear_reduced(info, true); }

}  // namespace binding
}  // namespace ga
