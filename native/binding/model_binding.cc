// The whole-model entry points (ops/longt5_model.h): a model handle that holds the weights in
// native memory (filled tensor by tensor, then finalized), the encoder forward, and decoder
// sessions (one per generation) that advance all rows by one call per step. Handles are
// Napi::External values, type-tagged so that one kind can never be taken for another; each holds
// a shared_ptr, and every job holds its own, so garbage collection or dispose() during an async
// call frees nothing the call still uses.
#include <atomic>
#include <cmath>
#include <memory>
#include <string>

#include "binding/args.h"
#include "binding/async_job.h"
#include "binding/entry_points.h"
#include "binding/precision_args.h"
#include "ops/longt5_model.h"

namespace ga {
namespace binding {
namespace {

const napi_type_tag kModelTag = {0x6c6f6e6774356d6fULL, 0x64656c68616e646cULL};
const napi_type_tag kSessionTag = {0x6c6f6e6774356465ULL, 0x636f64657273736eULL};

struct ModelHandle {
  std::shared_ptr<LongT5Model> model;  // reset by dispose()
};

struct SessionState {
  std::shared_ptr<const LongT5Model> model;
  std::unique_ptr<LongT5DecoderSession> session;  // set by decoderStart
  int64_t B = 0, N = 0, beams = 1;
  std::atomic<bool> busy{false};
};
struct SessionHandle {
  std::shared_ptr<SessionState> state;
};

// Marks a session busy for one call; a second call while one runs is an error, not a race.
class BusyGuard {
 public:
  explicit BusyGuard(std::shared_ptr<SessionState> s) : s_(std::move(s)) {}
  ~BusyGuard() { s_->busy.store(false); }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  std::shared_ptr<SessionState> s_;
};

ModelHandle& model_handle(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal() || !v.As<Napi::External<ModelHandle>>().CheckTypeTag(&kModelTag))
    throw_type(env, "model must be a model handle from modelCreate");
  return *v.As<Napi::External<ModelHandle>>().Data();
}

std::shared_ptr<LongT5Model> live_model(Napi::Env env, Napi::Value v) {
  ModelHandle& h = model_handle(env, v);
  if (!h.model) throw Napi::Error::New(env, "the model has been disposed");
  return h.model;
}

std::shared_ptr<SessionState> session_state(Napi::Env env, Napi::Value v) {
  if (!v.IsExternal() || !v.As<Napi::External<SessionHandle>>().CheckTypeTag(&kSessionTag))
    throw_type(env, "session must be a decoder session handle from decoderCreate");
  std::shared_ptr<SessionState> s = v.As<Napi::External<SessionHandle>>().Data()->state;
  if (!s) throw Napi::Error::New(env, "the decoder session has been disposed");
  return s;
}

// Claims the session for one call (throws if another call on it is running).
std::shared_ptr<BusyGuard> claim(Napi::Env env, const std::shared_ptr<SessionState>& s) {
  bool expected = false;
  if (!s->busy.compare_exchange_strong(expected, true))
    throw Napi::Error::New(env, "the decoder session is busy: another call on it has not finished");
  return std::make_shared<BusyGuard>(s);
}

int want_threads(Napi::Object a) { return has(a, "threads") ? static_cast<int>(get_size(a, "threads", 1 << 16)) : 0; }

// Token ids: an Int32Array of exactly n values, each in [0, vocab). Copied (async calls must not
// read the caller's array off-thread).
std::shared_ptr<std::vector<int32_t>> read_ids(Napi::Object a, const char* key, int64_t n, int64_t vocab) {
  Napi::Env env = a.Env();
  const int32_t* p = get_i32(a, key, n);
  auto ids = std::make_shared<std::vector<int32_t>>(p, p + n);
  for (int64_t i = 0; i < n; ++i)
    if ((*ids)[i] < 0 || (*ids)[i] >= vocab)
      throw_range(env, std::string(key) + "[" + std::to_string(i) + "] = " + std::to_string((*ids)[i]) +
                           " is not a token id in [0, " + std::to_string(vocab) + ")");
  return ids;
}

// modelCreate({vocab, dModel, dKv, heads, dFf, encoderLayers, decoderLayers, localRadius,
// globalBlockSize, numBuckets, maxDistance, eps, transientGlobal, gated, activation, tied, decoder,
// precision?}): precision 'bf16' / 'fp16' holds the matrices in 16 bits and multiplies in that type.
Napi::Value ModelCreateImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  LongT5ModelConfig c;
  const int64_t kDim = int64_t(1) << 24;
  c.vocab = get_size(a, "vocab", int64_t(1) << 26);
  c.d_model = get_size(a, "dModel", kDim);
  c.d_kv = get_size(a, "dKv", kDim);
  c.heads = get_size(a, "heads", kDim);
  c.d_ff = get_size(a, "dFf", kDim);
  c.encoder_layers = get_size(a, "encoderLayers", 4096);
  c.decoder_layers = get_size(a, "decoderLayers", 4096);
  c.local_radius = get_size(a, "localRadius", int64_t(1) << 30);
  c.global_block_size = get_size(a, "globalBlockSize", int64_t(1) << 30);
  c.num_buckets = static_cast<int32_t>(get_size(a, "numBuckets", int64_t(1) << 20));
  c.max_distance = static_cast<int32_t>(get_size(a, "maxDistance", int64_t(1) << 30));
  if (c.vocab < 1 || c.d_model < 1 || c.d_kv < 1 || c.heads < 1 || c.d_ff < 1)
    throw_range(env, "vocab, dModel, dKv, heads and dFf must be >= 1");
  if (c.global_block_size < 1) throw_range(env, "globalBlockSize must be >= 1");
  if (c.num_buckets < 2 || c.max_distance < 1) throw_range(env, "numBuckets must be >= 2 and maxDistance >= 1");
  checked_mul(env, c.heads, c.d_kv, "heads * dKv");
  checked_mul(env, c.vocab, c.d_model, "vocab * dModel");
  checked_mul(env, c.d_ff, c.d_model, "dFf * dModel");
  const double eps = get_number(a, "eps");
  if (!(eps >= 0) || !std::isfinite(eps)) throw_range(env, "eps must be a finite number >= 0");
  c.eps = static_cast<float>(eps);
  c.transient_global = get_bool(a, "transientGlobal", false);
  c.gated = get_bool(a, "gated", false);
  c.tied = get_bool(a, "tied", false);
  c.decoder = get_bool(a, "decoder", true);
  switch (read_precision(a)) {
    case Precision::kFp32: c.precision = ComputePrecision::kFp32; break;
    case Precision::kBf16: c.precision = ComputePrecision::kBf16; break;
    case Precision::kFp16: c.precision = ComputePrecision::kFp16; break;
  }
  Napi::Value act = a.Get("activation");
  if (!act.IsString()) throw_type(env, "activation must be 'relu' or 'gelu_new'");
  const std::string s = act.As<Napi::String>().Utf8Value();
  if (s == "relu") c.act = FfActivation::kRelu;
  else if (s == "gelu_new") c.act = FfActivation::kGeluNew;
  else throw_range(env, "activation must be 'relu' or 'gelu_new'");
  auto* h = new ModelHandle{std::make_shared<LongT5Model>(c)};
  auto ext = Napi::External<ModelHandle>::New(env, h, [](Napi::Env, ModelHandle* p) { delete p; });
  ext.TypeTag(&kModelTag);
  return ext;
}

// modelWeightNames(model) -> [{name, shape}] in model order.
Napi::Value ModelWeightNamesImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "model must be a model handle from modelCreate");
  std::shared_ptr<LongT5Model> m = live_model(env, info[0]);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const std::string& n : m->weight_names()) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", n);
    Napi::Array shape = Napi::Array::New(env);
    uint32_t k = 0;
    for (int64_t d : *m->weight_shape(n)) shape.Set(k++, Napi::Number::New(env, static_cast<double>(d)));
    o.Set("shape", shape);
    out.Set(i++, o);
  }
  return out;
}

// modelSetWeight(model, name, Float32Array | Uint16Array, dtype?): copies the values into the model
// (before finalize). A Uint16Array holds 'BF16' or 'F16' bit patterns (dtype says which): kept as
// they are by a model of that precision, widened exactly otherwise.
Napi::Value ModelSetWeightImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsString()) throw_type(env, "modelSetWeight(model, name, data)");
  std::shared_ptr<LongT5Model> m = live_model(env, info[0]);
  if (m->ready()) throw Napi::Error::New(env, "the model is finalized; its weights can no longer change");
  const std::string name = info[1].As<Napi::String>().Utf8Value();
  const std::vector<int64_t>* shape = m->weight_shape(name);
  if (!shape) throw_range(env, "the model has no weight named '" + name + "'");
  Napi::Object holder = Napi::Object::New(env);
  holder.Set("data", info[2]);
  int64_t n = 1;
  for (int64_t d : *shape) n *= d;
  if (info[2].IsTypedArray() && info[2].As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array) {
    const std::string dtype = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
    if (dtype != "BF16" && dtype != "F16")
      throw_type(env, "modelSetWeight: a Uint16Array weight needs dtype 'BF16' or 'F16'");
    auto d16 = info[2].As<Napi::Uint16Array>();
    if (static_cast<int64_t>(d16.ElementLength()) != n)
      throw_range(env, "weight '" + name + "' needs " + std::to_string(n) + " values, got " +
                           std::to_string(d16.ElementLength()) + " (a detached buffer has none)");
    m->set_weight16(name, d16.Data(), n, dtype == "BF16" ? ComputePrecision::kBf16 : ComputePrecision::kFp16);
    return env.Undefined();
  }
  const float* data = get_f32(holder, "data", n);
  m->set_weight(name, data, n);
  return env.Undefined();
}

// modelFinalize(model) -> names of missing weights ([] = ready).
Napi::Value ModelFinalizeImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "model must be a model handle from modelCreate");
  std::shared_ptr<LongT5Model> m = live_model(env, info[0]);
  Napi::Array out = Napi::Array::New(env);
  if (m->ready()) return out;
  uint32_t i = 0;
  for (const std::string& n : m->missing_weights()) out.Set(i++, n);
  if (i == 0) m->finalize();
  return out;
}

// modelGetWeight(model, name) -> a copy of the weight's values, or undefined.
Napi::Value ModelGetWeightImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsString()) throw_type(env, "modelGetWeight(model, name)");
  std::shared_ptr<LongT5Model> m = live_model(env, info[0]);
  const std::string name = info[1].As<Napi::String>().Utf8Value();
  const std::vector<int64_t>* shape = m->weight_shape(name);
  if (!shape) return env.Undefined();
  int64_t n = 1;
  for (int64_t d : *shape) n *= d;
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(n));
  // Matrices are held packed (ops/longt5_model.h): copy_weight unpacks into the new array.
  if (!m->copy_weight(name, out.Data())) return env.Undefined();
  return out;
}

// modelWeightBytes(model) -> bytes of native memory the weights occupy.
Napi::Value ModelWeightBytesImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "model must be a model handle from modelCreate");
  return Napi::Number::New(env, static_cast<double>(live_model(env, info[0])->weight_bytes()));
}

// modelScratchBytes(model) -> bytes of encoder scratch the model keeps between calls.
Napi::Value ModelScratchBytesImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "model must be a model handle from modelCreate");
  return Napi::Number::New(env, static_cast<double>(live_model(env, info[0])->idle_scratch_bytes()));
}

// modelReleaseScratch(model): frees that scratch now (the next call allocates its own again).
Napi::Value ModelReleaseScratchImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "model must be a model handle from modelCreate");
  live_model(env, info[0])->release_idle_scratch();
  return env.Undefined();
}

Napi::Value ModelDisposeImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "model must be a model handle from modelCreate");
  model_handle(env, info[0]).model.reset();
  return env.Undefined();
}

// modelEncode({model, ids: Int32Array [B*N], mask?, B, N, out: Float32Array [B*N*dModel], threads?})
Napi::Value encode(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  std::shared_ptr<LongT5Model> m = live_model(env, a.Get("model"));
  if (!m->ready()) throw Napi::Error::New(env, "the model's weights are not all loaded (modelFinalize)");
  const int64_t B = get_size(a, "B"), N = get_size(a, "N");
  const int64_t BN = checked_mul(env, B, N, "ids");
  auto buffers = std::make_shared<CallBuffers>(async);
  float* out = buffers->output(a, "out", checked_mul(env, BN, m->config().d_model, "out"));
  auto ids = read_ids(a, "ids", BN, m->config().vocab);
  auto mask = std::make_shared<std::vector<uint8_t>>();
  get_mask_opt(a, "mask", BN, *mask);
  // `cancel` (a token from newCancelToken; lib/abort.ts runCancellable): the encoder is stateless,
  // so an abort can stop it mid-way. (Decoder steps are not cancellable: they update the session.)
  return run_job(
      env, async, "the LongT5 encoder", buffers, want_threads(a),
      [m, ids, mask, B, N, out](int threads) {
        m->encode(ids->data(), mask->empty() ? nullptr : mask->data(), B, N, out, threads);
      },
      read_cancel_token(a));
}

// decoderCreate({model, B, N, beams}) -> an empty session handle (decoderStart fills it).
Napi::Value DecoderCreateImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  std::shared_ptr<LongT5Model> m = live_model(env, a.Get("model"));
  if (!m->ready() || !m->config().decoder) throw Napi::Error::New(env, "the model has no decoder loaded");
  auto s = std::make_shared<SessionState>();
  s->model = m;
  s->B = get_size(a, "B");
  s->N = get_size(a, "N");
  s->beams = get_size(a, "beams", 1 << 16);
  if (s->beams < 1) throw_range(env, "beams must be >= 1");
  checked_mul(env, checked_mul(env, s->B, s->beams, "rows"), m->config().d_model, "rows");
  auto* h = new SessionHandle{s};
  auto ext = Napi::External<SessionHandle>::New(env, h, [](Napi::Env, SessionHandle* p) { delete p; });
  ext.TypeTag(&kSessionTag);
  return ext;
}

// decoderStart({session, encoderOutput: Float32Array [B*N*dModel], mask?, threads?}): projects the
// cross-attention keys/values (once per generation) and empties the self-attention cache.
Napi::Value decoder_start(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  std::shared_ptr<SessionState> s = session_state(env, a.Get("session"));
  const int64_t BN = checked_mul(env, s->B, s->N, "encoderOutput");
  auto buffers = std::make_shared<CallBuffers>(async);
  const float* enc =
      buffers->input(a, "encoderOutput", checked_mul(env, BN, s->model->config().d_model, "encoderOutput"));
  auto mask = std::make_shared<std::vector<uint8_t>>();
  get_mask_opt(a, "mask", BN, *mask);
  const int threads = want_threads(a);
  auto guard = claim(env, s);
  return run_job(env, async, "the LongT5 decoder's cross-attention keys", buffers, threads,
                 [s, guard, enc, mask](int t) {
                   s->session.reset();
                   s->session = std::make_unique<LongT5DecoderSession>(
                       s->model, enc, mask->empty() ? nullptr : mask->data(), s->B, s->N, s->beams, t);
                 });
}

// decoderStep({session, ids: Int32Array [R*T], T, logits: Float32Array, lastOnly, reorder?, threads?}):
// logits [R, T, vocab], or [R, vocab] with lastOnly. reorder [R] (optional): first, row r's cache
// becomes old row reorder[r] (beam search), in the same job.
Napi::Value decoder_step(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  std::shared_ptr<SessionState> s = session_state(env, a.Get("session"));
  if (!s->session) throw Napi::Error::New(env, "the decoder session has not been started (decoderStart)");
  const int64_t R = s->B * s->beams, T = get_size(a, "T", int64_t(1) << 24);
  const bool last_only = get_bool(a, "lastOnly", false);
  const int64_t V = s->model->config().vocab;
  if (T > (int64_t(1) << 24) - s->session->length()) throw_range(env, "T: the decoded sequence is too long");
  auto buffers = std::make_shared<CallBuffers>(async);
  float* logits =
      buffers->output(a, "logits", checked_mul(env, checked_mul(env, R, last_only ? 1 : T, "logits"), V, "logits"));
  auto ids = read_ids(a, "ids", checked_mul(env, R, T, "ids"), V);
  auto reorder = std::make_shared<std::vector<int32_t>>();
  if (has(a, "reorder")) {
    const int32_t* rows = get_i32(a, "reorder", R);
    for (int64_t r = 0; r < R; ++r)
      if (rows[r] < 0 || rows[r] >= R)
        throw_range(env, "reorder[" + std::to_string(r) + "] is not a row in [0, " + std::to_string(R) + ")");
    reorder->assign(rows, rows + R);
  }
  const int threads = want_threads(a);
  auto guard = claim(env, s);
  return run_job(env, async, "a LongT5 decoder step", buffers, threads,
                 [s, guard, ids, reorder, T, logits, last_only](int t) {
                   if (!reorder->empty()) s->session->reorder(reorder->data());  // beam search: off the main thread too
                   s->session->step(ids->data(), T, logits, last_only, t);
                 });
}

// decoderReorder({session, rows: Int32Array [R]}): row r's cache becomes old row rows[r].
Napi::Value DecoderReorderImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object a = require_object(info, 0, "arguments");
  std::shared_ptr<SessionState> s = session_state(env, a.Get("session"));
  if (!s->session) throw Napi::Error::New(env, "the decoder session has not been started (decoderStart)");
  const int64_t R = s->B * s->beams;
  const int32_t* rows = get_i32(a, "rows", R);
  for (int64_t r = 0; r < R; ++r)
    if (rows[r] < 0 || rows[r] >= R)
      throw_range(env, "rows[" + std::to_string(r) + "] is not a row in [0, " + std::to_string(R) + ")");
  auto guard = claim(env, s);
  std::vector<int32_t> copy(rows, rows + R);
  try {
    s->session->reorder(copy.data());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, out_of_memory("a LongT5 decoder cache reorder"));
  }
  return env.Undefined();
}

// decoderLength(session) -> tokens cached per row.
Napi::Value DecoderLengthImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw_type(env, "session must be a decoder session handle from decoderCreate");
  std::shared_ptr<SessionState> s = session_state(env, info[0]);
  return Napi::Number::New(env, s->session ? static_cast<double>(s->session->length()) : 0.0);
}

Napi::Value DecoderDisposeImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal() ||
      !info[0].As<Napi::External<SessionHandle>>().CheckTypeTag(&kSessionTag))
    throw_type(env, "session must be a decoder session handle from decoderCreate");
  // A call in flight keeps its own reference; the cache goes when it ends.
  info[0].As<Napi::External<SessionHandle>>().Data()->state.reset();
  return env.Undefined();
}

}  // namespace

Napi::Value ModelCreate(const Napi::CallbackInfo& info) { return ModelCreateImpl(info); }
Napi::Value ModelWeightNames(const Napi::CallbackInfo& info) { return ModelWeightNamesImpl(info); }
Napi::Value ModelSetWeight(const Napi::CallbackInfo& info) { return ModelSetWeightImpl(info); }
Napi::Value ModelFinalize(const Napi::CallbackInfo& info) { return ModelFinalizeImpl(info); }
Napi::Value ModelGetWeight(const Napi::CallbackInfo& info) { return ModelGetWeightImpl(info); }
Napi::Value ModelDispose(const Napi::CallbackInfo& info) { return ModelDisposeImpl(info); }
Napi::Value ModelWeightBytes(const Napi::CallbackInfo& info) { return ModelWeightBytesImpl(info); }
Napi::Value ModelScratchBytes(const Napi::CallbackInfo& info) { return ModelScratchBytesImpl(info); }
Napi::Value ModelReleaseScratch(const Napi::CallbackInfo& info) { return ModelReleaseScratchImpl(info); }
Napi::Value ModelEncodeSync(const Napi::CallbackInfo& info) { return encode(info, false); }
Napi::Value ModelEncodeAsync(const Napi::CallbackInfo& info) { return encode(info, true); }
Napi::Value DecoderCreate(const Napi::CallbackInfo& info) { return DecoderCreateImpl(info); }
Napi::Value DecoderStartSync(const Napi::CallbackInfo& info) { return decoder_start(info, false); }
Napi::Value DecoderStartAsync(const Napi::CallbackInfo& info) { return decoder_start(info, true); }
Napi::Value DecoderStepSync(const Napi::CallbackInfo& info) { return decoder_step(info, false); }
Napi::Value DecoderStepAsync(const Napi::CallbackInfo& info) { return decoder_step(info, true); }
Napi::Value DecoderReorder(const Napi::CallbackInfo& info) { return DecoderReorderImpl(info); }
Napi::Value DecoderLength(const Napi::CallbackInfo& info) { return DecoderLengthImpl(info); }
Napi::Value DecoderDispose(const Napi::CallbackInfo& info) { return DecoderDisposeImpl(info); }

}  // namespace binding
}  // namespace ga
