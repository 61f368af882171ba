// Module registration and the small runtime-state functions (info, threads, ISA).
// The addon keeps no per-instance JS state, so it loads in any number of worker threads.
#include <napi.h>

#include "binding/args.h"
#include "binding/entry_points.h"
#include "dispatch/dispatch.h"
#include "kernels/parallel.h"

namespace ga {
namespace binding {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const IsaTable& isa = active_isa();
  o.Set("isa", isa.name);
  o.Set("vectorWidth", isa.vector_width);
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  for (const std::string& n : available_isas()) list.Set(i++, n);
  o.Set("availableIsas", list);
  o.Set("threads", thread_budget());
  o.Set("hardwareThreads", hardware_threads());
  o.Set("openmp", have_openmp());
#if defined(__x86_64__) || defined(_M_X64)
  o.Set("arch", "x64");
#elif defined(__aarch64__)
  o.Set("arch", "arm64");
#else
  o.Set("arch", "other");
#endif
  const std::string err = isa_override_error();
  if (!err.empty()) o.Set("isaOverrideError", err);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw_type(env, "threads must be a number");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 0 && n <= 65536 && n == static_cast<int64_t>(n)))
    throw_range(env, "threads must be an integer in [0, 65536] (0 = all hardware threads)");
  set_thread_budget(static_cast<int>(n));
  return Napi::Number::New(env, thread_budget());
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw_type(env, "isa must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!set_active_isa(name)) throw_range(env, "isa '" + name + "' is not available on this CPU/build");
  return Napi::String::New(env, active_isa().name);
}

}  // namespace

// measureFmaPeak(seconds, isa?) -> GFLOP/s of one thread (blocking; bench only).
Napi::Value MeasureFmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw_type(env, "seconds must be a number");
  const double s = info[0].As<Napi::Number>().DoubleValue();
  if (!(s > 0 && s <= 10)) throw_range(env, "seconds must be in (0, 10]");
  return Napi::Number::New(env, active_isa().fma_peak_gflops(s));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("measureFmaPeak", Napi::Function::New(env, MeasureFmaPeak, "measureFmaPeak"));
  exports.Set("denseAttention", Napi::Function::New(env, DenseAttentionSync, "denseAttention"));
  exports.Set("denseAttentionAsync", Napi::Function::New(env, DenseAttentionAsync, "denseAttentionAsync"));
  exports.Set("tglobalAttention", Napi::Function::New(env, TGlobalAttentionSync, "tglobalAttention"));
  exports.Set("tglobalAttentionAsync", Napi::Function::New(env, TGlobalAttentionAsync, "tglobalAttentionAsync"));
  exports.Set("blockGlobalAttention", Napi::Function::New(env, BlockGlobalAttentionSync, "blockGlobalAttention"));
  exports.Set("blockGlobalAttentionAsync", Napi::Function::New(env, BlockGlobalAttentionAsync, "blockGlobalAttentionAsync"));
  return exports;
}

}  // namespace binding
}  // namespace ga

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ga::binding::Init(env, exports); }
NODE_API_MODULE(global_attention, InitModule)
