#include "binding/call_buffers.h"

#include <cstdlib>
#include <cstring>

#include "binding/args.h"

namespace ga {
namespace binding {

std::atomic<uint64_t> CallBuffers::copied_{0};

namespace {

// Whether a typed array lies on a SharedArrayBuffer (never detached). Node-API has no test for
// one before Node 24, but reports a typed array's buffer, and a SharedArrayBuffer is not an
// ArrayBuffer to napi_is_arraybuffer.
bool on_shared_buffer(Napi::TypedArray a) {
  napi_value buffer = nullptr;
  bool plain = true;
  if (napi_get_typedarray_info(a.Env(), a, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok) return false;
  if (napi_is_arraybuffer(a.Env(), buffer, &plain) != napi_ok) return false;
  return !plain;
}

// The largest typed array V8 makes (elements): what JavaScript's `new Float32Array(n)` allows.
constexpr int64_t kMaxTypedArrayLength = int64_t{1} << 32;

}  // namespace

void* CallBuffers::place(Napi::TypedArray a, void* data, size_t bytes, bool read) {
  if (on_shared_buffer(a)) {
    pinned_.push_back(Napi::Persistent(a));
    return data;
  }
  const size_t floats = (bytes + sizeof(float) - 1) / sizeof(float);
  Copy c;
  if (floats * sizeof(float) >= kHugeCopyBytes) c.large.resize(floats);
  else c.small.reset(new float[floats]);
  copies_.push_back(std::move(c));
  float* copy = copies_.back().data();
  // An output's copy starts as zeros, not as the caller's array: every kernel writes all of its
  // output, and reading a fresh output array here would fault its pages in on the main thread.
  if (read) std::memcpy(copy, data, bytes);
  else std::memset(copy, 0, bytes);
  copied_.fetch_add(bytes, std::memory_order_relaxed);  // an output's bytes: copied back at the end
  return copy;
}

// Each field is read once: the array checked is the array kept (a getter could return another).
const float* CallBuffers::input(Napi::Object o, const char* key, int64_t n) {
  Napi::Value v = o.Get(key);
  float* p = f32_of(o.Env(), v, key, n);
  if (!async_ || n == 0) return p;
  return static_cast<const float*>(place(v.As<Napi::TypedArray>(), p, static_cast<size_t>(n) * sizeof(float), true));
}

const float* CallBuffers::optional_input(Napi::Object o, const char* key, int64_t n) {
  return has(o, key) ? input(o, key, n) : nullptr;
}

const int32_t* CallBuffers::input_i32(Napi::Object o, const char* key, int64_t n) {
  int32_t* p = get_i32(o, key, n);
  if (!async_ || n == 0) return p;
  ints_.emplace_back(p, p + n);
  copied_.fetch_add(static_cast<uint64_t>(n) * sizeof(int32_t), std::memory_order_relaxed);
  return ints_.back().data();
}

const uint16_t* CallBuffers::input_u16(Napi::Object o, const char* key, int64_t n, const char* what) {
  Napi::Value v = o.Get(key);
  uint16_t* p = u16_of(o.Env(), v, key, n, what);
  if (!async_ || n == 0) return p;
  return static_cast<const uint16_t*>(
      place(v.As<Napi::TypedArray>(), p, static_cast<size_t>(n) * sizeof(uint16_t), true));
}

float* CallBuffers::allocate(Napi::Env env, const char* key, int64_t n) {
  for (const Allocated& a : allocated_)  // (a batch of calls in one: each would be `out`)
    if (a.key == key)
      throw_range(env, std::string("allocateOutputs: more than one output named ") + key + " in one call");
  if (n > kMaxTypedArrayLength)
    throw_range(
        env, std::string(key) + " would have " + std::to_string(n) + " elements, more than a typed array holds (2^32)");
  // V8's own zero-filled allocation, as for any array the caller makes: with calloc'd external
  // buffers instead, test/abort.test.ts saw more earlier garbage still uncollected (RSS growth in its
  // memory window 143-256 MB over 6 runs, against 248-253 with JavaScript-allocated outputs). V8
  // ends the process when that allocation fails, so the memory is first asked of malloc: a failure
  // there is a RangeError, as `new Float32Array(n)` gives in JavaScript.
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  if (n > 0) {
    void* probe = std::malloc(bytes);
    if (probe == nullptr)
      throw_range(env, "out of memory allocating " + std::string(key) + " (" + std::to_string(bytes) + " bytes)");
    std::free(probe);
  }
  Napi::Float32Array a = Napi::Float32Array::New(env, static_cast<size_t>(n));
  allocated_.push_back({Napi::Persistent(a), key});
  return n > 0 ? a.Data() : nullptr;
}

Napi::Value CallBuffers::allocated(Napi::Env env) const {
  if (allocated_.empty()) return env.Undefined();
  Napi::Object r = Napi::Object::New(env);
  for (const Allocated& a : allocated_) r.Set(a.key, a.array.Value());
  return r;
}

float* CallBuffers::output(Napi::Object o, const char* key, int64_t n) {
  const bool allocates = get_bool(o, "allocateOutputs", false);  // checked whenever present
  Napi::Value v = o.Get(key);
  if (async_ && allocates && v.IsUndefined()) return allocate(o.Env(), key, n);
  float* p = f32_of(o.Env(), v, key, n);
  if (!async_ || n == 0) return p;
  auto a = v.As<Napi::Float32Array>();
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  float* q = static_cast<float*>(place(a, p, bytes, false));
  if (q != p) outputs_.push_back({Napi::Persistent(a), copies_.size() - 1, bytes, key});
  return q;
}

bool CallBuffers::write_back(std::string& error) {
  for (Output& out : outputs_) {
    Napi::Float32Array dst = out.target.Value();
    if (dst.ElementLength() * sizeof(float) != out.bytes || dst.ArrayBuffer().IsDetached()) {
      error = out.key + " was detached or resized while the call ran";
      return false;
    }
    std::memcpy(dst.Data(), copies_[out.copy].data(), out.bytes);
  }
  return true;
}

}  // namespace binding
}  // namespace ga
