// Defensive argument reading for the raw binding. The TypeScript facade validates and
// normalises everything first (with friendlier messages); these checks exist so that even a
// direct call into the addon with garbage can only raise a JS TypeError/RangeError, never
// read or write out of bounds.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ga {
namespace binding {

[[noreturn]] void throw_type(Napi::Env env, const std::string& msg);
[[noreturn]] void throw_range(Napi::Env env, const std::string& msg);

Napi::Object require_object(const Napi::CallbackInfo& info, size_t i, const char* what);

// A non-negative integer field (safe integer, <= max).
int64_t get_size(Napi::Object o, const char* key, int64_t max = (int64_t(1) << 40));
double get_number(Napi::Object o, const char* key);
bool get_bool(Napi::Object o, const char* key, bool dflt);
bool has(Napi::Object o, const char* key);
// o.layout: "bnhd" (Hugging Face's [B, N, H, D]) -> true, "bhnd" or absent -> false; else Type/RangeError.
bool read_layout_bnhd(Napi::Object o);

// Float32Array field whose length must equal `expected` (not detached).
float* get_f32(Napi::Object o, const char* key, int64_t expected);
// The same check of a value already read from field `key` (a caller that keeps the array reads the
// field once: a getter could return another array the second time).
float* f32_of(Napi::Env env, Napi::Value v, const char* key, int64_t expected);
// Uint16Array field (float16/bfloat16 bits) of exactly `expected` elements; `what` ends the
// TypeError's message ("k must be a Uint16Array" + what).
uint16_t* get_u16(Napi::Object o, const char* key, int64_t expected, const char* what = "");
uint16_t* u16_of(Napi::Env env, Napi::Value v, const char* key, int64_t expected, const char* what = "");
// Optional Float32Array field of any length >= expected; nullptr when absent.
float* get_f32_opt(Napi::Object o, const char* key, int64_t expected);
// Uint8Array/Int32Array mask of exactly `expected` elements, normalised to 0/1 bytes.
bool get_mask_opt(Napi::Object o, const char* key, int64_t expected, std::vector<uint8_t>& out);
// Int32Array field of exactly `expected` elements.
int32_t* get_i32(Napi::Object o, const char* key, int64_t expected);

// a * b with overflow checks (throws RangeError naming `what`).
int64_t checked_mul(Napi::Env env, int64_t a, int64_t b, const char* what);

}  // namespace binding
}  // namespace ga
