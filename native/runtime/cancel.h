// Cancellation of a running call (an aborted AbortSignal). The binding gives each async call a
// CancelToken and runs its job inside a CancelScope; parallel_items carries the scope into its
// worker threads and stops handing out items once the token is set, and kernels with long items
// also poll cancel_requested() between tiles. After the parallel region, parallel_items throws
// Cancelled on the calling thread, which unwinds the call (freeing its memory and returning its
// threads to the budget) and becomes an AbortError in JavaScript. Sync calls have no token: the
// poll is one thread-local load.
#pragma once
#include <atomic>
#include <exception>

namespace ga {

class CancelToken {
 public:
  void cancel() { flag_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

// Thrown (on the thread that runs the call) when its token was set.
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "The operation was aborted"; }
};

// The token of the call running on this thread (nullptr: none). Out of line: the thread-local
// lives in cancel.cc only (an extern thread_local read from other translation units trips UBSan).
const CancelToken* current_cancel_token();
void set_current_cancel_token(const CancelToken* token);
inline bool cancel_requested() {
  const CancelToken* t = current_cancel_token();
  return t != nullptr && t->cancelled();
}
inline void throw_if_cancelled() {
  if (cancel_requested()) throw Cancelled();
}

// Makes `token` this thread's current token until the scope ends (restores the previous one).
class CancelScope {
 public:
  explicit CancelScope(const CancelToken* token) : prev_(current_cancel_token()) { set_current_cancel_token(token); }
  ~CancelScope() { set_current_cancel_token(prev_); }
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const CancelToken* prev_;
};

}  // namespace ga
