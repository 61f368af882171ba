// How every compute entry point runs its work: run_job() below, sync or async. The job captures
// only plain C++ data: pointers into the call's CallBuffers (for async calls private copies, arrays
// on a SharedArrayBuffer, or outputs the call allocated) and sizes. No V8 object is touched
// off-thread; outputs are copied back in OnOK, on the main thread, and the promise resolves with
// the outputs the call allocated (CallBuffers), if any.
// The job runs under a lease of threads from the shared budget (runtime/parallel.h), and a
// failure to allocate names the operation that ran. A call given a cancel token (an AbortSignal
// in JavaScript; binding/cancel_binding.cc) runs in its CancelScope: once the token is set the
// kernels stop within a tile or an item, the job unwinds, and the promise rejects with an Error
// named 'AbortError'.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "binding/call_buffers.h"
#include "runtime/cancel.h"
#include "runtime/parallel.h"

namespace ga {
namespace binding {

inline std::string out_of_memory(const char* operation) {
  return std::string("out of memory while computing ") + operation;
}

// The error an aborted call rejects (or throws) with: name 'AbortError', as the DOM's and Node's.
inline Napi::Error abort_error(Napi::Env env) {
  Napi::Error e = Napi::Error::New(env, Cancelled().what());
  e.Value().Set("name", "AbortError");
  e.Value().Set("code", "ABORT_ERR");
  return e;
}

// The `cancel` field of an argument object: a token from newCancelToken(), or null when absent.
std::shared_ptr<CancelToken> read_cancel_token(Napi::Object args);

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
    } catch (const Cancelled&) {
      cancelled_ = true;
      SetError(Cancelled().what());
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
      if (buffers_->write_back(error)) deferred_.Resolve(buffers_->allocated(Env()));
      else deferred_.Reject(Napi::TypeError::New(Env(), error).Value());
    } catch (...) {
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(cancelled_ ? abort_error(Env()).Value() : e.Value());
    } catch (...) {
    }
  }

 private:
  AsyncJob(Napi::Env env, const char* operation, std::shared_ptr<CallBuffers> buffers, std::function<void()> job)
      : Napi::AsyncWorker(env, "global-attention"), deferred_(Napi::Promise::Deferred::New(env)), operation_(operation),
        buffers_(std::move(buffers)), job_(std::move(job)) {}
  Napi::Promise::Deferred deferred_;
  const char* operation_;  // a string literal
  std::shared_ptr<CallBuffers> buffers_;
  std::function<void()> job_;
  bool cancelled_ = false;
};

// Runs job(threads) now (sync) or off-thread (async, returning a Promise), under a lease of
// want_threads (< 1: the whole budget) from the shared budget; translates C++ failures into JS
// errors that name `operation` (a string literal: "attention", "linear", ...). With a cancel
// token (read_cancel_token), the job runs in its scope and stops when it is set.
inline Napi::Value run_job(Napi::Env env, bool async, const char* operation, std::shared_ptr<CallBuffers> buffers,
                           int want_threads, std::function<void(int threads)> job,
                           std::shared_ptr<CancelToken> cancel = nullptr) {
  // The job owns a reference to the token: it outlives the JavaScript object if that is collected.
  auto leased = [want_threads, job = std::move(job), cancel = std::move(cancel)] {
    CancelScope scope(cancel.get());
    throw_if_cancelled();  // aborted while queued: no lease, no work
    ThreadLease lease(want_threads);
    job(lease.count());
  };
  if (async) return AsyncJob::Start(env, operation, std::move(buffers), std::move(leased));
  try {
    leased();
  } catch (const Cancelled&) {
    throw abort_error(env);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, out_of_memory(operation));
  }
  return env.Undefined();
}

}  // namespace binding
}  // namespace ga
