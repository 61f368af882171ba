// The thread contract, in one place.
//  * A process-wide budget (setThreads, default = hardware threads) caps the threads all
//    concurrent calls use together: each call leases what it may use, at least one, and
//    waits only if other calls hold the whole budget. So N concurrent async calls never
//    oversubscribe the cores.
//  * Fairness: while a call waits for a thread, running calls give theirs back between items
//    (every thread of a parallel region but the first stops taking items and returns its slot
//    to the budget), so a short call queued behind a long one starts within one item and
//    finishes in about its own time. A call that gave threads back takes them again at its
//    next parallel region when nobody waits.
//  * parallel_items(n, threads, body): body(tid, next) runs once per thread; threads pull item
//    indices from a shared counter (dynamic schedule), so uneven items (causal, padding)
//    balance themselves. The threads are a process-wide pool of helpers (parallel.cc); the calling
//    thread waits only for helpers already inside the region, never for one still waking up.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "runtime/cancel.h"

namespace ga {

int hardware_threads();
int thread_budget();
void set_thread_budget(int n);  // n < 1 resets to hardware_threads()
bool have_openmp();             // false: kept for info().openmp

// The threads a call holds; the current one of a thread is what parallel_items shares out.
class ThreadLease {
 public:
  explicit ThreadLease(int want);  // want < 1 means "the whole budget"
  ~ThreadLease();
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  int count() const { return n_.load(std::memory_order_relaxed); }
  // Gives one thread back if another call is waiting and this lease holds more than one.
  bool yield_one();
  // Takes threads back up to the first grant while nobody waits; returns the count held.
  int regrow();

 private:
  int granted_;         // the count first granted
  std::atomic<int> n_;  // the count held now (<= granted_)
  ThreadLease* prev_;   // the thread's previous current lease
};

namespace detail {
extern std::atomic<int> g_waiting_hint;  // calls waiting for a thread (parallel.cc)
}
// Whether some call is waiting for a thread (cheap: one relaxed load).
inline bool threads_wanted_elsewhere() { return detail::g_waiting_hint.load(std::memory_order_relaxed) > 0; }
// In a helper thread of a parallel region under a lease, while a call waits: gives this thread's
// slot back to the budget; then the thread takes no more items. False elsewhere.
bool yield_helper_slot();
// The lease the calling thread's call holds (nullptr outside run_job's lease).
ThreadLease* current_lease();

// Whether the calling thread is running a parallel_items body (a nested parallel_items then runs
// on this thread alone and hands out all its items).
bool in_parallel_items();

// Hands out item indices; none once the call's cancel token (runtime/cancel.h) is set, and none
// to a helper thread whose slot went to a waiting call (fairness, above) — except in a nested
// region, whose items must all run (the helper yields between the outer region's items).
class ItemCounter {
 public:
  explicit ItemCounter(int64_t n) : n_(n), cancel_(current_cancel_token()), may_yield_(!in_parallel_items()) {}
  bool next(int64_t& i) {
    int64_t count;
    return next_run(1, i, count);
  }
  // A run of consecutive items [i, i + count), 1 <= count <= max_run, for a thread that does them
  // in order (e.g. a window's consecutive query blocks, which share their keys). Guided: a run is
  // about a 1/(2 * threads) share of the items not yet handed out, so runs shrink towards the end
  // and the threads finish within about one item of each other. Same checks as next().
  bool next_run(int64_t max_run, int64_t& i, int64_t& count, int threads = 1) {
    if (cancel_ != nullptr && cancel_->cancelled()) return false;
    if (may_yield_ && threads_wanted_elsewhere() && yield_helper_slot()) return false;
    int64_t want = 1;
    if (max_run > 1) {
      const int64_t left = n_ - next_.load(std::memory_order_relaxed);
      want = left / (2 * static_cast<int64_t>(threads < 1 ? 1 : threads));
      want = want < 1 ? 1 : want > max_run ? max_run : want;
    }
    i = next_.fetch_add(want, std::memory_order_relaxed);
    count = i < n_ ? (n_ - i < want ? n_ - i : want) : 0;
    return count > 0;
  }

 private:
  int64_t n_;
  const CancelToken* cancel_;
  bool may_yield_;
  std::atomic<int64_t> next_{0};
};

// body(tid, counter): tid in [0, threads). Threads actually used = min(threads, n_items); one
// when called from inside another region's body (nested: e.g. a packed batch's per-sequence GEMM
// jobs, each a whole call on one thread).
// The calling thread's cancel token is current in every thread of the region; if it is set,
// parallel_items throws Cancelled after the region (on the calling thread).
void parallel_items(int64_t n_items, int threads, const std::function<void(int, ItemCounter&)>& body);

}  // namespace ga
