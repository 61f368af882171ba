// Runs a plain C++ job off the event loop and settles a Promise. The job captures only plain
// C++ data (pointers into typed arrays, sizes); `keep_alive` holds a reference to the JS
// argument object so those typed arrays outlive the job. No V8 object is touched off-thread.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

namespace ga {
namespace binding {

class AsyncJob : public Napi::AsyncWorker {
 public:
  static Napi::Promise Start(Napi::Env env, Napi::Object keep_alive, std::function<void()> job) {
    auto* w = new AsyncJob(env, keep_alive, std::move(job));
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
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  AsyncJob(Napi::Env env, Napi::Object keep_alive, std::function<void()> job)
      : Napi::AsyncWorker(env, "global-attention"), deferred_(Napi::Promise::Deferred::New(env)),
        job_(std::move(job)) {
    keep_ = Napi::Persistent(keep_alive);
  }
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_;
  std::function<void()> job_;
};

// Runs `job` now (sync) or off-thread (async), translating C++ failures into JS errors.
inline Napi::Value run_job(Napi::Env env, bool async, Napi::Object keep_alive, std::function<void()> job) {
  if (async) return AsyncJob::Start(env, keep_alive, std::move(job));
  try {
    job();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory while computing attention");
  }
  return env.Undefined();
}

}  // namespace binding
}  // namespace ga
