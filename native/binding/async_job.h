// How every compute entry point runs its work: run_job() below, sync or async. The job captures
// only plain C++ data: pointers into the call's CallBuffers (private copies for async calls) and
// sizes. No V8 object is touched off-thread; outputs are copied back in OnOK, on the main thread.
// The job runs under a lease of threads from the shared budget (runtime/parallel.h), and a
// failure to allocate names the operation that ran.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "binding/call_buffers.h"
#include "runtime/parallel.h"

namespace ga {
namespace binding {

inline std::string out_of_memory(const char* operation) {
  return std::string("out of memory while computing ") + operation;
}

class AsyncJob : public Napi::AsyncWorker {
 public:
  static Napi::Promise Start(Napi::Env env, const char* operation, std::shared_ptr<CallBuffers> buffers,
                             std::function<void()> job) {
    auto* w = new AsyncJob(env, operation, std::move(buffers), std::move(job));
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      job_();
    } catch (const std::bad_alloc&) {
      SetError(out_of_memory(operation_));
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  // Settling can throw while the environment is being torn down (a worker terminated with this
  // call in flight); nothing is left to settle then, and a throw here would abort the process.
  void OnOK() override {
    try {
      std::string error;
      if (buffers_->write_back(error)) deferred_.Resolve(Env().Undefined());
      else deferred_.Reject(Napi::TypeError::New(Env(), error).Value());
    } catch (...) {
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(e.Value());
    } catch (...) {
    }
  }

 private:
  AsyncJob(Napi::Env env, const char* operation, std::shared_ptr<CallBuffers> buffers, std::function<void()> job)
      : Napi::AsyncWorker(env, "global-attention"), deferred_(Napi::Promise::Deferred::New(env)),
        operation_(operation), buffers_(std::move(buffers)), job_(std::move(job)) {}
  Napi::Promise::Deferred deferred_;
  const char* operation_;  // a string literal
  std::shared_ptr<CallBuffers> buffers_;
  std::function<void()> job_;
};

// Runs job(threads) now (sync) or off-thread (async, returning a Promise), under a lease of
// want_threads (< 1: the whole budget) from the shared budget; translates C++ failures into JS
// errors that name `operation` (a string literal: "attention", "linear", ...).
inline Napi::Value run_job(Napi::Env env, bool async, const char* operation, std::shared_ptr<CallBuffers> buffers,
                           int want_threads, std::function<void(int threads)> job) {
  auto leased = [want_threads, job = std::move(job)] {
    ThreadLease lease(want_threads);
    job(lease.count());
  };
  if (async) return AsyncJob::Start(env, operation, std::move(buffers), std::move(leased));
  try {
    leased();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, out_of_memory(operation));
  }
  return env.Undefined();
}

}  // namespace binding
}  // namespace ga
