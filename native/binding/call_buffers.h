// Where a call's typed-array data lives while it runs. A sync call reads and writes the caller's
// arrays in place. An async call works on private copies: otherwise the caller could transfer
// (detach) an array, or terminate its worker thread, while the job runs, and the job would read
// or write freed memory. Outputs are copied back on the main thread when the job ends; if an
// output array was detached meanwhile, the call fails with a TypeError instead.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ga {
namespace binding {

class CallBuffers {
 public:
  explicit CallBuffers(bool copy) : copy_(copy) {}
  CallBuffers(const CallBuffers&) = delete;
  CallBuffers& operator=(const CallBuffers&) = delete;

  // A Float32Array field of exactly n elements; nullptr if optional and absent.
  const float* input(Napi::Object o, const char* key, int64_t n);
  const float* optional_input(Napi::Object o, const char* key, int64_t n);
  const int32_t* input_i32(Napi::Object o, const char* key, int64_t n);
  float* output(Napi::Object o, const char* key, int64_t n);

  // Main thread, after the job: copies outputs back. False, with `error` set, if one was detached.
  bool write_back(std::string& error);

 private:
  struct Output {
    Napi::Reference<Napi::Float32Array> target;
    size_t index;  // into floats_
    std::string key;
  };
  bool copy_;
  std::vector<std::vector<float>> floats_;
  std::vector<std::vector<int32_t>> ints_;
  std::vector<Output> outputs_;
};

}  // namespace binding
}  // namespace ga
