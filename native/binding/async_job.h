// Runs a plain C++ job off the event loop and settles a Promise. The job captures only plain
// C++ data: pointers into the call's CallBuffers (private copies for async calls) and sizes.
// No V8 object is touched off-thread; outputs are copied back in OnOK, on the main thread.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "binding/call_buffers.h"

namespace ga {
namespace binding {

class AsyncJob : public Napi::AsyncWorker {
 public:
  static Napi::Promise Start(Napi::Env env, std::shared_ptr<CallBuffers> buffers, std::function<void()> job) {
    auto* w = new AsyncJob(env, std::move(buffers), std::move(job));
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      job_();
    } catch (const std::bad_alloc&) {
      SetError("out of memory while computing attention");
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
  AsyncJob(Napi::Env env, std::shared_ptr<CallBuffers> buffers, std::function<void()> job)
      : Napi::AsyncWorker(env, "global-attention"), deferred_(Napi::Promise::Deferred::New(env)),
        buffers_(std::move(buffers)), job_(std::move(job)) {}
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<CallBuffers> buffers_;
  std::function<void()> job_;
};

// Runs `job` now (sync) or off-thread (async), translating C++ failures into JS errors.
inline Napi::Value run_job(Napi::Env env, bool async, std::shared_ptr<CallBuffers> buffers, std::function<void()> job) {
  if (async) return AsyncJob::Start(env, std::move(buffers), std::move(job));
  try {
    job();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory while computing attention");
  }
  return env.Undefined();
}

}  // namespace binding
}  // namespace ga
