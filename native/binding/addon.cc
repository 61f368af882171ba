// Module registration and the small runtime-state functions (info, threads, ISA).
// The addon keeps no per-instance JS state, so it loads in any number of worker threads.
#include <napi.h>

#include "binding/args.h"
#include "binding/call_buffers.h"
#include "binding/entry_points.h"
#include "dispatch/dispatch.h"
#include "runtime/parallel.h"

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
  add_reduced_precision_info(env, o);
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

// measureFmaPeak(seconds) -> GFLOP/s of one thread on the active ISA (blocking; bench only).
Napi::Value MeasureFmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw_type(env, "seconds must be a number");
  const double s = info[0].As<Napi::Number>().DoubleValue();
  if (!(s > 0 && s <= 10)) throw_range(env, "seconds must be in (0, 10]");
  return Napi::Number::New(env, fma_peak_gflops(s));
}

// measureMicrokernels(seconds) -> { qk, pv }: GFLOP/s of the attention micro-kernels on L1-resident
// operands, one thread, active ISA, `seconds` each (kernels/microkernel_probe_impl.h; bench only).
Napi::Value MeasureMicrokernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw_type(env, "seconds must be a number");
  const double s = info[0].As<Napi::Number>().DoubleValue();
  if (!(s > 0 && s <= 10)) throw_range(env, "seconds must be in (0, 10]");
  const MicrokernelRates r = microkernel_rates(s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("qk", r.qk_gflops);
  o.Set("pv", r.pv_gflops);
  return o;
}

// asyncCopiedBytes() -> bytes async calls have copied so far, process-wide (binding/call_buffers.h:
// arrays on a SharedArrayBuffer are used in place; tests check it).
Napi::Value AsyncCopiedBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(CallBuffers::copied_bytes()));
}

// Every export goes through this: C++ exceptions other than Napi::Error (bad_alloc while copying
// inputs, say) would otherwise terminate the process.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "global-attention: out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("global-attention: ") + e.what());
  }
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Guarded<Info>, "info"));
  exports.Set("setThreads", Napi::Function::New(env, Guarded<SetThreads>, "setThreads"));
  exports.Set("setIsa", Napi::Function::New(env, Guarded<SetIsa>, "setIsa"));
  exports.Set("measureFmaPeak", Napi::Function::New(env, Guarded<MeasureFmaPeak>, "measureFmaPeak"));
  exports.Set("measureMicrokernels", Napi::Function::New(env, Guarded<MeasureMicrokernels>, "measureMicrokernels"));
  exports.Set("denseAttention", Napi::Function::New(env, Guarded<DenseAttentionSync>, "denseAttention"));
  exports.Set("denseAttentionAsync", Napi::Function::New(env, Guarded<DenseAttentionAsync>, "denseAttentionAsync"));
  exports.Set("tglobalAttention", Napi::Function::New(env, Guarded<TGlobalAttentionSync>, "tglobalAttention"));
  exports.Set("tglobalAttentionAsync",
              Napi::Function::New(env, Guarded<TGlobalAttentionAsync>, "tglobalAttentionAsync"));
  exports.Set("tglobalAttentionBatch",
              Napi::Function::New(env, Guarded<TGlobalAttentionBatchSync>, "tglobalAttentionBatch"));
  exports.Set("tglobalAttentionBatchAsync",
              Napi::Function::New(env, Guarded<TGlobalAttentionBatchAsync>, "tglobalAttentionBatchAsync"));
  exports.Set("blockGlobalAttention",
              Napi::Function::New(env, Guarded<BlockGlobalAttentionSync>, "blockGlobalAttention"));
  exports.Set("blockGlobalAttentionAsync",
              Napi::Function::New(env, Guarded<BlockGlobalAttentionAsync>, "blockGlobalAttentionAsync"));
  exports.Set("globalBlockIds", Napi::Function::New(env, Guarded<GlobalBlockIds>, "globalBlockIds"));
  exports.Set("relativePositionBuckets",
              Napi::Function::New(env, Guarded<RelativePositionBuckets>, "relativePositionBuckets"));
  exports.Set("tglobalBiasTables", Napi::Function::New(env, Guarded<TGlobalBiasTables>, "tglobalBiasTables"));
  exports.Set("globalAggregates", Napi::Function::New(env, Guarded<GlobalAggregates>, "globalAggregates"));
  exports.Set("linear", Napi::Function::New(env, Guarded<LinearSync>, "linear"));
  exports.Set("linearAsync", Napi::Function::New(env, Guarded<LinearAsync>, "linearAsync"));
  exports.Set("longt5Forward", Napi::Function::New(env, Guarded<LongT5ForwardSync>, "longt5Forward"));
  exports.Set("longt5ForwardAsync", Napi::Function::New(env, Guarded<LongT5ForwardAsync>, "longt5ForwardAsync"));
  exports.Set("denseAttentionPacked", Napi::Function::New(env, Guarded<DensePackedSync>, "denseAttentionPacked"));
  exports.Set("denseAttentionPackedAsync",
              Napi::Function::New(env, Guarded<DensePackedAsync>, "denseAttentionPackedAsync"));
  exports.Set("newCancelToken", Napi::Function::New(env, Guarded<NewCancelToken>, "newCancelToken"));
  exports.Set("cancelToken", Napi::Function::New(env, Guarded<CancelTokenSet>, "cancelToken"));
  exports.Set("asyncCopiedBytes", Napi::Function::New(env, Guarded<AsyncCopiedBytes>, "asyncCopiedBytes"));
  exports.Set("adviseHugePages", Napi::Function::New(env, Guarded<AdviseHugePages>, "adviseHugePages"));
  exports.Set("setReducedPrecisionIsa",
              Napi::Function::New(env, Guarded<SetReducedPrecisionIsa>, "setReducedPrecisionIsa"));
  exports.Set("linearReduced", Napi::Function::New(env, Guarded<LinearReducedSync>, "linearReduced"));
  exports.Set("linearReducedAsync", Napi::Function::New(env, Guarded<LinearReducedAsync>, "linearReducedAsync"));
  exports.Set("modelCreate", Napi::Function::New(env, Guarded<ModelCreate>, "modelCreate"));
  exports.Set("modelWeightNames", Napi::Function::New(env, Guarded<ModelWeightNames>, "modelWeightNames"));
  exports.Set("modelSetWeight", Napi::Function::New(env, Guarded<ModelSetWeight>, "modelSetWeight"));
  exports.Set("modelFinalize", Napi::Function::New(env, Guarded<ModelFinalize>, "modelFinalize"));
  exports.Set("modelGetWeight", Napi::Function::New(env, Guarded<ModelGetWeight>, "modelGetWeight"));
  exports.Set("modelDispose", Napi::Function::New(env, Guarded<ModelDispose>, "modelDispose"));
  exports.Set("modelWeightBytes", Napi::Function::New(env, Guarded<ModelWeightBytes>, "modelWeightBytes"));
  exports.Set("modelScratchBytes", Napi::Function::New(env, Guarded<ModelScratchBytes>, "modelScratchBytes"));
  exports.Set("modelReleaseScratch", Napi::Function::New(env, Guarded<ModelReleaseScratch>, "modelReleaseScratch"));
  exports.Set("modelEncode", Napi::Function::New(env, Guarded<ModelEncodeSync>, "modelEncode"));
  exports.Set("modelEncodeAsync", Napi::Function::New(env, Guarded<ModelEncodeAsync>, "modelEncodeAsync"));
  exports.Set("decoderCreate", Napi::Function::New(env, Guarded<DecoderCreate>, "decoderCreate"));
  exports.Set("decoderStart", Napi::Function::New(env, Guarded<DecoderStartSync>, "decoderStart"));
  exports.Set("decoderStartAsync", Napi::Function::New(env, Guarded<DecoderStartAsync>, "decoderStartAsync"));
  exports.Set("decoderStep", Napi::Function::New(env, Guarded<DecoderStepSync>, "decoderStep"));
  exports.Set("decoderStepAsync", Napi::Function::New(env, Guarded<DecoderStepAsync>, "decoderStepAsync"));
  exports.Set("decoderReorder", Napi::Function::New(env, Guarded<DecoderReorder>, "decoderReorder"));
  exports.Set("decoderLength", Napi::Function::New(env, Guarded<DecoderLength>, "decoderLength"));
  exports.Set("decoderDispose", Napi::Function::New(env, Guarded<DecoderDispose>, "decoderDispose"));
  return exports;
}

}  // namespace binding
}  // namespace ga

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ga::binding::Init(env, exports); }
NODE_API_MODULE(global_attention, InitModule)
