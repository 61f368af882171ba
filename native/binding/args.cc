#include "binding/args.h"

#include <cmath>

namespace ga {
namespace binding {

void throw_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
void throw_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

Napi::Object require_object(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject()) throw_type(info.Env(), std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

bool has(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

double get_number(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_type(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t get_size(Napi::Object o, const char* key, int64_t max) {
  const double d = get_number(o, key);
  if (!std::isfinite(d) || d < 0 || d != std::floor(d))
    throw_range(o.Env(), std::string(key) + " must be a non-negative integer");
  if (d > static_cast<double>(max)) throw_range(o.Env(), std::string(key) + " is too large");
  return static_cast<int64_t>(d);
}

bool get_bool(Napi::Object o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsBoolean()) throw_type(o.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

static Napi::TypedArray typed(Napi::Env env, Napi::Value v, const char* key, napi_typedarray_type type,
                              const char* tname) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_type(env, std::string(key) + " must be a " + tname);
  return v.As<Napi::TypedArray>();
}

static Napi::TypedArray typed(Napi::Object o, const char* key, napi_typedarray_type type, const char* tname) {
  return typed(o.Env(), o.Get(key), key, type, tname);
}

// Value v of field `key` as a typed array of `type` with exactly `expected` elements: its data.
template <class T>
static T* exact_of(Napi::Env env, Napi::Value v, const char* key, int64_t expected, napi_typedarray_type type,
                   const std::string& tname) {
  auto a = typed(env, v, key, type, tname.c_str()).As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(a.ElementLength()) != expected)
    throw_range(env, std::string(key) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                         std::to_string(expected) + (a.ElementLength() == 0 ? " (detached or empty buffer?)" : ""));
  return expected == 0 ? nullptr : a.Data();
}

float* f32_of(Napi::Env env, Napi::Value v, const char* key, int64_t expected) {
  return exact_of<float>(env, v, key, expected, napi_float32_array, "Float32Array");
}

float* get_f32(Napi::Object o, const char* key, int64_t expected) { return f32_of(o.Env(), o.Get(key), key, expected); }

uint16_t* u16_of(Napi::Env env, Napi::Value v, const char* key, int64_t expected, const char* what) {
  return exact_of<uint16_t>(env, v, key, expected, napi_uint16_array, std::string("Uint16Array") + what);
}

uint16_t* get_u16(Napi::Object o, const char* key, int64_t expected, const char* what) {
  return u16_of(o.Env(), o.Get(key), key, expected, what);
}

float* get_f32_opt(Napi::Object o, const char* key, int64_t expected) {
  if (!has(o, key)) return nullptr;
  return get_f32(o, key, expected);
}

bool get_mask_opt(Napi::Object o, const char* key, int64_t expected, std::vector<uint8_t>& out) {
  if (!has(o, key)) return false;
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray()) throw_type(o.Env(), std::string(key) + " must be a Uint8Array or Int32Array");
  auto t = v.As<Napi::TypedArray>();
  if (static_cast<int64_t>(t.ElementLength()) != expected)
    throw_range(o.Env(), std::string(key) + " has " + std::to_string(t.ElementLength()) + " elements, expected " +
                             std::to_string(expected));
  out.resize(static_cast<size_t>(expected));
  if (t.TypedArrayType() == napi_uint8_array) {
    const uint8_t* d = t.As<Napi::Uint8Array>().Data();
    for (int64_t i = 0; i < expected; ++i) out[i] = d[i] != 0;
  } else if (t.TypedArrayType() == napi_int32_array) {
    const int32_t* d = t.As<Napi::Int32Array>().Data();
    for (int64_t i = 0; i < expected; ++i) out[i] = d[i] != 0;
  } else {
    throw_type(o.Env(), std::string(key) + " must be a Uint8Array or Int32Array");
  }
  return true;
}

int32_t* get_i32(Napi::Object o, const char* key, int64_t expected) {
  auto a = typed(o, key, napi_int32_array, "Int32Array").As<Napi::Int32Array>();
  if (static_cast<int64_t>(a.ElementLength()) != expected)
    throw_range(o.Env(), std::string(key) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                             std::to_string(expected));
  return expected == 0 ? nullptr : a.Data();
}

bool read_layout_bnhd(Napi::Object o) {
  if (!has(o, "layout")) return false;
  Napi::Value v = o.Get("layout");
  if (!v.IsString()) throw_type(o.Env(), "layout must be 'bnhd' or 'bhnd'");
  const std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "bnhd") return true;
  if (s == "bhnd") return false;
  throw_range(o.Env(), "layout must be 'bnhd' or 'bhnd'");
}

int64_t checked_mul(Napi::Env env, int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > (int64_t(1) << 46))
    throw_range(env, std::string(what) + ": size overflows");
  return r;
}

}  // namespace binding
}  // namespace ga
