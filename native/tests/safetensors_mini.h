// Just enough JSON and safetensors to read the test fixtures (test/fixtures/README.md): an
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {string: string}}, then the raw little-endian data.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gatest {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::map<std::string, Json> obj;

  const Json* get(const std::string& key) const;  // object member or nullptr
  double number(const std::string& key, double fallback) const;
  static bool parse(const std::string& text, Json& out, std::string* err = nullptr);
};

struct Tensor {
  std::string dtype;  // "F32", "F64", "I32"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numel() const;
  std::vector<float> f32() const;    // F32 as is, F64 rounded
  std::vector<double> f64() const;   // F32/F64 widened
  std::vector<int32_t> i32() const;  // I32 only
};

struct SafeTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  Json config;  // metadata["config"] parsed (Null when absent)
  bool load(const std::string& path, std::string* err = nullptr);
  const Tensor* find(const std::string& name) const;
};

}  // namespace gatest
