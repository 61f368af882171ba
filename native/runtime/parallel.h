// The thread contract, in one place.
//  * A process-wide budget (setThreads, default = hardware threads) caps the threads all
//    concurrent calls use together: each call leases what it may use, at least one, and
//    waits only if another call holds the whole budget. So N concurrent async calls never
//    oversubscribe the cores.
//  * parallel_items(n, threads, body): body(tid, next) runs once per thread; threads pull item
//    indices from a shared counter (dynamic schedule), so uneven items (causal, padding)
//    balance themselves. OpenMP when compiled in, std::thread otherwise.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "runtime/cancel.h"

namespace ga {

int hardware_threads();
int thread_budget();
void set_thread_budget(int n);  // n < 1 resets to hardware_threads()
bool have_openmp();

class ThreadLease {
 public:
  explicit ThreadLease(int want);  // want < 1 means "the whole budget"
  ~ThreadLease();
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  int count() const { return n_; }

 private:
  int n_;
};

// Hands out item indices; none once the call's cancel token (runtime/cancel.h) is set.
class ItemCounter {
 public:
  explicit ItemCounter(int64_t n) : n_(n), cancel_(current_cancel_token()) {}
  bool next(int64_t& i) {
    if (cancel_ != nullptr && cancel_->cancelled()) return false;
    i = next_.fetch_add(1, std::memory_order_relaxed);
    return i < n_;
  }

 private:
  int64_t n_;
  const CancelToken* cancel_;
  std::atomic<int64_t> next_{0};
};

// body(tid, counter): tid in [0, threads). Threads actually used = min(threads, n_items).
// The calling thread's cancel token is current in every thread of the region; if it is set,
// parallel_items throws Cancelled after the region (on the calling thread).
void parallel_items(int64_t n_items, int threads, const std::function<void(int, ItemCounter&)>& body);

}  // namespace ga
