// Where a call's typed-array data lives while it runs. A sync call reads and writes the caller's
// arrays in place. An async call must not touch memory the caller can free while the job runs (an
// ArrayBuffer can be transferred, i.e. detached, to a worker that then frees it). So an async call
//  * reads and writes float and 16-bit arrays that lie on a SharedArrayBuffer in place: such a
//    buffer never detaches, and the reference the call keeps to the array keeps its memory alive
//    (a worker's environment waits for its running jobs before it frees its objects). A KVCache
//    stores its keys and values so: an async decode step reads the cache without copying it.
//    Writing such an input from another thread while the call runs changes the result, never the
//    memory the call touches.
//  * works on private copies of the arrays on an ordinary ArrayBuffer, outputs copied back in OnOK
//    on the main thread; if an output array was detached meanwhile, the call fails with a TypeError
//    instead. Copies of 4 MiB or more are on huge pages (a 64 MiB copy's 4 KiB page faults cost
//    more than the copying); smaller ones come from malloc, whose heap reuses memory across calls
//    (a fresh mapping per call faulted its pages in on the main thread and, freed, cost TLB
//    shootdowns: the soak's event-loop delay tripled).
//  * always copies Int32Array inputs (offsets, lengths, sequence starts): the kernels index memory
//    with them once the binding has checked them, so they must not change while the job runs.
//  * allocates an output itself when the argument object says `allocateOutputs: true` and leaves
//    that output out: a new Float32Array that no JavaScript can reach until the call has succeeded
//    (the promise then resolves with { <output name>: array, ... }; only a debugger's heap queries
//    could find it earlier), so nothing can detach it and the job writes it in place. The main
//    thread then does not copy it back into a fresh array, whose page faults in the copy measured
//    ~2.6 ms per 2 MiB output on a 2-vCPU VM: a burst of completions held the event loop for tens
//    of milliseconds. Allocated by V8 like any JavaScript array, after a malloc probe of the same
//    size (a failure is a RangeError; V8's allocator would end the process), at most 2^32
//    elements, one output per name per call.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/aligned_buffer.h"

namespace ga {
namespace binding {

class CallBuffers {
 public:
  explicit CallBuffers(bool async) : async_(async) {}
  CallBuffers(const CallBuffers&) = delete;
  CallBuffers& operator=(const CallBuffers&) = delete;

  // A Float32Array field of exactly n elements; nullptr if optional and absent.
  const float* input(Napi::Object o, const char* key, int64_t n);
  const float* optional_input(Napi::Object o, const char* key, int64_t n);
  const int32_t* input_i32(Napi::Object o, const char* key, int64_t n);
  // A Uint16Array field of exactly n elements (float16/bfloat16 bits); `what` ends the TypeError
  // ("k must be a Uint16Array" + what).
  const uint16_t* input_u16(Napi::Object o, const char* key, int64_t n, const char* what = "");
  float* output(Napi::Object o, const char* key, int64_t n);

  // Main thread, after the job: copies outputs back. False, with `error` set, if one was detached.
  bool write_back(std::string& error);
  // Main thread, after write_back: { name: array } of the outputs allocated here, or undefined if none.
  Napi::Value allocated(Napi::Env env) const;

  // Bytes of private copies async calls have made so far (inputs, and outputs to copy back),
  // process-wide: a diagnostic; tests check that SharedArrayBuffers are used in place.
  static uint64_t copied_bytes() { return copied_.load(std::memory_order_relaxed); }

 private:
  // The memory an async call works on for `a` (data, bytes): the caller's when it is shared (the
  // array is then referenced until the call ends), else a private copy: of its contents (read),
  // or zeros (an output's).
  void* place(Napi::TypedArray a, void* data, size_t bytes, bool read);
  // An output of n floats this call allocates (see the header comment).
  float* allocate(Napi::Env env, const char* key, int64_t n);
  struct Allocated {
    Napi::Reference<Napi::Float32Array> array;
    std::string key;
  };
  std::vector<Allocated> allocated_;
  struct Output {
    Napi::Reference<Napi::Float32Array> target;
    size_t copy;  // index into copies_
    size_t bytes;
    std::string key;
  };
  bool async_;
  // A private copy: malloc'd below kHugeCopyBytes, else huge-page backed (AlignedBuffer).
  struct Copy {
    std::unique_ptr<float[]> small;
    AlignedBuffer large;
    float* data() { return small ? small.get() : large.data(); }
  };
  static constexpr size_t kHugeCopyBytes = size_t{4} << 20;
  std::vector<Copy> copies_;
  std::vector<std::vector<int32_t>> ints_;
  std::vector<Napi::Reference<Napi::TypedArray>> pinned_;
  std::vector<Output> outputs_;
  static std::atomic<uint64_t> copied_;
};

}  // namespace binding
}  // namespace ga
