#include "binding/call_buffers.h"

#include <cstring>

#include "binding/args.h"

namespace ga {
namespace binding {

const float* CallBuffers::input(Napi::Object o, const char* key, int64_t n) {
  float* p = get_f32(o, key, n);
  if (!copy_ || n == 0) return p;
  floats_.emplace_back(p, p + n);
  return floats_.back().data();
}

const float* CallBuffers::optional_input(Napi::Object o, const char* key, int64_t n) {
  return has(o, key) ? input(o, key, n) : nullptr;
}

const int32_t* CallBuffers::input_i32(Napi::Object o, const char* key, int64_t n) {
  int32_t* p = get_i32(o, key, n);
  if (!copy_ || n == 0) return p;
  ints_.emplace_back(p, p + n);
  return ints_.back().data();
}

float* CallBuffers::output(Napi::Object o, const char* key, int64_t n) {
  float* p = get_f32(o, key, n);
  if (!copy_ || n == 0) return p;
  floats_.emplace_back(static_cast<size_t>(n), 0.f);
  outputs_.push_back({Napi::Persistent(o.Get(key).As<Napi::Float32Array>()), floats_.size() - 1, key});
  return floats_.back().data();
}

bool CallBuffers::write_back(std::string& error) {
  for (Output& out : outputs_) {
    Napi::Float32Array dst = out.target.Value();
    const std::vector<float>& src = floats_[out.index];
    if (dst.ElementLength() != src.size() || dst.ArrayBuffer().IsDetached()) {
      error = out.key + " was detached or resized while the call ran";
      return false;
    }
    std::memcpy(dst.Data(), src.data(), src.size() * sizeof(float));
  }
  return true;
}

}  // namespace binding
}  // namespace ga
